import type { Subscription } from 'rxjs';
import type { AnyActorRef, AnyStateMachine, InspectionEvent } from 'xstate';
import type { Arbiter } from '../src/arbiter.js';
import type { ArbiterEvent } from '../src/events.js';
import { optionKeys, readOptions } from '../src/keys.js';
import { OperationRecord } from '../src/records.js';
import { expectFunction, expectInteger } from '../src/validate.js';
import { statechartOf, type Statechart } from './graph.js';
import { toJsonSafe, unreadable } from './safe-json.js';

/**
 * The `_version` the inspection messages carry: the `@statelyai/inspect` protocol they follow
 * (`@xstate.actor`, `@xstate.snapshot`, `@xstate.event` with `sessionId`, `rootId`, …).
 */
export const INSPECT_PROTOCOL_VERSION = '0.7.2';

/** Fields every inspection message carries, as in `@statelyai/inspect`. */
interface InspectionMessageBase {
  /** The actor's session id, unique in the inspector (`a12`, or `app1:x:3` for a connected app's actor). */
  readonly sessionId: string;
  /** Session id of the root of the actor's system. */
  readonly rootId: string | undefined;
  /** Wall-clock milliseconds when it happened, as a string (as `@statelyai/inspect` sends it). */
  readonly createdAt: string;
  readonly id: null;
  readonly _version: string;
  /** The connected app it comes from (see {@link AppInfo}); absent for the arbiter's own actors. */
  readonly app?: string;
}

/** An actor was created (or is alive when a page joins). */
export interface ActorMessage extends InspectionMessageBase {
  readonly type: '@xstate.actor';
  /** Session id of its parent actor, if any. */
  readonly parentId: string | undefined;
  /** A display name: the machine id, an invoked actor's `src`, or its id. */
  readonly name: string;
  /** Key of its {@link MachineMessage}, when it runs a machine whose statechart is known. */
  readonly machine?: string;
  /** Its snapshot when announced (`{ status: 'active' }` when not readable yet). */
  readonly snapshot: JsonSnapshot;
}

/** An actor took a step. */
export interface SnapshotMessage extends InspectionMessageBase {
  readonly type: '@xstate.snapshot';
  /** The event that caused it (JSON-safe copy); only its `type` when `sameEvent`. */
  readonly event: unknown;
  /** The event was already sent, in the `@xstate.event` message numbered `eventId` (not copied twice). */
  readonly sameEvent?: true;
  readonly eventId?: number;
  readonly snapshot: JsonSnapshot;
}

/** An event was sent to an actor. */
export interface EventMessage extends InspectionMessageBase {
  readonly type: '@xstate.event';
  /** Session id of the sender, when an actor sent it. */
  readonly sourceId: string | undefined;
  readonly event: unknown;
  /** A number for the event object, which a later `@xstate.snapshot` caused by it names instead of copying it again. */
  readonly eventId?: number;
}

/** A snapshot as the page gets it: bounded, JSON-safe, context Maps reduced to their keys. */
export interface JsonSnapshot {
  readonly status?: unknown;
  readonly value?: unknown;
  readonly context?: unknown;
  /** The context is the same object as in this actor's previous snapshot (not copied again). */
  readonly sameContext?: true;
  /**
   * Keys of `context` whose values are the same objects as in this actor's previous snapshot: sent
   * as `null`, their values are the previous ones (a coordinator's settings, an operation's data).
   */
  readonly kept?: readonly string[];
  readonly output?: unknown;
  readonly error?: unknown;
  /** Child actors by name → their session ids. */
  readonly children?: Record<string, string>;
}

/** A machine definition, sent once per machine before the actors that run it. */
export interface MachineMessage {
  readonly type: 'arbiter.machine';
  /** The key `@xstate.actor` messages name it by (`machine`). */
  readonly key: string;
  readonly chart: Statechart;
}

