// arbiter inspector page: connects to the server, keeps the run's state in a Store and draws the
// views once per animation frame at most. Everything received is data (see dom.js).
'use strict';

import { $, clockTime, el, short } from './dom.js';
import { DetailsView } from './details.js';
import { LogView } from './log.js';
import { MetricsView } from './metrics.js';
import { eventSequence, flattenTree, sequenceRows, stateLabel, Store } from './model.js';
import { SequenceView } from './sequence.js';
import { ChartView } from './statechart.js';
import { TreeView } from './tree.js';

const EVENT_TYPES = [
  'operation.submitted', 'operation.staged', 'conflict.detected', 'conflict.resolved', 'operation.won',
  'operation.requeued', 'operation.promoted', 'operation.protected', 'operation.started', 'operation.retrying',
  'operation.preempted', 'operation.completed', 'operation.rejected', 'coordinator.started', 'coordinator.stopped',
  'coordinator.failed', 'arbitration.timedOut', 'cleanup.completed', 'cleanup.failed',
];
const DETAILS_EVERY_MS = 500;
const SEQUENCE_EVERY_MS = 300;
// The tree's rows are rebuilt at most this often when only the data changed (a click, a search or
// a collapse rebuilds them at once); the states shown in the rows follow every frame.
const TREE_EVERY_MS = 200;
// Rows arriving by the thousand per second cannot be read anyway: the log and the tree's row
// states are redrawn ten times a second, which leaves the frames to the rest.
const LOG_EVERY_MS = 100;
const ROWS_EVERY_MS = 100;

const store = new Store();
/** @type {null | {type: 'target', target: string} | {type: 'actor', sid: string}} */
let selection = null;
let userChose = false;
let cursorStep = null;
let focusedEvent = null;
let samples = [];
let query = '';
const collapsed = new Set();
const expanded = new Set();
let expandMode = null;
let structureSeen = -1;
let treeDirty = true;
let lastDetails = 0;
let detailsTimer = 0;
let lastTree = 0;
let lastLog = 0;
let lastRows = 0;
let chartSig = '';
let lastSequence = 0;
let seqWindow = null;
let dropped = 0;
let connected = false;

// ---------------------------------------------------------------- views
const tree = new TreeView($('tree'), {
  select: (row) => {
    if (row.kind === 'target') select({ type: 'target', target: row.target });
    else if (row.sid) select({ type: 'actor', sid: row.sid });
    else toggle(row);
  },
  toggle: (row) => toggle(row),
});
const chart = new ChartView($('chart'), $('chart-tools'));
const details = new DetailsView($('details'), {
  step: (i) => {
    const a = selectedActor();
    cursorStep = i === null || !a ? null : a.history[i] || null;
    focusedEvent = null;
    lastDetails = 0;
    schedule();
  },
  selectSid: (sid) => {
    const a = store.actors.get(sid);
    if (a && a.kind === 'coordinator') select({ type: 'target', target: a.target });
    else if (a) select({ type: 'actor', sid });
  },
  selectTarget: (target) => select({ type: 'target', target }),
});
const log = new LogView({ scroll: $('log-scroll'), newButton: $('log-new'), count: $('log-count') }, { pick: pickRow });
const sequence = new SequenceView($('seq'));
sequence.onPick = (r) => {
  focusedEvent = { seq: -r.seq, type: r.label, payload: r.event };
  lastDetails = 0;
  schedule();
};
const metrics = new MetricsView($('metrics'));
log.setModel(store.log, undefined);

function toggle(row) {
  if (!row.expandable) return;
  if (row.collapsed) {
    collapsed.delete(row.id);
    expanded.add(row.id);
  } else {
    expanded.delete(row.id);
    collapsed.add(row.id);
  }
  treeDirty = true;
  schedule();
}

function selectedActor() {
  if (!selection) return null;
  if (selection.type === 'target') return store.coordinatorOf(selection.target);
  return store.actors.get(selection.sid) || null;
}

function selectedRowId() {
  if (!selection) return null;
  return selection.type === 'target' ? 't:' + selection.target : 's:' + selection.sid;
}

function pin() {
  store.pinned.clear();
  if (selection && selection.type === 'actor') {
    // The selected actor and its ancestors are never trimmed from the tree.
    for (let a = store.actors.get(selection.sid); a; a = a.parentId ? store.actors.get(a.parentId) : null) store.pinned.add(a.sid);
  }
}

