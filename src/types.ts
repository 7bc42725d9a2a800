import type { AnyActorRef } from 'xstate';

/**
 * Every reason an operation can end `rejected`. Each rejection carries one of these
 * plus a human-readable `reason`.
 *
 * @example
 * ```ts
 * if (REJECTION_CODES.includes(err.code)) metrics.inc(err.code);
 * ```
 */
export const REJECTION_CODES = [
  'lost-arbitration',
  'preempted',
  'retries-exhausted',
  'execution-failed',
  'staging-full',
  'no-winner',
  'arbitration-failed',
  'cancelled',
  'timeout',
  'circuit-open',
  'shutdown',
  'backend-unavailable',
] as const;

/** One of {@link REJECTION_CODES}. */
export type RejectionCode = (typeof REJECTION_CODES)[number];

/**
 * The top-level state of an operation. Extended lifecycles may add their own names.
 *
 * @example
 * ```ts
 * if (handle.status() === 'executing') showSpinner();
 * ```
 */
export type OperationStatus =
  | 'pending'
  | 'staged'
  | 'executing'
  | 'retrying'
  | 'completed'
  | 'rejected'
  | (string & {});

/**
 * Timer source shared by every actor of one arbiter. XState's `SimulatedClock`
 * satisfies it; without one the arbiter uses `setTimeout` and `performance.now()`.
 *
 * @example
 * ```ts
 * import { SimulatedClock } from 'xstate';
 * const clock = new SimulatedClock();
 * const arbiter = createArbiter({ clock });
 * clock.increment(100); // closes every 100 ms window
 * ```
 */
export interface ArbiterClock {
  setTimeout(fn: (...args: unknown[]) => void, timeout: number): unknown;
  clearTimeout(id: unknown): void;
  /** Monotonic milliseconds. Defaults to `performance.now()` when absent. */
  now?(): number;
}

/**
 * Exponential backoff between execution attempts: `baseDelayMs · factor^retry`,
 * capped at `maxDelayMs`, with "equal jitter" (a delay uniformly drawn from the upper half).
 *
 * @example
 * ```ts
 * createArbiter({ retry: { baseDelayMs: 10, factor: 2, maxDelayMs: 1000, jitter: true } });
 * ```
 */
export interface RetryOptions {
  /** @default 10 */
  baseDelayMs: number;
  /** @default 2 */
  factor: number;
  /** @default 1000 */
  maxDelayMs: number;
  /** @default true */
  jitter: boolean;
}

/**
 * An operation competing in a window, as seen by `selectWinner`.
 *
 * @example
 * ```ts
 * const vipFirst: SelectWinner<{ vip: boolean }> = (cs) => cs.find((c) => c.data.vip) ?? cs[0] ?? null;
 * ```
 */
export interface Candidate<TData = unknown> {
  readonly id: string;
  readonly target: string;
  readonly type: string;
  readonly priority: number;
  /** The highest priority along the `parentId` chain, including its own. */
  readonly effectivePriority: number;
  /** Monotonic milliseconds (the arbiter's clock) at submission. */
  readonly submittedAt: number;
  /** Submission sequence number, unique per arbiter, the last tie-breaker. */
  readonly seq: number;
  readonly data: TData;
}

/**
 * An operation holding the target (it won and is executing or retrying).
 *
 * @example
 * ```ts
 * const oldest = ctx.executing.reduce((a, b) => (a.startedAt < b.startedAt ? a : b));
 * ```
 */
export interface Holder {
  readonly id: string;
  readonly priority: number;
  readonly effectivePriority: number;
  /** Clock time at which it won. */
  readonly startedAt: number;
}

/**
 * What a custom `selectWinner` may look at besides the candidates.
 *
 * @example
 * ```ts
 * const selectWinner: SelectWinner = (cs, ctx) => (ctx.executing.length ? null : cs[0] ?? null);
 * ```
 */