/** One `arbiter.events$` event. */
export interface ArbiterEventMessage {
  readonly type: 'arbiter.event';
  readonly event: ArbiterEvent;
  /** Wall-clock milliseconds when it was recorded, as a string. */
  readonly createdAt: string;
}

/** The arbiter's actors still alive, sent after drops so the page can forget the ones it missed ending. */
export interface LiveMessage {
  readonly type: 'arbiter.live';
  readonly sessionIds: readonly string[];
  /** Whether the list was cut at its limit (then nothing may be pruned). */
  readonly truncated: boolean;
}

/** An app connected through `createWebSocketInspector` (or its connection closed). */
export interface AppInfo {
  /** `app1`, `app2`, …: the prefix of its actors' session ids. */
  readonly id: string;
  /** `?name=` of its WebSocket URL, else the id of its first root actor, else the id. */
  readonly name: string;
  readonly connected: boolean;
  /** Wall-clock milliseconds it connected at. */
  readonly since: number;
}

/** An app's connection changed. */
export interface AppMessage {
  readonly type: 'arbiter.app';
  readonly app: AppInfo;
}

/** Every XState inspection message the page gets. */
export type InspectionMessage = ActorMessage | SnapshotMessage | EventMessage;

/**
 * What the inspector sends to the page: inspection messages in `@statelyai/inspect`'s shape plus
 * the arbiter's own.
 */
export type FeedMessage = InspectionMessage | MachineMessage | ArbiterEventMessage | LiveMessage | AppMessage;

/** Options of an {@link InspectorFeed}. */
export interface InspectorFeedOptions {
  /** Entries held between two drains; beyond it the oldest are dropped (and counted). @default 2000 */
  readonly bufferSize?: number;
  /**
   * New operations inspected per second at most (a token bucket); the others still appear in the
   * event log, but XState does not report their steps. Inspection makes XState report every step,
   * so this bounds the cost of watching a busy arbiter. `Infinity` inspects every one. @default 200
   */
  readonly maxOperationsPerSec?: number;
  /** Clock for the sampling bucket, in milliseconds. @default performance.now */
  readonly now?: () => number;
  /** Wall clock stamped on each recorded entry, in milliseconds. @default Date.now */
  readonly wallClock?: () => number;
}

// What `drain()` converts. `current`: an actor announced after it started (its snapshot is readable
// now); XState announces new actors before their first snapshot, which then follows as an
// `xstate.init` snapshot event. `full`: describe the actor without eliding anything (a page that
// just joined knows nothing yet). `t`: wall-clock time of recording.
type Entry =
  | { readonly kind: typeof ARBITER; readonly event: ArbiterEvent; readonly t: number }
  | { readonly kind: typeof ACTOR; readonly ref: AnyActorRef; readonly t: number; readonly current: boolean; readonly full?: boolean }
  | { readonly kind: typeof SNAPSHOT; readonly ref: AnyActorRef; readonly snapshot: unknown; readonly event: unknown; readonly t: number }
  | { readonly kind: typeof EVENT; readonly ref: AnyActorRef; readonly event: unknown; readonly source: AnyActorRef | undefined; readonly t: number };

const FEED_KEYS = optionKeys<InspectorFeedOptions>({ bufferSize: true, maxOperationsPerSec: true, now: true, wallClock: true });
const SHOWN: InspectionEvent['type'][] = ['@xstate.actor', '@xstate.snapshot', '@xstate.event'];
const LIVE_LIMIT = 5000;
const EVENT_LIMITS = { depth: 5, maxString: 1000, maxItems: 200, maxNodes: 2000 };
// A context or payload is shown, not archived: a few hundred values per snapshot at most.
const PAYLOAD_LIMITS = { depth: 6, maxString: 500, maxItems: 50, maxNodes: 500 };

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

const ARBITER = 1;
const ACTOR = 2;
const SNAPSHOT = 3;
const EVENT = 4;
// Flags beside the kind: an actor announced after it started; a final snapshot kept whole.
const CURRENT = 8;
const WHOLE = 16;
const KIND = 7;

