import type { StatelyInspectionEvent } from '@statelyai/inspect';
import type { Subscription } from 'rxjs';
import type { AnyActorRef, AnyStateMachine, InspectionEvent } from 'xstate';
import type { Arbiter } from '../src/arbiter.js';
import type { ArbiterEvent } from '../src/events.js';
import { statechartOf, type Statechart } from './graph.js';
import { toJsonSafe } from './safe-json.js';
import { loadOptional } from '../src/optional.js';

// An optional peer dependency: a missing one fails this import with the npm install command.
const { createInspector } = await loadOptional<typeof import('@statelyai/inspect')>('@statelyai/inspect', 'inspector');

/** A machine definition, sent once per machine before the actors that run it. */
export interface MachineMessage {
  readonly type: 'arbiter.machine';
  /** The name `@xstate.actor` messages of its actors carry. */
  readonly key: string;
  readonly chart: Statechart;
}

/** One `arbiter.events$` event. */
export interface ArbiterEventMessage {
  readonly type: 'arbiter.event';
  readonly event: ArbiterEvent;
}

/** The actors still alive, sent after drops so the page can forget the ones it missed ending. */
export interface LiveMessage {
  readonly type: 'arbiter.live';
  readonly sessionIds: readonly string[];
  /** Whether the list was cut at its limit (then nothing may be pruned). */
  readonly truncated: boolean;
}

/**
 * What the inspector sends to the page: `@statelyai/inspect`'s messages (`@xstate.actor`,
 * `@xstate.event`, `@xstate.snapshot`, with `rootId`, `sessionId`, `parentId`, `snapshot`, …)
 * plus the arbiter's own.
 */
export type FeedMessage = StatelyInspectionEvent | MachineMessage | ArbiterEventMessage | LiveMessage;

/** Options of an {@link InspectorFeed}. */
export interface InspectorFeedOptions {
  /** Entries held between two drains; beyond it the oldest are dropped (and counted). @default 10000 */
  readonly bufferSize?: number;
  /**
   * New operations inspected per second at most (a token bucket); the others still appear in the
   * event log, but XState does not report their steps. Inspection makes XState report every step,
   * so this bounds the cost of watching a busy arbiter. `Infinity` inspects every one. @default 200
   */
  readonly maxOperationsPerSec?: number;
  /** Clock for the sampling bucket, in milliseconds. @default performance.now */
  readonly now?: () => number;
}

// `current`: an actor announced after it started (its snapshot is readable now); XState announces
// new actors before their first snapshot, which then follows as an `xstate.init` snapshot event.
type Entry = { readonly x: InspectionEvent; readonly current?: boolean } | { readonly a: ArbiterEvent };

const KEPT = new Set(['@xstate.actor', '@xstate.snapshot', '@xstate.event']);
const LIVE_LIMIT = 5000;

/** A fixed-capacity FIFO that overwrites its oldest entry when full. @internal */
export class Ring<T> {
  private readonly items: (T | undefined)[];
  private head = 0;
  private count = 0;
  /** Entries overwritten since creation. */
  dropped = 0;

  constructor(readonly capacity: number) {
    this.items = new Array<T | undefined>(capacity);
  }

  get size(): number {
    return this.count;
  }

  push(item: T): void {
    const tail = (this.head + this.count) % this.capacity;
    this.items[tail] = item;
    if (this.count < this.capacity) this.count++;
    else {
      this.head = (this.head + 1) % this.capacity;
      this.dropped++;
    }
  }

  /** Removes and returns up to `max` of the oldest entries. */
  take(max: number): T[] {
    const n = Math.min(max, this.count);
    const out = new Array<T>(n);
    for (let i = 0; i < n; i++) {
      out[i] = this.items[this.head] as T;
      this.items[this.head] = undefined;
      this.head = (this.head + 1) % this.capacity;
    }
    this.count -= n;
    return out;
  }
}

