// Run by memory.test.ts in a child `node --expose-gc --import tsx` process (ava's nodeArguments are
// global, so --expose-gc cannot be given to one test file). Pushes N operations through an arbiter
// with `immediate` cleanup on a SimulatedClock and prints one JSON line with heap figures.
import { SimulatedClock } from 'xstate';
import { createArbiter, Priority } from '../../src/index.js';

const N = Number(process.argv[2] ?? 1_000_000);
// TARGETS shapes the load when profiling (`node --cpu-prof ...`); the test uses the default. Each
// window gets a batch of 3–8 operations per target (bursts as in the throughput benchmark), from a seeded generator.
const TARGETS = Number(process.env.TARGETS ?? 50);
let seed = 42;
const batchSize = () => 3 + ((seed = (seed * 16807) % 2147483647) % 6);
const WINDOW_MS = 10;
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');

const clock = new SimulatedClock();
const arbiter = createArbiter({
  clock,
  random: () => 0.5,
  windowMs: WINDOW_MS,
  idleCoordinatorMs: 5 * WINDOW_MS,
  cleanup: { strategy: 'immediate' },
});
const priorities = [Priority.LOW, Priority.NORMAL, Priority.HIGH, Priority.CRITICAL];
const execute = () => 1;
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

let submitted = 0;
async function run(count: number): Promise<void> {
  const end = submitted + count;
  while (submitted < end) {
    for (let t = 0; t < TARGETS && submitted < end; t++) {
      const size = batchSize();
      for (let k = 0; k < size && submitted < end; k++, submitted++) {
        arbiter.submit({ target: `t${t}`, priority: priorities[(submitted * 7) % 4]!, execute });
      }
    }
    clock.increment(WINDOW_MS);
    await turn();
  }
  // Let the last windows close, the winners finish and idle coordinators stop.
  for (let i = 0; i < 10; i++) {
    clock.increment(WINDOW_MS);
    await turn();
  }
  await arbiter.onIdle();
}

async function settledHeap(): Promise<number> {
  let last = Infinity;
  for (let i = 0; i < 6; i++) {
    gc!();
    await turn();
    const used = process.memoryUsage().heapUsed;
    if (Math.abs(used - last) < 64 * 1024) return used;
    last = used;
  }
  return last;
}

const t0 = performance.now();
await run(Math.min(20_000, N));
const before = await settledHeap();
const t1 = performance.now();
const cpu0 = process.cpuUsage();
await run(N);
const cpu = process.cpuUsage(cpu0);
const t2 = performance.now();
const after = await settledHeap();
const m = arbiter.metrics();
await arbiter.stop();
console.log(
  JSON.stringify({
    operations: N,
    warmupMs: Math.round(t1 - t0),
    runMs: Math.round(t2 - t1),
    opsPerSec: Math.round(N / ((t2 - t1) / 1000)),
    cpuMs: Math.round((cpu.user + cpu.system) / 1000),
    heapBeforeMb: before / 2 ** 20,
    heapAfterMb: after / 2 ** 20,
    deltaMb: (after - before) / 2 ** 20,
    submitted: m.submitted,
    completed: m.completed,
    rejected: m.rejected,
    unaccounted: m.unaccounted,
    inFlight: m.inFlight,
    retained: m.retained,
    coordinators: m.coordinators,
  }),
);
