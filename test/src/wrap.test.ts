import test from 'ava';
import {
  ArbiterInputError,
  createStore,
  entitiesIn,
  isEntity,
  OccConflictError,
  OperationRejectedError,
  Priority,
  withConflictResolution,
  type Entity,
} from '../../src/index.js';
import { advance, flush, harness } from '../helpers/index.js';

type Account = { balance: number };

function setup() {
  const store = createStore();
  const h = harness({ store, retry: { baseDelayMs: 10, jitter: false } });
  return { store, ...h };
}

test('isEntity() / entitiesIn() - snapshots by shape, one level into arrays, first is primary', (t) => {
  const store = createStore();
  const a = store.create({});
  const b = store.create({});
  t.true(isEntity(a));
  t.false(isEntity({ id: 'x', version: 0, lastModified: 0 }));
  t.false(isEntity(a.id), 'ids as strings are not entities');
  t.deepEqual(entitiesIn([1, [b, 'x', [a]], a]).map((e) => e.id), [b.id, a.id]);
});

test("withConflictResolution() - mode 'none' calls through, errors unchanged", async (t) => {
  const { store } = setup();
  const acc = store.create({ balance: 5 });
  let calls = 0;
  const read = withConflictResolution((a: Entity<Account>) => (calls++, a.data.balance), { mode: 'none' });
  const pending = read(acc);
  t.is(calls, 1, 'called at once, not deferred');
  t.is(await pending, 5);
  const boom = withConflictResolution((): number => {
    throw new RangeError('raw');
  }, { mode: 'none' });
  await t.throwsAsync(boom(), { instanceOf: RangeError, message: 'raw' });
});

test("withConflictResolution() - mode 'staged': the higher priority call wins, the other rejects lost-arbitration", async (t) => {
  const { store, clock, arbiter, events } = setup();
  const acc = store.create({ balance: 100 });
  const ran: string[] = [];
  const withdraw = (who: string) =>
    withConflictResolution(
      (a: Entity<Account>, amount: number) => {
        ran.push(who);
        return store.update<Account>(a.id, (d) => void (d.balance -= amount), { expectedVersion: a.version }).data.balance;
      },
      { arbiter, mode: 'staged', priority: who === 'vip' ? Priority.HIGH : Priority.LOW, type: `withdraw-${who}` },
    );
  // The signature is kept: (Entity<Account>, number) => Promise<number>.
  const typed: (a: Entity<Account>, amount: number) => Promise<number> = withdraw('vip');
  const low = withdraw('regular')(acc, 10);
  const high = typed(acc, 30);
  await advance(clock, 100);
  t.is(await high, 70);
  const lost = await low.catch((e: unknown) => e);
  t.true(lost instanceof OperationRejectedError);
  t.is((lost as OperationRejectedError).code, 'lost-arbitration');
  t.deepEqual(ran, ['vip']);
  t.like(events.find((e) => e.type === 'operation.submitted'), { target: acc.id, operationType: 'withdraw-regular' });
  t.is(arbiter.metrics().promoted, 1, 'only the winner was promoted into the arbiter store');
  await arbiter.stop();
});

test("withConflictResolution() - mode 'staged' passes arguments as given (stale snapshot → conflict until exhausted)", async (t) => {
  const { store, clock, arbiter } = setup();
  const acc = store.create({ balance: 100 });
  store.update<Account>(acc.id, (d) => void (d.balance = 90));
  const withdraw = withConflictResolution(
    (a: Entity<Account>) => store.update<Account>(a.id, (d) => void (d.balance -= 1), { expectedVersion: a.version }),
    { arbiter, mode: 'staged', maxRetries: 1 },
  );
  const r = withdraw(acc);
  for (let i = 0; i < 4; i++) await advance(clock, 100);
  const err = (await r.catch((e: unknown) => e)) as OperationRejectedError;
  t.is(err.code, 'retries-exhausted');
  t.true(err.cause instanceof OccConflictError);
  t.is(store.get<Account>(acc.id)!.data.balance, 90);
  await arbiter.stop();
});

test("withConflictResolution() - default 'staged+occ': every attempt gets fresh snapshots of every entity argument", async (t) => {
  const { store, clock, arbiter, events } = setup();
  const from = store.create({ balance: 100 });
  const to = store.create({ balance: 0 });
  const seen: number[] = [];
  let interfere = true;
  const transfer = withConflictResolution(
    ([src, dst]: [Entity<Account>, Entity<Account>], amount: number) => {
      seen.push(src.version, dst.version);
      if (interfere) {
        interfere = false;
        store.update<Account>(src.id, (d) => void (d.balance += 1)); // a deposit lands meanwhile
      }
      store.update<Account>(src.id, (d) => void (d.balance -= amount), { expectedVersion: src.version });
      return store.update<Account>(dst.id, (d) => void (d.balance += amount)).data.balance;
    },
    { arbiter, type: 'transfer' },
  );
  store.update<Account>(to.id, (d) => void (d.balance = 5)); // the caller's `to` is now stale
  const r = transfer([from, to], 40);
  await advance(clock, 100);
  t.is(events.filter((e) => e.type === 'operation.retrying').length, 1);
  await advance(clock, 10);
  t.is(await r, 45);
  t.deepEqual(seen, [0, 1, 1, 1], 'fresh versions, including the secondary entity');
  t.is(store.get<Account>(from.id)!.data.balance, 61);
  t.like(events.find((e) => e.type === 'operation.submitted'), { target: from.id, operationType: 'transfer' });
  await arbiter.stop();
});