export interface ArbitrationContext {
  readonly target: string;
  /** Clock time at which the window closed. */
  readonly now: number;
  /** Clock time at which the window opened. */
  readonly windowOpenedAt: number;
  readonly executing: readonly Holder[];
}

/**
 * Chooses the winner of a window. Return one of the given candidates, or `null` to
 * reject them all with `no-winner`. Throwing rejects all with `arbitration-failed`.
 *
 * @example
 * ```ts
 * const fifo: SelectWinner = (candidates) => candidates[0] ?? null;
 * ```
 */
export type SelectWinner<TData = any> = (
  candidates: readonly Candidate<TData>[],
  ctx: ArbitrationContext,
) => Candidate<TData> | null | undefined;

/**
 * What the arbiter does with a window's winner when its target is still busy.
 * `preempt` aborts a lower-priority holder once it is past `gracePeriodMs`;
 * `queue` waits; `concurrent` runs alongside.
 *
 * @example
 * ```ts
 * createArbiter({ whileExecuting: 'queue' });
 * ```
 */
export type WhileExecuting = 'preempt' | 'queue' | 'concurrent';

/**
 * The argument passed to an operation's `execute`.
 *
 * @example
 * ```ts
 * execute: async ({ signal, attempt }) => fetch(url, { signal }).then((r) => r.json())
 * ```
 */
export interface ExecuteArgs<TData = unknown> {
  readonly id: string;
  readonly target: string;
  readonly type: string;
  /** 1 for the first execution, +1 for each retry. */
  readonly attempt: number;
  /** Aborted when the operation is preempted, cancelled, timed out or shut down. */
  readonly signal: AbortSignal;
  readonly data: TData;
  /**
   * With a backend that holds targets by lease (Redis): the fencing token of this hold on the
   * target. Give it to the store's writes (`{ fence }`): once another process holds the target, a
   * write with this token is refused. Absent in memory, where nothing else can hold it.
   */
  readonly fence?: ExecuteFence;
}

/**
 * A hold on a target: the target and a token that grows with every new holder.
 *
 * @example
 * ```ts
 * execute: async ({ fence }) => store.update(id, change, { fence })
 * ```
 */
export interface ExecuteFence {
  readonly target: string;
  readonly token: number;
}

/**
 * What `arbiter.submit` accepts. Only `target` and `execute` are required.
 *
 * @example
 * ```ts
 * arbiter.submit({ target: 'account-42', type: 'withdraw', priority: Priority.HIGH,
 *   execute: async ({ signal }) => withdraw(42, 10, signal) });
 * ```
 */
export interface OperationSpec<TResult = unknown, TData = unknown> {
  /** The entity the operation changes; operations on the same target compete. */
  target: string;
  execute: (args: ExecuteArgs<TData>) => TResult | PromiseLike<TResult>;
  /** @default 'operation' */
  type?: string;
  /** Integer 1..10. @default Priority.NORMAL (5) */
  priority?: number;
  /** Your own id (must be unique among the arbiter's known operations). @default a uuid v7 */
  id?: string;
  /** An operation of the same arbiter whose effective priority this one inherits. */
  parentId?: string;
  /** Retries after the first attempt. @default by priority: ≥10 → 20, 3..9 → 5, ≤2 → 3 */
  maxRetries?: number;
  /** Rejects with `timeout` this long after submission if not final by then. */
  timeoutMs?: number;
  /** Marks an execution error as retryable (an `OccConflictError` always is). */
  retryable?: (err: unknown) => boolean;
  /**
   * What losing a window does: `'reject'` ends it `lost-arbitration`; `'retry'` leaves it staged to
   * compete in the next window (an `operation.requeued` event each time), until it has lost
   * `maxLosses` windows. It stays in flight meanwhile, so `timeoutMs` bounds it in time too.
   * @default 'reject'
   */
  onLose?: 'reject' | 'retry';
  /** With `onLose: 'retry'`, the number of lost windows that rejects it. @default 3 */
  maxLosses?: number;
  data?: TData;
}

