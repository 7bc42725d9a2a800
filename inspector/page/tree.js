// The actor tree: a virtual list (only the rows in view exist in the DOM, so thousands of targets
// cost what forty do), a WAI-ARIA tree (role tree/treeitem, aria-level, aria-expanded,
// aria-selected, aria-activedescendant) driven by the keyboard.
'use strict';

import { el, short } from './dom.js';
import { stateLabel, topState } from './model.js';

const ROW = 24;
const OVERSCAN = 8;

function stateOf(a) {
  const snap = a.snapshot || {};
  if (a.kind === 'child' || a.kind === 'actor' || a.kind === 'system') {
    if (snap.status && snap.status !== 'active') return snap.status;
    return snap.value !== undefined ? stateLabel(snap.value) : 'active';
  }
  return topState(snap.value);
}

export class TreeView {
  constructor(root, handlers) {
    this.root = root;
    this.handlers = handlers;
    this.rows = [];
    this.selectedId = null;
    this.focusId = null;
    this.pool = [];
    this.store = null;
    root.setAttribute('role', 'tree');
    root.setAttribute('aria-label', 'Actors');
    root.tabIndex = 0;
    this.spacer = el('div', 'tree-spacer');
    this.layer = el('div', 'tree-layer');
    this.spacer.append(this.layer);
    root.append(this.spacer);
    // Cached from events, never read while rendering (that would force a layout mid-frame).
    this.top = 0;
    this.height = 600;
    root.addEventListener('scroll', () => {
      this.top = root.scrollTop;
      this.render();
    }, { passive: true });
    new ResizeObserver((entries) => {
      for (const e of entries) this.height = e.contentRect.height || this.height;
      this.render();
    }).observe(root);
    root.addEventListener('keydown', (e) => this.onKey(e));
    root.addEventListener('click', (e) => {
      const node = e.target instanceof Element ? e.target.closest('.node') : null;
      if (!node) return;
      const row = this.rows.find((r) => r.id === node._rowId);
      if (!row) return;
      this.focusId = row.id;
      if (e.target instanceof Element && e.target.closest('.twisty')) this.handlers.toggle(row);
      else this.handlers.select(row);
    });
  }

  setRows(rows, store) {
    this.rows = rows;
    this.store = store;
    this.spacer.style.height = `${rows.length * ROW}px`;
    this.render();
  }

  indexOf(id) {
    return this.rows.findIndex((r) => r.id === id);
  }

  scrollTo(id) {
    const i = this.indexOf(id);
    if (i < 0) return;
    const top = i * ROW;
    if (top < this.top) this.top = top;
    else if (top + ROW > this.top + this.height) this.top = top + ROW - this.height;
    else return;
    this.root.scrollTop = this.top;
  }

  onKey(e) {
    if (!this.rows.length) return;
    let i = Math.max(0, this.indexOf(this.focusId ?? this.selectedId));
    const row = this.rows[i];
    const page = Math.max(1, Math.floor(this.height / ROW) - 1);
    switch (e.key) {
      case 'ArrowDown': i = Math.min(this.rows.length - 1, i + 1); break;
      case 'ArrowUp': i = Math.max(0, i - 1); break;
      case 'PageDown': i = Math.min(this.rows.length - 1, i + page); break;
      case 'PageUp': i = Math.max(0, i - page); break;
      case 'Home': i = 0; break;
      case 'End': i = this.rows.length - 1; break;
      case 'ArrowRight':
        if (row && row.expandable && row.collapsed) { this.handlers.toggle(row); e.preventDefault(); return; }
        i = Math.min(this.rows.length - 1, i + 1);
        break;
      case 'ArrowLeft':
        if (row && row.expandable && !row.collapsed) { this.handlers.toggle(row); e.preventDefault(); return; }
        for (let j = i - 1; j >= 0; j--) if (this.rows[j].level < (row ? row.level : 0)) { i = j; break; }
        break;
      case 'Enter':
      case ' ':
        if (row) this.handlers.select(row);
        e.preventDefault();
        return;
      default:
        return;
    }
    e.preventDefault();
    this.focusId = this.rows[i].id;
    this.scrollTo(this.focusId);
    this.render();
  }

  render() {
    const top = this.top;
    const height = this.height;
    const first = Math.max(0, Math.floor(top / ROW) - OVERSCAN);
    const last = Math.min(this.rows.length, Math.ceil((top + height) / ROW) + OVERSCAN);
    const n = last - first;
    while (this.pool.length < n) {
      const node = el('div', 'node');
      node.setAttribute('role', 'treeitem');
      node.append(el('span', 'twisty'), el('span', 'dot'), el('span', 'name'), el('span', 'meta'), el('span', 'state'));
      this.layer.append(node);
      this.pool.push(node);
    }
    for (let k = 0; k < this.pool.length; k++) {
      const node = this.pool[k];
      if (k >= n) {
        if (!node.hidden) {
          // A spare row keeps nothing of what it showed (tests and assistive tools look at attributes).
          node.hidden = true;
          node._sig = '';
          node._rowId = null;
          for (const key of Object.keys(node.dataset)) delete node.dataset[key];
          node.removeAttribute('id');
        }
        continue;
      }
      node.hidden = false;
      const index = first + k;
      this.fill(node, this.rows[index], index);
    }
    const focus = this.indexOf(this.focusId ?? this.selectedId);
    if (focus >= first && focus < last) this.root.setAttribute('aria-activedescendant', `ti-${focus}`);
    else this.root.removeAttribute('aria-activedescendant');
  }

