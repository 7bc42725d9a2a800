import { createHash } from 'node:crypto';
import test from 'ava';
import { Redis } from 'ioredis';
import { createRedisStore } from '../../src/redis/store.js';
import { STAGE_LUA } from '../../src/redis/lua/target.js';
import { RedisTargets } from '../../src/redis/targets.js';
import { manualClock, uniquePrefix, useRedisServer } from '../helpers/redis.js';

// This file restarts its server: it has one of its own.
const redis = useRedisServer(test);

test('NOSCRIPT - the target scripts and the store work again after Redis restarts (scripts gone, connection new)', async (t) => {
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
