import test from 'ava';
import {
  ArbiterInputError,
  createStore,
  entitiesIn,
  extendLifecycle,
  isEntity,
  OccConflictError,
  OperationRejectedError,
  Priority,
  withConflictResolution,
  type ConflictContext,
  type Entity,
} from '../../src/index.js';
import { advance, flush, harness, outcome } from '../helpers/index.js';

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

test('withConflictResolution() - target option, `this` and name kept', async (t) => {
  const { clock, arbiter, events } = setup();
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
  await arbiter.stop();
});

test('withConflictResolution() - a call without a target is refused in every mode but none, never run unarbitrated', async (t) => {
  const { store, arbiter } = setup();
  let calls = 0;
  for (const mode of ['staged', 'staged+occ', 'occ'] as const) {
    const byId = withConflictResolution((id: string, amount: number) => (calls++, `${id}:${amount}`), { arbiter, store, mode });
    const err = t.throws(() => byId('account-1', 5), { instanceOf: ArbiterInputError }, mode);
    t.is(err?.field, 'target');
    t.regex(err!.message, /none of its 2 argument\(s\) is an entity/);
    t.regex(err!.message, /`target: \(\.\.\.args\) => id`/);
    t.regex(err!.message, /`whenNoTarget: 'plain'`/);
    t.throws(() => byId.handle('account-1', 5), { instanceOf: ArbiterInputError, message: /`target`/ });
  }
  t.is(calls, 0, 'the function never ran');
  t.is(arbiter.metrics().submitted, 0);
  await arbiter.stop();
});

test("withConflictResolution({ whenNoTarget: 'plain' }) - the explicit opt-out runs such calls plainly; calls with a target are still arbitrated", async (t) => {
  const { store, clock, arbiter } = setup();
  const ran: unknown[] = [];
  const fn = withConflictResolution((x: number | Entity<Account>) => (ran.push(x), typeof x === 'number' ? x * 2 : x.data.balance), {
    arbiter,
    whenNoTarget: 'plain',
  });
  const plain = fn(21);
  t.deepEqual(ran, [21], 'called at once, like mode none');
  t.is(await plain, 42);
  t.is(arbiter.metrics().submitted, 0);
  t.throws(() => fn.handle(21), { instanceOf: ArbiterInputError, message: /whenNoTarget 'plain'/ });
  const acc = store.create({ balance: 9 });
  const staged = fn(acc);
  t.is(arbiter.metrics().submitted, 1, 'an entity argument is still arbitrated');
  await advance(clock, 100);
  t.is(await staged, 9);
  await arbiter.stop();
});

test('withConflictResolution({ context: true }) - fn gets { signal, attempt, operationId, target } after the arguments; the wrapped signature does not have it', async (t) => {
  const { store, clock, arbiter } = setup();
  const acc = store.create({ balance: 100 });
  const seen: ConflictContext[] = [];
  const slow = withConflictResolution(
    (account: Entity<Account>, amount: number, ctx: ConflictContext) => {
      seen.push(ctx);
      return new Promise<number>((resolve, reject) => {
        ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason));
        if (amount === 1) resolve(account.data.balance + amount);
      });
    },
    { arbiter, context: true, priority: (_account, amount) => (amount === 1 ? Priority.LOW : Priority.HIGH) },
  );
  // (account, amount) => Promise<number>: the context is not the caller's to pass.
  const typed: (account: Entity<Account>, amount: number) => Promise<number> = slow;
  const quick = typed(acc, 1);
  await advance(clock, 100);
  t.is(await quick, 101);
  t.like(seen[0], { attempt: 1, target: acc.id });
  t.is(typeof seen[0]!.operationId, 'string');
  t.true(Object.isFrozen(seen[0]));
  t.false(seen[0]!.signal.aborted);

  const h = slow.handle(acc, 2);
  await advance(clock, 100);
  t.is(seen[1]!.operationId, h.id);
  t.false(seen[1]!.signal.aborted);
  t.true(h.cancel('user'));
  t.true(seen[1]!.signal.aborted, "cancelling the operation aborts the signal fn was given");
  t.like(await outcome(h.result), { ok: false, code: 'cancelled' });

  const occ = withConflictResolution(
    (account: Entity<Account>, ctx: ConflictContext) => {
      seen.push(ctx);
      if (ctx.attempt < 3) store.update<Account>(account.id, (d) => void d.balance++);
      return store.update<Account>(account.id, (d) => void (d.balance -= 1), { expectedVersion: account.version }).version;
    },
    { store, mode: 'occ', context: true, sleep: async () => {} },
  );
  seen.length = 0;
  await occ(acc);
  t.deepEqual(seen.map((c) => c.attempt), [1, 2, 3]);
  t.true(seen.every((c) => c.target === acc.id && c.operationId === seen[0]!.operationId && !c.signal.aborted));

  const none = withConflictResolution((x: number, ctx: ConflictContext) => [x, ctx.attempt, ctx.operationId, ctx.signal.aborted], { mode: 'none', context: true });
  t.deepEqual(await none(5), [5, 1, undefined, false]);
  await arbiter.stop();
});

