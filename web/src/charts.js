// Charts on uPlot: bars over categories, and bars over days.
import uPlot from 'uplot';
import { useEffect, useRef } from 'preact/hooks';
import { html } from './util.js';

const kFont = '11px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
const kColor = '#2f6fd6';

function axisStyle(extra) {
  return { stroke: '#555', font: kFont, grid: { stroke: '#eee', width: 1 }, ticks: { stroke: '#ddd', width: 1 }, ...extra };
}

// A uPlot chart sized to its box; opts(width) builds its options.
function Chart({ data, opts, height = 200, id }) {
  const box = useRef(null);
  useEffect(() => {
    const el = box.current;
    const width = () => Math.max(200, el.clientWidth);
    const u = new uPlot({ ...opts(width()), height }, data, el);
    const ro = new ResizeObserver(() => u.setSize({ width: width(), height }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      u.destroy();
    };
  }, [JSON.stringify(data)]);
  return html`<div class="chart" id=${id} ref=${box}></div>`;
}

// counts: {label: n}. Bars in descending order, or as given when sort is false.
export function CategoryBars({ counts, id, color = kColor, sort = true }) {
  const entries = Object.entries(counts || {});
  if (sort) entries.sort((a, b) => b[1] - a[1]);
  if (!entries.some((e) => e[1] > 0)) return html`<p class="empty">No data yet.</p>`;
  const labels = entries.map((e) => e[0]);
  const xs = labels.map((_, i) => i);
  const ys = entries.map((e) => e[1]);
  const opts = (width) => ({
    width,
    legend: { show: false },
    cursor: { show: false },
    scales: { x: { time: false, range: [-0.5, labels.length - 0.5] }, y: { range: (u, lo, hi) => [0, Math.max(1, hi * 1.1)] } },
    axes: [
      axisStyle({ splits: () => xs, values: (u, s) => s.map((i) => labels[i] ?? ''), grid: { show: false } }),
      axisStyle({ size: 40, values: (u, s) => s.map((v) => (Number.isInteger(v) ? v : '')) }),
    ],
    series: [{}, { label: 'count', fill: color + 'cc', stroke: color, paths: uPlot.paths.bars({ size: [0.6, 60] }),
                   points: { show: false } }],
    hooks: { draw: [(u) => drawValues(u, ys)] },
  });
  return html`<${Chart} id=${id} data=${[xs, ys]} opts=${opts} height=${180} />`;
}

// The count above each bar.
function drawValues(u, ys) {
  const ctx = u.ctx;
  ctx.save();
  ctx.font = `${Math.round(11 * devicePixelRatio)}px system-ui, sans-serif`;
  ctx.fillStyle = '#333';
  ctx.textAlign = 'center';
  ys.forEach((y, i) => {
    const x = u.valToPos(i, 'x', true);
    const top = u.valToPos(y, 'y', true);
    ctx.fillText(String(y), x, top - 4 * devicePixelRatio);
  });
  ctx.restore();
}

// points: [{day_start (ms), requests}], any order.
export function DailyBars({ points, id }) {
  if (!points || !points.length) return html`<p class="empty">No requests yet.</p>`;
  const sorted = [...points].sort((a, b) => a.day_start - b.day_start);
  const xs = sorted.map((p) => p.day_start / 1000);
  const ys = sorted.map((p) => p.requests);
  const day = 86400;
  const opts = (width) => ({
    width,
    legend: { show: false },
    scales: { x: { time: true, range: [xs[0] - day, xs[xs.length - 1] + day] }, y: { range: (u, lo, hi) => [0, Math.max(1, hi * 1.1)] } },
    axes: [axisStyle({ grid: { show: false } }), axisStyle({ size: 40, values: (u, s) => s.map((v) => (Number.isInteger(v) ? v : '')) })],
    series: [{}, { label: 'requests', fill: kColor + 'cc', stroke: kColor, paths: uPlot.paths.bars({ size: [0.6, 40] }),
                   points: { show: false } }],
    hooks: { draw: [(u) => drawDaily(u, xs, ys)] },
  });
  return html`<${Chart} id=${id} data=${[xs, ys]} opts=${opts} height=${200} />`;
}

function drawDaily(u, xs, ys) {
  const ctx = u.ctx;
  ctx.save();
  ctx.font = `${Math.round(11 * devicePixelRatio)}px system-ui, sans-serif`;
  ctx.fillStyle = '#333';
  ctx.textAlign = 'center';
  xs.forEach((x, i) => ctx.fillText(String(ys[i]), u.valToPos(x, 'x', true), u.valToPos(ys[i], 'y', true) - 4 * devicePixelRatio));
  ctx.restore();
}
