/**
 * The benchmark workloads of issue #7, each a plain async function that builds its own arbiter
 * (or bare actors), runs once and returns what it measured. `bench/index.ts` repeats them through
 * tinybench and writes the figures; nothing here asserts a timing.
 */
import v8 from 'node:v8';
import vm from 'node:vm';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { createActor } from 'xstate';
import { createArbiter, DEFAULT_RETRY, operationMachine, Priority, type ArbiterOptions, type OperationInput } from '../src/index.js';
import { intBetween, pick, seededRandom, type Random } from '../tools/random.js';

/** Four priority classes (LOW, NORMAL, HIGH, CRITICAL), drawn uniformly (25% each). */
export const MIXED_PRIORITIES = [Priority.LOW, Priority.NORMAL, Priority.HIGH, Priority.CRITICAL] as const;

v8.setFlagsFromString('--expose-gc');
/** A forced full GC, so heap figures are live data rather than garbage not yet collected. */
export const gc: () => void = vm.runInNewContext('gc');

/** Heap in use after a full collection, in bytes. */
export function settledHeap(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

/** Options for {@link burstWorkload}. */
export interface BurstWorkloadOptions {
  readonly ops: number;
  readonly targets: number;
  readonly windowMs?: number;
  readonly seed?: number;
  /** Extra arbiter options (cleanup strategies, …). */
  readonly arbiter?: ArbiterOptions;
}

/** What one run of {@link burstWorkload} measured. */
export interface ThroughputRun {
  readonly ops: number;
  readonly targets: number;
  readonly elapsedMs: number;
  readonly submitMs: number;
  readonly decidedPerSec: number;
  readonly completed: number;
  readonly rejected: number;
  readonly conflicts: number;
  readonly rejectedByCode: Record<string, number>;
}

function targetName(random: Random, targets: number): string {
  return `t${Math.floor(random() * targets)}`;
}

const trivialExecute = ({ attempt }: { attempt: number }) => attempt;

/**
 * The burst workload: batches of 3–8 operations, each batch on one random target, priorities
 * mixed 25% each LOW/NORMAL/HIGH/CRITICAL, submitted as fast as possible (the event loop gets a
 * turn between batches, so windows close and winners run while submission goes on). Staging
 * limits are lifted so that every operation is decided by arbitration, not by backpressure.
 * The clock runs from the first submission until `drain()` resolves: every operation final.
 */
export async function burstWorkload(options: BurstWorkloadOptions): Promise<ThroughputRun> {
  const { ops, targets, windowMs = 100, seed = 1 } = options;
  const random = seededRandom(seed);
  const arbiter = createArbiter({
    windowMs,
    maxStagedPerTarget: ops,
    maxStaged: ops,
    ...options.arbiter,
  });
  const t0 = performance.now();
  let i = 0;
  while (i < ops) {
    const target = targetName(random, targets);
    const batch = intBetween(random, 3, 8);
    for (let k = 0; k < batch && i < ops; k++, i++) {
      arbiter.submit({ target, priority: pick(random, MIXED_PRIORITIES), execute: trivialExecute });
    }
    await yieldToLoop();
  }
  const t1 = performance.now();
  await arbiter.onIdle();
  const t2 = performance.now();
  const m = arbiter.metrics();
  await arbiter.stop();
  if (m.completed + m.rejected !== ops || m.inFlight !== 0) {
    throw new Error(`accounting broke: ${ops} submitted, ${m.completed} completed + ${m.rejected} rejected + ${m.inFlight} in flight`);
  }
  const rejectedByCode = Object.fromEntries(Object.entries(m.rejectedByCode).filter(([, n]) => n > 0));
  return {
    ops,
    targets,
    elapsedMs: t2 - t0,
    submitMs: t1 - t0,
    decidedPerSec: ops / ((t2 - t0) / 1000),
    completed: m.completed,
    rejected: m.rejected,
    conflicts: m.conflicts,
    rejectedByCode,
  };
}

/** Options for {@link bareFloor}. */
export interface BareFloorOptions {
  readonly ops: number;
  /** How many of them win and execute (the rest are rejected from `staged`). */
  readonly winners: number;
  readonly seed?: number;
}

/**
 * The bare XState floor: the same number of operation actors (the arbiter's own
 * `operationMachine`), subscribed to, started and driven through the same transitions
 * (`pending → staged`, then `→ rejected`, or `→ executing → completed` for the winners) and
 * stopped when final, with the same batching and event-loop turns, but no arbitration: no
 * coordinator, window, timer, record, handle or promise of the arbiter's own.
 */
export async function bareFloor(options: BareFloorOptions): Promise<{ elapsedMs: number; perSec: number }> {
  const { ops, winners, seed = 1 } = options;
  const random = seededRandom(seed);
  const every = winners > 0 ? Math.max(1, Math.floor(ops / winners)) : Infinity;
  let pendingWinners = 0;
  let done!: () => void;
  const allDone = new Promise<void>((resolve) => (done = resolve));
  const t0 = performance.now();
  let i = 0;
  let submissionOver = false;
  const batchActors: Array<ReturnType<typeof createActor<typeof operationMachine>>> = [];
  while (i < ops) {
    const target = targetName(random, 3);
    const batch = intBetween(random, 3, 8);
    batchActors.length = 0;
    for (let k = 0; k < batch && i < ops; k++, i++) {
      const input: OperationInput = {
        id: `op-${i}`,
        target,
        type: 'operation',
        priority: pick(random, MIXED_PRIORITIES),
        effectivePriority: 5,
        seq: i,
        submittedAt: performance.now(),
        maxRetries: 5,
        retry: DEFAULT_RETRY,
        execute: trivialExecute,
        random: Math.random,
      };
      const actor = createActor(operationMachine, { input });
      actor.subscribe((snapshot) => {
        if (snapshot.status !== 'done') return;
        actor.stop();
        if (snapshot.value === 'completed' && --pendingWinners === 0 && submissionOver) done();
      });
      actor.start();
      actor.send({ type: 'arbiter.admit' });
      batchActors.push(actor);
    }
    for (let k = 0; k < batchActors.length; k++) {
      const actor = batchActors[k]!;
      if ((i - batchActors.length + k) % every === 0) {
        pendingWinners++;
        actor.send({ type: 'arbiter.win' });
      } else {
        actor.send({ type: 'arbiter.reject', code: 'lost-arbitration', reason: 'lost' });
      }
    }
    await yieldToLoop();
  }
  submissionOver = true;
  if (pendingWinners > 0) await allDone;
  const elapsedMs = performance.now() - t0;
  return { elapsedMs, perSec: ops / (elapsedMs / 1000) };
}

/** Options for {@link latencyAtLoad}. */
export interface LatencyOptions {
  /** Offered load, operations per second. */
  readonly rate: number;
  readonly durationMs: number;
  readonly targets: number;
  readonly windowMs?: number;
  readonly seed?: number;
}

/** Submit-to-final latency at one offered load. */
export interface LatencyRun {
  readonly rate: number;
  readonly ops: number;
  /** Operations per second actually offered (the submitter may fall behind at high rates). */
  readonly offeredPerSec: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  readonly completed: number;
  readonly rejected: number;
}

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

/**
 * Offers `rate` operations per second for `durationMs` (batches of 3–8 on random targets, mixed
 * priorities, on a real clock) and records, per operation, the milliseconds from `submit` to its
 * final state (the settling of `handle.result`).
 */
export async function latencyAtLoad(options: LatencyOptions): Promise<LatencyRun> {
  const { rate, durationMs, targets, windowMs = 100, seed = 1 } = options;
  const random = seededRandom(seed);
  const arbiter = createArbiter({ windowMs, maxStagedPerTarget: 1_000_000, maxStaged: 10_000_000 });
  const latencies: number[] = [];
  const record = (start: number) => () => {
    latencies.push(performance.now() - start);
  };
  const t0 = performance.now();
  let submitted = 0;
  for (;;) {
    const elapsed = performance.now() - t0;
    if (elapsed >= durationMs) break;
    const due = Math.floor((elapsed * rate) / 1000);
    while (submitted < due) {
      const target = targetName(random, targets);
      const batch = intBetween(random, 3, 8);
      for (let k = 0; k < batch; k++, submitted++) {
        const start = performance.now();
        const h = arbiter.submit({ target, priority: pick(random, MIXED_PRIORITIES), execute: trivialExecute });
        const done = record(start);
        h.result.then(done, done);
      }
    }
    await yieldToLoop();
  }
  const offeredMs = performance.now() - t0;
  await arbiter.onIdle();
  // Let the last result callbacks run.
  await yieldToLoop();
  const m = arbiter.metrics();
  await arbiter.stop();
  latencies.sort((a, b) => a - b);
  return {
    rate,
    ops: submitted,
    offeredPerSec: submitted / (offeredMs / 1000),
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    max: latencies[latencies.length - 1] ?? 0,
    completed: m.completed,
    rejected: m.rejected,
  };
}

/** Options for {@link heapAfterMany}. */
export interface MemoryOptions {
  readonly ops: number;
  readonly targets: number;
  readonly chunk?: number;
  readonly windowMs?: number;
  readonly arbiter?: ArbiterOptions;
  readonly onProgress?: (done: number) => void;
}

/** Heap figures of {@link heapAfterMany}, in bytes. */
export interface MemoryRun {
  readonly ops: number;
  readonly heapBefore: number;
  readonly heapAfter: number;
  readonly heapPeak: number;
  readonly growth: number;
  readonly elapsedMs: number;
}

/**
 * Pushes `ops` operations through one arbiter in chunks (each chunk drained before the next) and
 * compares the settled heap before the first and after the last. The arbiter stays alive, so
 * whatever it keeps about finished operations counts.
 */
export async function heapAfterMany(options: MemoryOptions): Promise<MemoryRun> {
  const { ops, targets, chunk = 20_000, windowMs = 10 } = options;
  const random = seededRandom(7);
  const arbiter = createArbiter({ windowMs, maxStagedPerTarget: chunk, maxStaged: chunk, ...options.arbiter });
  const heapBefore = settledHeap();
  let heapPeak = heapBefore;
  const t0 = performance.now();
  let i = 0;
  while (i < ops) {
    const end = Math.min(ops, i + chunk);
    while (i < end) {
      const target = targetName(random, targets);
      const batch = intBetween(random, 3, 8);
      for (let k = 0; k < batch && i < end; k++, i++) {
        arbiter.submit({ target, priority: pick(random, MIXED_PRIORITIES), execute: trivialExecute });
      }
      await yieldToLoop();
    }
    await arbiter.onIdle();
    heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed);
    options.onProgress?.(i);
  }
  const elapsedMs = performance.now() - t0;
  const m = arbiter.metrics();
  if (m.completed + m.rejected !== ops) throw new Error(`accounting broke: ${m.completed} + ${m.rejected} ≠ ${ops}`);
  const heapAfter = settledHeap();
  await arbiter.stop();
  return { ops, heapBefore, heapAfter, heapPeak, growth: heapAfter - heapBefore, elapsedMs };
}