  fill(node, row, index) {
    const [twisty, , name, meta, state] = node.children;
    const a = row.actor;
    const st = a ? stateOf(a) : row.kind === 'target' ? this.targetState(row) : '';
    const sig = `${index}|${row.id}|${row.collapsed}|${st}|${row.count}|${row.opCount}|${row.id === this.selectedId}|${row.id === this.focusId}|${a ? a.snapshot && a.snapshot.status : ''}|${row.t ? row.t.hidden + ':' + row.t.coordSid : ''}|${row.app ? row.app.connected + row.app.name : ''}`;
    if (node._sig === sig) return;
    node._sig = sig;
    node._rowId = row.id;
    node.id = `ti-${index}`;
    node.dataset.index = String(index);
    node.style.transform = `translateY(${index * ROW}px)`;
    node.style.paddingLeft = `${6 + (row.level - 1) * 14}px`;
    node.className = `node k-${row.kind}`;
    node.setAttribute('aria-level', String(row.level));
    node.setAttribute('aria-selected', String(row.id === this.selectedId));
    if (row.expandable) node.setAttribute('aria-expanded', String(!row.collapsed));
    else node.removeAttribute('aria-expanded');
    node.classList.toggle('selected', row.id === this.selectedId);
    node.classList.toggle('focused', row.id === this.focusId);
    twisty.textContent = row.expandable ? (row.collapsed ? '▸' : '▾') : '';
    for (const k of ['sid', 'op', 'target', 'state', 'app']) delete node.dataset[k];
    node.dataset.kind = row.kind === 'target' ? 'target' : a ? a.kind : row.kind;
    node.title = '';
    if (a) {
      node.dataset.sid = a.sid;
      node.dataset.state = st;
      node.classList.toggle('final', !!a.snapshot && !!a.snapshot.status && a.snapshot.status !== 'active');
      if (a.kind === 'operation') {
        const ctx = (a.snapshot && a.snapshot.context) || {};
        node.dataset.op = a.opId;
        node.dataset.target = a.target;
        name.textContent = short(a.opId);
        meta.textContent = `${ctx.type ?? ''} P${ctx.effectivePriority ?? ctx.priority ?? '?'}${a.process ? ' · process ' + a.process : ''}`;
        node.title = `${a.opId} · ${ctx.type ?? ''} · priority ${ctx.priority ?? '?'}${ctx.code ? ` · ${ctx.code}: ${ctx.reason ?? ''}` : ''}`;
        state.textContent = ctx.code && st === 'rejected' ? ctx.code : st;
      } else {
        name.textContent = a.name;
        meta.textContent = a.kind === 'system' ? 'actor' : '';
        state.textContent = st;
        node.title = `${a.name} (${a.sid})`;
      }
      if (a.app) node.dataset.app = a.app;
      return;
    }
    node.classList.remove('final');
    switch (row.kind) {
      case 'arbiter': {
        const run = this.store && this.store.run;
        const o = (run && run.options) || {};
        name.textContent = 'arbiter';
        meta.textContent = `${row.count} target${row.count === 1 ? '' : 's'}`;
        state.textContent = run && o.windowMs !== undefined ? `window ${o.windowMs} ms` : '';
        node.title = run ? `window ${o.windowMs ?? '?'} ms · ${o.whileExecuting ?? ''} · backend ${run.backend ? run.backend.kind : '?'}` : '';
        break;
      }
      case 'target': {
        const t = row.t;
        node.dataset.target = row.target;
        node.dataset.state = st;
        if (t.coordSid) node.dataset.sid = t.coordSid;
        name.textContent = row.target;
        meta.textContent = `${row.opCount} op${row.opCount === 1 ? '' : 's'}${t.hidden ? ` · ${t.hidden} hidden` : ''}`;
        const coord = this.store && this.store.coordinatorOf(row.target);
        const staged = coord && coord.snapshot && coord.snapshot.context && Array.isArray(coord.snapshot.context.staged) ? coord.snapshot.context.staged.length : 0;
        state.textContent = coord ? `${st}${staged ? ' · ' + staged + ' staged' : ''}` : 'no coordinator';
        node.title = `target ${row.target}: its coordinator and operations`;
        break;
      }
      case 'hidden':
        node.dataset.target = row.target;
        name.textContent = `${row.count} older operation${row.count === 1 ? '' : 's'} hidden`;
        meta.textContent = '';
        state.textContent = '';
        break;
      case 'app':
        node.dataset.app = row.app.id;
        node.dataset.state = row.app.connected ? 'connected' : 'closed';
        name.textContent = row.app.name;
        meta.textContent = '';
        node.title = `app ${row.app.id} (its actors' session ids start with ${row.app.id}:)`;
        state.textContent = row.app.connected ? 'connected' : 'disconnected';
        break;
      default:
        name.textContent = row.label || row.kind;
        meta.textContent = row.count !== undefined ? String(row.count) : '';
        state.textContent = '';
    }
  }

  targetState(row) {
    const coord = this.store && this.store.coordinatorOf(row.target);
    if (!coord) return 'none';
    const snap = coord.snapshot || {};
    return snap.status && snap.status !== 'active' ? 'stopped' : topState(snap.value);
  }
}
