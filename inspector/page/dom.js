// DOM helpers. Received text only ever reaches the page through textContent and setAttribute
// (never as markup, never as code): state names and payloads come from user machines.
'use strict';

export const SVG = 'http://www.w3.org/2000/svg';

export const $ = (id) => document.getElementById(id);

export function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}

export function svg(tag, attrs) {
  const e = document.createElementNS(SVG, tag);
  for (const k in attrs || {}) e.setAttribute(k, String(attrs[k]));
  return e;
}

export const short = (id) => (typeof id === 'string' && id.length > 18 ? '…' + id.slice(-8) : String(id ?? ''));

/** `+12.345 s` since the run started. */
export function runTime(t, startedAt) {
  if (typeof t !== 'number' || !Number.isFinite(t) || typeof startedAt !== 'number') return '';
  const s = (t - startedAt) / 1000;
  if (s < 60) return `+${s.toFixed(3)} s`;
  const m = Math.floor(s / 60);
  return `+${m}:${(s - m * 60).toFixed(3).padStart(6, '0')}`;
}

/** `14:03:07.123` wall-clock. */
export function clockTime(t) {
  if (typeof t !== 'number' || !Number.isFinite(t)) return '';
  const d = new Date(t);
  const p = (n, w = 2) => String(n).padStart(w, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

const MAX_CHILDREN = 200;

/**
 * A collapsible JSON view built from `<details>` elements: the first `open` levels are expanded,
 * deeper ones are built only when opened. `memory` (a Map of path → open) keeps what the user
 * opened or closed across re-renders. Keys such as `__proto__` are shown as keys.
 */
export function jsonView(value, open = 1, memory = null, path = '$') {
  const wrap = el('div', 'json');
  wrap.append(jsonNode(undefined, value, open, memory, path));
  return wrap;
}

function jsonNode(key, value, open, memory, path) {
  const isObj = value !== null && typeof value === 'object';
  const keyEl = key === undefined ? null : el('span', 'jk', `${key}: `);
  if (!isObj) {
    const line = el('div', 'jl');
    if (keyEl) line.append(keyEl);
    line.append(el('span', 'jv j-' + (value === null ? 'null' : typeof value), typeof value === 'string' ? JSON.stringify(value) : String(value)));
    return line;
  }
  const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v]) : Object.keys(value).map((k) => [k, value[k]]);
  const d = el('details', 'jd');
  const s = el('summary');
  if (keyEl) s.append(keyEl);
  s.append(el('span', 'jt', Array.isArray(value) ? `[${entries.length}]` : `{${entries.length}}`));
  d.append(s);
  let built = false;
  const build = () => {
    if (built) return;
    built = true;
    for (const [k, v] of entries.slice(0, MAX_CHILDREN)) d.append(jsonNode(k, v, open - 1, memory, `${path}.${k}`));
    if (entries.length > MAX_CHILDREN) d.append(el('div', 'jl dim', `… ${entries.length - MAX_CHILDREN} more`));
  };
  const remembered = memory ? memory.get(path) : undefined;
  if (remembered ?? open > 0) {
    build();
    d.open = true;
  }
  d.addEventListener('toggle', () => {
    if (d.open) build();
    if (memory) memory.set(path, d.open);
  });
  return d;
}