/** Options for {@link targetCost}. */
export interface TargetCostOptions {
  readonly ops: number;
  /**
   * `fresh`: every operation on a target nobody used before; `busy`: spread over `targets`;
   * `alone`: every operation alone in its window, on a target whose coordinator is already running
   * (rounds of one operation per target over `aloneTargets` targets).
   */
  readonly kind: 'fresh' | 'busy' | 'alone';
  /** Targets of the `busy` kind. @default 100 */
  readonly targets?: number;
  /** Targets of the `alone` kind. @default 5,000 */
  readonly aloneTargets?: number;
  /** Submissions per event-loop turn. @default 100 */
  readonly batch?: number;
  readonly windowMs?: number;
}

/** What {@link targetCost} measured. */
export interface TargetCostRun {
  readonly ops: number;
  readonly kind: 'fresh' | 'busy' | 'alone';
  readonly targets: number;
  readonly usPerOp: number;
  readonly completed: number;
}

/**
 * Microseconds per operation when every operation meets a fresh target (one operation per
 * target: many entities, little contention) against the same operations spread over a few busy
 * targets, with the same batching. A fresh operation wins and runs; it also pays for its target's
 * coordinator: created, timed and stopped. The `alone` kind splits the two: each operation wins
 * and runs alone in its own window, like a fresh one, but its target's coordinator already runs
 * (created by an untimed first round); what `fresh` costs beyond `alone` is the coordinator's.
 */