function isMachine(logic: unknown): logic is AnyStateMachine {
  const l = logic as { config?: unknown; root?: unknown; transition?: unknown } | undefined;
  return !!l && typeof l.config === 'object' && typeof l.root === 'object' && typeof l.transition === 'function';
}

// Top-level Maps of a context (the coordinator's staged and holding operations) become their
// keys: their values hold actors and callbacks, and the page shows ids.
// A machine in a context (the coordinator's operation lifecycle) becomes its id: its definition
// is sent once as `arbiter.machine`.
function slimContext(context: unknown): unknown {
  if (!context || typeof context !== 'object') return context;
  let copy: Record<string, unknown> | undefined;
  for (const [k, v] of Object.entries(context)) {
    if (v instanceof Map) {
      copy ??= { ...(context as Record<string, unknown>) };
      copy[k] = [...v.keys()];
    } else if (isMachine(v)) {
      copy ??= { ...(context as Record<string, unknown>) };
      copy[k] = `[machine ${String((v as { id?: unknown }).id ?? '')}]`;
    }
  }
  return copy ?? context;
}

function rootOf(ref: AnyActorRef): AnyActorRef {
  let r = ref;
  while (r._parent) r = r._parent;
  return r;
}

/**
 * The inspector's data path, without sockets. While connected it records the arbiter's XState
 * inspection events and `events$` events by reference in a bounded ring (the only work on the
 * arbiter's hot path: no copy, no JSON); `drain()` then converts a bounded number of them into
 * `@statelyai/inspect` messages through `createInspector(adapter)`. Disconnected, it holds no
 * subscription at all, so the arbiter builds neither inspection nor `events$` events for it.
 *
 * XState numbers actors per actor system, and every arbiter operation and coordinator is the root
 * of its own system, so `x:0` names thousands of actors: the feed gives each actor its own
 * `sessionId` (`a1`, `a2`, …) instead.
 *
 * @example
 * ```ts
 * const feed = new InspectorFeed(arbiter, { bufferSize: 5000 });
 * feed.connect();
 * arbiter.submit({ target: 'a', execute: async () => 1 });
 * const messages = await feed.drain(500); // [{ type: 'arbiter.machine', … }, { type: '@xstate.actor', … }, …]
 * feed.disconnect();
 * ```
 */
export class InspectorFeed {
  private readonly ring: Ring<Entry>;
  private readonly live = new Set<AnyActorRef>();
  private readonly ids = new WeakMap<AnyActorRef, string>();
  private readonly machineKeys = new WeakMap<AnyStateMachine, string>();
  private readonly machines = new Map<string, MachineMessage>();
  private readonly out: FeedMessage[] = [];
  private readonly stately;
  private nextId = 0;
  private inspection: { unsubscribe(): void } | undefined;
  private events: Subscription | undefined;
  private received = 0;
  private readonly rate: number;
  private readonly now: () => number;
  private tokens: number;
  private refilledAt: number;
  /** Operations left uninspected by sampling. */
  unsampled = 0;

  constructor(
    private readonly arbiter: Arbiter,
    options: InspectorFeedOptions = {},
  ) {
    this.ring = new Ring<Entry>(options.bufferSize ?? 10_000);
    this.rate = options.maxOperationsPerSec ?? 200;
    this.now = options.now ?? (() => globalThis.performance.now());
    this.tokens = Math.min(this.rate, 1000);
    this.refilledAt = this.now();
    this.stately = createInspector(
      { send: (e) => this.out.push(e) },
      { serializationDepthLimit: 6, sanitizeEvent: (e) => toJsonSafe(e) as typeof e },
    );
  }

  /** Whether the feed is subscribed to the arbiter. */
  get connected(): boolean {
    return this.inspection !== undefined;
  }

  /** Entries dropped because the ring was full (the oldest go first). */
  get dropped(): number {
    return this.ring.dropped;
  }

  /** Entries waiting for `drain()`. */
  get pending(): number {
    return this.ring.size;
  }

