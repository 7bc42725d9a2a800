/**
 * The `redis` group of `npm run bench`: arbiters in real forked processes, each with its own
 * `redisBackend()`, on one redis-server started for the run (loopback, no persistence). Every
 * operation is a full one: submit → staged → window closed in Redis → decision → winner executes
 * (at once) and releases its lease → final state. Every process spreads its operations over all
 * the targets at random (seeded), so windows mix the processes' candidates.
 *
 *   npx tsx bench/index.ts --only redis          # through the bench (writes bench/results.json)
 *   npx tsx bench/redis.ts                       # alone: prints the figures
 *   npx tsx bench/redis.ts --latency [--runs N] [--rate R] [--processes P]
 *                                                # only the rate run, with where its time went
 *
 * For a closer look: BENCH_REDIS_DUMP=/tmp/run writes every traced operation's timeline and each
 * process's long GC pauses as JSON; BENCH_REDIS_CHILD_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof'
 * passes Node flags to the forked processes.
 *
 * Figures: decided operations per second with 1, 2 and 4 processes (a burst of operations on
 * shared targets); Redis commands and round trips per operation (the backends' own counts:
 * script calls and other commands written, pipelines sent; and the Redis commands those scripts
 * ran, from `INFO commandstats`); p50/p99 submit → final at 2,000 ops/s offered across 2
 * processes (open loop, after a second of the same load not measured; latency from when the
 * schedule meant to submit each operation, so a submission made late by a busy event loop counts
 * its delay), with the CPU each process and redis-server used, and the same at a quarter of the
 * load. The rate run traces every operation (stage, window, close, decision, execute, release,
 * final) and prints each gap's p50/p99. Figures are what this machine measured at that moment.
 */
import { fork } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { readFileSync, writeFileSync } from 'node:fs';
import { monitorEventLoopDelay, performance, PerformanceObserver } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Redis } from 'ioredis';
import { createArbiter, type OperationHandle } from '../src/index.js';
import { redisBackend } from '../src/redis/index.js';
import { startRedisServer } from '../test/helpers/redis.js';
import type { CloseResult, StageResult } from '../src/redis/records.js';
import { seededRandom } from '../tools/random.js';
import type { Figure } from './figures.js';

/** A figure as bench/index.ts takes it (it adds the group and the command). */
export type RedisFigure = Omit<Figure, 'group' | 'command' | 'date'>;

interface Job {
  readonly url: string;
  readonly keyPrefix: string;
  readonly windowMs: number;
  readonly index: number;
  readonly processes: number;
  readonly targets: number;
  /**
   * A burst of `ops` at once, or `rate` ops/s for `durationMs`, after `warmupMs` of the same load
   * that is not measured.
   */
  readonly ops: number;
  readonly rate?: number;
  readonly durationMs?: number;
  readonly warmupMs?: number;
  /** Record each operation's timeline (see {@link OpTrace}). */
  readonly trace?: boolean;
}

/**
 * One operation's timeline in the rate run, wall-clock ms (this process's monotonic clock moved
 * to the epoch: comparable with Redis `TIME` on the same machine, to a fraction of a ms).
 */
interface OpTrace {
  /** When the open-loop schedule meant to submit it, and when `submit()` was called. */
  intended: number;
  submit: number;
  /** The backend asked to stage it; the first pipeline written after that; the stage reply. */
  stageCall?: number;
  stageSent?: number;
  stageReply?: number;
  /** Redis time left in its window at staging (ms). */
  closesInMs?: number;
  /** Close calls that carried it (an `early` one is answered "not yet"). */
  closeCalls: number;
  /** The close call whose reply decided it: called, first pipeline after, reply. */
  decideCall?: number;
  decideSent?: number;
  decideReply?: number;
  /** Its deciding window (Redis time), and whether this process closed it. */
  openedAt?: number;
  closedAt?: number;
  closedHere?: boolean;
  /** Windows that held it (its winner waited for a holder): it competed again. */
  held: number;
  outcome?: 'won' | 'lost' | 'other';
  /** `operation.won` / `operation.rejected` seen by this process. */
  delivered?: number;
  execStart?: number;
  execEnd?: number;
  releaseCall?: number;
  releaseReply?: number;
  final?: number;
  /** `completed`, or the rejection code. */
  end?: string;
}

/** What a process measured about itself during the rate run. */
interface ProcessStats {
  /** CPU time (user + system, ms) and wall time (ms) of the run. */
  cpuMs: number;
  /** Of which in the kernel (system time: socket writes and reads). */
  sysMs: number;
  wallMs: number;
  /** Event-loop delay (ms): p50, p99, max; GC pauses (ms): total and longest. */
  loopP50: number;
  loopP99: number;
  loopMax: number;
  gcMs: number;
  gcMaxMs: number;
  /** GC pauses of 5 ms or more: [start (wall ms), duration (ms)]. */
  gcLong: [number, number][];
  /** Pipelines: [written, answered, commands] (wall ms). */
  pipelines: [number, number, number][];
}

interface JobResult {
  /** Wall clock (ms since the epoch, sub-ms): the first submission and the last final state. */
  readonly firstSubmit: number;
  readonly lastFinal: number;
  readonly latencies: number[];
  readonly completed: number;
  readonly rejected: number;
  readonly commands: number;
  readonly roundTrips: number;
  readonly offeredSeconds: number;
  readonly traces?: OpTrace[];
  readonly process?: ProcessStats;
}

