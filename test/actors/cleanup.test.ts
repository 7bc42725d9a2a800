import test from 'ava';
import { SimulatedClock } from 'xstate';
import { FinalRecords, resolveCleanupOptions, type CleanupRecord } from '../../actors/cleanup.js';
import { ArbiterInputError, createArbiter, createStore, Priority, type ArbiterOptions } from '../../src/index.js';
import { advance, flush } from '../helpers/index.js';


function setup(options: ArbiterOptions = {}) {
  const clock = new SimulatedClock();
  const arbiter = createArbiter({ clock, random: () => 0.5, windowMs: 100, ...options });
  return { clock, arbiter };
}

/** A winner that is preempted: it had a store record, so it becomes a zombie. */
async function zombieScenario(options: ArbiterOptions) {
  const store = createStore();
  // The records go into the same store on purpose (`recordStore: store`): a store of your own keeps
  // completed records; only zombies leave it with their audit record.
  const { clock, arbiter } = setup({ gracePeriodMs: 50, store, recordStore: store, ...options });
  const low = arbiter.submit({
    target: 'acct',
    priority: Priority.LOW,
    execute: ({ signal }) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted')))),
  });
  await advance(clock, 100);
  await advance(clock, 100);
  const high = arbiter.submit({ target: 'acct', priority: Priority.HIGH, execute: () => 'done' });
  await advance(clock, 100);
  await high.result;
  await low.result.catch(() => undefined);
  return { store, clock, arbiter, low, high };
}

const operationRecords = (store: ReturnType<typeof createStore>) =>
  store.query((e) => (e.data as { kind?: string }).kind === 'operation').map((e) => (e.data as { operationId: string; status: string }));

test("cleanup: 'immediate' - final records are gone at once and the zombie's store record is removed", async (t) => {
  const { store, arbiter, low, high } = await zombieScenario({ cleanup: { strategy: 'immediate' } });
  t.is(arbiter.operations.get(low.id), undefined);
  t.is(arbiter.operations.get(high.id), undefined);
  t.is(arbiter.operations.size, 0);
  t.deepEqual(arbiter.operations.query(), []);
  // Only the completed winner keeps its store record; the preempted one (a zombie) is gone.
  t.deepEqual(operationRecords(store), [{ kind: 'operation', operationId: high.id, target: 'acct', type: 'operation', priority: Priority.HIGH, status: 'completed' }]);
  const m = arbiter.metrics();
  t.is(m.zombies, 1);
  t.is(m.retained, 0);
  t.is(arbiter.health().checks.zombieCount!.value, 0);
  await arbiter.stop();
});

test("cleanup - a record store of the arbiter's own keeps the audit trail only: every record leaves with its operation's", async (t) => {
  const store = createStore();
  store.create({ account: 'acct', balance: 100 });
  const { clock, arbiter } = setup({ store, cleanup: { strategy: 'deferred', retentionMs: 1000 } });
  const a = arbiter.submit({ target: 'acct', priority: Priority.HIGH, execute: () => 'a' });
  const b = arbiter.submit({ target: 'other', priority: Priority.HIGH, execute: () => 'b' });
  await advance(clock, 100);
  await Promise.all([a.result, b.result]);
  t.is(store.size, 1, 'your store holds only your entities');
  t.not(arbiter.recordStore, store);
  t.is(operationRecords(arbiter.recordStore!).length, 2);
  await advance(clock, 1000);
  t.is(arbiter.operations.size, 0);
  t.is(operationRecords(arbiter.recordStore!).length, 0, 'completed records left with their audit records');
  t.is(arbiter.recordStore!.size, 0);
  await arbiter.stop();
});

test("cleanup: 'deferred' - records stay retentionMs, then one sweep removes them with the zombie's store record", async (t) => {
  const { store, clock, arbiter, low, high } = await zombieScenario({ cleanup: { strategy: 'deferred', retentionMs: 1000 } });
  t.is(arbiter.operations.get(low.id)?.code, 'preempted');
  t.is(arbiter.operations.get(high.id)?.status, 'completed');
  t.is(operationRecords(store).length, 2);
  t.is(arbiter.health().checks.zombieCount!.value, 1);
  await advance(clock, 999);
  t.is(arbiter.operations.size, 2, 'still within retention');
  await advance(clock, 1);
  t.is(arbiter.operations.size, 0);
  t.is(arbiter.operations.get(low.id), undefined);
  t.deepEqual(operationRecords(store).map((r) => r.operationId), [high.id]);
  t.is(arbiter.health().checks.zombieCount!.value, 0);
  await arbiter.stop();
});

