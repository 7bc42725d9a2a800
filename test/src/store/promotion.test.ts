import test from 'ava';
import { SimulatedClock } from 'xstate';
import {
  ArbiterInputError,
  createStore,
  occ,
  OccConflictError,
  Priority,
  Promotion,
  type ArbiterOptions,
  type EntityStore,
  type OperationRecordData,
} from '../../../src/index.js';
import { createPromotion, type PromotionPhase } from '../../../src/store/promotion.js';
import { accounted, advance, deferred, flush, harness, outcome } from '../../helpers/index.js';

const records = (store: EntityStore) => store.query<OperationRecordData>((e) => (e.data as { kind?: string }).kind === 'operation');

// The arbiter tests below keep the records beside the entities on purpose (`recordStore: store`),
// so that they read the records where they expect them.
const sharing = (store: EntityStore, rest: ArbiterOptions = {}): ArbiterOptions => ({ ...rest, store, ...({ recordStore: store } as object) });

function counting(store: EntityStore): { store: EntityStore; creates: () => number } {
  let n = 0;
  return {
    store: new Proxy(store, {
      get(target, key, receiver) {
        if (key === 'create') return (...args: Parameters<EntityStore['create']>) => (n++, target.create(...args));
        const v = Reflect.get(target, key, receiver);
        return typeof v === 'function' ? v.bind(target) : v;
      },
    }),
    creates: () => n,
  };
}

test('createArbiter({ store, recordStore: store }) - only the winner is promoted; losers never touch the store', async (t) => {
  const { store, creates } = counting(createStore());
  const { clock, arbiter } = harness(sharing(store));
  const gate = deferred<string>();
  const hs = [Priority.LOW, Priority.HIGH, Priority.NORMAL, Priority.LOW].map((priority, i) =>
    arbiter.submit({ target: 'sku-1', type: `buy-${i}`, priority, execute: () => gate.promise }),
  );
  t.is(creates(), 0, 'nothing is registered while staged');
  await advance(clock, 100);
  t.is(creates(), 1);
  const winner = arbiter.operations.get(hs[1]!.id)!;
  t.truthy(winner.storeId);
  t.like(store.get<OperationRecordData>(winner.storeId!)!.data, {
    kind: 'operation',
    operationId: hs[1]!.id,
    target: 'sku-1',
    type: 'buy-1',
    priority: Priority.HIGH,
    status: 'executing',
  });
  for (const i of [0, 2, 3]) {
    t.is((await outcome(hs[i]!.result) as { code: string }).code, 'lost-arbitration');
    t.is(arbiter.operations.get(hs[i]!.id)!.storeId, undefined);
  }
  gate.resolve('sold');
  t.is(await hs[1]!.result, 'sold');
  t.is(store.get<OperationRecordData>(winner.storeId!)!.data.status, 'completed');
  t.like(arbiter.metrics(), { promoted: 1, zombies: 0, storeErrors: 0 });
  t.is(store.size, 1);
  await arbiter.stop();
});

test('createArbiter({ store, recordStore: store }) - a preempted winner is a zombie: counted, its record says rejected/preempted', async (t) => {
  const store = createStore();
  const { clock, arbiter } = harness(sharing(store, { windowMs: 10, gracePeriodMs: 20 }));
  const low = arbiter.submit({
    target: 'a',
    priority: Priority.LOW,
    execute: ({ signal }) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason))),
  });
  await advance(clock, 10);
  await advance(clock, 30);
  const high = arbiter.submit({ target: 'a', priority: Priority.CRITICAL, execute: async () => 'ok' });
  await advance(clock, 10);
  t.is(await high.result, 'ok');
  t.is((await outcome(low.result) as { code: string }).code, 'preempted');
  const info = arbiter.operations.get(low.id)!;
  t.like(store.get<OperationRecordData>(info.storeId!)!.data, { status: 'rejected', code: 'preempted' });
  t.like(arbiter.metrics(), { promoted: 2, zombies: 1 });
  await arbiter.stop();
});

