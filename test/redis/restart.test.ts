import { createHash } from 'node:crypto';
import test from 'ava';
import { Redis } from 'ioredis';
import { createRedisStore } from '../../src/redis/store.js';
import { STAGE_LUA } from '../../src/redis/lua/target.js';
import type { RedisDecision } from '../../src/redis/messages.js';
import { RedisNode, type RedisTargetPort } from '../../src/redis/node.js';
import { RedisTargets } from '../../src/redis/targets.js';
import { manualClock, uniquePrefix, useRedisServer } from '../helpers/redis.js';

// This file restarts its server: it has one of its own, and its tests run one at a time.
const redis = useRedisServer(test);

test.serial('NOSCRIPT - the target scripts and the store work again after Redis restarts (scripts gone, connection new)', async (t) => {
  const client = new Redis(redis().url);
  client.on('error', () => undefined);
  const clock = manualClock();
  const keyPrefix = uniquePrefix('restart');
  const targets = new RedisTargets({ client, keyPrefix, owner: 'p', clock: clock.now });
  const store = createRedisStore({ client, keyPrefix });
  try {
    const settings = { windowMs: 10, whileExecuting: 'preempt' as const, gracePeriodMs: 0, stageLeaseMs: 1000 };
    await targets.stage('acct', settings, [{ id: 'before', type: 'op', priority: 5, effectivePriority: 5 }]);
    await store.create({ n: 1 }, { id: 'e' });
    await redis().stop();
    await redis().start();
    // A fresh server: no scripts loaded, no data (no persistence).
    const admin = new Redis(redis().url);
    const sha = createHash('sha1').update(STAGE_LUA).digest('hex');
    t.deepEqual(await admin.script('EXISTS', sha), [0]);
    const s = await targets.stage('acct', settings, [{ id: 'after', type: 'op', priority: 5, effectivePriority: 5 }]);
    t.is(s.candidates[0]?.state, 'staged');
    t.is(s.window, 1);
    t.deepEqual(await admin.script('EXISTS', sha), [1]);
    admin.disconnect();
    clock.advanceMs(10);
    const r = await targets.close('acct', s.window, 1000, ['after']);
    t.is(r.status, 'closed');
    t.is(await store.get('e'), undefined);
    t.is((await store.create({ n: 2 }, { id: 'e' })).version, 0);
  } finally {
    client.disconnect();
  }
});

test.serial('RedisTargetChannel - after Redis restarts empty, the windows numbered anew are delivered (a channel that lived through it does not take them for old ones)', async (t) => {
  const client = new Redis(redis().url);
  client.on('error', () => undefined);
  const node = new RedisNode({ client, keyPrefix: uniquePrefix('renumber'), windowMs: 20, whileExecuting: 'preempt', gracePeriodMs: 0, leaseMs: 1000, commandTimeoutMs: 2000 });
  const decided: RedisDecision[] = [];
  const errors: Error[] = [];
  const port: RedisTargetPort = { decided: (d) => decided.push(d), preempt: () => undefined, unavailable: (e) => errors.push(e) };
  const until = async (check: () => boolean, what: string): Promise<void> => {
    const deadline = Date.now() + 20_000;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  try {
    await node.ready();
    const channel = node.open('acct', port);
    // Three windows decided and released: this channel has heard of window 3.
    for (let i = 1; i <= 3; i++) {
      void channel.stage({ id: `before-${i}`, type: 'op', priority: 5, effectivePriority: 5 });
      await until(() => decided.length === i, `window ${i}`);
      channel.release(`before-${i}`);
    }
    t.deepEqual(decided.map((d) => d.kind === 'none' ? undefined : d.window), [1, 2, 3]);
    await redis().stop();
    await redis().start();
    await node.ready();
    void channel.stage({ id: 'after', type: 'op', priority: 5, effectivePriority: 5 });
    await until(() => decided.length + errors.length === 4, 'the decision after the restart');
    const last = decided[3];
    t.is(last?.kind, 'start');
    t.is(last?.kind === 'start' ? last.winner.id : undefined, 'after');
    t.is(last?.kind === 'start' ? last.window : undefined, 1);
  } finally {
    await node.dispose();
    client.disconnect();
  }
});
