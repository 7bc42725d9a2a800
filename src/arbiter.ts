import {
  createActor,
  type AnyActorRef,
  type AnyMachineSnapshot,
  type AnyStateMachine,
  type InspectionEvent,
  type Observer,
} from 'xstate';
import { Supervisor } from '../actors/supervisor.js';
import { CircuitBreaker, resolveBreakerOptions, type BreakerControl } from '../actors/breaker.js';
import { FinalRecords, resolveCleanupOptions } from '../actors/cleanup.js';
import { HealthMonitor, resolveHealthOptions, type HealthReport } from '../actors/health.js';
import { MetricsCollector, resolveMetricsOptions, type ArbiterMetrics } from '../actors/metrics.js';
import type { CoordinatorPort, HeldOperation, StagedOperation, WindowReport } from '../machines/coordinator.machine.js';
import { operationMachine, type OperationInput } from '../machines/operation.machine.js';
import { DEFAULT_RETRY } from './backoff.js';
import { ArbiterInputError, describeError, OperationRejectedError } from './errors.js';
import { newId } from './ids.js';
import { isLogger, log } from './logger.js';
import { SubmitRetrier, type SubmitRetryOptions } from './retry.js';
import { EventBus, type ArbiterEvent, type IsolatedObservable } from './events.js';
import { defaultMaxRetries, Priority, resolveEffectivePriority } from './priority.js';
import { createPromotion } from './store/promotion.js';
import type { EntityStore } from './store/types.js';
import {
  REJECTION_CODES,
  type ArbiterClock,
  type ArbiterOptions,
  type Candidate,
  type CoreMetrics,
  type OperationHandle,
  type OperationSpec,
  type OperationStatus,
  type RejectionCode,
  type RetryOptions,
  type SelectWinner,
  type WhileExecuting,
} from './types.js';
import {
  expectBoolean,
  expectFiniteNumber,
  expectFunction,
  expectInteger,
  expectNonEmptyString,
  expectObject,
  expectOneOf,
} from './validate.js';

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
  /** Clock time it won, if it did. */
  readonly startedAt: number | undefined;
  readonly finishedAt: number | undefined;
  readonly attempt: number;
  readonly won: boolean;
  readonly code: RejectionCode | undefined;
  readonly reason: string | undefined;
  /** Id of its operation record in `options.store`: set when it won (never for a loser). */
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

/**
 * Options of `arbiter.inspect`.
 *
 * @example
 * ```ts
 * // Inspect about one operation in ten (coordinators always).
 * arbiter.inspect(observer, { sampleOperation: () => Math.random() < 0.1 });
 * ```
 */
export interface InspectOptions {
  /**
   * Asked once per new operation: whether its actor is inspected. Inspecting an actor makes XState
   * report every step it takes, so an inspector under load can bound its cost by sampling.
   * Coordinators and the operations live when `inspect` is called are always inspected.
   * @default every operation
   */
  sampleOperation?: () => boolean;
}

/**
 * An arbiter: submit operations, watch `events$`, read `metrics()`, `drain()` and `stop()`.
 *
 * @example
 * ```ts
 * const arbiter = createArbiter();
 * const h = arbiter.submit({ target: 'a', execute: async () => 42 });
 * await h.result; // 42
 * await arbiter.stop();
 * ```
 */