/**
 * The feed's recording buffer: like {@link Ring}, but it keeps what conversion will read of each
 * entry in columns (preallocated arrays), not the inspection event XState made for it: recording
 * allocates nothing, and what the buffer holds until it is drained or overwritten is only what will
 * be shown. An active snapshot is kept as its value, context and children (not the snapshot with
 * its tags, state nodes and history, nor XState's copy of the inspection event); a final one whole.
 * Entry objects are made when drained, for the few that are.
 */
class EntryRing {
  // Per entry: the actor (or the arbiter event), then up to four values depending on the kind.
  private readonly refs: unknown[];
  private readonly a: unknown[];
  private readonly b: unknown[];
  private readonly c: unknown[];
  private readonly d: unknown[];
  private readonly times: Float64Array;
  private readonly flags: Uint8Array;
  private head = 0;
  private count = 0;
  dropped = 0;

  constructor(readonly capacity: number) {
    this.refs = new Array(capacity).fill(undefined);
    this.a = new Array(capacity).fill(undefined);
    this.b = new Array(capacity).fill(undefined);
    this.c = new Array(capacity).fill(undefined);
    this.d = new Array(capacity).fill(undefined);
    this.times = new Float64Array(capacity);
    this.flags = new Uint8Array(capacity);
  }

  get size(): number {
    return this.count;
  }

  // The slot for a new entry: the oldest one is overwritten when full.
  private slot(t: number, flags: number): number {
    const i = (this.head + this.count) % this.capacity;
    if (this.count < this.capacity) this.count++;
    else {
      this.head = (this.head + 1) % this.capacity;
      this.dropped++;
    }
    this.times[i] = t;
    this.flags[i] = flags;
    return i;
  }

  pushArbiter(event: ArbiterEvent, t: number): void {
    const i = this.slot(t, ARBITER);
    this.refs[i] = event;
    this.a[i] = this.b[i] = this.c[i] = this.d[i] = undefined;
  }

  pushActor(ref: AnyActorRef, t: number, current: boolean): void {
    const i = this.slot(t, current ? ACTOR | CURRENT : ACTOR);
    this.refs[i] = ref;
    this.a[i] = this.b[i] = this.c[i] = this.d[i] = undefined;
  }

  pushSnapshot(ref: AnyActorRef, snapshot: Record<string, unknown>, active: boolean, event: unknown, t: number): void {
    const i = this.slot(t, active ? SNAPSHOT : SNAPSHOT | WHOLE);
    this.refs[i] = ref;
    if (active) {
      this.a[i] = snapshot['value'];
      this.b[i] = snapshot['context'];
      this.c[i] = snapshot['children'];
    } else {
      this.a[i] = snapshot;
      this.b[i] = this.c[i] = undefined;
    }
    this.d[i] = event;
  }

  pushEvent(ref: AnyActorRef, event: unknown, source: unknown, t: number): void {
    const i = this.slot(t, EVENT);
    this.refs[i] = ref;
    this.a[i] = event;
    this.b[i] = source;
    this.c[i] = this.d[i] = undefined;
  }

  take(max: number): Entry[] {
    const n = Math.min(max, this.count);
    const out = new Array<Entry>(n);
    for (let k = 0; k < n; k++) {
      const i = this.head;
      const f = this.flags[i]!;
      const t = this.times[i]!;
      const ref = this.refs[i] as AnyActorRef;
      switch (f & KIND) {
        case ARBITER:
          out[k] = { kind: ARBITER, event: this.refs[i] as ArbiterEvent, t };
          break;
        case ACTOR:
          out[k] = { kind: ACTOR, ref, t, current: (f & CURRENT) !== 0 };
          break;
        case SNAPSHOT:
          out[k] = {
            kind: SNAPSHOT,
            ref,
            snapshot: f & WHOLE ? this.a[i] : { status: 'active', value: this.a[i], context: this.b[i], children: this.c[i] },
            event: this.d[i],
            t,
          };
          break;
        default:
          out[k] = { kind: EVENT, ref, event: this.a[i], source: this.b[i] as AnyActorRef | undefined, t };
      }
      this.refs[i] = this.a[i] = this.b[i] = this.c[i] = this.d[i] = undefined;
      this.head = (i + 1) % this.capacity;
    }
    this.count -= n;
    return out;
  }
}

