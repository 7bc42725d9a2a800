/**
 * Inspector overhead: the throughput workload (batches of 3–8 operations per target, 100 targets)
 * with no inspector, with the inspector attached and no page, with the inspector's data path
 * recording and nothing converted (`recording`: where the overhead is made), and with a connected
 * WebSocket client; with `--page`, also with the real page open in headless Chromium (which shares
 * the machine's cores with the arbiter, so it measures the machine as much as the inspector).
 * The modes run in rounds, each round one run of each mode in a rotated order, after a forced
 * garbage collection before every run; each round's runs are compared with that round's run
 * without inspector (paired), and the figures are the medians of those paired overheads, every
 * round listed. `--fps` measures the page's frame rate instead (60 targets at 200 ops/s, a
 * coordinator selected). `--record` measures what `npm run bench` does for the inspector and puts
 * those figures (with this command) into `bench/results.json` in place of the previous inspector
 * figures, then rewrites the figures of README.md and BENCHMARKS.md; the other groups' figures are
 * kept. Runnable alone (`npx tsx bench/inspector.ts [--quick] [--rounds=N] [--page] [--fps]`) and
 * part of `npm run bench` through `run()`.
 */
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { loadavg } from 'node:os';
import { attachInspector, InspectorFeed, runLiveScenario, type InspectorServer } from '../inspector/index.js';
import { createArbiter, Priority, type Arbiter } from '../src/index.js';
import { gc } from './workloads.js';

/**
 * How the arbiter is observed during a run: not at all, by an inspector server without page, by
 * the inspector's data path recording what a page would get without converting or sending it
 * (`recording`: the `InspectorFeed` connected, never drained), by a WebSocket client connected to
 * the server (`client`: what a page costs the arbiter's process), or by the page in Chromium.
 */
export type InspectorMode = 'none' | 'attached' | 'recording' | 'client' | 'page';

/** One measured run. */
export interface InspectorRun {
  readonly mode: InspectorMode;
  readonly ops: number;
  readonly elapsedMs: number;
  readonly decidedPerSec: number;
  /** CPU time of this process per decided operation, in microseconds (steadier than wall time on a shared machine). */
  readonly cpuUsPerOp: number;
  /** Messages and bytes the client received (client mode). */
  readonly messages: number;
  readonly bytes: number;
  /** Inspection entries the inspector dropped because the page could not keep up. */
  readonly dropped: number;
}

/** The figures of {@link measureInspectorOverhead}. */
export interface InspectorOverhead {
  readonly ops: number;
  readonly rounds: number;
  /** Median decided ops/s per mode. */
  readonly none: number;
  readonly attached: number;
  readonly recording: number;
  readonly client: number;
  /** Median decided ops/s with the page open in Chromium (`page: true` only). */
  readonly page: number | undefined;
  /** Medians of the rounds' paired overheads, `1 − mode / none` in ops/s (0.1 = 10% slower). */
  readonly overheadAttached: number;
  readonly overheadRecording: number;
  readonly overheadClient: number;
  readonly overheadPage: number | undefined;
  /** Each round's overhead (ops/s) against that round's run without inspector: the spread. */
  readonly attachedRounds: readonly number[];
  readonly recordingRounds: readonly number[];
  readonly clientRounds: readonly number[];
  /** Median CPU time of this process per decided operation, in microseconds, without inspector, recording and with a client. */
  readonly cpuNone: number;
  readonly cpuRecording: number;
  readonly cpuClient: number;
  /** Medians of the rounds' paired CPU overheads, `cpu mode / cpu none − 1`: the extra CPU the watched arbiter costs. */
  readonly cpuOverheadRecording: number;
  readonly cpuOverheadClient: number;
  readonly cpuRecordingRounds: readonly number[];
  readonly cpuClientRounds: readonly number[];
  /** `1 − best client / best none` (ops/s): the least disturbed runs of each, on a shared machine. */
  readonly bestOverheadClient: number;
  /** The machine's 1-minute load average before the first and after the last run (it shares its 2 cores). */
  readonly load: readonly [number, number];
  readonly runs: readonly InspectorRun[];
}