export interface Arbiter {
  submit<TResult = unknown, TData = unknown>(spec: OperationSpec<TResult, TData>): OperationHandle<TResult>;
  /** Typed event stream (RxJS). A throwing observer is isolated. */
  readonly events$: IsolatedObservable<ArbiterEvent>;
  /** The core counters plus the metrics actor's: histograms, throughput, `unaccounted` (always 0). */
  metrics(): ArbiterMetrics;
  /**
   * The metrics in the Prometheus text exposition format, from this arbiter's own prom-client
   * `Registry`.
   *
   * @example
   * ```ts
   * app.get('/metrics', async (_req, res) => res.type('text/plain').send(await arbiter.metricsText()));
   * ```
   */
  metricsText(): Promise<string>;
  /**
   * Runs the health checks: `healthy` when all pass, `degraded` when fewer than half fail,
   * `unhealthy` otherwise. Never throws: a check that throws is reported failed.
   *
   * @example
   * ```ts
   * const { status, failed } = arbiter.health();
   * ```
   */
  health(): HealthReport;
  /**
   * Submits, and resubmits with exponential backoff on the arbiter's clock while the operation
   * is rejected `staging-full` or `circuit-open` (see `SubmitRetryOptions`). Invalid input throws
   * `ArbiterInputError` here; otherwise it resolves with the result or rejects with the last
   * `OperationRejectedError`.
   *
   * @example
   * ```ts
   * const value = await arbiter.submitWithRetry(spec, { attempts: 5, baseDelayMs: 100 });
   * ```
   */
  submitWithRetry<TResult = unknown, TData = unknown>(
    spec: OperationSpec<TResult, TData>,
    options?: Partial<SubmitRetryOptions>,
  ): Promise<TResult>;
  /** The circuit breaker, when the `breaker` option is set. */
  readonly breaker: BreakerControl | undefined;
  readonly operations: OperationsView;
  /** Resolves when every operation submitted so far (and since) is final. */
  drain(): Promise<void>;
  /** Rejects everything not final with `shutdown`, stops every actor and timer. Idempotent. */
  stop(): Promise<void>;
  /** The arbiter's clock, in monotonic milliseconds. */
  now(): number;
  readonly options: ResolvedArbiterOptions;
  readonly stopped: boolean;
  /** The store winners are promoted into (`options.store`), if any. */
  readonly store: EntityStore | undefined;
  /**
   * Adds an XState inspection observer after creation: it receives the inspection events of every
   * actor the arbiter creates from now on, and of the live ones (each announced first with an
   * `@xstate.actor` event). Without any observer no actor is inspected, so this costs nothing
   * until used. A throwing observer is isolated like an `events$` observer.
   *
   * @example
   * ```ts
   * const sub = arbiter.inspect((e) => {
   *   if (e.type === '@xstate.snapshot') console.log(e.actorRef.sessionId, e.snapshot);
   * });
   * sub.unsubscribe();
   * ```
   */
  inspect(
    observer: Observer<InspectionEvent> | ((event: InspectionEvent) => void),
    options?: InspectOptions,
  ): { unsubscribe(): void };
}

/** What an operation record calls back into: one object per arbiter. */
interface RecordEngine {
  observe(record: OperationRecord, snapshot: AnyMachineSnapshot): void;
  finalize(record: OperationRecord, snapshot: AnyMachineSnapshot | undefined, error?: unknown): void;
}

// The per-operation state is a class, and the record is itself the actor's observer: methods on a
// prototype instead of closures per submission (measurably less allocation on the hot path).
class OperationRecord implements StagedOperation {
  status: OperationStatus = 'pending';
  attempt = 0;
  admitted = false;
  routed = false;
  won = false;
  /** True until the operation is settled. */
  open = true;
  startedAt: number | undefined = undefined;
  finishedAt: number | undefined = undefined;
  code: RejectionCode | undefined = undefined;
  reason: string | undefined = undefined;
  timer: unknown = undefined;
  storeId: string | undefined = undefined;
  resolve: (value: unknown) => void = noop;
  reject: (err: unknown) => void = noop;

  constructor(
    readonly id: string,
    readonly target: string,
    readonly type: string,
    readonly priority: number,
    readonly effectivePriority: number,
    readonly parentId: string | undefined,
    readonly seq: number,
    readonly submittedAt: number,
    readonly candidate: Candidate,
    readonly actor: AnyActorRef,
    private readonly engine: RecordEngine,
  ) {}

  next(snapshot: AnyMachineSnapshot): void {
    this.engine.observe(this, snapshot);
  }

  error(err: unknown): void {
    this.engine.finalize(this, undefined, err);
  }
}

/** The handle `submit` returns: a view on the record. */
class Handle<TResult> implements OperationHandle<TResult> {
  constructor(
    private readonly record: OperationRecord,
    readonly result: Promise<TResult>,
  ) {}

  get id(): string {
    return this.record.id;
  }

  get target(): string {
    return this.record.target;
  }

  get actor(): AnyActorRef {
    return this.record.actor;
  }

  status(): OperationStatus {
    return this.record.status;
  }

  cancel(reason?: string): boolean {
    if (!this.record.open) return false;
    this.record.actor.send({ type: 'arbiter.cancel', reason: reason ?? 'cancelled by caller' });
    return !this.record.open;
  }

