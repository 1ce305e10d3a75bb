// Filing requests on equipment (enrol a node, assign, return, report a fault,
// decommission) and the list of requests with their status: an operator's
// own, every request for leaders.
import { useState } from 'preact/hooks';
import { api, query } from '../api.js';
import { useEvents } from '../events.js';
import { Badge, ErrorBox, atLeast, formatTime, html, kKinds, kTiers, useLoad, useThrottled } from '../util.js';
import { describe } from './approvals.js';

// The node states each kind may be filed from (docs/control.md).
const kFrom = { assign: ['available'], return: ['assigned'], fault: ['available', 'assigned'],
                decommission: ['available', 'faulty'] };
const kKindLabel = { enrol: 'Enrol a node', assign: 'Assign to a project', return: 'Return',
                     fault: 'Report a fault', decommission: 'Decommission' };

// "cores=8, memory_gb=16" -> {cores: 8, memory_gb: 16}
function parseFacts(text) {
  const out = {};
  for (const part of text.split(/[,\n]/)) {
    const t = part.trim();
    if (!t) continue;
    const at = t.indexOf('=');
    const k = (at < 0 ? t : t.slice(0, at)).trim();
    const v = at < 0 ? 'yes' : t.slice(at + 1).trim();
    out[k] = v !== '' && !isNaN(Number(v)) ? Number(v) : v;
  }
  return out;
}