  /** Entries recorded since creation. */
  get total(): number {
    return this.received;
  }

  /** Subscribes to the arbiter; the live actors are recorded first. Idempotent. */
  connect(): void {
    if (this.inspection) return;
    this.inspection = this.arbiter.inspect(
      { next: (e) => this.onInspection(e) },
      Number.isFinite(this.rate) ? { sampleOperation: () => this.sample() } : undefined,
    );
    if (!this.arbiter.stopped) this.events = this.arbiter.events$.subscribe({ next: (e) => this.onEvent(e) });
  }

  /** Drops every subscription (the arbiter's hot path is back to no inspection work). */
  disconnect(): void {
    this.inspection?.unsubscribe();
    this.inspection = undefined;
    this.events?.unsubscribe();
    this.events = undefined;
    this.live.clear();
    this.ring.take(this.ring.size);
  }

  /** @internal hot path: whether the next new operation is inspected. */
  sample(): boolean {
    if (this.tokens < 1) {
      const t = this.now();
      this.tokens = Math.min(Math.max(this.rate, 1), this.tokens + ((t - this.refilledAt) * this.rate) / 1000);
      this.refilledAt = t;
      if (this.tokens < 1) {
        this.unsampled++;
        return false;
      }
    }
    this.tokens--;
    return true;
  }

  /** @internal hot path */
  onInspection(e: InspectionEvent): void {
    if (!KEPT.has(e.type)) return;
    this.received++;
    if (e.type === '@xstate.actor') {
      this.live.add(e.actorRef as AnyActorRef);
      let current = false;
      try {
        current = e.actorRef.getSnapshot() !== undefined;
      } catch {
        // XState's development build throws while the actor initialises: not current.
      }
      this.ring.push({ x: e, current });
      return;
    }
    if (e.type === '@xstate.snapshot' && e.snapshot.status !== 'active') this.live.delete(e.actorRef as AnyActorRef);
    this.ring.push({ x: e });
  }

  /** @internal hot path */
  onEvent(e: ArbiterEvent): void {
    this.received++;
    this.ring.push({ a: e });
  }

  /** Machine definitions seen so far. */
  machineMessages(): MachineMessage[] {
    return [...this.machines.values()];
  }

  /** The feed's session id of an actor. */
  idOf(ref: AnyActorRef): string {
    let id = this.ids.get(ref);
    if (id === undefined) {
      id = `a${++this.nextId}`;
      this.ids.set(ref, id);
    }
    return id;
  }

  /** Session ids of the live actors (stopped ones are swept out first). */
  liveMessage(): LiveMessage {
    const sessionIds: string[] = [];
    for (const ref of this.live) {
      if (ref.getSnapshot().status !== 'active') {
        this.live.delete(ref);
        continue;
      }
      if (sessionIds.length < LIVE_LIMIT) sessionIds.push(this.idOf(ref));
    }
    return { type: 'arbiter.live', sessionIds, truncated: this.live.size > LIVE_LIMIT };
  }

  /** Converts up to `max` of the oldest recorded entries into messages. */
  drain(max: number): Promise<FeedMessage[]> {
    return this.convert(this.ring.take(max));
  }

  /** `@xstate.actor` messages describing every live actor now (for a client that just joined). */
  describeLive(max = LIVE_LIMIT): Promise<FeedMessage[]> {
    const entries: Entry[] = [];
    for (const ref of this.live) {
      if (entries.length >= max) break;
      if (ref.getSnapshot().status !== 'active') continue;
      entries.push({ x: { type: '@xstate.actor', actorRef: ref, rootId: rootOf(ref).sessionId }, current: true });
    }
    return this.convert(entries);
  }

