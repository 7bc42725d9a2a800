// Metrics charts with axes: a value axis (0, half, max, in the chart's unit), a time axis (seconds
// before now), a title that says what is counted and in which unit, and the values under the
// pointer. Sampled by the server once per second from arbiter.metrics().
'use strict';

import { clockTime, el, svg } from './dom.js';

const W = 300, H = 104, L = 44, R = 8, T = 8, B = 18;
export const CODE_COLORS = {
  'lost-arbitration': '#f0b429', preempted: '#c07cff', 'retries-exhausted': '#ff8f5f', 'execution-failed': '#ff5f6d',
  'staging-full': '#ff4fa3', 'no-winner': '#8a94a6', 'arbitration-failed': '#e5e56f', cancelled: '#9fb3c8',
  timeout: '#ffb86b', 'circuit-open': '#6fe5d8', shutdown: '#5c6b80', 'backend-unavailable': '#b07a5a',
};

function nice(max) {
  if (!(max > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(max));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= max) return m * p;
  return 10 * p;
}

const fmt = (v) => (v === null || v === undefined || Number.isNaN(v) ? '—' : v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));

export class MetricsView {
  constructor(root) {
    this.root = root;
    this.hover = new Map();
    this.samples = [];
  }

  charts(samples) {
    const col = (f) => samples.map(f);
    const codes = [];
    for (const s of samples) for (const c of Object.keys(s.rejectedByCode || {})) if (!codes.includes(c)) codes.push(c);
    return [
      { key: 'decided', title: 'decided, operations/s', unit: '/s', series: [
        { name: 'completed', color: '#3ecf8e', values: col((s) => s.completedPerSec) },
        { name: 'rejected', color: '#ff5f6d', values: col((s) => s.rejectedPerSec) },
      ] },
      { key: 'submitted', title: 'submitted, operations/s', unit: '/s', series: [{ name: 'submitted', color: '#5cc8ff', values: col((s) => s.submittedPerSec) }] },
      { key: 'conflicts', title: 'conflicts, windows with rivals/s', unit: '/s', series: [{ name: 'conflicts', color: '#f0b429', values: col((s) => s.conflictsPerSec) }] },
      { key: 'codes', title: 'rejections by code, operations/s', unit: '/s', series: codes.length
        ? codes.map((c) => ({ name: c, color: CODE_COLORS[c] || '#aaa', values: col((s) => (s.rejectedByCode || {})[c] || 0) }))
        : [{ name: 'rejected', color: '#ff5f6d', values: col((s) => s.rejectedPerSec) }] },
      { key: 'latency', title: 'p99 decision latency (submit → final), ms', unit: ' ms', series: [{ name: 'p99', color: '#c07cff', values: col((s) => s.p99DecisionMs) }] },
      { key: 'arbitration', title: 'p99 arbitration time per window, µs', unit: ' µs', series: [{ name: 'p99', color: '#6fe5d8', values: col((s) => s.p99ResolutionUs) }] },
      { key: 'inflight', title: 'operations in flight, staged, executing (count)', unit: '', series: [
        { name: 'in flight', color: '#8a94a6', values: col((s) => s.inFlight) },
        { name: 'staged', color: '#f0b429', values: col((s) => s.staged) },
        { name: 'executing', color: '#3fa7ff', values: col((s) => s.executing) },
      ] },
    ];
  }

  empty(text) {
    this.figures = null;
    this.root.replaceChildren(el('div', 'empty', text));
  }

  render(samples) {
    this.samples = samples;
    if (!samples.length) {
      this.figures = null;
      this.root.replaceChildren(el('div', 'empty', 'waiting for the first sample (one per second)'));
      return;
    }
    if (!this.figures) {
      this.figures = new Map();
      this.root.replaceChildren();
    }
    for (const c of this.charts(samples)) {
      let f = this.figures.get(c.key);
      if (!f) {
        f = this.figure(c);
        this.figures.set(c.key, f);
        this.root.append(f.box);
      }
      this.update(f, c, samples);
    }
  }

