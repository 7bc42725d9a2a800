// The inspector page's state, without the DOM: actors, targets, apps, histories, the event log and
// the sequence rows, built from the server's batches. Pure enough to be tested in Node (see
// test/inspector/page-model.test.ts); every value comes from the network and is treated as data.
'use strict';

const collator = new Intl.Collator('en', { numeric: true });

/** Natural order: `account-2` before `account-10`; ties broken by exact code units (ids are case-sensitive). */
export function naturalCompare(a, b) {
  const c = collator.compare(a, b);
  return c !== 0 ? c : a < b ? -1 : a > b ? 1 : 0;
}

/** The top-level state of a snapshot value (`'staged'`, `{ a: 'b' }` → `'a'`). */
export function topState(value) {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object') return Object.keys(value)[0] || '?';
  return '?';
}

/** A readable state path: `'staged'`, `{ a: 'b' }` → `'a.b'`, parallel regions joined with ` | `. */
export function stateLabel(value) {
  if (typeof value === 'string') return value;
  if (!value || typeof value !== 'object') return '';
  return Object.keys(value)
    .map((k) => {
      const sub = stateLabel(value[k]);
      return sub ? `${k}.${sub}` : k;
    })
    .join(' | ');
}

/** State node ids active for `value` under a machine whose root id is `rootId`. */
export function activeIds(rootId, value) {
  const out = [];
  const walk = (prefix, v) => {
    if (typeof v === 'string') out.push(prefix + '.' + v);
    else if (v && typeof v === 'object') for (const k of Object.keys(v)) { out.push(prefix + '.' + k); walk(prefix + '.' + k, v[k]); }
  };
  walk(rootId, value);
  return out;
}

const str = (v) => (typeof v === 'string' ? v : '');
const num = (v, fallback) => {
  const n = Number(v);
  return Number.isFinite(n) ? n : fallback;
};
const short = (id) => (typeof id === 'string' && id.length > 18 ? '…' + id.slice(-8) : String(id ?? ''));
// A process id as a backend names it (`host:pid:random`, or a number): a short string, or null.
const processName = (v) => (typeof v === 'string' && v.length > 0 && v.length <= 200 ? v : typeof v === 'number' && Number.isFinite(v) ? String(v) : null);
// Rejections decided by the coordinator (an arrow from it), not by the operation's own run.
const BY_COORDINATOR = new Set(['lost-arbitration', 'no-winner', 'arbitration-failed', 'staging-full', 'preempted', 'backend-unavailable']);
const PROCESS_LIMIT = 5000;
// Event payloads kept for the snapshots that name them (a snapshot follows its event within a batch or two).
const EVENT_PAYLOADS = 2000;

/** What the event log shows for an arbiter event. */
export function detailOf(e) {
  switch (e.type) {
    case 'conflict.detected': return `window closed: ${(e.candidateIds || []).length} candidates`;
    case 'conflict.resolved': return e.winnerId
      ? `winner ${short(e.winnerId)} (${e.decision}) · ${(e.loserIds || []).length} rejected${e.requeuedIds && e.requeuedIds.length ? ` · ${e.requeuedIds.length} stay staged` : ''} · ${(num(e.durationMs, 0) * 1000).toFixed(0)} µs`
      : `no winner (${e.code || e.decision}) · ${(e.loserIds || []).length} rejected`;
    case 'operation.submitted': return `${e.operationType} P${e.priority}${e.effectivePriority !== e.priority ? ' (inherits P' + e.effectivePriority + ')' : ''}`;
    case 'operation.staged': return `staged P${e.effectivePriority ?? e.priority}`;
    case 'operation.started': return `attempt ${e.attempt}`;
    case 'operation.retrying': return `attempt ${e.attempt}: ${e.reason}`;
    case 'operation.preempted': return e.reason;
    case 'operation.completed': return `${num(e.durationMs, 0).toFixed(1)} ms`;
    case 'operation.rejected': return `${e.code}: ${e.reason}`;
    case 'operation.won': return `won P${e.priority}`;
    case 'operation.requeued': return `lost to ${short(e.winnerId)}, stays staged (${e.losses} lost)`;
    case 'operation.promoted': return e.ok === false ? 'record store failed' : `record ${num(e.durationMs, 0).toFixed(2)} ms`;
    case 'operation.protected': return `grace period: ${short(e.byId)} (P${e.byPriority}) waits, held ${num(e.ageMs, 0).toFixed(0)} of ${e.gracePeriodMs} ms`;
    case 'coordinator.started': return 'coordinator started';
    case 'coordinator.stopped': return `coordinator stopped (${e.reason})`;
    case 'coordinator.failed': return `coordinator failed: ${e.reason} (${e.rejected} ended)`;
    case 'arbitration.timedOut': return `selectWinner took ${num(e.durationMs, 0).toFixed(0)} ms (over ${e.timeoutMs})`;
    case 'cleanup.completed': return 'record removed';
    case 'cleanup.failed': return `cleanup failed: ${e.error}`;
    default: return '';
  }
}

