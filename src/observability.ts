// Option types of the observability actors (metrics, health, breaker, cleanup). They live here,
// importing nothing, so that src/types.ts can name them without an import cycle through actors/.

/**
 * The three cleanup strategies for final operation records:
 * `immediate` forgets a record as soon as it is final; `deferred` keeps it `retentionMs`, then
 * one timer removes it; `lazy` keeps it until a read (`operations.get` / `.query`) meets it
 * older than `maxAgeMs`.
 *
 * @example
 * ```ts
 * const strategy: CleanupStrategy = 'immediate';
 * createArbiter({ cleanup: { strategy } });
 * ```
 */
export type CleanupStrategy = 'immediate' | 'deferred' | 'lazy';

/**
 * Options of the cleanup actor (`createArbiter({ cleanup })`). Whatever the strategy, at most
 * `maxRetained` final records are kept (the oldest go first), so memory stays bounded.
 *
 * @example
 * ```ts
 * createArbiter({ cleanup: { strategy: 'deferred', retentionMs: 60_000, maxRetained: 50_000 } });
 * createArbiter({ cleanup: { strategy: 'lazy', maxAgeMs: 3_600_000 } });
 * ```
 */
export interface CleanupOptions {
  /** @default 'deferred' */
  strategy: CleanupStrategy;
  /** `deferred`: how long a final record stays readable. @default 1_800_000 (30 minutes) */
  retentionMs: number;
  /** `lazy`: a record older than this is removed when a read meets it. @default 3_600_000 (1 hour) */
  maxAgeMs: number;
  /** Hard bound on retained final records, any strategy. @default 10_000 */
  maxRetained: number;
}

/**
 * Circuit breaker settings. The breaker watches *executions* (operations that won and ran), not
 * arbitration losses: losing a window is the arbiter working as designed.
 *
 * @example
 * ```ts
 * createArbiter({ breaker: { failureRateThreshold: 0.25, rollingWindowMs: 30_000, openMs: 10_000 } });
 * ```
 */
export interface BreakerOptions {
  /** Opens when failed / executions in the window passes this (0..1). @default 0.1 (10 %) */
  failureRateThreshold: number;
  /**
   * Length of the rolling window of execution outcomes (10 buckets of a tenth each). Named apart
   * from the arbiter's `windowMs` (the arbitration window, 100 ms): this one is seconds of history.
   * @default 10_000
   */
  rollingWindowMs: number;
  /** No decision below this many executions in the window. @default 10 */
  minimumExecutions: number;
  /** How long it stays open before letting probes through (half-open). @default 5_000 */
  openMs: number;
  /** Submissions let through at once while half-open. @default 1 */
  halfOpenProbes: number;
}

/**
 * Options of the metrics actor (`createArbiter({ metrics })`).
 *
 * @example
 * ```ts
 * createArbiter({ metrics: { prefix: 'payments_', labels: { service: 'payments' }, reservoirSize: 4096 } });
 * ```
 */
export interface MetricsOptions {
  /** Prefix of every Prometheus metric name. @default 'arbiter_' */
  prefix: string;
  /** Labels added to every Prometheus sample. @default {} */
  labels: Record<string, string>;
  /** How many recent observations each histogram keeps for p50/p95/p99. @default 1024 */
  reservoirSize: number;
  /** The sliding window of `throughput` and of the health rates. @default 60_000 */
  throughputWindowMs: number;
  /** Most targets exported in `arbiter_staged_by_target` (the fullest first). @default 20 */
  maxTargetLabels: number;
  /**
   * Distinct operation types counted by name in `metrics().byType` and `arbiter_operations_by_type_total`;
   * operations of types seen after this many are summed in `metrics().otherTypes`, so memory and
   * label cardinality stay bounded whatever `type` strings callers use. @default 100
   */
  maxTypes: number;
  /**
   * A prom-client `Registry` of your application (its global `register`, or your own): the
   * arbiter's metrics are registered in it as well, so your `/metrics` endpoint serves them with
   * your own. A name already taken there is an `ArbiterInputError` (give each arbiter its own
   * `prefix`). `metricsText()` still returns the arbiter's metrics alone. @default undefined
   *
   * @example
   * ```ts
   * import { register } from 'prom-client';
   * const arbiter = createArbiter({ metrics: { registry: register } });
   * app.get('/metrics', async (_req, res) => res.type(register.contentType).send(await register.metrics()));
   * ```
   */
  registry: MetricsRegistry | undefined;
}

/**
 * What the arbiter needs from a prom-client `Registry` to register its metrics there (any
 * prom-client 15 `Registry` has it).
 *
 * @example
 * ```ts
 * import { Registry } from 'prom-client';
 * const registry: MetricsRegistry = new Registry();
 * ```
 */
export interface MetricsRegistry {
  registerMetric(metric: never): void;
  getSingleMetric(name: string): unknown;
}

/**
 * Health thresholds. Each check fails when its value crosses its threshold.
 *
 * @example
 * ```ts
 * createArbiter({ health: { thresholds: { maxResolutionMs: 5, minSuccessRate: 0.99 } } });
 * ```
 */
export interface HealthThresholds {
  /** `stagingSize` fails at this many staged operations. @default 1000 */
  maxStaged: number;
  /** `resolutionLatency` fails when the p99 time to arbitrate a conflict passes this. @default 100 */
  maxResolutionMs: number;
  /** `successRate` fails when fewer executions than this succeed in the window. @default 0.9 (at most 10 % of executions fail) */
  minSuccessRate: number;
  /** `conflictRate` fails when more final operations than this lost arbitration in the window. @default 0.8 (at least 20 % of final operations did not lose a conflict) */
  maxConflictRate: number;
  /** `memory` fails when the heap passes this many MB. @default 1000 */
  maxMemoryMb: number;
  /** `zombieCount` fails above this many zombies. @default 1000 */
  maxZombies: number;
  /** `oldestZombieAge` fails when a zombie is older than this. @default 86_400_000 (24 hours) */
  maxZombieAgeMs: number;
}

/**
 * A custom check: return `true`/`false`, or `{ healthy, message }`. A throw counts as failed.
 *
 * @example
 * ```ts
 * const db: HealthCheckFn = () => ({ healthy: pool.idleCount > 0, message: `${pool.idleCount} idle` });
 * ```
 */
export type HealthCheckFn = () => boolean | { healthy: boolean; message?: string };

/**
 * Options of the health actor (`createArbiter({ health })`).
 *
 * @example
 * ```ts
 * createArbiter({ health: { thresholds: { maxStaged: 500 }, checks: { redis: () => redis.status === 'ready' } } });
 * ```
 */
export interface HealthOptions {
  thresholds: Partial<HealthThresholds>;
  /** Extra checks, run after the built-in ones. */
  checks: Record<string, HealthCheckFn>;
  /** Heap in use, in bytes. @default `process.memoryUsage().heapUsed`, or `performance.memory` in browsers */
  memoryUsage: () => number;
  /**
   * Refuse new submissions while `health()` is `unhealthy` (rejected `circuit-open`, the reason
   * naming the failed checks), as a production gate does. Health is checked again at most every
   * `recheckMs`, so a submission never pays for a full check. @default false
   */
  refuseWhenUnhealthy: boolean;
  /** With `refuseWhenUnhealthy`, how long one health verdict is used. @default 1000 */
  recheckMs: number;
}
