/**
 * `npm run bench`: the benchmarks. Writes `bench/results.json`, then the figures of `BENCHMARKS.md`
 * and `README.md` from it (`bench/figures.ts`). Figures are measurements of this machine at this
 * moment, not assertions.
 *
 *   npm run bench                         # everything (several minutes; 1,000,000 ops for memory)
 *   npm run bench -- --quick              # smaller sizes, for a smoke run
 *   npm run bench -- --only throughput,floor
 *
 * Groups: throughput, floor, latency, memory, scaling, fresh, footprint, redis (forked processes
 * on a redis-server of its own; see bench/redis.ts), and inspector, when bench/inspector.ts exists.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { updateDocs, type Figure } from './figures.js';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { Bench } from 'tinybench';
import { bareFloor, footprint, heapAfterMany, latencyAtLoad, burstWorkload, targetCost, type ThroughputRun } from './workloads.js';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const onlyArg = args.find((a) => a.startsWith('--only'));
const onlyValue = onlyArg?.includes('=') ? onlyArg.split('=')[1] : onlyArg ? args[args.indexOf(onlyArg) + 1] : undefined;
const only = onlyValue ? new Set(onlyValue.split(',')) : undefined;
const wants = (group: string) => !only || only.has(group);
const command = `npm run bench${quick ? ' -- --quick' : ''}${only ? `${quick ? '' : ' --'} --only ${[...only].join(',')}` : ''}`;

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const RESULTS = here('./results.json');

const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const mb = (bytes: number) => bytes / 1024 / 1024;
const log = (line: string) => process.stderr.write(`${line}\n`);


const figures: Figure[] = [];
const details: Record<string, unknown> = {};

/** Runs `fn` `iterations` times through tinybench (one warm-up run first), keeping each run's result. */
async function repeated<T>(name: string, iterations: number, fn: () => Promise<T>): Promise<{ runs: T[]; meanMs: number; minMs: number }> {
  const runs: T[] = [];
  let warm = true;
  const bench = new Bench({ iterations, time: 0, warmup: true, warmupIterations: 1, warmupTime: 0 });
  bench.add(name, async () => {
    const r = await fn();
    if (warm) warm = false;
    else runs.push(r);
  });
  await bench.run();
  const task = bench.getTask(name);
  const result = task?.result;
  if (!result || result.state !== 'completed') {
    throw new Error(`benchmark ${name} did not complete: ${result && 'error' in result ? String(result.error) : result?.state}`);
  }
  return { runs, meanMs: result.latency.mean, minMs: result.latency.min };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
};

const throughputRuns: Record<string, ThroughputRun[]> = {};

async function throughput(): Promise<void> {
  const workloads = quick
    ? [{ ops: 30_000, targets: 3 }, { ops: 30_000, targets: 1_000 }]
    : [{ ops: 30_000, targets: 3 }, { ops: 100_000, targets: 1_000 }];
  for (const w of workloads) {
    const key = `${w.ops}/${w.targets}`;
    log(`throughput: ${fmt(w.ops)} ops on ${fmt(w.targets)} targets, 100 ms window …`);
    const { runs } = await repeated(`burst ${key}`, quick ? 2 : 5, () => burstWorkload({ ...w, windowMs: 100 }));
    throughputRuns[key] = runs;
    const rate = median(runs.map((r) => r.decidedPerSec));
    const first = w.targets === 3;
    figures.push({
      group: 'throughput',
      name: `decided ops/s, ${fmt(w.ops)} ops / ${fmt(w.targets)} targets / 100 ms window`,
      value: rate,
      unit: 'ops/s',
      ...(first ? { target: '≥ 36,000', met: rate >= 36_000 } : {}),
      note: `median of ${runs.length} runs (${runs.map((r) => fmt(r.decidedPerSec)).join(', ')}); last run: ${fmt(runs.at(-1)!.completed)} completed, ${fmt(runs.at(-1)!.rejected)} rejected`,
      command,
    });
    log(`  ${fmt(rate)} decided ops/s`);
  }
  details['throughput'] = throughputRuns;
}