const PRIORITIES = [Priority.LOW, Priority.NORMAL, Priority.HIGH, Priority.CRITICAL];
const trivial = () => 1;
const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

async function connectClient(server: InspectorServer): Promise<{ ws: WebSocket; counts: { messages: number; bytes: number } }> {
  const ws = new WebSocket(`ws://127.0.0.1:${server.port}/ws`);
  const counts = { messages: 0, bytes: 0 };
  // A browser parses in its own process: here the client only counts, so the figure is the
  // arbiter's cost of being watched, not the cost of a page sharing its thread.
  ws.on('message', (data: Buffer) => {
    counts.messages++;
    counts.bytes += data.length;
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return { ws, counts };
}

type PageHandle = { close(): Promise<void> };
let browserPromise: Promise<import('playwright-core').Browser> | undefined;

// The real page, in headless Chromium, connected and rendering.
async function openPage(server: InspectorServer): Promise<PageHandle> {
  if (!browserPromise) {
    const { launchBrowser } = await import('../test/helpers/browser.js');
    browserPromise = launchBrowser();
  }
  const page = await (await browserPromise).newPage({ viewport: { width: 1400, height: 900 } });
  await page.goto(server.url);
  await page.waitForSelector('#conn[data-state="open"]');
  return { close: () => page.close() };
}

/** Closes the browser `page` runs opened. */
export async function closeBrowser(): Promise<void> {
  const b = browserPromise;
  browserPromise = undefined;
  await (await b)?.close();
}

/** Runs the workload once in `mode`. */
export async function inspectorRun(mode: InspectorMode, ops: number, targets = 100, seed = 1): Promise<InspectorRun> {
  let s = seed;
  const random = () => (s = (s * 16807) % 2147483647) / 2147483647;
  const arbiter: Arbiter = createArbiter({ windowMs: 20, maxStagedPerTarget: ops, maxStaged: ops });
  const server = mode === 'none' || mode === 'recording' ? undefined : await attachInspector(arbiter);
  // The defaults a server gives its feed (bufferSize 2000, maxOperationsPerSec 200).
  const feed = mode === 'recording' ? new InspectorFeed(arbiter) : undefined;
  feed?.connect();
  const client = mode === 'client' && server ? await connectClient(server) : undefined;
  const page = mode === 'page' && server ? await openPage(server) : undefined;
  if (client || page) await yieldToLoop();
  // Each run starts on a collected heap: no run pays for the garbage of the one before it, nor for
  // that of starting the server.
  gc();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let i = 0;
  while (i < ops) {
    const target = `t${Math.floor(random() * targets)}`;
    const batch = 3 + Math.floor(random() * 6);
    for (let k = 0; k < batch && i < ops; k++, i++) {
      arbiter.submit({ target, priority: PRIORITIES[Math.floor(random() * 4)]!, execute: trivial });
    }
    await yieldToLoop();
  }
  await arbiter.drain();
  const elapsedMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const m = arbiter.metrics();
  if (m.completed + m.rejected !== ops) throw new Error(`accounting broke in ${mode}: ${m.completed} + ${m.rejected} ≠ ${ops}`);
  const dropped = server?.stats().dropped ?? feed?.dropped ?? 0;
  feed?.disconnect();
  client?.ws.close();
  await page?.close();
  await server?.close();
  await arbiter.stop();
  return {
    mode,
    ops,
    elapsedMs,
    decidedPerSec: ops / (elapsedMs / 1000),
    cpuUsPerOp: (cpu.user + cpu.system) / ops,
    messages: client?.counts.messages ?? 0,
    bytes: client?.counts.bytes ?? 0,
    dropped,
  };
}

const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n === 0 ? 0 : n % 2 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
};

/**
 * Measures the arbiter's throughput and CPU time without an inspector, with one attached and no
 * page, with the inspector's data path recording only, and with a connected client (and, with
 * `page: true`, with the page open in Chromium): one warm-up run of each mode, then `rounds`
 * rounds of one run per mode, the order rotated from round to round, each run on a collected
 * heap. Each round's runs are compared with that round's run without inspector (the machine's load
 * drifts between rounds; within a round it matters less); the overheads are the medians of those
 * paired figures.
 *
 * @example
 * ```ts
 * const { overheadClient, clientRounds } = await measureInspectorOverhead({ ops: 20_000, rounds: 11 });
 * ```
 */
export async function measureInspectorOverhead(options: { ops?: number; rounds?: number; page?: boolean } = {}): Promise<InspectorOverhead> {
  const ops = options.ops ?? 20_000;
  const rounds = options.rounds ?? 11;
  const modes: InspectorMode[] = options.page ? ['none', 'attached', 'recording', 'client', 'page'] : ['none', 'attached', 'recording', 'client'];
  const load0 = loadavg()[0] ?? 0;
  for (const mode of modes) await inspectorRun(mode, Math.min(ops, 5000));
  const runs: InspectorRun[] = [];
  const paired = new Map<InspectorMode, { rate: number[]; cpu: number[] }>(modes.map((m) => [m, { rate: [], cpu: [] }]));
  for (let r = 0; r < rounds; r++) {
    const order = modes.map((_, i) => modes[(i + r) % modes.length]!);
    const round: InspectorRun[] = [];
    for (const mode of order) round.push(await inspectorRun(mode, ops, 100, r + 1));
    runs.push(...round);
    const none = round.find((x) => x.mode === 'none')!;
    for (const x of round) {
      const p = paired.get(x.mode)!;
      p.rate.push(1 - x.decidedPerSec / none.decidedPerSec);
      p.cpu.push(x.cpuUsPerOp / none.cpuUsPerOp - 1);
    }
  }
  if (options.page) await closeBrowser();
  const by = (mode: InspectorMode) => median(runs.filter((x) => x.mode === mode).map((x) => x.decidedPerSec));
  const cpuBy = (mode: InspectorMode) => median(runs.filter((x) => x.mode === mode).map((x) => x.cpuUsPerOp));
  const best = (mode: InspectorMode) => Math.max(...runs.filter((x) => x.mode === mode).map((x) => x.decidedPerSec));
  const rate = (mode: InspectorMode) => paired.get(mode)?.rate ?? [];
  const cpu = (mode: InspectorMode) => paired.get(mode)?.cpu ?? [];
  return {
    ops,
    rounds,
    none: by('none'),
    attached: by('attached'),
    recording: by('recording'),
    client: by('client'),
    page: options.page ? by('page') : undefined,
    overheadAttached: median(rate('attached')),
    overheadRecording: median(rate('recording')),
    overheadClient: median(rate('client')),
    overheadPage: options.page ? median(rate('page')) : undefined,
    attachedRounds: rate('attached'),
    recordingRounds: rate('recording'),
    clientRounds: rate('client'),
    cpuNone: cpuBy('none'),
    cpuRecording: cpuBy('recording'),
    cpuClient: cpuBy('client'),
    cpuOverheadRecording: median(cpu('recording')),
    cpuOverheadClient: median(cpu('client')),
    cpuRecordingRounds: cpu('recording'),
    cpuClientRounds: cpu('client'),
    bestOverheadClient: 1 - best('client') / best('none'),
    load: [load0, loadavg()[0] ?? 0],
    runs,
  };
}

/** What {@link measureFrameRate} found. */
export interface PageFrameRate {
  readonly fps: number;
  readonly p95FrameMs: number;
  readonly longTaskMs: number;
  readonly probeMs: number;
  /** Operations the scenario submitted per second while the page was probed. */
  readonly submittedPerSec: number;
  /** The machine's 1-minute load average when the probe ended (it shares its 2 cores). */
  readonly load: number;
}

/**
 * The page's frame rate in headless Chromium (1400 × 900) while the live scenario runs `targets`
 * targets at `ratePerSec` and a coordinator is selected: a requestAnimationFrame probe, as in
 * `test/inspector/e2e-speed.test.ts`.
 *
 * @example
 * ```ts
 * const { fps } = await measureFrameRate({ targets: 60, ratePerSec: 200, probeMs: 5000 });
 * ```
 */
export async function measureFrameRate(options: { targets?: number; ratePerSec?: number; probeMs?: number } = {}): Promise<PageFrameRate> {
  const targets = options.targets ?? 60;
  const probeMs = options.probeMs ?? 5000;
  const { launchBrowser } = await import('../test/helpers/browser.js');
  const { probeFrameRate } = await import('../test/helpers/inspector-page.js');
  const live = await runLiveScenario({ durationMs: 0, targets, ratePerSec: options.ratePerSec ?? 200, log: () => undefined });
  const browser = await launchBrowser();
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    await page.goto(live.url);
    await page.waitForFunction((n) => new RegExp(`^${n} targets`).test(document.getElementById('tree-count')?.textContent ?? ''), targets, { timeout: 60_000 });
    const target = `account-${Math.min(7, targets)}`;
    await page.click(`#tree .node[data-kind="target"][data-target="${target}"]`);
    await page.waitForSelector('#chart svg g.sc-node.active');
    await page.waitForTimeout(2000);
    const before = live.arbiter.metrics().submitted;
    const probe = await probeFrameRate(page, probeMs);
    const submitted = live.arbiter.metrics().submitted - before;
    return { fps: probe.fps, p95FrameMs: probe.p95FrameMs, longTaskMs: probe.longTaskMs, probeMs: probe.elapsedMs, submittedPerSec: (submitted * 1000) / probe.elapsedMs, load: loadavg()[0] ?? 0 };
  } finally {
    await browser.close();
    await live.stop();
  }
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const list = (xs: readonly number[]) => xs.map(pct).join(', ');
const spread = (xs: readonly number[]) => `rounds ${list(xs)} (min ${pct(Math.min(...xs))}, max ${pct(Math.max(...xs))})`;

/** The figures for `npm run bench` (bench/index.ts). */
export async function run(options: { quick: boolean }): Promise<Array<{ name: string; value: number; unit: string; target?: string; met?: boolean; note?: string }>> {
  const o = await measureInspectorOverhead(options.quick ? { ops: 5000, rounds: 3 } : { ops: 20_000, rounds: 11 });
  const clientRuns = o.runs.filter((r) => r.mode === 'client');
  const load = `load average ${o.load[0].toFixed(1)} → ${o.load[1].toFixed(1)} on 2 cores`;
  const note = `${o.ops} ops × ${o.rounds} rounds (one run per mode each, order rotated, heap collected before each run), median; client received ${Math.round(median(clientRuns.map((r) => r.messages)))} batches, ${Math.round(median(clientRuns.map((r) => r.dropped)))} entries dropped per run; ${load}`;
  return [
    { name: 'inspector: none (decided ops/s)', value: o.none, unit: 'ops/s', note },
    { name: 'inspector: attached, no page', value: o.attached, unit: 'ops/s', note: `paired overhead ${pct(o.overheadAttached)} (median; ${spread(o.attachedRounds)})` },
    { name: 'inspector: recording only, nothing converted', value: o.recording, unit: 'ops/s', note: `paired overhead ${pct(o.overheadRecording)} (median; ${spread(o.recordingRounds)}); CPU ${pct(o.cpuOverheadRecording)} (rounds ${list(o.cpuRecordingRounds)})` },
    { name: 'inspector: connected client', value: o.client, unit: 'ops/s', note: `${pct(1 - o.client / o.none)} below the median without inspector` },
    { name: 'inspector overhead with a client', value: o.overheadClient * 100, unit: '%', target: '≤ 20%', met: o.overheadClient <= 0.2, note: `median of the rounds' paired overheads: ${spread(o.clientRounds)}; ${load}` },
    { name: 'inspector CPU overhead with a client', value: o.cpuOverheadClient * 100, unit: '%', note: `median of the rounds' paired CPU overheads (rounds ${list(o.cpuClientRounds)}); CPU per decided operation ${o.cpuNone.toFixed(1)} → ${o.cpuRecording.toFixed(1)} recording → ${o.cpuClient.toFixed(1)} µs with a client (medians); best run of each: ${pct(o.bestOverheadClient)} slower` },
    ...(await frameRateFigures(options.quick ? 3000 : 5000)),
  ];
}

async function frameRateFigures(probeMs: number) {
  const f = await measureFrameRate({ probeMs });
  return [
    {
      name: 'inspector page frame rate, 60 targets at 200 ops/s, coordinator selected',
      value: f.fps,
      unit: 'fps',
      target: '≥ 45 fps',
      met: f.fps >= 45,
      note: `headless Chromium 1400×900, rAF probe ${Math.round(f.probeMs)} ms; ${Math.round(f.submittedPerSec)} ops/s actually submitted; p95 frame ${f.p95FrameMs.toFixed(1)} ms; long tasks ${Math.round(f.longTaskMs)} ms; load average ${f.load.toFixed(1)}`,
    },
  ];
}

const standalone = process.argv[1] === fileURLToPath(import.meta.url);

if (standalone && process.argv.includes('--record')) {
  const { readResults, updateDocs, RESULTS } = await import('./figures.js');
  const { writeFileSync } = await import('node:fs');
  const results = readResults();
  const figures = (await run({ quick: false })).map((f) => ({ ...f, group: 'inspector', command: 'npx tsx bench/inspector.ts --record' }));
  const kept = results.figures.filter((f) => f.group !== 'inspector');
  const next = { ...results, figures: [...kept, ...figures] };
  writeFileSync(RESULTS, `${JSON.stringify(next, null, 2)}\n`);
  for (const path of updateDocs(next)) console.log(`figures updated: ${path}`);
  for (const f of figures) console.log(`${f.name}: ${f.value.toFixed(1)} ${f.unit}${f.note ? ` (${f.note})` : ''}`);
}

if (standalone && !process.argv.includes('--fps') && !process.argv.includes('--record')) {
  const quick = process.argv.includes('--quick');
  const page = process.argv.includes('--page');
  const rounds = Number(process.argv.find((a) => a.startsWith('--rounds='))?.slice(9) ?? (quick ? 3 : 11));
  const o = await measureInspectorOverhead({ ops: quick ? 5000 : 20_000, rounds, page });
  const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
  console.log(`inspector overhead (${o.ops} ops, ${o.rounds} rounds; overheads are medians of each round against that round's run without inspector):`);
  console.log(`  no inspector        ${fmt(o.none)} ops/s`);
  console.log(`  attached, no page   ${fmt(o.attached)} ops/s  (${pct(o.overheadAttached)}; ${spread(o.attachedRounds)})`);
  console.log(`  recording only      ${fmt(o.recording)} ops/s  (${pct(o.overheadRecording)}; ${spread(o.recordingRounds)})`);
  console.log(`  connected client    ${fmt(o.client)} ops/s  (${pct(o.overheadClient)}; ${spread(o.clientRounds)})`);
  if (o.page !== undefined) console.log(`  page in Chromium    ${fmt(o.page)} ops/s  (${pct(o.overheadPage!)})`);
  console.log(`  CPU per operation   ${o.cpuNone.toFixed(1)} µs → ${o.cpuRecording.toFixed(1)} µs recording (${pct(o.cpuOverheadRecording)}) → ${o.cpuClient.toFixed(1)} µs with a client (${pct(o.cpuOverheadClient)}; rounds ${list(o.cpuClientRounds)})`);
  console.log(`  best run of each    ${pct(o.bestOverheadClient)} slower with a client`);
  console.log(`  (load average ${o.load[0].toFixed(1)} before, ${o.load[1].toFixed(1)} after)`);
  const c = o.runs.filter((r) => r.mode === 'client');
  console.log(`  client runs: ${c.map((r) => `${r.messages} batches/${Math.round(r.bytes / 1024)} KiB/${r.dropped} dropped`).join(', ')}`);
}

if (standalone && process.argv.includes('--fps')) {
  const f = await measureFrameRate({ probeMs: Number(process.env['INSPECTOR_FPS_MS'] ?? 5000) });
  console.log(`page frame rate: ${f.fps.toFixed(1)} fps (p95 frame ${f.p95FrameMs.toFixed(1)} ms, long tasks ${Math.round(f.longTaskMs)} ms, ${Math.round(f.submittedPerSec)} ops/s submitted, load average ${f.load.toFixed(1)})`);
}
