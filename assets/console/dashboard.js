// Phonebase console: draws the dashboard's charts with uPlot from the JSON the page carries
// (<script type="application/json" id="dashboard-data">, the same as GET /console/api/dashboard).
// Times are UTC, like the rest of the console.
'use strict';
(() => {
  const source = document.getElementById('dashboard-data');
  if (!source || typeof uPlot === 'undefined') return;
  const data = JSON.parse(source.textContent);
  const xs = data.buckets.map((iso) => Date.parse(iso) / 1000);
  const half = (data.bucketHours * 3600) / 2;
  const palette = ['#4f46e5', '#0ea5e9', '#f59e0b', '#ef4444', '#10b981', '#8b5cf6', '#ec4899', '#64748b'];
  const percent = (rate) => (rate == null ? '–' : `${Math.round(rate * 100)}%`);
  const grid = { stroke: '#e5e7eb', width: 1 };
  const ticks = { stroke: '#e5e7eb', width: 1 };
  const font = '12px system-ui, -apple-system, "Segoe UI", sans-serif';

  function timeAxis() {
    return { grid, ticks, font, stroke: '#6b7280' };
  }
  function countAxis(label) {
    return {
      grid, ticks, font, stroke: '#6b7280', size: 48, label, labelFont: font, labelSize: 18,
      // Whole numbers only: these are counts.
      values: (u, vals) => vals.map((v) => (Number.isInteger(v) ? v.toLocaleString('en') : '')),
    };
  }
  function percentAxis(side) {
    return {
      scale: '%', side, grid: side === 1 ? { show: false } : grid, ticks, font, stroke: '#6b7280', size: 48,
      values: (u, vals) => vals.map((v) => `${v}%`),
    };
  }
  const countScale = { range: (u, min, max) => [0, Math.max(4, Math.ceil(max * 1.1))] };
  const percentScale = { auto: false, range: [0, 100] };

  /** A chart in `id`'s element, as wide as it is, redrawn when it changes width. */
  function chart(id, height, series, columns, scales, axes) {
    const el = document.getElementById(id);
    if (!el) return null;
    const opts = {
      width: Math.max(200, el.clientWidth),
      height,
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'),
      // Half a bucket of room on each side, so the first and last bars are whole.
      scales: { x: { time: true, range: (u, min, max) => [min - half, max + half] }, ...scales },
      series: [{ label: 'Time (UTC)' }, ...series],
      axes: [timeAxis(), ...axes],
      cursor: { points: { size: 6 } },
      legend: { live: true },
    };
    const plot = new uPlot(opts, [xs, ...columns], el);
    new ResizeObserver(() => plot.setSize({ width: Math.max(200, el.clientWidth), height })).observe(el);
    el.dataset.rendered = 'true';
    return plot;
  }

  // Codes sent and verified (bars, side by side) and their conversion (a line on the right axis).
  const codes = data.codes;
  const falling = data.alert != null;
  const bars = (align) => uPlot.paths.bars({ size: [0.36, 28], align });
  chart(
    'chart-codes',
    260,
    [
      { label: `Sent (${codes.totals.sent})`, stroke: '#94a3b8', fill: '#cbd5e1', width: 1, paths: bars(-1), points: { show: false } },
      { label: `Verified (${codes.totals.verified})`, stroke: '#4f46e5', fill: '#818cf8', width: 1, paths: bars(1), points: { show: false } },
      {
        label: `Conversion (${percent(codes.totals.conversion)})`,
        scale: '%',
        stroke: falling ? '#dc2626' : '#16a34a',
        width: 2.5,
        spanGaps: false,
        value: (u, v) => (v == null ? '–' : `${v.toFixed(0)}%`),
      },
    ],
    [codes.sent, codes.verified, codes.conversion.map((r) => (r == null ? null : r * 100))],
    { y: countScale, '%': percentScale },
    [countAxis('codes'), percentAxis(1)],
  );

  // Refused sends, one line per reason (a flat zero line when nothing was refused).
  const reasons = data.refusals.byReason.length
    ? data.refusals.byReason
    : [{ reason: 'refused', total: 0, counts: xs.map(() => 0) }];
  chart(
    'chart-refusals',
    200,
    reasons.map((r, i) => ({ label: `${r.reason} (${r.total})`, stroke: palette[(i + 3) % palette.length], width: 2 })),
    reasons.map((r) => r.counts),
    { y: countScale },
    [countAxis('refused')],
  );

  // Delivery per provider: the share not failed, and the mean seconds to the provider's acceptance.
  const providers = data.providers.length
    ? data.providers
    : [{ provider: 'no messages', successRate: null, meanAcceptSeconds: null, success: xs.map(() => null), latency: xs.map(() => null) }];
  const name = (p) => p.provider || '(none)';
  chart(
    'chart-delivery',
    180,
    providers.map((p, i) => ({
      label: `${name(p)} (${percent(p.successRate)})`,
      scale: '%',
      stroke: palette[i % palette.length],
      width: 2,
      value: (u, v) => (v == null ? '–' : `${v.toFixed(0)}%`),
    })),
    providers.map((p) => p.success.map((r) => (r == null ? null : r * 100))),
    { '%': percentScale },
    [percentAxis(3)],
  );
  const seconds = (s) => (s == null ? '–' : s < 1 ? `${Math.round(s * 1000)} ms` : `${s.toFixed(1)} s`);
  chart(
    'chart-latency',
    180,
    providers.map((p, i) => ({
      label: `${name(p)} (${seconds(p.meanAcceptSeconds)})`,
      scale: 's',
      stroke: palette[i % palette.length],
      width: 2,
      dash: [6, 3],
      value: (u, v) => seconds(v),
    })),
    providers.map((p) => p.latency),
    { s: { range: (u, min, max) => [0, Math.max(0.01, (max || 0) * 1.2)] } },
    [{ scale: 's', grid, ticks, font, stroke: '#6b7280', size: 56, values: (u, vals) => vals.map(seconds) }],
  );
})();
