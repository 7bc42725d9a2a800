import test from 'ava';
import { ArbiterInputError, createStore, OccConflictError, type Entity } from '../../../src/index.js';

type Item = { sku: string; stock: number; tags: string[]; meta: { color: string } };
const item = (): Item => ({ sku: 'A-1', stock: 10, tags: ['new'], meta: { color: 'red' } });

function ticking(): () => bigint {
  let t = 1000n;
  return () => (t += 10n);
}

test('createStore() - bad options throw ArbiterInputError', (t) => {
  t.throws(() => createStore({ maxHistory: 0 }), { instanceOf: ArbiterInputError, message: /maxHistory/ });
  t.throws(() => createStore({ now: 5 as never }), { instanceOf: ArbiterInputError, message: /`now`/ });
  t.throws(() => createStore(null as never), { instanceOf: ArbiterInputError });
});

test('.create() - version 0, uuid v7 id, own root, frozen copy of the data', (t) => {
  const store = createStore();
  const data = item();
  const e = store.create(data);
  t.regex(e.id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  t.is(e.version, 0);
  t.is(e.rootId, e.id);
  t.is(e.parentId, undefined);
  t.is(typeof e.lastModified, 'bigint');
  t.deepEqual(e.data, data);
  t.true(Object.isFrozen(e) && Object.isFrozen(e.data) && Object.isFrozen(e.data.tags) && Object.isFrozen(e.data.meta));
  data.stock = 0;
  data.tags.push('leak');
  t.is(store.get<Item>(e.id)!.data.stock, 10, 'mutating the input after create does not leak in');
  t.deepEqual(store.get<Item>(e.id)!.data.tags, ['new']);
  t.is(store.size, 1);
  t.true(store.has(e.id));
});

test('.create() - custom ids, parents, and refused data', (t) => {
  const store = createStore();
  const car = store.create({ wheels: 4 }, { id: 'car-1' });
  t.is(car.id, 'car-1');
  const wheel = store.create({ size: 17 }, { parentId: 'car-1' });
  t.is(wheel.parentId, 'car-1');
  t.is(wheel.rootId, 'car-1');
  t.deepEqual(store.children('car-1'), [wheel.id]);
  t.throws(() => store.create({}, { id: 'car-1' }), { instanceOf: ArbiterInputError, message: /unique/ });
  t.throws(() => store.create({}, { id: 'a.b' }), { instanceOf: ArbiterInputError, message: /no "\."/ });
  t.throws(() => store.create({}, { parentId: 'nope' }), { instanceOf: ArbiterInputError, message: /`parentId`/ });
  for (const bad of [new Map(), new Date(), () => 1, { nested: new Set() }, Symbol('s')]) {
    t.throws(() => store.create(bad as never), { instanceOf: ArbiterInputError });
  }
  const cyclic: Record<string, unknown> = {};
  cyclic['self'] = cyclic;
  t.throws(() => store.create(cyclic), { instanceOf: ArbiterInputError, message: /cycle/ });
  t.is(store.size, 2, 'refused creations change nothing');
  // Shared (non-cyclic) references are plain data.
  const shared = { x: 1 };
  t.deepEqual(store.create({ a: shared, b: shared }).data, { a: { x: 1 }, b: { x: 1 } });
});

test('.get() - unknown id is undefined; a snapshot cannot be written through', (t) => {
  const store = createStore();
  t.is(store.get('nope'), undefined);
  const e = store.create(item());
  const snap = store.get<Item>(e.id)!;
  t.throws(() => {
    (snap.data as Item).stock = 0;
  }, { instanceOf: TypeError });
  t.throws(() => {
    (snap.data.tags as string[]).push('x');
  }, { instanceOf: TypeError });
  t.is(store.get<Item>(e.id)!.data.stock, 10);
});

test('.update() - draft mutation or returned value; version +1; lastModified increases', (t) => {
  const store = createStore({ now: ticking() });
  const e = store.create(item());
  const v1 = store.update<Item>(e.id, (d) => {
    d.stock -= 1;
  });
  t.is(v1.version, 1);
  t.is(v1.data.stock, 9);
  t.true(v1.lastModified > e.lastModified);
  const v2 = store.update<Item>(e.id, (d) => ({ ...d, stock: 5 }), { expectedVersion: 1 });
  t.is(v2.version, 2);
  t.is(v2.data.stock, 5);
  t.is(e.data.stock, 10, 'old snapshots stay as they were');
});

test('.update() - a stale expectedVersion throws OccConflictError { id, expected, actual } and changes nothing', (t) => {
  const store = createStore();
  const e = store.create(item());
  store.update<Item>(e.id, (d) => void (d.stock = 1));
  let called = false;
  const err = t.throws(
    () =>
      store.update<Item>(e.id, (d) => {
        called = true;
        d.stock = 99;
      }, { expectedVersion: 0 }),
    { instanceOf: OccConflictError },
  );
  t.like(err, { id: e.id, expected: 0, actual: 1, code: 'occ-conflict' });
  t.false(called, 'the updater is not called on a stale version');
  t.is(store.get<Item>(e.id)!.version, 1);
  t.is(store.history(e.id).length, 2);
});

test('.update() - a throwing callback leaves the entity exactly as it was', (t) => {
  const store = createStore();
  const e = store.create(item());
  const before = store.get(e.id);
  t.throws(
    () =>
      store.update<Item>(e.id, (d) => {
        d.stock = -1;
        d.tags.push('half-done');
        throw new Error('boom');
      }),
    { message: 'boom' },
  );
  t.is(store.get(e.id), before, 'same snapshot object: nothing was committed');
  t.deepEqual(store.get<Item>(e.id)!.data, item());
  t.is(store.history(e.id).length, 1);
  // A callback that returns something that is not plain data also changes nothing.
  t.throws(() => store.update(e.id, () => new Map() as never), { instanceOf: ArbiterInputError });
  t.throws(() => store.update(e.id, async () => item() as never), { instanceOf: ArbiterInputError, message: /synchronously/ });
  t.is(store.get(e.id), before);
});

test('.update() - bad arguments throw ArbiterInputError', (t) => {
  const store = createStore();
  const e = store.create(item());
  t.throws(() => store.update('nope', (d) => d), { instanceOf: ArbiterInputError, message: /`id` to be the id of an entity/ });
  t.throws(() => store.update(e.id, 'x' as never), { instanceOf: ArbiterInputError, message: /`fn`/ });
  t.throws(() => store.update(e.id, (d) => d, { expectedVersion: -1 }), { instanceOf: ArbiterInputError, message: /expectedVersion/ });
  t.throws(() => store.update(e.id, (d) => d, { expectedVersion: 1.5 }), { instanceOf: ArbiterInputError });
  t.is(store.get(e.id)!.version, 0);
});

test('.put() - sets an existing field by address, nested fields and array indices', (t) => {
  const store = createStore();
  const e = store.create(item());
  t.is(store.put(`@${e.id}.stock`, 7).version, 1);
  store.put(`@${e.id}.meta.color`, 'blue', { expectedVersion: 1 });
  store.put(`@${e.id}.tags.0`, 'sale');
  t.deepEqual(store.get<Item>(e.id)!.data, { sku: 'A-1', stock: 7, tags: ['sale'], meta: { color: 'blue' } });
  const value = { color: 'green' };
  store.put(`@${e.id}.meta`, value);
  value.color = 'leak';
  t.is(store.get<Item>(e.id)!.data.meta.color, 'green', 'the value is copied');
  t.throws(() => store.put(`@${e.id}.stock`, 1, { expectedVersion: 0 }), { instanceOf: OccConflictError });
});

test('.put() - malformed addresses and unknown fields are ArbiterInputError, nothing changes', (t) => {
  const store = createStore();
  const e = store.create(item());
  for (const bad of ['stock', `${e.id}.stock`, `@${e.id}`, `@${e.id}.`, `@${e.id}..stock`, '@.stock', `@${e.id}.st ock`, 42]) {
    t.throws(() => store.put(bad as string, 1), { instanceOf: ArbiterInputError, message: /Expected `address`/ }, String(bad));
  }
  for (const unknown of ['price', 'meta.size', 'tags.1', 'tags.-1', 'tags.01', 'stock.x']) {
    t.throws(() => store.put(`@${e.id}.${unknown}`, 1), { instanceOf: ArbiterInputError, message: /existing field/ }, unknown);
  }
  t.throws(() => store.put('@nope.stock', 1), { instanceOf: ArbiterInputError, message: /id of an entity/ });
  t.throws(() => store.put(`@${e.id}.stock`, new Date() as never), { instanceOf: ArbiterInputError });
  t.is(store.get(e.id)!.version, 0);
});

test('.borrow() - copies a field from one entity to another', (t) => {
  const store = createStore();
  const source = store.create({ source_counter: 100, source_values: [1, 2, 3] });
  const target = store.create({ counter: 0, values: [] as number[] });
  const after = store.borrow(target.id, source.id, 'source_counter', 'counter');
  t.is(after.version, 1);
  t.is((after.data as { counter: number }).counter, 100);
  store.borrow(target.id, source.id, 'source_values', 'values', { expectedVersion: 1 });
  t.deepEqual(store.get<{ values: number[] }>(target.id)!.data.values, [1, 2, 3]);
  t.is(store.get(source.id)!.version, 0, 'the source is not changed');
  t.throws(() => store.borrow(target.id, source.id, 'source_counter', 'counter', { expectedVersion: 0 }), { instanceOf: OccConflictError });
});

test('.borrow() - a missing source field, unknown target field or unknown id changes nothing', (t) => {
  const store = createStore();
  const source = store.create({ a: 1 });
  const target = store.create({ b: 2 });
  t.throws(() => store.borrow(target.id, source.id, 'missing', 'b'), { instanceOf: ArbiterInputError, message: /`sourceField`/ });
  t.throws(() => store.borrow(target.id, source.id, 'a', 'missing'), { instanceOf: ArbiterInputError, message: /`targetField`/ });
  t.throws(() => store.borrow(target.id, 'nope', 'a', 'b'), { instanceOf: ArbiterInputError, message: /`sourceId`/ });
  t.throws(() => store.borrow('nope', source.id, 'a', 'b'), { instanceOf: ArbiterInputError, message: /`targetId`/ });
  t.throws(() => store.borrow(target.id, source.id, '', 'b'), { instanceOf: ArbiterInputError });
  t.is(store.get(target.id)!.version, 0);
});

test('.version() and .history() - lineage keeps every version, oldest first', (t) => {
  const store = createStore({ now: ticking() });
  const e = store.create({ n: 0 });
  store.update<{ n: number }>(e.id, (d) => void d.n++);
  const forced = store.version(e.id, { expectedVersion: 1 });
  t.is(forced.version, 2);
  t.deepEqual(forced.data, { n: 1 }, 'forced versioning keeps the data');
  store.put(`@${e.id}.n`, 5);
  const h = store.history<{ n: number }>(e.id);
  t.deepEqual(h.map((v) => v.version), [0, 1, 2, 3]);
  t.deepEqual(h.map((v) => v.data.n), [0, 1, 1, 5]);
  for (let i = 1; i < h.length; i++) t.true(h[i]!.lastModified > h[i - 1]!.lastModified);
  t.is(h[3], store.get<{ n: number }>(e.id));
  t.throws(() => store.version(e.id, { expectedVersion: 0 }), { instanceOf: OccConflictError });
  t.throws(() => store.history('nope'), { instanceOf: ArbiterInputError });
  (h as Entity[]).length = 0;
  t.is(store.history(e.id).length, 4, 'history returns a copy');
});

test('createStore({ maxHistory }) - keeps the latest versions only', (t) => {
  const store = createStore({ maxHistory: 3 });
  const e = store.create({ n: 0 });
  for (let i = 1; i <= 5; i++) store.put(`@${e.id}.n`, i);
  t.deepEqual(store.history<{ n: number }>(e.id).map((v) => v.version), [3, 4, 5]);
  t.is(store.get<{ n: number }>(e.id)!.data.n, 5);
});

test('.attach() - moves a subtree; every moved entity gets the new root and a new version', (t) => {
  const store = createStore();
  const a = store.create({ name: 'a' });
  const b = store.create({ name: 'b' });
  const c = store.create({ name: 'c' }, { parentId: b.id });
  const d = store.create({ name: 'd' }, { parentId: c.id });
  const moved = store.attach(b.id, a.id, { expectedVersion: 0 });
  t.like(moved, { parentId: a.id, rootId: a.id, version: 1 });
  t.like(store.get(c.id), { parentId: b.id, rootId: a.id, version: 1 });
  t.like(store.get(d.id), { parentId: c.id, rootId: a.id, version: 1 });
  t.is(store.get(a.id)!.version, 0, 'the new parent is not versioned');
  t.deepEqual(store.children(a.id), [b.id]);
  t.is(store.attach(b.id, a.id), store.get(b.id)!, 'attaching to the same parent is a no-op');
  t.is(store.get(b.id)!.version, 1);
  t.throws(() => store.attach(b.id, a.id, { expectedVersion: 0 }), { instanceOf: OccConflictError });
});

test('.attach() - a cycle (self or descendant) or unknown id is ArbiterInputError; the store is unchanged', (t) => {
  const store = createStore();
  const a = store.create({});
  const b = store.create({}, { parentId: a.id });
  const c = store.create({}, { parentId: b.id });
  const before = store.query();
  t.throws(() => store.attach(a.id, c.id), { instanceOf: ArbiterInputError, message: /cycle/ });
  t.throws(() => store.attach(a.id, a.id), { instanceOf: ArbiterInputError, message: /cycle/ });
  t.throws(() => store.attach(a.id, 'nope'), { instanceOf: ArbiterInputError, message: /`parentId`/ });
  t.throws(() => store.attach('nope', a.id), { instanceOf: ArbiterInputError, message: /`childId`/ });
  t.deepEqual(store.query(), before);
});

test('.detach() and .promoteToRoot() - the subtree becomes its own tree', (t) => {
  const store = createStore();
  const a = store.create({});
  const b = store.create({}, { parentId: a.id });
  const c = store.create({}, { parentId: b.id });
  const detached = store.detach(b.id);
  t.like(detached, { parentId: undefined, rootId: b.id, version: 1 });
  t.like(store.get(c.id), { rootId: b.id, version: 1 });
  t.deepEqual(store.children(a.id), []);
  t.throws(() => store.detach(b.id), { instanceOf: ArbiterInputError, message: /attached entity/ }, 'detaching a root');
  const root = store.get(b.id);
  t.is(store.promoteToRoot(b.id) as unknown, root, 'promoting a root is a no-op');
  const promoted = store.promoteToRoot(c.id, { expectedVersion: 1 });
  t.like(promoted, { parentId: undefined, rootId: c.id, version: 2 });
  t.deepEqual(store.children(b.id), []);
  t.throws(() => store.promoteToRoot('nope'), { instanceOf: ArbiterInputError });
});

test('.delete() - removes the entity and its history; its children become roots', (t) => {
  const store = createStore();
  const a = store.create({});
  const b = store.create({}, { parentId: a.id });
  const c = store.create({}, { parentId: b.id });
  t.throws(() => store.delete(b.id, { expectedVersion: 3 }), { instanceOf: OccConflictError });
  t.true(store.has(b.id));
  t.true(store.delete(b.id, { expectedVersion: 0 }));
  t.false(store.has(b.id));
  t.is(store.get(b.id), undefined);
  t.throws(() => store.history(b.id), { instanceOf: ArbiterInputError });
  t.like(store.get(c.id), { parentId: undefined, rootId: c.id });
  t.deepEqual(store.children(a.id), []);
  t.is(store.size, 2);
  t.false(store.delete(b.id), 'deleting twice is idempotent');
  t.throws(() => store.delete(''), { instanceOf: ArbiterInputError });
});

test('.query() - current snapshots matching a predicate, in creation order', (t) => {
  const store = createStore();
  const xs = [3, 1, 4, 1, 5].map((n) => store.create({ n }));
  store.put(`@${xs[0]!.id}.n`, 0);
  t.deepEqual(store.query<{ n: number }>((e) => e.data.n === 1).map((e) => e.id), [xs[1]!.id, xs[3]!.id]);
  t.deepEqual(store.query<{ n: number }>().map((e) => e.data.n), [0, 1, 4, 1, 5]);
  t.throws(() => store.query('x' as never), { instanceOf: ArbiterInputError });
});

test('createStore() - lastModified is strictly increasing even when the clock stands still', (t) => {
  const store = createStore({ now: () => 42n });
  const a = store.create({});
  const b = store.create({});
  const a1 = store.version(a.id);
  t.true(b.lastModified > a.lastModified);
  t.true(a1.lastModified > b.lastModified);
});

test('createStore(options) - each option is read once; later answers of a getter do not matter', (t) => {
  let reads = 0;
  const options = {
    get maxHistory() {
      return ++reads === 1 ? 2 : 0;
    },
  };
  const store = createStore(options);
  t.is(reads, 1);
  const e = store.create({ n: 0 });
  for (let i = 1; i <= 3; i++) store.update<{ n: number }>(e.id, (d) => void (d.n = i));
  t.deepEqual(store.history<{ n: number }>(e.id).map((v) => v.data.n), [2, 3], 'the first answer (2) bounds the history');
  t.is(reads, 1);
});

test('createStore(options) / .create(data, options) - unknown keys are ArbiterInputError naming the key, with a suggestion', (t) => {
  const typo = t.throws(() => createStore({ maxHistroy: 3 } as never), { instanceOf: ArbiterInputError });
  t.is(typo?.field, 'maxHistroy');
  t.regex(typo!.message, /did you mean `maxHistory`\?/);
  t.is(t.throws(() => createStore(JSON.parse('{"__proto__": {"maxHistory": 1}}')), { instanceOf: ArbiterInputError })?.field, '__proto__');
  const store = createStore();
  const parent = store.create({});
  const err = t.throws(() => store.create({}, { parentid: parent.id } as never), { instanceOf: ArbiterInputError });
  t.is(err?.field, 'parentid');
  t.regex(err!.message, /did you mean `parentId`\?/);
  t.is(store.size, 1, 'nothing was created');
});

test('write options - a typo (expectedVerison) is refused by every write instead of writing without the check', (t) => {
  const store = createStore();
  const a = store.create({ n: 0 });
  const b = store.create({ n: 1 }, { parentId: a.id });
  const bad = { expectedVerison: 0 } as never;
  const writes: Array<[string, () => unknown]> = [
    ['update', () => store.update(a.id, () => ({ n: 9 }), bad)],
    ['put', () => store.put(`@${a.id}.n`, 9, bad)],
    ['borrow', () => store.borrow(a.id, b.id, 'n', 'n', bad)],
    ['version', () => store.version(a.id, bad)],
    ['promoteToRoot', () => store.promoteToRoot(b.id, bad)],
    ['attach', () => store.attach(b.id, a.id, bad)],
    ['detach', () => store.detach(b.id, bad)],
    ['delete', () => store.delete(a.id, bad)],
  ];
  for (const [name, write] of writes) {
    const err = t.throws(write, { instanceOf: ArbiterInputError }, name);
    t.is(err?.field, 'expectedVerison', name);
    t.regex(err!.message, /did you mean `expectedVersion`\?/, name);
  }
  t.is(store.get(a.id)!.version, 0);
  t.is(store.get(b.id)!.version, 0);
  t.is(store.size, 2);
});

test('write options - read once: a getter that answers the check and then changes cannot slip a write through', (t) => {
  const store = createStore();
  const a = store.create({ n: 0 });
  let reads = 0;
  const stale = {
    get expectedVersion() {
      reads++;
      return reads === 1 ? 5 : 0;
    },
  };
  t.throws(() => store.update(a.id, () => ({ n: 1 }), stale), { message: /expected 5, found 0/ });
  t.is(reads, 1);
  t.is(store.get(a.id)!.version, 0);
});

test('createStore({ now }) - a clock that answers no bigint is an ArbiterInputError at the write, which changes nothing', (t) => {
  let value: unknown = 5n;
  const store = createStore({ now: () => value as bigint });
  const e = store.create({ n: 0 });
  value = 7;
  t.is(t.throws(() => store.update(e.id, () => ({ n: 1 })), { instanceOf: ArbiterInputError })?.field, 'now');
  t.throws(() => store.create({}), { instanceOf: ArbiterInputError });
  t.is(store.size, 1);
  t.is(store.get(e.id)!.version, 0);
});

test('.update() - a callback that writes the same entity gets OccConflictError; its own write stands', (t) => {
  const store = createStore();
  const e = store.create({ n: 0 });
  const err = t.throws(
    () =>
      store.update<{ n: number }>(e.id, (d) => {
        store.update<{ n: number }>(e.id, (inner) => void (inner.n = 100));
        d.n = 1;
      }),
    { instanceOf: OccConflictError },
  );
  t.like(err, { id: e.id, expected: 0, actual: 1 });
  t.deepEqual(store.get(e.id)!.data, { n: 100 }, 'the inner write is not silently overwritten');
  t.throws(() => store.update(e.id, () => void store.delete(e.id)), { instanceOf: ArbiterInputError, message: /delete/ });
  t.false(store.has(e.id));
});

test('.query() - a predicate that creates entities does not make the query run over them', (t) => {
  const store = createStore();
  store.create({ n: 1 });
  store.create({ n: 2 });
  let calls = 0;
  const found = store.query(() => {
    calls++;
    store.create({ n: 0 }); // would never end if the query followed the live map
    return true;
  });
  t.is(calls, 2);
  t.deepEqual(found.map((e) => e.data), [{ n: 1 }, { n: 2 }]);
  t.is(store.size, 4);
});