function isMachine(logic: unknown): logic is AnyStateMachine {
  try {
    const l = logic as { config?: unknown; root?: unknown; transition?: unknown } | undefined;
    return !!l && typeof l.config === 'object' && typeof l.root === 'object' && typeof l.transition === 'function';
  } catch {
    // A revoked Proxy in a context: not a machine (toJsonSafe shows it as unreadable).
    return false;
  }
}

// Top-level Maps of a context (the coordinator's staged and holding operations) become their
// keys: their values hold actors and callbacks, and the page shows ids. A machine in a context (the
// coordinator's operation lifecycle) becomes its id: its definition is sent once as `arbiter.machine`.
function slimContext(context: unknown): unknown {
  if (!context || typeof context !== 'object') return context;
  let copy: Record<string, unknown> | undefined;
  for (const k of Object.keys(context)) {
    const v = (context as Record<string, unknown>)[k];
    if (v === null || typeof v !== 'object') continue;
    if (isMap(v)) {
      copy ??= { ...(context as Record<string, unknown>) };
      copy[k] = [...v.keys()];
    } else if (isMachine(v)) {
      copy ??= { ...(context as Record<string, unknown>) };
      copy[k] = `[machine ${String((v as { id?: unknown }).id ?? '')}]`;
    }
  }
  return copy ?? context;
}

function isMap(v: unknown): v is Map<unknown, unknown> {
  try {
    return v instanceof Map;
  } catch {
    // A revoked Proxy cannot even say what it is; toJsonSafe will show it as unreadable.
    return false;
  }
}

// A coordinator's `operation.submit` carries the arbiter's live record of the operation (its
// engine, actor and listeners, thousands of values deep): the page is shown what was submitted.
function slimEvent(event: unknown): unknown {
  try {
    const e = event as { type?: unknown; operation?: unknown } | null;
    if (e !== null && typeof e === 'object' && e.type === 'operation.submit' && e.operation instanceof OperationRecord) {
      return { ...e, operation: { input: e.operation.input } };
    }
  } catch {
    // A Proxy for an event: toJsonSafe shows what it can read.
  }
  return event;
}

function rootOf(ref: AnyActorRef): AnyActorRef {
  let r = ref;
  while (r._parent) r = r._parent;
  return r;
}

/**
 * The inspector's data path for an arbiter, without sockets. While connected it records the
 * arbiter's XState inspection events and `events$` events by reference in a bounded ring (the only
 * work on the arbiter's hot path: no copy, no JSON); `drain()` then converts a bounded number of
 * them into messages in `@statelyai/inspect`'s shape. Disconnected, it holds no subscription at
 * all, so the arbiter builds neither inspection nor `events$` events for it.
 *
 * XState numbers actors per actor system, and an arbiter runs many systems, so `x:0` names many
 * actors: the feed gives each actor its own `sessionId` (`a1`, `a2`, …) and links it to its parent
 * and root through XState's parent links, whatever the shape of the actor tree.
 *
 * @example
 * ```ts
 * const feed = new InspectorFeed(arbiter, { bufferSize: 5000 });
 * feed.connect();
 * arbiter.submit({ target: 'a', execute: async () => 1 });
 * const messages = feed.drain(500); // [{ type: 'arbiter.machine', … }, { type: '@xstate.actor', … }, …]
 * feed.disconnect();
 * ```
 */