/**
 * The sequence diagram of one target's arbiter events: lanes for the callers that submit, the
 * coordinator and each operation, and one row per step (submit, staged, window closed, winner,
 * rejection with its code, preemption, retry, start, completion). With `windowSeq`, only the
 * window whose `conflict.detected` has that `seq` and what its candidates did afterwards. With
 * `processOf(operationId)` (see {@link Store#processOf}), `remote` (a Map) gives each operation
 * lane that runs in another process (a shared backend) that process's id.
 */
export function sequenceRows(events, options = {}) {
  const maxLanes = options.maxLanes ?? 8;
  let list = events;
  if (options.windowSeq !== undefined) {
    const detected = events.find((e) => e.type === 'conflict.detected' && e.seq === options.windowSeq);
    if (!detected) return { lanes: [], rows: [] };
    const ids = new Set(detected.candidateIds || []);
    list = events.filter((e) => e.seq >= 0 && (e.seq === detected.seq || ids.has(e.operationId) || (e.type === 'conflict.resolved' && (e.candidateIds || []).some((c) => ids.has(c)) && e.seq > detected.seq && e.seq < detected.seq + 10_000)));
    // Only the resolution of this window (the first after its detection).
    const resolvedAt = list.findIndex((e) => e.type === 'conflict.resolved');
    list = list.filter((e, i) => e.type !== 'conflict.resolved' || i === resolvedAt);
  } else if (options.last !== undefined) {
    list = events.slice(-options.last);
  }
  const ops = [];
  for (const e of list) {
    const id = e.operationId || (e.type === 'conflict.resolved' ? e.winnerId : undefined);
    if (id && !ops.includes(id)) ops.push(id);
  }
  const shown = ops.slice(-maxLanes);
  const lanes = ['callers', 'coordinator', ...shown];
  const remote = new Map();
  if (typeof options.processOf === 'function') {
    for (const id of shown) {
      const p = options.processOf(id);
      if (p) remote.set(id, p);
    }
  }
  const lane = (id) => (shown.includes(id) ? id : null);
  const rows = [];
  const add = (e, from, to, label, cls) => {
    if (from === null || to === null) return;
    rows.push({ seq: e.seq, t: e.wall ?? e.at, from, to, label, cls, event: e });
  };
  // A window without rivals has no conflict.resolved: its operation.won draws the winner arrow.
  const resolvedWinners = new Set(list.filter((e) => e.type === 'conflict.resolved' && e.winnerId).map((e) => e.winnerId));
  for (const e of list) {
    const op = e.operationId;
    switch (e.type) {
      case 'operation.won': if (!resolvedWinners.has(op)) add(e, 'coordinator', lane(op), 'winner (no rival)', 'winner'); break;
      case 'operation.submitted': add(e, 'callers', lane(op), `submit ${e.operationType ?? ''} P${e.priority}`, 'submit'); break;
      case 'operation.staged': add(e, lane(op), 'coordinator', 'staged', 'staged'); break;
      case 'conflict.detected': add(e, 'coordinator', 'coordinator', `window closed: ${(e.candidateIds || []).length} candidates`, 'window'); break;
      case 'conflict.resolved':
        if (e.winnerId) add(e, 'coordinator', lane(e.winnerId), `winner${e.decision === 'hold' ? ' (target busy: waits)' : ''}`, 'winner');
        else add(e, 'coordinator', 'coordinator', `no winner: ${e.code ?? e.decision}`, 'rejected');
        break;
      case 'operation.rejected': {
        const byCoordinator = BY_COORDINATOR.has(e.code);
        add(e, byCoordinator ? 'coordinator' : lane(op), lane(op), `rejected ${e.code}`, 'rejected');
        add(e, lane(op), 'callers', `✗ ${e.code}`, 'reply-rejected');
        break;
      }
      case 'operation.preempted': add(e, 'coordinator', lane(op), `preempt (by ${short(e.byId)})`, 'preempt'); break;
      case 'operation.requeued': add(e, 'coordinator', lane(op), `lost, stays staged (${e.losses})`, 'rejected'); break;
      case 'operation.protected': add(e, 'coordinator', lane(op), `grace period protects it from ${short(e.byId)}`, 'preempt'); break;
      case 'coordinator.started': add(e, 'coordinator', 'coordinator', 'coordinator started', 'window'); break;
      case 'coordinator.stopped': add(e, 'coordinator', 'coordinator', `coordinator stopped (${e.reason})`, 'window'); break;
      case 'coordinator.failed': add(e, 'coordinator', 'coordinator', `coordinator failed: ${e.reason}`, 'rejected'); break;
      case 'operation.started': add(e, lane(op), lane(op), `execute (attempt ${e.attempt})`, 'started'); break;
      case 'operation.retrying': add(e, lane(op), lane(op), `retry: ${e.reason}`, 'retry'); break;
      case 'operation.completed': add(e, lane(op), 'callers', `✓ completed ${num(e.durationMs, 0).toFixed(0)} ms`, 'completed'); break;
      default: break;
    }
  }
  return { lanes, rows, remote };
}