  // The parts of a chart that stay: hovering keeps working while samples arrive.
  figure(c) {
    const box = el('figure', 'metric');
    box.dataset.chart = c.key;
    const head = el('figcaption', 'head');
    const now = el('span', 'now');
    head.append(el('span', 'title', c.title), now);
    const s = svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img' });
    const grid = svg('g');
    const lines = svg('g');
    const cursor = svg('line', { x1: 0, x2: 0, y1: T, y2: H - B, class: 'cursor' });
    cursor.style.display = 'none';
    s.append(grid, lines, cursor);
    const tip = el('div', 'tip');
    tip.hidden = true;
    const legend = el('div', 'legend-line');
    box.append(head, s, tip, legend);
    const f = { box, now, svg: s, grid, lines, cursor, tip, legend, c, key: c.key, xOf: null, legendSig: '' };
    const show = (i) => {
      const p = this.samples[i];
      if (!p || !f.xOf) return;
      cursor.style.display = '';
      cursor.setAttribute('x1', String(f.xOf(p.t)));
      cursor.setAttribute('x2', String(f.xOf(p.t)));
      tip.hidden = false;
      tip.textContent = `${clockTime(p.t)} · ${f.c.series.map((x) => `${x.name} ${fmt(x.values[i])}${f.c.unit}`).join(' · ')}`;
    };
    f.show = show;
    s.addEventListener('pointermove', (e) => {
      const samples = this.samples;
      if (!samples.length || !f.t0) return;
      const r = s.getBoundingClientRect();
      const t = f.t0 + ((((e.clientX - r.left) / r.width) * W - L) / (W - L - R)) * f.span;
      let best = 0;
      for (let i = 0; i < samples.length; i++) if (Math.abs(samples[i].t - t) < Math.abs(samples[best].t - t)) best = i;
      this.hover.set(c.key, samples[best].t);
      show(best);
    });
    s.addEventListener('pointerleave', () => {
      this.hover.delete(c.key);
      cursor.style.display = 'none';
      tip.hidden = true;
    });
    return f;
  }

  update(f, c, samples) {
    f.c = c;
    const last = samples.length - 1;
    f.now.replaceChildren();
    for (const s of c.series) {
      const v = el('b', null, `${fmt(s.values[last])}${c.unit}`);
      v.style.color = s.color;
      v.title = s.name;
      f.now.append(v);
    }
    let max = 0;
    for (const s of c.series) for (const v of s.values) if (typeof v === 'number' && v > max) max = v;
    max = nice(max);
    const t1 = samples[last].t, t0 = Math.min(samples[0].t, t1 - 10_000);
    const span = Math.max(1, t1 - t0);
    const xOf = (t) => L + ((t - t0) / span) * (W - L - R);
    const yOf = (v) => T + (1 - (typeof v === 'number' ? v : 0) / max) * (H - T - B);
    f.xOf = xOf;
    f.t0 = t0;
    f.span = span;
    f.svg.setAttribute('aria-label', `${c.title}: ${c.series.map((x) => `${x.name} ${fmt(x.values[last])}${c.unit}`).join(', ')}`);
    const grid = document.createDocumentFragment();
    for (const [v, label] of [[0, '0'], [max / 2, fmt(max / 2)], [max, fmt(max)]]) {
      grid.append(svg('line', { x1: L, x2: W - R, y1: yOf(v), y2: yOf(v), class: 'grid' }));
      const t = svg('text', { x: L - 4, y: yOf(v) + 4, 'text-anchor': 'end', class: 'axis' });
      t.textContent = label;
      grid.append(t);
    }
    const every = span > 90_000 ? 30 : span > 30_000 ? 15 : 5;
    for (let ago = 0; ago <= span / 1000; ago += every) {
      const x = xOf(t1 - ago * 1000);
      if (x < L) break;
      const t = svg('text', { x, y: H - 4, 'text-anchor': ago === 0 ? 'end' : 'middle', class: 'axis' });
      t.textContent = ago === 0 ? 'now' : `−${ago} s`;
      grid.append(t, svg('line', { x1: x, x2: x, y1: H - B, y2: H - B + 3, class: 'tick' }));
    }
    f.grid.replaceChildren(grid);
    const lines = document.createDocumentFragment();
    for (const ser of c.series) {
      const pts = samples.map((p, i) => `${xOf(p.t).toFixed(1)},${yOf(ser.values[i]).toFixed(1)}`).join(' ');
      lines.append(svg('polyline', { points: pts, stroke: ser.color, class: 'series' }));
    }
    f.lines.replaceChildren(lines);
    const legendSig = c.series.map((x) => x.name).join('|');
    if (legendSig !== f.legendSig) {
      f.legendSig = legendSig;
      f.legend.replaceChildren();
      if (c.series.length > 1) {
        for (const ser of c.series) {
          const sp = el('span', null, ser.name);
          sp.style.setProperty('--c', ser.color);
          f.legend.append(sp);
        }
      }
    }
    const held = this.hover.get(c.key);
    if (held !== undefined) {
      // Keep showing the moment under the pointer (or the nearest one still in view).
      let i = samples.findIndex((p) => p.t >= held);
      if (i < 0) i = last;
      f.show(i);
    }
  }
}
