/**
 * The brutality run: many operations on very few targets, pre-staging plus optimistic concurrency
 * (OCC), with external writers updating the same entities behind the arbiter's back, at a load
 * that ramps up to its peak. Every commit is a read-process-write cycle guarded by
 * `expectedVersion`; a stale write throws `OccConflictError`, which the arbiter retries with backoff.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { createArbiter, createStore, OccConflictError, type ArbiterEvent } from '../src/index.js';
import {
  MemorySampler,
  mean,
  prioritySampler,
  DEFAULT_PRIORITIES,
  type AccountingSection,
  type IntegrityCheck,
  type LoadOptions,
  type MemoryFigures,
  type TargetStatus,
} from './common.js';
import { intBetween, pick, seededRandom } from './random.js';

/** The operation kinds of the run: each adds to a counter entity, or only versions it. */
export const BRUTAL_TYPES = ['brutal_accumulate', 'brutal_increment', 'brutal_version', 'brutal_update'] as const;

/** Options of a brutality run. */
export interface BrutalityOptions extends LoadOptions {
  readonly ops: number;
  readonly targets: number;
  /** Peak submission rate, operations per second. */
  readonly peakRate: number;
  /** Time to ramp from 10% of the peak rate to the peak. */
  readonly rampMs: number;
  /** External writers per target (they bypass the arbiter). */
  readonly writers: number;
  /** Milliseconds between two writes of one external writer. */
  readonly writerEveryMs: number;
  /** Retries of every operation; `undefined`: by priority (≥ 10 → 20, 3..9 → 5, ≤ 2 → 3). */
  readonly maxRetries: number | undefined;
  /** Backoff between attempts: `min(maxDelayMs, baseDelayMs · factor^retry)`, with jitter. */
  readonly retry: { readonly baseDelayMs: number; readonly factor: number; readonly maxDelayMs: number };
  /** The named profile the settings came from. */
  readonly profile: BrutalityProfile;
}

/** The named settings of `--profile` (see {@link BRUTALITY_PROFILES}). */
export type BrutalityProfile = 'default' | 'documents';

/** 30,000 operations on 3 targets, 5 ms of processing per attempt, batches of 3–8, a 2 s ramp. */
export const DEFAULT_BRUTALITY: Omit<BrutalityOptions, 'onProgress'> = {
  ops: 30_000,
  targets: 3,
  peakRate: 5_000,
  rampMs: 2_000,
  windowMs: 100,
  gracePeriodMs: 200,
  workMs: 5,
  writers: 1,
  writerEveryMs: 20,
  batchMin: 3,
  batchMax: 8,
  priorities: DEFAULT_PRIORITIES,
  seed: 1,
  maxRetries: undefined,
  retry: { baseDelayMs: 5, factor: 1.5, maxDelayMs: 200 },
  profile: 'default',
};

/**
 * Named settings: `default` (above), and `documents`, the settings of the pattern's original
 * write-up: batches of 100 operations on one target, a 10 s ramp, 25 retries for every operation,
 * a 5 ms backoff base growing ×1.5 per retry (capped at 1 s, which the write-up leaves open).
 *
 * @example
 * ```ts
 * await runBrutality({ ...BRUTALITY_PROFILES.documents, ops: 3000 });
 * ```
 */
export const BRUTALITY_PROFILES = {
  default: {},
  documents: {
    profile: 'documents',
    batchMin: 100,
    batchMax: 100,
    rampMs: 10_000,
    maxRetries: 25,
    retry: { baseDelayMs: 5, factor: 1.5, maxDelayMs: 1000 },
  },
} as const satisfies Record<BrutalityProfile, Partial<BrutalityOptions>>;

/** Retries needed by the operations of one kind that succeeded. */
export interface RetryStats {
  successes: number;
  avgRetries: number;
  maxRetries: number;
  firstTry: number;
}

/** How often the operations of one kind conflicted. */
export interface TypeConflicts {
  readonly type: string;
  readonly submitted: number;
  /** Lost a pre-staging window. */
  readonly lostArbitration: number;
  /** Stale writes (`OccConflictError`) in their executions. */
  readonly occConflicts: number;
  readonly retries: number;
  /** Gave up (`retries-exhausted`). */
  readonly retriesExhausted: number;
  readonly completed: number;
}

/** One progress report of a run. */
export interface BrutalitySample {
  readonly atMs: number;
  readonly submitted: number;
  readonly completed: number;
  readonly rejected: number;
  /** Operations that had retried at least once and were not final yet. */
  readonly stillRetrying: number;
}