export class InspectorFeed {
  private readonly ring: EntryRing;
  private readonly live = new Set<AnyActorRef>();
  private readonly ids = new WeakMap<AnyActorRef, string>();
  private readonly machineKeys = new WeakMap<AnyStateMachine, string>();
  private readonly machines = new Map<string, MachineMessage>();
  // What was last sent per actor, so that what did not change is not copied again.
  private readonly lastContext = new WeakMap<AnyActorRef, object>();
  // Event objects already sent in an `@xstate.event` message, by the number that message carries.
  private readonly eventIds = new WeakMap<object, number>();
  private nextEventId = 0;
  private out: FeedMessage[] = [];
  private nextId = 0;
  private inspection: { unsubscribe(): void } | undefined;
  private events: Subscription | undefined;
  private received = 0;
  private readonly rate: number;
  private readonly now: () => number;
  private readonly wall: () => number;
  private tokens: number;
  private refilledAt: number;
  /** Operations left uninspected by sampling. */
  unsampled = 0;
  /** Entries that could not be converted at all (each one is skipped alone). */
  failed = 0;

  /** Bad options throw `ArbiterInputError` naming the field (unknown keys included). */
  constructor(
    private readonly arbiter: Arbiter,
    options: InspectorFeedOptions = {},
  ) {
    const o = readOptions(options, FEED_KEYS);
    if (o.bufferSize !== undefined) expectInteger(o.bufferSize, 'bufferSize', 1, 10_000_000);
    if (o.maxOperationsPerSec !== undefined && o.maxOperationsPerSec !== Infinity) expectInteger(o.maxOperationsPerSec, 'maxOperationsPerSec', 1);
    if (o.now !== undefined) expectFunction(o.now, 'now');
    if (o.wallClock !== undefined) expectFunction(o.wallClock, 'wallClock');
    this.ring = new EntryRing((o.bufferSize as number | undefined) ?? 2000);
    this.rate = (o.maxOperationsPerSec as number | undefined) ?? 200;
    const now = o.now as (() => number) | undefined;
    this.now = now ?? (() => globalThis.performance.now());
    this.wall = (o.wallClock as (() => number) | undefined) ?? Date.now;
    this.tokens = Math.min(this.rate, 1000);
    this.refilledAt = this.now();
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
    // Microsteps and actions are not shown: XState does not build them for the feed.
    this.inspection = this.arbiter.inspect(
      { next: (e) => this.onInspection(e) },
      Number.isFinite(this.rate) ? { sampleOperation: () => this.sample(), types: SHOWN } : { types: SHOWN },
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
    switch (e.type) {
      case '@xstate.actor': {
        this.received++;
        const ref = e.actorRef as AnyActorRef;
        this.live.add(ref);
        let current = false;
        try {
          current = ref.getSnapshot() !== undefined;
        } catch {
          // XState's development build throws while the actor initialises: not current.
        }
        this.ring.pushActor(ref, this.wall(), current);
        return;
      }
      case '@xstate.snapshot': {
        this.received++;
        const ref = e.actorRef as AnyActorRef;
        const snapshot = (e.snapshot ?? {}) as Record<string, unknown>;
        const active = snapshot['status'] === 'active';
        if (!active) this.live.delete(ref);
        this.ring.pushSnapshot(ref, snapshot, active, e.event, this.wall());
        return;
      }
      case '@xstate.event':
        this.received++;
        this.ring.pushEvent(e.actorRef as AnyActorRef, e.event, e.sourceRef, this.wall());
        return;
      default:
      // Microsteps and actions (from an arbiter that sends every type): not shown.
    }
  }

  /** @internal hot path */
  onEvent(e: ArbiterEvent): void {
    this.received++;
    this.ring.pushArbiter(e, this.wall());
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
      if (statusOf(ref) !== 'active') {
        this.live.delete(ref);
        continue;
      }
      if (sessionIds.length < LIVE_LIMIT) sessionIds.push(this.idOf(ref));
    }
    return { type: 'arbiter.live', sessionIds, truncated: this.live.size > LIVE_LIMIT };
  }