// Wall-clock ms with sub-ms resolution, comparable with Redis `TIME` on the same machine:
// `performance.timeOrigin` can be several ms off the system clock, so the offset is measured at
// a tick of `Date.now()`.
const wallOffset = (() => {
  const first = Date.now();
  let now = Date.now();
  while (now === first) now = Date.now();
  return now - performance.now();
})();
const wall = () => wallOffset + performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const noop = () => undefined;
const LOOP_RESOLUTION_MS = 10;
const IDLE_RESOLUTION_MS = 5;

// --- one process ------------------------------------------------------------------------------

async function runJob(job: Job, go: Promise<number>): Promise<JobResult> {
  // The traced run brings its own client (the `client` option) to see each pipeline written.
  const pipelines: [number, number, number][] = [];
  const client = job.trace ? tracedClient(job.url, pipelines) : undefined;
  const backend = redisBackend({
    ...(client ? { client } : { url: job.url }),
    keyPrefix: job.keyPrefix,
    leaseMs: 5000,
    processId: `bench-${job.index}`,
  });
  const arbiter = createArbiter({ windowMs: job.windowMs, backend, cleanup: { strategy: 'immediate' } });
  await arbiter.ready();
  // A service that exports its metrics loaded prom-client long ago; left to itself, the first
  // full histogram ring loads it in the middle of the run (a stall of over 100 ms under tsx).
  await arbiter.metricsText();
  const traces = job.trace ? new Map<string, OpTrace>() : undefined;
  if (traces) traceBackend(backend, traces, arbiter);
  process.send?.({ type: 'ready' });
  const at = await go;
  await sleep(Math.max(0, at - Date.now()));
  let before = { ...backend.stats };
  const latencies: number[] = [];
  const pending: Promise<void>[] = [];
  let completed = 0;
  let rejected = 0;
  let lastFinal = 0;
  const track = (h: OperationHandle<number>, start: number, trace: OpTrace | undefined) =>
    h.result
      .then(
        () => {
          completed++;
          if (trace) trace.end = 'completed';
        },
        (err: unknown) => {
          rejected++;
          if (trace) trace.end = String((err as { code?: unknown }).code);
        },
      )
      .finally(() => {
        const end = performance.now();
        // From when the schedule meant to submit it (no coordinated omission: a submission made
        // late by a busy event loop counts its delay).
        latencies.push(end - start);
        lastFinal = Math.max(lastFinal, wallOffset + end);
        if (trace) trace.final = wallOffset + end;
      });
  let n = 0;
  // The same operations on every run.
  const random = seededRandom(0x9e3779b9 ^ (job.index + 1));
  const submit = (intended: number) => {
    // Every process spreads its operations over all the targets, at random (seeded per
    // process), priorities 1..10: windows mix the processes' candidates.
    n++;
    const target = `t${Math.floor(random() * job.targets)}`;
    const priority = 1 + Math.floor(random() * 10);
    const submitted = performance.now();
    // The id is chosen here so that the trace exists before `submit()` stages the operation.
    const id = `op-${job.index}-${n}`;
    if (!measuring) {
      // Warm-up: the same load, not measured (JIT, coordinators created, connections warm).
      const h = arbiter.submit({ id, target, priority, execute: async () => 1 });
      pending.push(h.result.then(noop, noop));
      return;
    }
    const trace = traces ? traceOf(traces, id) : undefined;
    if (trace) {
      trace.intended = wallOffset + intended;
      trace.submit = wallOffset + submitted;
    }
    const execute = trace
      ? async () => {
          trace.execStart = wall();
          trace.execEnd = wall();
          return 1;
        }
      : async () => 1;
    const h = arbiter.submit({ id, target, priority, execute });
    pending.push(track(h, intended, trace));
  };
  // Its histogram holds the time between two ticks of a 10 ms timer: the delay is what exceeds 10 ms.
  const loop = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
  const gc = { total: 0, max: 0, long: [] as [number, number][] };
  const gcObserver = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      gc.total += e.duration;
      gc.max = Math.max(gc.max, e.duration);
      if (e.duration >= 5) gc.long.push([wallOffset + e.startTime, e.duration]);
    }
  });
  let measuring = false;
  let cpu0 = process.cpuUsage();
  let firstSubmit = wall();
  let tMeasured = performance.now();
  const measure = () => {
    measuring = true;
    before = { ...backend.stats };
    cpu0 = process.cpuUsage();
    firstSubmit = wall();
    tMeasured = performance.now();
    if (traces) {
      loop.enable();
      gcObserver.observe({ entryTypes: ['gc'] });
    }
  };
  if (job.rate === undefined) {
    measure();
    for (let i = 0; i < job.ops; i++) submit(performance.now());
  } else {
    // Open loop: operation i is due at t0 + i / rate; whatever is due is submitted at once.
    const t0 = performance.now();
    const every = 1000 / job.rate;
    const warm = Math.round((job.rate * (job.warmupMs ?? 0)) / 1000);
    const total = warm + Math.round((job.rate * (job.durationMs ?? 1000)) / 1000);
    if (warm === 0) measure();
    while (n < total) {
      const due = Math.min(total, Math.floor((performance.now() - t0) / every) + 1);
      while (n < due) {
        if (n === warm && !measuring) measure();
        submit(t0 + n * every);
      }
      await sleep(1);
    }
  }
  const offeredSeconds = (wall() - firstSubmit) / 1000;
  await Promise.all(pending);
  const wallMs = performance.now() - tMeasured;
  const cpu = process.cpuUsage(cpu0);
  loop.disable();
  gcObserver.disconnect();
  // The last winners' releases are sent at the end of this turn.
  await sleep(0);
  await backend.node.targets.flush();
  const stats = { commands: backend.stats.commands - before.commands, roundTrips: backend.stats.roundTrips - before.roundTrips };
  await arbiter.stop();
  client?.disconnect();
  const processStats: ProcessStats | undefined = traces
    ? {
        cpuMs: (cpu.user + cpu.system) / 1000,
        sysMs: cpu.system / 1000,
        wallMs,
        loopP50: Math.max(0, loop.percentile(50) / 1e6 - LOOP_RESOLUTION_MS),
        loopP99: Math.max(0, loop.percentile(99) / 1e6 - LOOP_RESOLUTION_MS),
        loopMax: Math.max(0, loop.max / 1e6 - LOOP_RESOLUTION_MS),
        gcMs: gc.total,
        gcMaxMs: gc.max,
        gcLong: gc.long,
        pipelines,
      }
    : undefined;
  if (traces) {
    // The pipeline that carried each call: the first one written after the call was made.
    const written = pipelines.map((p) => p[0]).sort((a, b) => a - b);
    const after = (t: number | undefined) => {
      if (t === undefined) return undefined;
      let lo = 0;
      let hi = written.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (written[mid]! < t) lo = mid + 1;
        else hi = mid;
      }
      return written[lo];
    };
    for (const t of traces.values()) {
      t.stageSent = after(t.stageCall);
      t.decideSent = after(t.decideCall);
    }
  }
  return {
    firstSubmit,
    lastFinal,
    latencies,
    completed,
    rejected,
    ...stats,
    offeredSeconds,
    ...(traces ? { traces: [...traces.values()], process: processStats } : {}),
  };
}