/** The sequence diagram of an app's actor system: one lane per actor, one row per event sent. */
export function eventSequence(events, names, options = {}) {
  const maxLanes = options.maxLanes ?? 8;
  const list = options.last !== undefined ? events.slice(-options.last) : events;
  const order = [];
  for (const e of list) for (const id of [e.from, e.to]) if (!order.includes(id)) order.push(id);
  const shown = order.slice(0, maxLanes);
  const lanes = shown.map((id) => (id === 'outside' ? 'outside' : names(id)));
  const rows = [];
  for (const e of list) {
    const from = shown.indexOf(e.from);
    const to = shown.indexOf(e.to);
    if (from < 0 || to < 0) continue;
    rows.push({ seq: e.seq, t: e.t, from: lanes[from], to: lanes[to], fromIndex: from, toIndex: to, label: e.type, cls: 'xevent', event: e.payload });
  }
  return { lanes, rows };
}

/** Limits of a {@link Store}. */
const DEFAULTS = {
  opsPerTarget: 12,
  historyLimit: 200,
  logLimit: 5000,
  targetEvents: 400,
  appEvents: 300,
  finalKeepMs: 8000,
};

/**
 * Everything the page knows about one run. `apply(message, now)` takes one server message; the
 * views read the maps. Finished operations are kept `finalKeepMs`, at most `opsPerTarget` per
 * target (older ones are counted as hidden); pinned actors (the selection) are never dropped.
 */
export class Store {
  constructor(limits = {}) {
    this.limits = { ...DEFAULTS, ...limits };
    this.reset();
  }

  reset() {
    /** @type {Map<string, any>} */ this.actors = new Map();
    /** @type {Map<string, any>} */ this.targets = new Map();
    /** @type {Map<string, any>} */ this.apps = new Map();
    /** @type {Map<string, {chart: any}>} */ this.machines = new Map();
    /** @type {Map<string, string>} */ this.opIndex = new Map();
    this.system = new Set();
    this.pinned = new Set();
    this.run = null;
    this.structure = 0;
    this.seq = 0;
    this.log = new LogModel(this.limits.logLimit);
    /** @type {Map<number, any>} the payloads of the last events, by the `eventId` their message carried */
    this.eventPayloads = new Map();
    this.appEvents = new Map();
    /** @type {Map<string, string>} operation id → the process that staged it, from a shared backend's decisions */
    this.processes = new Map();
    this.submitted = 0;
  }

