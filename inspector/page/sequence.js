// The sequence view: one lifeline per participant (the callers, the coordinator, each operation;
// or each actor of an app), one arrow per step, newest at the bottom. Drawn as SVG from rows
// that model.js computes; kept scrolled to the bottom unless the user scrolled up.
'use strict';

import { clockTime, el, runTime, svg } from './dom.js';

const HEAD = 34;
const ROW = 24;
const TIME = 86;
const MIN_LANE = 96;

export class SequenceView {
  constructor(root) {
    this.root = root;
    this.sig = '';
    this.onPick = null;
  }

  clear(text) {
    this.sig = '';
    this.root.replaceChildren(el('div', 'empty', text));
  }

  render({ lanes, rows, remote = new Map() }, startedAt, key) {
    const last = rows[rows.length - 1];
    const remoteLanes = lanes.filter((n) => remote.has(n));
    const sig = `${key}|${lanes.join(',')}|${remoteLanes.length}|${rows.length}|${last ? last.seq : ''}|${this.root.clientWidth}`;
    if (sig === this.sig) return;
    this.sig = sig;
    if (!rows.length) {
      this.root.replaceChildren(el('div', 'empty', 'no steps yet for this selection'));
      return;
    }
    const stick = this.root.scrollTop + this.root.clientHeight >= this.root.scrollHeight - 4;
    const W = Math.max(this.root.clientWidth - 4, TIME + lanes.length * MIN_LANE);
    const laneW = (W - TIME) / lanes.length;
    const x = (i) => TIME + laneW * i + laneW / 2;
    const H = rows.length * ROW + 10;
    // The lane names stay in view while the steps scroll under them; an operation of another
    // process (a shared backend) says which one under its name.
    const headH = remoteLanes.length ? HEAD + 14 : HEAD;
    const head = svg('svg', { class: 'seq seq-head', width: W, height: headH });
    const root = svg('svg', { class: 'seq', width: W, height: H, role: 'img', 'aria-label': `sequence of ${rows.length} steps` });
    const defs = svg('defs');
    const marker = svg('marker', { id: 'seq-arrow', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' });
    marker.append(svg('path', { d: 'M0,0 L10,5 L0,10 z', class: 'seq-arrowhead' }));
    defs.append(marker);
    root.append(defs);
    const fit = Math.max(4, Math.floor((laneW - 14) / 7.6));
    lanes.forEach((name, i) => {
      head.append(svg('line', { x1: x(i), y1: HEAD - 6, x2: x(i), y2: headH, class: 'lifeline' }));
      root.append(svg('line', { x1: x(i), y1: 0, x2: x(i), y2: H, class: 'lifeline' }));
      const where = remote.has(name) ? String(remote.get(name)) : null;
      const g = svg('g', { class: where ? 'lane-head remote' : 'lane-head' });
      const label = name.length > fit ? '…' + name.slice(-(fit - 1)) : name;
      const w = Math.min(laneW - 6, label.length * 7.6 + 14);
      g.append(svg('rect', { x: x(i) - w / 2, y: 4, width: w, height: 22, rx: 5 }));
      const t = svg('text', { x: x(i), y: 19.5, 'text-anchor': 'middle' });
      t.textContent = label;
      const title = svg('title');
      title.textContent = where ? `${name}, in process ${where}` : name;
      g.append(t, title);
      if (where) {
        const p = svg('text', { x: x(i), y: HEAD + 8, 'text-anchor': 'middle', class: 'lane-process' });
        p.textContent = where.length > fit ? '…' + where.slice(-(fit - 1)) : where;
        g.append(p);
        g.dataset.process = where;
      }
      g.dataset.lane = name;
      head.append(g);
    });
    rows.forEach((r, k) => {
      const y = k * ROW + ROW / 2 + 2;
      const from = r.fromIndex ?? lanes.indexOf(r.from);
      const to = r.toIndex ?? lanes.indexOf(r.to);
      const g = svg('g', { class: `step s-${r.cls}` });
      g.dataset.label = r.label;
      g.dataset.from = r.from;
      g.dataset.to = r.to;
      const time = svg('text', { x: 4, y: y + 4, class: 'seq-time' });
      time.textContent = runTime(r.t, startedAt);
      const tip = svg('title');
      tip.textContent = `${clockTime(r.t)} ${r.label}`;
      g.append(time, tip);
      let lx;
      if (from === to) {
        const cx = x(from);
        g.append(svg('path', { d: `M${cx},${y - 6} h18 v12 h-16`, class: 'arrow', 'marker-end': 'url(#seq-arrow)' }));
        lx = cx + 24;
        const t = svg('text', { x: lx, y: y + 4, class: 'seq-label' });
        t.textContent = r.label;
        g.append(t);
      } else {
        const x1 = x(from), x2 = x(to);
        g.append(svg('line', { x1, y1: y + 4, x2: x2 + (x2 > x1 ? -4 : 4), y2: y + 4, class: 'arrow', 'marker-end': 'url(#seq-arrow)' }));
        const t = svg('text', { x: (x1 + x2) / 2, y: y - 1, 'text-anchor': 'middle', class: 'seq-label' });
        t.textContent = r.label;
        g.append(t);
      }
      if (this.onPick) g.addEventListener('click', () => this.onPick(r));
      root.append(g);
    });
    this.root.replaceChildren(head, root);
    if (stick) this.root.scrollTop = this.root.scrollHeight;
  }
}