/** A client of our own whose pipelines note when they were written, answered, and their size. */
function tracedClient(url: string, log: [number, number, number][]): Redis {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 3 });
  client.on('error', () => undefined);
  const pipeline = client.pipeline.bind(client);
  client.pipeline = ((...args: Parameters<Redis['pipeline']>) => {
    const p = pipeline(...args);
    const exec = p.exec.bind(p);
    p.exec = ((...a: Parameters<typeof p.exec>) => {
      const written = wall();
      const size = p.length;
      const answered = exec(...a);
      void answered.then(
        () => log.push([written, wall(), size]),
        () => undefined,
      );
      return answered;
    }) as typeof p.exec;
    return p;
  }) as Redis['pipeline'];
  return client;
}

function traceOf(traces: Map<string, OpTrace>, id: string): OpTrace {
  let t = traces.get(id);
  if (!t) {
    t = { intended: NaN, submit: NaN, closeCalls: 0, held: 0 };
    traces.set(id, t);
  }
  return t;
}

/** Notes, per operation, when the backend's calls carrying it were made and answered. */
function traceBackend(backend: ReturnType<typeof redisBackend>, traces: Map<string, OpTrace>, arbiter: ReturnType<typeof createArbiter>): void {
  const targets = backend.node.targets;
  const stage = targets.stage.bind(targets);
  targets.stage = (target, settings, candidates) => {
    const at = wall();
    for (const c of candidates) {
      const t = traces.get(c.id);
      if (t) t.stageCall ??= at;
    }
    return stage(target, settings, candidates).then((r: StageResult) => {
      const now = wall();
      for (const c of r.candidates) {
        const t = traces.get(c.id);
        if (t && t.stageReply === undefined) {
          t.stageReply = now;
          t.closesInMs = r.closesInMs;
        }
      }
      return r;
    });
  };
  const close = targets.close.bind(targets);
  targets.close = (target, window, leaseMs, ids) => {
    const at = wall();
    for (const id of ids) {
      const t = traces.get(id);
      if (t) t.closeCalls++;
    }
    return close(target, window, leaseMs, ids).then((r: CloseResult) => {
      if (r.status === 'early') return r;
      const now = wall();
      for (const d of r.decisions.values()) {
        if (d.kind !== 'hold' || d.winner === undefined) continue;
        const t = traces.get(d.winner);
        if (t) t.held++;
      }
      for (const s of r.ids) {
        const t = traces.get(s.id);
        if (!t || s.state !== 'decided' || t.decideReply !== undefined) continue;
        t.decideCall = at;
        t.decideReply = now;
        if (s.outcome.kind !== 'unknown') {
          t.openedAt = s.outcome.decision.openedAt;
          t.closedAt = s.outcome.decision.closedAt;
          t.closedHere = s.outcome.decision.closedBy === backend.processId;
        }
      }
      return r;
    });
  };
  const release = targets.release.bind(targets);
  targets.release = (target, token, id) => {
    const t = traces.get(id);
    if (t) t.releaseCall = wall();
    return release(target, token, id).then((r) => {
      if (t) t.releaseReply = wall();
      return r;
    });
  };
  arbiter.events$.subscribe((e) => {
    if (e.type !== 'operation.won' && e.type !== 'operation.rejected') return;
    const t = traces.get(e.operationId);
    if (!t || t.delivered !== undefined) return;
    t.delivered = wall();
    t.outcome = e.type === 'operation.won' ? 'won' : e.code === 'lost-arbitration' ? 'lost' : 'other';
  });
}