/** The report of a brutality run. */
export interface BrutalityReport {
  readonly config: Omit<BrutalityOptions, 'onProgress'>;
  readonly accounting: AccountingSection;
  readonly preStaging: { readonly conflictsDetected: number; readonly conflictsResolved: number; readonly opsPerConflict: number };
  readonly occ: {
    readonly conflicts: number;
    readonly retries: number;
    /** Operations that gave up (`retries-exhausted`). */
    readonly failures: number;
    readonly successes: number;
    readonly externalWrites: number;
    readonly externalConflicts: number;
    /** Operations that had retried and were not final yet: when the last one was submitted, and at most. */
    readonly stillRetrying: { readonly atLastSubmission: number; readonly peak: number; readonly atEnd: number };
  };
  /** Operation kinds, the most OCC conflicts first (then the most lost windows). */
  readonly conflictsByType: readonly TypeConflicts[];
  /** What each progress report (about one a second) saw. */
  readonly timeline: readonly BrutalitySample[];
  readonly retryStats: Record<string, RetryStats>;
  readonly lostUpdates: number;
  readonly memory: MemoryFigures;
  readonly throughput: { readonly elapsedMs: number; readonly submittedPerSec: number; readonly peakOfferedPerSec: number };
  readonly integrity: readonly IntegrityCheck[];
  readonly ok: boolean;
}

interface Counter {
  total: number;
  commits: number;
}

/**
 * Sorts per-kind conflict counts: the most OCC conflicts first, then the most lost windows, then
 * by name.
 *
 * @example
 * ```ts
 * rankConflicts([a, b])[0]; // the kind that conflicted most
 * ```
 */
export function rankConflicts(rows: readonly TypeConflicts[]): TypeConflicts[] {
  return [...rows].sort((a, b) => b.occConflicts - a.occConflicts || b.lostArbitration - a.lostArbitration || (a.type < b.type ? -1 : a.type > b.type ? 1 : 0));
}

