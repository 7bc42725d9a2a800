// The event log: a virtual list, newest at the bottom. While you read older rows, new ones never
// move what you look at ("N new ↓" jumps to them); filters hide rows without discarding them;
// Clear forgets rows and counts. Every row has a time: since the run started, or the wall clock.
'use strict';

import { clockTime, el, runTime, short } from './dom.js';
import { rowMatches } from './model.js';

const ROW = 22;
const OVERSCAN = 10;

export class LogView {
  constructor(parts, handlers) {
    this.scroll = parts.scroll;
    this.newButton = parts.newButton;
    this.count = parts.count;
    this.handlers = handlers;
    this.model = null;
    this.view = [];
    this.lastSeq = 0;
    this.version = -1;
    this.filters = { target: '', op: '', type: '', xstate: false };
    this.paused = false;
    this.timeMode = 'run';
    this.startedAt = undefined;
    this.unseen = 0;
    this.selectedSeq = null;
    this.pool = [];
    this.spacer = el('div', 'log-spacer');
    this.scroll.append(this.spacer);
    // Whether the reader is at the newest rows. Only scrolling changes it: a panel that shrinks
    // does not unstick the log.
    this.stuck = true;
    // Scroll position and height are cached from events: reading them while rendering would force
    // the browser to lay the page out again in the middle of a frame.
    this.top = 0;
    this.height = 300;
    new ResizeObserver((entries) => {
      for (const e of entries) this.height = e.contentRect.height || this.height;
      if (this.stuck) this.toBottom();
      this.renderRows();
    }).observe(this.scroll);
    this.scroll.addEventListener('scroll', () => {
      this.top = this.scroll.scrollTop;
      this.stuck = this.atBottom();
      if (this.stuck) this.unseen = 0;
      this.renderRows();
      this.renderNew();
    }, { passive: true });
    this.newButton.addEventListener('click', () => {
      this.stuck = true;
      this.toBottom();
      this.unseen = 0;
      this.renderNew();
    });
    this.spacer.addEventListener('click', (e) => {
      const r = e.target instanceof Element ? e.target.closest('.log-row') : null;
      const row = r && this.view[Number(r.dataset.index)];
      if (row) {
        this.selectedSeq = row.seq;
        this.handlers.pick(row);
        this.renderRows(true);
      }
    });
  }

  atBottom() {
    return this.top + this.height >= this.view.length * ROW - ROW / 2;
  }

  toBottom() {
    this.top = Math.max(0, this.view.length * ROW - this.height);
    this.scroll.scrollTop = this.top;
  }

  setModel(model, startedAt) {
    this.model = model;
    this.startedAt = startedAt;
    this.refilter();
  }

  setFilters(f) {
    this.filters = f;
    this.refilter();
  }

  setPaused(paused) {
    this.paused = paused;
    if (!paused) this.update();
  }

  /** Rows arrived while paused (not shown yet). */
  get held() {
    return this.model ? this.model.nextSeq - this.lastSeq : 0;
  }

  refilter() {
    const m = this.model;
    if (!m) return;
    const upTo = this.paused ? this.lastSeq : m.nextSeq;
    this.view = m.rows.filter((r) => r.seq <= upTo && rowMatches(r, this.filters));
    this.lastSeq = upTo;
    this.version = m.version;
    this.layout(true);
  }