  /** Applies a `hello`: `'first'`, `'same'` (a reconnect to the same run: everything kept) or `'new'` (reset). */
  hello(h) {
    const runId = str(h.runId);
    const kind = !this.run ? 'first' : this.run.runId === runId ? 'same' : 'new';
    if (kind === 'new') this.reset();
    this.run = {
      runId,
      startedAt: num(h.startedAt, Date.now()),
      mode: h.mode === 'listen' ? 'listen' : 'arbiter',
      options: h.options && typeof h.options === 'object' ? h.options : null,
      backend: h.backend && typeof h.backend === 'object' ? h.backend : null,
      pid: num(h.pid, null),
      // This process's id on a shared backend (a backend that names one): others are shown as remote.
      processId: h.backend && typeof h.backend === 'object' ? processName(h.backend.processId) : null,
      appUrl: str(h.appUrl),
    };
    return kind;
  }

  /** Whether a process id names another process than the inspected one. */
  isRemote(p) {
    if (p === null || p === undefined) return false;
    if (!this.run) return true;
    return p !== this.run.processId && p !== String(this.run.pid);
  }

  /** The process an operation runs in, when a shared backend said it is another one than this; else `undefined`. */
  processOf(operationId) {
    // Without this process's own id every candidate would look remote: nothing is said then.
    if (!this.run || !this.run.processId) return undefined;
    const p = this.processes.get(operationId);
    return p !== undefined && this.isRemote(p) ? p : undefined;
  }

  // A shared backend's decision names the process of every candidate (its own and others'):
  // `{ decision: { winner: { id, processId }, losers: [...] } }` delivered to a coordinator.
  learnProcesses(event) {
    const d = event && typeof event === 'object' ? event.decision : null;
    if (!d || typeof d !== 'object') return;
    const note = (c) => {
      if (!c || typeof c !== 'object' || typeof c.id !== 'string') return;
      const p = processName(c.processId);
      if (p === null) return;
      this.processes.delete(c.id);
      this.processes.set(c.id, p);
      if (this.processes.size > PROCESS_LIMIT) this.processes.delete(this.processes.keys().next().value);
    };
    note(d.winner);
    if (Array.isArray(d.losers)) for (const c of d.losers) note(c);
  }

  touch() {
    this.structure++;
  }

  target(name) {
    let t = this.targets.get(name);
    if (!t) {
      t = { name, coordSid: null, ops: [], hidden: 0, submitted: 0, events: [], children: new Set(), collapsed: undefined };
      this.targets.set(name, t);
      this.touch();
    }
    return t;
  }

  app(id) {
    let a = this.apps.get(id);
    if (!a) {
      a = { id, name: id, connected: true, since: 0, roots: new Set() };
      this.apps.set(id, a);
      this.touch();
    }
    return a;
  }

  /** Applies one server message. Returns the session id it changed, if any. */
  apply(m, now = Date.now()) {
    switch (m.type) {
      case 'arbiter.machine': this.machines.set(String(m.key), { chart: m.chart }); return null;
      case 'arbiter.app': this.onApp(m.app); return null;
      case '@xstate.actor': return this.onActor(m, now);
      case '@xstate.snapshot': return this.onSnapshot(m, now);
      case '@xstate.event': return this.onEvent(m, now);
      case 'arbiter.event': this.onArbiterEvent(m.event, num(m.createdAt, now)); return null;
      case 'arbiter.live': this.onLive(m, now); return null;
      default: return null;
    }
  }

  onApp(info) {
    if (!info || typeof info.id !== 'string') return;
    const a = this.app(info.id);
    a.name = str(info.name) || info.id;
    a.connected = info.connected !== false;
    a.since = num(info.since, 0);
    this.touch();
  }