async function floor(): Promise<void> {
  const ops = 30_000;
  let arbiterRuns = throughputRuns[`${ops}/3`];
  if (!arbiterRuns) {
    log('floor: measuring the arbiter side first …');
    arbiterRuns = (await repeated('burst 30000/3', quick ? 2 : 5, () => burstWorkload({ ops, targets: 3, windowMs: 100 }))).runs;
  }
  const winners = Math.round(median(arbiterRuns.map((r) => r.completed)));
  log(`floor: ${fmt(ops)} bare operation actors (${winners} winners) …`);
  const { runs } = await repeated('bare floor', quick ? 2 : 5, () => bareFloor({ ops, winners }));
  const floorRate = median(runs.map((r) => r.perSec));
  const arbiterRate = median(arbiterRuns.map((r) => r.decidedPerSec));
  const ratio = floorRate / arbiterRate;
  figures.push({
    group: 'floor',
    name: `bare XState floor, ${fmt(ops)} operation actors`,
    value: floorRate,
    unit: 'ops/s',
    note: `createActor(operationMachine) + subscribe + start, admit, reject or win→complete, stop; ${winners} winners`,
    command,
  });
  figures.push({
    group: 'floor',
    name: 'overhead ratio (floor ops/s ÷ arbiter decided ops/s)',
    value: ratio,
    unit: '×',
    target: '≤ 2×',
    met: ratio <= 2,
    command,
  });
  details['floor'] = { runs, winners, floorRate, arbiterRate, ratio };
  log(`  floor ${fmt(floorRate)} ops/s, ratio ${fmt(ratio, 2)}×`);
}

async function latency(): Promise<void> {
  const durationMs = quick ? 1_500 : 4_000;
  const runs = [];
  for (const rate of [1_000, 10_000, 50_000]) {
    log(`latency: offering ${fmt(rate)} ops/s for ${durationMs} ms on 1,000 targets …`);
    const r = await latencyAtLoad({ rate, durationMs, targets: 1_000, windowMs: 100 });
    runs.push(r);
    const at10k = rate === 10_000;
    figures.push({
      group: 'latency',
      name: `p50 submit→final at ${fmt(rate)} ops/s offered`,
      value: r.p50,
      unit: 'ms',
      note: `${fmt(r.ops)} ops, ${fmt(r.offeredPerSec)} ops/s actually offered`,
      command,
    });
    figures.push({
      group: 'latency',
      name: `p99 submit→final at ${fmt(rate)} ops/s offered`,
      value: r.p99,
      unit: 'ms',
      ...(at10k ? { target: '≤ 105 ms (windowMs + 5)', met: r.p99 <= 105 } : {}),
      note: `max ${fmt(r.max, 1)} ms`,
      command,
    });
    log(`  p50 ${fmt(r.p50, 1)} ms, p99 ${fmt(r.p99, 1)} ms (offered ${fmt(r.offeredPerSec)} ops/s)`);
  }
  details['latency'] = runs;
}

async function memory(): Promise<void> {
  const ops = quick ? 200_000 : 1_000_000;
  log(`memory: ${fmt(ops)} operations on 1,000 targets, drained every 20,000 …`);
  const r = await heapAfterMany({
    ops,
    targets: 1_000,
    arbiter: { cleanup: { strategy: 'immediate' } },
    onProgress: (n) => {
      if (n % 100_000 === 0) log(`  ${fmt(n)} done, heap ${fmt(mb(process.memoryUsage().heapUsed), 1)} MB`);
    },
  });
  figures.push({
    group: 'memory',
    name: `heap growth after ${fmt(ops)} operations`,
    value: mb(r.growth),
    unit: 'MB',
    target: '≤ 50 MB',
    met: mb(r.growth) <= 50,
    note: `settled heap ${fmt(mb(r.heapBefore), 1)} → ${fmt(mb(r.heapAfter), 1)} MB, peak ${fmt(mb(r.heapPeak), 1)} MB; cleanup: immediate`,
    command,
  });
  details['memory'] = r;
  log(`  growth ${fmt(mb(r.growth), 1)} MB`);
}

