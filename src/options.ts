import type { AnyStateMachine, InspectionEvent, Observer } from 'xstate';
import { resolveBreakerOptions } from '../actors/breaker.js';
import { resolveCleanupOptions } from '../actors/cleanup.js';
import { resolveHealthOptions, type ResolvedHealthOptions } from '../actors/health.js';
import { resolveMetricsOptions } from '../actors/metrics.js';
import { memoryBackend } from './backend/memory.js';
import type { ArbiterBackend } from './backend/types.js';
import { DEFAULT_RETRY } from './backoff.js';
import { ArbiterInputError, isExpectedError } from './errors.js';
import { isLogger, type Logger } from './logger.js';
import type { BreakerOptions, CleanupOptions, HealthOptions, MetricsOptions } from './observability.js';
import type { OperationInfo } from './records.js';
import type { EntityStore } from './store/types.js';
import { expectDelay } from './timers.js';
import type { ArbiterClock, RetryOptions, SelectWinner, WhileExecuting } from './types.js';
import { readOptions } from './keys.js';
import { expectBoolean, expectFiniteNumber, expectFunction, expectInteger, expectObject, expectOneOf } from './validate.js';

/**
 * Options of `createArbiter`. Every one is optional. `TLifecycle` is the type of `lifecycle`, from
 * which `createArbiter` types `handle.send`.
 *
 * @example
 * ```ts
 * createArbiter({ windowMs: 50, whileExecuting: 'queue', maxStagedPerTarget: 100 });
 * ```
 */
export interface ArbiterOptions<TLifecycle extends AnyStateMachine = AnyStateMachine> {
  /** How long a window collects candidates. @default 100 */
  windowMs?: number;
  /**
   * A bound on a custom `selectWinner`: one that takes longer has its window's candidates rejected
   * `arbitration-failed` (an `arbitration.timedOut` event says so). JavaScript cannot interrupt a
   * synchronous function, so the bound is checked when it returns. @default no bound
   */
  arbitrationTimeoutMs?: number;
  /** A holder younger than this is never preempted. @default 200 */
  gracePeriodMs?: number;
  /** @default 'preempt' */
  whileExecuting?: WhileExecuting;
  /** @default 20 */
  maxStagedPerTarget?: number;
  /** @default 1000 */
  maxStaged?: number;
  /** A coordinator with no work for this long stops. @default 1000 */
  idleCoordinatorMs?: number;
  retry?: Partial<RetryOptions>;
  /** @default highest effective priority, then earliest submission */
  selectWinner?: SelectWinner;
  clock?: ArbiterClock;
  /** Source of randomness for jitter. @default Math.random */
  random?: () => number;
  /** XState inspection observer, given to every actor the arbiter creates. */
  inspect?: Observer<InspectionEvent> | ((event: InspectionEvent) => void);
  /** The operation machine to run (see `extendLifecycle`). @default operationMachine */
  lifecycle?: TLifecycle;
  /** Called when an events$ observer throws; the arbiter keeps going. */
  onObserverError?: (err: unknown) => void;
  /**
   * Your entity store (`arbiter.store`). The arbiter never writes to it: winners get their
   * operation record in `recordStore`. See `createStore`.
   */
  store?: EntityStore;
  /**
   * Where a winner's operation record goes (`arbiter.recordStore`): omitted, a store of the
   * arbiter's own when `store` is given (so your store holds only your entities); an
   * `EntityStore` (pass the same one as `store` to keep records beside your entities); `false`, no
   * records. A store of the arbiter's own keeps the records of the audit trail only: a record
   * leaves it with its operation's audit record (see `cleanup`).
   */
  recordStore?: EntityStore | false;
  /** Called when the record store throws during promotion; the operation goes on without a record. */
  onStoreError?: (err: unknown, phase: 'promote' | 'settle', operationId: string) => void;
  /**
   * How final operation records (`arbiter.operations`) are cleaned up: `immediate`, `deferred`
   * (kept `retentionMs`, removed by one timer) or `lazy` (removed when a read meets one older than
   * `maxAgeMs`); never more than `maxRetained`. Zombie store records go with them.
   * @default { strategy: 'deferred', retentionMs: 1_800_000, maxAgeMs: 3_600_000, maxRetained: 10_000 }
   */
  cleanup?: Partial<CleanupOptions>;
  /**
   * Whether an error thrown by `execute` is a failure of the system (counted by the circuit
   * breaker and the health checks) or an outcome of your business logic (counted as a success:
   * the system answered). The operation ends `execution-failed` either way. A throwing classifier
   * counts the error as a failure. `operation` is a frozen copy of the operation's
   * {@link OperationInfo} (id, target, type, priority, attempt, code …), not the arbiter's own.
   * @default every error but an `ExpectedError` (or any error with `expected: true`)
   */
  isFailure?: (error: unknown, operation: OperationInfo) => boolean;
  /** A circuit breaker over execution failures (`true` for its defaults); off by default. */
  breaker?: boolean | (Partial<BreakerOptions> & {
    /** @deprecated Since 0.2, removed in 0.3: the 0.1 name of `rollingWindowMs`. */
    windowMs?: number;
  });
  /** Metrics actor settings (Prometheus prefix and labels, reservoir size, throughput window). */
  metrics?: Partial<MetricsOptions>;
  /** Health thresholds, extra checks, the heap measure, and the gate (`refuseWhenUnhealthy`). */
  health?: Partial<HealthOptions>;
  /** A pino-compatible logger; the arbiter logs nothing without one. */
  logger?: Logger;
  /**
   * Where windows are decided and targets held: `memoryBackend()` (this process, the default) or
   * `redisBackend(...)` from `xstate-arbiter/redis` (every process sharing one Redis).
   */
  backend?: ArbiterBackend;
}