  onActor(m, now) {
    const sid = str(m.sessionId);
    if (!sid) return null;
    let a = this.actors.get(sid);
    const t = num(m.createdAt, now);
    if (!a) {
      a = {
        sid, app: str(m.app) || null, parentId: str(m.parentId) || null, rootId: str(m.rootId) || sid,
        name: str(m.name) || sid, machine: str(m.machine) || null, kind: null, target: null, opId: null,
        snapshot: null, history: [], children: new Set(), seen: t, arrived: now, finishedAt: null, lastEvent: null, placed: false,
      };
      this.actors.set(sid, a);
    }
    const snap = m.snapshot && typeof m.snapshot === 'object' ? m.snapshot : null;
    if (snap && (snap.value !== undefined || snap.context !== undefined)) {
      a.snapshot = snap;
      this.record(a, { type: '(announced)' }, snap, t);
    } else if (!a.snapshot) a.snapshot = snap;
    this.place(a, now);
    return sid;
  }

  onSnapshot(m, now) {
    const sid = str(m.sessionId);
    const a = this.actors.get(sid);
    if (!a || !m.snapshot || typeof m.snapshot !== 'object') return null;
    const t = num(m.createdAt, now);
    let snap = m.snapshot;
    // The server does not copy what did not change: the previous context (or the values of it that
    // a new context kept), the event already delivered.
    const previous = a.snapshot && a.snapshot.context && typeof a.snapshot.context === 'object' ? a.snapshot.context : null;
    if (snap.sameContext) snap = { ...snap, context: a.snapshot ? a.snapshot.context : undefined };
    else if (Array.isArray(snap.kept) && snap.context && typeof snap.context === 'object' && !Array.isArray(snap.context)) {
      const context = { ...snap.context };
      for (const k of snap.kept) {
        if (typeof k !== 'string' || !Object.prototype.hasOwnProperty.call(context, k)) continue;
        // Defined, not assigned: a key named `__proto__` stays data.
        Object.defineProperty(context, k, { value: previous && Object.prototype.hasOwnProperty.call(previous, k) ? previous[k] : null, enumerable: true, writable: true, configurable: true });
      }
      snap = { ...snap, context };
    }
    let event = m.event && typeof m.event === 'object' ? m.event : { type: '?' };
    if (m.sameEvent) {
      const sent = typeof m.eventId === 'number' ? this.eventPayloads.get(m.eventId) : undefined;
      if (sent && sent.type === event.type) event = sent;
      else if (a.lastEventPayload && a.lastEventPayload.type === event.type) event = a.lastEventPayload;
    }
    a.snapshot = snap;
    this.record(a, event, snap, t);
    if (snap.status !== 'active' && !a.finishedAt) a.finishedAt = now;
    if (!a.placed) this.place(a, now);
    return sid;
  }

  record(a, event, snap, t) {
    const h = a.history;
    h.push({ t, event, value: snap.value, context: snap.context, status: snap.status, output: snap.output, error: snap.error });
    if (h.length > this.limits.historyLimit) h.splice(0, h.length - this.limits.historyLimit);
  }

  onEvent(m, now) {
    const sid = str(m.sessionId);
    const a = this.actors.get(sid);
    const type = m.event && typeof m.event.type === 'string' ? m.event.type : '?';
    const t = num(m.createdAt, now);
    if (a) {
      a.lastEvent = type;
      a.lastEventPayload = m.event && typeof m.event === 'object' ? m.event : null;
    }
    if (typeof m.eventId === 'number' && m.event && typeof m.event === 'object') {
      this.eventPayloads.set(m.eventId, m.event);
      if (this.eventPayloads.size > EVENT_PAYLOADS) this.eventPayloads.delete(this.eventPayloads.keys().next().value);
    }
    if (type === 'backend.decided' && !str(m.app)) this.learnProcesses(m.event);
    const source = str(m.sourceId) || null;
    this.log.add({
      t, type, target: a ? a.target || '' : '', op: a && a.opId ? a.opId : '', sid,
      detail: `${source ? (this.actors.get(source)?.name ?? source) + ' → ' : ''}${a ? a.name : sid}`,
      xstate: true, payload: m.event, app: str(m.app) || null,
    });
    const app = str(m.app);
    if (app) {
      const root = str(m.rootId) || sid;
      let list = this.appEvents.get(root);
      if (!list) this.appEvents.set(root, (list = []));
      list.push({ seq: ++this.seq, t, from: source || 'outside', to: sid, type, payload: m.event });
      if (list.length > this.limits.appEvents) list.splice(0, list.length - this.limits.appEvents);
    }
    return a ? sid : null;
  }