test("cleanup: 'lazy' - expired records stay until a read meets them", async (t) => {
  const { store, clock, arbiter, low, high } = await zombieScenario({ cleanup: { strategy: 'lazy', maxAgeMs: 500 } });
  await advance(clock, 10_000);
  // Nothing ran in the meantime: the records (and the zombie's store record) are still there.
  t.is(arbiter.operations.size, 2);
  t.is(operationRecords(store).length, 2);
  t.is(arbiter.operations.get(low.id), undefined, 'a get that meets an expired record removes it');
  t.is(arbiter.operations.size, 1);
  t.deepEqual(operationRecords(store).map((r) => r.operationId), [high.id]);
  t.deepEqual(arbiter.operations.query({ status: 'completed' }), []);
  t.is(arbiter.operations.size, 0, 'a query removed the rest');
  t.is(arbiter.operations.get(high.id), undefined);
  await arbiter.stop();
});

test("cleanup: 'lazy' - records younger than maxAgeMs are kept by reads", async (t) => {
  const { clock, arbiter } = setup({ cleanup: { strategy: 'lazy', maxAgeMs: 500 } });
  const a = arbiter.submit({ target: 'a', execute: () => 1 });
  await advance(clock, 100);
  await advance(clock, 500);
  t.is(arbiter.operations.get(a.id)?.status, 'completed');
  t.is(arbiter.operations.query().length, 1);
  await advance(clock, 1);
  t.is(arbiter.operations.query().length, 0);
  await arbiter.stop();
});

test('cleanup: maxRetained bounds every strategy, oldest first', async (t) => {
  for (const strategy of ['deferred', 'lazy'] as const) {
    const { clock, arbiter } = setup({ cleanup: { strategy, maxRetained: 3 } });
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      ids.push(arbiter.submit({ target: `t${i}`, execute: () => i }).id);
      await advance(clock, 100);
    }
    t.is(arbiter.operations.size, 3, strategy);
    t.deepEqual(arbiter.operations.query().map((o) => o.id), ids.slice(2), strategy);
    await arbiter.stop();
  }
});

test('cleanup: the default keeps records 30 minutes (deferred)', async (t) => {
  const { clock, arbiter } = setup();
  const a = arbiter.submit({ target: 'a', execute: () => 1 });
  await advance(clock, 100);
  await advance(clock, 30 * 60_000 - 1);
  t.is(arbiter.operations.get(a.id)?.status, 'completed');
  await advance(clock, 1);
  t.is(arbiter.operations.get(a.id), undefined);
  await arbiter.stop();
});

test('cleanup: a parentId must still be known (immediate forgets finished parents)', async (t) => {
  const { clock, arbiter } = setup({ cleanup: { strategy: 'immediate' } });
  const parent = arbiter.submit({ target: 'p', priority: Priority.CRITICAL, execute: () => 1 });
  const child = arbiter.submit({ target: 'c', parentId: parent.id, execute: () => 2 });
  t.is(arbiter.operations.get(child.id)?.effectivePriority, Priority.CRITICAL);
  await advance(clock, 100);
  t.throws(() => arbiter.submit({ target: 'c', parentId: parent.id, execute: () => 3 }), { instanceOf: ArbiterInputError });
  await arbiter.stop();
});

interface Rec extends CleanupRecord {
  readonly id: string;
}

function host(now: { t: number }) {
  const timers: Array<{ fn: () => void; at: number; id: number }> = [];
  let next = 0;
  let created = 0;
  const dropped: string[] = [];
  return {
    timers,
    dropped,
    get created() {
      return created;
    },
    run(to: number) {
      now.t = to;
      for (;;) {
        const due = timers.filter((x) => x.at <= to).sort((a, b) => a.at - b.at)[0];
        if (!due) return;
        timers.splice(timers.indexOf(due), 1);
        due.fn();
      }
    },
    host: {
      now: () => now.t,
      setTimer: (fn: () => void, ms: number) => {
        created++;
        const id = ++next;
        timers.push({ fn, at: now.t + ms, id });
        return id;
      },
      clearTimer: (id: unknown) => {
        const i = timers.findIndex((x) => x.id === id);
        if (i >= 0) timers.splice(i, 1);
      },
      toRecord: (r: Rec) => r,
      dropZombie: (r: Rec) => {
        dropped.push(r.id);
      },
    },
  };
}