/** Options after defaults are applied. */
export interface ResolvedArbiterOptions {
  readonly windowMs: number;
  readonly gracePeriodMs: number;
  readonly whileExecuting: WhileExecuting;
  readonly maxStagedPerTarget: number;
  readonly maxStaged: number;
  readonly idleCoordinatorMs: number;
  readonly retry: Readonly<RetryOptions>;
  readonly selectWinner: SelectWinner | undefined;
}

/** Everything `createArbiter` needs, read once from the caller's options. @internal */
export interface ArbiterConfig {
  readonly resolved: ResolvedArbiterOptions;
  readonly clock: ArbiterClock | undefined;
  readonly random: () => number;
  readonly inspect: Observer<InspectionEvent> | undefined;
  readonly lifecycle: AnyStateMachine | undefined;
  readonly onObserverError: ((err: unknown) => void) | undefined;
  readonly store: EntityStore | undefined;
  readonly recordStore: EntityStore | false | undefined;
  readonly onStoreError: ArbiterOptions['onStoreError'];
  readonly cleanup: Readonly<CleanupOptions>;
  readonly breaker: Readonly<BreakerOptions> | undefined;
  readonly metrics: Readonly<MetricsOptions>;
  readonly health: ResolvedHealthOptions;
  readonly logger: Logger | undefined;
  readonly backend: ArbiterBackend;
  readonly arbitrationTimeoutMs: number | undefined;
  readonly isFailure: NonNullable<ArbiterOptions['isFailure']>;
}

const ARBITER_KEYS = [
  'windowMs',
  'arbitrationTimeoutMs',
  'gracePeriodMs',
  'whileExecuting',
  'maxStagedPerTarget',
  'maxStaged',
  'idleCoordinatorMs',
  'retry',
  'selectWinner',
  'clock',
  'random',
  'inspect',
  'lifecycle',
  'onObserverError',
  'store',
  'recordStore',
  'onStoreError',
  'cleanup',
  'breaker',
  'isFailure',
  'metrics',
  'health',
  'logger',
  'backend',
] as const satisfies ReadonlyArray<keyof ArbiterOptions>;

function resolveRetry(value: unknown): Readonly<RetryOptions> {
  if (value === undefined) return DEFAULT_RETRY;
  const r = readOptions(value, ['baseDelayMs', 'factor', 'maxDelayMs', 'jitter'] as const, 'retry');
  // Backoff waits are timers: every one is at most maxDelayMs, itself at most the timer limit.
  if (r.baseDelayMs !== undefined) expectDelay(r.baseDelayMs, 'retry.baseDelayMs');
  if (r.factor !== undefined) expectFiniteNumber(r.factor, 'retry.factor', 1);
  if (r.maxDelayMs !== undefined) expectDelay(r.maxDelayMs, 'retry.maxDelayMs');
  if (r.jitter !== undefined) expectBoolean(r.jitter, 'retry.jitter');
  return Object.freeze({ ...DEFAULT_RETRY, ...(r as Partial<RetryOptions>) });
}

function resolveClock(value: unknown): ArbiterClock | undefined {
  if (value === undefined) return undefined;
  expectObject(value, 'clock');
  // A clock is a live object (its methods are called for every timer), not an options bag:
  // checked, not copied.
  const c = value as unknown as ArbiterClock;
  expectFunction(c.setTimeout, 'clock.setTimeout');
  expectFunction(c.clearTimeout, 'clock.clearTimeout');
  if (c.now !== undefined) expectFunction(c.now, 'clock.now');
  return c;
}

function resolveInspect(value: unknown): Observer<InspectionEvent> | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'function') return { next: value as (e: InspectionEvent) => void };
  expectObject(value, 'inspect');
  const next = (value as Observer<InspectionEvent>).next;
  expectFunction(next, 'inspect.next');
  return { next: (e) => next.call(value, e) };
}

