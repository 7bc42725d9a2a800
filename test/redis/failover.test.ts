// Failover between real processes (child_process.fork) on one Redis: a holder's process killed
// (SIGKILL) or paused (SIGSTOP) past its lease. Ordering and overlap are asserted on facts
// recorded with Redis time; the only timing bound has a generous margin (the machine is shared).
import test from 'ava';
import { Redis } from 'ioredis';
import { createRedisStore, RedisTargets } from '../../src/redis/index.js';
import { redisNow, startArbiterProcess, type ArbiterProcess, type Execution } from '../helpers/redis-process.js';
import { uniquePrefix, useRedisServer } from '../helpers/redis.js';

const redis = useRedisServer(test);
const LEASE_MS = 1500;
const WINDOW_MS = 100;
/** Generous: timers run late on a loaded 2-core machine. */
const MARGIN_MS = 8000;

async function two(keyPrefix: string): Promise<[ArbiterProcess, ArbiterProcess]> {
  const init = { type: 'init' as const, url: redis().url, keyPrefix, windowMs: WINDOW_MS, whileExecuting: 'preempt' as const, gracePeriodMs: 200, leaseMs: LEASE_MS };
  const [a, b] = await Promise.all([startArbiterProcess({ ...init, processId: 'holder' }), startArbiterProcess({ ...init, processId: 'next' })]);
  return [a, b];
}

test.serial("the process holding a target is killed (SIGKILL): another process's operation on it completes within leaseMs + window + margin, after the dead lease ran out", async (t) => {
  t.timeout(120_000);
  const keyPrefix = uniquePrefix('kill');
  const admin = new Redis(redis().url);
  const store = createRedisStore({ client: admin, keyPrefix });
  await store.create({ writers: [] }, { id: 'acct' });
  const [a, b] = await two(keyPrefix);
  try {
    const holding = a.next<{ fence: { token: number }; startedAt: number }>('executing');
    a.tell({ type: 'hold', target: 'acct', priority: 10, entity: 'acct' });
    const held = await holding;
    // Stopped first, so that what Redis holds is the dead lease's last renewal (one already on its
    // way has landed after the pause), then killed.
    a.child.kill('SIGSTOP');
    await new Promise((r) => setTimeout(r, 200));
    const targets = new RedisTargets({ client: admin, keyPrefix, owner: 'observer' });
    const dead = (await targets.peek('acct')).holders.find((h) => h.owner === 'holder');
    t.truthy(dead, 'the holder process holds the target');
    a.child.kill('SIGKILL');
    t.is(await a.exited, 'SIGKILL');
    const killedAt = await redisNow(admin);
    const taking = b.request<{ outcome: string; execution: Execution }>({ type: 'take', target: 'acct', priority: 10, entity: 'acct' });
    const taken = await taking;
    t.is(taken.outcome, 'completed:taken');
    const next = taken.execution;
    t.true(next.token > held.fence.token, 'a newer fencing token');
    t.true(next.startedAt >= dead!.expiresAt, `started ${next.startedAt}, the dead lease ran until ${dead!.expiresAt}`);
    t.true(next.startedAt - killedAt <= LEASE_MS + WINDOW_MS + MARGIN_MS, `started ${Math.round(next.startedAt - killedAt)} ms after the kill`);
    t.deepEqual((await store.get<{ writers: string[] }>('acct'))?.data.writers, ['next']);
  } finally {
    await b.stop();
    await a.stop();
    admin.disconnect();
  }
});

test.serial('a process paused (SIGSTOP) past its lease, then continued (SIGCONT), cannot commit to the Redis store with its stale fencing token', async (t) => {
  t.timeout(120_000);
  const keyPrefix = uniquePrefix('pause');
  const admin = new Redis(redis().url);
  const store = createRedisStore({ client: admin, keyPrefix });
  await store.create({ writers: [] }, { id: 'acct' });
  const [a, b] = await two(keyPrefix);
  try {
    const holding = a.next<{ fence: { token: number } }>('executing');
    const holdDone = a.next<{ outcome: string }>('hold');
    a.tell({ type: 'hold', target: 'acct', priority: 10, entity: 'acct' });
    const held = await holding;
    a.child.kill('SIGSTOP');
    // b gets the target once a's lease has run out (a renews nothing while stopped), and commits.
    const taken = await b.request<{ outcome: string; execution: Execution }>({ type: 'take', target: 'acct', priority: 10, entity: 'acct' });
    t.is(taken.outcome, 'completed:taken');
    t.true(taken.execution.token > held.fence.token);
    a.child.kill('SIGCONT');
    // The zombie wakes up and writes with the token it won with.
    const wrote = await a.request<{ ok: boolean; name?: string; reason?: string }>({ type: 'write' });
    t.false(wrote.ok, 'the stale write is refused');
    t.is(wrote.name, 'StaleFenceError');
    t.true(wrote.reason === 'superseded' || wrote.reason === 'expired', wrote.reason);
    t.deepEqual((await store.get<{ writers: string[] }>('acct'))?.data.writers, ['next']);
    // a's operation got its final state: its lease was lost, not preempted.
    t.is((await holdDone).outcome, 'rejected:backend-unavailable');
  } finally {
    try {
      a.child.kill('SIGCONT');
    } catch {
      // already gone
    }
    await b.stop();
    await a.stop();
    admin.disconnect();
  }
});