  private machineKey(logic: AnyStateMachine): string {
    let key = this.machineKeys.get(logic);
    if (key !== undefined) return key;
    const base = String(logic.id || 'machine');
    key = base;
    for (let n = 2; this.machines.has(key); n++) key = `${base}#${n}`;
    this.machineKeys.set(logic, key);
    let chart: Statechart;
    try {
      chart = statechartOf(logic);
    } catch {
      chart = { rootId: String(logic.id), nodes: [], edges: [], handles: [] };
    }
    const message: MachineMessage = { type: 'arbiter.machine', key, chart };
    this.machines.set(key, message);
    this.out.push(message);
    return key;
  }

  private slimSnapshot(snapshot: unknown): unknown {
    const s = (snapshot ?? {}) as Record<string, unknown>;
    const children = s['children'] as Record<string, AnyActorRef | undefined> | undefined;
    return {
      status: s['status'],
      value: toJsonSafe(s['value']),
      context: toJsonSafe(slimContext(s['context'])),
      ...(children ? { children: Object.fromEntries(Object.entries(children).flatMap(([k, c]) => (c ? [[k, this.idOf(c)]] : []))) } : {}),
      ...('output' in s ? { output: toJsonSafe(s['output']) } : {}),
      ...(s['error'] !== undefined ? { error: toJsonSafe(s['error']) } : {}),
    };
  }

  // The shape `createInspector().inspect` reads from an XState inspection event, with the feed's
  // unique session ids and JSON-safe snapshots.
  private shimRef(ref: AnyActorRef, current: boolean): unknown {
    const parent = ref._parent as AnyActorRef | undefined;
    const isRoot = !parent;
    const logic = (ref as unknown as { logic?: unknown }).logic;
    const key = isMachine(logic) ? this.machineKey(logic) : undefined;
    const sessionId = this.idOf(ref);
    // An invoked actor is best named by its source (`execute`), not its generated id.
    const src = (ref as unknown as { src?: unknown }).src;
    const logicId = (logic as { id?: unknown } | undefined)?.id;
    const name = !isRoot && typeof src === 'string' ? src : isRoot && typeof logicId === 'string' ? logicId : ref.id;
    return {
      sessionId,
      id: isRoot && key !== undefined ? sessionId : name,
      logic: { config: { id: key ?? name } },
      _parent: parent ? { sessionId: this.idOf(parent) } : undefined,
      getSnapshot: () => (current ? this.slimSnapshot(ref.getSnapshot()) : { status: 'active' }),
    };
  }

  private convert(entries: Entry[]): Promise<FeedMessage[]> {
    if (entries.length === 0) return Promise.resolve([]);
    for (const entry of entries) {
      if ('a' in entry) {
        const event = entry.a;
        // `createInspector` defers each conversion with setTimeout(0); queue ours the same way to keep the order.
        setTimeout(() => this.out.push({ type: 'arbiter.event', event: toJsonSafe(event, { depth: 4, maxString: 1000, maxItems: 200 }) as ArbiterEvent }), 0);
        continue;
      }
      const e = entry.x;
      const ref = e.actorRef as AnyActorRef;
      const actorRef = this.shimRef(ref, e.type !== '@xstate.actor' || entry.current === true);
      const rootId = this.idOf(rootOf(ref));
      let shim: unknown;
      if (e.type === '@xstate.snapshot') {
        shim = { type: e.type, actorRef, rootId, event: e.event, snapshot: this.slimSnapshot(e.snapshot) };
      } else if (e.type === '@xstate.event') {
        shim = { type: e.type, actorRef, rootId, event: e.event, sourceRef: e.sourceRef ? { sessionId: this.idOf(e.sourceRef as AnyActorRef) } : undefined };
      } else {
        shim = { type: e.type, actorRef, rootId };
      }
      try {
        this.stately.inspect.next?.(shim as InspectionEvent);
      } catch {
        // A snapshot that cannot be converted is skipped; the next one repairs the view.
      }
    }
    return new Promise((resolve) =>
      setTimeout(() => {
        resolve(this.out.splice(0, this.out.length));
      }, 0),
    );
  }
}
