import { ArbiterInputError } from './errors.js';
import { expectDelay } from './timers.js';
import type { ExecuteArgs, OperationSpec, RejectionCode } from './types.js';
import { readOptions } from './keys.js';
import { expectFunction, expectInteger, expectNonEmptyString, expectObject, expectOneOf } from './validate.js';

/**
 * A submission as read from the caller's spec: every field read exactly once, validated, and
 * nothing read from the caller's object again.
 */
export interface SpecSnapshot {
  readonly target: string;
  readonly execute: (args: ExecuteArgs<any>) => unknown;
  readonly type: string | undefined;
  readonly priority: number | undefined;
  readonly id: string | undefined;
  readonly parentId: string | undefined;
  readonly maxRetries: number | undefined;
  readonly timeoutMs: number | undefined;
  readonly retryable: ((err: unknown) => boolean) | undefined;
  readonly data: unknown;
  readonly onLose: 'reject' | 'retry' | undefined;
  readonly maxLosses: number | undefined;
}

const SPEC_KEYS: ReadonlySet<keyof OperationSpec> = new Set<keyof OperationSpec>([
  'target',
  'execute',
  'type',
  'priority',
  'id',
  'parentId',
  'maxRetries',
  'timeoutMs',
  'retryable',
  'data',
  'onLose',
  'maxLosses',
]);

/**
 * Reads and validates an operation spec once (see {@link readOptions}). Throws
 * `ArbiterInputError` naming the field; nothing is counted or staged when it throws.
 *
 * @example
 * ```ts
 * const s = readSpec({ target: 'a', execute: async () => 1 });
 * s.target; // 'a'
 * ```
 */
export function readSpec(spec: unknown): SpecSnapshot {
  expectObject(spec, 'spec');
  const o = readOptions(spec, SPEC_KEYS);
  expectNonEmptyString(o.target, 'target');
  expectFunction(o.execute, 'execute');
  if (o.type !== undefined) expectNonEmptyString(o.type, 'type');
  if (o.priority !== undefined) expectInteger(o.priority, 'priority', 1, 10);
  if (o.id !== undefined) expectNonEmptyString(o.id, 'id');
  if (o.parentId !== undefined) expectNonEmptyString(o.parentId, 'parentId');
  if (o.maxRetries !== undefined) expectInteger(o.maxRetries, 'maxRetries', 0);
  // A timer on the arbiter's clock: past the timer limit it would fire at once.
  if (o.timeoutMs !== undefined) expectDelay(o.timeoutMs, 'timeoutMs');
  if (o.retryable !== undefined) expectFunction(o.retryable, 'retryable');
  if (o.onLose !== undefined) expectOneOf(o.onLose, 'onLose', ['reject', 'retry']);
  if (o.maxLosses !== undefined) {
    expectInteger(o.maxLosses, 'maxLosses', 1);
    if (o.onLose !== 'retry') throw new ArbiterInputError('maxLosses', "Expected `maxLosses` only with `onLose: 'retry'`");
  }
  return {
    target: o.target,
    execute: o.execute,
    type: o.type as string | undefined,
    priority: o.priority as number | undefined,
    id: o.id as string | undefined,
    parentId: o.parentId as string | undefined,
    maxRetries: o.maxRetries as number | undefined,
    timeoutMs: o.timeoutMs as number | undefined,
    retryable: o.retryable as ((err: unknown) => boolean) | undefined,
    data: o.data,
    onLose: o.onLose as 'reject' | 'retry' | undefined,
    maxLosses: o.maxLosses as number | undefined,
  };
}

/** Why a submission is refused before it reaches a coordinator. */
export interface Refusal {
  readonly code: RejectionCode;
  readonly reason: string;
}

/** What {@link Admission} consults. */
export interface AdmissionSource {
  stopped(): boolean;
  /** The breaker's gate: whether `id` may go on (a half-open breaker counts it as a probe). */
  breakerAllows?(id: string): boolean;
  breakerReason?(): string;
  /** Why health refuses new submissions now (`health.refuseWhenUnhealthy`), or `undefined`. */
  unhealthy?(): string | undefined;
  /** Admitted operations not yet decided, across all targets and on one target. */
  undecided(): number;
  undecidedOn(target: string): number;
}

/**
 * The gate between a valid submission and its coordinator: a stopped arbiter, an open circuit
 * breaker, an unhealthy arbiter that refuses work (`health.refuseWhenUnhealthy`) and the staging
 * limits refuse it (in that order), with a code and a reason.
 *
 * @example
 * ```ts
 * const refusal = admission.refusal(id, target);
 * if (refusal) reject(refusal.code, refusal.reason);
 * ```
 */
export class Admission {
  constructor(
    private readonly source: AdmissionSource,
    private readonly maxStaged: number,
    private readonly maxStagedPerTarget: number,
  ) {}

  /** Why `id` on `target` may not go on, or `undefined`. */
  refusal(id: string, target: string): Refusal | undefined {
    const s = this.source;
    if (s.stopped()) return { code: 'shutdown', reason: 'the arbiter was stopped' };
    if (s.breakerAllows !== undefined && !s.breakerAllows(id)) {
      return { code: 'circuit-open', reason: s.breakerReason?.() ?? 'the circuit breaker is open' };
    }
    const unhealthy = s.unhealthy?.();
    if (unhealthy !== undefined) return { code: 'circuit-open', reason: unhealthy };
    const total = s.undecided();
    if (total >= this.maxStaged) {
      return { code: 'staging-full', reason: `the arbiter already has ${total} staged operations (maxStaged ${this.maxStaged})` };
    }
    const onTarget = s.undecidedOn(target);
    if (onTarget >= this.maxStagedPerTarget) {
      return {
        code: 'staging-full',
        reason: `target ${target} already has ${onTarget} staged operations (maxStagedPerTarget ${this.maxStagedPerTarget})`,
      };
    }
    return undefined;
  }
}

/**
 * The effective priority of a new operation: its own, or its parent's effective priority when
 * higher. The parent's effective priority was fixed when the parent was submitted, so a parent
 * that is known is enough (its own ancestors may be gone). An unknown parent is an input error.
 *
 * @example
 * ```ts
 * inheritPriority(2, 'p', (id) => ({ effectivePriority: 10 })); // 10
 * ```
 */
export function inheritPriority(
  priority: number,
  parentId: string | undefined,
  lookup: (id: string) => { readonly effectivePriority: number } | undefined,
): number {
  if (parentId === undefined) return priority;
  const parent = lookup(parentId);
  if (!parent) {
    throw new ArbiterInputError('parentId', `Expected \`parentId\` to name a known operation, got unknown id ${JSON.stringify(parentId)}`);
  }
  return Math.max(priority, parent.effectivePriority);
}
