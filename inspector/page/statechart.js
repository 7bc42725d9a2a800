// The statechart view: a machine's graph laid out by dagre (served from node_modules), labels on
// a background and never below 12 px when fitted, transitions without a target listed inside
// their state, zoom (wheel, buttons), pan (drag) and fit; the active state, the trail of visited
// states and the last transition are marked with classes only (no animation: it costs frames).
'use strict';

/* global dagre */
import { el, svg } from './dom.js';
import { activeIds, stateLabel } from './model.js';

const FONT = 13;
const CHAR = 7.9;
const MIN_TEXT_PX = 12;
const MIN_FIT = MIN_TEXT_PX / FONT;
const LINE = 18;
// Room on each side of a state's name for the trail badge (and symmetry).
const BADGE = 26;
const TRAIL = 6;

export function layout(chart, rankdir) {
  const g = new dagre.graphlib.Graph({ multigraph: true, compound: true });
  g.setGraph({ rankdir, nodesep: 24, ranksep: 30, edgesep: 14, marginx: 16, marginy: 16 });
  g.setDefaultEdgeLabel(() => ({}));
  const parents = new Set(chart.nodes.map((n) => n.parent).filter(Boolean));
  const internal = new Map();
  for (const e of chart.edges) {
    if (!e.internal) continue;
    if (!internal.has(e.source)) internal.set(e.source, []);
    internal.get(e.source).push(e);
  }
  for (const n of chart.nodes) {
    // Transitions declared on the root ("from any state") are listed above the chart instead of
    // drawn from a pseudo-state: arrows from everywhere would double the chart's size.
    if (n.type === 'any') continue;
    const label = n.key;
    const lines = (internal.get(n.id) || []).map((e) => `↺ ${e.label}`);
    const chars = Math.max(label.length, ...lines.map((l) => l.length));
    g.setNode(n.id, {
      label, lines, type: n.type, initial: n.initial, compound: parents.has(n.id),
      width: Math.max(110, chars * CHAR + 30 + 2 * BADGE),
      height: 36 + lines.length * LINE,
    });
  }
  for (const n of chart.nodes) if (n.parent && g.hasNode(n.parent)) g.setParent(n.id, n.parent);
  // A compound state's name gets a row of its own above its children (dagre has no padding for it).
  for (const id of parents) {
    if (!g.hasNode(id)) continue;
    const title = `${id}\u0000title`;
    const node = g.node(id);
    g.setNode(title, { label: '', lines: [], title: true, width: node.label.length * CHAR + 2 * BADGE + 20, height: 20 });
    g.setParent(title, id);
    const kids = chart.nodes.filter((n) => n.parent === id);
    const first = kids.find((n) => n.initial) || kids[0];
    if (first) g.setEdge(title, first.id, { width: 0, height: 0, title: true }, `${id}\u0000title-edge`);
  }
  // dagre cannot attach edges to compound states: a transition from or to one is laid out from or
  // to its initial (else first) child, which is where entering it lands anyway.
  const anchor = (id) => {
    let cur = id;
    for (let guard = 0; guard < 50 && parents.has(cur); guard++) {
      const kids = chart.nodes.filter((n) => n.parent === cur);
      cur = (kids.find((n) => n.initial) || kids[0] || { id: cur }).id;
      if (!parents.has(cur)) break;
    }
    return cur;
  };
  // Transitions between the same two states share one arrow, their events listed on its label.
  const merged = new Map();
  for (const e of chart.edges) {
    if (e.internal || !g.hasNode(e.source) || !g.hasNode(e.target)) continue;
    const source = anchor(e.source), target = anchor(e.target);
    const key = `${source}\u0000${target}`;
    if (!merged.has(key)) merged.set(key, { id: e.id, source, target, from: e.source, to: e.target, events: [], labels: [] });
    const m = merged.get(key);
    m.events.push(e.event);
    if (!m.labels.includes(e.label)) m.labels.push(e.label);
  }
  for (const m of merged.values()) {
    const chars = Math.max(...m.labels.map((l) => l.length));
    g.setEdge(m.source, m.target, { lines: m.labels, width: chars * CHAR + 14, height: 6 + LINE * m.labels.length, labelpos: 'c', edge: m }, m.id);
  }
  dagre.layout(g);
  const info = g.graph();
  const fromAny = chart.edges.filter((e) => !e.internal && e.source.endsWith('.*'));
  return { g, width: Math.ceil(info.width || 100), height: Math.ceil(info.height || 60), internal, fromAny };
}

