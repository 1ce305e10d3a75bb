// All equipment, newest first, filtered (state, tier, category, department,
// owner, text); the first page by number, every further page by the API's
// cursor as the list scrolls. Node changes from the event stream patch the
// rows in place; new equipment reloads the list while only its first page is
// loaded, and otherwise offers to. A node whose agent heartbeats carries an
// online badge (offline once the heartbeats stop, docs/agent.md).
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, query } from '../api.js';
import { useEvents } from '../events.js';
import { Badge, ErrorBox, formatTime, html, kStates, kTiers, useDebounced, useLoad } from '../util.js';

const kPerPage = 50;

function hardwareSummary(hw) {
  if (!hw || typeof hw !== 'object') return '';
  return Object.entries(hw)
    .slice(0, 4)
    .map(([k, v]) => `${k} ${typeof v === 'object' ? JSON.stringify(v) : v}`)
    .join(' · ');
}

function Filters({ f, set, departments, users, categories }) {
  const field = (name) => ({ value: f[name], onInput: (e) => set({ ...f, [name]: e.target.value }) });
  return html`<div class="filters">
    <input id="f-q" type="search" placeholder="Name contains…" ...${field('q')} />
    <select id="f-state" ...${field('state')}>
      <option value="">any state</option>
      ${kStates.map((s) => html`<option value=${s}>${s}</option>`)}
    </select>
    <select id="f-tier" ...${field('tier')}>
      <option value="">any tier</option>
      ${kTiers.map((s) => html`<option value=${s}>${s}</option>`)}
    </select>
    <select id="f-category" ...${field('category')}>
      <option value="">any category</option>
      ${categories.map((c) => html`<option value=${c}>${c}</option>`)}
    </select>
    <select id="f-department" ...${field('department')}>
      <option value="">any department</option>
      ${departments.map((d) => html`<option value=${d.name}>${d.name}</option>`)}
    </select>
    <select id="f-owner" ...${field('owner')}>
      <option value="">any owner</option>
      ${users.map((u) => html`<option value=${u.id}>${u.name || u.address}</option>`)}
    </select>
    ${Object.values(f).some((v) => v)
      ? html`<button class="link" onClick=${() => set({ q: '', state: '', tier: '', category: '', department: '', owner: '' })}>clear</button>`
      : null}
  </div>`;
}

export function Equipment() {
  const [f, setF] = useState({ q: '', state: '', tier: '', category: '', department: '', owner: '' });
  const filters = useDebounced(f, 250);
  const [rows, setRows] = useState([]);
  const [cursor, setCursor] = useState(null);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState(null);
  const [stale, setStale] = useState(false);
  const seq = useRef(0);
  const pages = useRef(0);
  const sentinel = useRef(null);
  const departments = useLoad(() => api('GET', '/departments'), []);
  const users = useLoad(() => api('GET', '/users'), []);
  // The categories in use, for the category filter (the statistics count them).
  const stats = useLoad(() => api('GET', '/stats'), []);
  const categories = Object.keys(stats.data?.nodes_by_category || {}).sort();
  const owners = new Map((users.data?.items || []).map((u) => [u.id, u]));

  const base = () => ({ ...filters, per_page: kPerPage });
  const load = async (more) => {
    const n = more ? seq.current : ++seq.current;
    setLoading(true);
    try {
      const r = await api('GET', '/nodes' + query(more ? { ...base(), cursor } : { ...base(), page: 1 }));
      if (n !== seq.current) return;
      pages.current = more ? pages.current + 1 : 1;
      setRows((old) => (more ? old.concat(r.items) : r.items));
      setCursor(r.items.length === kPerPage ? r.next_cursor : null);
      setError(null);
      if (!more) setStale(false);
    } catch (e) {
      if (n === seq.current) setError(e);
    } finally {
      if (n === seq.current) setLoading(false);
    }
  };
  useEffect(() => {
    setRows([]);
    setCursor(null);
    load(false);
  }, [JSON.stringify(filters)]);

  // Infinite scroll: the next page when the end of the table comes into view.
  useEffect(() => {
    if (!sentinel.current || !cursor) return;
    const io = new IntersectionObserver((es) => {
      if (es.some((e) => e.isIntersecting) && !loading) load(true);
    }, { rootMargin: '300px' });
    io.observe(sentinel.current);
    return () => io.disconnect();
  }, [cursor, loading]);

  useEvents(['node.', 'request.filed'], (topic, msg) => {
    if ((topic === 'node.changed' || topic === 'node.online' || topic === 'node.offline') && msg.after) {
      setRows((old) => old.map((r) => (r.id === msg.entity_id ? { ...r, ...msg.after, flash: Date.now() } : r)));
    } else if (pages.current <= 1) {
      load(false);
    } else {
      setStale(true);
    }
  });

  return html`<section>
    <div class="page-head">
      <h2>Equipment</h2>
      <span class="muted">${rows.length}${cursor ? '+' : ''} shown, newest first</span>
    </div>
    <${Filters} f=${f} set=${setF} departments=${departments.data?.items || []}
      users=${users.data?.items || []} categories=${categories} />
    ${stale ? html`<div class="notice">Equipment changed. <button class="link" onClick=${() => load(false)}>Reload</button></div>` : null}
    <${ErrorBox} error=${error} />
    <table class="grid" id="equipment">
      <thead><tr><th>id</th><th>name</th><th>state</th><th>tier</th><th>category</th><th>department</th>
        <th>owner</th><th>project</th><th>hardware</th><th>created</th></tr></thead>
      <tbody>
        ${rows.map((n) => html`<tr key=${n.id} data-id=${n.id} data-state=${n.state} class=${n.flash ? 'flash' : ''}>
          <td class="num">${n.id}</td>
          <td class="name">${n.name}</td>
          <td><${Badge} value=${n.state} />${n.online
            ? html` <span class="badge b-online" title=${'last heartbeat ' + formatTime(n.heartbeat_at, true)}>online</span>`
            : n.heartbeat_at
              ? html` <span class="badge b-offline" title=${'last heartbeat ' + formatTime(n.heartbeat_at, true)}>offline</span>`
              : null}</td>
          <td>${n.tier}</td>
          <td>${n.category}</td>
          <td>${n.department}</td>
          <td>${n.owner_id ? owners.get(n.owner_id)?.address || '#' + n.owner_id : '—'}</td>
          <td>${n.project || ''}</td>
          <td class="hw">${hardwareSummary(n.hardware)}</td>
          <td class="time">${formatTime(n.created_at)}</td>
        </tr>`)}
      </tbody>
    </table>
    ${!loading && !error && rows.length === 0 ? html`<p class="empty">No equipment matches.</p>` : null}
    <div ref=${sentinel} class="sentinel">${loading ? 'Loading…' : cursor ? '' : rows.length ? 'End of list.' : ''}</div>
  </section>`;
}