function select(sel, byUser = true, keepEvent = false) {
  selection = sel;
  if (byUser) userChose = true;
  cursorStep = null;
  if (!keepEvent) focusedEvent = null;
  seqWindow = null;
  pin();
  treeDirty = true;
  lastDetails = 0;
  lastSequence = 0;
  tree.selectedId = selectedRowId();
  tree.focusId = tree.selectedId;
  if (tree.selectedId) {
    // Searching may have hidden it: the tree always shows the selection.
    const rows = rowsNow();
    tree.setRows(rows, store);
    tree.scrollTo(tree.selectedId);
  }
  schedule();
}

function pickRow(row) {
  focusedEvent = { seq: row.seq, type: row.type, payload: row.payload };
  let sid = row.sid && store.actors.has(row.sid) ? row.sid : null;
  if (!sid && row.op) sid = store.opIndex.get(row.op) || null;
  if (sid) {
    const a = store.actors.get(sid);
    if (a && a.kind === 'coordinator') select({ type: 'target', target: a.target }, true, true);
    else select({ type: 'actor', sid }, true, true);
  } else if (row.target && store.targets.has(row.target)) select({ type: 'target', target: row.target }, true, true);
  else {
    lastDetails = 0;
    schedule();
  }
}

function rowsNow() {
  const a = selectedActor();
  return flattenTree(store, {
    query,
    collapsed,
    expanded,
    keep: a ? a.sid : null,
    expandedByDefault: expandMode ?? store.targets.size <= 20,
  });
}

// ---------------------------------------------------------------- static parts
for (const [name, c] of [['pending', '--pending'], ['staged', '--staged'], ['executing', '--executing'], ['retrying', '--retrying'], ['completed', '--completed'], ['rejected', '--rejected']]) {
  const s = el('span', null, name);
  s.style.setProperty('--c', `var(${c})`);
  $('state-legend').append(s);
}
const typeSel = $('f-type');
for (const t of EVENT_TYPES) {
  const o = el('option', null, t);
  o.value = t;
  typeSel.append(o);
}
function filters() {
  return { target: $('f-target').value.trim(), op: $('f-op').value.trim(), type: typeSel.value, xstate: $('f-xstate').checked };
}
for (const id of ['f-target', 'f-op', 'f-type', 'f-xstate']) $(id).addEventListener('input', () => log.setFilters(filters()));
$('f-time').addEventListener('input', () => {
  log.timeMode = $('f-time').value;
  log.renderRows(true);
});
$('pause').addEventListener('click', () => {
  const paused = !log.paused;
  log.setPaused(paused);
  $('pause').classList.toggle('on', paused);
  $('pause').setAttribute('aria-pressed', String(paused));
  renderPause();
});
function renderPause() {
  $('pause').textContent = log.paused ? `Resume (${log.held.toLocaleString()} new)` : 'Pause';
}
$('clear').addEventListener('click', () => {
  store.log.clear();
  focusedEvent = null;
  log.refilter();
  renderPause();
});
$('tree-search').addEventListener('input', () => {
  query = $('tree-search').value;
  treeDirty = true;
  schedule();
});
$('expand-all').addEventListener('click', () => {
  expandMode = true;
  collapsed.clear();
  expanded.clear();
  treeDirty = true;
  schedule();
});
$('collapse-all').addEventListener('click', () => {
  expandMode = false;
  collapsed.clear();
  expanded.clear();
  treeDirty = true;
  schedule();
});
for (const [tab, pane] of [['tab-log', 'log-pane'], ['tab-seq', 'seq-pane']]) {
  $(tab).addEventListener('click', () => {
    for (const [t, p] of [['tab-log', 'log-pane'], ['tab-seq', 'seq-pane']]) {
      $(t).setAttribute('aria-selected', String(t === tab));
      $(p).hidden = p !== pane;
    }
    lastSequence = 0;
    if (tab === 'tab-log') log.layout(true);
    schedule();
  });
}
$('seq-window').addEventListener('input', () => {
  const v = $('seq-window').value;
  seqWindow = v === '' ? null : Number(v);
  lastSequence = 0;
  schedule();
});

// ---------------------------------------------------------------- header, legend, banners
function banner(text, kind) {
  const b = $('banner');
  b.textContent = text;
  b.dataset.kind = kind;
  b.hidden = !text;
}