function pathOf(points) {
  if (!points || !points.length) return '';
  let d = `M${points[0].x},${points[0].y}`;
  if (points.length === 2) return d + ` L${points[1].x},${points[1].y}`;
  for (let i = 1; i < points.length - 1; i++) {
    const p = points[i], q = points[i + 1];
    const last = i === points.length - 2;
    d += ` Q${p.x},${p.y} ${last ? q.x : (p.x + q.x) / 2},${last ? q.y : (p.y + q.y) / 2}`;
  }
  return d;
}

export class ChartView {
  constructor(root, toolbar) {
    this.root = root;
    this.drawn = null;
    this.view = { k: 1, x: 0, y: 0 };
    this.userMoved = false;
    this.layouts = new Map();
    this.zoomLabel = el('span', 'zoom-label', '100%');
    const button = (text, title, fn) => {
      const b = el('button', 'tool', text);
      b.type = 'button';
      b.title = title;
      b.setAttribute('aria-label', title);
      b.addEventListener('click', fn);
      return b;
    };
    toolbar.append(
      button('−', 'zoom out', () => this.zoomBy(1 / 1.25)),
      this.zoomLabel,
      button('+', 'zoom in', () => this.zoomBy(1.25)),
      button('fit', 'fit the whole chart in the panel', () => this.fit(true)),
      button('1:1', 'actual size', () => this.setView({ k: 1, x: this.view.x, y: this.view.y }, true)),
    );
    root.addEventListener('wheel', (e) => {
      if (!this.drawn || !this.drawn.svg) return;
      e.preventDefault();
      const r = root.getBoundingClientRect();
      this.zoomBy(Math.exp(-e.deltaY * 0.0015), e.clientX - r.left, e.clientY - r.top);
    }, { passive: false });
    let drag = null;
    root.addEventListener('pointerdown', (e) => {
      if (!this.drawn || !this.drawn.svg || e.button !== 0) return;
      drag = { x: e.clientX, y: e.clientY, vx: this.view.x, vy: this.view.y };
      root.setPointerCapture(e.pointerId);
      root.classList.add('panning');
    });
    root.addEventListener('pointermove', (e) => {
      if (!drag) return;
      this.setView({ k: this.view.k, x: drag.vx + e.clientX - drag.x, y: drag.vy + e.clientY - drag.y }, true);
    });
    const end = () => { drag = null; root.classList.remove('panning'); };
    root.addEventListener('pointerup', end);
    root.addEventListener('pointercancel', end);
    new ResizeObserver(() => { if (this.drawn && this.drawn.svg && !this.userMoved) this.fit(false); }).observe(root);
  }

  /** Shows a placeholder instead of a chart. */
  empty(text) {
    if (this.drawn && !this.drawn.svg && this.drawn.text === text) return;
    this.root.replaceChildren(el('div', 'empty', text));
    this.drawn = { key: null, text };
  }