/**
 * What `submit` returns. `TEvent` is what `send` takes: the event types of the arbiter's lifecycle
 * when it is typed (see `extendLifecycle`), `never` with the built-in one (it has no events of
 * yours), `string` otherwise.
 *
 * @example
 * ```ts
 * const handle = arbiter.submit(spec);
 * handle.status();          // 'staged'
 * const value = await handle.result;
 * ```
 */
export interface OperationHandle<TResult = unknown, TEvent extends string = string> {
  readonly id: string;
  readonly target: string;
  /** Resolves with `execute`'s value or rejects with `OperationRejectedError`. Never unhandled. */
  readonly result: Promise<TResult>;
  /**
   * The operation's XState actor, created by its target's coordinator (whose child it is) when
   * the submission reaches it: at once, except for a submission made from inside a callback of
   * that same coordinator (an `events$` observer, say), which waits for the coordinator to finish
   * its current step. Until then it is `undefined` (and `cancel`/`send` are delivered on creation).
   */
  readonly actor: AnyActorRef | undefined;
  status(): OperationStatus;
  /**
   * Calls `listener` with each new status (top-level state: `staged`, `executing`, a step of your
   * lifecycle, …, then `completed` or `rejected`). A throwing listener is ignored.
   *
   * @example
   * ```ts
   * handle.subscribe((status) => console.log(handle.id, status));
   * ```
   */
  subscribe(listener: (status: OperationStatus) => void): { unsubscribe(): void };
  /**
   * Resolves `true` when the operation reaches `status` (at once if it is there), `false` when
   * it becomes final without reaching it. Never rejects. The way to wait for a custom step.
   *
   * @example
   * ```ts
   * if (await handle.reached('approval')) handle.send({ type: 'approve' });
   * ```
   */
  reached(status: OperationStatus): Promise<boolean>;
  /** Rejects the operation with `cancelled` unless it is already final. Returns whether it did. */
  cancel(reason?: string): boolean;
  /**
   * Sends an event of your own lifecycle (see `extendLifecycle`) to the operation. Its `type` is
   * typed from the lifecycle's events, so a misspelt one does not compile; at run time an event the
   * lifecycle does not know (from an untyped caller) throws `ArbiterInputError` with a suggestion.
   *
   * @example
   * ```ts
   * const arbiter = createArbiter({ lifecycle: extendLifecycle({ afterWin: { approval: { on: { approve: 'next' } } } }) });
   * const handle = arbiter.submit(spec);
   * handle.send({ type: 'approve', by: 'ana' });
   * handle.send({ type: 'aprove' }); // TS2322: Type '"aprove"' is not assignable to type '"approve"'
   * ```
   */
  send(event: { type: TEvent; [key: string]: unknown }): void;
}

/**
 * The core counters. `submitted = completed + rejected + inFlight` at every event.
 *
 * @example
 * ```ts
 * const m = arbiter.metrics();
 * console.log(m.conflicts, m.rejectedByCode['lost-arbitration']);
 * ```
 */
export interface CoreMetrics {
  submitted: number;
  completed: number;
  rejected: number;
  inFlight: number;
  /** Windows that closed with two or more candidates. */
  conflicts: number;
  /** By code: the built-in ones, and your lifecycle's (`rejectedByCode['denied']`). */
  rejectedByCode: Readonly<Record<RejectionCode, number>> & Readonly<Record<string, number>>;
  /** Admitted and not yet decided (won or final). */
  staged: number;
  /** Operations holding a target (won, not final). */
  executing: number;
  coordinators: number;
  /** Exceptions thrown by events$ observers (isolated, counted here). */
  observerErrors: number;
  /** Operation records registered in the `store` (one per winner; 0 without a store). */
  promoted: number;
  /** Promoted operations that later ended rejected (preempted, retries exhausted, …). */
  zombies: number;
  /** Calls to the `store` that threw during promotion (the operations went on regardless). */
  storeErrors: number;
}
