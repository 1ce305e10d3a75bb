// Draws the report's charts from the JSON in #report-data (chart_data.h lists
// its keys) with Chart.js 3. Inlined into the page by `dec report`.
// On success: <body data-rendered="ok">. On any error: the message goes to
// #report-errors and data-rendered="error" (window.decReportFail, set up by
// the page before this script and Chart.js run).
(function () {
  'use strict';

  var KIND_COLORS = {
    compute: '#4e79a7',
    send: '#f28e2b',
    recv: '#76b7b2',
    allreduce: '#e15759',
    other: '#bab0ac'
  };
  var PART_COLORS = {
    'compute': '#4e79a7',
    'recv wait': '#76b7b2',
    'send wait': '#f28e2b',
    'sync wait': '#e15759',
    'other': '#d4d4d4'
  };

  function seconds(s) {
    if (s === null || s === undefined || !isFinite(s)) return '-';
    var a = Math.abs(s);
    if (a >= 1) return s.toFixed(2) + ' s';
    if (a >= 1e-3) return (s * 1e3).toFixed(1) + ' ms';
    if (a === 0) return '0';
    return (s * 1e6).toFixed(0) + ' \u00b5s';
  }

  function canvas(id) {
    return document.getElementById(id);
  }

  // Legend of a line chart: a short line per series (a dashed series would
  // otherwise show as a blurred box).
  var LINE_LEGEND = { position: 'top', labels: { usePointStyle: true, pointStyle: 'line' } };

  function axisTitle(text) {
    return { display: true, text: text, color: '#52606d' };
  }

  // A dashed vertical line at x = value on the x scale, with a label.
  function verticalLine(value, label) {
    return {
      id: 'dec-vertical-line',
      afterDatasetsDraw: function (chart) {
        if (value === null || value === undefined) return;
        var x = chart.scales.x.getPixelForValue(value);
        var area = chart.chartArea;
        if (x < area.left || x > area.right) return;
        var ctx = chart.ctx;
        ctx.save();
        ctx.strokeStyle = '#222';
        ctx.setLineDash([5, 4]);
        ctx.lineWidth = 1.5;
        ctx.beginPath();
        ctx.moveTo(x, area.top);
        ctx.lineTo(x, area.bottom);
        ctx.stroke();
        ctx.setLineDash([]);
        ctx.fillStyle = '#222';
        ctx.font = '12px sans-serif';
        ctx.textAlign = 'center';
        ctx.textBaseline = 'bottom';
        ctx.fillText(label, x, area.top - 3);
        ctx.restore();
      }
    };
  }

  function drawTimeline(t) {
    var kinds = ['compute', 'send', 'recv', 'allreduce', 'other'];
    var byKind = {};
    t.spans.forEach(function (s) {
      var kind = KIND_COLORS[s.kind] ? s.kind : 'other';
      (byKind[kind] = byKind[kind] || []).push({ y: s.node, x: [s.start, s.end], label: s.label, kind: s.kind });
    });
    var datasets = kinds.filter(function (k) { return byKind[k]; }).map(function (k) {
      return {
        label: k,
        data: byKind[k],
        backgroundColor: KIND_COLORS[k],
        borderColor: '#ffffff',
        borderWidth: 1,
        borderSkipped: false,
        grouped: false,
        barPercentage: 0.75,
        categoryPercentage: 1.0,
        minBarLength: 2
      };
    });
    var end = 0;
    t.spans.forEach(function (s) { end = Math.max(end, s.end); });
    if (t.predicted_s !== null) end = Math.max(end, t.predicted_s);
    var plugins = [];
    if (t.predicted_s !== null) plugins.push(verticalLine(t.predicted_s, 'predicted ' + seconds(t.predicted_s)));
    return new Chart(canvas('timeline-chart'), {
      type: 'bar',
      data: { labels: t.nodes, datasets: datasets },
      plugins: plugins,
      options: {
        indexAxis: 'y',
        layout: { padding: { top: t.predicted_s !== null ? 18 : 0 } },
        scales: {
          x: {
            type: 'linear', min: 0, suggestedMax: end * 1.02,
            title: axisTitle('seconds from the start of the iteration'),
            ticks: { callback: function (v) { return seconds(v); } }
          },
          y: { grid: { display: false }, ticks: { font: { weight: 'bold' } } }
        },
        plugins: {
          legend: { position: 'bottom' },
          tooltip: {
            callbacks: {
              label: function (ctx) {
                var r = ctx.raw;
                return (r.label ? r.label : r.kind) + ': ' + seconds(r.x[0]) + ' \u2192 ' + seconds(r.x[1]) +
                       ' (' + seconds(r.x[1] - r.x[0]) + ')';
              }
            }
          }
        }
      }
    });
  }

  // A chart's main line of one value per step (or per bucket of steps).
  function perStepLine(label, bucket, data) {
    return {
      label: bucket > 1 ? label + ' (mean of ' + bucket + ' steps)' : label,
      data: data,
      borderColor: '#4e79a7',
      backgroundColor: '#4e79a7',
      borderWidth: 1.5,
      pointRadius: data.length > 60 ? 0 : 2,
      tension: 0
    };
  }

  function drawLoss(d) {
    var datasets = [perStepLine('training loss', d.bucket, d.train)];
    if (d.test.length > 0) {
      datasets.push({
        label: 'test loss (end of epoch)',
        data: d.test,
        borderColor: '#e15759',
        backgroundColor: '#e15759',
        borderWidth: 1.5,
        borderDash: [6, 4],
        pointRadius: 5,
        pointStyle: 'rectRot'
      });
    }
    return new Chart(canvas('loss-chart'), {
      type: 'line',
      data: { datasets: datasets },
      options: {
        parsing: false,
        scales: {
          x: { type: 'linear', title: axisTitle('step'), ticks: { precision: 0 } },
          y: { title: axisTitle('loss (cross-entropy)') }
        },
        plugins: { legend: LINE_LEGEND }
      }
    });
  }

  function drawAccuracy(d) {
    return new Chart(canvas('accuracy-chart'), {
      type: 'line',
      data: {
        labels: d.labels,
        datasets: [{
          label: 'test accuracy',
          data: d.accuracy,
          borderColor: '#59a14f',
          backgroundColor: '#59a14f',
          borderWidth: 2,
          pointRadius: 5
        }]
      },
      options: {
        scales: {
          y: {
            grace: '10%',
            title: axisTitle('test accuracy (%)'),
            ticks: { callback: function (v) { return v + '%'; } }
          }
        },
        plugins: {
          legend: LINE_LEGEND,
          tooltip: { callbacks: { label: function (ctx) { return ctx.parsed.y.toFixed(2) + '%'; } } }
        }
      }
    });
  }

  function drawTimes(d) {
    return new Chart(canvas('times-chart'), {
      type: 'bar',
      data: {
        labels: d.labels,
        datasets: [
          { label: 'predicted', data: d.predicted, backgroundColor: '#a0cbe8', borderColor: '#4e79a7', borderWidth: 1 },
          { label: 'measured', data: d.measured, backgroundColor: '#4e79a7' }
        ]
      },
      options: {
        scales: {
          x: { ticks: { font: { weight: 'bold' } } },
          y: {
            beginAtZero: true,
            title: axisTitle('seconds per iteration'),
            ticks: { callback: function (v) { return seconds(v); } }
          }
        },
        plugins: {
          legend: { position: 'top' },
          tooltip: {
            callbacks: { label: function (ctx) { return ctx.dataset.label + ': ' + seconds(ctx.parsed.y); } }
          }
        }
      }
    });
  }

  function drawPerStep(d) {
    var datasets = [perStepLine('measured', d.bucket, d.measured)];
    if (d.predicted.length > 0) {
      datasets.push({
        label: 'predicted',
        data: d.predicted,
        borderColor: '#f28e2b',
        backgroundColor: '#f28e2b',
        borderWidth: 1.5,
        borderDash: [6, 4],
        pointRadius: 0
      });
    }
    return new Chart(canvas('per-step-chart'), {
      type: 'line',
      data: { datasets: datasets },
      options: {
        parsing: false,
        scales: {
          x: { type: 'linear', title: axisTitle('step'), ticks: { precision: 0 } },
          y: {
            beginAtZero: true,
            title: axisTitle('seconds'),
            ticks: { callback: function (v) { return seconds(v); } }
          }
        },
        plugins: {
          legend: LINE_LEGEND,
          tooltip: {
            callbacks: { label: function (ctx) { return ctx.dataset.label + ': ' + seconds(ctx.parsed.y); } }
          }
        }
      }
    });
  }

  function drawBreakdown(d) {
    return new Chart(canvas('breakdown-chart'), {
      type: 'bar',
      data: {
        labels: d.nodes,
        datasets: d.parts.map(function (p) {
          return { label: p.name, data: p.values, backgroundColor: PART_COLORS[p.name] || '#999', barPercentage: 0.7 };
        })
      },
      options: {
        indexAxis: 'y',
        scales: {
          x: {
            stacked: true,
            beginAtZero: true,
            title: axisTitle('mean seconds per iteration'),
            ticks: { callback: function (v) { return seconds(v); } }
          },
          y: { stacked: true, grid: { display: false }, ticks: { font: { weight: 'bold' } } }
        },
        plugins: {
          legend: { position: 'top' },
          tooltip: {
            callbacks: { label: function (ctx) { return ctx.dataset.label + ': ' + seconds(ctx.parsed.x); } }
          }
        }
      }
    });
  }

  var DRAW = {
    timeline: ['timeline-chart', drawTimeline],
    loss: ['loss-chart', drawLoss],
    accuracy: ['accuracy-chart', drawAccuracy],
    times: ['times-chart', drawTimes],
    per_step: ['per-step-chart', drawPerStep],
    breakdown: ['breakdown-chart', drawBreakdown]
  };

  try {
    if (typeof Chart === 'undefined') throw new Error('Chart.js did not load');
    // Final state at once: a printed page or a headless screenshot shows the charts.
    Chart.defaults.animation = false;
    Chart.defaults.responsive = true;
    Chart.defaults.maintainAspectRatio = false;
    Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
    Chart.defaults.color = '#334e68';
    var data = JSON.parse(document.getElementById('report-data').textContent);
    Object.keys(DRAW).forEach(function (key) {
      var id = DRAW[key][0];
      if (data[key] === null || data[key] === undefined || !canvas(id)) return;
      DRAW[key][1](data[key]);
    });
    if (document.body.dataset.rendered !== 'error') document.body.dataset.rendered = 'ok';
  } catch (e) {
    window.decReportFail('report.js: ' + (e && e.stack ? e.stack : e));
  }
})();