// --- the parent -------------------------------------------------------------------------------

interface Scenario {
  readonly processes: number;
  readonly windowMs: number;
  readonly targets: number;
  /** Operations in all (a burst), or with `rate` (in all) for `durationMs` after `warmupMs` not measured. */
  readonly ops: number;
  readonly rate?: number;
  readonly durationMs?: number;
  readonly warmupMs?: number;
  /** Trace every operation (the rate run): the result gets a {@link Breakdown}. */
  readonly trace?: boolean;
}

/** Where the time of a traced run went: each gap's p50 and p99 (ms), and what used the CPU. */
interface Breakdown {
  readonly gaps: { readonly name: string; readonly n: number; readonly p50: number; readonly p99: number }[];
  /** How the operations ended: `completed` or a rejection code, and how many. */
  readonly ends: [string, number][];
  /** Latency (p50, p99) of the operations due in each half second of the run. */
  readonly timeline: { readonly p50: number; readonly p99: number }[];
  /** Share of operations whose deciding window the other process closed; close calls per operation; operations held a window. */
  readonly closedElsewhere: number;
  readonly closeCallsPerOp: number;
  readonly heldOps: number;
  /** CPU use during the run (% of one core): each process, redis-server, this process; the whole machine (% of all cores). */
  readonly cpu: { readonly processes: number[]; readonly processesSys: number[]; readonly redis: number; readonly parent: number; readonly machine: number; readonly cores: number };
  readonly loop: { readonly p50: number; readonly p99: number; readonly max: number; readonly gcMs: number; readonly gcMaxMs: number }[];
  readonly pipelines: { readonly count: number; readonly sizeP50: number; readonly sizeP99: number; readonly rttP50: number; readonly rttP99: number };
  /** Redis time per script call (µs), from `INFO commandstats`. */
  readonly usPerScript: number;
  /** How late (ms) a timer of the idle bench process fired during the run: p99 and max. */
  readonly idleLoop: { readonly p99: number; readonly max: number };
}

interface ScenarioResult {
  readonly ops: number;
  readonly completed: number;
  readonly decidedPerSec: number;
  readonly commandsPerOp: number;
  readonly roundTripsPerOp: number;
  readonly insidePerOp: number;
  readonly p50: number;
  readonly p99: number;
  readonly offeredPerSec: number;
  readonly breakdown?: Breakdown;
}

async function serverCommands(admin: Redis): Promise<number> {
  const info = await admin.info('commandstats');
  let inside = 0;
  for (const m of info.matchAll(/^cmdstat_([a-z|]+):calls=(\d+)/gm)) {
    const [, name, calls] = m;
    // What the scripts ran (and plain commands): not the scripts themselves, nor this bench's own.
    if (!/^(eval|evalsha|info|config|config\|resetstat|ping|subscribe|unsubscribe|client|client\|setinfo|select|hello|quit)$/.test(name!)) inside += Number(calls);
  }
  return inside;
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

/** CPU time (ms) used by redis-server so far (main thread and its background threads). */
async function redisCpuMs(admin: Redis): Promise<number> {
  const info = await admin.info('cpu');
  const read = (k: string) => Number(new RegExp(`^${k}:([\\d.]+)`, 'm').exec(info)?.[1] ?? NaN);
  return (read('used_cpu_user') + read('used_cpu_sys')) * 1000;
}

/** Busy and total jiffies of the whole machine (every core), from /proc/stat; undefined elsewhere. */
function machineJiffies(): { busy: number; total: number } | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
    const v = line.trim().split(/\s+/).slice(1).map(Number);
    const total = v.reduce((a, b) => a + b, 0);
    const idle = (v[3] ?? 0) + (v[4] ?? 0);
    return { busy: total - idle, total };
  } catch {
    return undefined;
  }
}

async function scriptMicros(admin: Redis): Promise<number> {
  const info = await admin.info('commandstats');
  let calls = 0;
  let usec = 0;
  for (const m of info.matchAll(/^cmdstat_(evalsha|eval):calls=(\d+),usec=(\d+)/gm)) {
    calls += Number(m[2]);
    usec += Number(m[3]);
  }
  return calls === 0 ? NaN : usec / calls;
}