function FileForm({ user, mine, onFiled }) {
  const empty = { kind: 'enrol', name: '', tier: 'edge', category: '', department: user.department || '',
                  facts: '', node_id: '', project: '', description: '', note: '' };
  const [f, setF] = useState(empty);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const [filed, setFiled] = useState(null);
  const departments = useLoad(() => api('GET', '/departments'), []);
  const set = (k) => (e) => setF({ ...f, [k]: e.target.value });
  const nodes = (mine.data?.items || []).filter((n) => (kFrom[f.kind] || []).includes(n.state));

  const submit = async (e) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    const body = { kind: f.kind };
    if (f.note.trim()) body.note = f.note.trim();
    if (f.kind === 'enrol') {
      body.node = { name: f.name.trim(), tier: f.tier, category: f.category.trim(), department: f.department,
                    hardware: parseFacts(f.facts) };
    } else {
      body.node_id = Number(f.node_id);
      if (f.kind === 'assign') body.project = f.project.trim();
      if (f.kind === 'fault') body.description = f.description.trim();
    }
    try {
      const r = await api('POST', '/requests', body);
      setFiled(r);
      setF({ ...empty, kind: f.kind, tier: f.tier, department: f.department });
      mine.reload();
      onFiled();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return html`<form class="card file" id="file-request" onSubmit=${submit}>
    <h3>File a request</h3>
    <div class="kinds">
      ${kKinds.map((k) => html`<label class=${'chip' + (f.kind === k ? ' on' : '')}>
        <input type="radio" name="kind" value=${k} checked=${f.kind === k} onChange=${set('kind')} />${kKindLabel[k]}</label>`)}
    </div>
    ${f.kind === 'enrol'
      ? html`<div class="row">
          <label>Name<input id="r-name" required maxlength="100" value=${f.name} onInput=${set('name')} placeholder="edge-07" /></label>
          <label>Tier<select id="r-tier" value=${f.tier} onChange=${set('tier')}>${kTiers.map((t) => html`<option>${t}</option>`)}</select></label>
          <label>Category<input id="r-category" required maxlength="100" value=${f.category} onInput=${set('category')} placeholder="jetson, server, phone…" /></label>
          <label>Department<select id="r-department" required value=${f.department} onChange=${set('department')}>
            <option value="">—</option>
            ${(departments.data?.items || []).map((d) => html`<option>${d.name}</option>`)}</select></label>
        </div>
        <label>Hardware facts<input id="r-facts" value=${f.facts} onInput=${set('facts')}
          placeholder="cores=8, memory_gb=16, gpu=orin" /></label>`
      : html`<div class="row">
          <label>Node<select id="r-node" required value=${f.node_id} onChange=${set('node_id')}>
            <option value="">${nodes.length ? '— choose —' : `none of your nodes is ${(kFrom[f.kind] || []).join(' or ')}`}</option>
            ${nodes.map((n) => html`<option value=${n.id}>${n.name} (${n.state}, ${n.tier})</option>`)}</select></label>
          ${f.kind === 'assign' ? html`<label>Project<input id="r-project" required maxlength="100" value=${f.project} onInput=${set('project')} /></label>` : null}
          ${f.kind === 'fault' ? html`<label class="grow">What is wrong<input id="r-description" maxlength="2000" value=${f.description} onInput=${set('description')} /></label>` : null}
        </div>`}
    <label>Note<input id="r-note" maxlength="1000" value=${f.note} onInput=${set('note')} placeholder="optional" /></label>
    <div class="row end">
      <button class="primary" id="r-submit" disabled=${busy}>File request</button>
      ${filed ? html`<span class="ok">Request #${filed.id} filed (${filed.kind}), pending approval.</span>` : null}
    </div>
    <${ErrorBox} error=${error} />
  </form>`;
}

export function Requests({ user }) {
  const [state, setState] = useState('');
  const [kind, setKind] = useState('');
  const [more, setMore] = useState([]);
  // The user's nodes: the form's choices, and names for the list's node ids.
  const mine = useLoad(() => api('GET', '/me/nodes'), []);
  const names = new Map((mine.data?.items || []).map((n) => [n.id, n.name]));
  const list = useLoad(() => {
    setMore([]);
    return api('GET', '/requests' + query({ state, kind, limit: 50 }));
  }, [state, kind]);
  const reload = useThrottled(list.reload, 300);
  useEvents(['request.'], () => {
    reload();
    mine.reload();
  });
  const items = (list.data?.items || []).concat(...more.map((m) => m.items));
  const next = more.length ? more[more.length - 1].next_before : list.data?.next_before;
  const loadMore = async () => {
    const r = await api('GET', '/requests' + query({ state, kind, limit: 50, before: next }));
    setMore(more.concat([r]));
  };
  return html`<section>
    <div class="page-head"><h2>Requests</h2></div>
    <${FileForm} user=${user} mine=${mine} onFiled=${reload} />
    <div class="page-head">
      <h3>${atLeast(user, 'leader') ? 'All requests' : 'My requests'}</h3>
      <div class="filters">
        <select value=${state} onChange=${(e) => setState(e.target.value)}>
          <option value="">any state</option><option>pending</option><option>approved</option><option>rejected</option></select>
        <select value=${kind} onChange=${(e) => setKind(e.target.value)}>
          <option value="">any kind</option>${kKinds.map((k) => html`<option>${k}</option>`)}</select>
      </div>
    </div>
    <${ErrorBox} error=${list.error} />
    <table class="grid" id="requests">
      <thead><tr><th>id</th><th>kind</th><th>node</th><th>details</th><th>state</th><th>reason</th><th>filed</th><th>decided</th></tr></thead>
      <tbody>${items.map((r) => html`<tr key=${r.id}>
        <td class="num">${r.id}</td><td><${Badge} value=${r.kind} /></td>
        <td class="num">#${r.node_id} <span class="name">${r.payload?.node?.name || names.get(r.node_id) || ''}</span></td>
        <td>${describe(r)}</td><td><${Badge} value=${r.state} /></td><td>${r.reason || ''}</td>
        <td class="time">${formatTime(r.created_at)}</td><td class="time">${formatTime(r.decided_at)}</td></tr>`)}</tbody>
    </table>
    ${!list.loading && items.length === 0 ? html`<p class="empty">No requests.</p>` : null}
    ${next ? html`<button class="more" onClick=${loadMore}>Older requests</button>` : null}
  </section>`;
}
