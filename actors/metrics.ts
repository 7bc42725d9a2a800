import type * as PromClient from 'prom-client';
import { loadOptional, OptionalDependencyError } from '../src/optional.js';
import { readOptions } from '../src/keys.js';
import { executionOutcome } from '../machines/breaker.machine.js';
import type { ArbiterEvent, ArbiterEventBase } from '../src/events.js';
import type { MetricsOptions, MetricsRegistry } from '../src/observability.js';
import { REJECTION_CODES, type CoreMetrics, type RejectionCode } from '../src/types.js';
import { expectFiniteNumber, expectFunction, expectInteger, expectNonEmptyString, expectObject } from '../src/validate.js';
import { ArbiterInputError } from '../src/errors.js';

const DEFAULT_METRICS: Readonly<MetricsOptions> = Object.freeze({
  prefix: 'arbiter_',
  labels: {},
  reservoirSize: 1024,
  throughputWindowMs: 60_000,
  maxTargetLabels: 20,
  maxTypes: 100,
  registry: undefined,
});

/** Label names the arbiter's own metrics use: `metrics.labels` may not take them. */
const RESERVED_LABELS = new Set(['le', 'code', 'kind', 'target', 'operation_type', 'stage', 'priority', 'result']);

/**
 * Validates the `metrics` option and fills in the defaults.
 * @internal
 */
export function resolveMetricsOptions(value: unknown): Readonly<MetricsOptions> {
  if (value === undefined) return DEFAULT_METRICS;
  // Read once, unknown keys refused (`metrics: { prefx }` names the typo).
  const o = readOptions(value, ['prefix', 'labels', 'reservoirSize', 'throughputWindowMs', 'maxTargetLabels', 'maxTypes', 'registry'] as const, 'metrics');
  if (o.prefix !== undefined) {
    if (typeof o.prefix !== 'string' || !/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(o.prefix)) {
      throw new ArbiterInputError('metrics.prefix', `Expected \`metrics.prefix\` to be a Prometheus name prefix like 'arbiter_', got ${JSON.stringify(o.prefix)}`);
    }
  }
  if (o.labels !== undefined) {
    expectObject(o.labels, 'metrics.labels');
    for (const [k, v] of Object.entries(o.labels)) {
      if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(k) || k.startsWith('__') || RESERVED_LABELS.has(k)) {
        throw new ArbiterInputError(
          'metrics.labels',
          `Expected \`metrics.labels\` keys to be Prometheus label names other than ${[...RESERVED_LABELS].join(', ')}, got ${JSON.stringify(k)}`,
        );
      }
      expectNonEmptyString(v, `metrics.labels.${k}`);
    }
  }
  if (o.reservoirSize !== undefined) expectInteger(o.reservoirSize, 'metrics.reservoirSize', 1, 1 << 20);
  if (o.throughputWindowMs !== undefined) expectFiniteNumber(o.throughputWindowMs, 'metrics.throughputWindowMs', 1);
  if (o.maxTargetLabels !== undefined) expectInteger(o.maxTargetLabels, 'metrics.maxTargetLabels', 0);
  if (o.maxTypes !== undefined) expectInteger(o.maxTypes, 'metrics.maxTypes', 0);
  if (o.registry !== undefined) {
    expectObject(o.registry, 'metrics.registry');
    const r = o.registry as Partial<Record<keyof MetricsRegistry, unknown>>;
    expectFunction(r.registerMetric, 'metrics.registry.registerMetric');
    expectFunction(r.getSingleMetric, 'metrics.registry.getSingleMetric');
  }
  return Object.freeze({
    prefix: (o.prefix as string | undefined) ?? DEFAULT_METRICS.prefix,
    labels: Object.freeze({ ...((o.labels as Record<string, string> | undefined) ?? {}) }),
    reservoirSize: (o.reservoirSize as number | undefined) ?? DEFAULT_METRICS.reservoirSize,
    throughputWindowMs: (o.throughputWindowMs as number | undefined) ?? DEFAULT_METRICS.throughputWindowMs,
    maxTargetLabels: (o.maxTargetLabels as number | undefined) ?? DEFAULT_METRICS.maxTargetLabels,
    maxTypes: (o.maxTypes as number | undefined) ?? DEFAULT_METRICS.maxTypes,
    registry: o.registry as MetricsRegistry | undefined,
  });
}

/**
 * Sets `key` as an own, enumerable data property, whatever the string: `obj[key] = value` would
 * change the prototype for `"__proto__"` instead of storing it.
 */