function breakdownOf(results: readonly JobResult[], windowMs: number, usPerScript: number, cpu: Breakdown['cpu'], idleLoop: Breakdown['idleLoop']): Breakdown {
  const traces = results.flatMap((r) => r.traces ?? []);
  const gap = (name: string, f: (t: OpTrace) => number | undefined) => {
    const v = traces
      .map(f)
      .filter((x): x is number => x !== undefined && Number.isFinite(x))
      .sort((a, b) => a - b);
    return { name, n: v.length, p50: percentile(v, 50), p99: percentile(v, 99) };
  };
  const d = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined ? undefined : b - a);
  const gaps = [
    gap('schedule → submit() (load generator late)', (t) => d(t.intended, t.submit)),
    gap('submit() → stage call (coordinator, XState)', (t) => d(t.submit, t.stageCall)),
    gap('stage call → its pipeline written (batcher)', (t) => d(t.stageCall, t.stageSent)),
    gap('stage pipeline written → stage reply', (t) => d(t.stageSent, t.stageReply)),
    gap('window opened (Redis) − schedule', (t) => d(t.intended, t.openedAt)),
    gap(`window length in Redis − ${windowMs} ms (close ran late)`, (t) => (t.openedAt === undefined || t.closedAt === undefined ? undefined : t.closedAt - t.openedAt - windowMs)),
    gap('close due (stage reply + time left) → deciding close call', (t) => (t.stageReply === undefined || t.closesInMs === undefined ? undefined : d(t.stageReply + Math.max(0, t.closesInMs), t.decideCall))),
    gap('deciding close call → its pipeline written (batcher)', (t) => d(t.decideCall, t.decideSent)),
    gap('close pipeline written → close reply', (t) => d(t.decideSent, t.decideReply)),
    gap('window closed (Redis) → close reply', (t) => d(t.closedAt, t.decideReply)),
    gap('close reply → won/rejected (coordinator)', (t) => d(t.decideReply, t.delivered)),
    gap('won → execute starts', (t) => (t.outcome === 'won' ? d(t.delivered, t.execStart) : undefined)),
    gap('execute ends → final (winners)', (t) => (t.outcome === 'won' ? d(t.execEnd, t.final) : undefined)),
    gap('rejected → final (losers)', (t) => (t.outcome !== 'won' ? d(t.delivered, t.final) : undefined)),
    gap('execute ends → release call', (t) => d(t.execEnd, t.releaseCall)),
    gap('release call → release reply', (t) => d(t.releaseCall, t.releaseReply)),
    gap('schedule → window closed (Redis): waiting in the window', (t) => d(t.intended, t.closedAt)),
    gap('window closed (Redis) → final', (t) => d(t.closedAt, t.final)),
    gap('schedule → final (the latency)', (t) => d(t.intended, t.final)),
    gap('submit() → final', (t) => d(t.submit, t.final)),
  ];
  const pipes = results.flatMap((r) => r.process?.pipelines ?? []);
  const sizes = pipes.map((p) => p[2]).sort((a, b) => a - b);
  const rtts = pipes.map((p) => p[1] - p[0]).sort((a, b) => a - b);
  // Latency by when the operation was due (half-second slices): stalls show where they were.
  const t0 = Math.min(...traces.map((t) => t.intended));
  const slices: number[][] = [];
  for (const t of traces) {
    if (t.final === undefined) continue;
    (slices[Math.floor((t.intended - t0) / 500)] ??= []).push(t.final - t.intended);
  }
  const timeline = [...slices].map((v) => {
    const sorted = (v ?? []).sort((a, b) => a - b);
    return { p50: percentile(sorted, 50), p99: percentile(sorted, 99) };
  });
  const ends = new Map<string, number>();
  for (const t of traces) ends.set(t.end ?? '?', (ends.get(t.end ?? '?') ?? 0) + 1);
  return {
    gaps,
    ends: [...ends].sort((a, b) => b[1] - a[1]),
    timeline,
    closedElsewhere: traces.filter((t) => t.closedHere === false).length / Math.max(1, traces.length),
    closeCallsPerOp: traces.reduce((a, t) => a + t.closeCalls, 0) / Math.max(1, traces.length),
    heldOps: traces.filter((t) => t.held > 0).length,
    cpu,
    loop: results.map((r) => ({ p50: r.process?.loopP50 ?? NaN, p99: r.process?.loopP99 ?? NaN, max: r.process?.loopMax ?? NaN, gcMs: r.process?.gcMs ?? NaN, gcMaxMs: r.process?.gcMaxMs ?? NaN })),
    pipelines: { count: pipes.length, sizeP50: percentile(sizes, 50), sizeP99: percentile(sizes, 99), rttP50: percentile(rtts, 50), rttP99: percentile(rtts, 99) },
    usPerScript,
    idleLoop,
  };
}

/** The breakdown as lines of text. */
function describeBreakdown(b: Breakdown): string[] {
  const lines = b.gaps.map((g) => `    ${g.name.padEnd(62)} p50 ${fmt(g.p50, 1).padStart(7)}  p99 ${fmt(g.p99, 1).padStart(7)} ms  (${fmt(g.n)})`);
  lines.push(`    by half second (p50/p99 ms): ${b.timeline.map((x) => `${fmt(x.p50)}/${fmt(x.p99)}`).join('  ')}`);
  lines.push(`    ended: ${b.ends.map(([k, v]) => `${k} ${fmt(v)}`).join(', ')}`);
  lines.push(`    deciding window closed by the other process: ${fmt(b.closedElsewhere * 100, 0)}% of operations; close calls per operation ${fmt(b.closeCallsPerOp, 2)}; operations held a window: ${fmt(b.heldOps)}`);
  lines.push(
    `    CPU (% of one core): processes ${b.cpu.processes.map((c, i) => `${fmt(c, 0)} (system ${fmt(b.cpu.processesSys[i]!, 0)})`).join(', ')}; redis-server ${fmt(b.cpu.redis, 0)}; bench parent ${fmt(b.cpu.parent, 0)}; whole machine ${fmt(b.cpu.machine, 0)}% of ${b.cpu.cores} cores`,
  );
  lines.push(`    the idle bench process: its timers fired late by p99 ${fmt(b.idleLoop.p99, 1)} ms, at most ${fmt(b.idleLoop.max, 1)} ms`);
  for (const [i, l] of b.loop.entries()) lines.push(`    process ${i}: event-loop delay p50 ${fmt(l.p50, 1)} p99 ${fmt(l.p99, 1)} max ${fmt(l.max, 1)} ms; GC ${fmt(l.gcMs, 0)} ms in all, longest ${fmt(l.gcMaxMs, 1)} ms`);
  lines.push(
    `    pipelines: ${fmt(b.pipelines.count)}, commands each p50 ${fmt(b.pipelines.sizeP50)} p99 ${fmt(b.pipelines.sizeP99)}, written → answered p50 ${fmt(b.pipelines.rttP50, 1)} p99 ${fmt(b.pipelines.rttP99, 1)} ms; Redis ${fmt(b.usPerScript, 1)} µs per script call`,
  );
  return lines;
}

