/**
 * `npm start`: a short conflict storm on the in-memory default, printing who won and why.
 * The live inspector is attached and its URL printed. In a terminal the storm waits up to
 * ARBITER_INSPECTOR_WAIT_MS (10 s) for a page to connect, and the inspector stays up
 * ARBITER_INSPECTOR_LINGER_MS (30 s) afterwards; elsewhere (CI, pipes) neither wait happens.
 * ARBITER_INSPECTOR=0 turns it off, ARBITER_INSPECTOR_PORT picks the port (default: a free one).
 */
import { attachInspector } from '../inspector/index.js';
import { createArbiter, Priority, type ArbiterEvent } from '../src/index.js';

const PRIORITY_NAMES = new Map<number, string>(Object.entries(Priority).map(([k, v]) => [v, k]));
const name = (p: number) => PRIORITY_NAMES.get(p) ?? `P${p}`;

const arbiter = createArbiter({ windowMs: 50, gracePeriodMs: 100 });
const interactive = process.stdout.isTTY === true && !process.env['CI'];
const envMs = (name: string, fallback: number) => {
  const v = Number(process.env[name]);
  return Number.isFinite(v) && v >= 0 ? v : fallback;
};
const inspector =
  process.env['ARBITER_INSPECTOR'] === '0'
    ? undefined
    : await attachInspector(arbiter, { port: envMs('ARBITER_INSPECTOR_PORT', 0) }).catch((err: unknown) => {
        console.log(`(inspector not started: ${err instanceof Error ? err.message : String(err)})`);
        return undefined;
      });
if (inspector) {
  console.log(`inspector: ${inspector.url}`);
  if (interactive) {
    const waitMs = envMs('ARBITER_INSPECTOR_WAIT_MS', 10_000);
    console.log(`(open it now: the storm starts when a page connects, or in ${Math.round(waitMs / 1000)} s)`);
    for (const start = Date.now(); inspector.stats().clients === 0 && Date.now() - start < waitMs; ) {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
const balances = new Map<string, number>([
  ['account-1', 100],
  ['account-2', 100],
  ['account-3', 100],
]);
const types = ['deposit', 'withdraw', 'audit', 'freeze'] as const;
const priorities = [Priority.LOW, Priority.NORMAL, Priority.HIGH, Priority.CRITICAL];

const short = (id: string) => id.slice(-6);
const submitted = new Map<string, { priority: number; seq: number; type: string }>();
arbiter.events$.subscribe((e: ArbiterEvent) => {
  if (e.type === 'operation.submitted') {
    submitted.set(e.operationId, { priority: e.effectivePriority, seq: e.seq, type: e.operationType });
  } else if (e.type === 'conflict.resolved') {
    const winner = e.winnerId ? submitted.get(e.winnerId) : undefined;
    const losers = e.loserIds.map((id) => submitted.get(id)).filter((x) => x !== undefined);
    const tied = winner ? losers.filter((l) => l.priority === winner.priority).length : 0;
    const why = !winner
      ? 'no winner'
      : tied > 0
        ? `highest priority ${name(winner.priority)}, tied with ${tied}: earliest submission wins`
        : `highest priority ${name(winner.priority)} over ${[...new Set(losers.map((l) => name(l.priority)))].join(', ')}`;
    console.log(
      `⚔  ${e.target}: ${e.candidateIds.length} candidates → winner ${e.winnerId ? short(e.winnerId) : 'nobody'}` +
        `${winner ? ` (${winner.type})` : ''} ${e.decision === 'start' ? 'runs' : e.decision === 'hold' ? 'waits for the busy target' : ''} — ${why}; ` +
        `${e.loserIds.length} rejected in ${(e.durationMs * 1000).toFixed(0)} µs`,
    );
  } else if (e.type === 'operation.rejected' && e.code !== 'lost-arbitration') {
    console.log(`   ✗ ${short(e.operationId)} on ${e.target}: ${e.code} — ${e.reason}`);
  } else if (e.type === 'operation.preempted') {
    console.log(`   ⤼ ${short(e.operationId)} preempted: ${e.reason}`);
  }
});

let seed = 42;
const random = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;

const handles = [];
for (let wave = 0; wave < 3; wave++) {
  for (const target of balances.keys()) {
    const size = 3 + Math.floor(random() * 6);
    for (let i = 0; i < size; i++) {
      const type = pick(types);
      const priority = pick(priorities);
      const amount = 10 + Math.floor(random() * 40);
      handles.push({
        type,
        priority,
        handle: arbiter.submit({
          target,
          type,
          priority,
          data: { amount },
          execute: async ({ signal }) => {
            await new Promise((r) => setTimeout(r, 5));
            if (signal.aborted) throw new Error('aborted');
            const before = balances.get(target)!;
            const after = type === 'deposit' ? before + amount : type === 'withdraw' ? before - amount : before;
            balances.set(target, after);
            return `${type} ${amount}: ${before} → ${after}`;
          },
        }),
      });
    }
  }
  await new Promise((r) => setTimeout(r, 120));
}

await arbiter.onIdle();
console.log('\nWinners:');
for (const { type, priority, handle } of handles) {
  const outcome = await handle.result.then(
    (v) => `✓ ${v}`,
    () => null,
  );
  if (outcome) console.log(`  ${handle.target} ${short(handle.id)} ${type.padEnd(8)} ${name(priority).padEnd(8)} ${outcome}`);
}
const m = arbiter.metrics();
console.log(
  `\nsubmitted ${m.submitted} = completed ${m.completed} + rejected ${m.rejected} + in flight ${m.inFlight}; ` +
    `${m.conflicts} conflicts; rejected by code: ${JSON.stringify(Object.fromEntries(Object.entries(m.rejectedByCode).filter(([, n]) => n > 0)))}`,
);
console.log('balances:', Object.fromEntries(balances));
if (inspector && interactive) {
  const lingerMs = envMs('ARBITER_INSPECTOR_LINGER_MS', 30_000);
  console.log(`\ninspector stays up ${Math.round(lingerMs / 1000)} s at ${inspector.url} (Ctrl-C to quit)`);
  await new Promise((r) => setTimeout(r, lingerMs));
}
await inspector?.close();
await arbiter.stop();
