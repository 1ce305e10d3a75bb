// The approval queue, oldest first: approve, or reject with a reason. Each
// decision sends the version the leader saw, so a request that someone else
// decided or changed meanwhile answers 409, shown on its row.
import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { useEvents } from '../events.js';
import { Badge, ErrorBox, ago, formatTime, html, useLoad, useThrottled } from '../util.js';

export function describe(r) {
  const p = r.payload || {};
  if (r.kind === 'enrol' && p.node) {
    const n = p.node;
    const hw = n.hardware && Object.keys(n.hardware).length
      ? ' · ' + Object.entries(n.hardware).map(([k, v]) => `${k} ${v}`).join(', ')
      : '';
    return `${n.tier} ${n.category} for ${n.department}${hw}`;
  }
  if (r.kind === 'assign') return `to project ${p.project || '?'}`;
  if (r.kind === 'fault') return p.description || '';
  return p.note || '';
}

function Row({ r, onDone }) {
  const [rejecting, setRejecting] = useState(false);
  const [reason, setReason] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const [decided, setDecided] = useState(null);

  const decide = async (approve) => {
    setBusy(true);
    setError(null);
    try {
      const body = { version: r.version };
      if (!approve) body.reason = reason.trim();
      const d = await api('POST', `/requests/${r.id}/${approve ? 'approve' : 'reject'}`, body);
      setDecided(d.state);
      setTimeout(onDone, 900);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  return html`<tr data-id=${r.id} class=${decided ? 'decided' : error ? 'has-error' : ''}>
    <td class="num">${r.id}</td>
    <td><${Badge} value=${r.kind} /></td>
    <td class="name">${r.node_name}</td>
    <td>${describe(r)}${r.payload?.note ? html`<div class="muted">${r.payload.note}</div>` : null}</td>
    <td>${r.filer_address}</td>
    <td class="time" title=${formatTime(r.created_at)}>${ago(r.created_at)}</td>
    <td class="actions">
      ${decided
        ? html`<${Badge} value=${decided} />`
        : error?.status === 409
          ? html`<button class="link" onClick=${onDone}>Reload the queue</button>`
        : rejecting
          ? html`<form class="inline" onSubmit=${(e) => { e.preventDefault(); decide(false); }}>
              <input class="reason" placeholder="Reason (required)" value=${reason} autofocus
                onInput=${(e) => setReason(e.target.value)} maxlength="1000" />
              <button class="danger" disabled=${busy || !reason.trim()}>Reject</button>
              <button type="button" class="link" onClick=${() => setRejecting(false)}>cancel</button>
            </form>`
          : html`<button class="primary approve" disabled=${busy} onClick=${() => decide(true)}>Approve</button>
              <button class="reject" disabled=${busy} onClick=${() => setRejecting(true)}>Reject…</button>`}
      <${ErrorBox} error=${error} onClose=${error?.status === 409 ? null : () => setError(null)} />
    </td>
  </tr>`;
}

export function Approvals() {
  const q = useLoad(() => api('GET', '/approvals?limit=200'), []);
  const reload = useThrottled(q.reload, 300);
  useEvents(['request.'], reload);
  const items = q.data?.items || [];
  return html`<section>
    <div class="page-head">
      <h2>Approval queue</h2>
      <span class="muted">${items.length} pending, oldest first</span>
    </div>
    <${ErrorBox} error=${q.error} />
    <table class="grid" id="approvals">
      <thead><tr><th>id</th><th>kind</th><th>node</th><th>details</th><th>filed by</th><th>filed</th><th></th></tr></thead>
      <tbody>${items.map((r) => html`<${Row} key=${r.id + ':' + r.version} r=${r} onDone=${q.reload} />`)}</tbody>
    </table>
    ${!q.loading && items.length === 0 ? html`<p class="empty">Nothing waits for a decision.</p>` : null}
  </section>`;
}
