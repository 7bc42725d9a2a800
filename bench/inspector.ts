/**
 * Inspector overhead: the burst throughput workload with no inspector, with the inspector
 * attached and no page, and with a connected WebSocket client. Runnable alone
 * (`npx tsx bench/inspector.ts [--quick]`) and part of `npm run bench` through `run()`.
 */
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { attachInspector, type InspectorServer } from '../inspector/index.js';
import { createArbiter, Priority, type Arbiter } from '../src/index.js';

/** How the arbiter is observed during a run. */
export type InspectorMode = 'none' | 'attached' | 'client';

/** One measured run. */
export interface InspectorRun {
  readonly mode: InspectorMode;
  readonly ops: number;
  readonly elapsedMs: number;
  readonly decidedPerSec: number;
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
  readonly client: number;
  /** `1 − mode / none`, as a fraction (0.1 = 10% slower). */
  readonly overheadAttached: number;
  readonly overheadClient: number;
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

/** Runs the workload once in `mode`. */
export async function inspectorRun(mode: InspectorMode, ops: number, targets = 100, seed = 1): Promise<InspectorRun> {
  let s = seed;
  const random = () => (s = (s * 16807) % 2147483647) / 2147483647;
  const arbiter: Arbiter = createArbiter({ windowMs: 20, maxStagedPerTarget: ops, maxStaged: ops });
  const server = mode === 'none' ? undefined : await attachInspector(arbiter);
  const client = mode === 'client' && server ? await connectClient(server) : undefined;
  if (client) await yieldToLoop();
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
  const m = arbiter.metrics();
  if (m.completed + m.rejected !== ops) throw new Error(`accounting broke in ${mode}: ${m.completed} + ${m.rejected} ≠ ${ops}`);
  const dropped = server?.stats().dropped ?? 0;
  client?.ws.close();
  await server?.close();
  await arbiter.stop();
  return {
    mode,
    ops,
    elapsedMs,
    decidedPerSec: ops / (elapsedMs / 1000),
    messages: client?.counts.messages ?? 0,
    bytes: client?.counts.bytes ?? 0,
    dropped,
  };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
};

/**
 * Measures the arbiter's throughput without an inspector, with one attached and no page, and
 * with a connected client, interleaving the modes over `rounds` rounds (after one warm-up round).
 *
 * @example
 * ```ts
 * const { overheadClient } = await measureInspectorOverhead({ ops: 20_000, rounds: 3 });
 * ```
 */
export async function measureInspectorOverhead(options: { ops?: number; rounds?: number } = {}): Promise<InspectorOverhead> {
  const ops = options.ops ?? 20_000;
  const rounds = options.rounds ?? 3;
  const modes: InspectorMode[] = ['none', 'attached', 'client'];
  for (const mode of modes) await inspectorRun(mode, Math.min(ops, 5000));
  const runs: InspectorRun[] = [];
  for (let r = 0; r < rounds; r++) {
    for (const mode of r % 2 ? [...modes].reverse() : modes) runs.push(await inspectorRun(mode, ops, 100, r + 1));
  }
  const by = (mode: InspectorMode) => median(runs.filter((x) => x.mode === mode).map((x) => x.decidedPerSec));
  const none = by('none');
  return {
    ops,
    rounds,
    none,
    attached: by('attached'),
    client: by('client'),
    overheadAttached: 1 - by('attached') / none,
    overheadClient: 1 - by('client') / none,
    runs,
  };
}

/** The figures for `npm run bench` (bench/index.ts). */
export async function run(options: { quick: boolean }): Promise<Array<{ name: string; value: number; unit: string; target?: string; met?: boolean; note?: string }>> {
  const o = await measureInspectorOverhead(options.quick ? { ops: 5000, rounds: 3 } : { ops: 20_000, rounds: 5 });
  const clientRuns = o.runs.filter((r) => r.mode === 'client');
  const note = `${o.ops} ops × ${o.rounds} rounds, median; client received ${Math.round(median(clientRuns.map((r) => r.messages)))} batches, ${Math.round(median(clientRuns.map((r) => r.dropped)))} entries dropped per run`;
  return [
    { name: 'inspector: none (decided ops/s)', value: o.none, unit: 'ops/s', note },
    { name: 'inspector: attached, no page', value: o.attached, unit: 'ops/s', note: `overhead ${(o.overheadAttached * 100).toFixed(1)}%` },
    { name: 'inspector: connected client', value: o.client, unit: 'ops/s', note: `overhead ${(o.overheadClient * 100).toFixed(1)}%` },
    { name: 'inspector overhead with a client', value: o.overheadClient * 100, unit: '%', target: '< 25%', met: o.overheadClient < 0.25 },
  ];
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const quick = process.argv.includes('--quick');
  const o = await measureInspectorOverhead(quick ? { ops: 5000, rounds: 3 } : { ops: 20_000, rounds: 5 });
  const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
  console.log(`inspector overhead (${o.ops} ops, median of ${o.rounds} rounds):`);
  console.log(`  no inspector        ${fmt(o.none)} ops/s`);
  console.log(`  attached, no page   ${fmt(o.attached)} ops/s  (${(o.overheadAttached * 100).toFixed(1)}%)`);
  console.log(`  connected client    ${fmt(o.client)} ops/s  (${(o.overheadClient * 100).toFixed(1)}%)`);
  const c = o.runs.filter((r) => r.mode === 'client');
  console.log(`  client runs: ${c.map((r) => `${r.messages} batches/${Math.round(r.bytes / 1024)} KiB/${r.dropped} dropped`).join(', ')}`);
}