  /** Draws the chart of machine `key` (once; later calls with the same key keep zoom and pan). */
  show(key, chart) {
    if (this.drawn && this.drawn.key === key) return;
    const W = this.root.clientWidth || 600, H = this.root.clientHeight || 300;
    let best = this.layouts.get(key);
    if (!best) {
      // Whichever direction lets the chart be largest in this panel.
      const a = layout(chart, 'TB'), b = layout(chart, 'LR');
      const fa = Math.min(W / a.width, H / a.height), fb = Math.min(W / b.width, H / b.height);
      best = fb > fa * 1.05 ? b : a;
      this.layouts.set(key, best);
    }
    const { g, width, height, internal, fromAny } = best;
    const root = svg('svg', { class: 'sc', role: 'img', 'aria-label': `statechart of ${chart.rootId}` });
    const defs = svg('defs');
    for (const [id, cls] of [['arrow', 'sc-arrow'], ['arrow-last', 'sc-arrow-last'], ['arrow-trail', 'sc-arrow-trail']]) {
      const marker = svg('marker', { id, viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 8, markerHeight: 8, orient: 'auto-start-reverse' });
      marker.append(svg('path', { d: 'M0,0 L10,5 L0,10 z', class: cls }));
      defs.append(marker);
    }
    root.append(defs);
    const port = svg('g', { class: 'viewport' });
    root.append(port);
    const nodes = new Map();
    // Compound states first, so their children are drawn on top of them.
    const ids = g.nodes().slice().sort((x, y) => (g.children(y).length ? 1 : 0) - (g.children(x).length ? 1 : 0));
    for (const id of ids) {
      const n = g.node(id);
      if (!n || n.title) continue;
      const grp = svg('g', { class: `sc-node ${n.type}${n.compound ? ' compound' : ''}` });
      grp.dataset.stateId = id;
      const x = n.x - n.width / 2, y = n.y - n.height / 2;
      grp.append(svg('rect', { x, y, width: n.width, height: n.height, rx: n.type === 'final' ? 16 : 8 }));
      const title = svg('text', { x: n.x, y: n.compound ? y + 17 : y + 23, 'text-anchor': 'middle', class: 'sc-title' });
      title.textContent = n.label;
      grp.append(title);
      n.lines.forEach((line, i) => {
        const t = svg('text', { x: n.x, y: y + 23 + (i + 1) * LINE, 'text-anchor': 'middle', class: 'sc-internal' });
        t.textContent = line;
        grp.append(t);
      });
      if (n.initial) {
        grp.append(svg('circle', { cx: x - 12, cy: y + 18, r: 4.5, class: 'initial-marker' }));
        grp.append(svg('path', { d: `M${x - 8},${y + 18} L${x - 1},${y + 18}`, class: 'initial-edge', 'marker-end': 'url(#arrow)' }));
      }
      const badge = svg('g', { class: 'sc-badge' });
      badge.append(svg('rect', { x: x + n.width - BADGE - 4, y: y + 7, width: BADGE, height: 18, rx: 9 }));
      const bt = svg('text', { x: x + n.width - BADGE / 2 - 4, y: y + 20.5, 'text-anchor': 'middle' });
      badge.append(bt);
      grp.append(badge);
      port.append(grp);
      nodes.set(id, { g: grp, badge, badgeText: bt });
    }
    const edges = [];
    const labels = svg('g', { class: 'sc-labels' });
    for (const e of g.edges()) {
      const lab = g.edge(e);
      if (lab.title) continue;
      const grp = svg('g', { class: 'sc-edge' });
      grp.dataset.event = lab.edge.events.join(' ');
      let d = pathOf(lab.points);
      if (e.v === e.w) {
        // A self-transition: around to the label dagre placed beside the state, and back.
        const n = g.node(e.v);
        const sx = n.x + n.width / 2, lx = lab.x - lab.width / 2;
        const hy = lab.height / 2;
        d = `M${sx},${n.y - 8} C${sx + 24},${n.y - 8} ${lx - 10},${lab.y - hy - 3} ${lx},${lab.y - hy} M${lx},${lab.y + hy} C${lx - 10},${lab.y + hy + 3} ${sx + 24},${n.y + 8} ${sx},${n.y + 8}`;
      }
      const p = svg('path', { d, 'marker-end': 'url(#arrow)' });
      grp.append(p);
      port.append(grp);
      const lg = svg('g', { class: 'sc-label' });
      lg.dataset.event = lab.edge.events.join(' ');
      lg.append(svg('rect', { x: lab.x - lab.width / 2, y: lab.y - lab.height / 2, width: lab.width, height: lab.height, rx: 5 }));
      lab.lines.forEach((line, i) => {
        const t = svg('text', { x: lab.x, y: lab.y - lab.height / 2 + 3 + LINE * i + 14, 'text-anchor': 'middle' });
        t.textContent = line;
        lg.append(t);
      });
      labels.append(lg);
      edges.push({ g: grp, label: lg, path: p, edge: lab.edge });
    }
    port.append(labels);
    const anyLine = el('div', 'from-any');
    const anyItems = [];
    if (fromAny.length) {
      anyLine.append('from any state: ');
      const byTarget = new Map();
      for (const e of fromAny) {
        if (!byTarget.has(e.target)) byTarget.set(e.target, []);
        byTarget.get(e.target).push(e);
      }
      let first = true;
      for (const [target, list] of byTarget) {
        if (!first) anyLine.append(' · ');
        first = false;
        list.forEach((e, i) => {
          if (i) anyLine.append(', ');
          const b = el('b', null, e.label);
          b.dataset.event = e.event;
          anyLine.append(b);
          anyItems.push({ el: b, edge: e });
        });
        anyLine.append(` → ${target.slice(chart.rootId.length + 1)}`);
      }
    }
    // Events handled on the root without changing state.
    const handles = Array.isArray(chart.handles) ? chart.handles : [];
    if (handles.length) {
      if (fromAny.length) anyLine.append(' · ');
      anyLine.append('handled in any state: ');
      handles.forEach((h, i) => {
        if (i) anyLine.append(', ');
        anyLine.append(el('b', null, h));
      });
    }
    const hasLine = fromAny.length > 0 || handles.length > 0;
    this.root.replaceChildren(...(hasLine ? [anyLine] : []), root);
    if (hasLine) root.style.height = 'calc(100% - 20px)';
    this.drawn = { key, svg: root, port, nodes, edges, rootId: chart.rootId, width, height, internal, anyItems };
    this.version = (this.version || 0) + 1;
    this.userMoved = false;
    this.fit(false);
  }