  onArbiterEvent(e, wall) {
    if (!e || typeof e.type !== 'string') return;
    const target = str(e.target);
    const op = str(e.operationId) || (e.type === 'conflict.resolved' ? str(e.winnerId) : '');
    this.log.add({ t: wall, type: e.type, target, op, sid: null, detail: detailOf(e), xstate: false, payload: e, app: null });
    if (!target) return;
    const t = this.target(target);
    if (e.type === 'operation.submitted') {
      t.submitted++;
      this.submitted++;
    }
    t.events.push({ ...e, wall });
    if (t.events.length > this.limits.targetEvents) t.events.splice(0, t.events.length - this.limits.targetEvents);
  }

  onLive(m, now) {
    if (m.truncated || !Array.isArray(m.sessionIds)) return;
    const alive = new Set(m.sessionIds);
    for (const a of this.actors.values()) {
      if (a.app || alive.has(a.sid) || a.finishedAt) continue;
      a.finishedAt = now;
      if (a.snapshot && a.snapshot.status === 'active') a.snapshot = { ...a.snapshot, status: 'stopped' };
    }
  }

  /** Decides where an actor shows in the tree, once its context says what it is. */
  place(a, now) {
    if (a.placed) return;
    const ctx = a.snapshot && a.snapshot.context && typeof a.snapshot.context === 'object' ? a.snapshot.context : null;
    if (a.app) {
      a.kind = 'actor';
      const parent = a.parentId && this.actors.get(a.parentId);
      if (parent) parent.children.add(a.sid);
      else this.app(a.app).roots.add(a.sid);
    } else if (ctx && typeof ctx.target === 'string' && typeof ctx.id === 'string') {
      a.kind = 'operation';
      a.target = ctx.target;
      a.opId = ctx.id;
      // With a backend shared by several processes, where the operation runs (shown when not here).
      const p = processName(ctx.processId ?? ctx.pid ?? (ctx.origin && typeof ctx.origin === 'object' ? ctx.origin.pid : undefined)) ?? this.processes.get(ctx.id) ?? null;
      if (this.isRemote(p)) a.process = p;
      this.opIndex.set(ctx.id, a.sid);
      const t = this.target(ctx.target);
      t.ops.push(a.sid);
      this.trim(t, now);
    } else if (ctx && typeof ctx.target === 'string' && (a.machine || '').startsWith('coordinator')) {
      a.kind = 'coordinator';
      a.target = ctx.target;
      const t = this.target(ctx.target);
      if (t.coordSid !== a.sid) {
        const old = t.coordSid && this.actors.get(t.coordSid);
        if (old && !this.pinned.has(old.sid)) this.remove(old);
        t.coordSid = a.sid;
      }
    } else if (a.parentId) {
      // A machine's context may still say it is an operation (a child of its coordinator): wait for it.
      if (a.machine && !ctx && !(a.snapshot && (a.snapshot.value !== undefined || (a.snapshot.status && a.snapshot.status !== 'active')))) return;
      const parent = this.actors.get(a.parentId);
      if (!parent) {
        // Its parent is not known (not followed, or gone): not drawn, but kept for the log.
        return;
      }
      a.kind = 'child';
      a.target = parent.target;
      parent.children.add(a.sid);
    } else if (ctx || (a.snapshot && (a.snapshot.value !== undefined || a.snapshot.status !== 'active'))) {
      // Known only once its first real snapshot arrived: until then it may still turn out an operation.
      a.kind = 'system';
      this.system.add(a.sid);
    } else return;
    a.placed = true;
    this.touch();
  }

  /** Drops the oldest finished (else oldest) unpinned operations of a target beyond its limit. */
  trim(t, now) {
    const limit = this.limits.opsPerTarget;
    if (t.ops.length <= limit) return;
    const candidates = t.ops.map((sid) => this.actors.get(sid)).filter((a) => a && !this.pinned.has(a.sid));
    candidates.sort((x, y) => (x.finishedAt ? 0 : 1) - (y.finishedAt ? 0 : 1) || (x.finishedAt || x.seen) - (y.finishedAt || y.seen));
    for (const a of candidates.slice(0, t.ops.length - limit)) this.remove(a, true);
    void now;
  }

