/**
 * The dynamic stress test of seed 002, on the arbiter (pre-staging) and, for comparison, on the
 * post-registration anti-pattern of seed 000 (`runPostStress` in `tools/post.ts`).
 */
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { createArbiter, OccConflictError, type ArbiterEvent } from '../src/index.js';
import {
  AbortedExecution,
  buildWorld,
  DEFAULT_MIX,
  DEFAULT_PRIORITIES,
  mean,
  MemorySampler,
  operationSampler,
  performOperation,
  prioritySampler,
  type AccountingSection,
  type IntegrityCheck,
  type LoadOptions,
  type MemoryFigures,
  type OperationType,
  type Progress,
  type TargetData,
  type World,
} from './common.js';
import { intBetween, pick, seededRandom } from './random.js';

/** Options of a stress run (both modes). */
export interface StressOptions extends LoadOptions {
  /** How long operations are submitted. */
  readonly durationMs: number;
  readonly targets: number;
  /** Operations submitted per second (in batches). */
  readonly rate: number;
  readonly mix: Readonly<Record<OperationType, number>>;
}

/** Defaults of the seeds' configuration (15 s, 5 targets, 100 ops/s, grace 200 ms). */
export const DEFAULT_STRESS: Omit<StressOptions, 'onProgress'> = {
  durationMs: 15_000,
  targets: 5,
  rate: 100,
  batchMin: 3,
  batchMax: 8,
  priorities: DEFAULT_PRIORITIES,
  mix: DEFAULT_MIX,
  gracePeriodMs: 200,
  windowMs: 100,
  workMs: 2,
  seed: 1,
};

/** Per operation type: how many executed and how many of those completed. */
export interface TypeFigures {
  executed: number;
  successful: number;
}

/** The report of one stress run, with the seeds' sections. */
export interface StressReport {
  readonly mode: 'pre' | 'post';
  readonly config: Omit<StressOptions, 'onProgress'>;
  readonly accounting: AccountingSection & { readonly retried: number };
  readonly conflicts: {
    readonly detected: number;
    readonly resolved: number;
    readonly opsPerConflict: number;
    /** Milliseconds spent deciding one conflict (pre: `arbitrate`; post: store scan + decision + marking). */
    readonly avgResolutionMs: number;
    readonly maxResolutionMs: number;
  };
  readonly operations: {
    readonly byType: Record<string, TypeFigures>;
    readonly avgExecutionMs: number;
    readonly occConflicts: number;
  };
  /** Operation records in the store ("the registry"). */
  readonly registry: {
    /** Operation records created. */
    readonly registered: number;
    /** Records of operations that ended rejected: registry ids spent on losers. */
    readonly zombies: number;
    /** Store calls made to clean zombies up. */
    readonly cleanupOps: number;
    readonly cleanupMs: number;
    readonly peakRecords: number;
    readonly recordsLeft: number;
  };
  readonly memory: MemoryFigures;
  readonly throughput: {
    readonly elapsedMs: number;
    readonly submittedPerSec: number;
    readonly completedPerSec: number;
    readonly completionRate: number;
  };
  readonly integrity: readonly IntegrityCheck[];
  /** Accounting balanced and every integrity check passed. */
  readonly ok: boolean;
}

/** Bookkeeping both modes share: what each operation did, checked against the store at the end. */
export class Ledger {
  readonly byType: Record<string, TypeFigures> = {};
  readonly writesByTarget = new Map<string, number>();
  readonly completedByTarget = new Map<string, number>();
  /** Writes made by executions that did not complete (must stay 0). */
  strayWrites = 0;
  occConflicts = 0;
  maxConcurrent = 0;
  readonly executionMs: number[] = [];
  private readonly executing = new Map<string, number>();

  constructor(readonly world: World) {}