test("withConflictResolution() - mode 'occ': no arbitration, conflicts retried with fresh data, then OperationRejectedError", async (t) => {
  const { store, arbiter } = setup();
  const acc = store.create({ balance: 10 });
  const sleeps: number[] = [];
  let interfere = 2;
  const add = withConflictResolution(
    (a: Entity<Account>, n: number) => {
      if (interfere-- > 0) store.update<Account>(a.id, (d) => void d.balance++);
      return store.update<Account>(a.id, (d) => void (d.balance += n), { expectedVersion: a.version }).data.balance;
    },
    { arbiter, mode: 'occ', sleep: async (ms) => void sleeps.push(ms) },
  );
  t.is(await add(acc, 100), 112, 'two conflicts, then committed on fresh data (10 + 2 + 100)');
  t.deepEqual(sleeps, [10, 20], "the arbiter's backoff (retry options)");
  t.deepEqual(await Promise.all([add(acc, 1000), add(acc, 0)]), [1112, 1112], 'both calls run: no arbitration');
  t.is(arbiter.metrics().submitted, 0, 'nothing went through the arbiter');
  t.is(store.get<Account>(acc.id)!.data.balance, 1112);

  const always = withConflictResolution(
    (a: Entity<Account>) => {
      store.update<Account>(a.id, (d) => void d.balance++);
      return store.update<Account>(a.id, (d) => d, { expectedVersion: a.version });
    },
    { store, mode: 'occ', maxRetries: 2, sleep: async () => {} },
  );
  const err = (await always(acc).catch((e: unknown) => e)) as OperationRejectedError;
  t.true(err instanceof OperationRejectedError);
  t.like(err, { code: 'retries-exhausted', target: acc.id });
  t.true(err.cause instanceof OccConflictError);
  const failing = withConflictResolution((_: Entity<Account>) => {
    throw new Error('nope');
  }, { store, mode: 'occ' });
  t.like(await failing(acc).catch((e: unknown) => e), { code: 'execution-failed' });
  await arbiter.stop();
});

test('withConflictResolution() - target option, no target → plain call, `this` and name kept', async (t) => {
  const { store, clock, arbiter, events } = setup();
  const wrapped = withConflictResolution(
    function named(this: { k: number }, key: string) {
      return `${key}:${this.k}`;
    },
    { arbiter, target: (key) => `cache-${key}`, mode: 'staged' },
  );
  t.is(wrapped.name, 'named');
  const obj = { k: 7, wrapped };
  const r = obj.wrapped('a');
  await advance(clock, 100);
  t.is(await r, 'a:7');
  t.like(events.find((e) => e.type === 'operation.submitted'), { target: 'cache-a', operationType: 'named' });
  const plain = withConflictResolution((x: number) => x * 2, { arbiter });
  t.is(await plain(21), 42, 'no entity and no target: called through');
  t.is(arbiter.metrics().submitted, 1);
  await flush();
  await arbiter.stop();
});

test('withConflictResolution() - bad options throw ArbiterInputError when wrapping; a bad target at the call', (t) => {
  const { store, arbiter } = setup();
  const fn = (a: Entity) => a;
  t.throws(() => withConflictResolution('x' as never), { instanceOf: ArbiterInputError, message: /`fn`/ });
  t.throws(() => withConflictResolution(fn, { arbiter, mode: 'eager' as never }), { instanceOf: ArbiterInputError, message: /`mode`/ });
  t.throws(() => withConflictResolution(fn, { mode: 'staged' }), { instanceOf: ArbiterInputError, message: /`arbiter`/ });
  t.throws(() => withConflictResolution(fn, { mode: 'occ' }), { instanceOf: ArbiterInputError, message: /`store`/ });
  t.throws(() => withConflictResolution(fn, { arbiter, priority: 11 }), { instanceOf: ArbiterInputError, message: /`priority`/ });
  t.throws(() => withConflictResolution(fn, { arbiter, target: 'x' as never }), { instanceOf: ArbiterInputError, message: /`target`/ });
  const badTarget = withConflictResolution((x: number) => x, { arbiter, target: () => '' });
  t.throws(() => badTarget(1), { instanceOf: ArbiterInputError, message: /`target`/ });
  const badPriority = withConflictResolution((a: Entity) => a, { arbiter, priority: () => 0 });
  t.throws(() => badPriority(store.create({})), { instanceOf: ArbiterInputError, message: /`priority`/ });
  t.is(arbiter.metrics().submitted, 0);
});