test('withConflictResolution({ context: true }) - the signal is aborted when the operation times out or is preempted', async (t) => {
  const store = createStore();
  const { clock, arbiter } = harness({ store, windowMs: 10, gracePeriodMs: 0 });
  const acc = store.create({ balance: 1 });
  const signals: AbortSignal[] = [];
  const hang = withConflictResolution(
    (_a: Entity<Account>, ctx: ConflictContext) => {
      signals.push(ctx.signal);
      return new Promise<never>(() => {});
    },
    { arbiter, context: true, timeoutMs: 50, priority: Priority.LOW },
  );
  const timedOut = hang(acc);
  await advance(clock, 10);
  t.is(signals.length, 1);
  await advance(clock, 50);
  t.is((await outcome(timedOut) as { code: string }).code, 'timeout');
  t.true(signals[0]!.aborted);

  const first = hang.handle(acc);
  await advance(clock, 10);
  const urgent = withConflictResolution(() => 'urgent', { arbiter, target: () => acc.id, priority: Priority.CRITICAL, mode: 'staged' });
  const win = urgent();
  await advance(clock, 10);
  await advance(clock, 10);
  t.is(await win, 'urgent');
  t.is((await outcome(first.result) as { code: string }).code, 'preempted');
  t.true(signals[1]!.aborted);
  await arbiter.stop();
});