  /** Removes an actor (and its children) from the tree. */
  remove(a, hidden = false) {
    for (const c of a.children) {
      const ca = this.actors.get(c);
      if (ca) this.remove(ca);
    }
    this.actors.delete(a.sid);
    if (a.opId && this.opIndex.get(a.opId) === a.sid) this.opIndex.delete(a.opId);
    const parent = a.parentId && this.actors.get(a.parentId);
    if (parent) parent.children.delete(a.sid);
    this.system.delete(a.sid);
    if (a.app) this.apps.get(a.app)?.roots.delete(a.sid);
    this.appEvents.delete(a.sid);
    if (a.kind === 'operation') {
      const t = this.targets.get(a.target);
      if (t) {
        const i = t.ops.indexOf(a.sid);
        if (i >= 0) t.ops.splice(i, 1);
        if (hidden) t.hidden++;
      }
    }
    this.touch();
  }

  /** Forgets finished operations older than `finalKeepMs` (unpinned); called about once a second. */
  sweep(now) {
    // Actors never placed (a child whose parent was already trimmed, say) leave too.
    for (const a of [...this.actors.values()]) {
      if (!a.placed && !this.pinned.has(a.sid) && now - (a.finishedAt ?? a.arrived + 4 * this.limits.finalKeepMs) > this.limits.finalKeepMs) this.remove(a);
    }
    for (const t of this.targets.values()) {
      for (const sid of [...t.ops]) {
        const a = this.actors.get(sid);
        if (a && a.finishedAt && now - a.finishedAt > this.limits.finalKeepMs && !this.pinned.has(sid)) this.remove(a, true);
      }
    }
  }

  /** The coordinator actor currently shown for a target. */
  coordinatorOf(target) {
    const t = this.targets.get(target);
    return t && t.coordSid ? this.actors.get(t.coordSid) || null : null;
  }

  /** The target with the most submissions so far (what a newcomer most wants to watch). */
  busiestTarget() {
    let best = null;
    for (const t of this.targets.values()) if (t.coordSid && (!best || t.submitted > best.submitted)) best = t;
    return best ? best.name : null;
  }
}

/**
 * The event log: every row received, bounded to `limit` rows of each kind (arbiter events, and
 * XState events, which are far more numerous: they never push arbiter rows out); the oldest go
 * first and are counted. Filters pick rows to show without discarding any; `clear()` forgets rows
 * and counts.
 */
export class LogModel {
  constructor(limit = 5000) {
    this.limit = limit;
    this.clear();
  }

  clear() {
    this.rows = [];
    this.received = 0;
    this.trimmed = 0;
    this.nextSeq = 0;
    this.version = 0;
    this.counts = { arbiter: 0, xstate: 0 };
  }

  add(row) {
    row.seq = ++this.nextSeq;
    this.rows.push(row);
    this.received++;
    const kind = row.xstate ? 'xstate' : 'arbiter';
    // Trim in chunks so a full log costs O(1) per row.
    if (++this.counts[kind] > this.limit * 1.1) {
      let drop = this.counts[kind] - this.limit;
      this.counts[kind] -= drop;
      this.trimmed += drop;
      this.rows = this.rows.filter((r) => {
        if (drop > 0 && !!r.xstate === !!row.xstate) {
          drop--;
          r.dead = true;
          return false;
        }
        return true;
      });
      this.version++;
    }
  }
}

/** Whether a log row passes the filters. */
export function rowMatches(row, f) {
  if (row.xstate && !f.xstate) return false;
  if (f.target && !String(row.target || '').includes(f.target)) return false;
  if (f.op && !String(row.op || '').includes(f.op)) return false;
  if (f.type && row.type !== f.type) return false;
  return true;
}

/**
 * The tree as the rows a virtual list draws: the arbiter's targets (natural order) with their
 * operations (newest first) and their children, its other actors, then each connected app's actor
 * tree. `query` keeps targets whose name matches and operations (or app actors) whose id or name
 * matches; collapsed groups hide their rows; the `keep` actor is always shown.
 */
