// A few DOM helpers: elements from tag, attributes and children; copy
// buttons; tables. No framework: sections re-render themselves.

/**
 * h('a', { href: '/', class: 'x', testid: 'y', onclick: fn }, 'text', child)
 * `testid` becomes data-testid; `data` an object of data-* attributes;
 * null/false children are skipped.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElementNS(
    SVG_TAGS.has(tag) ? 'http://www.w3.org/2000/svg' : 'http://www.w3.org/1999/xhtml',
    tag,
  );
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'testid') el.setAttribute('data-testid', v);
    else if (k === 'data') for (const [dk, dv] of Object.entries(v)) { if (dv !== null && dv !== undefined) el.dataset[dk] = String(dv); }
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'value' && 'value' in el) el.value = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

const SVG_TAGS = new Set(['svg', 'path', 'line', 'text', 'g', 'rect', 'title', 'polyline', 'circle']);

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Replaces an element's children. */
export function setChildren(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

/** A button that copies `text` and says so. */
export function copyButton(text, label = 'Copy') {
  const b = h('button', { type: 'button', class: 'copy', 'aria-label': `${label}: ${text}` }, label);
  b.addEventListener('click', async () => {
    let ok = false;
    try {
      await navigator.clipboard.writeText(text);
      ok = true;
    } catch {
      ok = fallbackCopy(text);
    }
    b.textContent = ok ? 'Copied' : 'Copy failed';
    setTimeout(() => {
      b.textContent = label;
    }, 1500);
  });
  return b;
}

function fallbackCopy(text) {
  const t = h('textarea', { class: 'offscreen', readonly: true });
  t.value = text;
  document.body.append(t);
  t.select();
  let ok = false;
  try {
    ok = document.execCommand('copy');
  } catch {
    ok = false;
  }
  t.remove();
  return ok;
}

/** A value followed by its copy button, in monospace. */
export function copyable(text, { testid, short } = {}) {
  return h('span', { class: 'copyable' }, h('code', { testid, title: text, data: { value: text } }, short || text), ' ', copyButton(text));
}

/** A table in a horizontally scrolling wrapper (phones). */
export function table(headers, rows, attrs = {}) {
  // A header "=Name" is right-aligned, over a numeric column.
  const th = (x) => (x.startsWith('=') ? h('th', { scope: 'col', class: 'num' }, x.slice(1)) : h('th', { scope: 'col' }, x));
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      attrs,
      h('thead', {}, h('tr', {}, headers.map(th))),
      h('tbody', {}, rows),
    ),
  );
}

/**
 * A table showing its first `limit` rows, with a button to show them all;
 * `state.expanded` keeps the choice across re-renders.
 */
export function limitedTable(headers, rows, attrs, { limit = 25, state = { expanded: false }, noun = 'rows' } = {}) {
  if (rows.length <= limit) return table(headers, rows, attrs);
  const shown = state.expanded ? rows : rows.slice(0, limit);
  const toggle = h('button', { type: 'button', class: 'more', 'aria-expanded': state.expanded ? 'true' : 'false' },
    state.expanded ? `Show the latest ${limit} ${noun}` : `Show all ${rows.length} ${noun}`);
  const box = h('div', {}, table(headers, shown, attrs), toggle);
  toggle.addEventListener('click', () => {
    state.expanded = !state.expanded;
    const again = limitedTable(headers, rows, attrs, { limit, state, noun });
    box.replaceWith(again);
    again.querySelector('button.more')?.focus();
  });
  return box;
}

/** A labelled figure of the stats grid; `value` is the raw value for tests. */
export function stat(label, text, { testid, value, hint } = {}) {
  return h(
    'div',
    { class: 'stat' },
    h('div', { class: 'stat-label' }, label),
    h('div', { class: 'stat-value', testid, data: { value: value ?? text } }, text),
    hint ? h('div', { class: 'stat-hint' }, hint) : null,
  );
}

/** A message box; kind is info, warn or error. */
export function notice(kind, text, attrs = {}) {
  return h('div', { class: `notice notice-${kind}`, role: kind === 'error' ? 'alert' : 'status', ...attrs }, text);
}
