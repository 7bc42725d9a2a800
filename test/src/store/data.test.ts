import test from 'ava';
import fc from 'fast-check';
import { ArbiterInputError, createStore, occ, type Entity } from '../../../src/index.js';

// Keys that mean something to JavaScript objects. As entity data they are ordinary own keys.
const SPECIAL = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', 'polluted'] as const;

/** A structural view of a value that sees own keys only, in order, and never reads through a prototype. */
type Tree = null | boolean | number | string | bigint | undefined | { array: Tree[] } | { object: Array<[string, Tree]> };
function tree(v: unknown): Tree {
  if (typeof v !== 'object' || v === null) return v as Tree;
  if (Array.isArray(v)) return { array: v.map(tree) };
  return { object: Object.keys(v).map((k) => [k, tree(Object.getOwnPropertyDescriptor(v, k)!.value)]) };
}

/** Every object of a copy is a frozen ordinary object (Object.prototype), at every depth. */
function ordinaryAndFrozen(v: unknown): boolean {
  if (typeof v !== 'object' || v === null) return true;
  if (!Object.isFrozen(v)) return false;
  if (Array.isArray(v)) return v.every(ordinaryAndFrozen);
  if (Object.getPrototypeOf(v) !== Object.prototype) return false;
  return Object.keys(v).every((k) => ordinaryAndFrozen(Object.getOwnPropertyDescriptor(v, k)!.value));
}

const show = (v: Tree) => JSON.stringify(v, (_, x: unknown) => (typeof x === 'bigint' ? `${x}n` : x));

const objectPrototypeKeys = () => Reflect.ownKeys(Object.prototype).length + Reflect.ownKeys(Array.prototype).length;
function unpolluted(): boolean {
  const probe = {} as Record<string, unknown>;
  return probe['polluted'] === undefined && ([] as unknown as Record<string, unknown>)['polluted'] === undefined && probe['x'] === undefined;
}

/** JSON texts whose objects use the special keys (and others) at any depth: what `JSON.parse` meets. */
const { json } = fc.letrec<{ json: string }>((tie) => ({
  json: fc.oneof(
    { maxDepth: 4, depthSize: 'small' },
    fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.string({ maxLength: 6 }), fc.boolean(), fc.constant(null)).map((v) => JSON.stringify(v)),
    fc.array(tie('json'), { maxLength: 4 }).map((xs) => `[${xs.join(',')}]`),
    fc
      .array(fc.tuple(fc.oneof(fc.constantFrom(...SPECIAL), fc.string({ maxLength: 5 })), tie('json')), { maxLength: 5 })
      .map((es) => `{${es.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`),
  ),
}));
const anyJson = fc.oneof(json, fc.json());

/** Objects built in code with the special keys as own properties (Object.fromEntries defines them). */
const { built } = fc.letrec<{ built: unknown }>((tie) => ({
  built: fc.oneof(
    { maxDepth: 4, depthSize: 'small' },
    fc.oneof(fc.integer(), fc.string({ maxLength: 6 }), fc.boolean(), fc.constant(null), fc.bigInt()),
    fc.array(tie('built'), { maxLength: 4 }),
    fc.array(fc.tuple(fc.oneof(fc.constantFrom(...SPECIAL), fc.string({ maxLength: 5 })), tie('built')), { maxLength: 5 }).map((es) => Object.fromEntries(es)),
  ),
}));
const anyData = fc.oneof(anyJson.map((text) => JSON.parse(text) as unknown), built);

