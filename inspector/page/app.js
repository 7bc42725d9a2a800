// arbiter inspector page. Everything received is data: it only reaches the DOM through
// textContent, setAttribute and elements built with createElement / createElementNS, never as
// markup and never as code. State names and event payloads come from user machines.
'use strict';

(function main() {
  const SVG = 'http://www.w3.org/2000/svg';
  const FINAL_KEEP_MS = 8000;
  const OPS_PER_TARGET = 12;
  const LOG_ROWS = 400;
  const PAUSE_LIMIT = 5000;
  const EVENT_TYPES = [
    'operation.submitted', 'operation.staged', 'conflict.detected', 'conflict.resolved', 'operation.started',
    'operation.retrying', 'operation.preempted', 'operation.completed', 'operation.rejected',
  ];
  const CODE_COLORS = {
    'lost-arbitration': '#f0b429', preempted: '#c07cff', 'retries-exhausted': '#ff8f5f', 'execution-failed': '#ff5f6d',
    'staging-full': '#ff4fa3', 'no-winner': '#8a94a6', 'arbitration-failed': '#e5e56f', cancelled: '#9fb3c8',
    timeout: '#ffb86b', 'circuit-open': '#6fe5d8', shutdown: '#5c6b80',
  };

  /** @type {Map<string, any>} */ const actors = new Map();
  /** @type {Map<string, {chart: any, layout?: any}>} */ const machines = new Map();
  const opIndex = new Map(); // operation id → session id
  const targets = new Map(); // target → { li, coordEl, opsUl, coordSid, ops: Set<sid> }
  let selected = null;
  let samples = [];
  let dropped = 0;
  let options = null;

  const $ = (id) => document.getElementById(id);
  const el = (tag, cls, text) => {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  };
  const svg = (tag, attrs) => {
    const e = document.createElementNS(SVG, tag);
    for (const k in attrs || {}) e.setAttribute(k, String(attrs[k]));
    return e;
  };
  const short = (id) => (typeof id === 'string' && id.length > 18 ? '…' + id.slice(-8) : String(id ?? ''));
  const str = (v) => (typeof v === 'string' ? v : v === undefined ? '' : JSON.stringify(v));
  const topState = (value) => (typeof value === 'string' ? value : value && typeof value === 'object' ? Object.keys(value)[0] || '?' : '?');

  function activeIds(rootId, value) {
    const out = [];
    const walk = (prefix, v) => {
      if (typeof v === 'string') out.push(prefix + '.' + v);
      else if (v && typeof v === 'object') for (const k of Object.keys(v)) { out.push(prefix + '.' + k); walk(prefix + '.' + k, v[k]); }
    };
    walk(rootId, value);
    return out;
  }

  // ---------------------------------------------------------------- legend
  for (const [name, c] of [['pending', '--pending'], ['staged', '--staged'], ['executing', '--executing'], ['retrying', '--retrying'], ['completed', '--completed'], ['rejected', '--rejected']]) {
    const s = el('span', null, name);
    s.style.setProperty('--c', `var(${c})`);
    $('legend').append(s);
  }

  // ---------------------------------------------------------------- tree
  const treeRoot = el('li');
  const rootNode = el('div', 'node root');
  rootNode.append(el('span', 'dot'), el('span', null, 'arbiter'));
  const rootState = el('span', 'state', '');
  rootNode.append(rootState);
  const targetsUl = el('ul');
  treeRoot.append(rootNode, targetsUl);
  $('tree').append(treeRoot);

  function targetEntry(target) {
    let t = targets.get(target);
    if (t) return t;
    const li = el('li');
    li.dataset.target = target;
    const coordEl = el('div', 'node coord');
    coordEl.dataset.kind = 'coordinator';
    coordEl.dataset.target = target;
    coordEl.dataset.state = 'none';
    const label = el('span', 'name', target);
    const state = el('span', 'state', 'no coordinator');
    coordEl.append(el('span', 'dot'), el('span', 'prio', '⚖'), label, state);
    const opsUl = el('ul');
    li.append(coordEl, opsUl);
    // Keep targets sorted by name so the tree does not jump around.
    const after = [...targets.keys()].filter((k) => k > target).sort()[0];
    targetsUl.insertBefore(li, after ? targets.get(after).li : null);
    t = { li, coordEl, stateEl: state, opsUl, coordSid: null, ops: new Set() };
    coordEl.addEventListener('click', () => { if (t.coordSid) select(t.coordSid); });
    targets.set(target, t);
    return t;
  }

  function kindOf(a) {
    // A coordinator is a root, or a child of the root of a small system grouping coordinators.
    const group = a.parentId && actors.get(a.parentId);
    if (a.name === 'coordinator' && (!a.parentId || (group && group.name === 'coordinators'))) return 'coordinator';
    const ctx = a.snapshot && a.snapshot.context;
    // An operation is a child of its coordinator (or a root, when refused before reaching one).
    const parent = a.parentId && actors.get(a.parentId);
    const underCoordinator = !a.parentId || (parent && parent.name === 'coordinator');
    if (underCoordinator && ctx && typeof ctx.target === 'string' && typeof ctx.id === 'string') return 'operation';
    if (a.parentId) return 'child';
    return 'other';
  }

  function upsertActor(sid, patch) {
    let a = actors.get(sid);
    if (!a) {
      a = { sid, parentId: undefined, rootId: undefined, name: undefined, snapshot: undefined, trail: [], last: null, lastEvent: null, finishedAt: 0, el: null, children: new Set() };
      actors.set(sid, a);
    }
    Object.assign(a, patch);
    return a;
  }

  function placeActor(a) {
    const kind = kindOf(a);
    a.kind = kind;
    const ctx = (a.snapshot && a.snapshot.context) || {};
    if (kind === 'coordinator' && typeof ctx.target === 'string') {
      const t = targetEntry(ctx.target);
      a.target = ctx.target;
      if (t.coordSid !== a.sid) {
        const old = t.coordSid && actors.get(t.coordSid);
        if (old) actors.delete(old.sid);
        t.coordSid = a.sid;
        t.coordEl.dataset.sid = a.sid;
      }
      a.el = t.coordEl;
    } else if (kind === 'operation' && !a.el) {
      const t = targetEntry(ctx.target);
      a.target = ctx.target;
      a.opId = ctx.id;
      opIndex.set(ctx.id, a.sid);
      const li = el('li');
      const node = el('div', 'node op');
      node.dataset.kind = 'operation';
      node.dataset.sid = a.sid;
      node.dataset.op = ctx.id;
      node.append(el('span', 'dot'), el('span', 'name', short(ctx.id)), el('span', 'prio', `${ctx.type ?? ''} P${ctx.effectivePriority ?? ctx.priority ?? '?'}`), el('span', 'state', ''));
      node.title = `${ctx.id} · ${ctx.type ?? ''} · priority ${ctx.priority ?? '?'}`;
      node.addEventListener('click', () => select(a.sid));
      const kids = el('ul');
      li.append(node, kids);
      t.opsUl.prepend(li);
      t.ops.add(a.sid);
      a.el = node;
      a.li = li;
      a.kidsUl = kids;
      trimTarget(t);
    } else if (kind === 'child' && !a.el) {
      const parent = actors.get(a.parentId);
      if (!parent || !parent.kidsUl) return;
      parent.children.add(a.sid);
      const li = el('li');
      const node = el('div', 'node child');
      node.dataset.kind = 'child';
      node.dataset.sid = a.sid;
      node.append(el('span', 'dot'), el('span', 'name', a.name || 'actor'), el('span', 'state', ''));
      node.addEventListener('click', () => select(a.sid));
      li.append(node);
      parent.kidsUl.append(li);
      a.el = node;
      a.li = li;
    }
  }

  function trimTarget(t) {
    if (t.ops.size <= OPS_PER_TARGET) return;
    // Drop the oldest finished operations first, then the oldest at all.
    const list = [...t.ops].map((s) => actors.get(s)).filter(Boolean);
    list.sort((x, y) => (x.finishedAt ? 0 : 1) - (y.finishedAt ? 0 : 1) || (x.finishedAt || x.seen) - (y.finishedAt || y.seen));
    for (const a of list.slice(0, t.ops.size - OPS_PER_TARGET)) removeActor(a);
    let more = t.opsUl.querySelector(':scope > .more');
    t.hidden = (t.hidden || 0) + 1;
    if (!more) { more = el('li', 'more'); t.opsUl.append(more); }
    more.textContent = 'older operations hidden';
  }

  function removeActor(a) {
    for (const c of a.children) { const ca = actors.get(c); if (ca) removeActor(ca); }
    if (a.li) a.li.remove();
    actors.delete(a.sid);
    if (a.opId && opIndex.get(a.opId) === a.sid) opIndex.delete(a.opId);
    const t = a.target !== undefined && targets.get(a.target);
    if (t) t.ops.delete(a.sid);
    if (selected === a.sid) { /* keep the chart of a removed actor visible until another is chosen */ }
  }

  function renderNode(a) {
    if (!a.el) return;
    const snap = a.snapshot || {};
    const state = snap.status && snap.status !== 'active' && a.kind === 'child' ? snap.status : topState(snap.value);
    a.el.dataset.state = a.kind === 'child' && snap.value === undefined ? (snap.status || 'active') : state;
    const stateEl = a.el.querySelector('.state');
    if (a.kind === 'coordinator') {
      const ctx = snap.context || {};
      const stagedN = Array.isArray(ctx.staged) ? ctx.staged.length : 0;
      stateEl.textContent = `${state}${stagedN ? ' · ' + stagedN + ' staged' : ''}`;
    } else if (stateEl) {
      const ctx = snap.context || {};
      stateEl.textContent = a.el.dataset.state;
      if (ctx.code) a.el.title = `${ctx.id} · ${ctx.code}: ${ctx.reason ?? ''}`;
    }
    a.el.classList.toggle('final', snap.status === 'done' || snap.status === 'stopped' || snap.status === 'error');
    a.el.classList.toggle('selected', selected === a.sid);
  }

  // ---------------------------------------------------------------- messages
  function onActor(m) {
    const a = upsertActor(m.sessionId, { parentId: m.parentId, rootId: m.rootId, name: m.name, snapshot: m.snapshot, seen: Date.now() });
    if (!a.trail.length && m.snapshot && m.snapshot.value !== undefined) a.trail.push(topState(m.snapshot.value));
    placeActor(a);
    dirty.add(a.sid);
  }

  function onSnapshot(m) {
    const a = actors.get(m.sessionId) || upsertActor(m.sessionId, { seen: Date.now() });
    const prev = a.snapshot;
    a.snapshot = m.snapshot;
    if (!a.el) placeActor(a);
    const eventType = m.event && typeof m.event.type === 'string' ? m.event.type : '';
    const before = prev ? topState(prev.value) : null;
    const now = topState(m.snapshot && m.snapshot.value);
    if (prev && JSON.stringify(prev.value) !== JSON.stringify(m.snapshot.value)) {
      a.last = { from: prev.value, to: m.snapshot.value, event: eventType };
    }
    if (a.trail[a.trail.length - 1] !== now) a.trail.push(now);
    if (a.trail.length > 30) a.trail.shift();
    if (m.snapshot && m.snapshot.status !== 'active' && !a.finishedAt) a.finishedAt = Date.now();
    void before;
    dirty.add(a.sid);
  }

  function onLive(m) {
    if (m.truncated) return;
    const alive = new Set(m.sessionIds);
    for (const a of actors.values()) {
      if (!alive.has(a.sid) && !a.finishedAt && (a.kind === 'operation' || a.kind === 'coordinator' || a.kind === 'child')) {
        a.finishedAt = Date.now();
        a.snapshot = Object.assign({}, a.snapshot, { status: a.snapshot && a.snapshot.status === 'active' ? 'stopped' : (a.snapshot || {}).status });
        dirty.add(a.sid);
      }
    }
  }

  function onBatch(batch) {
    if (batch.hello) {
      options = batch.hello.options;
      samples = Array.isArray(batch.hello.metrics) ? batch.hello.metrics.slice(-120) : [];
      renderMetrics();
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
        switch (m.type) {
          case 'arbiter.machine': machines.set(String(m.key), { chart: m.chart }); break;
          case '@xstate.actor': onActor(m); break;
          case '@xstate.snapshot': onSnapshot(m); break;
          case '@xstate.event': onXEvent(m); break;
          case 'arbiter.event': onArbiterEvent(m.event); break;
          case 'arbiter.live': onLive(m); break;
          default: break;
        }
      } catch (err) {
        console.warn('inspector: skipped a message', err);
      }
    }
    if (Array.isArray(batch.metrics) && batch.metrics.length) {
      samples = samples.concat(batch.metrics).slice(-120);
      renderMetrics();
    }
    schedule();
  }

  // ---------------------------------------------------------------- rendering loop
  const dirty = new Set();
  let frame = 0;
  function schedule() { if (!frame) frame = requestAnimationFrame(render); }
  function render() {
    frame = 0;
    for (const sid of dirty) {
      const a = actors.get(sid);
      if (a) renderNode(a);
      if (sid === selected) renderSelected();
    }
    dirty.clear();
    let ops = 0;
    for (const t of targets.values()) ops += t.ops.size;
    $('tree-count').textContent = `${targets.size} targets · ${ops} operations`;
    rootState.textContent = options ? `window ${options.windowMs} ms · ${options.whileExecuting}` : '';
  }

  setInterval(() => {
    // Forget finished operations after a while; coordinators that stopped leave their target row.
    const now = Date.now();
    for (const a of [...actors.values()]) {
      if (a.finishedAt && now - a.finishedAt > FINAL_KEEP_MS && a.sid !== selected) {
        if (a.kind === 'coordinator') {
          const t = targets.get(a.target);
          if (t && t.coordSid === a.sid) {
            t.coordSid = null;
            t.coordEl.dataset.state = 'none';
            t.stateEl.textContent = 'no coordinator';
            if (t.ops.size === 0) { t.li.remove(); targets.delete(a.target); }
          }
          actors.delete(a.sid);
        } else if (a.kind !== 'child') removeActor(a);
      }
    }
    schedule();
  }, 1000);

  // ---------------------------------------------------------------- statechart
  function layoutOf(key) {
    const m = machines.get(key);
    if (!m) return null;
    if (m.layout) return m.layout;
    const chart = m.chart;
    const g = new dagre.graphlib.Graph({ multigraph: true, compound: true });
    g.setGraph({ rankdir: 'LR', nodesep: 28, ranksep: 70, edgesep: 14, marginx: 16, marginy: 16 });
    g.setDefaultEdgeLabel(() => ({}));
    const parents = new Set(chart.nodes.map((n) => n.parent).filter(Boolean));
    for (const n of chart.nodes) {
      const label = n.key === '*' ? 'any state' : n.key;
      g.setNode(n.id, { label, width: Math.max(74, label.length * 7.6 + 26), height: 34, type: n.type, initial: n.initial, compound: parents.has(n.id) });
    }
    for (const n of chart.nodes) if (n.parent) g.setParent(n.id, n.parent);
    for (const e of chart.edges) {
      if (!g.hasNode(e.source) || !g.hasNode(e.target)) continue;
      g.setEdge(e.source, e.target, { label: e.label, width: e.label.length * 6.3 + 6, height: 14, labelpos: 'c', edge: e }, e.id);
    }
    dagre.layout(g);
    m.layout = g;
    return g;
  }

  function pathOf(points) {
    if (!points || !points.length) return '';
    let d = `M${points[0].x},${points[0].y}`;
    if (points.length === 2) return d + ` L${points[1].x},${points[1].y}`;
    for (let i = 1; i < points.length - 1; i++) {
      const p = points[i], q = points[i + 1];
      const mx = i === points.length - 2 ? q.x : (p.x + q.x) / 2;
      const my = i === points.length - 2 ? q.y : (p.y + q.y) / 2;
      d += ` Q${p.x},${p.y} ${mx},${my}`;
    }
    return d;
  }

  let drawn = null; // { sid, key, nodes: Map<id, g>, edges: [{ g, edge }] }

  function drawChart(a) {
    const chartEl = $('chart');
    chartEl.replaceChildren();
    chartEl.dataset.sid = a.sid;
    drawn = null;
    const key = a.name;
    const g = key && layoutOf(key);
    if (!g) {
      chartEl.append(el('div', 'empty', a.kind === 'child' ? `${a.name || 'actor'}: an invoked actor (no statechart)` : 'no statechart for this actor'));
      drawn = { sid: a.sid, key: null, nodes: new Map(), edges: [] };
      return;
    }
    const gi = g.graph();
    // Padding above for self-transition loops.
    const root = svg('svg', { viewBox: `-10 -40 ${Math.ceil(gi.width) + 20} ${Math.ceil(gi.height) + 50}`, preserveAspectRatio: 'xMidYMid meet', role: 'img' });
    const defs = svg('defs');
    for (const [id, cls] of [['arrow', 'sc-arrow'], ['arrow-last', 'sc-arrow-last']]) {
      const marker = svg('marker', { id, viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' });
      marker.append(svg('path', { d: 'M0,0 L10,5 L0,10 z', class: cls }));
      defs.append(marker);
    }
    root.append(defs);
    const nodes = new Map();
    // Compound states first so their children are drawn on top.
    const ids = g.nodes().slice().sort((x, y) => (g.children(y).length ? 1 : 0) - (g.children(x).length ? 1 : 0));
    for (const id of ids) {
      const n = g.node(id);
      if (!n) continue;
      const grp = svg('g', { class: `sc-node ${n.type}${n.compound ? ' compound' : ''}` });
      grp.dataset.stateId = id;
      const r = svg('rect', { x: n.x - n.width / 2, y: n.y - n.height / 2, width: n.width, height: n.height, rx: n.type === 'final' ? 17 : 7 });
      const t = svg('text', { x: n.x, y: n.compound ? n.y - n.height / 2 + 14 : n.y + 4, 'text-anchor': 'middle' });
      t.textContent = n.label;
      grp.append(r, t);
      if (n.initial) grp.append(svg('circle', { cx: n.x - n.width / 2 - 9, cy: n.y, r: 4, class: 'initial-marker' }));
      root.append(grp);
      nodes.set(id, grp);
    }
    const edges = [];
    const loops = new Map();
    for (const e of g.edges()) {
      const lab = g.edge(e);
      const grp = svg('g', { class: 'sc-edge' });
      grp.dataset.event = lab.edge.event;
      let d = pathOf(lab.points);
      let lx = lab.x, ly = lab.y + 3;
      if (e.v === e.w) {
        // A self-transition: a loop over the top of its state.
        const n = g.node(e.v);
        const top = n.y - n.height / 2;
        const k = (loops.get(e.v) || 0) + 1;
        loops.set(e.v, k);
        const h = 18 + 14 * k;
        d = `M${n.x - 14},${top} C${n.x - 30},${top - h} ${n.x + 30},${top - h} ${n.x + 14},${top}`;
        lx = n.x;
        ly = top - 0.75 * h - 4;
      }
      const p = svg('path', { d, 'marker-end': 'url(#arrow)' });
      const t = svg('text', { x: lx, y: ly, 'text-anchor': 'middle' });
      t.textContent = lab.label;
      grp.append(p, t);
      root.append(grp);
      edges.push({ g: grp, path: p, edge: lab.edge });
    }
    chartEl.append(root);
    drawn = { sid: a.sid, key, nodes, edges, rootId: machines.get(key).chart.rootId };
  }

  function highlight(a) {
    if (!drawn || !drawn.key) return;
    const value = a.snapshot && a.snapshot.value;
    const active = new Set(activeIds(drawn.rootId, value));
    for (const [id, grp] of drawn.nodes) grp.classList.toggle('active', active.has(id));
    let lastEdge = null;
    if (a.last) {
      const from = new Set(activeIds(drawn.rootId, a.last.from));
      const to = new Set(activeIds(drawn.rootId, a.last.to));
      const anyId = drawn.rootId + '.*';
      const candidates = drawn.edges.filter((x) => (from.has(x.edge.source) || x.edge.source === anyId) && to.has(x.edge.target));
      lastEdge = candidates.find((x) => x.edge.event === a.last.event) || candidates.find((x) => x.edge.source !== anyId) || candidates[0] || null;
    }
    for (const x of drawn.edges) {
      const on = x === lastEdge;
      x.g.classList.toggle('last', on);
      x.path.setAttribute('marker-end', on ? 'url(#arrow-last)' : 'url(#arrow)');
    }
    const chartEl = $('chart');
    const state = topState(value);
    chartEl.dataset.state = state;
    chartEl.dataset.trail = a.trail.join(' ');
  }

  function renderDetails(a) {
    const d = $('details');
    d.replaceChildren();
    const snap = a.snapshot || {};
    const ctx = snap.context || {};
    const rows = [['actor', `${a.name || '?'} (${a.kind}) ${a.sid}`], ['status', snap.status], ['state', str(snap.value)]];
    if (a.last) rows.push(['last transition', `${topState(a.last.from)} → ${topState(a.last.to)} on ${a.last.event || '(eventless)'}`]);
    if (a.lastEvent) rows.push(['last event', a.lastEvent]);
    for (const k of ['id', 'target', 'type', 'priority', 'effectivePriority', 'attempt', 'maxRetries', 'code', 'reason', 'windows', 'windowMs', 'whileExecuting']) {
      if (ctx[k] !== undefined && ctx[k] !== null) rows.push([k, str(ctx[k])]);
    }
    if (a.kind === 'coordinator') {
      rows.push(['staged', Array.isArray(ctx.staged) ? ctx.staged.map((e) => short(Array.isArray(e) ? e[0] : e)).join(' ') || '—' : '—']);
      rows.push(['holding', Array.isArray(ctx.holders) ? ctx.holders.map((e) => short(Array.isArray(e) ? e[0] : e)).join(' ') || '—' : '—']);
    }
    if (ctx.data !== undefined) rows.push(['data', str(ctx.data)]);
    if (snap.error !== undefined) rows.push(['error', str(snap.error)]);
    for (const [k, v] of rows) d.append(el('div', 'k', k), el('div', 'v', v ?? ''));
  }

  function renderSelected() {
    const a = actors.get(selected);
    if (!a) return;
    if (!drawn || drawn.sid !== a.sid || (drawn.key === null && machines.has(a.name))) drawChart(a);
    $('chart-title').textContent = a.kind === 'operation' ? `operation ${a.opId} on ${a.target}` : a.kind === 'coordinator' ? `coordinator of ${a.target}` : a.name || a.sid;
    highlight(a);
    renderDetails(a);
  }

  function select(sid) {
    const prev = selected && actors.get(selected);
    selected = sid;
    if (prev && prev.el) prev.el.classList.remove('selected');
    const a = actors.get(sid);
    if (!a) return;
    if (a.el) { a.el.classList.add('selected'); a.el.scrollIntoView({ block: 'nearest' }); }
    for (const tr of $('log-body').children) tr.classList.toggle('sel', tr.dataset.sid === sid || (a.opId && tr.dataset.op === a.opId));
    drawn = null;
    renderSelected();
  }

  // ---------------------------------------------------------------- event log
  const typeSel = $('f-type');
  for (const t of EVENT_TYPES) { const o = el('option', null, t); o.value = t; typeSel.append(o); }
  let paused = false;
  let held = [];
  let heldDropped = 0;
  let logTotal = 0;

  function filters() {
    return { target: $('f-target').value.trim(), op: $('f-op').value.trim(), type: typeSel.value, xstate: $('f-xstate').checked };
  }
  function matches(row, f) {
    if (row.xstate && !f.xstate) return false;
    if (f.target && !String(row.target || '').includes(f.target)) return false;
    if (f.op && !String(row.op || '').includes(f.op)) return false;
    if (f.type && row.type !== f.type) return false;
    return true;
  }

  function detailOf(e) {
    switch (e.type) {
      case 'conflict.detected': return `${(e.candidateIds || []).length} candidates`;
      case 'conflict.resolved': return `winner ${e.winnerId ? short(e.winnerId) : 'none'} (${e.decision}) · ${(e.loserIds || []).length} rejected · ${((e.durationMs || 0) * 1000).toFixed(0)} µs`;
      case 'operation.submitted': return `${e.operationType} P${e.priority}${e.effectivePriority !== e.priority ? ' (eff. ' + e.effectivePriority + ')' : ''}`;
      case 'operation.started': return `attempt ${e.attempt}`;
      case 'operation.retrying': return `attempt ${e.attempt}: ${e.reason}`;
      case 'operation.preempted': return e.reason;
      case 'operation.completed': return `${(e.durationMs || 0).toFixed(1)} ms`;
      case 'operation.rejected': return `${e.code}: ${e.reason}`;
      default: return '';
    }
  }

  function onArbiterEvent(e) {
    if (!e || typeof e.type !== 'string') return;
    addRow({ at: e.at, type: e.type, target: e.target, op: e.operationId || (e.type === 'conflict.resolved' ? e.winnerId : '') || '', detail: detailOf(e), xstate: false });
  }

  function onXEvent(m) {
    const a = actors.get(m.sessionId);
    const type = m.event && typeof m.event.type === 'string' ? m.event.type : '?';
    if (a) { a.lastEvent = type; if (a.sid === selected) dirty.add(a.sid); }
    if (!$('f-xstate').checked) return;
    addRow({ at: '', type, target: a ? a.target : '', op: a && a.opId ? a.opId : '', sid: m.sessionId, detail: `→ ${a ? a.name || a.kind : m.sessionId}`, xstate: true });
  }

  function addRow(row) {
    logTotal++;
    if (paused) {
      held.push(row);
      if (held.length > PAUSE_LIMIT) { held.shift(); heldDropped++; }
      $('pause').textContent = `Resume (${held.length}${heldDropped ? ' +' + heldDropped + ' dropped' : ''})`;
      return;
    }
    appendRow(row);
  }

  function appendRow(row) {
    if (!matches(row, filters())) return;
    const tr = el('tr');
    tr.dataset.type = row.type;
    tr.dataset.target = row.target || '';
    tr.dataset.op = row.op || '';
    if (row.sid) tr.dataset.sid = row.sid;
    tr.className = row.xstate ? 't-xstate' : 't-' + row.type.replace('.', '-');
    tr.append(
      el('td', null, typeof row.at === 'number' ? row.at.toFixed(1) : row.at),
      el('td', null, row.type), el('td', null, row.target || ''), el('td', null, short(row.op)), el('td', null, row.detail));
    tr.title = row.detail;
    tr.addEventListener('click', () => {
      const sid = row.sid || (row.op && opIndex.get(row.op)) || (row.target && targets.get(row.target) && targets.get(row.target).coordSid);
      if (sid) select(sid);
    });
    const body = $('log-body');
    body.prepend(tr);
    while (body.children.length > LOG_ROWS) body.lastElementChild.remove();
    $('log-count').textContent = `${logTotal.toLocaleString()} received`;
  }

  $('pause').addEventListener('click', () => {
    paused = !paused;
    $('pause').classList.toggle('on', paused);
    if (!paused) {
      const rows = held;
      held = [];
      heldDropped = 0;
      for (const r of rows.slice(-LOG_ROWS)) appendRow(r);
      $('pause').textContent = 'Pause';
    } else $('pause').textContent = 'Resume (0)';
  });
  $('clear').addEventListener('click', () => $('log-body').replaceChildren());
  for (const id of ['f-target', 'f-op', 'f-type', 'f-xstate']) {
    $(id).addEventListener('input', () => {
      const f = filters();
      for (const tr of $('log-body').children) {
        const row = { type: tr.dataset.type, target: tr.dataset.target, op: tr.dataset.op, xstate: tr.classList.contains('t-xstate') };
        tr.hidden = !matches(row, f);
      }
    });
  }

  // ---------------------------------------------------------------- metrics
  function chart(title, series, unit, fmt) {
    const box = el('div', 'metric');
    const head = el('div', 'head');
    const latest = series.length ? series[0].values[series[0].values.length - 1] : null;
    const value = el('b', null, latest === null || latest === undefined ? '—' : fmt(latest) + unit);
    head.append(el('span', null, title), value);
    const W = 240, H = 46, pad = 3;
    const s = svg('svg', { viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: 'none' });
    let max = 0;
    for (const ser of series) for (const v of ser.values) if (typeof v === 'number' && v > max) max = v;
    max = max || 1;
    for (const ser of series) {
      const n = ser.values.length;
      if (!n) continue;
      const pts = ser.values.map((v, i) => `${((i / Math.max(1, n - 1)) * (W - 2 * pad) + pad).toFixed(1)},${(H - pad - ((typeof v === 'number' ? v : 0) / max) * (H - 2 * pad)).toFixed(1)}`);
      if (series.length === 1) s.append(svg('polygon', { points: `${pad},${H - pad} ${pts.join(' ')} ${W - pad},${H - pad}`, class: 'area', fill: ser.color }));
      s.append(svg('polyline', { points: pts.join(' '), stroke: ser.color }));
    }
    box.append(head, s);
    return box;
  }

  function renderMetrics() {
    const m = $('metrics');
    m.replaceChildren();
    const last = samples[samples.length - 1];
    const col = (f) => samples.map(f);
    const num = (v) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
    m.append(
      chart('throughput (final ops)', [{ values: col((x) => x.throughput), color: '#3ecf8e' }], '/s', num),
      chart('submitted', [{ values: col((x) => x.submittedPerSec), color: '#5cc8ff' }], '/s', num),
      chart('conflicts', [{ values: col((x) => x.conflictsPerSec), color: '#f0b429' }], '/s', num),
    );
    const codes = new Set();
    for (const x of samples) for (const c of Object.keys(x.rejectedByCode || {})) codes.add(c);
    const series = [...codes].map((c) => ({ code: c, values: col((x) => (x.rejectedByCode || {})[c] || 0), color: CODE_COLORS[c] || '#aaa' }));
    const rej = chart('rejections by code', series.length ? series : [{ values: col((x) => x.rejectedPerSec), color: '#ff5f6d' }], '/s', num);
    rej.querySelector('.head b').textContent = last ? num(last.rejectedPerSec) + '/s' : '—';
    const legend = el('div', 'codes');
    for (const ser of series) {
      const sp = el('span', null, `${ser.code} ${num(ser.values[ser.values.length - 1] || 0)}`);
      sp.style.setProperty('--c', ser.color);
      legend.append(sp);
    }
    rej.append(legend);
    m.append(rej);
    m.append(chart('p99 decision latency', [{ values: col((x) => x.p99DecisionMs ?? 0), color: '#c07cff' }], ' ms', num));
    m.append(chart('p99 arbitration time', [{ values: col((x) => x.p99ResolutionUs ?? 0), color: '#6fe5d8' }], ' µs', num));
    m.append(chart('in flight', [{ values: col((x) => x.inFlight), color: '#8a94a6' }], '', (v) => v.toFixed(0)));
    if (last) {
      const t = last.totals;
      const totals = $('totals');
      totals.replaceChildren();
      for (const [k, v] of [['submitted', t.submitted], ['completed', t.completed], ['rejected', t.rejected], ['in flight', t.inFlight], ['conflicts', t.conflicts], ['coordinators', t.coordinators]]) {
        const s = el('span', null, k + ' ');
        s.append(el('b', null, Number(v).toLocaleString()));
        totals.append(s);
      }
    }
  }

  // ---------------------------------------------------------------- connection
  let retry = 0;
  function connect() {
    const conn = $('conn');
    const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`);
    ws.addEventListener('open', () => { retry = 0; conn.dataset.state = 'open'; conn.textContent = `live · ${location.host}`; });
    ws.addEventListener('message', (ev) => {
      let batch;
      try { batch = JSON.parse(ev.data); } catch { return; }
      if (batch && batch.type === 'arbiter.batch') onBatch(batch);
    });
    ws.addEventListener('close', () => {
      conn.dataset.state = 'closed';
      conn.textContent = 'disconnected · retrying';
      setTimeout(connect, Math.min(5000, 300 * 2 ** retry++));
    });
  }
  renderMetrics();
  connect();
})();
