import {
  enqueueActions,
  setup,
  type ActorLogic,
  type ActorSystem,
  type ActorRefFrom,
  type AnyActorRef,
  type Snapshot,
  type Subscription,
} from 'xstate';
import type { Subscribable } from 'rxjs';
import type { ArbiterEvent } from '../src/events.js';

/**
 * Something that watches the arbiter's events: the metrics, health, cleanup and breaker
 * observers, or your own. `observe` runs synchronously for every event, in order.
 *
 * @example
 * ```ts
 * let count = 0;
 * const counter: EventObserver = { observe: () => void count++, summary: () => ({ count }) };
 * ```
 */
export interface EventObserver {
  observe(event: ArbiterEvent): void;
  /** A small plain summary of its state: the actor's context, refreshed on `observer.sample`. */
  summary?(): unknown;
  /** Called once when the observer's actor stops. */
  stop?(): void;
}

/** What an {@link eventObserverLogic} actor is started with. */
export interface EventObserverInput<TObserver extends EventObserver = EventObserver> {
  readonly events$: Subscribable<ArbiterEvent>;
  readonly observer: TObserver;
}

/**
 * The snapshot of an observer actor: its `context` is the observer's summary (plain data, as
 * XState context should be), taken at start and again on each `observer.sample` event. The
 * observer itself (whose state changes in place with every event: a new snapshot per event would
 * cost an allocation per event on the arbiter's hot path) is reached with {@link observerOf}.
 */
export type EventObserverSnapshot = Snapshot<undefined> & { readonly context: unknown };

interface Internals {
  readonly input: EventObserverInput;
  subscription: Subscription | undefined;
}

// The live parts of a snapshot stay out of its enumerable fields, so that an inspector
// serializing snapshots sees the summary only.
const internals = new WeakMap<object, Internals>();

function summarize(observer: EventObserver): unknown {
  try {
    return observer.summary?.() ?? {};
  } catch (err) {
    return { summaryFailed: err instanceof Error ? err.message : String(err) };
  }
}

function snapshotOf(status: EventObserverSnapshot['status'], context: unknown, parts: Internals): EventObserverSnapshot {
  const snapshot = { status, output: undefined, error: undefined, context } as EventObserverSnapshot;
  internals.set(snapshot, parts);
  return snapshot;
}

/**
 * Actor logic of an observer fed by the arbiter's RxJS event stream: started, it subscribes to
 * `input.events$` and hands every event to `input.observer.observe`; on `observer.sample` its
 * snapshot takes a fresh `summary()`; stopped, it unsubscribes and calls `observer.stop()`. The
 * events reach it through the subscription, not through the actor's mailbox, so watching costs
 * one function call per event.
 *
 * @example
 * ```ts
 * import { createActor } from 'xstate';
 * let count = 0;
 * const observer = { observe: () => void count++, summary: () => ({ count }) };
 * const actor = createActor(eventObserverLogic, { input: { events$: arbiter.events$, observer } }).start();
 * actor.send({ type: 'observer.sample' });
 * actor.getSnapshot().context; // { count: … }
 * ```
 */
export const eventObserverLogic: ActorLogic<EventObserverSnapshot, { type: string }, EventObserverInput, ActorSystem<any>> = {
  transition(snapshot, event) {
    const parts = internals.get(snapshot);
    if (snapshot.status !== 'active' || parts === undefined) return snapshot;
    if (event.type === 'observer.sample') return snapshotOf('active', summarize(parts.input.observer), parts);
    if (event.type !== 'xstate.stop') return snapshot;
    parts.subscription?.unsubscribe();
    parts.subscription = undefined;
    parts.input.observer.stop?.();
    return snapshotOf('stopped', snapshot.context, parts);
  },
  getInitialSnapshot(_scope, input) {
    return snapshotOf('active', summarize(input.observer), { input, subscription: undefined });
  },
  start(snapshot) {
    const parts = internals.get(snapshot);
    if (snapshot.status !== 'active' || parts === undefined) return;
    const observer = parts.input.observer;
    parts.subscription = parts.input.events$.subscribe({ next: (e) => observer.observe(e) }) as Subscription;
  },
  getPersistedSnapshot(snapshot) {
    return { status: snapshot.status, output: undefined, error: undefined, context: snapshot.context } as never;
  },
};

/** What the arbiter's observers actor is started with: one child per named observer. */
export interface ObserversInput {
  readonly events$: Subscribable<ArbiterEvent>;
  readonly observers: Readonly<Record<string, EventObserver>>;
}

/**
 * The arbiter's observers as one small actor tree: a parent `observers` with one
 * {@link eventObserverLogic} child per observer (`ledger`, `metrics`, `health`, `cleanup`, and
 * `breaker` when it is on), each subscribed to `events$`. They live in their own actor system,
 * apart from the coordinators' traffic, and appear in the inspector's actor tree.
 *
 * @example
 * ```ts
 * const observers = createActor(observersMachine, { input: { events$, observers: { ledger } } }).start();
 * observers.getSnapshot().children.ledger;
 * ```
 */
export const observersMachine = setup({
  types: {
    context: {} as ObserversInput,
    input: {} as ObserversInput,
  },
  actors: { observer: eventObserverLogic },
}).createMachine({
  id: 'observers',
  context: ({ input }) => input,
  entry: enqueueActions(({ context, enqueue }) => {
    for (const [id, observer] of Object.entries(context.observers)) {
      enqueue.spawnChild('observer', { id, input: { events$: context.events$, observer } as never });
    }
  }),
  on: {
    // Refreshes every observer's summary (what an inspector shows of them).
    'observer.sample': {
      actions: enqueueActions(({ context, enqueue }) => {
        for (const id of Object.keys(context.observers)) enqueue.sendTo(id, { type: 'observer.sample' });
      }),
    },
  },
});

/** A running observers actor. */
export type ObserversActorRef = ActorRefFrom<typeof observersMachine>;

/**
 * The observer of an observer actor (or of the child `id` of an observers actor).
 *
 * @example
 * ```ts
 * const ledger = observerOf<Ledger>(arbiter.observers, 'ledger');
 * ```
 */
export function observerOf<T extends EventObserver>(actor: AnyActorRef, id?: string): T | undefined {
  const target = id === undefined ? actor : (actor.getSnapshot() as { children?: Record<string, AnyActorRef | undefined> }).children?.[id];
  const snapshot = target?.getSnapshot() as object | undefined;
  return snapshot === undefined ? undefined : (internals.get(snapshot)?.input.observer as T | undefined);
}