  setView(v, byUser) {
    this.view = v;
    if (byUser) this.userMoved = true;
    if (this.drawn && this.drawn.port) this.drawn.port.setAttribute('transform', `translate(${v.x.toFixed(1)},${v.y.toFixed(1)}) scale(${v.k.toFixed(4)})`);
    this.zoomLabel.textContent = `${Math.round(v.k * 100)}%`;
  }

  /** Fits the chart in the panel; unless `anySize`, never so small that labels go below 12 px. */
  fit(anySize) {
    if (!this.drawn || !this.drawn.svg) return;
    const W = this.drawn.svg.clientWidth || this.root.clientWidth || 600, H = this.drawn.svg.clientHeight || this.root.clientHeight || 300;
    const { width, height } = this.drawn;
    let k = Math.min(W / width, H / height, 1.4);
    if (!anySize) k = Math.max(k, MIN_FIT);
    this.setView({ k, x: Math.max(0, (W - width * k) / 2), y: Math.max(0, (H - height * k) / 2) }, anySize === true);
  }

  zoomBy(f, cx, cy) {
    if (!this.drawn || !this.drawn.svg) return;
    const W = this.root.clientWidth || 600, H = this.root.clientHeight || 300;
    const px = cx ?? W / 2, py = cy ?? H / 2;
    const k = Math.min(4, Math.max(0.2, this.view.k * f));
    const r = k / this.view.k;
    this.setView({ k, x: px - (px - this.view.x) * r, y: py - (py - this.view.y) * r }, true);
  }

  /** Marks the active state of `value`, the trail of `values` visited before, and the transition `last`. */
  highlight(value, trail, last) {
    const d = this.drawn;
    if (!d || !d.svg) return;
    const active = new Set(activeIds(d.rootId, value));
    const visits = new Map();
    // The last TRAIL states visited, numbered 1 (oldest shown) to TRAIL (now).
    const steps = trail.slice(-TRAIL);
    steps.forEach((v, i) => {
      for (const id of activeIds(d.rootId, v)) {
        if (!visits.has(id)) visits.set(id, []);
        visits.get(id).push(i + 1);
      }
    });
    for (const [id, n] of d.nodes) {
      n.g.classList.toggle('active', active.has(id));
      const seen = visits.get(id);
      n.g.classList.toggle('visited', !!seen && !active.has(id));
      if (seen) {
        const text = String(seen[seen.length - 1]);
        if (n.badgeText.textContent !== text) n.badgeText.textContent = text;
        n.badge.classList.add('on');
      } else n.badge.classList.remove('on');
    }
    const trailEdges = new Set();
    for (let i = 1; i < steps.length; i++) {
      const e = this.edgeFor(steps[i - 1], steps[i], null);
      if (e) trailEdges.add(e);
    }
    const lastEdge = last ? this.edgeFor(last.from, last.to, last.event) : null;
    for (const item of d.anyItems) {
      const on = !lastEdge && !!last && item.edge.event === last.event && activeIds(d.rootId, last.to).includes(item.edge.target);
      item.el.classList.toggle('last', on);
    }
    for (const x of d.edges) {
      const on = x === lastEdge;
      const trailOn = !on && trailEdges.has(x);
      if (x.g.classList.contains('last') !== on || x.g.classList.contains('trail') !== trailOn) {
        x.g.classList.toggle('last', on);
        x.label.classList.toggle('last', on);
        x.g.classList.toggle('trail', trailOn);
        x.path.setAttribute('marker-end', on ? 'url(#arrow-last)' : trailOn ? 'url(#arrow-trail)' : 'url(#arrow)');
      }
    }
    this.root.dataset.state = stateLabel(value);
    this.root.dataset.trail = trail.map((v) => stateLabel(v)).join(' ');
  }

  edgeFor(fromValue, toValue, event) {
    const d = this.drawn;
    if (JSON.stringify(fromValue) === JSON.stringify(toValue)) return null;
    const from = new Set(activeIds(d.rootId, fromValue));
    const to = new Set(activeIds(d.rootId, toValue));
    const anyId = d.rootId + '.*';
    const candidates = d.edges.filter((x) => (from.has(x.edge.source) || x.edge.source === anyId) && to.has(x.edge.target) && !from.has(x.edge.target));
    return (event && candidates.find((x) => x.edge.events.includes(event))) || candidates.find((x) => x.edge.source !== anyId) || candidates[0] || null;
  }
}