function setOwn<T>(obj: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

/**
 * A histogram's summary. `count`, `sum`, `mean`, `min` and `max` cover every observation since
 * the arbiter started; `p50`, `p95` and `p99` are exact (nearest-rank) over the most recent
 * `reservoirSize` observations. All are 0 while `count` is 0.
 *
 * @example
 * ```ts
 * const { p99 } = arbiter.metrics().histograms.decisionLatencyMs;
 * ```
 */
export interface HistogramSnapshot {
  readonly count: number;
  readonly sum: number;
  readonly mean: number;
  readonly min: number;
  readonly max: number;
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
}

/**
 * Operations per second over the sliding `throughputWindowMs` (or since the arbiter started,
 * when it is younger than that).
 *
 * @example
 * ```ts
 * const { completedPerSec } = arbiter.metrics().throughput;
 * ```
 */
export interface ThroughputSnapshot {
  readonly windowMs: number;
  readonly submittedPerSec: number;
  readonly completedPerSec: number;
  readonly rejectedPerSec: number;
}

/**
 * Operations per effective priority, keyed `'1'` to `'10'` (every key present, 0 included).
 *
 * @example
 * ```ts
 * const { submitted, won } = arbiter.metrics().priorities;
 * console.log(`CRITICAL: ${won['10']} of ${submitted['10']} won`);
 * ```
 */
export type PriorityCounts = Readonly<Record<string, number>>;

/**
 * What happened to the operations of one `type`.
 *
 * @example
 * ```ts
 * const { successRate } = arbiter.metrics().byType['withdraw'] ?? {};
 * ```
 */
export interface TypeMetrics {
  readonly submitted: number;
  /** Operations that won their target (they started executing, or a custom step after winning). */
  readonly won: number;
  readonly completed: number;
  readonly rejected: number;
  /** Winners that ended `execution-failed`, `retries-exhausted` or `timeout`. */
  readonly executionFailures: number;
  /**
   * completed / winners that reached a final state: a winner preempted, failed, timed out or
   * rejected by a step of your own counts against it; losers do not. `undefined` until a winner
   * of this type is final.
   */
  readonly successRate: number | undefined;
}

/**
 * Removals of operation records from the record store, as reported by the cleanup actor: zombie
 * records (winners that ended rejected) and, in a record store of the arbiter's own (which holds
 * the audit trail only), every record when its audit record leaves.
 *
 * @example
 * ```ts
 * const { failed, successRate } = arbiter.metrics().cleanup;
 * ```
 */
export interface CleanupMetrics {
  /** Records removed from the record store. */
  readonly succeeded: number;
  /** Removals that threw or rejected (and sweeps that failed). */
  readonly failed: number;
  /** succeeded / (succeeded + failed); `undefined` before any. */
  readonly successRate: number | undefined;
}

/**
 * Everything `arbiter.metrics()` returns: the core counters plus the metrics actor's.
 *
 * @example
 * ```ts
 * const m = arbiter.metrics();
 * assert.equal(m.unaccounted, 0);
 * console.log(m.histograms.operationsPerConflict.p50, m.throughput.completedPerSec);
 * ```
 */
export interface ArbiterMetrics extends CoreMetrics {
  /** `submitted − completed − rejected − inFlight`: always 0 (the accounting invariant). */
  readonly unaccounted: number;
  /** Rejections by code: every built-in code (0 included), then codes of your own lifecycle steps (any string). */
  readonly rejectedByCode: Readonly<Record<RejectionCode, number>> & Readonly<Record<string, number>>;
  /** Operations that entered a window (`operation.staged` events). */
  readonly stagedTotal: number;
  /** Executions started, retries included (`operation.started` events). */
  readonly started: number;
  readonly conflictsDetected: number;
  readonly conflictsResolved: number;
  /** Executions retried after a retryable error (`operation.retrying` events). */
  readonly retries: number;
  readonly preemptions: number;
  /** Winners registered in the store (0 without a store). */
  readonly promoted: number;
  /** Store records of operations that won and then ended rejected (0 without a store). */
  readonly zombies: number;
  /** Admitted and undecided operations per target (targets with none are left out). */
  readonly stagedByTarget: Readonly<Record<string, number>>;
  /** Final operation records kept for `arbiter.operations` by the cleanup strategy. */
  readonly retained: number;
  /** Failures inside the metrics actor itself (they never affect operations). */
  readonly metricsErrors: number;
  /** Effective priorities of submitted operations and of winners. */
  readonly priorities: { readonly submitted: PriorityCounts; readonly won: PriorityCounts };
  /** Per operation `type` (the first `maxTypes` distinct types). */
  readonly byType: Readonly<Record<string, TypeMetrics>>;
  /** Operations of the types beyond `maxTypes`, summed. */
  readonly otherTypes: TypeMetrics;
  /**
   * Executing operations that a window's winner outranked while they were inside their grace
   * period, so they kept their target (each operation counted once).
   */
  readonly gracePeriodSaves: number;
  /** Per-target coordinators started, stopped (idle or shutdown) and failed. */
  readonly coordinatorStarts: number;
  readonly coordinatorStops: number;
  readonly coordinatorFailures: number;
  /** Winners whose store registration failed. */
  readonly promotionFailures: number;
  readonly cleanup: CleanupMetrics;
  /** Windows whose custom `selectWinner` ran past its time bound. */
  readonly arbitrationTimeouts: number;
  readonly histograms: {
    /** Time `arbitrate` took per conflict, in microseconds. */
    readonly resolutionTimeUs: HistogramSnapshot;
    /** Candidates per conflict. */
    readonly operationsPerConflict: HistogramSnapshot;
    /** From the first start of `execute` to completion, in milliseconds (completed operations). */
    readonly executionTimeMs: HistogramSnapshot;
    /** Submission to final state, in milliseconds (every operation). */
    readonly decisionLatencyMs: HistogramSnapshot;
    /** Retries a completed operation needed (`attempt − 1`). */
    readonly retriesPerSuccess: HistogramSnapshot;
    /** Winner decided → its record registered in the store, in milliseconds. */
    readonly promotionTimeMs: HistogramSnapshot;
    /** Time to remove one record from the record store, in milliseconds (failures included). */
    readonly cleanupLatencyMs: HistogramSnapshot;
  };
  readonly throughput: ThroughputSnapshot;
}

/** What the metrics actor reads from its arbiter when a snapshot is taken. @internal */
export interface MetricsSource {
  core(): CoreMetrics & { promoted?: number; zombies?: number };
  /** Admitted, undecided operations per target. */
  stagedByTarget(): Iterable<readonly [string, number]>;
  retained(): number;
  now(): number;
}

/**
 * The events beyond the operation lifecycle that the metrics actor counts: a grace period that
 * protected a holder, a record promoted, a coordinator's lifecycle, a cleanup, an arbitration
 * past its bound. All are on `events$`.
 *
 * @example
 * ```ts
 * collector.observe({ type: 'coordinator.started', seq: 1, at: 0, target: 'acct' });
 * ```
 */
export type CollectorEvent = Extract<
  ArbiterEvent,
  {
    type:
      | 'operation.protected'
      | 'operation.promoted'
      | 'coordinator.started'
      | 'coordinator.stopped'
      | 'coordinator.failed'
      | 'cleanup.completed'
      | 'cleanup.failed'
      | 'arbitration.timedOut';
  }
>;

/**
 * A histogram kept without allocation: all-time count, sum, min and max, and a ring of the
 * most recent values. Values not yet handed to prom-client wait in the same ring and are
 * flushed in one batch when it is about to overwrite them, or on export.
 */
class RecentHistogram {
  private readonly ring: Float64Array;
  private pos = 0;
  private filled = 0;
  private pending = 0;
  count = 0;
  sum = 0;
  min = Infinity;
  max = -Infinity;

  constructor(
    size: number,
    private readonly onFull: (h: RecentHistogram) => void,
  ) {
    this.ring = new Float64Array(size);
  }

  record(value: number): void {
    if (!Number.isFinite(value)) return;
    if (this.pending === this.ring.length) this.onFull(this);
    this.ring[this.pos] = value;
    this.pos = this.pos + 1 === this.ring.length ? 0 : this.pos + 1;
    if (this.filled < this.ring.length) this.filled++;
    this.pending++;
    this.count++;
    this.sum += value;
    if (value < this.min) this.min = value;
    if (value > this.max) this.max = value;
  }

  /** Hands the values not yet exported to `sink`, oldest first. */
  drain(sink: (value: number) => void): void {
    const n = this.ring.length;
    let i = (this.pos - this.pending + n) % n;
    for (let k = 0; k < this.pending; k++) {
      sink(this.ring[i]!);
      i = i + 1 === n ? 0 : i + 1;
    }
    this.pending = 0;
  }

  snapshot(): HistogramSnapshot {
    if (this.count === 0) return { count: 0, sum: 0, mean: 0, min: 0, max: 0, p50: 0, p95: 0, p99: 0 };
    const recent = this.ring.slice(0, this.filled).sort();
    const rank = (q: number) => recent[Math.max(0, Math.ceil(q * recent.length) - 1)]!;
    return {
      count: this.count,
      sum: this.sum,
      mean: this.sum / this.count,
      min: this.min,
      max: this.max,
      p50: rank(0.5),
      p95: rank(0.95),
      p99: rank(0.99),
    };
  }
}

/** Indexes of the sliding counters. */
const Slide = {
  Submitted: 0,
  Completed: 1,
  Rejected: 2,
  ExecSucceeded: 3,
  ExecFailed: 4,
  LostArbitration: 5,
  Count: 6,
} as const;
type Slide = (typeof Slide)[keyof typeof Slide];

const SLIDE_BUCKETS = 60;

/**
 * Counters over a sliding window of 60 buckets, indexed by clock time: O(1) per event and no
 * allocation. A bucket is reset when its slot is reused by a later period.
 */
class SlidingCounters {
  private readonly bucketMs: number;
  private readonly periods = new Float64Array(SLIDE_BUCKETS).fill(-1);
  private readonly counts = new Float64Array(SLIDE_BUCKETS * Slide.Count);

  constructor(readonly windowMs: number) {
    this.bucketMs = windowMs / SLIDE_BUCKETS;
  }

  add(field: Slide, at: number): void {
    const period = Math.floor(at / this.bucketMs);
    const slot = period % SLIDE_BUCKETS;
    if (this.periods[slot] !== period) {
      this.periods[slot] = period;
      this.counts.fill(0, slot * Slide.Count, slot * Slide.Count + Slide.Count);
    }
    this.counts[slot * Slide.Count + field]!++;
  }

  sum(field: Slide, now: number): number {
    const current = Math.floor(now / this.bucketMs);
    let total = 0;
    for (let slot = 0; slot < SLIDE_BUCKETS; slot++) {
      const p = this.periods[slot]!;
      if (p > current - SLIDE_BUCKETS && p <= current) total += this.counts[slot * Slide.Count + field]!;
    }
    return total;
  }
}

/**
 * Rates over the sliding window that the health checks read.
 *
 * @example
 * ```ts
 * const { executions, executionSuccessRate } = collector.rates();
 * ```
 */
export interface WindowRates {
  /** Executions that ended (completed, or won and then failed) in the window. */
  readonly executions: number;
  /** completed / executions in the window; `undefined` without executions. */
  readonly executionSuccessRate: number | undefined;
  /** Final operations in the window. */
  readonly finalized: number;
  /** lost-arbitration rejections / final operations in the window; `undefined` without any. */
  readonly conflictLossRate: number | undefined;
}

/**
 * Histograms, with their Prometheus names and fixed buckets. Prometheus wants durations in
 * seconds: `unit` converts the value kept in `metrics()` (ms or µs) to seconds on export.
 */
const HISTOGRAMS = {
  resolutionTimeUs: {
    name: 'resolution_time_seconds',
    help: 'Time spent arbitrating one conflict, in seconds.',
    unit: 1e6,
    buckets: [0.000005, 0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.1],
  },
  operationsPerConflict: {
    name: 'operations_per_conflict',
    help: 'Candidates competing in one conflict.',
    unit: 1,
    buckets: [2, 3, 4, 5, 6, 8, 10, 15, 20, 50, 100, 1000],
  },
  executionTimeMs: {
    name: 'execution_time_seconds',
    help: 'From the first start of execute to completion, in seconds.',
    unit: 1000,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 60],
  },
  decisionLatencyMs: {
    name: 'decision_latency_seconds',
    help: 'From submission to the final state, in seconds.',
    unit: 1000,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.25, 0.5, 1, 2.5, 5, 10, 60],
  },
  retriesPerSuccess: {
    name: 'retries_per_success',
    help: 'Retries a completed operation needed.',
    unit: 1,
    buckets: [0, 1, 2, 3, 5, 10, 20],
  },
  promotionTimeMs: {
    name: 'promotion_time_seconds',
    help: 'From a winner decided to its record registered in the store, in seconds.',
    unit: 1000,
    buckets: [0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1],
  },
  cleanupLatencyMs: {
    name: 'cleanup_duration_seconds',
    help: 'Time to remove one operation record from the record store (failures included), in seconds.',
    unit: 1000,
    buckets: [0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1],
  },
} as const;