export async function targetCost(options: TargetCostOptions): Promise<TargetCostRun> {
  const { ops, kind, targets = 100, aloneTargets = 5_000, batch = 100, windowMs = 100 } = options;
  if (kind === 'alone') return aloneCost(ops, Math.min(ops, aloneTargets), batch, windowMs);
  const random = seededRandom(11);
  const arbiter = createArbiter({ windowMs, maxStagedPerTarget: ops, maxStaged: ops });
  const t0 = performance.now();
  let i = 0;
  while (i < ops) {
    for (let k = 0; k < batch && i < ops; k++, i++) {
      const target = kind === 'fresh' ? `f${i}` : `b${i % targets}`;
      arbiter.submit({ target, priority: pick(random, MIXED_PRIORITIES), execute: trivialExecute });
    }
    await yieldToLoop();
  }
  await arbiter.onIdle();
  const elapsedMs = performance.now() - t0;
  const m = arbiter.metrics();
  await arbiter.stop();
  if (m.completed + m.rejected !== ops) throw new Error(`accounting broke: ${m.completed} + ${m.rejected} ≠ ${ops}`);
  return { ops, kind, targets: kind === 'fresh' ? ops : targets, usPerOp: (elapsedMs * 1000) / ops, completed: m.completed };
}

/**
 * Rounds of one operation per target on coordinators that stay up (`idleCoordinatorMs` longer
 * than the run). Each round ends when its operations are final; the window's own wait (`windowMs`
 * after the round's last submission, when nothing runs) is not counted, the work done in it is.
 */
