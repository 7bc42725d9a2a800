import { deepStrictEqual } from 'node:assert';
import test from 'ava';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { ArbiterInputError, OccConflictError } from '../../src/errors.js';
import { StaleFenceError } from '../../src/redis/errors.js';
import { createRedisStore, type RedisEntityStore } from '../../src/redis/store.js';
import { RedisTargets, type WindowSettings } from '../../src/redis/targets.js';
import { createStore } from '../../src/store/memory.js';
import type { Entity, EntityStore } from '../../src/store/types.js';
import { manualClock, uniquePrefix, useRedisServer } from '../helpers/redis.js';

const opened: { close(): Promise<void> }[] = [];
test.after.always(async () => {
  for (const s of opened) await s.close();
});
// Registered after the cleanup above, so the server stops after the clients let go.
const redis = useRedisServer(test);

function store(options: Partial<Parameters<typeof createRedisStore>[0]> = {}): RedisEntityStore {
  const s = createRedisStore({ url: redis().url, keyPrefix: uniquePrefix('store'), ...options });
  opened.push(s);
  return s;
}

// ---------------------------------------------------------------------------------------------
// The same random sequence of operations on the in-memory store and on the Redis store gives the
// same results, the same errors and the same states.

const IDS = ['e0', 'e1', 'e2', 'e3'];
const id = fc.constantFrom(...IDS);
const leaf = fc.oneof(
  fc.integer({ min: -5, max: 5 }),
  fc.string({ maxLength: 4 }),
  fc.boolean(),
  fc.constant(null),
  fc.constant(undefined),
  fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }),
  fc.constantFrom(NaN, Infinity, -0, 0.1),
);
const value = fc.oneof(leaf, fc.array(leaf, { maxLength: 3 }), fc.dictionary(fc.constantFrom('x', 'y', '$', 'constructor'), leaf, { maxKeys: 2 }));
const version = fc.option(fc.integer({ min: 0, max: 3 }), { nil: undefined });
const opts = (v: number | undefined) => (v === undefined ? undefined : { expectedVersion: v });

type Op =
  | { op: 'create'; id: string; parentId: string | undefined; a: unknown }
  | { op: 'update'; id: string; a: unknown; v: number | undefined }
  | { op: 'put'; id: string; field: string; a: unknown; v: number | undefined }
  | { op: 'borrow'; target: string; source: string; v: number | undefined }
  | { op: 'version'; id: string; v: number | undefined }
  | { op: 'promoteToRoot' | 'detach' | 'delete'; id: string; v: number | undefined }
  | { op: 'attach'; id: string; parentId: string; v: number | undefined };

const operation: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: fc.record({ op: fc.constant('create' as const), id, parentId: fc.option(id, { nil: undefined, freq: 3 }), a: value }), weight: 4 },
  fc.record({ op: fc.constant('update' as const), id, a: value, v: version }),
  fc.record({ op: fc.constant('put' as const), id, field: fc.constantFrom('a', 'b', 'a.x', 'nope'), a: value, v: version }),
  fc.record({ op: fc.constant('borrow' as const), target: id, source: id, v: version }),
  fc.record({ op: fc.constant('version' as const), id, v: version }),
  fc.record({ op: fc.constantFrom('promoteToRoot' as const, 'detach' as const, 'delete' as const), id, v: version }),
  { arbitrary: fc.record({ op: fc.constant('attach' as const), id, parentId: id, v: version }), weight: 2 },
);

async function apply(s: EntityStore | RedisEntityStore, o: Op): Promise<unknown> {
  switch (o.op) {
    case 'create':
      return s.create({ a: o.a, b: 0 }, { id: o.id, ...(o.parentId === undefined ? {} : { parentId: o.parentId }) });
    case 'update':
      return s.update(o.id, (d: { a: unknown }) => {
        d.a = o.a;
      }, opts(o.v));
    case 'put':
      return s.put(`@${o.id}.${o.field}`, o.a, opts(o.v));
    case 'borrow':
      return s.borrow(o.target, o.source, 'a', 'b', opts(o.v));
    case 'version':
      return s.version(o.id, opts(o.v));
    case 'attach':
      return s.attach(o.id, o.parentId, opts(o.v));
    default:
      return s[o.op](o.id, opts(o.v));
  }
}

