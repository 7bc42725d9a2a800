import { createArbiter } from '../src/index.js';
const N = Number(process.argv[2] ?? 30000), T = Number(process.argv[3] ?? 3);
for (let round = 0; round < 3; round++) {
const a = createArbiter({ windowMs: 100, maxStagedPerTarget: 1e6, maxStaged: 1e7 });
const t0 = performance.now();
let i = 0, seed = 1;
const rnd = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
const pr = [2, 5, 8, 10];
while (i < N) {
  const target = 't' + Math.floor(rnd() * T);
  const b = 3 + Math.floor(rnd() * 6);
  for (let k = 0; k < b && i < N; k++, i++) a.submit({ target, priority: pr[Math.floor(rnd() * 4)], execute: () => 1 });
}
const t1 = performance.now();
await a.drain();
const t2 = performance.now();
const m = a.metrics();
console.log(`N=${N} T=${T} submit ${(t1 - t0).toFixed(0)}ms total ${(t2 - t0).toFixed(0)}ms => ${(N / ((t2 - t0) / 1000)).toFixed(0)} ops/s; completed ${m.completed} rejected ${m.rejected}`);
await a.stop();
}
