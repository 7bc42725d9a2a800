import type { RejectionCode } from './types.js';

/**
 * Thrown synchronously at the call site when an argument or option is invalid.
 * Nothing is staged and no counter moves when it is thrown.
 *
 * @example
 * ```ts
 * try {
 *   arbiter.submit({ target: '', execute: async () => 1 });
 * } catch (err) {
 *   if (err instanceof ArbiterInputError) console.log(err.field); // 'target'
 * }
 * ```
 * @see createArbiter
 */
export class ArbiterInputError extends TypeError {
  override readonly name = 'ArbiterInputError';
  /** Stable machine-readable code. */
  readonly code = 'ERR_ARBITER_INPUT' as const;
  /** Dotted path of the offending field, e.g. `retry.baseDelayMs`. */
  readonly field: string;

  constructor(field: string, message: string) {
    super(message);
    this.field = field;
  }
}

/** Payload of an {@link OperationRejectedError}. */
export interface OperationRejectedInfo {
  /** A built-in code, or one of your lifecycle's (see `extendLifecycle`). */
  readonly code: RejectionCode | (string & {});
  readonly reason: string;
  readonly operationId: string;
  readonly target: string;
  readonly cause?: unknown;
}

/**
 * The rejection value of `handle.result` when an operation ends `rejected`.
 *
 * @example
 * ```ts
 * try {
 *   await handle.result;
 * } catch (err) {
 *   if (err instanceof OperationRejectedError && err.code === 'lost-arbitration') retryLater();
 * }
 * ```
 * @see RejectionCode
 */
export class OperationRejectedError extends Error {
  override readonly name = 'OperationRejectedError';
  /** A built-in code, or one of your lifecycle's (`'denied'`, …): compare it with any string. */
  readonly code: RejectionCode | (string & {});
  readonly reason: string;
  readonly operationId: string;
  readonly target: string;

  constructor(info: OperationRejectedInfo) {
    // Rejections are routine (most operations lose) and their stack would only show arbiter
    // internals; skipping the capture makes a rejection several times cheaper.
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(`operation ${info.operationId} on ${info.target} rejected (${info.code}): ${info.reason}`,
      info.cause === undefined ? undefined : { cause: info.cause });
    Error.stackTraceLimit = limit;
    this.code = info.code;
    this.reason = info.reason;
    this.operationId = info.operationId;
    this.target = info.target;
  }
}

/**
 * An outcome of your business logic, not a failure of the system: throw it (or any error with
 * `expected: true`) from `execute` for "insufficient funds", "already shipped", …. The operation
 * ends `execution-failed` as usual and `handle.result` rejects with it as `cause`, but the circuit
 * breaker and the health checks count it as a success: the system answered. See
 * `createArbiter({ isFailure })` to classify errors your own way.
 *
 * @example
 * ```ts
 * execute: async () => {
 *   if (balance < amount) throw new ExpectedError('insufficient funds', { cause: { balance, amount } });
 *   return withdraw(amount);
 * }
 * ```
 */
export class ExpectedError extends Error {
  override readonly name: string = 'ExpectedError';
  /** Marks it as a business outcome for the breaker and health. */
  readonly expected = true as const;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * Whether an error of `execute` is a business outcome rather than a failure: an `ExpectedError`,
 * or any object with `expected: true`. The default of `createArbiter({ isFailure })`, inverted.
 *
 * @example
 * ```ts
 * isExpectedError(new ExpectedError('insufficient funds')); // true
 * isExpectedError(new Error('database down'));             // false
 * ```
 */
export function isExpectedError(err: unknown): boolean {
  if (err instanceof ExpectedError) return true;
  try {
    return typeof err === 'object' && err !== null && (err as { expected?: unknown }).expected === true;
  } catch {
    // A hostile error whose getter throws: not marked.
    return false;
  }
}

/**
 * A compare-and-set write found a newer version than the one it read.
 * Inside `execute` it is retryable by default: the operation goes to `retrying`.
 *
 * @example
 * ```ts
 * throw new OccConflictError({ id: entity.id, expected: 3, actual: 4 });
 * ```
 */
export class OccConflictError extends Error {
  override readonly name = 'OccConflictError';
  readonly code = 'occ-conflict' as const;
  readonly id: string;
  readonly expected: number;
  readonly actual: number;

  constructor(info: { id: string; expected: number; actual: number }) {
    super(`version conflict on ${info.id}: expected ${info.expected}, found ${info.actual}`);
    this.id = info.id;
    this.expected = info.expected;
    this.actual = info.actual;
  }
}

/** Normalises anything thrown into a readable reason string. */
export function describeError(err: unknown): string {
  if (err instanceof Error) return err.message || err.name;
  if (typeof err === 'string') return err;
  try {
    return JSON.stringify(err) ?? String(err);
  } catch {
    return String(err);
  }
}

/** One broken guarantee of a lifecycle: the state where it breaks and the rule. */
export interface LifecycleViolation {
  /** Top-level state name (or dotted path of a nested one; `(root)` for machine-level transitions). */
  readonly state: string;
  /** The broken rule, e.g. `reach-final` or `rejection-code`. */
  readonly rule: string;
  readonly message: string;
}

/**
 * Thrown by `extendLifecycle` when the extended machine breaks a guarantee the arbiter relies on.
 * `state` and `rule` name the first violation; `violations` lists all of them.
 *
 * @example
 * ```ts
 * try {
 *   extendLifecycle({ afterWin: { approval: { on: { approve: 'next' }, after: { 1000: 'rejected' } } } });
 * } catch (err) {
 *   if (err instanceof LifecycleError) console.log(err.state, err.rule); // 'approval' 'rejection-code'
 * }
 * ```
 * @see extendLifecycle
 */
export class LifecycleError extends Error {
  override readonly name = 'LifecycleError';
  /** Stable machine-readable code. */
  readonly code = 'ERR_ARBITER_LIFECYCLE' as const;
  readonly state: string;
  readonly rule: string;
  readonly violations: readonly LifecycleViolation[];

  constructor(violations: readonly LifecycleViolation[]) {
    const first = violations[0] ?? { state: '(root)', rule: 'unknown', message: 'unknown violation' };
    super(
      `The lifecycle breaks ${violations.length === 1 ? 'a guarantee' : `${violations.length} guarantees`}: ` +
        violations.map((v) => `state \`${v.state}\` breaks \`${v.rule}\`: ${v.message}`).join('; '),
    );
    this.state = first.state;
    this.rule = first.rule;
    this.violations = Object.freeze([...violations]);
  }
}