type HistogramKey = keyof typeof HISTOGRAMS;
const HISTOGRAM_KEYS = Object.keys(HISTOGRAMS) as HistogramKey[];

/** Counts of one operation type. */
class TypeCounts {
  submitted = 0;
  won = 0;
  completed = 0;
  rejected = 0;
  rejectedAfterWin = 0;
  executionFailures = 0;

  snapshot(): TypeMetrics {
    const finishedWinners = this.completed + this.rejectedAfterWin;
    return {
      submitted: this.submitted,
      won: this.won,
      completed: this.completed,
      rejected: this.rejected,
      executionFailures: this.executionFailures,
      successRate: finishedWinners > 0 ? this.completed / finishedWinners : undefined,
    };
  }
}

/** What the collector remembers of an operation between its submission and its final event. */
class OperationState {
  won = false;
  saved = false;
  firstStartAt: number | undefined = undefined;

  constructor(
    readonly counts: TypeCounts,
    readonly priority: number,
  ) {}
}

const PRIORITY_KEYS = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '10'] as const;

/**
 * The metrics actor: an `events$` observer that keeps plain counters, sliding-window counters and
 * allocation-free histograms, so the per-event cost is a switch and a few additions; it also
 * remembers each operation in flight (its type and first start) until its final event. Prometheus
 * metrics (a `prom-client` `Registry` of its own, never the global one, plus `metrics.registry`
 * when given) read these values when scraped; histogram observations reach prom-client in batches.
 *
 * @example
 * ```ts
 * const collector = new MetricsCollector(resolveMetricsOptions(undefined), source);
 * arbiter.events$.subscribe((e) => collector.observe(e));
 * console.log(collector.snapshot().conflictsDetected, await collector.text());
 * ```
 */