test('.create() / .get() / .update() - own "__proto__", "constructor" and "prototype" keys stay own data', (t) => {
  const store = createStore();
  const input = JSON.parse('{"__proto__": {"polluted": 1}, "constructor": {"prototype": {"x": 1}}, "prototype": 2, "a": 1}');
  const e = store.create(input);
  const data = e.data as Record<string, unknown>;
  t.deepEqual(Object.keys(data), ['__proto__', 'constructor', 'prototype', 'a']);
  t.is(Object.getPrototypeOf(data), Object.prototype, 'the prototype was not replaced');
  t.is(data['polluted'], undefined, 'nothing reads through inheritance');
  t.deepEqual(tree(Object.getOwnPropertyDescriptor(data, '__proto__')!.value), { object: [['polluted', 1]] });
  t.true(ordinaryAndFrozen(data));
  t.is(store.get(e.id), e);

  // The entity can be written again, by mutation and by returning a spread copy.
  const u1 = store.update<Record<string, unknown>>(e.id, (d) => void (d['a'] = 2));
  t.deepEqual(Object.keys(u1.data), ['__proto__', 'constructor', 'prototype', 'a']);
  const u2 = store.update<Record<string, unknown>>(e.id, (d) => ({ ...d, b: 3 }));
  t.deepEqual(tree(u2.data), tree({ ...JSON.parse('{"__proto__": {"polluted": 1}, "constructor": {"prototype": {"x": 1}}, "prototype": 2}'), a: 2, b: 3 }));
  t.deepEqual(store.history(e.id).map((v) => Object.keys(v.data as object)), [
    ['__proto__', 'constructor', 'prototype', 'a'],
    ['__proto__', 'constructor', 'prototype', 'a'],
    ['__proto__', 'constructor', 'prototype', 'a', 'b'],
  ]);
  t.is(store.query((x) => Object.hasOwn(x.data as object, '__proto__')).length, 1);
  t.true(unpolluted());
});

test('.create() - a primitive or array "__proto__" value at depth is kept, not dropped', (t) => {
  const store = createStore();
  const e = store.create(JSON.parse('{"list": [{"__proto__": 5}, {"__proto__": [1, {"__proto__": null}]}]}'));
  t.deepEqual(tree(e.data), {
    object: [['list', { array: [{ object: [['__proto__', 5]] }, { object: [['__proto__', { array: [1, { object: [['__proto__', null]] }] }]] }] }]],
  });
  t.true(ordinaryAndFrozen(e.data));
});

test('.put() / .borrow() - addresses and field paths name own fields only, "__proto__" included', (t) => {
  const store = createStore();
  const target = store.create(JSON.parse('{"__proto__": {"polluted": 1}, "constructor": "c", "n": 0}'));
  const source = store.create(JSON.parse('{"__proto__": {"polluted": 9}, "prototype": {"deep": [7]}}'));
  const before = objectPrototypeKeys();

  const put = store.put(`@${target.id}.__proto__.polluted`, 2);
  t.deepEqual(tree(put.data), { object: [['__proto__', { object: [['polluted', 2]] }], ['constructor', 'c'], ['n', 0]] });
  store.put(`@${target.id}.__proto__`, JSON.parse('{"__proto__": 3}'));
  store.put(`@${target.id}.constructor`, 'd');
  store.borrow(target.id, source.id, 'prototype.deep.0', 'n');
  const borrowed = store.borrow(target.id, source.id, '__proto__', 'constructor');
  t.deepEqual(tree(borrowed.data), {
    object: [['__proto__', { object: [['__proto__', 3]] }], ['constructor', { object: [['polluted', 9]] }], ['n', 7]],
  });
  t.true(ordinaryAndFrozen(borrowed.data));

  // A key the data does not own is not a field, whatever Object.prototype has.
  const plain = store.create({ n: 0 });
  for (const field of ['__proto__', 'constructor', 'prototype', 'toString', '__proto__.polluted', 'constructor.prototype', 'n.constructor']) {
    const put = t.throws(() => store.put(`@${plain.id}.${field}`, 1), { instanceOf: ArbiterInputError }, field);
    t.is(put?.field, 'address');
    t.is(t.throws(() => store.borrow(plain.id, target.id, 'n', field), { instanceOf: ArbiterInputError })?.field, 'targetField');
    t.is(t.throws(() => store.borrow(target.id, plain.id, field, 'n'), { instanceOf: ArbiterInputError })?.field, 'sourceField');
  }
  t.is(store.get(plain.id)!.version, 0, 'refused writes changed nothing');
  t.is(objectPrototypeKeys(), before);
  t.true(unpolluted());
});

