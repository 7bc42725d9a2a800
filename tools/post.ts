/**
 * The post-registration anti-pattern, kept only to be measured against the arbiter: every
 * operation is registered in the store first, conflicts are found afterwards by scanning the
 * registry, losers are marked rejected (zombies: they hold registry ids) and a cleanup worker
 * deletes them later. Same workload, same real operations and same ledger as `runStress`.
 */
import { GraceTracker } from './assessment.js';
import { buildWorld, MemorySampler, type OperationType, type TargetStatus } from './common.js';
import { DEFAULT_STRESS, driveBatches, executeTracked, finishReport, Ledger, targetLabels, type StressOptions, type StressReport } from './stress.js';
import { seededRandom } from './random.js';

interface RegisteredOperation {
  readonly recordId: string;
  readonly target: string;
  readonly type: OperationType;
  readonly priority: number;
  readonly seq: number;
  readonly label: string;
  status: 'pending' | 'executing' | 'completed' | 'rejected';
  code?: string;
  startedAt: number;
  abort?: AbortController;
}

interface OperationRecord {
  kind: 'operation';
  operationId: string;
  target: string;
  status: string;
}

const CLEANUP_EVERY_MS = 50;

/** Runs the stress workload the post-registration way. */
export async function runPostStress(input: Partial<StressOptions> = {}): Promise<StressReport> {
  const options: StressOptions = { ...DEFAULT_STRESS, ...input };
  if (options.clock !== 'real' || options.transientFailures > 0) {
    throw new Error('runPostStress() runs on the real clock without transient failures: `clock` and `transientFailures` are for runStress()');
  }
  const world = buildWorld(options.targets);
  const { store } = world;
  const ledger = new Ledger(world);
  const workRandom = seededRandom(options.seed ^ 0x5eed);
  const memory = new MemorySampler();
  const settledStart = memory.settled();
  memory.start();
  const labels = targetLabels(world);
  const grace = new GraceTracker(options.gracePeriodMs);
  // Operations not final yet, by record id.
  const ops = new Map<string, RegisteredOperation>();
  const holders = new Map<string, RegisteredOperation>();
  const pendingOn = new Map<string, number>();
  const winners = new Map<string, number>();
  let submitted = 0;
  let windows = 0;
  const outcome = { completed: 0, rejected: 0 };
  const rejectedByCode: Record<string, number> = {};
  let registered = 0;
  let liveRecords = 0;
  let peakRecords = 0;
  let zombies = 0;
  let cleanupOps = 0;
  let cleanupMs = 0;
  let detected = 0;
  let resolved = 0;
  const candidatesPerConflict: number[] = [];
  const resolutionMs: number[] = [];

  const setStatus = (op: RegisteredOperation, status: RegisteredOperation['status'], code?: string) => {
    if (op.status === 'pending') pendingOn.set(op.target, (pendingOn.get(op.target) ?? 1) - 1);
    op.status = status;
    if (store.has(op.recordId)) store.update<OperationRecord>(op.recordId, (d) => void (d.status = status));
    if (status === 'completed' || status === 'rejected') {
      ops.delete(op.recordId);
      grace.finished(op.recordId, code ?? status);
    }
    if (status === 'completed') outcome.completed++;
    if (status === 'rejected') {
      op.code = code;
      outcome.rejected++;
      rejectedByCode[code ?? 'rejected'] = (rejectedByCode[code ?? 'rejected'] ?? 0) + 1;
      zombies++;
    }
  };

  const start = (op: RegisteredOperation) => {
    const abort = new AbortController();
    op.abort = abort;
    op.startedAt = performance.now();
    winners.set(op.target, (winners.get(op.target) ?? 0) + 1);
    holders.set(op.target, op);
    setStatus(op, 'executing');
    executeTracked(ledger, op.target, op.type, op.label, abort.signal, options, workRandom).then(
      (r) => {
        if (holders.get(op.target) === op) holders.delete(op.target);
        if (op.status !== 'executing') return;
        ledger.committed(op.type, op.target, r.writes, r.ms);
        setStatus(op, 'completed');
      },
      () => {
        if (holders.get(op.target) === op) holders.delete(op.target);
        if (op.status === 'executing') setStatus(op, 'rejected', 'execution-failed');
      },
    );
  };

  // Conflict detection after registration: scan the registry for each target's pending records.
  const detect = () => {
    for (const target of world.targets) {
      const t0 = performance.now();
      const pending = store
        .query<OperationRecord>((e) => {
          const d = e.data as Partial<OperationRecord> | undefined;
          return d?.kind === 'operation' && d.target === target && d.status === 'pending';
        })
        .map((e) => ops.get(e.id)!)
        .filter((op) => op !== undefined);
      if (pending.length === 0) continue;
      windows++;
      let winner = pending[0]!;
      for (const op of pending) if (op.priority > winner.priority || (op.priority === winner.priority && op.seq < winner.seq)) winner = op;
      for (const op of pending) if (op !== winner) setStatus(op, 'rejected', 'lost-arbitration');
      const holder = holders.get(target);
      if (holder) {
        const now = performance.now();
        const age = now - holder.startedAt;
        grace.decision(now, [{ id: holder.recordId, effectivePriority: holder.priority, startedAt: holder.startedAt }], { effectivePriority: winner.priority });
        if (age >= options.gracePeriodMs && winner.priority > holder.priority) {
          holders.delete(target);
          grace.preempted(holder.recordId);
          setStatus(holder, 'rejected', 'preempted');
          holder.abort?.abort();
          start(winner);
        }
        // Otherwise the winner stays registered and pending until the next pass.
      } else {
        start(winner);
      }
      if (pending.length > 1) {
        detected++;
        resolved++;
        candidatesPerConflict.push(pending.length);
        resolutionMs.push(performance.now() - t0);
      }
    }
  };

  const cleanup = () => {
    const t0 = performance.now();
    const dead = store.query<OperationRecord>((e) => (e.data as Partial<OperationRecord> | undefined)?.kind === 'operation' && (e.data as OperationRecord).status === 'rejected');
    cleanupOps++;
    for (const e of dead) {
      store.delete(e.id);
      liveRecords--;
      cleanupOps++;
    }
    cleanupMs += performance.now() - t0;
  };

  const detector = setInterval(detect, options.windowMs);
  const cleaner = setInterval(cleanup, CLEANUP_EVERY_MS);
  const submittedAt = performance.now();
  await driveBatches(options, world.targets, {
    submit(target, priority, type, index) {
      const label = `${type}_${index}`;
      const rec = store.create<OperationRecord>({ kind: 'operation', operationId: label, target, status: 'pending' });
      submitted++;
      registered++;
      liveRecords++;
      if (liveRecords > peakRecords) peakRecords = liveRecords;
      pendingOn.set(target, (pendingOn.get(target) ?? 0) + 1);
      ops.set(rec.id, { recordId: rec.id, target, type, priority, seq: index, label, status: 'pending', startedAt: 0 });
    },
    busy: (target) => holders.has(target),
    progress() {
      const targets: TargetStatus[] = world.targets.map((t) => ({
        label: labels.get(t)!,
        staged: pendingOn.get(t) ?? 0,
        executing: ledger.executingOn(t),
        winners: winners.get(t) ?? 0,
      }));
      return { submitted, completed: outcome.completed, rejected: outcome.rejected, targets };
    },
  });
  // Grace: keep detecting until every registered operation is final.
  while (ops.size > 0) {
    await new Promise((r) => setTimeout(r, 5));
  }
  clearInterval(detector);
  clearInterval(cleaner);
  cleanup();
  const elapsedMs = performance.now() - submittedAt;
  const mem = memory.stop();
  const settledEnd = memory.settled();
  const inProgress = ops.size;
  const recordsLeft = store.query((e) => (e.data as Partial<OperationRecord> | undefined)?.kind === 'operation').length;
  const integrity = ledger.checks([
    { name: 'every conflict detected was resolved', ok: detected === resolved, detail: `${detected} detected, ${resolved} resolved` },
  ]);
  return finishReport('post', options, {
    submitted,
    completed: outcome.completed,
    rejected: outcome.rejected,
    inProgress,
    rejectedByCode,
    retried: 0,
    failedThenRetried: 0,
    recovered: 0,
    windows,
    detected,
    resolved,
    candidatesPerConflict,
    resolutionMs,
    ledger,
    grace: grace.figures(),
    registry: { registered, zombies, cleanupOps, cleanupMs, peakRecords, recordsLeft },
    memory: mem,
    heapSamples: memory.heapSamples(),
    settledHeap: { start: settledStart, end: settledEnd },
    winners,
    elapsedMs,
    integrity,
  });
}
