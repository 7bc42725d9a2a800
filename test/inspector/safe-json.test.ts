import test from 'ava';
import fc from 'fast-check';
import { createMachine } from 'xstate';
import { toJsonSafe } from '../../inspector/index.js';

const LIMITS = { depth: 6, maxString: 500, maxItems: 50, maxNodes: 5000 };
const UNREADABLE = /^\[unreadable: /;

/** A value `toJsonSafe` should turn into `expected`; a function there is a predicate on the output. */
type Expected = unknown;
interface Case {
  value: unknown;
  expected: Expected;
  /** Placeholders expected for values that cannot be read. */
  unreadable: number;
}

const define = (entries: Array<[string, unknown]>) => {
  const o: Record<string, unknown> = {};
  for (const [k, v] of entries) Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
  return o;
};

function revoked(): object {
  const { proxy, revoke } = Proxy.revocable({ a: 1 }, {});
  revoke();
  return proxy;
}

// Every trap throws something that is not an Error; reading the thrown value's message throws too.
function trappedEverywhere(): object {
  const thrown = new Proxy({}, { get: () => { throw Symbol('inner'); } });
  const trap = () => {
    throw thrown;
  };
  return new Proxy({}, { get: trap, has: trap, ownKeys: trap, getPrototypeOf: trap, getOwnPropertyDescriptor: trap });
}

const endless = (): object => ({
  get next() {
    return endless();
  },
});

/** Hostile leaves, each with what it must become. */
const HOSTILE: Array<() => Case> = [
  () => ({
    value: Object.defineProperty({ kept: 1 }, 'bad', { enumerable: true, get: () => { throw new TypeError('getter says no'); } }),
    expected: { kept: 1, bad: '[unreadable: TypeError: getter says no]' },
    unreadable: 1,
  }),
  () => ({ value: revoked(), expected: (v: unknown) => typeof v === 'string' && /^\[unreadable: TypeError: .*revoked/.test(v), unreadable: 1 }),
  () => ({ value: trappedEverywhere(), expected: (v: unknown) => typeof v === 'string' && UNREADABLE.test(v), unreadable: 1 }),
  () => ({
    value: Object.defineProperty([1, 2, 3], 1, { enumerable: true, get: () => { throw new RangeError('index'); } }),
    expected: [1, '[unreadable: RangeError: index]', 3],
    unreadable: 1,
  }),
  () => ({
    value: endless(),
    // Bounded by depth: a chain of `next` ending in the depth marker, whatever depth it starts at.
    expected: (v: unknown) => {
      let x = v as { next?: unknown } | string;
      while (typeof x === 'object' && x !== null && 'next' in x) x = x.next as typeof x;
      return x === '[…]';
    },
    unreadable: 0,
  }),
  () => {
    const fn = function named() {};
    Object.defineProperty(fn, 'name', { get: () => { throw new Error('no name'); } });
    return { value: fn, expected: { type: 'function' }, unreadable: 0 };
  },
  () => ({ value: 12n, expected: '12n', unreadable: 0 }),
  () => ({ value: Symbol('tag'), expected: 'Symbol(tag)', unreadable: 0 }),
  () => ({ value: 'h'.repeat(100_000), expected: `${'h'.repeat(500)}…`, unreadable: 0 }),
  () => ({
    value: JSON.parse('{"__proto__": {"polluted": true}, "constructor": {"prototype": 1}}'),
    expected: define([['__proto__', { polluted: true }], ['constructor', { prototype: 1 }]]),
    unreadable: 0,
  }),
  () => {
    const cyclic: Record<string, unknown> = { n: 1 };
    cyclic['self'] = cyclic;
    return { value: cyclic, expected: { n: 1, self: '[circular]' }, unreadable: 0 };
  },
  () => {
    const err = new Error('boom');
    Object.defineProperty(err, 'message', { get: () => { throw new Error('message getter'); } });
    return { value: err, expected: { name: 'Error', message: '[unreadable: Error: message getter]' }, unreadable: 1 };
  },
  () => {
    class Sneaky extends Map<string, number> {
      override entries(): never {
        throw new Error('iterator');
      }
      override get size(): number {
        throw new Error('size');
      }
    }
    return { value: new Sneaky([['a', 1]]), expected: [['a', 1]], unreadable: 0 };
  },
];

const key = fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'toJSON'));
const leaf: fc.Arbitrary<Case> = fc.oneof(
  fc.oneof(fc.string({ maxLength: 20 }), fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }).filter((x) => !Object.is(x, -0)), fc.boolean(), fc.constant(null)).map((v) => ({ value: v, expected: v, unreadable: 0 })),
  fc.integer({ min: 0, max: HOSTILE.length - 1 }).map((i) => HOSTILE[i]!()),
);
const { tree } = fc.letrec<{ tree: Case }>((tie) => ({
  tree: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    fc.array(tie('tree'), { maxLength: 6 }).map((items) => ({
      value: items.map((c) => c.value),
      expected: items.map((c) => c.expected),
      unreadable: items.reduce((n, c) => n + c.unreadable, 0),
    })),
    fc.uniqueArray(fc.tuple(key, tie('tree')), { maxLength: 6, selector: ([k]) => k }).map((entries) => ({
      value: define(entries.map(([k, c]) => [k, c.value])),
      expected: define(entries.map(([k, c]) => [k, c.expected])),
      unreadable: entries.reduce((n, [, c]) => n + c.unreadable, 0),
    })),
  ),
}));

