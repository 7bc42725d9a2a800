import type { AnyActorRef, AnyMachineSnapshot, EventObject, Observer } from 'xstate';
import type { OperationSubmission } from '../machines/coordinator.machine.js';
import type { OperationInput } from '../machines/operation.machine.js';
import { ArbiterInputError, OperationRejectedError } from './errors.js';
import type { OperationHandle, OperationStatus, RejectionCode } from './types.js';

/**
 * What the arbiter knows about one operation: live ones always, final ones while retained.
 *
 * @example
 * ```ts
 * const info = arbiter.operations.get(handle.id);
 * if (info?.status === 'rejected') console.log(info.code, info.reason);
 * ```
 */
export interface OperationInfo {
  readonly id: string;
  readonly target: string;
  readonly type: string;
  readonly priority: number;
  readonly effectivePriority: number;
  readonly parentId: string | undefined;
  readonly seq: number;
  readonly status: OperationStatus;
  readonly submittedAt: number;
  /** Clock time it won (started holding its target), if it did. */
  readonly startedAt: number | undefined;
  readonly finishedAt: number | undefined;
  readonly attempt: number;
  readonly won: boolean;
  readonly code: RejectionCode | undefined;
  readonly reason: string | undefined;
  /** Id of its operation record in the record store: set when it won (never for a loser). */
  readonly storeId: string | undefined;
}

/**
 * A filter for `arbiter.operations.query`. Every given field must match.
 *
 * @example
 * ```ts
 * arbiter.operations.query({ status: 'rejected', code: 'lost-arbitration' });
 * ```
 */
export interface OperationQuery {
  status?: OperationStatus;
  target?: string;
  code?: RejectionCode;
}

/**
 * Read access to the operations the arbiter knows.
 *
 * @example
 * ```ts
 * for (const op of arbiter.operations.query({ target: 'account-42' })) console.log(op.status);
 * ```
 */
export interface OperationsView {
  get(id: string): OperationInfo | undefined;
  query(filter?: OperationQuery): OperationInfo[];
  /** Live plus retained final operations. */
  readonly size: number;
}

/** What a record calls back into: one object per arbiter. @internal */
export interface RecordEngine {
  /** Why `type` is not an event of the lifecycle (with a suggestion), or `undefined` if it is. */
  unknownEvent(type: string): string | undefined;
  observe(record: OperationRecord, snapshot: AnyMachineSnapshot): void;
  finalize(record: OperationRecord, snapshot: AnyMachineSnapshot | undefined, error?: unknown): void;
}

const noop = (): void => {};

/**
 * The arbiter's state of one operation. It is also the operation actor's observer and the
 * submission its coordinator receives: methods on one prototype instead of closures per
 * submission (measurably less allocation on the hot path).
 * @internal
 */
export class OperationRecord implements OperationSubmission, Observer<AnyMachineSnapshot> {
  status: OperationStatus = 'pending';
  attempt = 0;
  /** Passed admission and counted against the staging limits until decided. */
  admitted = false;
  won = false;
  /** True until the operation is settled. */
  open = true;
  /** Clock time it won. */
  startedAt: number | undefined = undefined;
  /** Clock time its `execute` first started. */
  firstStartedAt: number | undefined = undefined;
  finishedAt: number | undefined = undefined;
  code: RejectionCode | undefined = undefined;
  reason: string | undefined = undefined;
  timer: unknown = undefined;
  storeId: string | undefined = undefined;
  actor: AnyActorRef | undefined = undefined;
  /** Events sent before its coordinator created the actor (a submission made from inside a callback of that coordinator). */
  backlog: EventObject[] | undefined = undefined;
  /** Status listeners of `handle.subscribe`/`handle.reached` (none for most operations). */
  listeners: Set<(status: OperationStatus) => void> | undefined = undefined;
  // `handle.result` is made when first asked for: an operation whose result nobody reads costs no
  // promise, no resolving functions and no rejection error.
  private promise: Promise<unknown> | undefined = undefined;
  private settleWith: ((outcome: unknown) => void) | undefined = undefined;
  private failWith: ((err: unknown) => void) | undefined = undefined;
  /** Its value once completed, or the cause of its rejection. */
  private outcome: unknown = undefined;

  constructor(
    readonly input: OperationInput,
    readonly engine: RecordEngine,
  ) {}

  get id(): string {
    return this.input.id;
  }

  get target(): string {
    return this.input.target;
  }

  get type(): string {
    return this.input.type;
  }

  get priority(): number {
    return this.input.priority;
  }

  get effectivePriority(): number {
    return this.input.effectivePriority;
  }

  get parentId(): string | undefined {
    return this.input.parentId;
  }

  get seq(): number {
    return this.input.seq;
  }

  get submittedAt(): number {
    return this.input.submittedAt;
  }

  /** The record is its actor's observer. */
  get observer(): Observer<AnyMachineSnapshot> {
    return this;
  }

  created(actor: AnyActorRef): void {
    this.actor = actor;
    const backlog = this.backlog;
    if (backlog === undefined) return;
    this.backlog = undefined;
    // Delivered when the actor starts (XState queues events sent before start).
    for (const event of backlog) actor.send(event);
  }