export class MetricsCollector {
  private readonly counts = {
    staged: 0,
    started: 0,
    conflictsDetected: 0,
    conflictsResolved: 0,
    retries: 0,
    preemptions: 0,
    gracePeriodSaves: 0,
    coordinatorStarts: 0,
    coordinatorStops: 0,
    coordinatorFailures: 0,
    promotionFailures: 0,
    cleanupSucceeded: 0,
    cleanupFailed: 0,
    arbitrationTimeouts: 0,
  };
  private readonly histograms: Record<HistogramKey, RecentHistogram>;
  private readonly sliding: SlidingCounters;
  private readonly startedAt: number;
  /** Operations between `operation.submitted` and their final event. */
  private readonly operations = new Map<string, OperationState>();
  private readonly types = new Map<string, TypeCounts>();
  private readonly otherTypes = new TypeCounts();
  /** Indexed by effective priority (1..10; 0 holds anything else). */
  private readonly prioritySubmitted = new Float64Array(11);
  private readonly priorityWon = new Float64Array(11);
  private readonly rejectedByCode = new Map<string, number>(REJECTION_CODES.map((c) => [c, 0]));
  private errors = 0;
  private prom: PromExport | undefined;
  /** One snapshot serves every metric of one scrape (prom-client collects them all synchronously). */
  private cached: ArbiterMetrics | undefined;
  /** Observations that left a full ring before prom-client was loaded, per histogram. */
  private readonly overflow = new Map<RecentHistogram, number[]>();

  constructor(
    readonly options: Readonly<MetricsOptions>,
    private readonly source: MetricsSource,
    private readonly onError?: (err: unknown) => void,
  ) {
    const flush = (h: RecentHistogram) => this.flush(h);
    const make = () => new RecentHistogram(options.reservoirSize, flush);
    this.histograms = {
      resolutionTimeUs: make(),
      operationsPerConflict: make(),
      executionTimeMs: make(),
      decisionLatencyMs: make(),
      retriesPerSuccess: make(),
      promotionTimeMs: make(),
      cleanupLatencyMs: make(),
    };
    this.sliding = new SlidingCounters(options.throughputWindowMs);
    this.startedAt = source.now();
    if (options.registry !== undefined) this.registerIn(options.registry);
    // A full ring hands its values to prom-client: importing it now, while the arbiter starts,
    // keeps the module's load (over 100 ms measured here) out of a running workload. Not
    // installed, or not loadable here: metricsText() says so when it is called.
    else loadPromClient().catch(() => undefined);
  }

  /** Feeds one event. Never throws: a failure is counted in `metricsErrors`. */
  observe(event: ArbiterEvent | CollectorEvent): void {
    try {
      this.record(event);
    } catch (err) {
      this.errors++;
      this.onError?.(err);
    }
  }