  send(event: { type: string; [key: string]: unknown }): void {
    if (!event || typeof event.type !== 'string') {
      throw new ArbiterInputError('event.type', 'Expected `event.type` to be a string');
    }
    if (event.type.startsWith('arbiter.') || event.type.startsWith('xstate.')) {
      throw new ArbiterInputError('event.type', `Event type ${event.type} is reserved for the arbiter`);
    }
    this.record.actor.send(event);
  }
}

const FINAL = new Set<OperationStatus>(['completed', 'rejected']);

function topState(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object') return Object.keys(value)[0] ?? 'unknown';
  return 'unknown';
}

function noop(): void {}

function resolveOptions(options: ArbiterOptions): ResolvedArbiterOptions {
  expectObject(options, 'options');
  const o = options;
  if (o.windowMs !== undefined) expectFiniteNumber(o.windowMs, 'windowMs');
  if (o.gracePeriodMs !== undefined) expectFiniteNumber(o.gracePeriodMs, 'gracePeriodMs');
  if (o.whileExecuting !== undefined) expectOneOf(o.whileExecuting, 'whileExecuting', ['preempt', 'queue', 'concurrent']);
  if (o.maxStagedPerTarget !== undefined) expectInteger(o.maxStagedPerTarget, 'maxStagedPerTarget', 1);
  if (o.maxStaged !== undefined) expectInteger(o.maxStaged, 'maxStaged', 1);
  if (o.idleCoordinatorMs !== undefined) expectFiniteNumber(o.idleCoordinatorMs, 'idleCoordinatorMs');
  if (o.selectWinner !== undefined) expectFunction(o.selectWinner, 'selectWinner');
  if (o.random !== undefined) expectFunction(o.random, 'random');
  if (o.onObserverError !== undefined) expectFunction(o.onObserverError, 'onObserverError');
  if (o.clock !== undefined) {
    expectObject(o.clock, 'clock');
    expectFunction(o.clock.setTimeout, 'clock.setTimeout');
    expectFunction(o.clock.clearTimeout, 'clock.clearTimeout');
  }
  if (o.inspect !== undefined && typeof o.inspect !== 'function') expectObject(o.inspect, 'inspect');
  if (o.lifecycle !== undefined) {
    const l = o.lifecycle as unknown as Record<string, unknown> | null;
    if (!l || typeof l !== 'object' || typeof l['provide'] !== 'function' || typeof l['transition'] !== 'function') {
      throw new ArbiterInputError('lifecycle', 'Expected `lifecycle` to be an XState state machine (see extendLifecycle)');
    }
  }
  const retry = { ...DEFAULT_RETRY };
  if (o.retry !== undefined) {
    expectObject(o.retry, 'retry');
    const r = o.retry;
    if (r.baseDelayMs !== undefined) expectFiniteNumber(r.baseDelayMs, 'retry.baseDelayMs');
    if (r.factor !== undefined) expectFiniteNumber(r.factor, 'retry.factor', 1);
    if (r.maxDelayMs !== undefined) expectFiniteNumber(r.maxDelayMs, 'retry.maxDelayMs');
    if (r.jitter !== undefined) expectBoolean(r.jitter, 'retry.jitter');
    Object.assign(
      retry,
      Object.fromEntries(Object.entries(r).filter(([, v]) => v !== undefined)),
    );
  }
  return Object.freeze({
    windowMs: o.windowMs ?? 100,
    gracePeriodMs: o.gracePeriodMs ?? 200,
    whileExecuting: o.whileExecuting ?? 'preempt',
    maxStagedPerTarget: o.maxStagedPerTarget ?? 20,
    maxStaged: o.maxStaged ?? 1000,
    idleCoordinatorMs: o.idleCoordinatorMs ?? 1000,
    retry: Object.freeze(retry),
    selectWinner: o.selectWinner,
  });
}

function validateSpec(spec: OperationSpec<unknown, unknown>): void {
  expectObject(spec, 'spec');
  expectNonEmptyString(spec.target, 'target');
  expectFunction(spec.execute, 'execute');
  if (spec.type !== undefined) expectNonEmptyString(spec.type, 'type');
  if (spec.priority !== undefined) expectInteger(spec.priority, 'priority', 1, 10);
  if (spec.id !== undefined) expectNonEmptyString(spec.id, 'id');
  if (spec.parentId !== undefined) expectNonEmptyString(spec.parentId, 'parentId');
  if (spec.maxRetries !== undefined) expectInteger(spec.maxRetries, 'maxRetries', 0);
  if (spec.timeoutMs !== undefined) expectFiniteNumber(spec.timeoutMs, 'timeoutMs');
  if (spec.retryable !== undefined) expectFunction(spec.retryable, 'retryable');
}