function renderRun() {
  const run = store.run;
  if (!run) return;
  const parts = [`run ${run.runId.slice(0, 8)}`];
  if (run.mode === 'listen') parts.push('no arbiter: waiting for XState apps');
  else if (run.backend) parts.push(`backend ${run.backend.kind}${run.backend.url ? ' ' + run.backend.url : ''}`);
  if (run.processId) parts.push(`process ${run.processId}`);
  else if (run.pid) parts.push(`pid ${run.pid}`);
  $('run').textContent = parts.join(' · ');
  $('run').title = `run id ${run.runId}, started ${clockTime(run.startedAt)}`;
  const legend = $('legend');
  if (run.mode === 'listen') {
    legend.textContent = `Connect an XState v5 app: createActor(machine, { inspect: createWebSocketInspector({ url: '${run.appUrl}' }).inspect }), with createWebSocketInspector from @statelyai/inspect. Its actors, statecharts, events and history show here.`;
    $('f-xstate').checked = true;
    log.setFilters(filters());
  } else {
    const w = run.options && run.options.windowMs;
    legend.textContent = `A window${w !== undefined ? ` of ${w} ms` : ''} collects the operations on one target; the highest priority wins and runs, the others end rejected lost-arbitration: arbitration working, not an error.`;
  }
}

function renderTotals() {
  const last = samples[samples.length - 1];
  const totals = $('totals');
  totals.replaceChildren();
  if (!last) return;
  const t = last.totals;
  for (const [k, v] of [['submitted', t.submitted], ['completed', t.completed], ['rejected', t.rejected], ['in flight', t.inFlight], ['conflicts', t.conflicts]]) {
    const s = el('span', null, k + ' ');
    s.append(el('b', null, Number(v).toLocaleString()));
    totals.append(s);
  }
}

// ---------------------------------------------------------------- messages
function onBatch(batch) {
  const now = Date.now();
  if (batch.hello && typeof batch.hello === 'object') {
    const kind = store.hello(batch.hello);
    if (kind === 'new') {
      selection = null;
      userChose = false;
      cursorStep = null;
      focusedEvent = null;
      samples = [];
      collapsed.clear();
      expanded.clear();
      tree.selectedId = null;
      chart.empty('select an actor');
      details.clear('select an actor in the tree, or an event in the log');
      banner(`A new run started at ${clockTime(store.run.startedAt)} (run ${store.run.runId.slice(0, 8)}): the page was reset.`, 'new');
    } else if (kind === 'same') {
      banner('Reconnected to the same run: everything was kept.', 'same');
      setTimeout(() => { if ($('banner').dataset.kind === 'same') banner('', ''); }, 4000);
    } else banner('', '');
    log.setModel(store.log, store.run.startedAt);
    if (Array.isArray(batch.hello.metrics)) samples = batch.hello.metrics.slice(-120);
    renderRun();
    if (store.run.mode === 'listen') metrics.empty('no arbiter in this run: the metrics are the arbiter\'s');
    else metrics.render(samples);
    renderTotals();
    treeDirty = true;
  }
  if (typeof batch.dropped === 'number' && batch.dropped !== dropped) {
    dropped = batch.dropped;
    const d = $('dropped');
    d.hidden = dropped === 0;
    d.textContent = `⚠ ${dropped.toLocaleString()} events dropped (page or network too slow)`;
  }
  for (const m of Array.isArray(batch.messages) ? batch.messages : []) {
    if (!m || typeof m.type !== 'string') continue;
    try {
      store.apply(m, now);
    } catch (err) {
      console.warn('inspector: skipped a message', err);
    }
  }
  if (Array.isArray(batch.metrics) && batch.metrics.length) {
    samples = samples.concat(batch.metrics).slice(-120);
    metrics.render(samples);
    renderTotals();
  }
  schedule();
}

// ---------------------------------------------------------------- rendering
let frame = 0;
function schedule() {
  if (!frame) frame = requestAnimationFrame(render);
}

function autoSelect() {
  if (userChose || selection || !store.run) return;
  if (store.run.mode === 'arbiter') {
    const busiest = store.busiestTarget();
    if (busiest) select({ type: 'target', target: busiest }, false);
  } else {
    for (const app of store.apps.values()) {
      for (const sid of app.roots) {
        const a = store.actors.get(sid);
        if (a && a.machine) return select({ type: 'actor', sid }, false);
      }
    }
  }
}

