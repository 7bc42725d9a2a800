import type { AnyActorRef, InspectionEvent, Observer } from 'xstate';
import { OPERATION_ACTOR_ID } from '../machines/coordinator.machine.js';

/**
 * The arbiter's inspection hub: `options.inspect` and the observers added later with
 * `arbiter.inspect()` all reach the actors through this one forwarding observer, given to an
 * actor system only while someone listens, so an uninspected arbiter pays nothing. A throwing
 * observer never breaks an actor. Operations can be sampled: an operation that is not followed
 * has its inspection events (and its children's) dropped here.
 * @internal
 */
export class InspectionHub implements Observer<InspectionEvent> {
  private readonly observers = new Set<Observer<InspectionEvent>>();
  /** Observers that want every operation, and the samplers of those that want some. */
  private everyOperation = 0;
  private readonly samplers = new Set<() => boolean>();
  /** Root actors whose system already forwards to the hub. */
  private readonly attached = new WeakSet<object>();
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
    const actor = event.actorRef as AnyActorRef & { _parent?: AnyActorRef };
    if (this.ignoreNext && event.type === '@xstate.actor' && actor.id === OPERATION_ACTOR_ID) {
      this.ignoreNext = false;
      this.ignored.add(actor);
      return;
    }
    if (this.ignored.has(actor) || (actor._parent !== undefined && this.ignored.has(actor._parent))) return;
    for (const o of this.observers) {
      try {
        o.next?.(event);
      } catch (err) {
        this.onError(err);
      }
    }
    if (event.type === '@xstate.actor' && event.rootId === actor.sessionId) this.attached.add(actor);
  }

  /** Adds an observer; `sample` (asked once per new operation) limits the operations it follows. */
  add(observer: Observer<InspectionEvent>, sample?: () => boolean): () => void {
    this.observers.add(observer);
    if (sample) this.samplers.add(sample);
    else this.everyOperation++;
    return () => {
      if (!this.observers.delete(observer)) return;
      if (sample) this.samplers.delete(sample);
      else this.everyOperation--;
    };
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
  }

  /** Announces a live actor to one observer (`@xstate.actor`), as XState does for new ones. */
  announce(observer: Observer<InspectionEvent>, actor: AnyActorRef, root: AnyActorRef): void {
    if (this.ignored.has(actor)) return;
    try {
      observer.next?.({ type: '@xstate.actor', actorRef: actor, rootId: root.sessionId });
    } catch (err) {
      this.onError(err);
    }
  }
}
