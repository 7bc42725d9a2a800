import type * as PromClient from 'prom-client';
import { loadOptional, OptionalDependencyError } from '../src/optional.js';
import { executionOutcome } from '../machines/breaker.machine.js';
import type { ArbiterEvent } from '../src/events.js';
import type { MetricsOptions } from '../src/observability.js';
import { REJECTION_CODES, type CoreMetrics, type RejectionCode } from '../src/types.js';
import { expectFiniteNumber, expectInteger, expectNonEmptyString, expectObject } from '../src/validate.js';
import { ArbiterInputError } from '../src/errors.js';


const DEFAULT_METRICS: Readonly<MetricsOptions> = Object.freeze({
  prefix: 'arbiter_',
  labels: {},
  reservoirSize: 1024,
  throughputWindowMs: 60_000,
  maxTargetLabels: 20,
});

/**
 * Validates the `metrics` option and fills in the defaults.
 * @internal
 */
export function resolveMetricsOptions(value: unknown): Readonly<MetricsOptions> {
  if (value === undefined) return DEFAULT_METRICS;
  expectObject(value, 'metrics');
  const o = value as Partial<Record<keyof MetricsOptions, unknown>>;
  if (o.prefix !== undefined) {
    if (typeof o.prefix !== 'string' || !/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(o.prefix)) {
      throw new ArbiterInputError('metrics.prefix', `Expected \`metrics.prefix\` to be a Prometheus name prefix like 'arbiter_', got ${JSON.stringify(o.prefix)}`);
    }
  }
  if (o.labels !== undefined) {
    expectObject(o.labels, 'metrics.labels');
    for (const [k, v] of Object.entries(o.labels)) {
      if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(k) || k.startsWith('__') || k === 'le' || k === 'code' || k === 'kind' || k === 'target') {
        throw new ArbiterInputError('metrics.labels', `Expected \`metrics.labels\` keys to be Prometheus label names other than le, code, kind and target, got ${JSON.stringify(k)}`);
      }
      expectNonEmptyString(v, `metrics.labels.${k}`);
    }
  }
  if (o.reservoirSize !== undefined) expectInteger(o.reservoirSize, 'metrics.reservoirSize', 1, 1 << 20);
  if (o.throughputWindowMs !== undefined) expectFiniteNumber(o.throughputWindowMs, 'metrics.throughputWindowMs', 1);
  if (o.maxTargetLabels !== undefined) expectInteger(o.maxTargetLabels, 'metrics.maxTargetLabels', 0);
  return Object.freeze({
    prefix: (o.prefix as string | undefined) ?? DEFAULT_METRICS.prefix,
    labels: Object.freeze({ ...((o.labels as Record<string, string> | undefined) ?? {}) }),
    reservoirSize: (o.reservoirSize as number | undefined) ?? DEFAULT_METRICS.reservoirSize,
    throughputWindowMs: (o.throughputWindowMs as number | undefined) ?? DEFAULT_METRICS.throughputWindowMs,
    maxTargetLabels: (o.maxTargetLabels as number | undefined) ?? DEFAULT_METRICS.maxTargetLabels,
  });
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
  readonly histograms: {
    /** Time `arbitrate` took per conflict, in microseconds. */
    readonly resolutionTimeUs: HistogramSnapshot;
    /** Candidates per conflict. */
    readonly operationsPerConflict: HistogramSnapshot;
    /** First start to completion, in milliseconds (completed operations). */
    readonly executionTimeMs: HistogramSnapshot;
    /** Submission to final state, in milliseconds (every operation). */
    readonly decisionLatencyMs: HistogramSnapshot;
    /** Retries a completed operation needed (`attempt − 1`). */
    readonly retriesPerSuccess: HistogramSnapshot;
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

/** Histograms exported to Prometheus, with their fixed buckets. */
const HISTOGRAMS = {
  resolutionTimeUs: {
    name: 'resolution_time_microseconds',
    help: 'Time spent arbitrating one conflict, in microseconds.',
    buckets: [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 100_000],
  },
  operationsPerConflict: {
    name: 'operations_per_conflict',
    help: 'Candidates competing in one conflict.',
    buckets: [2, 3, 4, 5, 6, 8, 10, 15, 20, 50, 100, 1000],
  },
  executionTimeMs: {
    name: 'execution_time_milliseconds',
    help: 'From the first start of an execution to its completion, in milliseconds.',
    buckets: [1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 60_000],
  },
  decisionLatencyMs: {
    name: 'decision_latency_milliseconds',
    help: 'From submission to the final state, in milliseconds.',
    buckets: [1, 5, 10, 25, 50, 100, 150, 250, 500, 1000, 2500, 5000, 10_000, 60_000],
  },
  retriesPerSuccess: {
    name: 'retries_per_success',
    help: 'Retries a completed operation needed.',
    buckets: [0, 1, 2, 3, 5, 10, 20],
  },
} as const;

type HistogramKey = keyof typeof HISTOGRAMS;

/**
 * The metrics actor: an `events$` observer that keeps plain counters, sliding-window counters and
 * allocation-free histograms, so the per-event cost is a switch and a few additions. Prometheus
 * metrics (a `prom-client` `Registry` of its own, never the global one) are built on the first
 * `text()` call and read these values then; histogram observations reach prom-client in batches.
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
  };
  private readonly histograms: Record<HistogramKey, RecentHistogram>;
  private readonly sliding: SlidingCounters;
  private readonly startedAt: number;
  private errors = 0;
  private prom: PromExport | undefined;
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
    };
    this.sliding = new SlidingCounters(options.throughputWindowMs);
    this.startedAt = source.now();
  }

  /** Feeds one event. Never throws: a failure is counted in `metricsErrors`. */
  observe(event: ArbiterEvent): void {
    try {
      this.record(event);
    } catch (err) {
      this.errors++;
      this.onError?.(err);
    }
  }

  private record(e: ArbiterEvent): void {
    const h = this.histograms;
    switch (e.type) {
      case 'operation.submitted':
        this.sliding.add(Slide.Submitted, e.at);
        break;
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
        break;
      case 'operation.started':
        this.counts.started++;
        break;
      case 'operation.retrying':
        this.counts.retries++;
        break;
      case 'operation.preempted':
        this.counts.preemptions++;
        break;
      case 'operation.completed':
        this.sliding.add(Slide.Completed, e.at);
        this.sliding.add(Slide.ExecSucceeded, e.at);
        h.executionTimeMs.record(e.executionMs);
        h.decisionLatencyMs.record(e.durationMs);
        h.retriesPerSuccess.record(Math.max(0, e.attempt - 1));
        break;
      case 'operation.rejected':
        this.sliding.add(Slide.Rejected, e.at);
        if (e.code === 'lost-arbitration') this.sliding.add(Slide.LostArbitration, e.at);
        else if (executionOutcome(e) === 'failure') this.sliding.add(Slide.ExecFailed, e.at);
        h.decisionLatencyMs.record(e.durationMs);
        break;
    }
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
    for (const [target, n] of this.source.stagedByTarget()) if (n > 0) stagedByTarget[target] = n;
    const seconds = Math.max(Math.min(this.options.throughputWindowMs, now - this.startedAt), 1) / 1000;
    const rate = (field: Slide) => this.sliding.sum(field, now) / seconds;
    const h = this.histograms;
    return {
      ...core,
      unaccounted: core.submitted - core.completed - core.rejected - core.inFlight,
      stagedTotal: this.counts.staged,
      started: this.counts.started,
      conflictsDetected: this.counts.conflictsDetected,
      conflictsResolved: this.counts.conflictsResolved,
      retries: this.counts.retries,
      preemptions: this.counts.preemptions,
      promoted: core.promoted ?? 0,
      zombies: core.zombies ?? 0,
      stagedByTarget,
      retained: this.source.retained(),
      metricsErrors: this.errors,
      histograms: {
        resolutionTimeUs: h.resolutionTimeUs.snapshot(),
        operationsPerConflict: h.operationsPerConflict.snapshot(),
        executionTimeMs: h.executionTimeMs.snapshot(),
        decisionLatencyMs: h.decisionLatencyMs.snapshot(),
        retriesPerSuccess: h.retriesPerSuccess.snapshot(),
      },
      throughput: {
        windowMs: this.options.throughputWindowMs,
        submittedPerSec: rate(Slide.Submitted),
        completedPerSec: rate(Slide.Completed),
        rejectedPerSec: rate(Slide.Rejected),
      },
    };
  }

  /** The Prometheus text exposition format, produced by prom-client (loaded on first use). */
  async text(): Promise<string> {
    const prom = this.promExport(await loadPromClient());
    for (const key of Object.keys(this.histograms) as HistogramKey[]) this.flush(this.histograms[key]);
    prom.latest = this.snapshot();
    try {
      return await prom.registry.metrics();
    } finally {
      prom.latest = undefined;
    }
  }

  // A full ring hands its unexported values to prom-client; until prom-client is loaded they wait
  // in a bounded overflow list (the import resolves within a turn of the event loop).
  private flush(h: RecentHistogram): void {
    const key = (Object.keys(this.histograms) as HistogramKey[]).find((k) => this.histograms[k] === h);
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
    const waiting = this.overflow.get(h);
    if (waiting !== undefined) {
      this.overflow.delete(h);
      for (const v of waiting) target.observe(v);
    }
    h.drain((v) => target.observe(v));
  }

  private flushOverflow(): void {
    if (promClient === undefined) return;
    for (const [h, list] of this.overflow) {
      const key = (Object.keys(this.histograms) as HistogramKey[]).find((k) => this.histograms[k] === h);
      if (key === undefined) continue;
      const target = this.promExport(promClient).histograms[key];
      for (const v of list) target.observe(v);
    }
    this.overflow.clear();
  }

  private promExport(client: typeof PromClient): PromExport {
    this.prom ??= buildPromExport(client, this.options, () => this.prom?.latest ?? this.snapshot());
    return this.prom;
  }
}