function historyIndex(a) {
  if (!cursorStep) return null;
  const i = a.history.indexOf(cursorStep);
  if (i < 0) cursorStep = null;
  return i < 0 ? null : i;
}

function renderSelection(now) {
  const a = selectedActor();
  const title = $('chart-title');
  if (!selection) {
    title.textContent = '';
    return;
  }
  if (!a) {
    if (selection.type === 'target') {
      title.textContent = `coordinator of ${selection.target}`;
      chart.empty(`no coordinator for ${selection.target} right now: the next submission starts one`);
      details.clear(`target ${selection.target} has no coordinator right now`);
    } else {
      title.textContent = selection.sid;
      chart.empty('this actor is gone');
    }
    return;
  }
  const stopped = a.snapshot && a.snapshot.status && a.snapshot.status !== 'active';
  title.textContent = a.kind === 'operation' ? `operation ${a.opId} on ${a.target}`
    : a.kind === 'coordinator' ? `coordinator of ${a.target}${stopped ? ' (stopped after idle: the next submission starts a new one, shown here)' : ''}`
    : `${a.name}${a.app ? ' · ' + (store.apps.get(a.app)?.name ?? a.app) : ''}`;
  title.title = a.sid;
  const m = a.machine && store.machines.get(a.machine);
  const index = historyIndex(a);
  let drawn = false;
  if (m) {
    try {
      chart.show(a.machine, m.chart);
      drawn = true;
    } catch (err) {
      // A chart dagre cannot lay out must not stop the page.
      console.warn('inspector: cannot draw this statechart', err);
      chart.empty(`the statechart of ${a.name} could not be laid out`);
    }
  }
  const sig = `${chart.version}|${a.sid}|${a.machine}|${a.history.length}|${a.history.length ? a.history[a.history.length - 1].t : ''}|${index}|${drawn}`;
  if (m && drawn && sig !== chartSig) {
    chartSig = sig;
    const upTo = index === null ? a.history.length - 1 : index;
    const trail = [];
    for (let i = 0; i <= upTo; i++) {
      const v = a.history[i].value;
      if (v === undefined) continue;
      if (!trail.length || stateLabel(trail[trail.length - 1]) !== stateLabel(v)) trail.push(v);
    }
    const step = a.history[upTo];
    let last = null;
    if (step) {
      for (let i = upTo - 1; i >= 0; i--) {
        if (stateLabel(a.history[i].value) !== stateLabel(step.value)) {
          // The transition into the state this step is in.
          let j = i + 1;
          while (j < upTo && stateLabel(a.history[j].value) === stateLabel(a.history[i].value)) j++;
          last = { from: a.history[i].value, to: a.history[j].value, event: a.history[j].event && a.history[j].event.type };
          break;
        }
      }
    }
    chart.highlight(step ? step.value : a.snapshot && a.snapshot.value, trail, last);
    $('chart').dataset.sid = a.sid;
    $('chart').dataset.step = index === null ? 'live' : String(index);
  } else if (!m) {
    chart.empty(a.kind === 'child' || a.app ? `${a.name}: no statechart (not a state machine)` : 'no statechart for this actor');
    $('chart').dataset.sid = a.sid;
  }
  if (index !== null || now - lastDetails >= DETAILS_EVERY_MS) {
    lastDetails = now;
    details.render(a, { cursor: index, event: focusedEvent, run: store.run });
  } else if (!detailsTimer) {
    // Not now (it was just drawn), but soon: the pane never stays behind the chart.
    detailsTimer = setTimeout(() => {
      detailsTimer = 0;
      schedule();
    }, DETAILS_EVERY_MS - (now - lastDetails));
  }
}

