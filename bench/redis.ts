/**
 * The `redis` group of `npm run bench`: arbiters in real forked processes, each with its own
 * `redisBackend()`, on one redis-server started for the run (loopback, no persistence). Every
 * operation is a full one: submit → staged → window closed in Redis → decision → winner executes
 * (at once) and releases its lease → final state.
 *
 *   npx tsx bench/index.ts --only redis          # through the bench (writes bench/results.json)
 *   npx tsx bench/redis.ts                       # alone: prints the figures
 *
 * Figures: decided operations per second with 1, 2 and 4 processes (a burst of operations on
 * shared targets); Redis commands and round trips per operation (the backends' own counts:
 * script calls and other commands written, pipelines sent; and the Redis commands those scripts
 * ran, from `INFO commandstats`); p50/p99 submit → final at 2,000 ops/s offered across 2
 * processes. Figures are what this machine measured at that moment.
 */
import { fork } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Redis } from 'ioredis';
import { createArbiter, type OperationHandle } from '../src/index.js';
import { redisBackend } from '../src/redis/index.js';
import { startRedisServer } from '../test/helpers/redis.js';
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
  /** A burst of `ops` at once, or `rate` ops/s for `durationMs`. */
  readonly ops: number;
  readonly rate?: number;
  readonly durationMs?: number;
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
}

const wall = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// --- one process ------------------------------------------------------------------------------

async function runJob(job: Job, go: Promise<number>): Promise<JobResult> {
  const backend = redisBackend({ url: job.url, keyPrefix: job.keyPrefix, leaseMs: 5000, processId: `bench-${job.index}` });
  const arbiter = createArbiter({ windowMs: job.windowMs, backend, cleanup: { strategy: 'immediate' } });
  await arbiter.ready();
  process.send?.({ type: 'ready' });
  const at = await go;
  await sleep(Math.max(0, at - Date.now()));
  const before = { ...backend.stats };
  const latencies: number[] = [];
  const pending: Promise<void>[] = [];
  let completed = 0;
  let rejected = 0;
  let lastFinal = 0;
  const track = (h: OperationHandle<number>, start: number) =>
    h.result.then(
      () => void completed++,
      () => void rejected++,
    ).finally(() => {
      const end = performance.now();
      latencies.push(end - start);
      lastFinal = Math.max(lastFinal, performance.timeOrigin + end);
    });
  let n = 0;
  const submit = () => {
    // Every process spreads its operations over the same targets, priorities 1..10.
    const k = n++ * job.processes + job.index;
    const start = performance.now();
    pending.push(track(arbiter.submit({ target: `t${k % job.targets}`, priority: 1 + (k % 10), execute: async () => 1 }), start));
  };
  const firstSubmit = wall();
  if (job.rate === undefined) {
    for (let i = 0; i < job.ops; i++) submit();
  } else {
    const t0 = performance.now();
    const total = Math.round((job.rate * (job.durationMs ?? 1000)) / 1000);
    while (n < total) {
      const due = Math.min(total, Math.floor(((performance.now() - t0) * job.rate) / 1000));
      while (n < due) submit();
      await sleep(1);
    }
  }
  const offeredSeconds = (wall() - firstSubmit) / 1000;
  await Promise.all(pending);
  // The last winners' releases are sent at the end of this turn.
  await sleep(0);
  await backend.node.targets.flush();
  const stats = { commands: backend.stats.commands - before.commands, roundTrips: backend.stats.roundTrips - before.roundTrips };
  await arbiter.stop();
  return { firstSubmit, lastFinal, latencies, completed, rejected, ...stats, offeredSeconds };
}

// --- the parent -------------------------------------------------------------------------------

interface Scenario {
  readonly processes: number;
  readonly windowMs: number;
  readonly targets: number;
  /** Operations in all (a burst), or with `rate` (in all) for `durationMs`. */
  readonly ops: number;
  readonly rate?: number;
  readonly durationMs?: number;
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

async function scenario(url: string, admin: Redis, name: string, s: Scenario): Promise<ScenarioResult> {
  const keyPrefix = `bench-${name}:`;
  const file = fileURLToPath(import.meta.url);
  const children = Array.from({ length: s.processes }, () => fork(file, ['--bench-redis-process'], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
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
        ...(s.rate !== undefined ? { rate: s.rate / s.processes, durationMs: s.durationMs } : {}),
      } satisfies Job,
    }),
  );
  await Promise.all(ready);
  await admin.config('RESETSTAT');
  const at = Date.now() + 300;
  for (const child of children) child.send({ type: 'go', at });
  const results = (await Promise.all(replies)).map((got) => got.find((m) => m['type'] === 'done')!['result'] as JobResult);
  const inside = await serverCommands(admin);
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
  };
}

const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

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
      note: 'pipelines sent by the backends (everything queued in one event-loop turn, and while one pipeline is on its way, goes as one pipeline)',
    });
    figures.push({
      name: 'Redis: commands run inside Redis per operation (2 processes, burst)',
      value: two!.insidePerOp,
      unit: 'commands/op',
      note: 'from INFO commandstats: the Redis commands the scripts ran (HSET, ZADD, …), per operation',
    });
    const rate = 2_000;
    const latencyWindow = 100;
    const seconds = options.quick ? 2 : 5;
    log(`redis: ${fmt(rate)} ops/s offered for ${seconds} s across 2 processes on 200 targets, ${latencyWindow} ms window …`);
    const l = await scenario(server.url, admin, 'latency', { processes: 2, windowMs: latencyWindow, targets: 200, ops: rate * seconds, rate, durationMs: seconds * 1000 });
    figures.push({
      name: `Redis: p50 submit→final at ${fmt(rate)} ops/s across 2 processes`,
      value: l.p50,
      unit: 'ms',
      note: `${fmt(l.ops)} ops on 200 targets, ${latencyWindow} ms window, ${fmt(l.offeredPerSec)} ops/s actually offered`,
    });
    figures.push({
      name: `Redis: p99 submit→final at ${fmt(rate)} ops/s across 2 processes`,
      value: l.p99,
      unit: 'ms',
      target: `≤ ${latencyWindow + 10} ms (windowMs + 10)`,
      met: l.p99 <= latencyWindow + 10,
      note: `${fmt(l.commandsPerOp, 2)} commands/op, ${fmt(l.roundTripsPerOp, 3)} round trips/op at this load`,
    });
    log(`  p50 ${fmt(l.p50, 1)} ms, p99 ${fmt(l.p99, 1)} ms (offered ${fmt(l.offeredPerSec)} ops/s)`);
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
} else if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  for (const f of await run({ quick: process.argv.includes('--quick'), log: (line) => process.stderr.write(`${line}\n`) })) {
    console.log(`${f.name}: ${fmt(f.value, f.unit === 'ops/s' ? 0 : 2)} ${f.unit}${f.target ? ` (target ${f.target}${f.met ? ', met' : ', NOT met'})` : ''}`);
  }
}