async function scenario(url: string, admin: Redis, name: string, s: Scenario): Promise<ScenarioResult> {
  const keyPrefix = `bench-${name}:`;
  const file = fileURLToPath(import.meta.url);
  const children = Array.from({ length: s.processes }, () => fork(file, ['--bench-redis-process'], { execArgv: ['--import', 'tsx', ...(process.env['BENCH_REDIS_CHILD_ARGS']?.split(' ').filter(Boolean) ?? [])], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
  const replies = children.map(
    (child) =>
      new Promise<Record<string, unknown>[]>((resolve, reject) => {
        const got: Record<string, unknown>[] = [];
        child.on('message', (m) => {
          got.push(m as Record<string, unknown>);
          if ((m as { type: string }).type === 'error') reject(new Error(String((m as { message: string }).message)));
          if ((m as { type: string }).type === 'done') resolve(got);
        });
        child.once('exit', (code) => reject(new Error(`bench process exited (${code})`)));
      }),
  );
  const ready = children.map((child) => new Promise<void>((resolve) => child.on('message', (m) => (m as { type: string }).type === 'ready' && resolve())));
  children.forEach((child, index) =>
    child.send({
      type: 'job',
      job: {
        url,
        keyPrefix,
        windowMs: s.windowMs,
        index,
        processes: s.processes,
        targets: s.targets,
        ops: Math.round(s.ops / s.processes),
        ...(s.rate !== undefined ? { rate: s.rate / s.processes, durationMs: s.durationMs, warmupMs: s.warmupMs } : {}),
        ...(s.trace ? { trace: true } : {}),
      } satisfies Job,
    }),
  );
  await Promise.all(ready);
  await admin.config('RESETSTAT');
  const at = Date.now() + 300;
  for (const child of children) child.send({ type: 'go', at });
  await sleep(Math.max(0, at - Date.now()));
  const redis0 = await redisCpuMs(admin);
  const machine0 = machineJiffies();
  const parent0 = process.cpuUsage();
  const wall0 = performance.now();
  // This process does nothing while the children run: how late its timers fire is what the
  // machine (other work, the children, redis-server) does to any process, whatever it runs.
  const idleLoop = monitorEventLoopDelay({ resolution: IDLE_RESOLUTION_MS });
  idleLoop.enable();
  const results = (await Promise.all(replies)).map((got) => got.find((m) => m['type'] === 'done')!['result'] as JobResult);
  idleLoop.disable();
  const wallMs = performance.now() - wall0;
  const parentCpu = process.cpuUsage(parent0);
  const machine1 = machineJiffies();
  const redisCpu = (await redisCpuMs(admin)) - redis0;
  const inside = await serverCommands(admin);
  // For a closer look: every operation's timeline and each process's long GC pauses, as JSON.
  const dump = process.env['BENCH_REDIS_DUMP'];
  if (dump && s.trace) writeFileSync(`${dump}-${name}.json`, JSON.stringify(results.map((r) => ({ traces: r.traces, process: { ...r.process, pipelines: undefined } }))));
  const ops = results.reduce((a, r) => a + r.latencies.length, 0);
  const first = Math.min(...results.map((r) => r.firstSubmit));
  const last = Math.max(...results.map((r) => r.lastFinal));
  const sorted = results.flatMap((r) => r.latencies).sort((a, b) => a - b);
  return {
    ops,
    completed: results.reduce((a, r) => a + r.completed, 0),
    decidedPerSec: ops / ((last - first) / 1000),
    commandsPerOp: results.reduce((a, r) => a + r.commands, 0) / ops,
    roundTripsPerOp: results.reduce((a, r) => a + r.roundTrips, 0) / ops,
    insidePerOp: inside / ops,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    offeredPerSec: ops / Math.max(...results.map((r) => r.offeredSeconds)),
    ...(s.trace
      ? {
          breakdown: breakdownOf(results, s.windowMs, await scriptMicros(admin), {
            processes: results.map((r) => (r.process ? (100 * r.process.cpuMs) / r.process.wallMs : NaN)),
            processesSys: results.map((r) => (r.process ? (100 * r.process.sysMs) / r.process.wallMs : NaN)),
            redis: (100 * redisCpu) / wallMs,
            parent: (100 * (parentCpu.user + parentCpu.system)) / 1000 / wallMs,
            machine: machine0 && machine1 ? (100 * (machine1.busy - machine0.busy)) / Math.max(1, machine1.total - machine0.total) : NaN,
            cores: availableParallelism(),
          }, { p99: Math.max(0, idleLoop.percentile(99) / 1e6 - IDLE_RESOLUTION_MS), max: Math.max(0, idleLoop.max / 1e6 - IDLE_RESOLUTION_MS) }),
        }
      : {}),
  };
}

const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

const RATE = 2_000;
/** A quarter of the load: what the protocol costs when the processes are less busy. */
const LIGHT_RATE = 500;
const LATENCY_WINDOW = 100;
const LATENCY_TARGETS = 200;
/** The rate run offers its load this long before it measures (not counted). */
const WARMUP_MS = 2000;

/** The rate run: 2,000 ops/s offered across 2 processes (other rates and counts to diagnose), every operation traced. */
async function latencyRun(url: string, admin: Redis, name: string, quick: boolean, log: (line: string) => void, rate = RATE, processes = 2): Promise<ScenarioResult> {
  const seconds = quick ? 2 : 5;
  log(`redis: ${fmt(rate)} ops/s offered for ${WARMUP_MS / 1000} s (warm-up, not measured) and ${seconds} s across ${processes} process${processes > 1 ? 'es' : ''} on ${LATENCY_TARGETS} targets, ${LATENCY_WINDOW} ms window …`);
  const l = await scenario(url, admin, name, {
    processes,
    windowMs: LATENCY_WINDOW,
    targets: LATENCY_TARGETS,
    ops: rate * seconds,
    rate,
    durationMs: seconds * 1000,
    warmupMs: WARMUP_MS,
    trace: true,
  });
  log(`  p50 ${fmt(l.p50, 1)} ms, p99 ${fmt(l.p99, 1)} ms (offered ${fmt(l.offeredPerSec)} ops/s)`);
  if (l.breakdown) for (const line of describeBreakdown(l.breakdown)) log(line);
  return l;
}

/** Runs the group on a redis-server of its own; `log` tells what is running. */
export async function run(options: { quick: boolean; log?: (line: string) => void }): Promise<RedisFigure[]> {
  const log = options.log ?? (() => undefined);
  const server = await startRedisServer();
  const admin = new Redis(server.url);
  const figures: RedisFigure[] = [];
  try {
    const version = /redis_version:(\S+)/.exec(await admin.info('server'))?.[1] ?? '?';
    const burstOps = options.quick ? 2_000 : 8_000;
    const burstWindow = 20;
    const burstTargets = 400;
    let two: ScenarioResult | undefined;
    for (const processes of [1, 2, 4]) {
      log(`redis: ${fmt(burstOps)} ops in a burst on ${burstTargets} shared targets, ${processes} process${processes > 1 ? 'es' : ''}, ${burstWindow} ms window …`);
      const r = await scenario(server.url, admin, `burst-${processes}`, { processes, windowMs: burstWindow, targets: burstTargets, ops: burstOps });
      if (processes === 2) two = r;
      figures.push({
        name: `Redis: decided ops/s, ${processes} process${processes > 1 ? 'es' : ''} on one Redis`,
        value: r.decidedPerSec,
        unit: 'ops/s',
        note: `${fmt(r.ops)} ops in a burst on ${burstTargets} shared targets (${fmt(r.completed)} winners), ${burstWindow} ms window, first submission to last final state; Redis ${version} on loopback, processes forked on the same 2 cores`,
      });
      log(`  ${fmt(r.decidedPerSec)} decided ops/s; ${fmt(r.commandsPerOp, 2)} commands/op, ${fmt(r.roundTripsPerOp, 3)} round trips/op`);
    }
    figures.push({
      name: 'Redis: commands sent per 1,000 operations (2 processes, burst)',
      value: two!.commandsPerOp * 1000,
      unit: 'commands',
      note: 'script calls (EVALSHA; one call carries every candidate of a target staged in one event-loop turn) and other commands the backends wrote',
    });
    figures.push({
      name: 'Redis: round trips per 1,000 operations (2 processes, burst)',
      value: two!.roundTripsPerOp * 1000,
      unit: 'round trips',
      note: 'pipelines sent by the backends (everything queued in one event-loop turn goes as one pipeline, written at the end of that turn)',
    });
    figures.push({
      name: 'Redis: commands run inside Redis per operation (2 processes, burst)',
      value: two!.insidePerOp,
      unit: 'commands/op',
      note: 'from INFO commandstats: the Redis commands the scripts ran (HSET, ZADD, …), per operation',
    });
    const l = await latencyRun(server.url, admin, 'latency', options.quick, log);
    const b = l.breakdown!;
    const cpuNote = `CPU (% of one core): processes ${b.cpu.processes.map((c) => fmt(c)).join(' and ')}, redis-server ${fmt(b.cpu.redis)}, this bench ${fmt(b.cpu.parent)}; the whole machine ${fmt(b.cpu.machine)}% busy (of ${b.cpu.cores} cores, other work included)`;
    figures.push({
      name: `Redis: p50 submit→final at ${fmt(RATE)} ops/s across 2 processes`,
      value: l.p50,
      unit: 'ms',
      note: `${fmt(l.ops)} ops on ${LATENCY_TARGETS} targets at random, ${LATENCY_WINDOW} ms window, after ${WARMUP_MS / 1000} s of the same load not measured; ${fmt(l.offeredPerSec)} ops/s actually offered; from when the open-loop schedule meant to submit each operation`,
    });
    figures.push({
      name: `Redis: p99 submit→final at ${fmt(RATE)} ops/s across 2 processes`,
      value: l.p99,
      unit: 'ms',
      target: `≤ ${LATENCY_WINDOW + 10} ms (windowMs + 10)`,
      met: l.p99 <= LATENCY_WINDOW + 10,
      note: `${fmt(l.commandsPerOp, 2)} commands/op, ${fmt(l.roundTripsPerOp, 3)} round trips/op at this load; ${cpuNote}`,
    });
    const gap = (name: string) => b.gaps.find((g) => g.name.startsWith(name))!;
    const waiting = gap('schedule → window closed');
    const after = gap('window closed (Redis) → final');
    figures.push({
      name: `Redis: p99 submission→window closed in Redis at ${fmt(RATE)} ops/s`,
      value: waiting.p99,
      unit: 'ms',
      note: `the window (${LATENCY_WINDOW} ms from its first candidate's staging) and how late its close reached Redis; p50 ${fmt(waiting.p50, 1)} ms`,
    });
    figures.push({
      name: `Redis: p99 window closed in Redis→final at ${fmt(RATE)} ops/s`,
      value: after.p99,
      unit: 'ms',
      note: `the close's reply read, the decision applied, the winner run, the final state; p50 ${fmt(after.p50, 1)} ms`,
    });
    figures.push({
      name: `Redis: p99 event-loop delay at ${fmt(RATE)} ops/s (the busier process)`,
      value: Math.max(...b.loop.map((x) => x.p99)),
      unit: 'ms',
      note: `max ${fmt(Math.max(...b.loop.map((x) => x.max)), 1)} ms; GC ${b.loop.map((x) => fmt(x.gcMs)).join(' and ')} ms in all (longest ${fmt(Math.max(...b.loop.map((x) => x.gcMaxMs)), 1)} ms)`,
    });
    figures.push({
      name: `Redis: CPU used at ${fmt(RATE)} ops/s (2 processes and redis-server)`,
      value: (b.cpu.processes.reduce((x, y) => x + y, 0) + b.cpu.redis) / b.cpu.cores,
      unit: '%',
      note: `share of the machine's ${b.cpu.cores} cores; ${cpuNote}`,
    });
    const light = await latencyRun(server.url, admin, 'latency-light', options.quick, log, LIGHT_RATE);
    const lb = light.breakdown!;
    figures.push({
      name: `Redis: p50 submit→final at ${fmt(LIGHT_RATE)} ops/s across 2 processes`,
      value: light.p50,
      unit: 'ms',
      note: `as at ${fmt(RATE)} ops/s, a quarter of the load: ${fmt(light.ops)} ops`,
    });
    figures.push({
      name: `Redis: p99 submit→final at ${fmt(LIGHT_RATE)} ops/s across 2 processes`,
      value: light.p99,
      unit: 'ms',
      note: `CPU (% of one core): processes ${lb.cpu.processes.map((c) => fmt(c)).join(' and ')}, redis-server ${fmt(lb.cpu.redis)}; the whole machine ${fmt(lb.cpu.machine)}% busy`,
    });
  } finally {
    admin.disconnect();
    await server.dispose();
  }
  return figures;
}

// Forked by scenario(): one process of a scenario.
if (process.argv.includes('--bench-redis-process')) {
  let go!: (at: number) => void;
  const started = new Promise<number>((resolve) => (go = resolve));
  process.on('message', (m: { type: string; job?: Job; at?: number }) => {
    if (m.type === 'go') go(m.at!);
    if (m.type !== 'job') return;
    runJob(m.job!, started).then(
      (result) => {
        process.send?.({ type: 'done', result }, () => process.disconnect());
      },
      (err: unknown) => {
        process.send?.({ type: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) }, () => process.disconnect());
      },
    );
  });
} else if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href && process.argv.includes('--latency')) {
  // Only the rate run, `--runs N` times (each on a fresh key prefix), with its breakdown;
  // `--rate R` and `--processes P` change the load (the figures are measured with the defaults).
  const arg = (name: string, fallback: number) => (process.argv.includes(name) ? Number(process.argv[process.argv.indexOf(name) + 1]) : fallback);
  const runs = arg('--runs', 1);
  const rate = arg('--rate', RATE);
  const processes = arg('--processes', 2);
  const server = await startRedisServer();
  const admin = new Redis(server.url);
  try {
    for (let i = 0; i < runs; i++) await latencyRun(server.url, admin, `latency-${i}`, process.argv.includes('--quick'), (line) => process.stdout.write(`${line}\n`), rate, processes);
  } finally {
    admin.disconnect();
    await server.dispose();
  }
} else if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  for (const f of await run({ quick: process.argv.includes('--quick'), log: (line) => process.stderr.write(`${line}\n`) })) {
    console.log(`${f.name}: ${fmt(f.value, f.unit === 'ops/s' ? 0 : 2)} ${f.unit}${f.target ? ` (target ${f.target}${f.met ? ', met' : ', NOT met'})` : ''}`);
  }
}
