import { Observable, Subject, Subscriber, type Observer, type Operator, type Subscription } from 'rxjs';
import type { RejectionCode } from './types.js';

/** Fields every arbiter event carries. */
export interface ArbiterEventBase {
  /** Arbiter-wide sequence number: events are totally ordered by it. */
  readonly seq: number;
  /** Clock time (monotonic milliseconds) of the event. */
  readonly at: number;
  readonly target: string;
}

/** @see ArbiterEvent */
export interface OperationSubmittedEvent extends ArbiterEventBase {
  readonly type: 'operation.submitted';
  readonly operationId: string;
  readonly operationType: string;
  readonly priority: number;
  readonly effectivePriority: number;
  readonly parentId?: string;
}
/** @see ArbiterEvent */
export interface OperationStagedEvent extends ArbiterEventBase {
  readonly type: 'operation.staged';
  readonly operationId: string;
  readonly priority: number;
  readonly effectivePriority: number;
}
/** @see ArbiterEvent */
export interface ConflictDetectedEvent extends ArbiterEventBase {
  readonly type: 'conflict.detected';
  readonly candidateIds: readonly string[];
  readonly windowOpenedAt: number;
}
/** @see ArbiterEvent */
export interface ConflictResolvedEvent extends ArbiterEventBase {
  readonly type: 'conflict.resolved';
  readonly candidateIds: readonly string[];
  readonly winnerId: string | null;
  readonly loserIds: readonly string[];
  /** `start`, `hold` (target busy) or `none` (no-winner / arbitration-failed). */
  readonly decision: 'start' | 'hold' | 'none';
  /** Losers that stay staged for the next window (`onLose: 'retry'`), when there are some; not in `loserIds`. */
  readonly requeuedIds?: readonly string[];
  readonly code?: RejectionCode;
  readonly priority?: number;
  /**
   * With a shared backend (Redis): the process that staged each candidate, by candidate id
   * (candidates of other processes are in `candidateIds` too). Absent in memory.
   */
  readonly processIds?: Readonly<Record<string, string>>;
  /** Wall time spent deciding, in milliseconds (sub-millisecond precision). */
  readonly durationMs: number;
}
/** @see ArbiterEvent */
export interface OperationWonEvent extends ArbiterEventBase {
  readonly type: 'operation.won';
  readonly operationId: string;
  /** Its effective priority. */
  readonly priority: number;
  /** Its record in the arbiter's record store, when it has one (see `records`). */
  readonly storeId?: string;
  /** Time spent registering it in the record store, in milliseconds (with a record store). */
  readonly promotionMs?: number;
}
/** @see ArbiterEvent */
export interface OperationRequeuedEvent extends ArbiterEventBase {
  readonly type: 'operation.requeued';
  readonly operationId: string;
  /** Windows it has lost so far (it is rejected at `maxLosses`). */
  readonly losses: number;
  /** The window's winner. */
  readonly winnerId: string;
}
/** @see ArbiterEvent */
export interface OperationPromotedEvent extends ArbiterEventBase {
  readonly type: 'operation.promoted';
  readonly operationId: string;
  /** Milliseconds spent registering its record in the record store. */
  readonly durationMs: number;
  /** `false` when the record store threw (the operation went on without a record). */
  readonly ok: boolean;
}
/** @see ArbiterEvent */
export interface OperationProtectedEvent extends ArbiterEventBase {
  readonly type: 'operation.protected';
  /** The executing operation its grace period protected. */
  readonly operationId: string;
  readonly priority: number;
  /** The window's winner that outranked it, and stays staged. */
  readonly byId: string;
  readonly byPriority: number;
  /** How long it had been holding the target. */
  readonly ageMs: number;
  readonly gracePeriodMs: number;
}
/** @see ArbiterEvent */
export interface OperationStartedEvent extends ArbiterEventBase {
  readonly type: 'operation.started';
  readonly operationId: string;
  readonly operationType: string;
  readonly priority: number;
  readonly attempt: number;
}
/** @see ArbiterEvent */
export interface OperationRetryingEvent extends ArbiterEventBase {
  readonly type: 'operation.retrying';
  readonly operationId: string;
  readonly attempt: number;
  readonly reason: string;
}
/** @see ArbiterEvent */
export interface OperationPreemptedEvent extends ArbiterEventBase {
  readonly type: 'operation.preempted';
  readonly operationId: string;
  readonly priority: number;
  readonly byId: string;
  readonly reason: string;
}
/** @see ArbiterEvent */
export interface OperationCompletedEvent extends ArbiterEventBase {
  readonly type: 'operation.completed';
  readonly operationId: string;
  readonly operationType: string;
  readonly priority: number;
  readonly attempt: number;
  /** From submission to completion. */
  readonly durationMs: number;
  /** From the first start of `execute` to completion (0 if it completed without executing). */
  readonly executionMs: number;
}
/** @see ArbiterEvent */
export interface OperationRejectedEvent extends ArbiterEventBase {
  readonly type: 'operation.rejected';
  readonly operationId: string;
  readonly operationType: string;
  readonly priority: number;
  /** A built-in code, or one of your lifecycle's. */
  readonly code: RejectionCode | (string & {});
  readonly reason: string;
  readonly attempt: number;
  /** From submission to rejection. */
  readonly durationMs: number;
  /** Whether it had won (held its target) before being rejected. */
  readonly won: boolean;
  /**
   * For an execution that ended `execution-failed` or `retries-exhausted`: `true` when its error is
   * a business outcome (see `ExpectedError` and `createArbiter({ isFailure })`), which the breaker and
   * health count as a success.
   */
  readonly expected?: boolean;
  /** The state it was rejected from (`pending` when refused before reaching a coordinator). */
  readonly from: string;
}
/** @see ArbiterEvent */
export interface CoordinatorStartedEvent extends ArbiterEventBase {
  readonly type: 'coordinator.started';
}
/** @see ArbiterEvent */
export interface CoordinatorStoppedEvent extends ArbiterEventBase {
  readonly type: 'coordinator.stopped';
  /** `idle` (no work for `idleCoordinatorMs`) or `shutdown` (the arbiter stopped). */
  readonly reason: 'idle' | 'shutdown';
}
/** @see ArbiterEvent */
export interface CoordinatorFailedEvent extends ArbiterEventBase {
  readonly type: 'coordinator.failed';
  /** What made it fail. */
  readonly reason: string;
  /** Operations it still had, each ended (`arbitration-failed` if staged, else `shutdown`). */
  readonly rejected: number;
}
/** @see ArbiterEvent */
export interface ArbitrationTimedOutEvent extends ArbiterEventBase {
  readonly type: 'arbitration.timedOut';
  readonly candidateIds: readonly string[];
  /** The bound it passed (`arbitrationTimeoutMs`). */
  readonly timeoutMs: number;
  /** How long `selectWinner` took. */
  readonly durationMs: number;
}
/** @see ArbiterEvent */
export interface CleanupCompletedEvent extends ArbiterEventBase {
  readonly type: 'cleanup.completed';
  /** The operation whose record left the record store. */
  readonly operationId: string;
  readonly durationMs: number;
}
/** @see ArbiterEvent */
export interface CleanupFailedEvent extends ArbiterEventBase {
  readonly type: 'cleanup.failed';
  readonly operationId?: string;
  readonly durationMs: number;
  readonly error: string;
}