function resolveLifecycle(value: unknown): AnyStateMachine | undefined {
  if (value === undefined) return undefined;
  const l = value as Record<string, unknown> | null;
  if (!l || typeof l !== 'object' || typeof l['provide'] !== 'function' || typeof l['transition'] !== 'function') {
    throw new ArbiterInputError('lifecycle', 'Expected `lifecycle` to be an XState state machine (see extendLifecycle)');
  }
  return value as AnyStateMachine;
}

function resolveBackend(value: unknown, selectWinner: unknown): ArbiterBackend {
  if (value === undefined) return memoryBackend();
  expectObject(value, 'backend');
  const b = value as unknown as ArbiterBackend;
  for (const method of ['ready', 'open', 'close'] as const) expectFunction(b[method], `backend.${method}`);
  if (selectWinner !== undefined && b.decidesLocally !== true) {
    throw new ArbiterInputError(
      'selectWinner',
      `A custom \`selectWinner\` needs windows decided in this process; the ${String(b.kind)} backend decides them where every process sees them (by effective priority, then earliest)`,
    );
  }
  return b;
}

/**
 * Reads `createArbiter`'s options once: unknown keys are refused (with a "did you mean"), every
 * field is read exactly once and validated, and only that snapshot is used afterwards. Throws
 * `ArbiterInputError` naming the field.
 * @internal
 */
export function resolveArbiterOptions(options: unknown): ArbiterConfig {
  const o = readOptions(options, ARBITER_KEYS);
  if (o.windowMs !== undefined) expectDelay(o.windowMs, 'windowMs');
  if (o.gracePeriodMs !== undefined) expectDelay(o.gracePeriodMs, 'gracePeriodMs');
  if (o.arbitrationTimeoutMs !== undefined) expectFiniteNumber(o.arbitrationTimeoutMs, 'arbitrationTimeoutMs');
  if (o.whileExecuting !== undefined) expectOneOf(o.whileExecuting, 'whileExecuting', ['preempt', 'queue', 'concurrent']);
  if (o.maxStagedPerTarget !== undefined) expectInteger(o.maxStagedPerTarget, 'maxStagedPerTarget', 1);
  if (o.maxStaged !== undefined) expectInteger(o.maxStaged, 'maxStaged', 1);
  if (o.idleCoordinatorMs !== undefined) expectDelay(o.idleCoordinatorMs, 'idleCoordinatorMs');
  if (o.selectWinner !== undefined) expectFunction(o.selectWinner, 'selectWinner');
  if (o.random !== undefined) expectFunction(o.random, 'random');
  if (o.onObserverError !== undefined) expectFunction(o.onObserverError, 'onObserverError');
  if (o.onStoreError !== undefined) expectFunction(o.onStoreError, 'onStoreError');
  if (o.isFailure !== undefined) expectFunction(o.isFailure, 'isFailure');
  if (o.logger !== undefined && !isLogger(o.logger)) {
    throw new ArbiterInputError('logger', 'Expected `logger` to have debug, info, warn and error methods (pino-compatible)');
  }
  const resolved: ResolvedArbiterOptions = Object.freeze({
    windowMs: (o.windowMs as number | undefined) ?? 100,
    gracePeriodMs: (o.gracePeriodMs as number | undefined) ?? 200,
    whileExecuting: (o.whileExecuting as WhileExecuting | undefined) ?? 'preempt',
    maxStagedPerTarget: (o.maxStagedPerTarget as number | undefined) ?? 20,
    maxStaged: (o.maxStaged as number | undefined) ?? 1000,
    idleCoordinatorMs: (o.idleCoordinatorMs as number | undefined) ?? 1000,
    retry: resolveRetry(o.retry),
    selectWinner: o.selectWinner as SelectWinner | undefined,
  });
  return {
    resolved,
    clock: resolveClock(o.clock),
    random: (o.random as (() => number) | undefined) ?? Math.random,
    inspect: resolveInspect(o.inspect),
    lifecycle: resolveLifecycle(o.lifecycle),
    onObserverError: o.onObserverError as ((err: unknown) => void) | undefined,
    store: o.store as EntityStore | undefined,
    recordStore: o.recordStore as EntityStore | false | undefined,
    onStoreError: o.onStoreError as ArbiterOptions['onStoreError'],
    cleanup: resolveCleanupOptions(o.cleanup),
    breaker: resolveBreakerOptions(o.breaker),
    metrics: resolveMetricsOptions(o.metrics),
    health: resolveHealthOptions(o.health),
    logger: o.logger as Logger | undefined,
    backend: resolveBackend(o.backend, o.selectWinner),
    arbitrationTimeoutMs: o.arbitrationTimeoutMs as number | undefined,
    isFailure: (o.isFailure as ArbiterConfig['isFailure'] | undefined) ?? ((error) => !isExpectedError(error)),
  };
}