  /** Marks an execution on `target` as running; the returned function ends it (idempotent). */
  enter(target: string): () => void {
    const n = (this.executing.get(target) ?? 0) + 1;
    this.executing.set(target, n);
    if (n > this.maxConcurrent) this.maxConcurrent = n;
    let left = false;
    return () => {
      if (left) return;
      left = true;
      this.executing.set(target, (this.executing.get(target) ?? 1) - 1);
    };
  }

  executed(type: string): void {
    (this.byType[type] ??= { executed: 0, successful: 0 }).executed++;
  }

  committed(type: string, target: string, writes: number, ms: number): void {
    (this.byType[type] ??= { executed: 0, successful: 0 }).successful++;
    this.writesByTarget.set(target, (this.writesByTarget.get(target) ?? 0) + writes);
    this.completedByTarget.set(target, (this.completedByTarget.get(target) ?? 0) + 1);
    this.executionMs.push(ms);
  }

  /** The data-integrity checks against the store. */
  checks(extra: IntegrityCheck[] = []): IntegrityCheck[] {
    const { store, targets, initialVersions } = this.world;
    let versionMismatch = 0;
    let countMismatch = 0;
    let modified = 0;
    for (const t of targets) {
      const e = store.get<TargetData>(t)!;
      const gained = e.version - initialVersions.get(t)!;
      if (gained !== (this.writesByTarget.get(t) ?? 0)) versionMismatch++;
      if (e.data.opCount !== (this.completedByTarget.get(t) ?? 0)) countMismatch++;
      if (e.data.opCount > 0) modified++;
    }
    const committed = Object.values(this.byType).reduce((a, b) => a + b.successful, 0);
    return [
      {
        name: 'every target version accounted for by completed operations',
        ok: versionMismatch === 0,
        detail: `${targets.length - versionMismatch}/${targets.length} targets match`,
      },
      {
        name: 'opCount of every target equals its completed operations (no lost update)',
        ok: countMismatch === 0,
        detail: `${targets.length - countMismatch}/${targets.length} targets match`,
      },
      { name: 'no write by an operation that did not complete', ok: this.strayWrites === 0, detail: `${this.strayWrites} stray writes` },
      {
        name: 'at most one execution per target at any time',
        ok: this.maxConcurrent <= 1,
        detail: `max ${this.maxConcurrent} concurrent`,
      },
      {
        name: 'real operations modified entities',
        ok: committed > 0 && modified > 0,
        detail: `${modified}/${targets.length} targets modified by ${committed} operations`,
      },
      ...extra,
    ];
  }
}

/** Runs `execute` for one operation of either mode and keeps the ledger. */
export async function executeTracked(
  ledger: Ledger,
  target: string,
  type: OperationType,
  label: string,
  signal: AbortSignal,
  options: Pick<StressOptions, 'workMs'>,
  random: () => number,
): Promise<{ writes: number; ms: number }> {
  ledger.executed(type);
  const leave = ledger.enter(target);
  // Leave at the abort itself: the next winner may start in the same tick.
  signal.addEventListener('abort', leave, { once: true });
  const started = performance.now();
  try {
    const effect = await performOperation(ledger.world, target, type, random, signal, options.workMs, label);
    if (signal.aborted) {
      ledger.strayWrites += effect.targetWrites;
      throw new AbortedExecution(`${label} finished after its abort`);
    }
    return { writes: effect.targetWrites, ms: performance.now() - started };
  } catch (err) {
    if (err instanceof OccConflictError) ledger.occConflicts++;
    throw err;
  } finally {
    leave();
    signal.removeEventListener('abort', leave);
  }
}

