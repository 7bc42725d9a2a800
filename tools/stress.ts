/**
 * The stress workload: batches of 3–8 conflicting real operations on a few target entities, each
 * batch on one target, at a steady rate; on the arbiter (pre-staging: arbitration before anything
 * executes), and for comparison the post-registration way (`runPostStress` in `tools/post.ts`).
 */
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { createArbiter, defaultSelectWinner, OccConflictError, Priority, type ArbiterBackend, type ArbiterEvent, type SelectWinner } from '../src/index.js';
import { assessStress, GraceTracker, memoryStatus, modificationsByKind, type Assessment, type GraceFigures, type MemoryStatus, type Modifications } from './assessment.js';
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
  type TargetStatus,
  type World,
} from './common.js';
import { runClock, type ClockKind, type RunClock } from './clock.js';
import { intBetween, pick, seededRandom } from './random.js';

/** Options of a stress run (both modes). */
export interface StressOptions extends LoadOptions {
  /** How long operations are submitted. */
  readonly durationMs: number;
  readonly targets: number;
  /** Operations submitted per second (in batches). */
  readonly rate: number;
  readonly mix: Readonly<Record<OperationType, number>>;
  /**
   * Share (0..1) of the operations submitted to a target that is executing something which are
   * made CRITICAL: with executions longer than the grace period (`workMs`), they preempt, or are
   * held off by the grace period.
   */
  readonly criticalShare: number;
  /** The completion rate (completed / submitted) the assessment expects, 0..1. */
  readonly targetCompletionRate: number;
  /** Heap limit of the memory check, MB. */
  readonly maxMemoryMb: number;
  /** The named profile the settings came from. */
  readonly profile: StressProfile;
  /**
   * `real`, or `simulated`: the run moves a simulated clock itself, so a seed gives the same
   * report on any machine (times in the report are then the clock's). The arbiter mode only.
   */
  readonly clock: ClockKind;
  /**
   * Each operation's first `transientFailures` executions throw a transient (retryable) error
   * before touching the store; the arbiter retries them with backoff up to the operation's
   * `maxRetries` (by priority: 3, 5 or 20), then rejects it `retries-exhausted`. The arbiter mode only.
   */
  readonly transientFailures: number;
}

/** The named settings of `arbiter stress --profile` (see {@link STRESS_PROFILES}). */
export type StressProfile = 'default' | 'preemption';

/** The default load: 15 s, 5 targets, 100 ops/s in batches of 3–8, grace 200 ms. */
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
  criticalShare: 0,
  targetCompletionRate: 0.2,
  maxMemoryMb: 1000,
  profile: 'default',
  clock: 'real',
  transientFailures: 0,
};

/**
 * Named settings. `preemption` makes the grace period work: executions of 250 ms (past the
 * 200 ms grace period, within one window of it), ordinary batches without CRITICAL operations so
 * that holders can be outranked, and 30 % of the operations sent to a busy target CRITICAL. Some
 * arrive while the holder is inside its grace period (it keeps its target, and is saved if it
 * finishes before the next window), others after it (preempted).
 *
 * @example
 * ```ts
 * const report = await runStress({ ...STRESS_PROFILES.preemption, durationMs: 5000 });
 * report.grace.saved; // > 0 on most runs
 * ```
 */
export const STRESS_PROFILES = {
  default: {},
  preemption: {
    profile: 'preemption',
    workMs: 250,
    criticalShare: 0.3,
    priorities: { LOW: 0.4, NORMAL: 0.3, HIGH: 0.3, CRITICAL: 0 },
  },
} as const satisfies Record<StressProfile, Partial<StressOptions>>;

/** What an execution throws for `transientFailures`: retryable, and before any write. */
export class TransientFailure extends Error {
  override readonly name = 'TransientFailure';
}

/** Per operation type: how many executed and how many of those completed. */
export interface TypeFigures {
  executed: number;
  successful: number;
}

/** One target at the end of a run. */
export interface TargetFigures {
  readonly label: string;
  readonly id: string;
  readonly winners: number;
  readonly completed: number;
}