test('ids - "__proto__", "constructor" and "prototype" are ordinary entity ids', (t) => {
  const store = createStore();
  const root = store.create({ n: 1 }, { id: '__proto__' });
  const child = store.create({ n: 2 }, { id: 'constructor', parentId: '__proto__' });
  store.create({ n: 3 }, { id: 'prototype', parentId: 'constructor' });
  t.is(store.get('__proto__'), root);
  t.true(store.has('constructor'));
  t.false(store.has('toString'));
  t.is(store.get('toString'), undefined);
  t.deepEqual(store.children('__proto__'), ['constructor']);
  t.is(store.put('@__proto__.n', 5).data, store.get('__proto__')!.data);
  t.deepEqual(store.get('__proto__')!.data, { n: 5 });
  t.is(store.borrow('prototype', '__proto__', 'n', 'n').rootId, '__proto__');
  t.is(store.detach('constructor').rootId, 'constructor');
  t.is(store.get('prototype')!.rootId, 'constructor');
  t.is(child.parentId, '__proto__');
  t.true(store.delete('__proto__'));
  t.is(store.size, 2);
  t.true(unpolluted());
});

test('copy - getters, setters, revoked proxies and throwing traps are refused with ArbiterInputError naming the path', (t) => {
  const store = createStore();
  let reads = 0;
  const withGetter = {
    a: {
      get b() {
        reads++;
        return 1;
      },
    },
  };
  t.is(t.throws(() => store.create(withGetter), { instanceOf: ArbiterInputError, message: /getter or setter/ })?.field, 'data.a.b');
  t.is(reads, 0, 'the getter was never called');
  const { proxy, revoke } = Proxy.revocable({}, {});
  revoke();
  t.is(t.throws(() => store.create({ p: proxy }), { instanceOf: ArbiterInputError, message: /threw when read/ })?.field, 'data.p');
  const trap = new Proxy({}, { ownKeys: () => {
    throw new Error('boom');
  } });
  t.is(t.throws(() => store.create([trap]), { instanceOf: ArbiterInputError })?.field, 'data.0');
  const e = store.create({ n: 1 });
  t.throws(() => store.put(`@${e.id}.n`, { get x() {
    return 1;
  } }), { instanceOf: ArbiterInputError, message: /value\.x/ });
  t.is(store.size, 1);
  t.is(store.get(e.id)!.version, 0);
});

test('copy - a Proxy is read once: it cannot answer the check one way and the copy another', (t) => {
  const store = createStore();
  let calls = 0;
  // The first read of `n` (by any trap) answers 1; every later read answers a Map.
  const answer = () => (++calls === 1 ? 1 : new Map());
  const shifty = new Proxy({ n: 1 } as Record<string, unknown>, {
    getOwnPropertyDescriptor(target, key) {
      const d = Reflect.getOwnPropertyDescriptor(target, key);
      return d && key === 'n' ? { ...d, value: answer() } : d;
    },
    get(target, key, receiver) {
      return key === 'n' ? answer() : Reflect.get(target, key, receiver);
    },
  });
  const e = store.create(shifty);
  t.deepEqual(e.data, { n: 1 });
  t.is(calls, 1);
});

test('create → get → update → occ - property: any JSON or built data (special keys at any depth) round-trips, own keys preserved, nothing polluted', async (t) => {
  const before = objectPrototypeKeys();
  await t.notThrowsAsync(fc.assert(
    fc.asyncProperty(anyData, async (value) => {
      const expected = tree(value);
      const store = createStore();
      const e = store.create(value);
      const checks = [tree(e.data), tree(store.get(e.id)!.data)];
      const same = store.update(e.id, () => undefined);
      const returned = store.update(e.id, (d) => d);
      const reparsed = store.update(e.id, () => value);
      checks.push(tree(same.data), tree(returned.data), tree(reparsed.data));
      if (typeof value === 'object' && value !== null) {
        const { entity } = await occ(store, e.id, (d) => d, { maxRetries: 0 });
        checks.push(tree(entity.data));
      }
      checks.push(...store.history(e.id).map((v) => tree(v.data)), ...store.query().map((v) => tree(v.data)));
      return (
        checks.every((c) => show(c) === show(expected)) &&
        store.history(e.id).every((v: Entity) => ordinaryAndFrozen(v.data)) &&
        unpolluted() &&
        objectPrototypeKeys() === before
      );
    }),
    { numRuns: 300 },
  ));
});