async function aloneCost(ops: number, targets: number, batch: number, windowMs: number): Promise<TargetCostRun> {
  const random = seededRandom(11);
  const arbiter = createArbiter({ windowMs, maxStagedPerTarget: ops, maxStaged: ops, idleCoordinatorMs: 600_000 });
  for (let t = 0; t < targets; t++) arbiter.submit({ target: `a${t}`, execute: trivialExecute });
  await arbiter.onIdle();
  const before = arbiter.metrics().completed;
  let elapsedMs = 0;
  let i = 0;
  while (i < ops) {
    const t0 = performance.now();
    for (let t = 0; t < targets && i < ops; ) {
      for (let k = 0; k < batch && t < targets && i < ops; k++, t++, i++) {
        arbiter.submit({ target: `a${t}`, priority: pick(random, MIXED_PRIORITIES), execute: trivialExecute });
      }
      await yieldToLoop();
    }
    const submitted = performance.now();
    await arbiter.onIdle();
    const settled = performance.now();
    elapsedMs += submitted - t0 + Math.max(0, settled - submitted - windowMs);
  }
  const m = arbiter.metrics();
  await arbiter.stop();
  const completed = m.completed - before;
  if (completed !== ops || m.rejected !== 0) throw new Error(`every operation was to win alone: ${completed} of ${ops} completed, ${m.rejected} rejected`);
  return { ops, kind: 'alone', targets, usPerOp: (elapsedMs * 1000) / ops, completed };
}

/** What {@link footprint} measured, in bytes. */
export interface FootprintRun {
  readonly ops: number;
  readonly targets: number;
  readonly bytesPerOperation: number;
  readonly bytesPerTarget: number;
}

/**
 * Heap held by live work: `ops` operations staged on `targets` targets and left there (the window
 * never closes: a clock that never fires), settled heap after minus before. Divided per staged
 * operation, and per active target (with one operation per target, that is target + operation).
 */
export async function footprint(options: { ops: number; targets: number }): Promise<FootprintRun> {
  const { ops, targets } = options;
  const timers = new Set<number>();
  let next = 0;
  const clock = {
    setTimeout: () => {
      timers.add(++next);
      return next;
    },
    clearTimeout: (id: unknown) => void timers.delete(id as number),
    now: () => 0,
  };
  const arbiter = createArbiter({ windowMs: 100, maxStagedPerTarget: ops, maxStaged: ops, clock });
  const before = settledHeap();
  for (let i = 0; i < ops; i++) {
    arbiter.submit({ target: `t${i % targets}`, priority: Priority.NORMAL, execute: trivialExecute });
  }
  await yieldToLoop();
  const after = settledHeap();
  const m = arbiter.metrics();
  if (m.staged !== ops) throw new Error(`expected ${ops} staged, got ${m.staged}`);
  await arbiter.stop();
  return { ops, targets, bytesPerOperation: (after - before) / ops, bytesPerTarget: (after - before) / targets };
}