  private record(e: ArbiterEvent | CollectorEvent): void {
    const h = this.histograms;
    switch (e.type) {
      case 'operation.submitted': {
        this.sliding.add(Slide.Submitted, e.at);
        let counts = this.types.get(e.operationType);
        if (counts === undefined) {
          counts = this.types.size < this.options.maxTypes ? new TypeCounts() : this.otherTypes;
          if (counts !== this.otherTypes) this.types.set(e.operationType, counts);
        }
        counts.submitted++;
        this.prioritySubmitted[priorityIndex(e.effectivePriority)]!++;
        this.operations.set(e.operationId, new OperationState(counts, e.effectivePriority));
        break;
      }
      case 'operation.staged':
        this.counts.staged++;
        break;
      case 'conflict.detected':
        this.counts.conflictsDetected++;
        h.operationsPerConflict.record(e.candidateIds.length);
        break;
      case 'conflict.resolved':
        this.counts.conflictsResolved++;
        h.resolutionTimeUs.record(e.durationMs * 1000);
        if (e.decision === 'start' && e.winnerId !== null) this.won(this.operations.get(e.winnerId));
        break;
      case 'operation.started': {
        this.counts.started++;
        const op = this.operations.get(e.operationId);
        if (op !== undefined) {
          op.firstStartAt ??= e.at;
          this.won(op);
        }
        break;
      }
      case 'operation.retrying':
        this.counts.retries++;
        break;
      case 'operation.preempted':
        this.counts.preemptions++;
        break;
      case 'operation.completed': {
        this.sliding.add(Slide.Completed, e.at);
        this.sliding.add(Slide.ExecSucceeded, e.at);
        const op = this.operations.get(e.operationId);
        // From the first start of `execute`, whatever steps ran between winning and executing.
        h.executionTimeMs.record(op?.firstStartAt !== undefined ? e.at - op.firstStartAt : e.executionMs);
        h.decisionLatencyMs.record(e.durationMs);
        h.retriesPerSuccess.record(Math.max(0, e.attempt - 1));
        if (op !== undefined) {
          this.won(op);
          op.counts.completed++;
          this.operations.delete(e.operationId);
        }
        break;
      }
      case 'operation.rejected': {
        this.sliding.add(Slide.Rejected, e.at);
        const failure = executionOutcome(e) === 'failure';
        if (e.code === 'lost-arbitration') this.sliding.add(Slide.LostArbitration, e.at);
        else if (failure) this.sliding.add(Slide.ExecFailed, e.at);
        h.decisionLatencyMs.record(e.durationMs);
        this.rejectedByCode.set(e.code, (this.rejectedByCode.get(e.code) ?? 0) + 1);
        const op = this.operations.get(e.operationId);
        if (op !== undefined) {
          if (e.won) {
            this.won(op);
            op.counts.rejectedAfterWin++;
          }
          op.counts.rejected++;
          if (failure) op.counts.executionFailures++;
          this.operations.delete(e.operationId);
        }
        break;
      }
      case 'operation.protected': {
        const op = this.operations.get(e.operationId);
        if (op === undefined || !op.saved) {
          if (op !== undefined) op.saved = true;
          this.counts.gracePeriodSaves++;
        }
        break;
      }
      case 'operation.promoted':
        if (e.ok) h.promotionTimeMs.record(e.durationMs);
        else this.counts.promotionFailures++;
        break;
      case 'coordinator.started':
        this.counts.coordinatorStarts++;
        break;
      case 'coordinator.stopped':
        this.counts.coordinatorStops++;
        break;
      case 'coordinator.failed':
        this.counts.coordinatorFailures++;
        break;
      case 'cleanup.completed':
        this.counts.cleanupSucceeded++;
        h.cleanupLatencyMs.record(e.durationMs);
        break;
      case 'cleanup.failed':
        this.counts.cleanupFailed++;
        h.cleanupLatencyMs.record(e.durationMs);
        break;
      case 'arbitration.timedOut':
        this.counts.arbitrationTimeouts++;
        break;
    }
  }

  private won(op: OperationState | undefined): void {
    if (op === undefined || op.won) return;
    op.won = true;
    op.counts.won++;
    this.priorityWon[priorityIndex(op.priority)]!++;
  }

  /** Rates over the sliding window, for health checks. */
  rates(): WindowRates {
    const now = this.source.now();
    const ok = this.sliding.sum(Slide.ExecSucceeded, now);
    const failed = this.sliding.sum(Slide.ExecFailed, now);
    const finalized = this.sliding.sum(Slide.Completed, now) + this.sliding.sum(Slide.Rejected, now);
    const lost = this.sliding.sum(Slide.LostArbitration, now);
    return {
      executions: ok + failed,
      executionSuccessRate: ok + failed > 0 ? ok / (ok + failed) : undefined,
      finalized,
      conflictLossRate: finalized > 0 ? lost / finalized : undefined,
    };
  }

  /** One histogram's summary. */
  histogram(key: HistogramKey): HistogramSnapshot {
    return this.histograms[key].snapshot();
  }

