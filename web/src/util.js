import { h } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import htm from 'htm';

export const html = htm.bind(h);

export const kStates = ['pending', 'available', 'assigned', 'faulty', 'decommissioned', 'rejected'];
export const kTiers = ['device', 'edge', 'cloud'];
export const kKinds = ['enrol', 'assign', 'return', 'fault', 'decommission'];
export const kRoles = ['operator', 'leader', 'admin'];
export const kRank = { operator: 0, leader: 1, admin: 2 };

export function atLeast(user, role) {
  return !!user && kRank[user.role] >= kRank[role];
}

const pad = (n) => String(n).padStart(2, '0');

export function formatTime(ms, seconds = false) {
  if (ms === null || ms === undefined) return '—';
  const d = new Date(ms);
  const s = seconds ? ':' + pad(d.getSeconds()) : '';
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}${s}`;
}

export function ago(ms) {
  if (!ms) return '';
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}

export function duration(ms) {
  if (ms === null || ms === undefined) return '—';
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)} s`;
  if (s < 3600) return `${(s / 60).toFixed(1)} min`;
  if (s < 86400) return `${(s / 3600).toFixed(1)} h`;
  return `${(s / 86400).toFixed(1)} d`;
}

// The API's error as the user sees it: its message, the field it names, the status.
export function ErrorBox({ error, onClose }) {
  if (!error) return null;
  return html`<div class="error" role="alert">
    <strong>${error.status === 409 ? 'Conflict' : error.status ? `Error ${error.status}` : 'Error'}</strong>
    ${' '}${error.message}${error.field ? html` <span class="field">(${error.field})</span>` : null}
    ${onClose ? html`<button class="link close" onClick=${onClose} aria-label="dismiss">×</button>` : null}
  </div>`;
}

export function Badge({ value }) {
  return html`<span class=${'badge b-' + value}>${value}</span>`;
}

// Loads with fn() now and whenever deps change; reload() loads again.
export function useLoad(fn, deps) {
  const [state, setState] = useState({ data: null, error: null, loading: true });
  const seq = useRef(0);
  const reload = useCallback(() => {
    const n = ++seq.current;
    setState((s) => ({ ...s, loading: true }));
    fn().then(
      (data) => n === seq.current && setState({ data, error: null, loading: false }),
      (error) => n === seq.current && setState((s) => ({ data: s.data, error, loading: false })),
    );
  }, deps);
  useEffect(reload, [reload]);
  return { ...state, reload };
}

// A value that follows v after ms without change (for typed filters).
export function useDebounced(v, ms) {
  const [d, setD] = useState(v);
  useEffect(() => {
    const t = setTimeout(() => setD(v), ms);
    return () => clearTimeout(t);
  }, [v, ms]);
  return d;
}

// Calls fn at most once per ms, at the end of a burst (events come in bursts).
export function useThrottled(fn, ms) {
  const ref = useRef({ fn, t: null });
  ref.current.fn = fn;
  useEffect(() => () => clearTimeout(ref.current.t), []);
  return useCallback(() => {
    if (ref.current.t) return;
    ref.current.t = setTimeout(() => {
      ref.current.t = null;
      ref.current.fn();
    }, ms);
  }, [ms]);
}