  /** Takes the rows added since the last call. */
  update() {
    const m = this.model;
    if (!m || this.paused) {
      this.renderCount();
      return;
    }
    const stick = this.stuck;
    let removed = 0;
    if (m.version !== this.version) {
      this.version = m.version;
      // Rows the log forgot: those above the reader shift what they read, so they are counted.
      const firstShown = Math.floor(this.top / ROW);
      const kept = [];
      this.view.forEach((r, i) => {
        if (!r.dead) kept.push(r);
        else if (i < firstShown) removed++;
      });
      if (kept.length !== this.view.length) this.view = kept;
    }
    let added = 0;
    const rows = m.rows;
    // Rows are in seq order: walk back to the first new one.
    let i = rows.length;
    while (i > 0 && rows[i - 1].seq > this.lastSeq) i--;
    for (; i < rows.length; i++) {
      const r = rows[i];
      if (rowMatches(r, this.filters)) {
        this.view.push(r);
        added++;
      }
    }
    this.lastSeq = m.nextSeq;
    if (!added && !removed && this.spacer.style.height === `${this.view.length * ROW}px`) {
      this.renderCount();
      return;
    }
    this.spacer.style.height = `${this.view.length * ROW}px`;
    if (stick) this.toBottom();
    else {
      // Keep the rows under the reader where they are.
      if (removed) {
        this.top = Math.max(0, this.top - removed * ROW);
        this.scroll.scrollTop = this.top;
      }
      this.unseen += added;
    }
    this.renderRows();
    this.renderNew();
    this.renderCount();
  }

  layout(toBottom) {
    this.spacer.style.height = `${this.view.length * ROW}px`;
    if (toBottom) {
      this.stuck = true;
      this.toBottom();
    }
    this.unseen = 0;
    this.renderRows(true);
    this.renderNew();
    this.renderCount();
  }

  renderNew() {
    const show = this.unseen > 0 && !this.stuck;
    this.newButton.hidden = !show;
    if (show) this.newButton.textContent = `${this.unseen.toLocaleString()} new ↓`;
  }

  renderCount() {
    const m = this.model;
    if (!m) return;
    const hidden = m.rows.length - this.view.length - (this.paused ? this.held : 0);
    this.count.textContent = `${m.received.toLocaleString()} received · ${this.view.length.toLocaleString()} shown${hidden > 0 ? ` · ${hidden.toLocaleString()} filtered out` : ''}${m.trimmed ? ` · ${m.trimmed.toLocaleString()} oldest dropped` : ''}`;
  }

  renderRows(force) {
    const top = this.top;
    const height = this.height;
    const first = Math.max(0, Math.floor(top / ROW) - OVERSCAN);
    const last = Math.min(this.view.length, Math.ceil((top + height) / ROW) + OVERSCAN);
    const n = last - first;
    while (this.pool.length < n) {
      const r = el('div', 'log-row');
      r.setAttribute('role', 'row');
      for (const c of ['c-time', 'c-type', 'c-target', 'c-op', 'c-detail']) {
        const cell = el('span', c);
        cell.setAttribute('role', 'cell');
        r.append(cell);
      }
      this.spacer.append(r);
      this.pool.push(r);
    }
    for (let k = 0; k < this.pool.length; k++) {
      const r = this.pool[k];
      if (k >= n) {
        if (!r.hidden) {
          r.hidden = true;
          r._sig = '';
          for (const key of Object.keys(r.dataset)) delete r.dataset[key];
          for (const c of r.children) c.textContent = '';
        }
        continue;
      }
      r.hidden = false;
      const index = first + k;
      const row = this.view[index];
      const sig = `${row.seq}|${index}|${this.timeMode}|${row.seq === this.selectedSeq}`;
      if (!force && r._sig === sig) continue;
      r._sig = sig;
      r.dataset.index = String(index);
      r.dataset.type = row.type;
      r.dataset.target = row.target || '';
      r.dataset.op = row.op || '';
      if (row.sid) r.dataset.sid = row.sid;
      else delete r.dataset.sid;
      r.className = `log-row ${row.xstate ? 't-xstate' : 't-' + row.type.replace('.', '-')}${row.seq === this.selectedSeq ? ' sel' : ''}`;
      r.style.transform = `translateY(${index * ROW}px)`;
      const [time, type, target, op, detail] = r.children;
      time.textContent = this.timeMode === 'clock' ? clockTime(row.t) : runTime(row.t, this.startedAt);
      time.title = clockTime(row.t);
      type.textContent = row.type;
      target.textContent = row.target || (row.app ? row.app : '');
      op.textContent = short(row.op);
      op.title = row.op || '';
      detail.textContent = row.detail;
      detail.title = row.detail;
    }
  }
}