/**
 * Every event on `arbiter.events$`, discriminated by `type`. Events of one operation arrive in
 * lifecycle order; `seq` orders all of them.
 *
 * @example
 * ```ts
 * arbiter.events$.subscribe((e) => {
 *   if (e.type === 'operation.rejected') console.log(e.operationId, e.code, e.reason);
 * });
 * ```
 */
export type ArbiterEvent =
  | OperationSubmittedEvent
  | OperationStagedEvent
  | ConflictDetectedEvent
  | ConflictResolvedEvent
  | OperationWonEvent
  | OperationRequeuedEvent
  | OperationPromotedEvent
  | OperationProtectedEvent
  | OperationStartedEvent
  | OperationRetryingEvent
  | OperationPreemptedEvent
  | OperationCompletedEvent
  | OperationRejectedEvent
  | CoordinatorStartedEvent
  | CoordinatorStoppedEvent
  | CoordinatorFailedEvent
  | ArbitrationTimedOutEvent
  | CleanupCompletedEvent
  | CleanupFailedEvent;

/** The `type` of an {@link ArbiterEvent}. */
export type ArbiterEventType = ArbiterEvent['type'];

/**
 * Every event type, in lifecycle order.
 *
 * @example
 * ```ts
 * ARBITER_EVENT_TYPES.includes('conflict.resolved'); // true
 * ```
 */
