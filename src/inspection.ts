import type { AnyActorRef, InspectionEvent, Observer } from 'xstate';
import { OPERATION_ACTOR_ID } from '../machines/coordinator.machine.js';
import { ArbiterInputError } from './errors.js';
import { expectOneOf } from './validate.js';

const INSPECTION_TYPES: readonly string[] = ['@xstate.actor', '@xstate.snapshot', '@xstate.event', '@xstate.microstep', '@xstate.action'];

/**
 * `options.types` of `arbiter.inspect`, read once: a copy, or an `ArbiterInputError` naming the
 * field when it is not an array of XState inspection event types.
 * @internal
 */
export function inspectionTypes(value: unknown): string[] {
  let types: unknown[];
  try {
    if (!Array.isArray(value)) throw new TypeError('not an array');
    types = Array.from(value as unknown[]);
  } catch {
    throw new ArbiterInputError('options.types', `Expected \`options.types\` to be an array of inspection event types (${INSPECTION_TYPES.join(', ')})`);
  }
  for (const [i, t] of types.entries()) expectOneOf(t, `options.types[${i}]`, INSPECTION_TYPES);
  return types as string[];
}

/**
 * The arbiter's inspection hub: `options.inspect` and the observers added later with
 * `arbiter.inspect()` all reach the actors through this one forwarding observer, given to an
 * actor system only while someone listens, so an uninspected arbiter pays nothing. A throwing
 * observer never breaks an actor. Operations can be sampled: an operation that is not followed
 * has its inspection events (and its children's) dropped here, and so have the event types no
 * observer asked for.
 * @internal
 */
export class InspectionHub implements Observer<InspectionEvent> {
  /** Each observer, with the event types it wants (all when `undefined`). */
  private readonly observers = new Map<Observer<InspectionEvent>, ReadonlySet<string> | undefined>();
  /** The same, for the hot path: an array (replaced, never changed in place), iterated without allocating. */
  private delivery: ReadonlyArray<{ readonly observer: Observer<InspectionEvent>; readonly types: ReadonlySet<string> | undefined }> = [];
  /** Inside a filtered system's send: the event was admitted already. */
  private passing = 0;
  /** The event types some observer wants; `undefined` when one wants every type. */
  private types: ReadonlySet<string> | undefined = undefined;
  /** Observers that want every operation, and the samplers of those that want some. */
  private everyOperation = 0;
  private readonly samplers = new Set<() => boolean>();
  /** Root actors whose system already forwards to the hub. */
  private readonly attached = new WeakSet<object>();
  /** Actor systems whose inspection events are filtered before XState copies them. */
  private readonly filtered = new WeakSet<object>();
  /** Operation actors not followed. */
  private readonly ignored = new WeakSet<object>();
  /** The next operation actor to be announced is not followed (set around its creation). */
  private ignoreNext = false;

  constructor(private readonly onError: (err: unknown) => void) {}

  /** Whether anyone listens. */
  get active(): boolean {
    return this.observers.size > 0;
  }

  next(event: InspectionEvent): void {
    if (this.passing === 0 && !this.admits(event)) return;
    this.deliver(event);
  }

  private deliver(event: InspectionEvent): void {
    for (const { observer, types } of this.delivery) {
      if (types !== undefined && !types.has(event.type)) continue;
      try {
        observer.next?.(event);
      } catch (err) {
        this.onError(err);
      }
    }
    const actor = event.actorRef as AnyActorRef;
    if (event.type === '@xstate.actor' && event.rootId === actor.sessionId) {
      // The root of a system created with the hub as its inspector, announcing itself from its
      // constructor: nobody else observes that system (yet).
      this.attached.add(actor);
      this.filter(actor.system, actor);
    }
  }

  /**
   * Whether an event reaches an observer: not when no observer wants its type, nor when it is
   * about an operation not followed, or its child.
   */
  private admits(event: { type: string; actorRef: unknown }): boolean {
    const actor = event.actorRef as AnyActorRef & { _parent?: AnyActorRef };
    if (this.ignoreNext && event.type === '@xstate.actor' && actor.id === OPERATION_ACTOR_ID) {
      this.ignoreNext = false;
      this.ignored.add(actor);
      return false;
    }
    if (this.types !== undefined && !this.types.has(event.type)) return false;
    // Every operation actor has this id: the others (coordinators, roots, observers) pass without a lookup.
    if (actor.id === OPERATION_ACTOR_ID) return !this.ignored.has(actor);
    const parent = actor._parent;
    return parent === undefined || parent.id !== OPERATION_ACTOR_ID || !this.ignored.has(parent);
  }