  /** The full typed snapshot behind `arbiter.metrics()`. */
  snapshot(): ArbiterMetrics {
    const core = this.source.core();
    const now = this.source.now();
    const stagedByTarget: Record<string, number> = {};
    for (const [target, n] of this.source.stagedByTarget()) if (n > 0) setOwn(stagedByTarget, target, n);
    // The core's counts are authoritative (they include rejections no event reported, e.g. after
    // stop()), except where its plain object cannot hold a code: a name of Object.prototype
    // (`__proto__`, `constructor`, …). Those, and any code it lacks, come from the events.
    const rejectedByCode: Record<string, number> = {};
    const fromCore = core.rejectedByCode as Readonly<Record<string, unknown>>;
    for (const code of Object.keys(fromCore)) {
      const n = fromCore[code];
      if (typeof n === 'number' && !(code in Object.prototype)) setOwn(rejectedByCode, code, n);
    }
    for (const [code, n] of this.rejectedByCode) if (!Object.prototype.hasOwnProperty.call(rejectedByCode, code)) setOwn(rejectedByCode, code, n);
    const byType: Record<string, TypeMetrics> = {};
    for (const [type, counts] of this.types) setOwn(byType, type, counts.snapshot());
    const seconds = Math.max(Math.min(this.options.throughputWindowMs, now - this.startedAt), 1) / 1000;
    const rate = (field: Slide) => this.sliding.sum(field, now) / seconds;
    const c = this.counts;
    const cleanups = c.cleanupSucceeded + c.cleanupFailed;
    const histograms = {} as Record<HistogramKey, HistogramSnapshot>;
    for (const key of HISTOGRAM_KEYS) histograms[key] = this.histograms[key].snapshot();
    return {
      ...core,
      rejectedByCode: rejectedByCode as ArbiterMetrics['rejectedByCode'],
      unaccounted: core.submitted - core.completed - core.rejected - core.inFlight,
      stagedTotal: c.staged,
      started: c.started,
      conflictsDetected: c.conflictsDetected,
      conflictsResolved: c.conflictsResolved,
      retries: c.retries,
      preemptions: c.preemptions,
      promoted: core.promoted ?? 0,
      zombies: core.zombies ?? 0,
      stagedByTarget,
      retained: this.source.retained(),
      metricsErrors: this.errors,
      priorities: { submitted: priorityCounts(this.prioritySubmitted), won: priorityCounts(this.priorityWon) },
      byType,
      otherTypes: this.otherTypes.snapshot(),
      gracePeriodSaves: c.gracePeriodSaves,
      coordinatorStarts: c.coordinatorStarts,
      coordinatorStops: c.coordinatorStops,
      coordinatorFailures: c.coordinatorFailures,
      promotionFailures: c.promotionFailures,
      cleanup: { succeeded: c.cleanupSucceeded, failed: c.cleanupFailed, successRate: cleanups > 0 ? c.cleanupSucceeded / cleanups : undefined },
      arbitrationTimeouts: c.arbitrationTimeouts,
      histograms,
      throughput: {
        windowMs: this.options.throughputWindowMs,
        submittedPerSec: rate(Slide.Submitted),
        completedPerSec: rate(Slide.Completed),
        rejectedPerSec: rate(Slide.Rejected),
      },
    };
  }

  /** The Prometheus text exposition format, produced by prom-client (imported when the collector starts, or on first use if that failed). */
  async text(): Promise<string> {
    const prom = this.promExport(await loadPromClient());
    return prom.registry.metrics();
  }

  /** The snapshot every metric of one scrape reads. */
  private read(): ArbiterMetrics {
    if (this.cached === undefined) {
      this.cached = this.snapshot();
      queueMicrotask(() => {
        this.cached = undefined;
      });
    }
    return this.cached;
  }

  // Registers in the application's registry now when prom-client can be loaded synchronously
  // (Node), else as soon as its import resolves.
  private registerIn(registry: MetricsRegistry): void {
    const taken = this.metricNames().filter((name) => registry.getSingleMetric(name) !== undefined);
    if (taken.length > 0) {
      throw new ArbiterInputError(
        'metrics.registry',
        `Expected \`metrics.registry\` to have no metric named ${taken[0]} yet (${taken.length} of the arbiter's names are taken); give this arbiter another \`metrics.prefix\``,
      );
    }
    const client = loadPromClientSync();
    if (client !== undefined) {
      this.promExport(client);
      return;
    }
    loadPromClient().then(
      (loaded) => this.observeSafely(() => this.promExport(loaded)),
      (err: unknown) => this.observeSafely(() => {
        throw err;
      }),
    );
  }

  private observeSafely(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.errors++;
      this.onError?.(err);
    }
  }

  /** Every Prometheus metric name this collector exports. */
  metricNames(): string[] {
    const p = this.options.prefix;
    return [...METRIC_NAMES, ...HISTOGRAM_KEYS.map((k) => HISTOGRAMS[k].name)].map((n) => p + n);
  }

  // A full ring hands its unexported values to prom-client; until prom-client is loaded they wait
  // in a bounded overflow list (the import resolves within a turn of the event loop).
  private flush(h: RecentHistogram): void {
    const key = HISTOGRAM_KEYS.find((k) => this.histograms[k] === h);
    if (key === undefined) return;
    if (promClient === undefined) {
      let list = this.overflow.get(h);
      if (list === undefined) this.overflow.set(h, (list = []));
      const room = OVERFLOW_LIMIT - list.length;
      h.drain((v) => {
        if (list.length < OVERFLOW_LIMIT) list.push(v);
      });
      if (room <= 0) this.errors++;
      loadPromClient().then(
        () => this.flushOverflow(),
        () => this.overflow.clear(),
      );
      return;
    }
    const target = this.promExport(promClient).histograms[key];
    const unit = HISTOGRAMS[key].unit;
    const waiting = this.overflow.get(h);
    if (waiting !== undefined) {
      this.overflow.delete(h);
      for (const v of waiting) target.observe(v / unit);
    }
    h.drain((v) => target.observe(v / unit));
  }

  private flushOverflow(): void {
    if (promClient === undefined) return;
    for (const [h, list] of this.overflow) {
      const key = HISTOGRAM_KEYS.find((k) => this.histograms[k] === h);
      if (key === undefined) continue;
      const target = this.promExport(promClient).histograms[key];
      for (const v of list) target.observe(v / HISTOGRAMS[key].unit);
    }
    this.overflow.clear();
  }

  private promExport(client: typeof PromClient): PromExport {
    this.prom ??= buildPromExport(client, this.options, () => this.read(), (h) => this.flush(this.histograms[h]));
    return this.prom;
  }
}

