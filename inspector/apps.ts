import { createMachine } from 'xstate';
import {
  INSPECT_PROTOCOL_VERSION,
  Ring,
  type ActorMessage,
  type AppInfo,
  type AppMessage,
  type FeedMessage,
  type JsonSnapshot,
  type MachineMessage,
} from './feed.js';
import { optionKeys, readOptions } from '../src/keys.js';
import { expectFunction, expectInteger } from '../src/validate.js';
import { statechartOf } from './graph.js';
import { toJsonSafe } from './safe-json.js';

/** Options of an {@link AppHub}. */
export interface AppHubOptions {
  /** Messages held for the pages between two drains; beyond it the oldest are dropped. @default 2000 */
  readonly bufferSize?: number;
  /** Actors remembered per app for pages that join later (the oldest are forgotten). @default 2000 */
  readonly maxActorsPerApp?: number;
  /** Apps remembered, connected or not; the oldest closed ones are forgotten first. @default 20 */
  readonly maxApps?: number;
  /** Distinct machine definitions drawn (later ones show without a statechart). @default 200 */
  readonly maxMachines?: number;
  /** Wall clock, in milliseconds. @default Date.now */
  readonly wallClock?: () => number;
}

const APP_HUB_KEYS = optionKeys<AppHubOptions>({ bufferSize: true, maxActorsPerApp: true, maxApps: true, maxMachines: true, wallClock: true });

/** One app's connection, as the server drives it. */
export interface AppConnection {
  readonly id: string;
  /** Feeds one text frame the app sent. Never throws; what is not a valid message is counted. */
  receive(text: string): void;
  /** The socket closed: the app's actors stay, marked as from a closed app. */
  close(): void;
}

const TYPES = new Set(['@xstate.actor', '@xstate.snapshot', '@xstate.event']);
const ID_MAX = 200;
const DEFINITION_MAX = 256 * 1024;
const LIMITS = { depth: 6, maxString: 500, maxItems: 50, maxNodes: 2000 };
const EVENT_LIMITS = { depth: 5, maxString: 1000, maxItems: 200, maxNodes: 2000 };

interface AppState {
  info: AppInfo;
  named: boolean;
  /** Latest `@xstate.actor` message per session id, with the latest snapshot. */
  readonly actors: Map<string, ActorMessage>;
}

const str = (v: unknown, max = ID_MAX): string | undefined => (typeof v === 'string' && v.length > 0 && v.length <= max ? v : undefined);

function slim(snapshot: unknown): JsonSnapshot {
  const s = snapshot && typeof snapshot === 'object' ? (snapshot as Record<string, unknown>) : {};
  const read = (k: string): unknown => {
    try {
      return s[k];
    } catch {
      return undefined;
    }
  };
  const output = read('output');
  const error = read('error');
  return {
    status: typeof read('status') === 'string' ? read('status') : 'active',
    value: toJsonSafe(read('value'), LIMITS),
    context: toJsonSafe(read('context'), LIMITS),
    ...(output !== undefined ? { output: toJsonSafe(output, LIMITS) } : {}),
    ...(error !== undefined ? { error: toJsonSafe(error, LIMITS) } : {}),
  };
}

/**
 * Receives the inspection messages of other XState apps, sent with `@statelyai/inspect`'s
 * `createWebSocketInspector({ url })`, and turns them into the page's messages: each app's session
 * ids get its prefix (`app1:x:0`; every app numbers its actors from `x:0`), machine definitions
 * (`definition`, the machine config as JSON) become statecharts, and every value is copied with
 * the same bounds as the arbiter's own. The latest state of each actor is kept, so a page that
 * opens later sees the apps as they are; messages for the pages are buffered only while one is
 * connected. Malformed input is counted, never thrown.
 *
 * @example
 * ```ts
 * const hub = new AppHub();
 * const app = hub.connect('checkout');
 * app.receive(JSON.stringify({ type: '@xstate.actor', sessionId: 'x:0', name: 'cart', snapshot: { value: 'idle' } }));
 * hub.drain(100); // [{ type: 'arbiter.app', … }, { type: '@xstate.actor', sessionId: 'app1:x:0', app: 'app1', … }]
 * ```
 */