function infoOf(r: OperationRecord): OperationInfo {
  return {
    id: r.id,
    target: r.target,
    type: r.type,
    priority: r.priority,
    effectivePriority: r.effectivePriority,
    parentId: r.parentId,
    seq: r.seq,
    status: r.status,
    submittedAt: r.submittedAt,
    startedAt: r.startedAt,
    finishedAt: r.finishedAt,
    attempt: r.attempt,
    won: r.won,
    code: r.code,
    reason: r.reason,
    storeId: r.storeId,
  };
}

/**
 * Creates an arbiter. Every option is optional; bad options throw `ArbiterInputError`.
 *
 * Each operation is its own XState actor (`operationMachine`, or `options.lifecycle`); each
 * target gets a coordinator actor (`coordinatorMachine`) that collects a window of candidates and
 * arbitrates them with the pure `arbitrate()`.
 *
 * @example
 * ```ts
 * import { createArbiter, Priority } from 'xstate-arbiter';
 * const arbiter = createArbiter({ windowMs: 50 });
 * const low = arbiter.submit({ target: 'doc-1', priority: Priority.LOW, execute: async () => 'low' });
 * const high = arbiter.submit({ target: 'doc-1', priority: Priority.HIGH, execute: async () => 'high' });
 * await high.result;                         // 'high'
 * await low.result.catch((e) => e.code);      // 'lost-arbitration'
 * await arbiter.stop();
 * ```
 * @see OperationSpec
 * @see ArbiterOptions
 */
