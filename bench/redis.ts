/**
 * Redis backend micro-benchmark: commands and round trips per operation, decided operations per
 * second and decision latency, for the protocol alone (stage → window closed at Redis time →
 * decision → winner releases at once; no arbiter core, no user `execute`).
 *
 *   npx tsx bench/redis.ts                       # starts its own redis-server (loopback)
 *   npx tsx bench/redis.ts --url redis://host:6379
 *
 * Client figures come from the batcher (commands written, pipelines sent); server figures from
 * `INFO commandstats` (script calls, and the Redis commands those scripts ran). Figures are what
 * this machine measured at that moment: on a shared 2-core machine they move from run to run.
 */
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { RedisNode, type RedisTargetPort } from '../src/redis/node.js';
import type { RedisDecision } from '../src/redis/messages.js';
import { startRedisServer, type TestRedisServer } from '../test/helpers/redis.js';

const args = process.argv.slice(2);
const urlArg = args.includes('--url') ? args[args.indexOf('--url') + 1] : undefined;
const log = (line: string) => process.stdout.write(`${line}\n`);
const fmt = (n: number, digits = 2) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

interface Driver {
  nodes: RedisNode[];
  clients: Redis[];
  /** Resolves with each operation's decision latency (ms) once all of them are decided. */
  submit(node: number, target: string, id: string, priority: number): Promise<number>;
}

async function driver(url: string, keyPrefix: string, processes: number, windowMs: number): Promise<Driver> {
  const clients: Redis[] = [];
  const nodes: RedisNode[] = [];
  const waiting = new Map<string, { start: number; resolve: (ms: number) => void }>();
  for (let i = 0; i < processes; i++) {
    const client = new Redis(url);
    clients.push(client);
    const node = new RedisNode({ client, keyPrefix, windowMs, whileExecuting: 'preempt', gracePeriodMs: 200, leaseMs: 5000 });
    await node.ready();
    nodes.push(node);
  }
  const settle = (id: string) => {
    const w = waiting.get(id);
    if (!w) return;
    waiting.delete(id);
    w.resolve(performance.now() - w.start);
  };
  const portFor = (node: RedisNode, target: string): RedisTargetPort => ({
    decided(d: RedisDecision) {
      const channel = node.open(target, portFor(node, target));
      if (d.kind === 'none') d.ids.forEach(settle);
      else {
        for (const l of d.losers) settle(l.candidate.id);
        if (d.kind === 'start' && channel.tokenOf(d.winner.id) !== undefined) {
          // The winner is this process's: it "executes" instantly and releases the target.
          channel.release(d.winner.id);
          settle(d.winner.id);
        }
      }
      // An idle target's channel goes, as a coordinator that stops when idle would dispose it.
      if (channel.stagedIds.length === 0) void channel.dispose();
    },
    preempt: (id) => settle(id),
    unavailable: (err) => {
      throw err;
    },
  });
  return {
    nodes,
    clients,
    submit(n, target, id, priority) {
      const node = nodes[n]!;
      return new Promise<number>((resolve) => {
        waiting.set(id, { start: performance.now(), resolve });
        void node.open(target, portFor(node, target)).stage({ id, type: 'op', priority, effectivePriority: priority });
      });
    },
  };
}

async function serverStats(admin: Redis): Promise<{ scripts: number; inside: number }> {
  const info = await admin.info('commandstats');
  let scripts = 0;
  let inside = 0;
  for (const m of info.matchAll(/^cmdstat_([a-z|]+):calls=(\d+)/gm)) {
    const [, name, calls] = m;
    if (name === 'evalsha' || name === 'eval') scripts += Number(calls);
    else if (!['info', 'config|resetstat', 'config', 'ping', 'subscribe', 'client|setinfo', 'client', 'select', 'hello'].includes(name!)) inside += Number(calls);
  }
  return { scripts, inside };
}