export class AppHub {
  private readonly ring: Ring<FeedMessage>;
  private readonly apps = new Map<string, AppState>();
  private readonly machineByDefinition = new Map<string, string | null>();
  private readonly machines = new Map<string, MachineMessage>();
  private readonly wall: () => number;
  private readonly maxActors: number;
  private readonly maxApps: number;
  private readonly maxMachines: number;
  private next = 0;
  /** Whether messages are buffered for pages (the server sets it while a page is connected). */
  recording = false;
  /** Messages received from apps. */
  received = 0;
  /** Frames that were not valid inspection messages. */
  malformed = 0;

  /** Bad options throw `ArbiterInputError` naming the field (unknown keys included). */
  constructor(options: AppHubOptions = {}) {
    const o = readOptions(options, APP_HUB_KEYS);
    if (o.bufferSize !== undefined) expectInteger(o.bufferSize, 'bufferSize', 1, 10_000_000);
    if (o.maxActorsPerApp !== undefined) expectInteger(o.maxActorsPerApp, 'maxActorsPerApp', 1, 10_000_000);
    if (o.maxApps !== undefined) expectInteger(o.maxApps, 'maxApps', 1, 10_000);
    if (o.maxMachines !== undefined) expectInteger(o.maxMachines, 'maxMachines', 0, 100_000);
    if (o.wallClock !== undefined) expectFunction(o.wallClock, 'wallClock');
    this.ring = new Ring((o.bufferSize as number | undefined) ?? 2000);
    this.wall = (o.wallClock as (() => number) | undefined) ?? Date.now;
    this.maxActors = (o.maxActorsPerApp as number | undefined) ?? 2000;
    this.maxApps = (o.maxApps as number | undefined) ?? 20;
    this.maxMachines = (o.maxMachines as number | undefined) ?? 200;
  }

  /** Messages dropped because the pages could not keep up. */
  get dropped(): number {
    return this.ring.dropped;
  }

  /** Messages waiting for `drain()`. */
  get pending(): number {
    return this.ring.size;
  }

  /** Apps known now. */
  list(): AppInfo[] {
    return [...this.apps.values()].map((a) => a.info);
  }

  /** Registers a new app connection; `name` from its URL's `?name=`, if any. */
  connect(name?: string): AppConnection {
    const id = `app${++this.next}`;
    const state: AppState = {
      info: { id, name: str(name, 80) ?? id, connected: true, since: this.wall() },
      named: str(name, 80) !== undefined,
      actors: new Map(),
    };
    this.apps.set(id, state);
    this.forgetOldApps();
    this.emit({ type: 'arbiter.app', app: state.info });
    return {
      id,
      receive: (text) => this.receive(state, text),
      close: () => {
        state.info = { ...state.info, connected: false };
        this.emit({ type: 'arbiter.app', app: state.info });
      },
    };
  }

  /** Up to `max` buffered messages for the pages, oldest first. */
  drain(max: number): FeedMessage[] {
    return this.ring.take(max);
  }

  /** Everything a page that just joined needs: machines, apps, and every remembered actor as it is now. */
  describe(): FeedMessage[] {
    const out: FeedMessage[] = [...this.machines.values()];
    for (const app of this.apps.values()) {
      out.push({ type: 'arbiter.app', app: app.info } satisfies AppMessage);
      for (const actor of app.actors.values()) out.push(actor);
    }
    return out;
  }

  private emit(message: FeedMessage): void {
    if (this.recording) this.ring.push(message);
  }

