// Hand-made SVG line charts of a history series
// (`/api/v1/history/...`: dense points {t, shares, work, hashrate}).
import { h, setChildren } from './dom.js';
import { formatHashrate } from './format.js';

export const RANGES = [
  { key: 'hour', label: 'Last hour' },
  { key: 'day', label: 'Day' },
  { key: 'week', label: 'Week' },
];

const MAX_POINTS = 360;

/** Averages consecutive points so that at most `max` remain. */
export function downsample(points, max = MAX_POINTS) {
  if (points.length <= max) return points.map((p) => ({ t: p.t, v: Number(p.hashrate) || 0 }));
  const size = Math.ceil(points.length / max);
  const out = [];
  for (let i = 0; i < points.length; i += size) {
    const chunk = points.slice(i, i + size);
    const v = chunk.reduce((s, p) => s + (Number(p.hashrate) || 0), 0) / chunk.length;
    out.push({ t: chunk[0].t, v });
  }
  return out;
}

/** A "nice" axis maximum and step for values up to `max` (4 to 5 steps). */
export function niceScale(max) {
  if (!(max > 0)) return { top: 1, step: 0.25 };
  const rough = max / 4;
  const mag = 10 ** Math.floor(Math.log10(rough));
  const norm = rough / mag;
  const step = (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 2.5 ? 2.5 : norm <= 5 ? 5 : 10) * mag;
  return { top: Math.ceil(max / step) * step, step };
}

function timeLabel(t, range) {
  const d = new Date(t * 1000);
  if (range === 'week' || range === 'year') {
    return new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric' }).format(d);
  }
  return new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' }).format(d);
}

/**
 * Draws `history` into `container` (replacing its content), sized to the
 * container's width. Returns the SVG element.
 */
export function drawChart(container, history, { label = 'Hashrate', format = formatHashrate } = {}) {
  const points = downsample(history.points || []);
  const width = Math.max(280, Math.floor(container.clientWidth || 640));
  const height = width < 500 ? 180 : 230;
  const pad = { left: 72, right: 12, top: 12, bottom: 28 };
  const innerW = width - pad.left - pad.right;
  const innerH = height - pad.top - pad.bottom;
  const max = points.reduce((m, p) => Math.max(m, p.v), 0);
  const { top, step } = niceScale(max);
  const t0 = points.length ? points[0].t : 0;
  const t1 = points.length ? points[points.length - 1].t : 1;
  const x = (t) => pad.left + (t1 === t0 ? innerW : ((t - t0) / (t1 - t0)) * innerW);
  const y = (v) => pad.top + innerH - (v / top) * innerH;

  const current = points.length ? points[points.length - 1].v : 0;
  const summary = points.length
    ? `${label}, ${RANGES.find((r) => r.key === history.range)?.label.toLowerCase() || history.range}: now ${format(current)}, peak ${format(max)}`
    : `${label}: no data`;
  const svg = h('svg', {
    class: 'chart',
    width,
    height,
    viewBox: `0 0 ${width} ${height}`,
    role: 'img',
    'aria-label': summary,
  }, h('title', {}, summary));

  for (let v = 0; v <= top + step / 2; v += step) {
    svg.append(
      h('line', { class: 'grid', x1: pad.left, x2: width - pad.right, y1: y(v), y2: y(v) }),
      h('text', { class: 'axis', x: pad.left - 6, y: y(v) + 4, 'text-anchor': 'end' }, format(v)),
    );
  }
  const ticks = width < 500 ? 3 : 5;
  for (let i = 0; i <= ticks && points.length > 1; i += 1) {
    const t = t0 + ((t1 - t0) * i) / ticks;
    const anchor = i === 0 ? 'start' : i === ticks ? 'end' : 'middle';
    svg.append(h('text', { class: 'axis', x: x(t), y: height - 8, 'text-anchor': anchor }, timeLabel(t, history.range)));
  }
  if (points.length > 1) {
    const line = points.map((p, i) => `${i ? 'L' : 'M'}${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`).join('');
    const area = `${line}L${x(t1).toFixed(1)},${y(0).toFixed(1)}L${x(t0).toFixed(1)},${y(0).toFixed(1)}Z`;
    svg.append(h('path', { class: 'area', d: area }), h('path', { class: 'line', d: line }));
  }
  setChildren(container, svg);
  if (points.length && max === 0) container.append(h('p', { class: 'muted small' }, 'No shares in this range.'));
  return svg;
}

/**
 * A chart card with range tabs. `load(range)` returns the history JSON.
 * Returns { element, refresh(): Promise<void> } ; `onRendered` is called
 * after each successful draw.
 */
export function chartCard({ title, load, testid, onRendered, ranges = RANGES }) {
  let range = ranges[0].key;
  let last = null;
  const plot = h('div', { class: 'chart-plot', testid: `${testid}-plot` });
  const status = h('div', { class: 'chart-status', 'aria-live': 'polite' });
  const tabs = h('div', { class: 'tabs', role: 'tablist', 'aria-label': `${title} range` });
  const buttons = ranges.map((r) => {
    const b = h('button', { type: 'button', role: 'tab', 'aria-selected': r.key === range ? 'true' : 'false', testid: `${testid}-tab-${r.key}` }, r.label);
    b.addEventListener('click', () => {
      range = r.key;
      for (const other of buttons) other.setAttribute('aria-selected', other === b ? 'true' : 'false');
      refresh();
    });
    b.addEventListener('keydown', (ev) => {
      const i = buttons.indexOf(b);
      const next = ev.key === 'ArrowRight' ? buttons[(i + 1) % buttons.length] : ev.key === 'ArrowLeft' ? buttons[(i - 1 + buttons.length) % buttons.length] : null;
      if (next) {
        ev.preventDefault();
        next.focus();
        next.click();
      }
    });
    return b;
  });
  tabs.append(...buttons);
  const element = h('section', { class: 'card', testid, 'aria-label': title }, h('div', { class: 'card-head' }, h('h2', {}, title), tabs), plot, status);

  async function refresh() {
    const want = range;
    try {
      const history = await load(want);
      if (want !== range) return;
      last = history;
      status.textContent = '';
      status.className = 'chart-status';
      drawChart(plot, history);
      plot.dataset.range = want;
      plot.dataset.rendered = 'true';
      if (onRendered) onRendered();
    } catch (e) {
      if (want !== range || (e.unreachable && last)) return;
      status.textContent = `Chart unavailable: ${e.message}`;
      status.className = 'chart-status notice notice-warn';
    }
  }

  if (typeof ResizeObserver !== 'undefined') {
    let width = 0;
    new ResizeObserver(() => {
      const w = Math.floor(plot.clientWidth);
      if (last && Math.abs(w - width) > 8) {
        width = w;
        drawChart(plot, last);
      }
    }).observe(plot);
  }
  return { element, refresh };
}