/** Submits the seeds' batches at `rate` for `durationMs`; `submit` is called once per operation. */
export async function driveBatches(
  options: StressOptions,
  targetIds: readonly string[],
  submit: (target: string, priority: number, type: OperationType, index: number) => void,
  progress: () => Omit<Progress, 'fraction'>,
): Promise<number> {
  const random = seededRandom(options.seed);
  const nextPriority = prioritySampler(random, options.priorities);
  const nextType = operationSampler(random, options.mix);
  const t0 = performance.now();
  let submitted = 0;
  let lastProgress = 0;
  for (;;) {
    const elapsed = performance.now() - t0;
    if (elapsed >= options.durationMs) break;
    const due = Math.floor((elapsed * options.rate) / 1000);
    while (submitted < due) {
      const target = pick(random, targetIds);
      const batch = intBetween(random, options.batchMin, options.batchMax);
      for (let k = 0; k < batch; k++) submit(target, nextPriority(), nextType(), submitted++);
    }
    if (options.onProgress && elapsed - lastProgress >= 100) {
      lastProgress = elapsed;
      options.onProgress({ fraction: elapsed / options.durationMs, ...progress() });
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  return performance.now() - t0;
}

/**
 * The stress test on the arbiter: staging, windows, priority arbitration before anything
 * executes, and winner-only registration of operation records in the store (a record is created
 * when an operation starts and marked final when it ends; a record that ends rejected, e.g.
 * preempted, is a zombie and is removed at once).
 */
export async function runStress(input: Partial<StressOptions> = {}): Promise<StressReport> {
  const options: StressOptions = { ...DEFAULT_STRESS, ...input };
  const world = buildWorld(options.targets);
  const ledger = new Ledger(world);
  const workRandom = seededRandom(options.seed ^ 0x5eed);
  const memory = new MemorySampler().start();
  const arbiter = createArbiter({
    windowMs: options.windowMs,
    gracePeriodMs: options.gracePeriodMs,
    maxStagedPerTarget: Math.max(20, options.batchMax * 4),
  });
  const records = new Map<string, string>();
  let registered = 0;
  let zombies = 0;
  let cleanupOps = 0;
  let cleanupMs = 0;
  let peakRecords = 0;
  let detected = 0;
  let resolved = 0;
  let retried = 0;
  const candidatesPerConflict: number[] = [];
  const resolutionMs: number[] = [];
  const outcome = { completed: 0, rejected: 0 };

  arbiter.events$.subscribe((e: ArbiterEvent) => {
    switch (e.type) {
      case 'conflict.detected':
        detected++;
        candidatesPerConflict.push(e.candidateIds.length);
        break;
      case 'conflict.resolved':
        resolved++;
        resolutionMs.push(e.durationMs);
        break;
      case 'operation.retrying':
        retried++;
        break;
      case 'operation.started':
        if (e.attempt === 1) {
          // Winner-only promotion: the record enters the store when the operation wins.
          const rec = world.store.create({ kind: 'operation', operationId: e.operationId, target: e.target, status: 'executing' });
          records.set(e.operationId, rec.id);
          registered++;
          peakRecords = Math.max(peakRecords, records.size);
        }
        break;
      case 'operation.completed': {
        const id = records.get(e.operationId);
        if (id) world.store.update(id, (d: { status: string }) => void (d.status = 'completed'));
        break;
      }
      case 'operation.rejected': {
        const id = records.get(e.operationId);
        if (id) {
          zombies++;
          const t = performance.now();
          world.store.delete(id);
          cleanupMs += performance.now() - t;
          cleanupOps++;
          records.delete(e.operationId);
        }
        break;
      }
      default:
        break;
    }
  });

  const submittedAt = performance.now();
  const handles: Array<Promise<unknown>> = [];
  await driveBatches(
    options,
    world.targets,
    (target, priority, type, index) => {
      const label = `${type}_${index}`;
      const h = arbiter.submit({
        target,
        type,
        priority,
        execute: async ({ signal }) => {
          const r = await executeTracked(ledger, target, type, label, signal, options, workRandom);
          ledger.committed(type, target, r.writes, r.ms);
          return r.writes;
        },
      });
      handles.push(
        h.result.then(
          () => void outcome.completed++,
          () => void outcome.rejected++,
        ),
      );
    },
    () => ({ submitted: handles.length, completed: outcome.completed, rejected: outcome.rejected }),
  );
  // Grace: let what was submitted reach a final state.
  await arbiter.drain();
  await Promise.all(handles);
  await yieldToLoop();
  const elapsedMs = performance.now() - submittedAt;
  const m = arbiter.metrics();
  await arbiter.stop();
  const mem = memory.stop();
  const submitted = handles.length;
  const inProgress = submitted - outcome.completed - outcome.rejected;
  const rejectedByCode = Object.fromEntries(Object.entries(m.rejectedByCode).filter(([, n]) => n > 0));
  const integrity = ledger.checks([
    {
      name: "the arbiter's counters agree with the handles",
      ok: m.submitted === submitted && m.completed === outcome.completed && m.rejected === outcome.rejected && m.inFlight === inProgress,
      detail: `arbiter ${m.submitted}/${m.completed}/${m.rejected}/${m.inFlight}, handles ${submitted}/${outcome.completed}/${outcome.rejected}/${inProgress}`,
    },
    { name: 'every conflict detected was resolved', ok: detected === resolved, detail: `${detected} detected, ${resolved} resolved` },
  ]);
  return finishReport('pre', options, {
    submitted,
    completed: outcome.completed,
    rejected: outcome.rejected,
    inProgress,
    rejectedByCode,
    retried,
    detected,
    resolved,
    candidatesPerConflict,
    resolutionMs,
    ledger,
    registry: { registered, zombies, cleanupOps, cleanupMs, peakRecords, recordsLeft: records.size },
    memory: mem,
    elapsedMs,
    integrity,
  });
}

/** Assembles a {@link StressReport} from a run's raw figures. */
export function finishReport(
  mode: 'pre' | 'post',
  options: StressOptions,
  raw: {
    submitted: number;
    completed: number;
    rejected: number;
    inProgress: number;
    rejectedByCode: Record<string, number>;
    retried: number;
    detected: number;
    resolved: number;
    candidatesPerConflict: number[];
    resolutionMs: number[];
    ledger: Ledger;
    registry: StressReport['registry'];
    memory: MemoryFigures;
    elapsedMs: number;
    integrity: IntegrityCheck[];
  },
): StressReport {
  const { onProgress: _onProgress, ...config } = options;
  const unaccounted = raw.submitted - (raw.completed + raw.rejected + raw.inProgress);
  const integrity = [
    ...raw.integrity,
    { name: 'operation accounting balances', ok: unaccounted === 0 && raw.inProgress === 0, detail: `${unaccounted} unaccounted, ${raw.inProgress} in progress` },
  ];
  const secs = raw.elapsedMs / 1000;
  return {
    mode,
    config,
    accounting: {
      submitted: raw.submitted,
      completed: raw.completed,
      rejected: raw.rejected,
      inProgress: raw.inProgress,
      unaccounted,
      rejectedByCode: raw.rejectedByCode,
      retried: raw.retried,
    },
    conflicts: {
      detected: raw.detected,
      resolved: raw.resolved,
      opsPerConflict: mean(raw.candidatesPerConflict),
      avgResolutionMs: mean(raw.resolutionMs),
      maxResolutionMs: raw.resolutionMs.length ? Math.max(...raw.resolutionMs) : 0,
    },
    operations: {
      byType: raw.ledger.byType,
      avgExecutionMs: mean(raw.ledger.executionMs),
      occConflicts: raw.ledger.occConflicts,
    },
    registry: raw.registry,
    memory: raw.memory,
    throughput: {
      elapsedMs: raw.elapsedMs,
      submittedPerSec: raw.submitted / secs,
      completedPerSec: raw.completed / secs,
      completionRate: raw.submitted ? raw.completed / raw.submitted : 0,
    },
    integrity,
    ok: integrity.every((c) => c.ok),
  };
}
