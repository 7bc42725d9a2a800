import type { Arbiter } from '../src/arbiter.js';
import type { CoreMetrics, RejectionCode } from '../src/types.js';

/** One point of the inspector's metrics charts. Rates are per second over the sample's interval. */
export interface MetricsSample {
  /** Wall-clock milliseconds (`Date.now()`). */
  readonly t: number;
  readonly submittedPerSec: number;
  /** Operations that became final (completed or rejected) per second. */
  readonly throughput: number;
  readonly completedPerSec: number;
  readonly conflictsPerSec: number;
  readonly rejectedPerSec: number;
  /** Rejections per second, by code (codes with none are left out). */
  readonly rejectedByCode: Partial<Record<RejectionCode, number>>;
  /**
   * 99th percentile decision latency (submission to final state) in milliseconds, from the
   * arbiter's own `metrics().histograms.decisionLatencyMs` (its recent reservoir); `null` before
   * any operation ended.
   */
  readonly p99DecisionMs: number | null;
  /** 99th percentile time `arbitrate` took per conflict, in microseconds; `null` before any conflict. */
  readonly p99ResolutionUs: number | null;
  readonly inFlight: number;
  readonly staged: number;
  readonly executing: number;
  readonly coordinators: number;
  readonly totals: Pick<CoreMetrics, 'submitted' | 'completed' | 'rejected' | 'inFlight' | 'conflicts' | 'coordinators'>;
}

/**
 * Samples `arbiter.metrics()` at a fixed interval into a bounded history: rates from the
 * counters' deltas, percentiles from the arbiter's histograms. It costs O(1) per interval and
 * nothing per operation.
 *
 * @example
 * ```ts
 * const sampler = new MetricsSampler(arbiter, { historySize: 120 });
 * sampler.sample(1000);   // after one second
 * sampler.history.at(-1); // { throughput, conflictsPerSec, p99DecisionMs, … }
 * ```
 */
export class MetricsSampler {
  readonly history: MetricsSample[] = [];
  private readonly historySize: number;
  private last: CoreMetrics;

  constructor(
    private readonly arbiter: Arbiter,
    options: { historySize?: number } = {},
  ) {
    this.historySize = options.historySize ?? 120;
    this.last = arbiter.metrics();
  }

  /** Takes a sample covering the last `elapsedMs` milliseconds. */
  sample(elapsedMs: number, t = Date.now()): MetricsSample {
    const now = this.arbiter.metrics();
    const prev = this.last;
    this.last = now;
    const per = (a: number, b: number) => (elapsedMs > 0 ? ((a - b) * 1000) / elapsedMs : 0);
    const rejectedByCode: Partial<Record<RejectionCode, number>> = {};
    for (const [code, n] of Object.entries(now.rejectedByCode) as [RejectionCode, number][]) {
      const d = per(n, prev.rejectedByCode[code] ?? 0);
      if (d > 0) rejectedByCode[code] = d;
    }
    const histograms = (now as { histograms?: Record<string, { count: number; p99: number } | undefined> }).histograms;
    const p99 = (name: string) => {
      const h = histograms?.[name];
      return h && h.count > 0 ? h.p99 : null;
    };
    const s: MetricsSample = {
      t,
      submittedPerSec: per(now.submitted, prev.submitted),
      throughput: per(now.completed + now.rejected, prev.completed + prev.rejected),
      completedPerSec: per(now.completed, prev.completed),
      conflictsPerSec: per(now.conflicts, prev.conflicts),
      rejectedPerSec: per(now.rejected, prev.rejected),
      rejectedByCode,
      p99DecisionMs: p99('decisionLatencyMs'),
      p99ResolutionUs: p99('resolutionTimeUs'),
      inFlight: now.inFlight,
      staged: now.staged,
      executing: now.executing,
      coordinators: now.coordinators,
      totals: {
        submitted: now.submitted,
        completed: now.completed,
        rejected: now.rejected,
        inFlight: now.inFlight,
        conflicts: now.conflicts,
        coordinators: now.coordinators,
      },
    };
    this.history.push(s);
    if (this.history.length > this.historySize) this.history.shift();
    return s;
  }
}
