// Four real processes (child_process.fork) sharing one Redis: one winner per target per window
// across all of them, never two executing on a target, and accounting summed over processes.
// What must hold across processes is recorded in Redis; nothing here asserts on timing.
import test from 'ava';
import { Redis } from 'ioredis';
import type { WhileExecuting } from '../../src/index.js';
import { recordKeys, startArbiterProcess, type ArbiterProcess, type Totals } from '../helpers/redis-process.js';
import { uniquePrefix, useRedisServer } from '../helpers/redis.js';

const redis = useRedisServer(test);
const PROCESSES = 4;

async function start(keyPrefix: string, options: { windowMs: number; whileExecuting: WhileExecuting; gracePeriodMs: number }): Promise<ArbiterProcess[]> {
  return Promise.all(
    Array.from({ length: PROCESSES }, (_, i) =>
      startArbiterProcess({ type: 'init', url: redis().url, keyPrefix, processId: `p${i}`, leaseMs: 2000, ...options }),
    ),
  );
}

function sum(all: Totals[]): Totals {
  const out: Totals = { submitted: 0, completed: 0, rejected: 0, inFlight: 0, rejectedByCode: {} };
  for (const t of all) {
    out.submitted += t.submitted;
    out.completed += t.completed;
    out.rejected += t.rejected;
    out.inFlight += t.inFlight;
    for (const [code, n] of Object.entries(t.rejectedByCode)) out.rejectedByCode[code] = (out.rejectedByCode[code] ?? 0) + n;
  }
  return out;
}

interface BurstResult {
  key: string;
  target: string;
  priority: number;
  id: string;
  outcome: string;
}

test.serial('4 processes, a synchronized burst on the same targets in one window: exactly one winner per target across all processes, the highest priority', async (t) => {
  t.timeout(180_000);
  const keyPrefix = uniquePrefix('burst');
  // A long window, so that four processes on a loaded machine all stage in it.
  const processes = await start(keyPrefix, { windowMs: 2500, whileExecuting: 'preempt', gracePeriodMs: 200 });
  try {
    const targets = ['acct-0', 'acct-1', 'acct-2', 'acct-3', 'acct-4'];
    const at = Date.now() + 1000;
    const replies = await Promise.all(
      processes.map((p, i) =>
        p.request<{ results: BurstResult[]; totals: Totals }>({
          type: 'burst',
          at,
          // Two operations per process per target, priorities 1..8 all different on a target;
          // which process holds the highest turns with the target.
          ops: targets.flatMap((target, k) => [0, 1].map((j) => ({ key: `p${i}-${target}-${j}`, target, priority: 1 + ((i + k) % PROCESSES) * 2 + j }))),
        }),
      ),
    );
    const all = replies.flatMap((r) => r.results);
    t.is(all.length, PROCESSES * targets.length * 2);
    for (const target of targets) {
      const on = all.filter((r) => r.target === target);
      const winners = on.filter((r) => r.outcome.startsWith('completed:'));
      t.is(winners.length, 1, `${target}: ${JSON.stringify(on.map((r) => [r.key, r.priority, r.outcome]))}`);
      const highest = Math.max(...on.map((r) => r.priority));
      t.is(winners[0]?.priority, highest, target);
      t.is(winners[0]?.outcome, `completed:${winners[0]?.key}`);
      t.deepEqual([...new Set(on.filter((r) => r !== winners[0]).map((r) => r.outcome))], ['rejected:lost-arbitration'], target);
    }
    // The winners are spread over the processes: the decision is not "this process's best".
    t.is(new Set(all.filter((r) => r.outcome.startsWith('completed:')).map((r) => r.key.split('-')[0])).size, PROCESSES);
    const total = sum(replies.map((r) => r.totals));
    t.deepEqual(total, { submitted: 40, completed: 5, rejected: 35, inFlight: 0, rejectedByCode: { 'lost-arbitration': 35 } });
  } finally {
    await Promise.all(processes.map((p) => p.stop()));
  }
});

for (const whileExecuting of ['preempt', 'queue'] as const) {
  test.serial(`4 processes, sustained load on 3 shared targets (${whileExecuting}): never two executing on a target (counted in Redis), accounting summed over processes`, async (t) => {
    t.timeout(240_000);
    const keyPrefix = uniquePrefix(`load-${whileExecuting}`);
    // Executions (5–30 ms) shorter than the grace period: under preempt a holder keeps its target
    // (the winner waits for its release), so an INCR/DECR around execute counts exactly.
    const processes = await start(keyPrefix, { windowMs: 50, whileExecuting, gracePeriodMs: 500 });
    const admin = new Redis(redis().url);
    try {
      const targets = ['shared-0', 'shared-1', 'shared-2'];
      const replies = await Promise.all(
        processes.map((p, i) => p.request<{ totals: Totals }>({ type: 'load', durationMs: 3000, rate: 40, targets, workMs: [5, 30], seed: 17 + i })),
      );
      const total = sum(replies.map((r) => r.totals));
      t.is(total.inFlight, 0);
      t.is(total.submitted, total.completed + total.rejected, JSON.stringify(total));
      t.true(total.submitted >= PROCESSES * 40, `${total.submitted} submitted`);
      let executions = 0;
      for (const target of targets) {
        const [active, max, count] = recordKeys(keyPrefix, target);
        t.is(await admin.get(active), '0', `${target}: nothing left executing`);
        t.is(await admin.get(max), '1', `${target}: at most one executing at any time`);
        executions += Number(await admin.get(count));
      }
      // Every completed operation executed exactly once, and nothing else executed.
      t.is(executions, total.completed);
      t.true(total.completed >= targets.length);
      t.deepEqual(Object.keys(total.rejectedByCode).filter((c) => c !== 'lost-arbitration'), [], JSON.stringify(total.rejectedByCode));
    } finally {
      admin.disconnect();
      await Promise.all(processes.map((p) => p.stop()));
    }
  });
}