/** The report of one stress run. */
export interface StressReport {
  readonly mode: 'pre' | 'post';
  readonly config: Omit<StressOptions, 'onProgress'>;
  readonly accounting: AccountingSection & {
    /** Retry transitions (an execution failed and ran again); not final states. */
    readonly retried: number;
    /** Operations whose execution failed at least once and was retried. */
    readonly failedThenRetried: number;
    /** Of those, how many completed in the end. */
    readonly recovered: number;
  };
  readonly conflicts: {
    /** Arbitration windows that had at least one candidate. */
    readonly windows: number;
    readonly detected: number;
    readonly resolved: number;
    readonly opsPerConflict: number;
    /** Milliseconds spent deciding one conflict (pre: `arbitrate`; post: store scan + decision + marking). */
    readonly avgResolutionMs: number;
    readonly maxResolutionMs: number;
  };
  readonly operations: {
    readonly byType: Record<string, TypeFigures>;
    readonly modifications: Modifications;
    readonly avgExecutionMs: number;
    readonly occConflicts: number;
  };
  readonly grace: GraceFigures;
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
  readonly memory: MemoryFigures & { readonly status: MemoryStatus };
  readonly throughput: {
    readonly elapsedMs: number;
    readonly submittedPerSec: number;
    readonly completedPerSec: number;
    /** completed / submitted. */
    readonly completionRate: number;
    /** rejected / submitted. */
    readonly rejectionRate: number;
  };
  readonly targets: readonly TargetFigures[];
  readonly integrity: readonly IntegrityCheck[];
  /** Accounting balanced and every integrity check passed. */
  readonly ok: boolean;
  readonly assessment: Assessment;
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

  /** Executions running on `target` now. */
  executingOn(target: string): number {
    return this.executing.get(target) ?? 0;
  }

  /** Targets whose `opCount` moved (a committed operation modified them). */
  targetsModified(): number {
    return this.world.targets.filter((t) => (this.world.store.get<TargetData>(t)?.data.opCount ?? 0) > 0).length;
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
  clock: RunClock = runClock('real'),
): Promise<{ writes: number; ms: number }> {
  ledger.executed(type);
  const leave = ledger.enter(target);
  // Leave at the abort itself: the next winner may start in the same tick.
  signal.addEventListener('abort', leave, { once: true });
  const started = clock.now();
  try {
    const effect = await performOperation(ledger.world, target, type, random, signal, options.workMs, label, clock.wait);
    if (signal.aborted) {
      ledger.strayWrites += effect.targetWrites;
      throw new AbortedExecution(`${label} finished after its abort`);
    }
    return { writes: effect.targetWrites, ms: clock.now() - started };
  } catch (err) {
    if (err instanceof OccConflictError) ledger.occConflicts++;
    throw err;
  } finally {
    leave();
    signal.removeEventListener('abort', leave);
  }
}

/** What a mode tells the batch driver about its targets. */
export interface DriveHooks {
  /** Called once per operation. */
  submit(target: string, priority: number, type: OperationType, index: number): void;
  /** Whether `target` is executing something now (for `criticalShare`). */
  busy(target: string): boolean;
  progress(): Omit<Progress, 'fraction'>;
}

/**
 * Submits batches (each on one target) at `rate` for `durationMs`. Targets, batch sizes, priorities
 * and types come from `seed`, so both modes get the same workload; the CRITICAL draws of
 * `criticalShare` use a stream of their own and leave that sequence unchanged.
 */
export async function driveBatches(options: StressOptions, targetIds: readonly string[], hooks: DriveHooks, clock: RunClock = runClock('real')): Promise<number> {
  const random = seededRandom(options.seed);
  const criticalRandom = seededRandom(options.seed ^ 0xc417);
  const nextPriority = prioritySampler(random, options.priorities);
  const nextType = operationSampler(random, options.mix);
  const t0 = clock.now();
  let submitted = 0;
  let lastProgress = -Infinity;
  const catchUp = (due: number) => {
    while (submitted < due) {
      const target = pick(random, targetIds);
      const batch = intBetween(random, options.batchMin, options.batchMax);
      const busy = options.criticalShare > 0 && hooks.busy(target);
      for (let k = 0; k < batch; k++) {
        const drawn = nextPriority();
        const critical = busy && criticalRandom() < options.criticalShare;
        hooks.submit(target, critical ? Priority.CRITICAL : drawn, nextType(), submitted++);
      }
    }
  };
  for (;;) {
    const elapsed = clock.now() - t0;
    // What was due by the end, whenever the loop notices it: the same workload on every run.
    if (elapsed >= options.durationMs) {
      catchUp(Math.floor((options.durationMs * options.rate) / 1000));
      break;
    }
    catchUp(Math.floor((elapsed * options.rate) / 1000));
    if (options.onProgress && elapsed - lastProgress >= 100) {
      lastProgress = elapsed;
      options.onProgress({ fraction: elapsed / options.durationMs, ...hooks.progress() });
    }
    await clock.tick();
  }
  return clock.now() - t0;
}

/** Counts what settles, so a run keeps no promise per operation. */
export class Outcomes {
  completed = 0;
  rejected = 0;
  private waiting: (() => void) | undefined;