test('FinalRecords - deferred uses one timer for any number of records', (t) => {
  const now = { t: 0 };
  const h = host(now);
  const records = new FinalRecords<Rec, Rec>(resolveCleanupOptions({ strategy: 'deferred', retentionMs: 100 }), h.host);
  for (let i = 0; i < 1000; i++) {
    now.t = i / 10;
    records.add({ id: `r${i}`, status: 'completed', won: true, finishedAt: now.t });
    t.true(h.timers.length <= 1);
  }
  t.is(h.created, 1);
  h.run(150);
  // Records finished at or before t=50 (r0..r500) are 100 ms old: expired. One timer is re-armed.
  t.is(records.size, 499);
  t.truthy(records.get('r501'));
  t.is(records.get('r500'), undefined);
  t.is(h.timers.length, 1);
  h.run(1000);
  t.is(records.size, 0);
  t.is(h.timers.length, 0);
  t.is(records.cleaned, 1000);
});

test('FinalRecords - zombies: counted, oldest age, dropped with their record', (t) => {
  const now = { t: 0 };
  const h = host(now);
  const records = new FinalRecords<Rec, Rec>(resolveCleanupOptions({ strategy: 'deferred', retentionMs: 100 }), h.host);
  records.add({ id: 'ok', status: 'completed', won: true, finishedAt: 0 });
  records.add({ id: 'lost', status: 'rejected', won: false, finishedAt: 0 });
  now.t = 10;
  records.add({ id: 'z1', status: 'rejected', won: true, finishedAt: 10 });
  now.t = 20;
  records.add({ id: 'z2', status: 'rejected', won: true, finishedAt: 20 });
  t.is(records.zombieCount, 2);
  t.is(records.oldestZombieAt(), 10);
  h.run(110);
  t.deepEqual(h.dropped, ['z1']);
  t.is(records.zombieCount, 1);
  t.is(records.oldestZombieAt(), 20);
  h.run(120);
  t.deepEqual(h.dropped, ['z1', 'z2']);
  t.is(records.oldestZombieAt(), undefined);
});

test('FinalRecords - a failing zombie removal is counted and logged, nothing else', async (t) => {
  const now = { t: 0 };
  const logged: Array<[object, string]> = [];
  const logger = { debug() {}, info() {}, warn() {}, error: (obj: object, msg?: string) => logged.push([obj, msg ?? '']) };
  const records = new FinalRecords<Rec, Rec>(resolveCleanupOptions({ strategy: 'immediate' }), {
    now: () => now.t,
    setTimer: () => 0,
    clearTimer: () => undefined,
    toRecord: (r) => r,
    dropZombie: (r) => {
      if (r.id === 'sync') throw new Error('store down');
      return Promise.reject(new Error('async store down'));
    },
    logger,
  });
  t.notThrows(() => records.add({ id: 'sync', status: 'rejected', won: true, finishedAt: 0 }));
  records.add({ id: 'async', status: 'rejected', won: true, finishedAt: 0 });
  await flush();
  t.is(records.failures, 2);
  t.is(logged.length, 2);
  t.is(records.size, 0);
});

test('cleanup: a store that fails to delete never affects operations', async (t) => {
  const store = createStore();
  const failing = new Proxy(store, {
    get(target, key, receiver) {
      if (key === 'delete') return () => { throw new Error('delete failed'); };
      const v = Reflect.get(target, key, receiver);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
  const { clock, arbiter } = setup({ gracePeriodMs: 50, store: failing, cleanup: { strategy: 'immediate' } });
  const low = arbiter.submit({ target: 'a', priority: 1, execute: ({ signal }) => new Promise((_, rej) => signal.addEventListener('abort', () => rej(new Error('x')))) });
  await advance(clock, 200);
  const high = arbiter.submit({ target: 'a', priority: 9, execute: () => 'ok' });
  await advance(clock, 100);
  t.is(await high.result, 'ok');
  t.is(await low.result.then(() => 'completed', (e: { code: string }) => e.code), 'preempted');
  t.is(arbiter.metrics().unaccounted, 0);
  const next = arbiter.submit({ target: 'a', execute: () => 'still works' });
  await advance(clock, 100);
  t.is(await next.result, 'still works');
  await arbiter.stop();
});

test('createArbiter() - rejects bad cleanup options', (t) => {
  const cases: Array<[unknown, string]> = [
    ['immediate', 'cleanup'],
    [{ strategy: 'eager' }, 'cleanup.strategy'],
    [{ strategy: 'deferred', retentionMs: -1 }, 'cleanup.retentionMs'],
    [{ strategy: 'lazy', maxAgeMs: Number.NaN }, 'cleanup.maxAgeMs'],
    [{ maxRetained: 1.5 }, 'cleanup.maxRetained'],
    [{ strategy: 'immediate', retentionMs: 10 }, 'cleanup.strategy'],
  ];
  for (const [cleanup, field] of cases) {
    const err = t.throws(() => createArbiter({ cleanup } as unknown as ArbiterOptions), { instanceOf: ArbiterInputError });
    t.is(err!.field, field);
  }
});