  private forgetOldApps(): void {
    for (const [id, app] of this.apps) {
      if (this.apps.size <= this.maxApps) break;
      if (!app.info.connected) this.apps.delete(id);
    }
  }

  private machineOf(definition: unknown): string | undefined {
    if (typeof definition !== 'string' || definition.length > DEFINITION_MAX) return undefined;
    const known = this.machineByDefinition.get(definition);
    if (known !== undefined) return known ?? undefined;
    if (this.machineByDefinition.size >= this.maxMachines) return undefined;
    let key: string | null = null;
    try {
      const config = JSON.parse(definition) as { id?: unknown };
      if (config && typeof config === 'object' && !Array.isArray(config)) {
        const chart = statechartOf(createMachine(config as never));
        const base = `app:${str(config.id, 80) ?? 'machine'}`;
        let k = base;
        for (let n = 2; this.machines.has(k); n++) k = `${base}#${n}`;
        const message: MachineMessage = { type: 'arbiter.machine', key: k, chart };
        this.machines.set(k, message);
        this.emit(message);
        key = k;
      }
    } catch {
      // Not a machine config this XState can build: the actor shows without a statechart.
      key = null;
    }
    this.machineByDefinition.set(definition, key);
    return key ?? undefined;
  }

  private time(createdAt: unknown): string {
    const now = this.wall();
    const t = Number(createdAt);
    // Apps stamp with their own Date.now(); anything implausible is replaced by the arrival time.
    return String(Number.isFinite(t) && Math.abs(t - now) < 86_400_000 ? t : now);
  }

  private receive(app: AppState, text: string): void {
    this.received++;
    let m: Record<string, unknown>;
    try {
      const parsed: unknown = JSON.parse(text);
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new TypeError('not an object');
      m = parsed as Record<string, unknown>;
    } catch {
      this.malformed++;
      return;
    }
    const type = m['type'];
    const sid = str(m['sessionId']);
    if (typeof type !== 'string' || !TYPES.has(type) || sid === undefined) {
      this.malformed++;
      return;
    }
    const ns = (id: unknown) => {
      const s = str(id);
      return s === undefined ? undefined : `${app.info.id}:${s}`;
    };
    const sessionId = `${app.info.id}:${sid}`;
    const base = { sessionId, rootId: ns(m['rootId']) ?? sessionId, createdAt: this.time(m['createdAt']), id: null, _version: INSPECT_PROTOCOL_VERSION, app: app.info.id };
    if (type === '@xstate.actor') {
      const machine = this.machineOf(m['definition']);
      const name = str(m['name']) ?? sid;
      const parentId = ns(m['parentId']);
      const actor: ActorMessage = {
        type: '@xstate.actor',
        ...base,
        parentId,
        name,
        ...(machine !== undefined ? { machine } : {}),
        snapshot: slim(m['snapshot']),
      };
      if (!app.named && parentId === undefined) {
        app.named = true;
        app.info = { ...app.info, name };
        this.emit({ type: 'arbiter.app', app: app.info });
      }
      this.remember(app, actor);
      this.emit(actor);
      return;
    }
    if (type === '@xstate.snapshot') {
      const snapshot = slim(m['snapshot']);
      const known = app.actors.get(sessionId);
      if (known) this.remember(app, { ...known, snapshot });
      this.emit({ type: '@xstate.snapshot', ...base, event: toJsonSafe(m['event'], EVENT_LIMITS), snapshot });
      return;
    }
    this.emit({ type: '@xstate.event', ...base, sourceId: ns(m['sourceId']), event: toJsonSafe(m['event'], EVENT_LIMITS) });
  }

  private remember(app: AppState, actor: ActorMessage): void {
    app.actors.delete(actor.sessionId);
    app.actors.set(actor.sessionId, actor);
    if (app.actors.size > this.maxActors) {
      const oldest = app.actors.keys().next().value;
      if (oldest !== undefined) app.actors.delete(oldest);
    }
  }
}