interface Row {
  name: string;
  ops: number;
  seconds: number;
  commandsPerOp: number;
  roundTripsPerOp: number;
  scriptsPerOp: number;
  insidePerOp: number;
  p50: number;
  p99: number;
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

async function scenario(
  url: string,
  admin: Redis,
  name: string,
  processes: number,
  windowMs: number,
  run: (d: Driver) => Promise<number[]>,
): Promise<Row> {
  const d = await driver(url, `bench-${name.replace(/\W+/g, '-')}:`, processes, windowMs);
  await admin.config('RESETSTAT');
  const before = d.nodes.map((n) => ({ ...n.targets.stats }));
  const t0 = performance.now();
  const latencies = await run(d);
  const seconds = (performance.now() - t0) / 1000;
  // The last winners' releases go out at the end of this turn; a PING on each connection answers
  // only after everything sent before it on that connection.
  await new Promise((r) => setImmediate(r));
  await Promise.all(d.nodes.map((n) => n.targets.flush()));
  await Promise.all(d.clients.map((c) => c.ping()));
  const server = await serverStats(admin);
  const commands = d.nodes.reduce((s, n, i) => s + n.targets.stats.commands - before[i]!.commands, 0);
  const roundTrips = d.nodes.reduce((s, n, i) => s + n.targets.stats.roundTrips - before[i]!.roundTrips, 0);
  for (const n of d.nodes) await n.dispose();
  for (const c of d.clients) c.disconnect();
  const ops = latencies.length;
  const sorted = [...latencies].sort((a, b) => a - b);
  return {
    name,
    ops,
    seconds,
    commandsPerOp: commands / ops,
    roundTripsPerOp: roundTrips / ops,
    scriptsPerOp: server.scripts / ops,
    insidePerOp: server.inside / ops,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
  };
}

/** `count` operations submitted in one burst, `perTarget` candidates on each target, spread over `processes`. */
function burst(count: number, perTarget: number, processes: number) {
  return (d: Driver) =>
    Promise.all(
      Array.from({ length: count }, (_, i) => d.submit(i % processes, `t${Math.floor(i / perTarget)}`, `op-${i}`, 1 + (i % 10))),
    );
}

let submittedIn = NaN;

/** Operations at a steady `rate` per second for `seconds`, on `targets` targets, spread over `processes`. */
function steady(rate: number, seconds: number, targets: number, processes: number) {
  return async (d: Driver) => {
    const all: Promise<number>[] = [];
    const total = rate * seconds;
    const start = performance.now();
    let i = 0;
    while (i < total) {
      const due = Math.floor(((performance.now() - start) / 1000) * rate);
      for (; i < Math.min(due, total); i++) all.push(d.submit(i % processes, `t${i % targets}`, `op-${i}`, 1 + (i % 10)));
      await new Promise((r) => setTimeout(r, 1));
    }
    submittedIn = (performance.now() - start) / 1000;
    return Promise.all(all);
  };
}

/** One operation at a time, on a fresh target each. */
function sequential(count: number) {
  return async (d: Driver) => {
    const out: number[] = [];
    for (let i = 0; i < count; i++) out.push(await d.submit(0, `seq${i}`, `op-${i}`, 5));
    return out;
  };
}

async function main(): Promise<void> {
  let server: TestRedisServer | undefined;
  let url = urlArg;
  if (!url) {
    server = await startRedisServer();
    url = server.url;
  }
  const admin = new Redis(url);
  const version = /redis_version:(\S+)/.exec(await admin.info('server'))?.[1];
  log(`Redis ${version} at ${url}${server ? ' (started by this benchmark, loopback, no persistence)' : ''}; node ${process.version}`);
  log('');
  const rows: Row[] = [];
  try {
    rows.push(await scenario(url, admin, 'sequential, 1 op per window (window 0 ms)', 1, 0, sequential(300)));
    rows.push(await scenario(url, admin, 'burst, 2000 targets x 1 op (window 20 ms)', 1, 20, burst(2000, 1, 1)));
    rows.push(await scenario(url, admin, 'burst, 400 targets x 5 ops (window 20 ms)', 1, 20, burst(2000, 5, 1)));
    rows.push(await scenario(url, admin, 'burst, 2 processes, 400 targets x 5 ops (window 20 ms)', 2, 20, burst(2000, 5, 2)));
    rows.push(await scenario(url, admin, 'steady 2000 ops/s for 3 s, 2 processes, 200 targets (window 20 ms)', 2, 20, steady(2000, 3, 200, 2)));
    log(`(the steady scenario took ${fmt(submittedIn)} s to submit its operations)`);
  } finally {
    admin.disconnect();
    await server?.dispose();
  }
  log('| scenario | ops | decided ops/s | commands/op | round trips/op | script calls/op (server) | Redis commands inside scripts/op | p50 ms | p99 ms |');
  log('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    log(
      `| ${r.name} | ${r.ops} | ${fmt(r.ops / r.seconds, 0)} | ${fmt(r.commandsPerOp)} | ${fmt(r.roundTripsPerOp, 3)} | ${fmt(r.scriptsPerOp)} | ${fmt(r.insidePerOp, 1)} | ${fmt(r.p50, 1)} | ${fmt(r.p99, 1)} |`,
    );
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