export function createArbiter(options: ArbiterOptions = {}): Arbiter {
  const resolved = resolveOptions(options);
  const promotion = createPromotion(options.store, options.onStoreError);
  const cleanupOptions = resolveCleanupOptions(options.cleanup);
  const breakerOptions = resolveBreakerOptions(options.breaker);
  const metricsOptions = resolveMetricsOptions(options.metrics);
  const healthOptions = resolveHealthOptions(options.health);
  if (options.logger !== undefined && !isLogger(options.logger)) {
    throw new ArbiterInputError('logger', 'Expected `logger` to have debug, info, warn and error methods (pino-compatible)');
  }
  const clock: ArbiterClock | undefined = options.clock;
  const now: () => number =
    clock && typeof clock.now === 'function' ? () => clock.now!() : () => globalThis.performance.now();
  const setTimer = clock ? (fn: () => void, ms: number) => clock.setTimeout(fn, ms) : (fn: () => void, ms: number) => setTimeout(fn, ms);
  const clearTimer = clock ? (id: unknown) => clock.clearTimeout(id) : (id: unknown) => clearTimeout(id as ReturnType<typeof setTimeout>);
  const random = options.random ?? Math.random;
  const lifecycle: AnyStateMachine = options.lifecycle ?? operationMachine;
  const actorOptions = clock ? { clock: clock as never } : {};
  // Inspection hub: `options.inspect` and observers added later with `arbiter.inspect()` all reach
  // the actors through one forwarding observer, given to an actor only while someone listens, so
  // an uninspected arbiter pays nothing. A throwing observer never breaks an actor.
  const inspectors = new Set<Observer<InspectionEvent>>();
  const hub: Observer<InspectionEvent> = {
    next(event) {
      for (const o of inspectors) {
        try {
          o.next?.(event);
        } catch (err) {
          observerErrors++;
          try {
            options.onObserverError?.(err);
          } catch {
            // The error reporter itself failed; there is nobody left to tell.
          }
        }
      }
      if (event.type === '@xstate.actor' && event.rootId === event.actorRef.sessionId) hubbed.add(event.actorRef);
    },
  };
  // Observers that want every operation, and the samplers of those that want some.
  let inspectAll = 0;
  const samplers = new Set<() => boolean>();
  function inspectOperation(): boolean {
    if (inspectAll > 0) return true;
    for (const sample of samplers) {
      try {
        if (sample()) return true;
      } catch {
        // A failing sampler samples nothing.
      }
    }
    return false;
  }
  // Root actors whose system already forwards to the hub (so `arbiter.inspect` never adds it twice).
  const hubbed = new WeakSet<object>();
  if (options.inspect) {
    inspectors.add(typeof options.inspect === 'function' ? { next: options.inspect } : options.inspect);
    inspectAll++;
  }

  let observerErrors = 0;
  const bus = new EventBus(now, (err) => {
    observerErrors++;
    try {
      options.onObserverError?.(err);
    } catch {
      // The error reporter itself failed; there is nobody left to tell.
    }
  });

  const live = new Map<string, OperationRecord>();
  // Observability: the cleanup actor keeps the final records, the metrics and breaker actors
  // are fed by events$, the health actor reads them all when asked.
  const logger = options.logger;
  const records = new FinalRecords<OperationRecord, OperationInfo>(cleanupOptions, {
    now,
    setTimer,
    clearTimer,
    toRecord: infoOf,
    // A zombie's store record (it won, then ended rejected) leaves with its audit record.
    dropZombie: (r, reason) => {
      if (promotion === undefined || r.storeId === undefined) return;
      if (promotion.store.delete(r.storeId)) log(logger, 'debug', { operationId: r.id, storeId: r.storeId, reason }, 'arbiter removed a zombie store record');
    },
    logger,
  });
  const breaker = breakerOptions ? new CircuitBreaker({ options: breakerOptions, clock, logger }) : undefined;
  const metricsActor = new MetricsCollector(
    metricsOptions,
    {
      core: coreMetrics,
      stagedByTarget: function* () {
        for (const target of supervisor.targets()) yield [target, supervisor.undecidedOn(target)] as const;
      },
      retained: () => records.size,
      now,
    },
    (err) => log(logger, 'error', { err }, 'arbiter metrics actor failed'),
  );
  bus.events$.subscribe((e) => {
    metricsActor.observe(e);
    breaker?.observe(e);
  });
  const healthMonitor = new HealthMonitor(healthOptions, {
    now,
    stopped: () => stopped,
    staged: () => supervisor.totalUndecided,
    resolutionP99Ms: () => {
      const h = metricsActor.histogram('resolutionTimeUs');
      return h.count === 0 ? undefined : h.p99 / 1000;
    },
    executionSuccessRate: () => metricsActor.rates().executionSuccessRate,
    conflictLossRate: () => metricsActor.rates().conflictLossRate,
    zombieCount: () => records.zombieCount,
    oldestZombieAt: () => records.oldestZombieAt(),
    orphanedTargets: () => {
      let covered = 0;
      for (const target of supervisor.targets()) {
        if (supervisor.get(target)?.getSnapshot().status === 'active') covered += supervisor.undecidedOn(target);
      }
      if (covered === supervisor.totalUndecided) return [];
      const orphaned: string[] = [];
      for (const r of live.values()) {
        if (r.admitted && !r.won && supervisor.get(r.target)?.getSnapshot().status !== 'active' && !orphaned.includes(r.target)) orphaned.push(r.target);
      }
      return orphaned;
    },
  });
  const retrier = new SubmitRetrier({ submit, setTimer, clearTimer, random, logger });
  const rejectedByCode = Object.fromEntries(REJECTION_CODES.map((c) => [c, 0])) as Record<RejectionCode, number>;
  const counters = { submitted: 0, completed: 0, rejected: 0, conflicts: 0, executing: 0 };
  let seq = 0;
  let stopped = false;
  let drainWaiters: Array<() => void> = [];

  const port: CoordinatorPort = {
    now,
    conflict(report: WindowReport) {
      counters.conflicts++;
      if (!bus.observed) return;
      const candidateIds = report.candidates.map((c) => c.id);
      bus.emit({ type: 'conflict.detected', target: report.target, candidateIds, windowOpenedAt: report.windowOpenedAt });
      const d = report.decision;
      bus.emit({
        type: 'conflict.resolved',
        target: report.target,
        candidateIds,
        winnerId: d.kind === 'start' || d.kind === 'hold' ? d.winner.id : null,
        loserIds: d.kind === 'empty' ? [] : d.losers.map((c) => c.id),
        decision: d.kind === 'start' ? 'start' : d.kind === 'hold' ? 'hold' : 'none',
        ...(d.kind === 'none' ? { code: d.code } : {}),
        ...(d.kind === 'start' || d.kind === 'hold' ? { priority: d.winner.effectivePriority } : {}),
        durationMs: report.durationMs,
      });
    },
    won(op: StagedOperation) {
      const record = op as OperationRecord;
      record.won = true;
      record.startedAt = now();
      if (promotion) record.storeId = promotion.promote(record);
      counters.executing++;
      supervisor.decided(record.target);
    },
    released(id: string) {
      const record = live.get(id);
      if (record) record.routed = false;
    },
    preempted(held: HeldOperation, by: Candidate, reason: string) {
      if (!bus.observed) return;
      bus.emit({
        type: 'operation.preempted',
        target: by.target,
        operationId: held.id,
        priority: held.effectivePriority,
        byId: by.id,
        reason,
      });
    },
  };

  const supervisor = new Supervisor({
    coordinator: {
      windowMs: resolved.windowMs,
      gracePeriodMs: resolved.gracePeriodMs,
      whileExecuting: resolved.whileExecuting,
      idleMs: resolved.idleCoordinatorMs,
      maxStagedPerTarget: resolved.maxStagedPerTarget,
      selectWinner: resolved.selectWinner,
    },
    port,
    clock,
    get inspect() {
      return inspectors.size > 0 ? hub : undefined;
    },
    onCoordinatorError: (target, err) => log(logger, 'error', { err, target }, 'arbiter coordinator failed; its staged operations were rejected'),
  });

  function finalize(record: OperationRecord, snapshot: AnyMachineSnapshot | undefined, error?: unknown): void {
    if (!record.open) return;
    record.open = false;
    if (record.timer !== undefined) {
      clearTimer(record.timer);
      record.timer = undefined;
    }
    const ctx = (snapshot?.context ?? {}) as { result?: unknown; error?: unknown; code?: RejectionCode; reason?: string; attempt?: number };
    record.finishedAt = now();
    record.attempt = ctx.attempt ?? record.attempt;
    const completed = snapshot !== undefined && error === undefined && record.status === 'completed';
    if (!completed) {
      record.status = 'rejected';
      record.code = ctx.code ?? 'execution-failed';
      record.reason = ctx.reason ?? (error !== undefined ? `operation actor failed: ${describeError(error)}` : 'rejected without a reason');
    }
    if (record.admitted && !record.won) supervisor.decided(record.target);
    if (record.won) counters.executing--;
    if (record.storeId !== undefined) promotion!.settle(record.storeId, record.id, completed ? 'completed' : 'rejected', record.code);
    if (record.routed) supervisor.finished(record.target, record.id);
    live.delete(record.id);
    records.add(record);
    if (completed) counters.completed++;
    else {
      counters.rejected++;
      // Extended lifecycles may reject with codes of their own (see extendLifecycle).
      rejectedByCode[record.code!] = (rejectedByCode[record.code!] ?? 0) + 1;
    }
    if (bus.observed) {
      const durationMs = record.finishedAt - record.submittedAt;
      if (completed) {
        bus.emit({
          type: 'operation.completed',
          target: record.target,
          operationId: record.id,
          priority: record.effectivePriority,
          attempt: record.attempt,
          durationMs,
          executionMs: record.finishedAt - (record.startedAt ?? record.finishedAt),
        });
      } else {
        bus.emit({
          type: 'operation.rejected',
          target: record.target,
          operationId: record.id,
          priority: record.effectivePriority,
          code: record.code!,
          reason: record.reason!,
          attempt: record.attempt,
          durationMs,
          won: record.won,
        });
      }
    }
    if (completed) record.resolve(ctx.result);
    else {
      record.reject(
        new OperationRejectedError({
          code: record.code!,
          reason: record.reason!,
          operationId: record.id,
          target: record.target,
          cause: error ?? ctx.error,
        }),
      );
    }
    if (live.size === 0 && drainWaiters.length > 0) {
      const waiters = drainWaiters;
      drainWaiters = [];
      for (const w of waiters) w();
    }
  }

  function observe(record: OperationRecord, snapshot: AnyMachineSnapshot): void {
    const status = topState(snapshot.value);
    if (status === record.status) return;
    record.status = status;
    if (snapshot.status === 'done' || FINAL.has(status)) {
      finalize(record, snapshot);
      return;
    }
    const ctx = snapshot.context as { attempt?: number; error?: unknown };
    switch (status) {
      case 'staged':
        if (bus.observed) {
          bus.emit({
            type: 'operation.staged',
            target: record.target,
            operationId: record.id,
            priority: record.priority,
            effectivePriority: record.effectivePriority,
          });
        }
        if (!record.routed) {
          record.routed = true;
          supervisor.stage(record.target, record);
        }
        break;
      case 'executing':
        record.attempt = ctx.attempt ?? record.attempt + 1;
        if (bus.observed) {
          bus.emit({
            type: 'operation.started',
            target: record.target,
            operationId: record.id,
            priority: record.effectivePriority,
            attempt: record.attempt,
          });
        }
        break;
      case 'retrying':
        if (bus.observed) {
          bus.emit({
            type: 'operation.retrying',
            target: record.target,
            operationId: record.id,
            attempt: ctx.attempt ?? record.attempt,
            reason: describeError(ctx.error),
          });
        }
        break;
      default:
        break;
    }
  }

  const engine: RecordEngine = { observe, finalize };

  function lookup(id: string): OperationRecord | OperationInfo | undefined {
    return live.get(id) ?? records.get(id);
  }

  function submit<TResult, TData>(spec: OperationSpec<TResult, TData>): OperationHandle<TResult> {
    validateSpec(spec as OperationSpec<unknown, unknown>);
    const id = spec.id ?? newId();
    if (spec.id !== undefined && lookup(id)) {
      throw new ArbiterInputError('id', `Expected \`id\` to be unique, got ${JSON.stringify(id)} which is already known`);
    }
    const priority = spec.priority ?? Priority.NORMAL;
    const effectivePriority = resolveEffectivePriority(priority, spec.parentId, lookup, id);
    const submittedAt = now();
    const opSeq = ++seq;
    const type = spec.type ?? 'operation';
    const input: OperationInput = {
      id,
      target: spec.target,
      type,
      priority,
      effectivePriority,
      seq: opSeq,
      submittedAt,
      maxRetries: spec.maxRetries ?? defaultMaxRetries(effectivePriority),
      retry: resolved.retry,
      execute: spec.execute as OperationInput['execute'],
      retryable: spec.retryable,
      random,
      parentId: spec.parentId,
      data: spec.data,
    };
    const inspected = inspectors.size > 0 && inspectOperation();
    const actor = createActor(lifecycle, inspected ? { ...actorOptions, input, inspect: hub } : { ...actorOptions, input }) as AnyActorRef;
    // Frozen: a custom selectWinner sees it and must not be able to change what others compete on.
    const candidate: Candidate = Object.freeze({
      id,
      target: spec.target,
      type,
      priority,
      effectivePriority,
      submittedAt,
      seq: opSeq,
      data: spec.data,
    });
    const record = new OperationRecord(
      id,
      spec.target,
      type,
      priority,
      effectivePriority,
      spec.parentId,
      opSeq,
      submittedAt,
      candidate,
      actor,
      engine,
    );
    const result = new Promise<TResult>((resolve, reject) => {
      record.resolve = resolve as (value: unknown) => void;
      record.reject = reject;
    });
    // Mark handled: a caller who never awaits `result` must not get an unhandledRejection.
    result.catch(noop);
    live.set(id, record);
    counters.submitted++;
    actor.subscribe(record);
    if (bus.observed) {
      bus.emit({
        type: 'operation.submitted',
        target: spec.target,
        operationId: id,
        operationType: type,
        priority,
        effectivePriority,
        ...(spec.parentId !== undefined ? { parentId: spec.parentId } : {}),
      });
    }
    actor.start();
    if (spec.timeoutMs !== undefined && record.open) {
      record.timer = setTimer(() => {
        record.timer = undefined;
        actor.send({ type: 'arbiter.timeout' });
      }, spec.timeoutMs);
    }
    if (stopped) {
      actor.send({ type: 'arbiter.shutdown' });
    } else if (breaker !== undefined && !breaker.allow(id)) {
      actor.send({ type: 'arbiter.reject', code: 'circuit-open', reason: breaker.reason() });
    } else if (supervisor.totalUndecided >= resolved.maxStaged) {
      actor.send({
        type: 'arbiter.reject',
        code: 'staging-full',
        reason: `the arbiter already has ${supervisor.totalUndecided} staged operations (maxStaged ${resolved.maxStaged})`,
      });
    } else if (supervisor.undecidedOn(spec.target) >= resolved.maxStagedPerTarget) {
      actor.send({
        type: 'arbiter.reject',
        code: 'staging-full',
        reason: `target ${spec.target} already has ${supervisor.undecidedOn(spec.target)} staged operations (maxStagedPerTarget ${resolved.maxStagedPerTarget})`,
      });
    } else {
      record.admitted = true;
      supervisor.admit(spec.target);
      actor.send({ type: 'arbiter.admit' });
    }
    return new Handle(record, result);
  }

  function filterMatch(r: OperationRecord | OperationInfo, f: OperationQuery): boolean {
    return (
      (f.status === undefined || r.status === f.status) &&
      (f.target === undefined || r.target === f.target) &&
      (f.code === undefined || r.code === f.code)
    );
  }

  function coreMetrics(): CoreMetrics {
    return {
      submitted: counters.submitted,
      completed: counters.completed,
      rejected: counters.rejected,
      inFlight: live.size,
      conflicts: counters.conflicts,
      rejectedByCode: { ...rejectedByCode },
      staged: supervisor.totalUndecided,
      executing: counters.executing,
      coordinators: supervisor.size,
      observerErrors,
      promoted: promotion?.promoted ?? 0,
      zombies: promotion?.zombies ?? 0,
      storeErrors: promotion?.errors ?? 0,
    };
  }

  const operations: OperationsView = {
    get(id) {
      const r = live.get(id);
      return r ? infoOf(r) : records.get(id);
    },
    query(filter = {}) {
      const out: OperationInfo[] = [];
      for (const r of live.values()) if (filterMatch(r, filter)) out.push(infoOf(r));
      for (const r of records.values()) if (filterMatch(r, filter)) out.push(r);
      return out;
    },
    get size() {
      return live.size + records.size;
    },
  };

  return {
    submit,
    events$: bus.events$,
    operations,
    options: resolved,
    store: options.store,
    now,
    get stopped() {
      return stopped;
    },
    metrics: () => metricsActor.snapshot(),
    metricsText: () => metricsActor.text(),
    health: () => healthMonitor.check(),
    submitWithRetry: (spec, retryOptions) => retrier.run(spec, retryOptions),
    breaker,
    drain() {
      if (live.size === 0) return Promise.resolve();
      return new Promise<void>((resolve) => drainWaiters.push(resolve));
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      retrier.stop();
      for (const record of [...live.values()]) {
        record.actor.send({ type: 'arbiter.shutdown' });
        // A lifecycle that ignores shutdown still ends here: the actor is stopped and settled.
        if (record.open) {
          record.actor.stop();
          record.status = 'rejected';
          finalize(record, { context: { code: 'shutdown', reason: 'the arbiter was stopped' } } as unknown as AnyMachineSnapshot);
        }
      }
      supervisor.stop();
      records.stop();
      breaker?.stop();
      bus.complete();
    },
    inspect(observer, inspectOptions) {
      if (typeof observer !== 'function') expectObject(observer, 'observer');
      if (inspectOptions !== undefined) {
        expectObject(inspectOptions, 'options');
        if (inspectOptions.sampleOperation !== undefined) expectFunction(inspectOptions.sampleOperation, 'options.sampleOperation');
      }
      const wanted = inspectOptions?.sampleOperation as (() => boolean) | undefined;
      const sample = wanted ? () => wanted() === true : undefined;
      const o: Observer<InspectionEvent> = typeof observer === 'function' ? { next: observer } : { next: (e) => observer.next?.(e) };
      inspectors.add(o);
      if (sample) samplers.add(sample);
      else inspectAll++;
      const announce = (actor: AnyActorRef, root: AnyActorRef) => {
        if (!hubbed.has(root)) {
          hubbed.add(root);
          root.system.inspect(hub);
        }
        try {
          o.next?.({ type: '@xstate.actor', actorRef: actor, rootId: root.sessionId });
        } catch {
          // Isolated like any inspection observer.
        }
      };
      for (const target of supervisor.targets()) {
        const c = supervisor.get(target);
        if (c) announce(c, c);
      }
      for (const record of live.values()) {
        announce(record.actor, record.actor);
        const children = (record.actor.getSnapshot() as { children?: Record<string, AnyActorRef> }).children;
        for (const child of Object.values(children ?? {})) if (child) announce(child, record.actor);
      }
      return {
        unsubscribe() {
          if (!inspectors.delete(o)) return;
          if (sample) samplers.delete(sample);
          else inspectAll--;
        },
      };
    },
  };
}