function priorityIndex(priority: number): number {
  return Number.isInteger(priority) && priority >= 1 && priority <= 10 ? priority : 0;
}

function priorityCounts(counts: Float64Array): PriorityCounts {
  const out: Record<string, number> = {};
  for (const key of PRIORITY_KEYS) out[key] = counts[Number(key)]!;
  return out;
}

const OVERFLOW_LIMIT = 1 << 16;

// prom-client is Node-only (it requires `cluster`, `v8`, `perf_hooks`): it is imported on first
// use, through a specifier bundlers leave alone, so the core still loads in a browser.
const PROM_CLIENT = 'prom-client';
let promClient: typeof PromClient | undefined;
let promClientLoading: Promise<typeof PromClient> | undefined;

function normalize(mod: unknown): typeof PromClient {
  const m = mod as typeof PromClient & { default?: typeof PromClient };
  return m.Registry ? m : (m.default ?? m);
}

function loadPromClient(): Promise<typeof PromClient> {
  if (promClient !== undefined) return Promise.resolve(promClient);
  promClientLoading ??= loadOptional<unknown>(PROM_CLIENT, 'metricsText').then(
    (mod) => (promClient = normalize(mod)),
    (err: unknown) => {
      promClientLoading = undefined;
      // Not installed: the error names the npm install command (prom-client is an optional peer).
      if (err instanceof OptionalDependencyError) throw err;
      throw new Error(`arbiter: metricsText() needs prom-client, which could not be loaded here: ${String(err)}`);
    },
  );
  return promClientLoading;
}

// Node ≥ 20.16 can load prom-client (CommonJS, the same instance `import` gives) synchronously,
// so metrics are in the application's registry as soon as createArbiter returns.
function loadPromClientSync(): typeof PromClient | undefined {
  if (promClient !== undefined) return promClient;
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  const mod = proc?.getBuiltinModule?.('node:module') as { createRequire?: (from: string) => (id: string) => unknown } | undefined;
  if (typeof mod?.createRequire !== 'function') return undefined;
  try {
    promClient = normalize(mod.createRequire(import.meta.url)(PROM_CLIENT));
  } catch {
    return undefined;
  }
  return promClient;
}

interface PromExport {
  readonly registry: PromClient.Registry;
  readonly histograms: Record<HistogramKey, PromClient.Histogram>;
}

/** Names of the non-histogram metrics, without the prefix (kept in step with buildPromExport). */
const METRIC_NAMES = [
  'operations_submitted_total',
  'operations_staged_total',
  'operations_started_total',
  'operations_completed_total',
  'operations_rejected_total',
  'conflicts_detected_total',
  'conflicts_resolved_total',
  'retries_total',
  'preemptions_total',
  'grace_period_saves_total',
  'promoted_total',
  'promotion_failures_total',
  'zombies_total',
  'observer_errors_total',
  'metrics_errors_total',
  'coordinator_starts_total',
  'coordinator_stops_total',
  'coordinator_failures_total',
  'cleanup_total',
  'cleanup_success_ratio',
  'arbitration_timeouts_total',
  'submitted_by_priority_total',
  'won_by_priority_total',
  'operations_by_type_total',
  'type_success_ratio',
  'operations_in_flight',
  'operations_unaccounted',
  'staged_operations',
  'executing_operations',
  'coordinators',
  'retained_records',
  'staged_by_target',
  'throughput_per_second',
] as const;

type MetricName = (typeof METRIC_NAMES)[number];