function comparable(value: unknown): unknown {
  if (value instanceof Error) {
    return {
      error: value.constructor.name,
      field: (value as ArbiterInputError).field,
      expected: (value as OccConflictError).expected,
      actual: (value as OccConflictError).actual,
    };
  }
  if (typeof value === 'object' && value !== null && 'lastModified' in value) {
    const { lastModified: _, ...rest } = value as Entity;
    return rest;
  }
  return value;
}

async function outcome(run: () => unknown): Promise<unknown> {
  try {
    return comparable(await run());
  } catch (err) {
    return comparable(err);
  }
}

async function state(s: EntityStore | RedisEntityStore): Promise<unknown> {
  const out: Record<string, unknown> = {};
  for (const i of IDS) {
    out[i] = {
      get: comparable(await s.get(i)),
      has: await s.has(i),
      history: await outcome(async () => (await s.history(i)).map(comparable)),
      children: await outcome(() => s.children(i)),
    };
  }
  out['query'] = (await s.query()).map(comparable);
  return out;
}

test('createRedisStore() - every random sequence of operations gives the results, errors and states of createStore()', async (t) => {
  const client = new Redis(redis().url);
  try {
    await t.notThrowsAsync(fc.assert(
      fc.asyncProperty(fc.array(operation, { minLength: 5, maxLength: 30, size: 'max' }), async (ops) => {
        const memory = createStore();
        const remote = createRedisStore({ client, keyPrefix: uniquePrefix('diff') });
        for (const [n, o] of ops.entries()) {
          const expected = await outcome(() => apply(memory, o));
          const actual = await outcome(() => apply(remote, o));
          deepStrictEqual(actual, expected, `operation ${n}`);
        }
        deepStrictEqual(await state(remote), await state(memory));
        // size is a property of the memory store and a method of the async one.
        deepStrictEqual(await remote.size(), memory.size);
        return true;
      }),
      { numRuns: 200 },
    ));
  } finally {
    client.disconnect();
  }
});

// ---------------------------------------------------------------------------------------------
// Fencing: a write carrying a token that no longer holds its target is refused and changes nothing.

const settings: WindowSettings = { windowMs: 10, whileExecuting: 'preempt', gracePeriodMs: 0, stageLeaseMs: 60_000 };

/** Stages `id` on `target` and closes its window: returns the fencing token it won. */
async function win(targets: RedisTargets, clock: ReturnType<typeof manualClock>, target: string, id: string, priority = 5, leaseMs = 1000): Promise<number> {
  const s = await targets.stage(target, settings, [{ id, type: 'op', priority, effectivePriority: priority }]);
  clock.advanceMs(10);
  const r = await targets.close(target, s.window, leaseMs, [id]);
  const state = r.status === 'early' ? undefined : r.ids[0];
  if (state?.state !== 'decided' || state.outcome.kind !== 'started') throw new Error(`${id} did not win: ${JSON.stringify(state)}`);
  return state.outcome.token;
}

function fenced(name: string) {
  const clock = manualClock();
  const keyPrefix = uniquePrefix(name);
  const client = new Redis(redis().url);
  opened.push({ close: async () => client.disconnect() });
  const a = new RedisTargets({ client, keyPrefix, owner: 'proc-a', clock: clock.now });
  const b = new RedisTargets({ client, keyPrefix, owner: 'proc-b', clock: clock.now });
  const s = store({ keyPrefix, clock: clock.now });
  return { clock, a, b, s };
}