test('withConflictResolution().handle() - returns the operation handle: status(), send() a custom step event, result', async (t) => {
  const store = createStore();
  const lifecycle = extendLifecycle({
    afterWin: { approval: { on: { approve: 'next', deny: { target: 'rejected', code: 'denied', reason: 'denied' } } } },
  });
  const { clock, arbiter } = harness({ store, lifecycle });
  const acc = store.create({ balance: 100 });
  const withdraw = withConflictResolution(
    (a: Entity<Account>, amount: number) => store.update<Account>(a.id, (d) => void (d.balance -= amount)).data.balance,
    { arbiter, type: 'withdraw' },
  );
  const h = withdraw.handle(acc, 30);
  t.is(h.target, acc.id);
  t.is(h.status(), 'staged');
  await advance(clock, 100);
  t.is(store.get<Account>(acc.id)!.data.balance, 100, 'waiting for approval, not run yet');
  h.send({ type: 'approve' });
  await advance(clock, 0);
  t.is(await h.result, 70);
  t.is(h.status(), 'completed');

  const denied = withdraw.handle(acc, 1000);
  await advance(clock, 100);
  denied.send({ type: 'deny' });
  await advance(clock, 0);
  t.like(await outcome(denied.result), { ok: false, code: 'denied' });
  t.is(store.get<Account>(acc.id)!.data.balance, 70);

  const occOnly = withConflictResolution((a: Entity<Account>) => a, { store, mode: 'occ' });
  t.is(t.throws(() => occOnly.handle(acc), { instanceOf: ArbiterInputError })?.field, 'mode');
  const none = withConflictResolution((a: Entity<Account>) => a, { mode: 'none' });
  t.throws(() => none.handle(acc), { instanceOf: ArbiterInputError, message: /mode 'none'/ });
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

test('withConflictResolution() - every bad option value is refused at wrap time, in every mode, before any call', (t) => {
  const { store, arbiter } = setup();
  const fn = (a: Entity) => a;
  const cases: Array<[string, Record<string, unknown>]> = [
    ['timeoutMs', { timeoutMs: -1 }],
    ['timeoutMs', { timeoutMs: Number.NaN }],
    ['timeoutMs', { timeoutMs: 2 ** 31 }],
    ['timeoutMs', { timeoutMs: '10' }],
    ['maxRetries', { maxRetries: -1 }],
    ['maxRetries', { maxRetries: 1.5 }],
    ['type', { type: '' }],
    ['priority', { priority: 0 }],
    ['data', { data: 5 }],
    ['sleep', { sleep: 'soon' }],
    ['random', { random: 0.5 }],
    ['clock.setTimeout', { clock: {} }],
    ['clock', { clock: 5 }],
    ['whenNoTarget', { whenNoTarget: 'call' }],
    ['context', { context: 'yes' }],
    ['store.get', { store: {} }],
    ['arbiter.submit', { arbiter: {} }],
  ];
  for (const mode of ['none', 'staged', 'occ', 'staged+occ'] as const) {
    for (const [field, bad] of cases) {
      const options = { arbiter, store, mode, ...bad } as never;
      const err = t.throws(() => withConflictResolution(fn, options), { instanceOf: ArbiterInputError }, `${mode} ${JSON.stringify(bad)}`);
      t.is(err?.field, field, `${mode} ${JSON.stringify(bad)}`);
    }
  }
  t.notThrows(() => withConflictResolution(fn, { arbiter, timeoutMs: 2 ** 31 - 1 }));
  t.is(arbiter.metrics().submitted, 0);
});

test('withConflictResolution() - unknown option keys are refused with a suggestion; __proto__ is never followed', (t) => {
  const { arbiter } = setup();
  const fn = (a: Entity) => a;
  const typo = t.throws(() => withConflictResolution(fn, { arbiter, timeout: 10 } as never), { instanceOf: ArbiterInputError });
  t.is(typo?.field, 'timeout');
  t.regex(typo!.message, /did you mean `timeoutMs`\?/);
  t.regex(t.throws(() => withConflictResolution(fn, { arbiter, Priority: 3 } as never), { instanceOf: ArbiterInputError })!.message, /did you mean `priority`\?/);
  t.regex(t.throws(() => withConflictResolution(fn, { arbiter, when_no_target: 'plain' } as never), { instanceOf: ArbiterInputError })!.message, /did you mean `whenNoTarget`\?/);
  const proto = JSON.parse('{"__proto__": {"mode": "none"}}') as Record<string, unknown>;
  proto['arbiter'] = arbiter;
  t.is(t.throws(() => withConflictResolution(fn, proto as never), { instanceOf: ArbiterInputError })?.field, '__proto__');
});

test('withConflictResolution() - options are read once: a getter that answers validation and then changes or throws does not matter', async (t) => {
  const { store, clock, arbiter } = setup();
  const reads = new Map<string, number>();
  const count = (key: string) => reads.set(key, (reads.get(key) ?? 0) + 1).get(key)!;
  const options = {
    arbiter,
    get mode() {
      return count('mode') === 1 ? 'staged' : 'eager';
    },
    get timeoutMs() {
      if (count('timeoutMs') > 1) throw new Error('read twice');
      return 500;
    },
    get priority() {
      return count('priority') === 1 ? Priority.HIGH : 99;
    },
  };
  const withdraw = withConflictResolution((a: Entity<Account>) => a.data.balance, options as never);
  const acc = store.create({ balance: 3 });
  const calls = [withdraw(acc), withdraw(acc)];
  await advance(clock, 100);
  await advance(clock, 100);
  t.like(await outcome(calls[0]!), { ok: true, value: 3 });
  t.deepEqual([...reads.values()], [1, 1, 1], 'each option was read exactly once, at wrap time');
  t.true(arbiter.operations.query().every((o) => o.priority === Priority.HIGH));
  await Promise.allSettled(calls);
  await arbiter.stop();
});