async function scaling(): Promise<void> {
  const ops = quick ? 30_000 : 100_000;
  const runs = [];
  for (const targets of [1, 100, 10_000, 100_000]) {
    log(`scaling: ${fmt(ops)} ops on ${fmt(targets)} targets …`);
    const { runs: rs } = await repeated(`scaling ${targets}`, quick ? 1 : 3, () => burstWorkload({ ops, targets, windowMs: 100 }));
    const usPerOp = median(rs.map((r) => (r.elapsedMs * 1000) / r.ops));
    runs.push({ targets, usPerOp, runs: rs });
    figures.push({
      group: 'scaling',
      name: `cost per operation, ${fmt(targets)} targets`,
      value: usPerOp,
      unit: 'µs/op',
      note: `${fmt(ops)} ops, ${fmt(rs.at(-1)!.completed)} completed (windows that found a winner)`,
      command,
    });
    log(`  ${fmt(usPerOp, 1)} µs/op`);
  }
  const costs = runs.map((r) => r.usPerOp);
  const spread = Math.max(...costs) / Math.min(...costs);
  figures.push({
    group: 'scaling',
    name: 'cost per op, most ÷ least expensive target count',
    value: spread,
    unit: '×',
    target: 'flat (no quadratic term)',
    note: 'no quadratic term: 10,000 → 100,000 targets costs no more; with many targets each operation also pays for a share of a coordinator (an actor and its timers per target)',
    command,
  });
  details['scaling'] = runs;
}

const KIND_LABEL = { busy: 'on 100 busy targets', fresh: 'each on a new target', alone: 'each alone in its window on a running coordinator' } as const;

async function fresh(): Promise<void> {
  const sizes = quick ? [10_000] : [10_000, 100_000];
  const runs: Record<string, number[]> = {};
  // Alternated, so that drift of the machine during the group weighs on both kinds alike.
  for (let round = 0; round < (quick ? 1 : 3); round++) {
    for (const ops of sizes) {
      for (const kind of ['busy', 'fresh', 'alone'] as const) {
        log(`fresh targets: ${fmt(ops)} ops, ${KIND_LABEL[kind]} (round ${round + 1}) …`);
        const r = await targetCost({ ops, kind });
        (runs[`${kind} ${ops}`] ??= []).push(r.usPerOp);
        log(`  ${fmt(r.usPerOp, 1)} µs/op`);
      }
    }
  }
  for (const ops of sizes) {
    const busy = median(runs[`busy ${ops}`]!);
    const freshCost = median(runs[`fresh ${ops}`]!);
    figures.push({ group: 'fresh', name: `cost per operation, ${fmt(ops)} ops on 100 busy targets`, value: busy, unit: 'µs/op', note: `median of ${runs[`busy ${ops}`]!.length}`, command });
    figures.push({ group: 'fresh', name: `cost per operation, ${fmt(ops)} ops each on a fresh target`, value: freshCost, unit: 'µs/op', note: `median of ${runs[`fresh ${ops}`]!.length}; each pays for its target's coordinator (created, timed, stopped)`, command });
    const ratio = freshCost / busy;
    figures.push({ group: 'fresh', name: `fresh-target cost ÷ busy-target cost, ${fmt(ops)} ops`, value: ratio, unit: '×', target: '≤ 1.5×', met: ratio <= 1.5, command });
    const alone = median(runs[`alone ${ops}`]!);
    figures.push({
      group: 'fresh',
      name: `cost per operation, ${fmt(ops)} ops each alone in its window on a running coordinator`,
      value: alone,
      unit: 'µs/op',
      note: `median of ${runs[`alone ${ops}`]!.length}; a fresh operation without its coordinator's creation, timers and stop`,
      command,
    });
    figures.push({
      group: 'fresh',
      name: `alone-in-window cost ÷ busy-target cost, ${fmt(ops)} ops`,
      value: alone / busy,
      unit: '×',
      note: 'the fresh-target ratio if creating, timing and stopping a coordinator cost nothing',
      command,
    });
  }
  details['fresh'] = runs;
}