function depthOf(c: unknown, d = 0): number {
  if (!Array.isArray(c) && (typeof c !== 'object' || c === null)) return d;
  return Math.max(d + 1, ...Object.values(c).map((x) => depthOf(x, d + 1)));
}

/** Whether `actual` matches `expected` (predicates allowed), key for key, own `__proto__` included. */
function matches(actual: unknown, expected: Expected): boolean {
  if (typeof expected === 'function') return (expected as (v: unknown) => boolean)(actual);
  if (Array.isArray(expected)) {
    return Array.isArray(actual) && actual.length === expected.length && expected.every((e, i) => matches(actual[i], e));
  }
  if (expected && typeof expected === 'object') {
    if (!actual || typeof actual !== 'object' || Array.isArray(actual)) return false;
    const ek = Object.keys(expected);
    const ak = Object.keys(actual);
    return ek.length === ak.length && ek.every((k) => Object.prototype.hasOwnProperty.call(actual, k) && matches((actual as never)[k], (expected as never)[k]));
  }
  return Object.is(actual, expected);
}

function countUnreadable(v: unknown): number {
  if (typeof v === 'string') return UNREADABLE.test(v) ? 1 : 0;
  if (v && typeof v === 'object') return Object.values(v).reduce<number>((n, x) => n + countUnreadable(x), 0);
  return 0;
}

test('toJsonSafe() - never throws on anything; the result is plain, bounded JSON', (t) => {
  fc.assert(
    fc.property(
      fc.anything({
        withBigInt: true,
        withBoxedValues: true,
        withDate: true,
        withMap: true,
        withSet: true,
        withNullPrototype: true,
        withObjectString: true,
        withSparseArray: true,
        withTypedArray: true,
        withUnicodeString: true,
        key,
      }),
      (value) => {
        const out = toJsonSafe(value, LIMITS);
        const json = JSON.stringify(out) ?? 'undefined';
        t.true(json.length <= 5000 * 520, `bounded: ${json.length}`);
        // Plain JSON: reparsing gives the same tree (no -0, NaN, undefined in arrays, prototypes).
        if (out !== undefined) t.deepEqual(JSON.parse(json), out);
      },
    ),
    { numRuns: 400 },
  );
});

test('toJsonSafe() - hostile values cost exactly themselves: one placeholder each, every other value kept', (t) => {
  fc.assert(
    fc.property(tree, (c) => {
      fc.pre(depthOf(c.expected) <= 4);
      const out = toJsonSafe(c.value, LIMITS);
      t.notThrows(() => JSON.stringify(out));
      t.true(matches(out, c.expected), `${JSON.stringify(out)}`);
      t.is(countUnreadable(out), c.unreadable);
    }),
    { numRuns: 500 },
  );
});

test('toJsonSafe() - `__proto__` and `constructor` stay data, nothing is polluted', (t) => {
  const out = toJsonSafe(JSON.parse('{"__proto__": {"polluted": true}, "constructor": "c"}')) as Record<string, unknown>;
  t.true(Object.prototype.hasOwnProperty.call(out, '__proto__'));
  t.is(Object.getPrototypeOf(out), Object.prototype);
  t.is((out as { polluted?: unknown }).polluted, undefined);
  t.is(({} as { polluted?: unknown }).polluted, undefined);
  t.is(JSON.stringify(out), '{"__proto__":{"polluted":true},"constructor":"c"}');
});

test('toJsonSafe() - getters that build new objects forever stay bounded in depth and in total size', (t) => {
  const explosive = (): object => {
    const o: Record<string, unknown> = {};
    for (let i = 0; i < 40; i++) Object.defineProperty(o, `k${i}`, { enumerable: true, get: explosive });
    return o;
  };
  const json = JSON.stringify(toJsonSafe(explosive(), LIMITS));
  // 40^6 values were reachable; the node budget keeps a few thousand.
  t.true(json.length < 200_000, `${json.length} chars`);
});

test('toJsonSafe() - a state machine anywhere in a value is named, never walked', (t) => {
  const machine = createMachine({ id: 'lifecycle', initial: 'a', states: { a: { on: { go: 'b' } }, b: {} } });
  const out = toJsonSafe({ settings: { lifecycle: machine, windowMs: 100 } }) as { settings: Record<string, unknown> };
  t.deepEqual(out.settings, { lifecycle: '[machine lifecycle]', windowMs: 100 });
});