test('fence - token t holds, its lease expires, token t+1 wins: the t holder’s write is refused (superseded) and changes nothing', async (t) => {
  const { clock, a, b, s } = fenced('fence');
  const account = await s.create({ balance: 100 }, { id: 'acct-1' });
  const t1 = await win(a, clock, 'acct-1', 'op-1');
  const ok = await s.update('acct-1', (d: { balance: number }) => {
    d.balance -= 10;
  }, { fence: { target: 'acct-1', token: t1 } });
  t.is(ok.data.balance, 90);
  clock.advanceMs(1000); // op-1's process is paused: no renewal, its lease runs out
  const t2 = await win(b, clock, 'acct-1', 'op-2');
  t.is(t2, t1 + 1);
  const before = await s.history('acct-1');
  const err = await t.throwsAsync(s.update('acct-1', (d: { balance: number }) => {
    d.balance -= 10;
  }, { fence: { target: 'acct-1', token: t1 } }), { instanceOf: StaleFenceError });
  t.like(err, { code: 'stale-fence', target: 'acct-1', token: t1, currentToken: t2, reason: 'superseded' });
  for (const write of [
    () => s.put('@acct-1.balance', 0, { fence: { target: 'acct-1', token: t1 } }),
    () => s.version('acct-1', { fence: { target: 'acct-1', token: t1 } }),
    () => s.delete('acct-1', { fence: { target: 'acct-1', token: t1 } }),
    () => s.create({ x: 1 }, { id: 'acct-2', fence: { target: 'acct-1', token: t1 } }),
    () => s.promoteToRoot('acct-1', { fence: { target: 'acct-1', token: t1 } }),
  ]) {
    await t.throwsAsync(write(), { instanceOf: StaleFenceError });
  }
  t.deepEqual(await s.history('acct-1'), before);
  t.false(await s.has('acct-2'));
  t.is((await s.update('acct-1', (d: { balance: number }) => ({ balance: d.balance - 1 }), { fence: { target: 'acct-1', token: t2 } })).data.balance, 89);
  t.is(account.version, 0);
});

test('fence - a lease that ran out (nobody took over yet) or was released refuses writes too; a preempted holder is superseded', async (t) => {
  const { clock, a, b, s } = fenced('fence2');
  await s.create({ n: 0 }, { id: 'e' });
  const t1 = await win(a, clock, 'x', 'op-1');
  clock.advanceMs(1000);
  const expired = await t.throwsAsync(s.version('e', { fence: { target: 'x', token: t1 } }), { instanceOf: StaleFenceError });
  t.is(expired?.reason, 'expired');
  const t2 = await win(a, clock, 'y', 'op-2');
  t.is(await a.release('y', t2, 'op-2'), 'released');
  const released = await t.throwsAsync(s.version('e', { fence: { target: 'y', token: t2 } }), { instanceOf: StaleFenceError });
  t.is(released?.reason, 'released');
  const t3 = await win(a, clock, 'z', 'low', 1, 60_000);
  const t4 = await win(b, clock, 'z', 'high', 9, 60_000);
  const preempted = await t.throwsAsync(s.version('e', { fence: { target: 'z', token: t3 } }), { instanceOf: StaleFenceError });
  t.like(preempted, { reason: 'superseded', currentToken: t4 });
  t.is((await s.get('e'))?.version, 0);
  t.is((await s.version('e', { fence: { target: 'z', token: t4 } })).version, 1);
});

test('fence - bad fences throw ArbiterInputError naming the field', async (t) => {
  const s = store();
  await s.create({}, { id: 'e' });
  for (const [fence, field] of [
    [{ target: '', token: 1 }, 'fence.target'],
    [{ target: 't', token: -1 }, 'fence.token'],
    [{ target: 't', token: 1.5 }, 'fence.token'],
    ['t', 'fence'],
  ] as const) {
    const err = await t.throwsAsync(s.version('e', { fence: fence as never }), { instanceOf: ArbiterInputError });
    t.is(err?.field, field);
  }
});

// ---------------------------------------------------------------------------------------------

test('.update() - racing writers in two processes: every update applied once, none lost', async (t) => {
  const keyPrefix = uniquePrefix('race');
  const one = store({ keyPrefix, name: 'shared' });
  const two = store({ keyPrefix, name: 'shared' });
  await one.create({ n: 0 }, { id: 'counter' });
  const bump = (s: RedisEntityStore) => s.update('counter', (d: { n: number }) => {
    d.n++;
  });
  // 20 writers: each attempt of one of them fails only because another committed, so none needs
  // more than 19 retries (the default allows 20 attempts).
  await Promise.all(Array.from({ length: 20 }, (_, i) => bump(i % 2 ? one : two)));
  const final = await one.get<{ n: number }>('counter');
  t.is(final?.data.n, 20);
  t.is(final?.version, 20);
});

