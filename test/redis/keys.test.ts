import test from 'ava';
import fc from 'fast-check';
import { Cluster } from 'ioredis';
import { ArbiterInputError } from '../../src/errors.js';
import { checkKeyPrefix, decodeTarget, encodeTarget, keyList, targetKeys } from '../../src/redis/keys.js';
import { ARBITRATE_LUA } from '../../src/redis/lua/arbitrate.js';
import { BASE_LUA, CANDIDATE_LUA, HOLDER_LUA, OUTCOME_LUA } from '../../src/redis/lua/common.js';
import { CLOSE_LUA, PEEK_LUA, RELEASE_LUA, RENEW_LUA, STAGE_LUA, WITHDRAW_LUA } from '../../src/redis/lua/target.js';
import { createRedisStore } from '../../src/redis/store.js';
import { RedisTargets } from '../../src/redis/targets.js';
import { manualClock, uniquePrefix, useRedisServer } from '../helpers/redis.js';

const redis = useRedisServer(test, { cluster: true });

// Any UTF-16 string, lone surrogates included.
const anyString = fc.array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 40 }).map((units) => String.fromCharCode(...units));
const braces = fc.array(fc.constantFrom('{', '}', '%', '%7B', ':', ' ', 'a', '\ud800', '\udc00', '😀'), { maxLength: 12 }).map((parts) => parts.join(''));

// String.prototype.isWellFormed is in Node 20 but not in the ES2022 lib this project compiles against.
const wellFormed = (s: string): boolean => !/\p{Surrogate}/u.test(s);

const HOSTILE = [
  '{',
  '}',
  '{}',
  'a}b{c',
  '{tag}rest',
  'cart:{42}:items',
  ':',
  ' ',
  'two words',
  '__proto__',
  'constructor',
  'compte épargne ✓ 😀',
  'lone \ud800',
  'lone \udc00',
  '%7B',
  '%',
  'x'.repeat(100_000),
];

test('encodeTarget() - injective, no braces, well-formed UTF-16; decodeTarget() gives the target back', (t) => {
  fc.assert(
    fc.property(fc.oneof(anyString, braces), (target) => {
      const encoded = encodeTarget(target);
      return !/[{}]/.test(encoded) && wellFormed(encoded) && decodeTarget(encoded) === target;
    }),
    { numRuns: 2000 },
  );
  fc.assert(
    fc.property(fc.oneof(anyString, braces), fc.oneof(anyString, braces), (a, b) => a === b || encodeTarget(a) !== encodeTarget(b)),
    { numRuns: 2000 },
  );
  t.is(encodeTarget('plain:target-1'), 'plain:target-1', 'ordinary targets stay readable');
  t.throws(() => decodeTarget('%41'));
});

test('checkKeyPrefix() - refuses braces (they would move the hash tag) and non-strings with ArbiterInputError', (t) => {
  t.is(checkKeyPrefix('shop:'), 'shop:');
  t.is(checkKeyPrefix(''), '');
  for (const bad of ['{shop}:', 'a}', 42, null]) {
    const err = t.throws(() => checkKeyPrefix(bad), { instanceOf: ArbiterInputError });
    t.is(err?.field, 'keyPrefix');
  }
});

test('targetKeys() - every key of a target is in one Redis Cluster slot, whatever the target', async (t) => {
  const cluster = new Cluster([{ host: redis().host, port: redis().port }]);
  cluster.on('error', () => undefined);
  try {
    for (const target of HOSTILE) {
      const slots = await Promise.all(keyList(targetKeys('shop:', target)).map((k) => cluster.call('CLUSTER', 'KEYSLOT', k)));
      t.is(new Set(slots).size, 1, `target ${JSON.stringify(target.slice(0, 30))}`);
    }
  } finally {
    cluster.disconnect();
  }
});

test('target scripts - run on a Redis Cluster for hostile targets, and targets that UTF-8 would confuse stay apart', async (t) => {
  const cluster = new Cluster([{ host: redis().host, port: redis().port }]);
  cluster.on('error', () => undefined);
  const clock = manualClock();
  const targets = new RedisTargets({ client: cluster, keyPrefix: uniquePrefix('cluster'), owner: 'p1', clock: clock.now });
  try {
    for (const [n, target] of HOSTILE.entries()) {
      const s = await targets.stage(target, { windowMs: 10, whileExecuting: 'preempt', gracePeriodMs: 0, stageLeaseMs: 1000 }, [
        { id: `op-${n}`, type: 'op', priority: 5, effectivePriority: 5 },
      ]);
      clock.advanceMs(10);
      const r = await targets.close(target, s.window, 1000, [`op-${n}`]);
      if (r.status === 'early') return t.fail('early');
      const state = r.ids[0];
      t.true(state?.state === 'decided' && state.outcome.kind === 'started', `target ${JSON.stringify(target.slice(0, 30))}`);
    }
    // '\ud800' and '\udc00' would both become U+FFFD in UTF-8; they are two targets.
    const high = await targets.peek('lone \ud800');
    const low = await targets.peek('lone \udc00');
    t.is(high.holders[0]?.id, `op-${HOSTILE.indexOf('lone \ud800')}`);
    t.is(low.holders[0]?.id, `op-${HOSTILE.indexOf('lone \udc00')}`);
  } finally {
    cluster.disconnect();
  }
});

test('target scripts - touch no key but their declared KEYS (so a script stays in its slot on a cluster)', (t) => {
  const sources = [BASE_LUA, CANDIDATE_LUA, HOLDER_LUA, OUTCOME_LUA, ARBITRATE_LUA, STAGE_LUA, CLOSE_LUA, RENEW_LUA, RELEASE_LUA, WITHDRAW_LUA, PEEK_LUA];
  const calls = sources.join('\n').matchAll(/redis\.call\(\s*'([A-Z]+)'\s*(?:,\s*([^,)]+))?/g);
  let seen = 0;
  for (const [, command, firstArg] of calls) {
    seen++;
    if (command === 'TIME') continue;
    if (command === 'PUBLISH') continue; // a channel, not a key
    t.regex(firstArg ?? '', /^KEYS\[(\d|i)\]$/, `${command} ${firstArg}`);
  }
  t.true(seen > 30);
});

test('createRedisStore() - runs on a Redis Cluster (the whole store in one slot); a fenced write there names the cross-slot limit', async (t) => {
  const cluster = new Cluster([{ host: redis().host, port: redis().port }]);
  cluster.on('error', () => undefined);
  const store = createRedisStore({ client: cluster, keyPrefix: uniquePrefix('cstore') });
  try {
    const root = await store.create({ n: 1 }, { id: 'root' });
    await store.create({ n: 2 }, { id: 'child', parentId: root.id });
    await store.create({ n: 3 }, { id: 'grandchild', parentId: 'child' });
    await store.update('child', (d: { n: number }) => ({ n: d.n + 1 }));
    t.is((await store.detach('child')).rootId, 'child');
    t.is((await store.get('grandchild'))?.rootId, 'child');
    t.deepEqual((await store.query()).map((e) => e.id), ['root', 'child', 'grandchild']);
    const err = await t.throwsAsync(store.version('root', { fence: { target: 'some-target', token: 1 } }));
    t.regex(err?.message ?? '', /fenced writes need a single Redis/);
    t.is((await store.get('root'))?.version, 0);
  } finally {
    cluster.disconnect();
  }
});
