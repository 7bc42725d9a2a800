// The detail pane: what the selected actor is, the payload of the selected event, its context as
// collapsible JSON, and its transition history with timestamps; stepping back and forth through
// the history shows each recorded snapshot (the statechart follows).
'use strict';

import { clockTime, el, jsonView, runTime } from './dom.js';
import { stateLabel } from './model.js';

const EXPECTED = {
  'lost-arbitration': 'expected: another operation on this target had a higher priority (or came first) in the same window',
  'no-winner': 'the selectWinner callback chose nobody in this window',
  preempted: 'a higher-priority operation took the target after the grace period',
  'backend-unavailable': 'the shared backend could not be reached, or this operation lost its lease on the target (arbiter.abort)',
};

export class DetailsView {
  constructor(root, handlers) {
    this.root = root;
    this.handlers = handlers;
    this.sig = '';
    this.sid = null;
    // What the user opened in the JSON views, kept while the same actor stays selected.
    this.memory = new Map();
  }

  clear(text) {
    this.sig = '';
    this.root.replaceChildren(el('div', 'empty', text));
  }

  /**
   * `cursor`: the history step shown (`null`: live, the latest). `event`: a payload picked in the
   * event log, shown instead of the step's event.
   */
  render(a, { cursor, event, run }) {
    const h = a.history;
    const index = cursor === null || cursor === undefined ? h.length - 1 : Math.min(cursor, h.length - 1);
    const sig = `${a.sid}|${h.length}|${h.length ? h[h.length - 1].t : ''}|${index}|${cursor === null}|${event ? event.seq : ''}|${a.snapshot && a.snapshot.status}`;
    if (sig === this.sig) return;
    this.sig = sig;
    if (this.sid !== a.sid) {
      this.sid = a.sid;
      this.memory = new Map();
    }
    const step = h[index];
    const startedAt = run ? run.startedAt : undefined;
    const frag = document.createDocumentFragment();

    const facts = el('div', 'facts');
    const fact = (k, v, onClick) => {
      const value = el(onClick ? 'button' : 'div', onClick ? 'v link' : 'v', v ?? '');
      if (onClick) {
        value.type = 'button';
        value.addEventListener('click', onClick);
      }
      facts.append(el('div', 'k', k), value);
    };
    const snap = step || { value: a.snapshot && a.snapshot.value, status: a.snapshot && a.snapshot.status, context: a.snapshot && a.snapshot.context };
    const ctx = (snap.context && typeof snap.context === 'object' ? snap.context : {}) || {};
    fact('actor', `${a.name} · ${a.kind}${a.app ? ' · ' + a.app : ''} · ${a.sid}`);
    if (a.opId) fact('operation', a.opId);
    if (a.target) fact('target', a.target, () => this.handlers.selectTarget(a.target));
    if (a.parentId) fact('parent', a.parentId, () => this.handlers.selectSid(a.parentId));
    fact('state', `${stateLabel(snap.value) || '—'} (${snap.status ?? 'active'})`);
    if (ctx.code) fact('outcome', `${ctx.code}: ${ctx.reason ?? ''}${EXPECTED[ctx.code] ? ' — ' + EXPECTED[ctx.code] : ''}`);
    if (a.process) fact('process', `${a.process} (another process on the shared backend)`);
    frag.append(facts);

    // Stepping through the recorded snapshots.
    const nav = el('div', 'stepper');
    const btn = (id, text, title, disabled, fn) => {
      const b = el('button', 'tool', text);
      b.type = 'button';
      b.id = id;
      b.title = title;
      b.setAttribute('aria-label', title);
      b.disabled = disabled;
      b.addEventListener('click', fn);
      return b;
    };
    const live = cursor === null || cursor === undefined;
    nav.append(
      btn('step-back', '◀', 'previous step', index <= 0, () => this.handlers.step(Math.max(0, index - 1))),
      btn('step-fwd', '▶', 'next step', live || index >= h.length - 1, () => this.handlers.step(index + 1 >= h.length - 1 ? null : index + 1)),
      btn('step-live', live ? '● live' : 'live', 'follow the latest step', live, () => this.handlers.step(null)),
    );
    const range = el('input', 'step-range');
    range.type = 'range';
    range.min = '0';
    range.max = String(Math.max(0, h.length - 1));
    range.value = String(Math.max(0, index));
    range.setAttribute('aria-label', 'step');
    range.addEventListener('input', () => {
      const i = Number(range.value);
      this.handlers.step(i >= h.length - 1 ? null : i);
    });
    nav.append(range);
    const label = el('span', 'step-label', step ? `step ${index + 1}/${h.length} · ${runTime(step.t, startedAt)} · ${step.event && step.event.type}` : 'no steps recorded');
    nav.append(label);
    frag.append(nav);

    frag.append(el('h3', null, `history (${h.length} steps)`));
    const list = el('ol', 'history');
    const from = Math.max(0, Math.min(h.length - 100, index - 50));
    for (let i = from; i < h.length; i++) {
      const s = h[i];
      const prev = i > 0 ? stateLabel(h[i - 1].value) : '';
      const now = stateLabel(s.value);
      const li = el('li', `history-row${i === index ? ' current' : ''}${prev !== now ? ' moved' : ''}`);
      li.dataset.index = String(i);
      li.title = clockTime(s.t);
      li.append(el('span', 'ht', runTime(s.t, startedAt)), el('span', 'he', (s.event && s.event.type) || ''), el('span', 'hs', prev !== now ? `${prev ? prev + ' → ' : ''}${now}` : now));
      li.addEventListener('click', () => this.handlers.step(i >= h.length - 1 ? null : i));
      list.append(li);
    }
    frag.append(list);

    const payload = event ? event.payload : step ? step.event : undefined;
    if (payload !== undefined) {
      frag.append(el('h3', null, event ? `event ${event.type} (from the log)` : `event of this step`));
      frag.append(jsonView(payload, 2, this.memory, 'event'));
    }
    frag.append(el('h3', null, live ? 'context (now)' : `context at step ${index + 1}`));
    frag.append(jsonView(snap.context ?? null, 2, this.memory, 'context'));
    if (snap.output !== undefined) {
      frag.append(el('h3', null, 'output'));
      frag.append(jsonView(snap.output, 1, this.memory, 'output'));
    }
    if (snap.error !== undefined) {
      frag.append(el('h3', null, 'error'));
      frag.append(jsonView(snap.error, 1, this.memory, 'error'));
    }

    this.root.replaceChildren(frag);
    // The list scrolls on its own, so the stepper above stays in view.
    const current = list.querySelector('.current');
    if (current instanceof HTMLElement) list.scrollTop = Math.max(0, current.offsetTop - list.clientHeight / 2);
  }
}