test('.update() - with expectedVersion, a racing writer makes it throw OccConflictError and write nothing', async (t) => {
  const s = store();
  const e = await s.create({ n: 0 }, { id: 'c' });
  await s.update('c', (d: { n: number }) => ({ n: d.n + 1 }));
  const err = await t.throwsAsync(s.update('c', (d: { n: number }) => ({ n: d.n + 100 }), { expectedVersion: e.version }), { instanceOf: OccConflictError });
  t.like(err, { expected: 0, actual: 1 });
  t.is((await s.get('c'))?.data.n, 1);
});

test('store scripts - a write sent again with the same write id (a reply lost on reconnect) is applied once', async (t) => {
  const client = new Redis(redis().url);
  opened.push({ close: async () => client.disconnect() });
  const keyPrefix = uniquePrefix('replay');
  const s = createRedisStore({ client, keyPrefix });
  await s.create({ n: 1 }, { id: 'e' });
  const base = `${keyPrefix}store:{default}:`;
  const keys = ['m', 'v', 't', 'p', 'r', 'd', 'i', 'nf1', 'nf2'].map((k) => `${base}${k}`);
  const send = () => (client as unknown as Record<string, (...a: unknown[]) => Promise<unknown[]>>)['arbiterStoreWrite']!(...keys, '', base, 0, '', 'write-1', 'e', 0, '{"n":2}');
  const first = await send();
  const again = await send();
  t.deepEqual(again, first);
  const history = await s.history('e');
  t.deepEqual(history.map((h) => h.version), [0, 1]);
});

test('createRedisStore() - keeps `__proto__` and `$` keys, bigint, undefined, NaN and -0 as data', async (t) => {
  const s = store();
  const data = JSON.parse('{"__proto__": {"polluted": true}, "$": "dollar", "nested": {"$": "obj"}}') as Record<string, unknown>;
  Object.assign(data, { big: 2n ** 80n, nothing: undefined, nan: NaN, negZero: -0, list: [undefined, 1n] });
  const e = await s.create(data, { id: 'weird' });
  const back = (await s.get('weird'))!.data as Record<string, unknown>;
  t.deepEqual(Object.keys(back).sort(), ['$', '__proto__', 'big', 'list', 'nan', 'negZero', 'nested', 'nothing']);
  t.is(Object.getPrototypeOf(back), Object.prototype);
  t.deepEqual(Object.getOwnPropertyDescriptor(back, '__proto__')?.value, { polluted: true });
  t.is(back['big'], 2n ** 80n);
  t.true(Object.is(back['negZero'], -0));
  t.true(Number.isNaN(back['nan']));
  t.deepEqual(back['nested'], { $: 'obj' });
  t.true(Object.isFrozen(back) && Object.isFrozen(back['list']));
  t.deepEqual(e.data, back);
});

test('createRedisStore() - bad options and ids throw ArbiterInputError naming the field; nothing is opened', async (t) => {
  const cases: [unknown, string][] = [
    [{ url: redis().url, keyPrefix: '{x}' }, 'keyPrefix'],
    [{ url: 'http://localhost' }, 'url'],
    [{}, 'url'],
    [{ url: redis().url, client: {} }, 'url'],
    [{ client: {} }, 'client'],
    [{ url: redis().url, maxHistory: 0 }, 'maxHistory'],
    [{ url: redis().url, name: '' }, 'name'],
  ];
  for (const [options, field] of cases) {
    const err = t.throws(() => createRedisStore(options as never), { instanceOf: ArbiterInputError });
    t.is(err?.field, field, JSON.stringify(options));
  }
  const s = store();
  const err = await t.throwsAsync(s.create({}, { id: 'lone\ud800' }), { instanceOf: ArbiterInputError });
  t.is(err?.field, 'id');
  t.is(await s.get('lone\ud800'), undefined);
});

test('createRedisStore({ maxHistory }) - keeps the latest versions only', async (t) => {
  const s = store({ maxHistory: 2 });
  await s.create({ n: 0 }, { id: 'h' });
  for (let i = 1; i <= 4; i++) await s.update('h', () => ({ n: i }));
  t.deepEqual((await s.history<{ n: number }>('h')).map((e) => e.data.n), [3, 4]);
});

test('.ready() - rejects with a clear error when nothing listens, within the connect timeout', async (t) => {
  const s = createRedisStore({ url: 'redis://127.0.0.1:1', connectTimeoutMs: 500 });
  const err = await t.throwsAsync(s.ready());
  t.regex(err?.message ?? '', /could not connect to Redis/);
  await s.close();
});