  constructor(private submitted = 0) {}

  /** Whether every tracked result has settled. */
  get done(): boolean {
    return this.completed + this.rejected === this.submitted;
  }

  track(result: Promise<unknown>): void {
    this.submitted++;
    result.then(
      () => this.settle(true),
      () => this.settle(false),
    );
  }

  /** Resolves once every tracked result has settled. */
  settled(): Promise<void> {
    if (this.completed + this.rejected === this.submitted) return Promise.resolve();
    return new Promise((resolve) => (this.waiting = resolve));
  }

  private settle(ok: boolean): void {
    if (ok) this.completed++;
    else this.rejected++;
    if (this.completed + this.rejected === this.submitted) this.waiting?.();
  }
}

/** Labels `#0`, `#1`, … of a world's targets. */
export function targetLabels(world: World): Map<string, string> {
  return new Map(world.targets.map((t, i) => [t, `#${i}`]));
}

/**
 * A stress run that is one of several processes sharing a backend (`arbiter stress --redis`):
 * the same target ids in every process, and a record of each execution where the other
 * processes' are (see `tools/stress-redis.ts`).
 */
export interface SharedStress {
  readonly backend: ArbiterBackend;
  /** The target ids, the same in every process. */
  readonly targetIds: readonly string[];
  /** An execution starts (with its fencing token); the function returned is called when it ends. */
  started(target: string, operationId: string, token: number | undefined): Promise<(aborted: boolean) => Promise<void>>;
}

/**
 * The stress test on the arbiter: staging, windows, priority arbitration before anything
 * executes, and winner-only registration of operation records in the store (a record is created
 * when an operation starts and marked final when it ends; a record that ends rejected, e.g.
 * preempted, is a zombie and is removed at once). The arbiter decides with the default rule; a
 * `selectWinner` that returns that same winner lets the run see every decision (executing
 * operations, their start, the clock) to follow the grace period.
 */
export async function runStress(input: Partial<StressOptions> = {}, shared?: SharedStress): Promise<StressReport> {
  const options: StressOptions = { ...DEFAULT_STRESS, ...input };
  const clock = runClock(options.clock);
  const world = buildWorld(options.targets, shared?.targetIds);
  const labels = targetLabels(world);
  const ledger = new Ledger(world);
  const workRandom = seededRandom(options.seed ^ 0x5eed);
  const memory = new MemorySampler();
  const settledStart = memory.settled();
  memory.start();
  const grace = new GraceTracker(options.gracePeriodMs);
  let windows = 0;
  const selectWinner: SelectWinner = (candidates, ctx) => {
    windows++;
    const winner = defaultSelectWinner(candidates);
    if (winner) grace.decision(ctx.now, ctx.executing, winner);
    return winner;
  };
  const arbiter = createArbiter({
    windowMs: options.windowMs,
    gracePeriodMs: options.gracePeriodMs,
    maxStagedPerTarget: Math.max(20, options.batchMax * 4),
    // A shared backend decides windows where every process sees them (no selectWinner there):
    // windows are then counted from the windows this process reports.
    ...(shared ? { backend: shared.backend } : { selectWinner }),
    // The run never reads finished operations back: keeping none makes the memory status about
    // what the arbiter needs, not about its audit trail (bounded by maxRetained anyway).
    cleanup: { strategy: 'immediate' },
    // On the simulated clock, backoff jitter is drawn from the seed too.
    ...(clock.arbiterClock ? { clock: clock.arbiterClock, random: seededRandom(options.seed ^ 0x7e57) } : {}),
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
  const retriedIds = new Set<string>();
  let failedThenRetried = 0;
  let recovered = 0;
  const winners = new Map<string, number>();
  const candidatesPerConflict: number[] = [];
  /** With a shared backend: when this process's holders started (their age when preempted). */
  const startedAt = new Map<string, number>();
  const resolutionMs: number[] = [];

  arbiter.events$.subscribe((e: ArbiterEvent) => {
    switch (e.type) {
      case 'conflict.detected':
        detected++;
        candidatesPerConflict.push(e.candidateIds.length);
        break;
      case 'conflict.resolved':
        resolved++;
        if (shared) windows++;
        resolutionMs.push(e.durationMs);
        break;
      case 'operation.retrying':
        retried++;
        if (!retriedIds.has(e.operationId)) {
          retriedIds.add(e.operationId);
          failedThenRetried++;
        }
        break;
      case 'operation.preempted': {
        const since = startedAt.get(e.operationId);
        if (shared && since !== undefined) grace.preemptedAfter(e.operationId, e.at - since);
        else grace.preempted(e.operationId);
        break;
      }
      case 'operation.protected':
        if (shared) grace.protectedEvent(e.operationId);
        break;
      case 'operation.started':
        if (shared && e.attempt === 1) startedAt.set(e.operationId, e.at);
        if (e.attempt === 1) {
          winners.set(e.target, (winners.get(e.target) ?? 0) + 1);
          // Winner-only promotion: the record enters the store when the operation wins.
          const rec = world.store.create({ kind: 'operation', operationId: e.operationId, target: e.target, status: 'executing' });
          records.set(e.operationId, rec.id);
          registered++;
          peakRecords = Math.max(peakRecords, records.size);
        }
        break;
      case 'operation.completed': {
        startedAt.delete(e.operationId);
        grace.finished(e.operationId, 'completed');
        if (retriedIds.delete(e.operationId)) recovered++;
        const id = records.get(e.operationId);
        if (id) world.store.update(id, (d: { status: string }) => void (d.status = 'completed'));
        break;
      }
      case 'operation.rejected': {
        startedAt.delete(e.operationId);
        grace.finished(e.operationId, e.code);
        retriedIds.delete(e.operationId);
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

  await arbiter.ready();
  const submittedAt = clock.now();
  const outcome = new Outcomes();
  let submitted = 0;
  const hooks: DriveHooks = {
    submit(target, priority, type, index) {
      const label = `${type}_${index}`;
      submitted++;
      let failuresLeft = options.transientFailures;
      const h = arbiter.submit({
        target,
        type,
        priority,
        execute: async ({ signal, id, fence }) => {
          if (failuresLeft > 0) {
            failuresLeft--;
            throw new TransientFailure(`${label}: transient failure (${options.transientFailures - failuresLeft} of ${options.transientFailures})`);
          }
          const ended = shared ? await shared.started(target, id, fence?.token) : undefined;
          try {
            const r = await executeTracked(ledger, target, type, label, signal, options, workRandom, clock);
            ledger.committed(type, target, r.writes, r.ms);
            return r.writes;
          } finally {
            await ended?.(signal.aborted);
          }
        },
        ...(options.transientFailures > 0 ? { retryable: (err: unknown) => err instanceof TransientFailure } : {}),
      });
      outcome.track(h.result);
    },
    busy: (target) => ledger.executingOn(target) > 0,
    progress() {
      const staged = arbiter.metrics().stagedByTarget;
      const targets: TargetStatus[] = world.targets.map((t) => ({
        label: labels.get(t)!,
        staged: staged[t] ?? 0,
        executing: ledger.executingOn(t),
        winners: winners.get(t) ?? 0,
      }));
      return { submitted, completed: outcome.completed, rejected: outcome.rejected, targets };
    },
  };
  await driveBatches(options, world.targets, hooks, clock);
  // Grace: let what was submitted reach a final state (the simulated clock only moves when told).
  if (clock.kind === 'simulated') while (!outcome.done) await clock.tick();
  await arbiter.onIdle();
  await outcome.settled();
  await yieldToLoop();
  const elapsedMs = clock.now() - submittedAt;
  const m = arbiter.metrics();
  await arbiter.stop();
  const mem = memory.stop();
  const settledEnd = memory.settled();
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
    failedThenRetried,
    recovered,
    windows,
    detected,
    resolved,
    candidatesPerConflict,
    resolutionMs,
    ledger,
    grace: grace.figures(),
    registry: { registered, zombies, cleanupOps, cleanupMs, peakRecords, recordsLeft: records.size },
    memory: mem,
    heapSamples: memory.heapSamples(),
    settledHeap: { start: settledStart, end: settledEnd },
    winners,
    elapsedMs,
    integrity,
  });
}

/** A run's raw figures, either mode. */
export interface RawStress {
  submitted: number;
  completed: number;
  rejected: number;
  inProgress: number;
  rejectedByCode: Record<string, number>;
  retried: number;
  failedThenRetried: number;
  recovered: number;
  windows: number;
  detected: number;
  resolved: number;
  candidatesPerConflict: number[];
  resolutionMs: number[];
  ledger: Ledger;
  grace: GraceFigures;
  registry: StressReport['registry'];
  memory: MemoryFigures;
  heapSamples: readonly number[];
  /** Heap after a full collection before the load and after it (bytes), when one could be run. */
  settledHeap: { start: number | undefined; end: number | undefined };
  winners: ReadonlyMap<string, number>;
  elapsedMs: number;
  integrity: IntegrityCheck[];
}

/** Assembles a {@link StressReport} from a run's raw figures. */
export function finishReport(mode: 'pre' | 'post', options: StressOptions, raw: RawStress): StressReport {
  const { onProgress: _onProgress, ...config } = options;
  const unaccounted = raw.submitted - (raw.completed + raw.rejected + raw.inProgress);
  const integrity = [
    ...raw.integrity,
    { name: 'operation accounting balances', ok: unaccounted === 0 && raw.inProgress === 0, detail: `${unaccounted} unaccounted, ${raw.inProgress} in progress` },
  ];
  const ok = integrity.every((c) => c.ok);
  const secs = raw.elapsedMs / 1000;
  const modifications = modificationsByKind(raw.ledger.byType);
  const status = memoryStatus({ samples: raw.heapSamples, settledStart: raw.settledHeap.start, settledEnd: raw.settledHeap.end, limitMb: options.maxMemoryMb });
  const labels = targetLabels(raw.ledger.world);
  const targets = raw.ledger.world.targets.map((id) => ({
    label: labels.get(id)!,
    id,
    winners: raw.winners.get(id) ?? 0,
    completed: raw.ledger.completedByTarget.get(id) ?? 0,
  }));
  const assessment = assessStress({
    submitted: raw.submitted,
    completed: raw.completed,
    targetCompletionRate: options.targetCompletionRate,
    windows: raw.windows,
    conflictsDetected: raw.detected,
    conflictsResolved: raw.resolved,
    grace: raw.grace,
    modifications,
    targetsModified: raw.ledger.targetsModified(),
    targets: raw.ledger.world.targets.length,
    memory: status,
    integrityOk: ok,
  });
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
      failedThenRetried: raw.failedThenRetried,
      recovered: raw.recovered,
    },
    conflicts: {
      windows: raw.windows,
      detected: raw.detected,
      resolved: raw.resolved,
      opsPerConflict: mean(raw.candidatesPerConflict),
      avgResolutionMs: mean(raw.resolutionMs),
      maxResolutionMs: raw.resolutionMs.length ? Math.max(...raw.resolutionMs) : 0,
    },
    operations: {
      byType: raw.ledger.byType,
      modifications,
      avgExecutionMs: mean(raw.ledger.executionMs),
      occConflicts: raw.ledger.occConflicts,
    },
    grace: raw.grace,
    registry: raw.registry,
    memory: { ...raw.memory, status },
    throughput: {
      elapsedMs: raw.elapsedMs,
      submittedPerSec: raw.submitted / secs,
      completedPerSec: raw.completed / secs,
      completionRate: raw.submitted ? raw.completed / raw.submitted : 0,
      rejectionRate: raw.submitted ? raw.rejected / raw.submitted : 0,
    },
    targets,
    integrity,
    ok,
    assessment,
  };
}