export function flattenTree(store, options = {}) {
  const query = (options.query || '').trim().toLowerCase();
  const collapsed = options.collapsed || new Set();
  const keep = options.keep || null;
  const expandedByDefault = options.expandedByDefault ?? true;
  const rows = [];
  const match = (s) => !query || String(s || '').toLowerCase().includes(query);
  const isCollapsed = (id, t) => (collapsed.has(id) ? true : options.expanded && options.expanded.has(id) ? false : t && t.collapsed !== undefined ? t.collapsed : !expandedByDefault);
  const pushActor = (a, level, force) => {
    rows.push({ id: 's:' + a.sid, kind: a.kind, level, sid: a.sid, actor: a, expandable: a.children.size > 0 });
    if (collapsed.has('s:' + a.sid)) {
      rows[rows.length - 1].collapsed = true;
      return;
    }
    const kids = [...a.children].map((s) => store.actors.get(s)).filter(Boolean);
    for (const c of kids) if (force || !query || subtreeMatches(c) || c.sid === keep) pushActor(c, level + 1, force);
  };
  const subtreeMatches = (a) => match(a.name) || match(a.opId) || match(a.sid) || [...a.children].some((s) => { const c = store.actors.get(s); return c && subtreeMatches(c); });

  const names = [...store.targets.keys()].sort(naturalCompare);
  const hasArbiter = store.run ? store.run.mode === 'arbiter' : names.length > 0;
  if (hasArbiter) {
    rows.push({ id: 'g:arbiter', kind: 'arbiter', level: 1, expandable: true, count: names.length });
    if (!collapsed.has('g:arbiter')) {
      for (const name of names) {
        const t = store.targets.get(name);
        const ops = t.ops.map((s) => store.actors.get(s)).filter(Boolean).reverse();
        const keepHere = keep && ops.some((a) => a.sid === keep || [...a.children].includes(keep));
        const nameMatches = match(name);
        const opMatches = query ? ops.filter((a) => match(a.opId) || match(a.sid)) : ops;
        if (query && !nameMatches && opMatches.length === 0 && !keepHere && !(keep && t.coordSid === keep)) continue;
        const id = 't:' + name;
        // Collapsed when the user said so; by default, unless a search or the selection is inside.
        const closed = collapsed.has(id) || (isCollapsed(id, t) && !(query && !nameMatches) && !keepHere);
        rows.push({ id, kind: 'target', level: 2, target: name, t, expandable: true, collapsed: closed, opCount: ops.length });
        if (closed) continue;
        for (const a of nameMatches ? ops : ops.filter((x) => opMatches.includes(x) || x.sid === keep || [...x.children].includes(keep))) pushActor(a, 3, true);
        if (t.hidden > 0 && (!query || nameMatches)) rows.push({ id: 'h:' + name, kind: 'hidden', level: 3, target: name, count: t.hidden });
      }
      // The arbiter's other actors (its observers): collapsed unless opened. The roots that only
      // group coordinators into shared systems are plumbing: their coordinators are the targets above.
      const system = [...store.system].map((s) => store.actors.get(s)).filter((a) => a && a.name !== 'coordinators');
      if (system.length && (!query || system.some(subtreeMatches))) {
        const open = (options.expanded && options.expanded.has('g:system')) || !!query;
        rows.push({ id: 'g:system', kind: 'group', level: 2, label: 'other actors', expandable: true, collapsed: !open, count: system.length });
        if (open) for (const a of system) if (!query || subtreeMatches(a)) pushActor(a, 3, false);
      }
    }
  }
  for (const app of [...store.apps.values()]) {
    const roots = [...app.roots].map((s) => store.actors.get(s)).filter(Boolean);
    const id = 'g:app:' + app.id;
    rows.push({ id, kind: 'app', level: 1, app, expandable: true, count: roots.length });
    if (collapsed.has(id)) { rows[rows.length - 1].collapsed = true; continue; }
    for (const a of roots) if (!query || match(app.name) || subtreeMatches(a) || a.sid === keep) pushActor(a, 2, !query || match(app.name));
  }
  return rows;
}