  /** Sends to the actor, or keeps the event until the actor exists. */
  deliver(event: EventObject): void {
    if (this.actor) this.actor.send(event);
    else (this.backlog ??= []).push(event);
  }

  next(snapshot: AnyMachineSnapshot): void {
    this.engine.observe(this, snapshot);
  }

  /** Tells the status listeners; a throwing listener is its own problem, never the arbiter's. */
  changed(): void {
    if (this.listeners === undefined) return;
    for (const listener of [...this.listeners]) {
      try {
        listener(this.status);
      } catch {
        // Isolated: a listener cannot stop the others or the operation.
      }
    }
    if (!this.open) this.listeners = undefined;
  }

  listen(listener: (status: OperationStatus) => void): () => void {
    if (!this.open) return noop;
    (this.listeners ??= new Set()).add(listener);
    return () => void this.listeners?.delete(listener);
  }

  error(err: unknown): void {
    this.engine.finalize(this, undefined, err);
  }

  /** The promise behind `handle.result`; marked handled, so nobody has to await it. */
  result(): Promise<unknown> {
    if (this.promise !== undefined) return this.promise;
    if (!this.open) {
      this.promise = this.status === 'completed' ? Promise.resolve(this.outcome) : Promise.reject(this.rejection());
    } else {
      this.promise = new Promise<unknown>((resolve, reject) => {
        this.settleWith = resolve;
        this.failWith = reject;
      });
    }
    this.promise.catch(noop);
    return this.promise;
  }

  /** Settles `result` with the value (completed). */
  succeed(value: unknown): void {
    this.outcome = value;
    this.settleWith?.(value);
    this.settleWith = this.failWith = undefined;
  }

  /** Settles `result` with an `OperationRejectedError` (code and reason already set). */
  fail(cause: unknown): void {
    this.outcome = cause;
    this.failWith?.(this.rejection());
    this.settleWith = this.failWith = undefined;
  }

  private rejection(): OperationRejectedError {
    return new OperationRejectedError({
      code: this.code!,
      reason: this.reason!,
      operationId: this.id,
      target: this.target,
      cause: this.outcome,
    });
  }

  /** A frozen copy for readers. */
  info(): OperationInfo {
    return Object.freeze({
      id: this.id,
      target: this.target,
      type: this.type,
      priority: this.priority,
      effectivePriority: this.effectivePriority,
      parentId: this.parentId,
      seq: this.seq,
      status: this.status,
      submittedAt: this.submittedAt,
      startedAt: this.startedAt,
      finishedAt: this.finishedAt,
      attempt: this.attempt,
      won: this.won,
      code: this.code,
      reason: this.reason,
      storeId: this.storeId,
    });
  }
}

/** The handle `submit` returns: a view on the record. @internal */
export class Handle<TResult> implements OperationHandle<TResult> {
  constructor(private readonly record: OperationRecord) {}

  get result(): Promise<TResult> {
    return this.record.result() as Promise<TResult>;
  }

  get id(): string {
    return this.record.id;
  }

  get target(): string {
    return this.record.target;
  }

  get actor(): AnyActorRef | undefined {
    return this.record.actor;
  }

  status(): OperationStatus {
    return this.record.status;
  }

  subscribe(listener: (status: OperationStatus) => void): { unsubscribe(): void } {
    if (typeof listener !== 'function') throw new ArbiterInputError('listener', `Expected \`listener\` to be a function, got ${typeof listener}`);
    return { unsubscribe: this.record.listen(listener) };
  }

  reached(status: OperationStatus): Promise<boolean> {
    if (typeof status !== 'string' || status === '') {
      throw new ArbiterInputError('status', 'Expected `status` to be a state name such as `executing` or a step of your lifecycle');
    }
    const record = this.record;
    if (record.status === status) return Promise.resolve(true);
    if (!record.open) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      const stop = record.listen((now) => {
        if (now === status) {
          stop();
          resolve(true);
        } else if (!record.open) {
          stop();
          resolve(false);
        }
      });
    });
  }

  cancel(reason?: string): boolean {
    if (!this.record.open) return false;
    if (reason !== undefined && typeof reason !== 'string') {
      throw new ArbiterInputError('reason', `Expected \`reason\` to be a string, got ${typeof reason}`);
    }
    this.record.deliver({ type: 'arbiter.cancel', reason: reason ?? 'cancelled by caller' } as EventObject);
    // Without an actor yet, the cancel is delivered when it starts: it will be cancelled.
    return this.record.actor === undefined || !this.record.open;
  }

  send(event: { type: string; [key: string]: unknown }): void {
    if (!event || typeof event !== 'object' || typeof event.type !== 'string') {
      throw new ArbiterInputError('event.type', 'Expected `event.type` to be a string');
    }
    const type = event.type;
    if (type.startsWith('arbiter.') || type.startsWith('xstate.')) {
      throw new ArbiterInputError('event.type', `Event type ${type} is reserved for the arbiter`);
    }
    // A typo (`aprove`) would otherwise be ignored by the machine without a word.
    const unknown = this.record.engine.unknownEvent(type);
    if (unknown !== undefined) throw new ArbiterInputError('event.type', unknown);
    // A copy: the caller's object is read once and cannot change under the machine.
    this.record.deliver({ ...event, type });
  }
}
