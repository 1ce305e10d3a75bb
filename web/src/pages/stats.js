// Statistics: equipment by state, tier, category and department; requests per
// day; mean time to approval; nodes online. Refreshed by the event stream.
import { api } from '../api.js';
import { CategoryBars, DailyBars } from '../charts.js';
import { useEvents } from '../events.js';
import { ErrorBox, duration, html, kStates, kTiers, useLoad, useThrottled } from '../util.js';

const kStateColor = '#2f6fd6';

// counts with every one of keys, in that order (0 where missing).
function every(keys, counts) {
  return Object.fromEntries(keys.map((k) => [k, (counts || {})[k] || 0]));
}

function Figure({ label, value, id }) {
  return html`<div class="figure" id=${id}><div class="value">${value}</div><div class="label">${label}</div></div>`;
}

export function Stats() {
  const s = useLoad(() => api('GET', '/stats'), []);
  const reload = useThrottled(s.reload, 1000);
  useEvents(['request.', 'node.'], reload);
  const d = s.data;
  const total = d ? Object.values(d.nodes_by_state || {}).reduce((a, b) => a + b, 0) : 0;
  return html`<section>
    <div class="page-head"><h2>Statistics</h2></div>
    <${ErrorBox} error=${s.error} />
    ${d
      ? html`<div class="figures">
          <${Figure} id="fig-nodes" label="equipment" value=${total} />
          <${Figure} id="fig-online" label="nodes online (their agents heartbeat)" value=${d.nodes_online} />
          <${Figure} id="fig-pending" label="pending requests" value=${d.pending_requests} />
          <${Figure} id="fig-approvals" label="approvals" value=${d.approvals} />
          <${Figure} id="fig-mean" label="mean time to approval" value=${duration(d.mean_time_to_approval_ms)} />
        </div>
        <div class="charts">
          <div class="card"><h3>Equipment by state</h3><${CategoryBars} id="chart-state" counts=${every(kStates, d.nodes_by_state)} color=${kStateColor} sort=${false} /></div>
          <div class="card"><h3>By tier</h3><${CategoryBars} id="chart-tier" counts=${every(kTiers, d.nodes_by_tier)} color="#1f9d74" sort=${false} /></div>
          <div class="card"><h3>By category</h3><${CategoryBars} id="chart-category" counts=${d.nodes_by_category} color="#8a5cd6" /></div>
          <div class="card"><h3>By department</h3><${CategoryBars} id="chart-department" counts=${d.nodes_by_department} color="#d67a2f" /></div>
          <div class="card wide"><h3>Requests per day (last 30 days with requests)</h3><${DailyBars} id="chart-daily" points=${d.requests_per_day} /></div>
        </div>`
      : s.loading ? html`<p class="muted">Loading…</p>` : null}
  </section>`;
}