test('createArbiter({ store, recordStore: store }) - retries exhausted after promotion is a zombie', async (t) => {
  const store = createStore();
  const { clock, arbiter } = harness(sharing(store, { retry: { baseDelayMs: 1, jitter: false } }));
  const h = arbiter.submit({
    target: 'a',
    maxRetries: 2,
    execute: async () => {
      throw new OccConflictError({ id: 'x', expected: 0, actual: 1 });
    },
  });
  for (let i = 0; i < 5; i++) await advance(clock, 100);
  t.is((await outcome(h.result) as { code: string }).code, 'retries-exhausted');
  t.like(arbiter.metrics(), { promoted: 1, zombies: 1 });
  t.like(records(store)[0]!.data, { status: 'rejected', code: 'retries-exhausted' });
  await arbiter.stop();
});

test('createArbiter({ store, recordStore: store }) - a failing store never stops an operation', async (t) => {
  const failures: Array<[string, string]> = [];
  const broken: EntityStore = {
    ...createStore(),
    create: () => {
      throw new Error('disk full');
    },
    has: () => true,
    update: () => {
      throw new Error('unreachable');
    },
  } as unknown as EntityStore;
  const { clock, arbiter } = harness(sharing(broken, { onStoreError: (err, phase) => failures.push([phase, (err as Error).message]) }));
  const h = arbiter.submit({ target: 'a', execute: async () => 1 });
  await advance(clock, 100);
  t.is(await h.result, 1);
  t.is(arbiter.operations.get(h.id)!.storeId, undefined);
  t.deepEqual(failures, [['promote', 'disk full']]);
  t.like(arbiter.metrics(), { promoted: 0, zombies: 0, storeErrors: 1, completed: 1 });

  // Settling fails: the operation is final anyway, and a throwing onStoreError is contained.
  const store = createStore();
  const settleBroken = new Proxy(store, {
    get(target, key) {
      if (key === 'update') return () => {
        throw new Error('read-only');
      };
      const v = Reflect.get(target, key);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
  const second = harness(sharing(settleBroken, { onStoreError: () => {
    throw new Error('reporter down');
  } }));
  const h2 = second.arbiter.submit({ target: 'a', execute: async () => 2 });
  await advance(second.clock, 100);
  t.is(await h2.result, 2);
  t.like(second.arbiter.metrics(), { promoted: 1, storeErrors: 1, completed: 1 });
  t.is(store.get<OperationRecordData>(second.arbiter.operations.get(h2.id)!.storeId!)!.data.status, 'executing');
  await arbiter.stop();
  await second.arbiter.stop();
});

test('createArbiter({ store }) - a store that is not an EntityStore is refused', (t) => {
  t.throws(() => harness({ store: {} as never }), { instanceOf: ArbiterInputError, message: /`store`/ });
  t.throws(() => harness({ store: createStore(), onStoreError: 1 as never }), { instanceOf: ArbiterInputError, message: /onStoreError/ });
});

test('createArbiter({ store, recordStore: store }) - stress mix: store growth from operations equals the number of winners', async (t) => {
  let seed = 7;
  const random = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  const clock = new SimulatedClock();
  const store = createStore();
  const targets = Array.from({ length: 12 }, (_, i) => store.create({ name: `t${i}`, counter: 0, text: '' }, { id: `target-${i}` }));
  const source = store.create({ source_counter: 100 });
  const baseline = store.size;
  const { arbiter, events } = harness(sharing(store, { clock, windowMs: 10, gracePeriodMs: 15, retry: { baseDelayMs: 2, maxDelayMs: 20 } }));
  const priorities = [Priority.LOW, Priority.NORMAL, Priority.HIGH, Priority.CRITICAL];
  const kinds = ['version_entity', 'modify_field', 'borrow_attribute', 'complex_update', 'promote_to_root', 'detach_entity'] as const;
  const sleep = (ms: number) => new Promise<void>((r) => clock.setTimeout(r, ms));
  const handles = [];
  let commits = 0;
  for (let wave = 0; wave < 25; wave++) {
    for (let b = 0; b < 6; b++) {
      const target = pick(targets);
      const size = 3 + Math.floor(random() * 6);
      for (let i = 0; i < size; i++) {
        const kind = pick(kinds);
        const work = Math.floor(random() * 120);
        handles.push(
          arbiter.submit({
            target: target.id,
            type: kind,
            priority: pick(priorities),
            execute: async ({ signal }) => {
              await sleep(work);
              if (signal.aborted) throw signal.reason;
              if (kind === 'borrow_attribute') store.borrow(target.id, source.id, 'source_counter', 'counter');
              else if (kind === 'version_entity') store.version(target.id);
              else if (kind === 'modify_field') store.put(`@${target.id}.text`, `w${wave}`);
              else if (kind === 'promote_to_root') store.promoteToRoot(target.id);
              else if (kind === 'detach_entity') {
                if (store.get(target.id)!.parentId !== undefined) store.detach(target.id);
              } else {
                await occ(store, target.id, (d: { counter: number }) => {
                  d.counter++;
                }, { clock, maxRetries: 3, retry: { baseDelayMs: 1 } });
              }
              commits++;
            },
          }),
        );
      }
    }
    // External writers make OCC retries happen on the same entities.
    for (let i = 0; i < 5; i++) store.update<{ counter: number }>(pick(targets).id, (d) => void d.counter--);
    for (let step = 0; step < 4; step++) {
      clock.increment(5);
      await flush();
    }
  }
  for (let i = 0; i < 400 && arbiter.metrics().inFlight > 0; i++) {
    clock.increment(5);
    await flush();
  }
  const m = arbiter.metrics();
  t.is(m.inFlight, 0);
  t.true(accounted(arbiter));
  const ops = arbiter.operations.query();
  t.is(ops.length, handles.length);
  const winners = ops.filter((o) => o.won);
  const zombies = winners.filter((o) => o.status === 'rejected');
  t.true(m.conflicts > 50, `conflicts ${m.conflicts}`);
  t.true(winners.length < handles.length / 2, 'most operations lose');
  t.true(zombies.length > 0, `the mix produces zombies (preemptions): ${JSON.stringify(events.filter((e) => e.type === "conflict.resolved").map((e) => (e as any).decision).join(""))}`);
  t.is(store.size - baseline, winners.length, 'store growth from operations == winners');
  t.is(records(store).length, winners.length);
  t.is(m.promoted, winners.length);
  t.is(m.zombies, zombies.length);
  t.is(records(store).filter((r) => r.data.status === 'rejected').length, zombies.length);
  t.true(ops.filter((o) => !o.won).every((o) => o.storeId === undefined), 'no loser has a store id');
  t.deepEqual(new Set(winners.map((o) => o.storeId)).size, winners.length);
  t.is(m.completed, commits);
  await arbiter.stop();
});

const op = (i: number) => ({ id: `op-${i}`, target: `account-${i % 20}`, type: 'deposit', priority: Priority.NORMAL });

test('createPromotion({ store }) - records go to a store of their own: the entity store holds only the entities', (t) => {
  const store = createStore();
  const accounts = Array.from({ length: 20 }, (_, i) => store.create({ balance: 100 }, { id: `account-${i}` }));
  const promotion = createPromotion({ store })!;
  t.true(promotion instanceof Promotion);
  t.not(promotion.records, store);
  t.true(promotion.owned, 'the record store was created for the arbiter');
  const ids = Array.from({ length: 20 }, (_, i) => promotion.promote(op(i))!);
  for (const [i, id] of ids.entries()) promotion.settle(id, `op-${i}`, i % 5 === 0 ? 'rejected' : 'completed', i % 5 === 0 ? 'preempted' : undefined);
  t.is(store.size, 20, '20 accounts give size 20');
  t.deepEqual(store.query().map((e) => e.id), accounts.map((a) => a.id), 'query() returns the accounts only');
  t.is(promotion.records.size, 20);
  t.true(promotion.records.query().every((e) => (e.data as OperationRecordData).kind === 'operation'));
  t.like(promotion, { promoted: 20, zombies: 4, errors: 0 });
  t.like(promotion.records.get<OperationRecordData>(ids[5]!)!.data, { operationId: 'op-5', status: 'rejected', code: 'preempted' });
  t.like(promotion.records.get<OperationRecordData>(ids[1]!)!.data, { operationId: 'op-1', status: 'completed' });
  t.is(promotion.store, promotion.records, 'the deprecated `store` is the record store');
});

test('createPromotion({ recordStore }) - records go where the user says: alone, or beside the entities on purpose', (t) => {
  const audit = createStore();
  const alone = createPromotion({ recordStore: audit })!;
  t.is(alone.records, audit);
  t.false(alone.owned);
  alone.promote(op(1));
  t.is(audit.size, 1);

  const store = createStore();
  store.create({ balance: 1 });
  const shared = createPromotion({ store, recordStore: store })!;
  t.is(shared.records, store);
  shared.promote(op(2));
  t.is(store.size, 2, 'the 0.1 behaviour, chosen knowingly');

  t.is(createPromotion({ store, recordStore: false }), undefined, 'no records at all');
  t.is(createPromotion({}), undefined, 'no store, no records');
  t.is(createPromotion({ onStoreError: () => {} }), undefined);
});

test('createPromotion(store, onStoreError) - the deprecated positional form keeps records in the given store', (t) => {
  const store = createStore();
  const promotion = createPromotion(store, undefined)!;
  t.is(promotion.records, store);
  promotion.promote(op(1));
  t.is(store.size, 1);
  t.is(createPromotion(undefined, undefined), undefined);
  t.throws(() => createPromotion({} as EntityStore, undefined), { instanceOf: ArbiterInputError, message: /`store`/ });
});

test('createPromotion() - bad stores, handlers and keys are ArbiterInputError naming the field', (t) => {
  const store = createStore();
  t.is(t.throws(() => createPromotion({ store: {} as EntityStore }), { instanceOf: ArbiterInputError })?.field, 'store');
  const bad = t.throws(() => createPromotion({ recordStore: { create() {} } as never }), { instanceOf: ArbiterInputError });
  t.is(bad?.field, 'recordStore');
  t.regex(bad!.message, /without get, has, update, delete/);
  t.is(t.throws(() => createPromotion({ store, recordStore: true as never }), { instanceOf: ArbiterInputError })?.field, 'recordStore');
  t.is(t.throws(() => createPromotion({ store, onStoreError: 'log' as never }), { instanceOf: ArbiterInputError })?.field, 'onStoreError');
  const typo = t.throws(() => createPromotion({ store, recordstore: store } as never), { instanceOf: ArbiterInputError });
  t.is(typo?.field, 'recordstore');
  t.regex(typo!.message, /did you mean `recordStore`\?/);
});

test('Promotion - a failing record store never stops promotion: errors counted, reported by phase, a throwing reporter contained', (t) => {
  const reports: Array<[PromotionPhase, string, string]> = [];
  const failing = { ...createStore(), create: () => {
    throw new Error('disk full');
  } } as EntityStore;
  const promotion = createPromotion({ recordStore: failing, onStoreError: (err, phase, id) => reports.push([phase, id, (err as Error).message]) })!;
  t.is(promotion.promote(op(1)), undefined);
  t.like(promotion, { promoted: 0, errors: 1 });

  const records = createStore();
  const readOnly = { ...records, update: () => {
    throw new Error('read-only');
  } } as EntityStore;
  const settling = createPromotion({ recordStore: readOnly, onStoreError: (err, phase, id) => reports.push([phase, id, (err as Error).message]) })!;
  const id = settling.promote(op(2))!;
  settling.settle(id, 'op-2', 'rejected', 'timeout');
  t.like(settling, { promoted: 1, zombies: 1, errors: 1 });
  t.is(records.get<OperationRecordData>(id)!.data.status, 'executing', 'the record keeps its last status');
  t.deepEqual(reports, [['promote', 'op-1', 'disk full'], ['settle', 'op-2', 'read-only']]);

  const loud = createPromotion({ recordStore: failing, onStoreError: () => {
    throw new Error('reporter down');
  } })!;
  t.notThrows(() => loud.promote(op(3)));
  t.is(loud.errors, 1);

  // A record removed by a cleanup before its operation ends: nothing to settle, no error.
  const gone = createPromotion({ recordStore: createStore() })!;
  const goneId = gone.promote(op(4))!;
  gone.records.delete(goneId);
  gone.settle(goneId, 'op-4', 'completed');
  t.like(gone, { promoted: 1, zombies: 0, errors: 0 });
});

test('Promotion - records are written from the operation, never from what a store callback could change', (t) => {
  const promotion = createPromotion({ store: createStore() })!;
  const operation = { ...op(7) };
  const id = promotion.promote(operation)!;
  operation.target = 'changed';
  t.is(promotion.records.get<OperationRecordData>(id)!.data.target, 'account-7', 'the record is a copy');
  t.true(Object.isFrozen(promotion.records.get(id)!.data));
});