  /**
   * XState copies every inspection event of an inspected system (one per step, event, action and
   * microstep of each of its actors) to add its `rootId`, and hands the copy to each of the
   * system's observers: an operation that is not followed, or a type nobody asked for, would still
   * cost a copy each, and a system would keep costing them after its last observer left. The
   * system's internal `_sendInspectionEvent` is wrapped to drop those first; should an XState
   * release not have it, next() still drops them (after the copy). When the hub is the system's
   * only observer (`root`: a system created with the hub as its inspector), the wrapper also
   * delivers what it admits itself, adding `rootId` to XState's event (made for this one call)
   * instead of having it copied; should anyone else start observing that system, XState delivers
   * again.
   */
  private filter(system: unknown, root?: AnyActorRef): void {
    if (system === null || typeof system !== 'object' || this.filtered.has(system)) return;
    this.filtered.add(system);
    const s = system as { _sendInspectionEvent?: unknown; inspect?: unknown };
    const send = s._sendInspectionEvent;
    if (typeof send !== 'function') return;
    let rootId = root?.sessionId;
    const inspect = s.inspect;
    if (rootId !== undefined && typeof inspect === 'function') {
      s.inspect = (...args: unknown[]) => {
        rootId = undefined;
        return inspect.apply(system, args);
      };
    } else rootId = undefined;
    s._sendInspectionEvent = (event: { type: string; actorRef: unknown; rootId?: string }) => {
      if (this.observers.size === 0 || !this.admits(event)) return;
      if (rootId !== undefined) {
        event.rootId = rootId;
        this.deliver(event as InspectionEvent);
        return;
      }
      // XState hands its copy to next() synchronously: admitted here, not asked again there.
      this.passing++;
      try {
        send(event);
      } finally {
        this.passing--;
      }
    };
  }

  /**
   * Adds an observer; `sample` (asked once per new operation) limits the operations it follows,
   * `types` the inspection events it gets.
   */
  add(observer: Observer<InspectionEvent>, sample?: () => boolean, types?: readonly string[]): () => void {
    this.observers.set(observer, types === undefined ? undefined : new Set(types));
    this.updateTypes();
    if (sample) this.samplers.add(sample);
    else this.everyOperation++;
    return () => {
      if (!this.observers.delete(observer)) return;
      this.updateTypes();
      if (sample) this.samplers.delete(sample);
      else this.everyOperation--;
    };
  }

  private updateTypes(): void {
    this.delivery = [...this.observers].map(([observer, types]) => ({ observer, types }));
    const union = new Set<string>();
    for (const types of this.observers.values()) {
      if (types === undefined) {
        this.types = undefined;
        return;
      }
      for (const t of types) union.add(t);
    }
    this.types = union;
  }

  /** Whether a new operation is followed; call once per operation, just before its actor exists. */
  follows(): boolean {
    if (this.everyOperation > 0) return true;
    for (const sample of this.samplers) {
      try {
        if (sample()) return true;
      } catch {
        // A failing sampler samples nothing.
      }
    }
    return false;
  }

  /** Runs `create`, which creates one operation actor, without following that operation. */
  withoutFollowing<T>(create: () => T): T {
    this.ignoreNext = true;
    try {
      return create();
    } finally {
      this.ignoreNext = false;
    }
  }

  /** Makes the system of `root` (a root actor) report to the hub, once. */
  attach(root: AnyActorRef): void {
    if (this.attached.has(root)) return;
    this.attached.add(root);
    root.system.inspect(this);
    this.filter(root.system);
  }

  /** Announces a live actor to one observer (`@xstate.actor`), as XState does for new ones. */
  announce(observer: Observer<InspectionEvent>, actor: AnyActorRef, root: AnyActorRef): void {
    if (this.ignored.has(actor) || this.observers.get(observer)?.has('@xstate.actor') === false) return;
    try {
      observer.next?.({ type: '@xstate.actor', actorRef: actor, rootId: root.sessionId });
    } catch (err) {
      this.onError(err);
    }
  }
}
