// The audit log, newest first: who, what, when, and what changed (before ->
// after, field by field); filtered by entity, older events on demand.
import { useState } from 'preact/hooks';
import { api, query } from '../api.js';
import { useEvents } from '../events.js';
import { ErrorBox, formatTime, html, useLoad, useThrottled } from '../util.js';

const kUserFields = new Set(['filer_id', 'decided_by', 'owner_id', 'actor_id']);

// A field's value as people read it: times as times, user ids as addresses.
function show(k, v, names) {
  if (v === null || v === undefined) return '∅';
  if (k.endsWith('_at') && typeof v === 'number') return formatTime(v, true);
  if (kUserFields.has(k) && typeof v === 'number') return names.get(v) || '#' + v;
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

// The fields that differ between before and after; for a creation, the
// fields of after that say something (no ids, no empty values).
function Changes({ before, after, names }) {
  if (!after && !before) return null;
  const b = before || {};
  const a = after || {};
  const keys = [...new Set([...Object.keys(b), ...Object.keys(a)])].filter((k) =>
    k !== 'version' && (before
      ? JSON.stringify(b[k]) !== JSON.stringify(a[k])
      : k !== 'id' && k !== 'created_at' && a[k] !== '' && a[k] !== null && a[k] !== false));
  return html`<span class="changes">${keys.map((k) => {
    const nested = typeof a[k] === 'object' && a[k] !== null;
    return html`<span class=${'change' + (nested ? ' nested' : '')}>
      <b>${k}</b> ${before ? html`<s>${show(k, b[k], names)}</s> → ` : null}${nested
        ? html`<code>${show(k, a[k], names)}</code>`
        : show(k, a[k], names)}</span>`;
  })}</span>`;
}

export function Audit() {
  const [entity, setEntity] = useState('');
  const [more, setMore] = useState([]);
  const first = useLoad(() => {
    setMore([]);
    return api('GET', '/audit' + query({ entity, limit: 100 }));
  }, [entity]);
  const users = useLoad(() => api('GET', '/users'), []);
  const names = new Map((users.data?.items || []).map((u) => [u.id, u.address]));
  const reload = useThrottled(first.reload, 500);
  useEvents([''], reload);
  const items = (first.data?.items || []).concat(...more.map((m) => m.items));
  const next = more.length ? more[more.length - 1].next_before : first.data?.next_before;
  const [error, setError] = useState(null);
  const loadMore = async () => {
    try {
      setMore(more.concat([await api('GET', '/audit' + query({ entity, limit: 100, before: next }))]));
    } catch (e) {
      setError(e);
    }
  };
  return html`<section>
    <div class="page-head">
      <h2>Audit log</h2>
      <div class="filters">
        <select value=${entity} onChange=${(e) => setEntity(e.target.value)}>
          <option value="">every entity</option>
          ${['request', 'node', 'user', 'department'].map((e) => html`<option>${e}</option>`)}</select>
      </div>
    </div>
    <${ErrorBox} error=${first.error || error} />
    <table class="grid" id="audit">
      <thead><tr><th>when</th><th>who</th><th>action</th><th>entity</th><th>changes</th></tr></thead>
      <tbody>${items.map((a) => html`<tr key=${a.id}>
        <td class="time">${formatTime(a.at, true)}</td>
        <td>${a.actor_id ? names.get(a.actor_id) || '#' + a.actor_id : 'system'}</td>
        <td><code>${a.action}</code></td>
        <td class="nowrap">${a.entity} #${a.entity_id}</td>
        <td><${Changes} before=${a.before} after=${a.after} names=${names} /></td></tr>`)}</tbody>
    </table>
    ${!first.loading && items.length === 0 ? html`<p class="empty">No events.</p>` : null}
    ${next ? html`<button class="more" onClick=${loadMore}>Older events</button>` : null}
  </section>`;
}