function renderSequence(now) {
  if ($('seq-pane').hidden || now - lastSequence < SEQUENCE_EVERY_MS) return;
  lastSequence = now;
  const a = selectedActor();
  const target = selection && selection.type === 'target' ? selection.target : a && a.target;
  const sel = $('seq-window');
  if (target && store.targets.has(target)) {
    const t = store.targets.get(target);
    $('seq-title').textContent = `target ${target}: callers, its coordinator and its operations`;
    const windows = t.events.filter((e) => e.type === 'conflict.detected').slice(-30).reverse();
    const sig = `${target}|${windows.length ? windows[0].seq : ''}`;
    if (sel.dataset.sig !== sig) {
      sel.dataset.sig = sig;
      const keep = sel.value;
      sel.replaceChildren();
      const live = el('option', null, 'live: the latest 60 steps');
      live.value = '';
      sel.append(live);
      for (const w of windows) {
        const o = el('option', null, `window at ${clockTime(w.wall)} · ${(w.candidateIds || []).length} candidates`);
        o.value = String(w.seq);
        sel.append(o);
      }
      sel.value = [...sel.options].some((o) => o.value === keep) ? keep : '';
      seqWindow = sel.value === '' ? null : Number(sel.value);
    }
    sel.hidden = false;
    const processOf = (id) => store.processOf(id);
    sequence.render(sequenceRows(t.events, seqWindow === null ? { last: 60, processOf } : { windowSeq: seqWindow, processOf }), store.run && store.run.startedAt, `${target}|${seqWindow}`);
    return;
  }
  sel.hidden = true;
  if (a && a.app) {
    const events = store.appEvents.get(a.rootId) || [];
    $('seq-title').textContent = `events between the actors of ${store.apps.get(a.app)?.name ?? a.app}`;
    sequence.render(eventSequence(events, (sid) => store.actors.get(sid)?.name ?? short(sid), { last: 60 }), store.run && store.run.startedAt, a.rootId);
    return;
  }
  $('seq-title').textContent = '';
  sequence.clear('select a target, an operation or an app actor to see its sequence');
}

function render() {
  frame = 0;
  // Each view on its own: one that fails (hostile data, a layout bug) leaves the others working.
  for (const part of [renderTree, renderSelection, renderSequence, renderLog]) {
    try {
      part(performance.now());
    } catch (err) {
      console.warn('inspector: a view failed to render', err);
    }
  }
}

function renderLog(now) {
  if (now - lastLog < LOG_EVERY_MS) {
    if (!log.paused && store.log.nextSeq !== log.lastSeq) schedule();
    return;
  }
  lastLog = now;
  log.update();
  if (log.paused) renderPause();
}

function renderTree(now) {
  autoSelect();
  if (treeDirty || (store.structure !== structureSeen && now - lastTree >= TREE_EVERY_MS)) {
    lastTree = now;
    structureSeen = store.structure;
    treeDirty = false;
    if (selection && selection.type === 'actor' && !store.actors.has(selection.sid)) pin();
    const rows = rowsNow();
    tree.selectedId = selectedRowId();
    tree.setRows(rows, store);
    let ops = 0;
    for (const t of store.targets.values()) ops += t.ops.length;
    $('tree-count').textContent = store.run && store.run.mode === 'listen'
      ? `${store.apps.size} app${store.apps.size === 1 ? '' : 's'} · ${store.actors.size} actors`
      : `${store.targets.size} targets · ${ops} operations`;
  } else {
    if (now - lastRows >= ROWS_EVERY_MS) {
      lastRows = now;
      tree.render();
    }
    // Data changed but the rows wait for the next rebuild: come back for it.
    if (store.structure !== structureSeen) schedule();
  }
}

setInterval(() => {
  store.sweep(Date.now());
  schedule();
}, 1000);

// ---------------------------------------------------------------- connection
let retry = 0;
function connect() {
  const conn = $('conn');
  const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`);
  ws.addEventListener('open', () => {
    retry = 0;
    connected = true;
    document.body.classList.remove('offline');
    conn.dataset.state = 'open';
    conn.textContent = `live · ${location.host}`;
  });
  ws.addEventListener('message', (ev) => {
    let batch;
    try {
      batch = JSON.parse(ev.data);
    } catch {
      return;
    }
    if (batch && batch.type === 'arbiter.batch') onBatch(batch);
  });
  ws.addEventListener('close', () => {
    conn.dataset.state = 'closed';
    conn.textContent = 'disconnected · retrying';
    if (connected) {
      connected = false;
      document.body.classList.add('offline');
      if (store.run) banner(`The inspector server is gone: showing the last state of run ${store.run.runId.slice(0, 8)}; reconnecting…`, 'offline');
    }
    setTimeout(connect, Math.min(5000, 300 * 2 ** retry++));
  });
}

chart.empty('waiting for the first actors…');
details.clear('select an actor in the tree, or an event in the log');
sequence.clear('select a target, an operation or an app actor to see its sequence');
metrics.render(samples);
connect();