const OVERFLOW_LIMIT = 1 << 16;

// prom-client is Node-only (it requires `cluster`, `v8`, `perf_hooks`): it is imported on first
// use, through a specifier bundlers leave alone, so the core still loads in a browser.
const PROM_CLIENT = 'prom-client';
let promClient: typeof PromClient | undefined;
let promClientLoading: Promise<typeof PromClient> | undefined;

function loadPromClient(): Promise<typeof PromClient> {
  promClientLoading ??= loadOptional<typeof PromClient & { default?: typeof PromClient }>(PROM_CLIENT, 'metricsText').then(
    (mod) => (promClient = mod.Registry ? mod : (mod.default ?? mod)),
    (err: unknown) => {
      promClientLoading = undefined;
      // Not installed: the error names the npm install command (prom-client is an optional peer).
      if (err instanceof OptionalDependencyError) throw err;
      throw new Error(`arbiter: metricsText() needs prom-client, which could not be loaded here: ${String(err)}`);
    },
  );
  return promClientLoading;
}

interface PromExport {
  readonly registry: PromClient.Registry;
  readonly histograms: Record<HistogramKey, PromClient.Histogram>;
  latest: ArbiterMetrics | undefined;
}

function buildPromExport(client: typeof PromClient, options: Readonly<MetricsOptions>, read: () => ArbiterMetrics): PromExport {
  const { Counter, Gauge, Histogram, Registry } = client;
  const registry = new Registry();
  registry.setDefaultLabels({ ...options.labels });
  const p = options.prefix;
  const registers = [registry];
  const counter = (name: string, help: string, value: (m: ArbiterMetrics) => number) =>
    new Counter({
      name: p + name,
      help,
      registers,
      collect() {
        this.reset();
        this.inc(value(read()));
      },
    });
  const gauge = (name: string, help: string, value: (m: ArbiterMetrics) => number) =>
    new Gauge({
      name: p + name,
      help,
      registers,
      collect() {
        this.set(value(read()));
      },
    });
  counter('operations_submitted_total', 'Operations submitted (valid submissions).', (m) => m.submitted);
  counter('operations_staged_total', 'Operations that entered a window.', (m) => m.stagedTotal);
  counter('operations_started_total', 'Executions started, retries included.', (m) => m.started);
  counter('operations_completed_total', 'Operations completed.', (m) => m.completed);
  new Counter({
    name: p + 'operations_rejected_total',
    help: 'Operations rejected, by rejection code.',
    labelNames: ['code'],
    registers,
    collect() {
      const m = read();
      this.reset();
      for (const code of REJECTION_CODES) this.inc({ code }, m.rejectedByCode[code as RejectionCode]);
    },
  });
  counter('conflicts_detected_total', 'Windows that closed with two or more candidates.', (m) => m.conflictsDetected);
  counter('conflicts_resolved_total', 'Conflicts arbitrated.', (m) => m.conflictsResolved);
  counter('retries_total', 'Executions retried after a retryable error.', (m) => m.retries);
  counter('preemptions_total', 'Executing operations preempted.', (m) => m.preemptions);
  counter('promoted_total', 'Winners registered in the store.', (m) => m.promoted);
  counter('zombies_total', 'Store records of operations that won and then ended rejected.', (m) => m.zombies);
  counter('observer_errors_total', 'Exceptions thrown by events$ observers.', (m) => m.observerErrors);
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
    new Histogram({ name: p + HISTOGRAMS[key].name, help: HISTOGRAMS[key].help, buckets: [...HISTOGRAMS[key].buckets], registers });
  return {
    registry,
    histograms: {
      resolutionTimeUs: histogram('resolutionTimeUs'),
      operationsPerConflict: histogram('operationsPerConflict'),
      executionTimeMs: histogram('executionTimeMs'),
      decisionLatencyMs: histogram('decisionLatencyMs'),
      retriesPerSuccess: histogram('retriesPerSuccess'),
    },
    latest: undefined,
  };
}