/** Runs the brutality test. */
export async function runBrutality(input: Partial<BrutalityOptions> = {}): Promise<BrutalityReport> {
  const options: BrutalityOptions = { ...DEFAULT_BRUTALITY, ...input };
  const random = seededRandom(options.seed);
  const nextPriority = prioritySampler(random, options.priorities);
  const store = createStore({ maxHistory: 8 });
  const targets: string[] = [];
  for (let i = 0; i < options.targets; i++) targets.push(store.create<Counter>({ total: 0, commits: 0 }).id);
  const labels = new Map(targets.map((t, i) => [t, `#${i}`]));
  const memory = new MemorySampler().start();
  const arbiter = createArbiter({
    windowMs: options.windowMs,
    gracePeriodMs: options.gracePeriodMs,
    maxStagedPerTarget: Math.max(20, options.batchMax * 50),
    maxStaged: options.ops,
    retry: { ...options.retry },
  });

  // What was committed, by whom: the store's totals must equal these at the end.
  const committedAmount = new Map<string, number>(targets.map((t) => [t, 0]));
  const committedCount = new Map<string, number>(targets.map((t) => [t, 0]));
  let occConflicts = 0;
  let externalWrites = 0;
  let externalConflicts = 0;
  let conflictsDetected = 0;
  let conflictsResolved = 0;
  let retries = 0;
  const candidates: number[] = [];
  const retriesByType: Record<string, number[]> = {};
  const typeOf = new Map<string, (typeof BRUTAL_TYPES)[number]>();
  const byType = new Map<string, { submitted: number; lostArbitration: number; occConflicts: number; retries: number; retriesExhausted: number; completed: number }>(
    BRUTAL_TYPES.map((t) => [t, { submitted: 0, lostArbitration: 0, occConflicts: 0, retries: 0, retriesExhausted: 0, completed: 0 }]),
  );
  const retrying = new Set<string>();
  let peakRetrying = 0;
  const executing = new Map<string, number>();
  const winners = new Map<string, number>();

  arbiter.events$.subscribe((e: ArbiterEvent) => {
    switch (e.type) {
      case 'conflict.detected':
        conflictsDetected++;
        candidates.push(e.candidateIds.length);
        break;
      case 'conflict.resolved':
        conflictsResolved++;
        break;
      case 'operation.started':
        if (e.attempt === 1) winners.set(e.target, (winners.get(e.target) ?? 0) + 1);
        break;
      case 'operation.retrying': {
        retries++;
        const type = typeOf.get(e.operationId);
        if (type) byType.get(type)!.retries++;
        retrying.add(e.operationId);
        if (retrying.size > peakRetrying) peakRetrying = retrying.size;
        break;
      }
      case 'operation.completed': {
        const type = typeOf.get(e.operationId) ?? 'unknown';
        (retriesByType[type] ??= []).push(e.attempt - 1);
        if (byType.has(type)) byType.get(type)!.completed++;
        break;
      }
      case 'operation.rejected': {
        const type = typeOf.get(e.operationId);
        if (type && e.code === 'lost-arbitration') byType.get(type)!.lostArbitration++;
        if (type && e.code === 'retries-exhausted') byType.get(type)!.retriesExhausted++;
        break;
      }
      default:
        break;
    }
    if (e.type === 'operation.completed' || e.type === 'operation.rejected') {
      typeOf.delete(e.operationId);
      retrying.delete(e.operationId);
    }
  });

  const commit = (target: string, amount: number, expectedVersion: number | undefined) => {
    store.update<Counter>(
      target,
      (d) => {
        d.total += amount;
        d.commits += 1;
      },
      expectedVersion === undefined ? undefined : { expectedVersion },
    );
    committedAmount.set(target, committedAmount.get(target)! + amount);
    committedCount.set(target, committedCount.get(target)! + 1);
  };

  // External writers: read, wait a moment, compare-and-set; on a conflict they re-read next time.
  let writing = true;
  const writers = targets.flatMap((target) =>
    Array.from({ length: options.writers }, async () => {
      while (writing) {
        const read = store.get<Counter>(target)!.version;
        await sleep(options.writerEveryMs);
        if (!writing) break;
        try {
          commit(target, 1, read);
          externalWrites++;
        } catch (err) {
          if (!(err instanceof OccConflictError)) throw err;
          externalConflicts++;
        }
      }
    }),
  );

  const handles: Array<Promise<unknown>> = [];
  const outcome = { completed: 0, rejected: 0 };
  const timeline: BrutalitySample[] = [];
  const t0 = performance.now();
  let submitted = 0;
  let peakOffered = 0;
  let lastProgress = -Infinity;
  let lastSample = -Infinity;
  let windowStart = t0;
  let windowCount = 0;
  const sample = (atMs: number): BrutalitySample => ({ atMs, submitted, completed: outcome.completed, rejected: outcome.rejected, stillRetrying: retrying.size });
  while (submitted < options.ops) {
    const elapsed = performance.now() - t0;
    // Ramp: 10% of peak at t = 0, the peak from rampMs on; `due` integrates the rate.
    const r = options.rampMs > 0 ? Math.min(1, elapsed / options.rampMs) : 1;
    const dueF =
      options.rampMs > 0 && elapsed < options.rampMs
        ? options.peakRate * (0.1 * elapsed + (0.9 * elapsed * r) / 2) / 1000
        : options.peakRate * (options.rampMs > 0 ? 0.55 * options.rampMs + (elapsed - options.rampMs) : elapsed) / 1000;
    const due = Math.min(options.ops, Math.floor(dueF));
    while (submitted < due) {
      const target = pick(random, targets);
      const batch = intBetween(random, options.batchMin, options.batchMax);
      for (let k = 0; k < batch && submitted < options.ops; k++, submitted++) {
        const type = pick(random, BRUTAL_TYPES);
        const amount = type === 'brutal_accumulate' ? 1 + Math.floor(random() * 10) : type === 'brutal_version' ? 0 : 1;
        const h = arbiter.submit({
          target,
          type,
          priority: nextPriority(),
          ...(options.maxRetries !== undefined ? { maxRetries: options.maxRetries } : {}),
          execute: async ({ signal }) => {
            executing.set(target, (executing.get(target) ?? 0) + 1);
            try {
              const read = store.get<Counter>(target)!.version;
              await sleep(options.workMs, undefined, { signal }).catch(() => undefined);
              if (signal.aborted) throw new Error('aborted before writing');
              try {
                commit(target, amount, read);
              } catch (err) {
                if (err instanceof OccConflictError) {
                  occConflicts++;
                  byType.get(type)!.occConflicts++;
                }
                throw err;
              }
              return amount;
            } finally {
              executing.set(target, executing.get(target)! - 1);
            }
          },
        });
        byType.get(type)!.submitted++;
        typeOf.set(h.id, type);
        handles.push(h.result.then(() => void outcome.completed++, () => void outcome.rejected++));
      }
    }
    const now = performance.now();
    if (now - windowStart >= 250) {
      peakOffered = Math.max(peakOffered, ((submitted - windowCount) * 1000) / (now - windowStart));
      windowStart = now;
      windowCount = submitted;
    }
    if (elapsed - lastSample >= 1000) {
      lastSample = elapsed;
      timeline.push(sample(Math.round(elapsed)));
    }
    if (options.onProgress && elapsed - lastProgress >= 100) {
      lastProgress = elapsed;
      options.onProgress({ fraction: submitted / options.ops, ...progress() });
    }
    await sleep(1);
  }
  const atLastSubmission = retrying.size;
  // Keep reporting while the last operations settle: "still retrying" is what they are doing.
  const settling = setInterval(() => {
    const elapsed = performance.now() - t0;
    timeline.push(sample(Math.round(elapsed)));
    options.onProgress?.({ fraction: 1, ...progress() });
  }, 1000);
  await arbiter.onIdle();
  await Promise.all(handles);
  clearInterval(settling);
  writing = false;
  await Promise.all(writers);
  const elapsedMs = performance.now() - t0;
  timeline.push(sample(Math.round(elapsedMs)));
  const m = arbiter.metrics();
  await arbiter.stop();
  const mem = memory.stop();

  function progress() {
    const staged = arbiter.metrics().stagedByTarget;
    const status: TargetStatus[] = targets.map((t) => ({
      label: labels.get(t)!,
      staged: staged[t] ?? 0,
      executing: executing.get(t) ?? 0,
      winners: winners.get(t) ?? 0,
    }));
    return { submitted, completed: outcome.completed, rejected: outcome.rejected, retrying: retrying.size, targets: status };
  }

  let lostUpdates = 0;
  for (const t of targets) {
    const e = store.get<Counter>(t)!;
    lostUpdates += Math.abs(committedAmount.get(t)! - e.data.total) + Math.abs(committedCount.get(t)! - e.data.commits);
  }
  const retryStats: Record<string, RetryStats> = {};
  for (const [type, rs] of Object.entries(retriesByType)) {
    retryStats[type] = { successes: rs.length, avgRetries: mean(rs), maxRetries: Math.max(...rs), firstTry: rs.filter((r) => r === 0).length };
  }
  const inProgress = submitted - outcome.completed - outcome.rejected;
  const unaccounted = submitted - (outcome.completed + outcome.rejected + inProgress);
  const versionsOk = targets.every((t) => store.get<Counter>(t)!.version === committedCount.get(t));
  const conflictsByType = rankConflicts([...byType].map(([type, c]) => ({ type, ...c })));
  const typeOcc = conflictsByType.reduce((a, c) => a + c.occConflicts, 0);
  const integrity: IntegrityCheck[] = [
    { name: 'operation accounting balances', ok: unaccounted === 0 && inProgress === 0, detail: `${unaccounted} unaccounted, ${inProgress} in progress` },
    {
      name: "the arbiter's counters agree with the handles",
      ok: m.submitted === submitted && m.completed === outcome.completed && m.rejected === outcome.rejected,
      detail: `arbiter ${m.submitted}/${m.completed}/${m.rejected}, handles ${submitted}/${outcome.completed}/${outcome.rejected}`,
    },
    { name: 'zero lost updates (store totals equal committed amounts)', ok: lostUpdates === 0, detail: `${lostUpdates} lost` },
    { name: 'every version is one commit', ok: versionsOk, detail: versionsOk ? 'versions match commits' : 'a version without a commit' },
    { name: 'every conflict detected was resolved', ok: conflictsDetected === conflictsResolved, detail: `${conflictsDetected}/${conflictsResolved}` },
    { name: 'OCC conflicts by kind add up to the total', ok: typeOcc === occConflicts, detail: `${typeOcc} by kind, ${occConflicts} in all` },
  ];
  const { onProgress: _p, ...config } = options;
  const secs = elapsedMs / 1000;
  return {
    config,
    accounting: {
      submitted,
      completed: outcome.completed,
      rejected: outcome.rejected,
      inProgress,
      unaccounted,
      rejectedByCode: Object.fromEntries(Object.entries(m.rejectedByCode).filter(([, n]) => n > 0)),
    },
    preStaging: { conflictsDetected, conflictsResolved, opsPerConflict: mean(candidates) },
    occ: {
      conflicts: occConflicts,
      retries,
      failures: m.rejectedByCode['retries-exhausted'],
      successes: outcome.completed,
      externalWrites,
      externalConflicts,
      stillRetrying: { atLastSubmission, peak: peakRetrying, atEnd: retrying.size },
    },
    conflictsByType,
    timeline,
    retryStats,
    lostUpdates,
    memory: mem,
    throughput: { elapsedMs, submittedPerSec: submitted / secs, peakOfferedPerSec: peakOffered },
    integrity,
    ok: integrity.every((c) => c.ok),
  };
}