  /** Converts up to `max` of the oldest recorded entries into messages. */
  drain(max: number): FeedMessage[] {
    return this.convert(this.ring.take(max));
  }

  /** `@xstate.actor` messages describing every live actor now (for a page that just joined). */
  describeLive(max = LIVE_LIMIT): FeedMessage[] {
    const entries: Entry[] = [];
    const t = this.wall();
    for (const ref of this.live) {
      if (entries.length >= max) break;
      if (statusOf(ref) !== 'active') continue;
      entries.push({ kind: ACTOR, ref, t, current: true, full: true });
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

  // `ref`: elide a context that is the same object as the one last sent for this actor (an
  // operation's context only changes on `assign`): the page keeps the previous one.
  private slimSnapshot(snapshot: unknown, ref?: AnyActorRef): JsonSnapshot {
    const s = (snapshot ?? {}) as Record<string, unknown>;
    let context: unknown;
    let sameContext = false;
    let kept: string[] | undefined;
    try {
      const raw = s['context'];
      const slim = slimContext(raw);
      const previous = ref ? this.lastContext.get(ref) : undefined;
      // A context holding Maps (the coordinator's) is changed in place: always sent.
      if (previous !== undefined && previous === raw && slim === raw) sameContext = true;
      else {
        let sent = slim;
        // `assign` makes a new context and keeps the values it did not change: those are not copied
        // again (the page takes them from the previous snapshot). Maps are changed in place: slimContext
        // made them new arrays, so they are always sent.
        if (previous !== undefined && raw !== null && typeof raw === 'object' && slim !== null && typeof slim === 'object') {
          kept = keptKeys(previous as Record<string, unknown>, slim as Record<string, unknown>);
          if (kept !== undefined) {
            const copy: Record<string, unknown> = { ...(slim as Record<string, unknown>) };
            for (const k of kept) copy[k] = null;
            sent = copy;
          }
        }
        context = toJsonSafe(sent, PAYLOAD_LIMITS);
        if (ref && raw !== null && typeof raw === 'object') this.lastContext.set(ref, raw);
      }
    } catch (err) {
      context = unreadable(err);
      kept = undefined;
    }
    let children: Record<string, string> | undefined;
    try {
      const refs = s['children'] as Record<string, AnyActorRef | undefined> | undefined;
      if (refs) {
        for (const k in refs) {
          const c = refs[k];
          if (c) (children ??= {})[k] = this.idOf(c);
        }
      }
    } catch {
      children = undefined;
    }
    // Built field by field: thousands of these per second, no temporary objects.
    const out: { -readonly [K in keyof JsonSnapshot]: JsonSnapshot[K] } = { status: s['status'], value: toJsonSafe(s['value'], PAYLOAD_LIMITS) };
    if (sameContext) out.sameContext = true;
    else out.context = context;
    if (kept !== undefined) out.kept = kept;
    if (children) out.children = children;
    if ('output' in s) out.output = toJsonSafe(s['output'], PAYLOAD_LIMITS);
    if (s['error'] !== undefined) out.error = toJsonSafe(s['error'], PAYLOAD_LIMITS);
    return out;
  }

  private actorMessage(ref: AnyActorRef, current: boolean, t: number, full = false): ActorMessage {
    const parent = ref._parent as AnyActorRef | undefined;
    const logic = (ref as unknown as { logic?: unknown }).logic;
    const machine = isMachine(logic) ? this.machineKey(logic) : undefined;
    // A child is named by its id (`metrics`), unless XState generated it (`0.operation.executing`):
    // then by its source (`execute`). A root by its logic's id.
    const src = (ref as unknown as { src?: unknown }).src;
    const logicId = (logic as { id?: unknown } | undefined)?.id;
    const id = String(ref.id);
    const generated = id === '' || /^x:\d+$/.test(id) || /^\d+\./.test(id);
    const name = machine ?? (parent ? (!generated || typeof src !== 'string' ? id : src) : typeof logicId === 'string' ? logicId : id);
    return {
      type: '@xstate.actor',
      sessionId: this.idOf(ref),
      rootId: this.idOf(rootOf(ref)),
      parentId: parent ? this.idOf(parent) : undefined,
      name,
      ...(machine !== undefined ? { machine } : {}),
      snapshot: current ? this.slimSnapshot(ref.getSnapshot(), full ? undefined : ref) : { status: 'active' },
      createdAt: String(t),
      id: null,
      _version: INSPECT_PROTOCOL_VERSION,
    };
  }

  private convertOne(entry: Entry): FeedMessage {
    const createdAt = String(entry.t);
    if (entry.kind === ARBITER) return { type: 'arbiter.event', event: toJsonSafe(entry.event, EVENT_LIMITS) as ArbiterEvent, createdAt };
    const ref = entry.ref;
    if (entry.kind === ACTOR) return this.actorMessage(ref, entry.current, entry.t, entry.full === true);
    const sessionId = this.idOf(ref);
    const rootId = this.idOf(rootOf(ref));
    const event = entry.event;
    if (entry.kind === SNAPSHOT) {
      // The event that caused a step was delivered to the actor just before (several may be queued
      // in its mailbox): sent once, in its `@xstate.event` message, and named here by its number.
      const eventId = event !== null && typeof event === 'object' ? this.eventIds.get(event) : undefined;
      const snapshot = this.slimSnapshot(entry.snapshot, ref);
      return eventId !== undefined
        ? { type: '@xstate.snapshot', sessionId, rootId, createdAt, id: null, _version: INSPECT_PROTOCOL_VERSION, event: { type: typeOf(event as object) }, sameEvent: true, eventId, snapshot }
        : { type: '@xstate.snapshot', sessionId, rootId, createdAt, id: null, _version: INSPECT_PROTOCOL_VERSION, event: toJsonSafe(slimEvent(event), EVENT_LIMITS), snapshot };
    }
    const sourceId = entry.source ? this.idOf(entry.source) : undefined;
    const safe = toJsonSafe(slimEvent(event), EVENT_LIMITS);
    if (event === null || typeof event !== 'object') return { type: '@xstate.event', sessionId, rootId, createdAt, id: null, _version: INSPECT_PROTOCOL_VERSION, sourceId, event: safe };
    const eventId = ++this.nextEventId;
    this.eventIds.set(event, eventId);
    return { type: '@xstate.event', sessionId, rootId, createdAt, id: null, _version: INSPECT_PROTOCOL_VERSION, sourceId, event: safe, eventId };
  }

  private convert(entries: Entry[]): FeedMessage[] {
    for (const entry of entries) {
      let message: FeedMessage;
      try {
        message = this.convertOne(entry);
      } catch {
        // XState internals changed under us, or an actor cannot be read: this entry alone is lost.
        this.failed++;
        continue;
      }
      this.out.push(message);
    }
    const out = this.out;
    this.out = [];
    return out;
  }
}

// The keys of `next` whose values are the very objects (or functions) `previous` held under them.
// A context that cannot be read plainly (a throwing getter) keeps nothing: toJsonSafe copies it as it can.
function keptKeys(previous: Record<string, unknown>, next: Record<string, unknown>): string[] | undefined {
  let kept: string[] | undefined;
  try {
    for (const k of Object.keys(next)) {
      const v = next[k];
      if (v !== null && (typeof v === 'object' || typeof v === 'function') && Object.prototype.hasOwnProperty.call(previous, k) && previous[k] === v) (kept ??= []).push(k);
    }
  } catch {
    return undefined;
  }
  return kept;
}

function typeOf(event: object): string {
  try {
    const type = (event as { type?: unknown }).type;
    return typeof type === 'string' ? type : '?';
  } catch {
    return '?';
  }
}

function statusOf(ref: AnyActorRef): unknown {
  try {
    return ref.getSnapshot().status;
  } catch {
    return 'error';
  }
}