export const ARBITER_EVENT_TYPES = [
  'operation.submitted',
  'operation.staged',
  'conflict.detected',
  'conflict.resolved',
  'operation.won',
  'operation.requeued',
  'operation.promoted',
  'operation.protected',
  'operation.started',
  'operation.retrying',
  'operation.preempted',
  'operation.completed',
  'operation.rejected',
  'coordinator.started',
  'coordinator.stopped',
  'coordinator.failed',
  'arbitration.timedOut',
  'cleanup.completed',
  'cleanup.failed',
] as const satisfies readonly ArbiterEventType[];

/** Distributes `Omit` over a union, keeping each member's own fields. */
export type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** An event before the emitter stamps `seq` and `at`. */
export type ArbiterEventInput = DistributiveOmit<ArbiterEvent, 'seq' | 'at'>;

/**
 * An RxJS `Observable` whose consumers are isolated: a consumer callback that throws is reported
 * to `onError` instead of RxJS's asynchronous rethrow (which would crash a Node process), and the
 * stream keeps delivering to everyone, that consumer included. Operators applied with `pipe`
 * keep the isolation because `lift` returns this class.
 *
 * @example
 * ```ts
 * arbiter.events$.pipe(filter((e) => e.type === 'conflict.resolved')).subscribe(render);
 * ```
 */
export class IsolatedObservable<T> extends Observable<T> {
  /** @internal */
  readonly onError: (err: unknown) => void;

  constructor(
    subscribe: ((this: Observable<T>, subscriber: Subscriber<T>) => unknown) | undefined,
    onError: (err: unknown) => void,
  ) {
    super(subscribe as never);
    this.onError = onError;
  }

  /** @internal RxJS 7 builds every operator through `lift`; keep the subclass along the chain. */
  override lift<R>(operator?: Operator<T, R>): Observable<R> {
    const next = new IsolatedObservable<R>(undefined, this.onError);
    (next as unknown as { source: Observable<T> }).source = this;
    (next as unknown as { operator?: Operator<T, R> }).operator = operator;
    return next;
  }

  override subscribe(observerOrNext?: Partial<Observer<T>> | ((value: T) => void) | null): Subscription {
    if (observerOrNext instanceof Subscriber || observerOrNext == null) {
      return super.subscribe(observerOrNext ?? undefined);
    }
    const onError = this.onError;
    const guard =
      <A extends unknown[]>(fn: ((...args: A) => void) | undefined, self: unknown) =>
      (...args: A) => {
        if (!fn) return;
        try {
          fn.apply(self, args);
        } catch (err) {
          onError(err);
        }
      };
    if (typeof observerOrNext === 'function') return super.subscribe(guard(observerOrNext, undefined));
    const o = observerOrNext;
    return super.subscribe({
      next: guard(o.next, o),
      error: guard(o.error, o),
      complete: guard(o.complete, o),
    });
  }
}

/**
 * The arbiter's event bus: stamps `seq` and `at`, and skips building events nobody listens to.
 * @internal
 */
export class EventBus {
  private readonly subject = new Subject<ArbiterEvent>();
  private seq = 0;
  private depth = 0;
  private queued: ArbiterEventInput[] = [];
  readonly events$: IsolatedObservable<ArbiterEvent>;

  constructor(
    private readonly now: () => number,
    onObserverError: (err: unknown) => void,
  ) {
    const subject = this.subject;
    this.events$ = new IsolatedObservable<ArbiterEvent>((subscriber) => subject.subscribe(subscriber), onObserverError);
  }

  /** Whether anyone listens: callers skip building events when not. */
  get observed(): boolean {
    return this.subject.observed;
  }

  emit(event: ArbiterEventInput): void {
    const stamped = event as ArbiterEvent & { seq: number; at: number };
    stamped.seq = ++this.seq;
    stamped.at = this.now();
    // Every observer gets the same object: frozen, so none can change what the next one sees
    // (the metrics and cleanup actors among them). Arrays in events are frozen where built.
    this.depth++;
    try {
      this.subject.next(Object.freeze(stamped));
    } finally {
      this.depth--;
    }
    if (this.depth === 0 && this.queued.length > 0) this.flush();
  }

  /**
   * Emits `event` once the event being delivered now (if any) has reached every observer: what
   * an observer causes (a cleanup record dropped while it watches a final event) then comes after
   * it, in `seq` order, for every observer.
   */
  emitSoon(event: ArbiterEventInput): void {
    if (this.depth === 0) this.emit(event);
    else this.queued.push(event);
  }

  private flush(): void {
    const queued = this.queued;
    this.queued = [];
    for (const event of queued) this.emit(event);
  }

  complete(): void {
    this.subject.complete();
  }
}