function buildPromExport(
  client: typeof PromClient,
  options: Readonly<MetricsOptions>,
  read: () => ArbiterMetrics,
  flush: (key: HistogramKey) => void,
): PromExport {
  const { Counter, Gauge, Histogram, Registry } = client;
  const registry = new Registry();
  registry.setDefaultLabels({ ...options.labels });
  const p = options.prefix;
  const registers = options.registry === undefined ? [registry] : [registry, options.registry as unknown as PromClient.Registry];
  const counter = (name: MetricName, help: string, value: (m: ArbiterMetrics) => number) =>
    new Counter({
      name: p + name,
      help,
      registers,
      collect() {
        this.reset();
        this.inc(value(read()));
      },
    });
  const labelledCounter = <L extends string>(name: MetricName, help: string, label: L, values: (m: ArbiterMetrics) => Iterable<readonly [string, number]>) =>
    new Counter({
      name: p + name,
      help,
      labelNames: [label],
      registers,
      collect() {
        this.reset();
        for (const [key, n] of values(read())) this.inc({ [label]: key } as Partial<Record<L, string>>, n);
      },
    });
  const gauge = (name: MetricName, help: string, value: (m: ArbiterMetrics) => number | undefined) =>
    new Gauge({
      name: p + name,
      help,
      registers,
      collect() {
        // An unlabelled gauge always has a sample: NaN says "nothing measured yet".
        this.set(value(read()) ?? Number.NaN);
      },
    });
  counter('operations_submitted_total', 'Operations submitted (valid submissions).', (m) => m.submitted);
  counter('operations_staged_total', 'Operations that entered a window.', (m) => m.stagedTotal);
  counter('operations_started_total', 'Executions started, retries included.', (m) => m.started);
  counter('operations_completed_total', 'Operations completed.', (m) => m.completed);
  labelledCounter('operations_rejected_total', 'Operations rejected, by rejection code (codes of custom lifecycle steps included).', 'code', (m) =>
    Object.entries(m.rejectedByCode),
  );
  counter('conflicts_detected_total', 'Windows that closed with two or more candidates.', (m) => m.conflictsDetected);
  counter('conflicts_resolved_total', 'Conflicts arbitrated.', (m) => m.conflictsResolved);
  counter('retries_total', 'Executions retried after a retryable error.', (m) => m.retries);
  counter('preemptions_total', 'Executing operations preempted.', (m) => m.preemptions);
  counter('grace_period_saves_total', 'Executing operations a grace period kept from being preempted (each counted once).', (m) => m.gracePeriodSaves);
  counter('promoted_total', 'Winners registered in the store.', (m) => m.promoted);
  counter('promotion_failures_total', 'Winners whose store registration failed.', (m) => m.promotionFailures);
  counter('zombies_total', 'Store records of operations that won and then ended rejected.', (m) => m.zombies);
  counter('observer_errors_total', 'Exceptions thrown by events$ observers.', (m) => m.observerErrors);
  counter('metrics_errors_total', 'Failures inside the metrics actor.', (m) => m.metricsErrors);
  counter('coordinator_starts_total', 'Per-target coordinators started.', (m) => m.coordinatorStarts);
  counter('coordinator_stops_total', 'Per-target coordinators stopped (idle or shutdown).', (m) => m.coordinatorStops);
  counter('coordinator_failures_total', 'Per-target coordinators that failed.', (m) => m.coordinatorFailures);
  labelledCounter('cleanup_total', 'Operation records removed from the record store (succeeded) or not (failed).', 'result', (m) => [
    ['succeeded', m.cleanup.succeeded],
    ['failed', m.cleanup.failed],
  ]);
  gauge('cleanup_success_ratio', 'Record store removals that succeeded, of all attempted (NaN before any).', (m) => m.cleanup.successRate);
  counter('arbitration_timeouts_total', 'Windows whose selectWinner ran past its time bound.', (m) => m.arbitrationTimeouts);
  labelledCounter('submitted_by_priority_total', 'Operations submitted, by effective priority.', 'priority', (m) => Object.entries(m.priorities.submitted));
  labelledCounter('won_by_priority_total', 'Operations that won their target, by effective priority.', 'priority', (m) => Object.entries(m.priorities.won));
  new Counter({
    name: p + 'operations_by_type_total',
    help: `Operations by type (the first ${options.maxTypes} types) and stage: submitted, won, completed, rejected.`,
    labelNames: ['operation_type', 'stage'],
    registers,
    collect() {
      this.reset();
      for (const [type, f] of Object.entries(read().byType)) {
        this.inc({ operation_type: type, stage: 'submitted' }, f.submitted);
        this.inc({ operation_type: type, stage: 'won' }, f.won);
        this.inc({ operation_type: type, stage: 'completed' }, f.completed);
        this.inc({ operation_type: type, stage: 'rejected' }, f.rejected);
      }
    },
  });
  new Gauge({
    name: p + 'type_success_ratio',
    help: 'Winners of each type that completed, of those that reached a final state (absent before any).',
    labelNames: ['operation_type'],
    registers,
    collect() {
      this.reset();
      for (const [type, f] of Object.entries(read().byType)) if (f.successRate !== undefined) this.set({ operation_type: type }, f.successRate);
    },
  });
  gauge('operations_in_flight', 'Operations submitted and not final.', (m) => m.inFlight);
  gauge('operations_unaccounted', 'submitted - completed - rejected - in flight; always 0.', (m) => m.unaccounted);
  gauge('staged_operations', 'Admitted operations not yet decided, all targets.', (m) => m.staged);
  gauge('executing_operations', 'Operations holding a target.', (m) => m.executing);
  gauge('coordinators', 'Live per-target coordinators.', (m) => m.coordinators);
  gauge('retained_records', 'Final operation records kept by the cleanup strategy.', (m) => m.retained);
  new Gauge({
    name: p + 'staged_by_target',
    help: `Admitted operations not yet decided, for the ${options.maxTargetLabels} fullest targets.`,
    labelNames: ['target'],
    registers,
    collect() {
      this.reset();
      const top = Object.entries(read().stagedByTarget)
        .sort((a, b) => b[1] - a[1])
        .slice(0, options.maxTargetLabels);
      for (const [target, n] of top) this.set({ target }, n);
    },
  });
  new Gauge({
    name: p + 'throughput_per_second',
    help: `Operations per second over the last ${options.throughputWindowMs} ms, by kind.`,
    labelNames: ['kind'],
    registers,
    collect() {
      const t = read().throughput;
      this.set({ kind: 'submitted' }, t.submittedPerSec);
      this.set({ kind: 'completed' }, t.completedPerSec);
      this.set({ kind: 'rejected' }, t.rejectedPerSec);
    },
  });
  const histogram = (key: HistogramKey) =>
    new Histogram({
      name: p + HISTOGRAMS[key].name,
      help: HISTOGRAMS[key].help,
      buckets: [...HISTOGRAMS[key].buckets],
      registers,
      collect() {
        flush(key);
      },
    });
  const histograms = {} as Record<HistogramKey, PromClient.Histogram>;
  for (const key of HISTOGRAM_KEYS) histograms[key] = histogram(key);
  return { registry, histograms };
}