async function footprints(): Promise<void> {
  const cases = [
    { ops: 50_000, targets: 100 },
    { ops: 10_000, targets: 10_000 },
    { ops: 50_000, targets: 50_000 },
  ];
  const out = [];
  for (const c of cases) {
    log(`footprint: ${fmt(c.ops)} staged operations on ${fmt(c.targets)} targets …`);
    const r = await footprint(c);
    out.push(r);
    if (c.targets === 100) {
      const kib = r.bytesPerOperation / 1024;
      figures.push({ group: 'footprint', name: 'heap per staged operation (50,000 on 100 targets)', value: kib, unit: 'KiB', target: '≤ 3 KiB', met: kib <= 3, note: 'settled heap after minus before, per operation', command });
    } else {
      const kib = r.bytesPerTarget / 1024;
      figures.push({ group: 'footprint', name: `heap per active target with one staged operation (${fmt(c.targets)} targets)`, value: kib, unit: 'KiB', target: '≤ 6 KiB', met: kib <= 6, note: 'its coordinator, its operation and their share of the systems', command });
    }
    log(`  ${fmt(r.bytesPerOperation / 1024, 2)} KiB per operation, ${fmt(r.bytesPerTarget / 1024, 2)} KiB per target`);
  }
  details['footprint'] = out;
}

async function inspector(): Promise<void> {
  const path = here('./inspector.ts');
  if (!existsSync(path)) {
    log('inspector: bench/inspector.ts is not there yet, skipped');
    return;
  }
  const mod = (await import(path)) as { run?: (o: { quick: boolean }) => Promise<Array<Omit<Figure, 'command' | 'group'>>> };
  if (typeof mod.run !== 'function') {
    log('inspector: bench/inspector.ts exports no run(), skipped');
    return;
  }
  for (const f of await mod.run({ quick })) figures.push({ ...f, group: 'inspector', command });
}

async function redisGroup(): Promise<void> {
  const { run } = await import('./redis.js');
  for (const f of await run({ quick, log })) figures.push({ ...f, group: 'redis', command });
}

const groups: Array<[string, () => Promise<void>]> = [
  ['throughput', throughput],
  ['floor', floor],
  ['latency', latency],
  ['memory', memory],
  ['scaling', scaling],
  ['fresh', fresh],
  ['footprint', footprints],
  ['inspector', inspector],
  ['redis', redisGroup],
];
const GROUP_ORDER = groups.map(([name]) => name);
for (const [name, fn] of groups) if (wants(name)) await fn();

// With --only, the groups not run keep their last figures (each figure says the command and the
// date of its own run, so figures of different runs are never mistaken for one run).
const date = new Date().toISOString();
for (const f of figures) (f as { date?: string }).date = date;
if (only && existsSync(RESULTS)) {
  const previous = JSON.parse(readFileSync(RESULTS, 'utf8')) as { figures?: Figure[]; date?: string; details?: Record<string, unknown> };
  const kept = (previous.figures ?? []).filter((f) => !only.has(f.group)).map((f) => ({ ...f, date: f.date ?? previous.date }));
  // The details of the groups not run stay too.
  for (const [group, d] of Object.entries(previous.details ?? {})) if (!only.has(group) && !(group in details)) details[group] = d;
  figures.unshift(...kept);
  figures.sort((a, b) => GROUP_ORDER.indexOf(a.group) - GROUP_ORDER.indexOf(b.group));
}

const results = {
  command,
  date,
  node: process.version,
  cpus: os.cpus().length,
  cpuModel: os.cpus()[0]?.model,
  totalMemGb: os.totalmem() / 1024 ** 3,
  platform: os.platform(),
  release: os.release(),
  figures,
  details,
};
writeFileSync(RESULTS, `${JSON.stringify(results, null, 2)}\n`);
for (const path of updateDocs(results)) log(`figures updated: ${path}`);
for (const f of figures) {
  console.log(`${f.name}: ${f.unit === '×' ? fmt(f.value, 2) : fmt(f.value, f.unit === 'ops/s' ? 0 : 1)} ${f.unit}${f.target ? ` (target ${f.target}${f.met === undefined ? '' : f.met ? ', met' : ', NOT met'})` : ''}`);
}
