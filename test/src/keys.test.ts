import test from 'ava';
import fc from 'fast-check';
import { ArbiterInputError } from '../../src/index.js';
import { editDistance, expectKnownKeys, optionKeys, readOptions, suggest } from '../../src/keys.js';

const KNOWN = ['windowMs', 'gracePeriodMs', 'whileExecuting', 'maxStagedPerTarget', 'maxStaged', 'priority', 'timeoutMs', 'maxRetries'];

test('editDistance() - insertions, deletions, substitutions and adjacent swaps cost 1', (t) => {
  t.is(editDistance('', ''), 0);
  t.is(editDistance('abc', ''), 3);
  t.is(editDistance('', 'abc'), 3);
  t.is(editDistance('prority', 'priority'), 1);
  t.is(editDistance('priority', 'prority'), 1);
  t.is(editDistance('tiemout', 'timeout'), 1, 'a swap is one edit (Damerau)');
  t.is(editDistance('kitten', 'sitting'), 3);
  t.is(editDistance('ca', 'abc'), 3, 'optimal string alignment: no substring is edited twice');
});

test('editDistance() - properties: identity, symmetry, bounds, one edit away', (t) => {
  const word = fc.string({ maxLength: 12 });
  t.notThrows(() => fc.assert(
    fc.property(word, word, (a, b) => {
      const d = editDistance(a, b);
      return d === editDistance(b, a) && d >= Math.abs(a.length - b.length) && d <= Math.max(a.length, b.length) && (d === 0) === (a === b);
    }),
  ));
  const edited = fc.tuple(fc.string({ minLength: 2, maxLength: 12 }), fc.nat(), fc.constantFrom('insert', 'delete', 'substitute', 'swap'), fc.string({ minLength: 1, maxLength: 1 }));
  t.notThrows(() => fc.assert(
    fc.property(edited, ([s, at, op, c]) => {
      const i = at % s.length;
      const next =
        op === 'insert' ? s.slice(0, i) + c + s.slice(i)
        : op === 'delete' ? s.slice(0, i) + s.slice(i + 1)
        : op === 'substitute' ? s.slice(0, i) + c + s.slice(i + 1)
        : i + 1 < s.length ? s.slice(0, i) + s[i + 1] + s[i] + s.slice(i + 2) : s;
      return editDistance(s, next) <= 1;
    }),
  ));
});

test('suggest() - case, "-" and "_" never hide the match; close typos are suggested; far keys are not', (t) => {
  t.is(suggest('windowMS', KNOWN), 'windowMs');
  t.is(suggest('WINDOWMS', KNOWN), 'windowMs');
  t.is(suggest('window_ms', KNOWN), 'windowMs');
  t.is(suggest('grace-period-ms', KNOWN), 'gracePeriodMs');
  t.is(suggest('prority', KNOWN), 'priority');
  t.is(suggest('timeout', KNOWN), 'timeoutMs');
  t.is(suggest('maxRetry', KNOWN), 'maxRetries');
  t.is(suggest('maxStagd', KNOWN), 'maxStaged', 'the closest of two similar keys');
  t.is(suggest('colour', KNOWN), undefined);
  t.is(suggest('__proto__', KNOWN), undefined);
  t.is(suggest('x'.repeat(10_000), KNOWN), undefined, 'huge keys are not compared');
  t.is(suggest('a', []), undefined);
});

test('suggest() - property: any one-edit typo of a known key suggests a key at most one edit away', (t) => {
  t.notThrows(() => fc.assert(
    fc.property(fc.constantFrom(...KNOWN), fc.nat(), fc.constantFrom('insert', 'delete', 'substitute', 'swap'), fc.constantFrom(...'abcxyz'), (key, at, op, c) => {
      const i = at % key.length;
      const typo =
        op === 'insert' ? key.slice(0, i) + c + key.slice(i)
        : op === 'delete' ? key.slice(0, i) + key.slice(i + 1)
        : op === 'substitute' ? key.slice(0, i) + c + key.slice(i + 1)
        : i + 1 < key.length ? key.slice(0, i) + key[i + 1] + key[i] + key.slice(i + 2) : key;
      const guess = suggest(typo, KNOWN);
      return guess !== undefined && editDistance(typo.toLowerCase(), guess.toLowerCase()) <= 1;
    }),
  ));
});

test('expectKnownKeys() - an unknown key is an ArbiterInputError naming it, with the suggestion and the path', (t) => {
  t.notThrows(() => expectKnownKeys({ windowMs: 1, priority: 2 }, KNOWN));
  const err = t.throws(() => expectKnownKeys({ windowMS: 50 }, KNOWN), { instanceOf: ArbiterInputError });
  t.is(err?.field, 'windowMS');
  t.regex(err!.message, /^Unknown option `windowMS` \(did you mean `windowMs`\?\); known options: windowMs, gracePeriodMs/);
  const nested = t.throws(() => expectKnownKeys({ facter: 2 }, ['factor', 'jitter'], 'retry'), { instanceOf: ArbiterInputError });
  t.is(nested?.field, 'retry.facter');
  t.regex(nested!.message, /`retry\.facter` \(did you mean `retry\.factor`\?\); known `retry` options: factor, jitter/);
  const far = t.throws(() => expectKnownKeys({ colour: 'red' }, KNOWN), { instanceOf: ArbiterInputError });
  t.notRegex(far!.message, /did you mean/);
  const long = t.throws(() => expectKnownKeys({ ['k'.repeat(500)]: 1 }, KNOWN), { instanceOf: ArbiterInputError });
  t.true(long!.message.length < 300, 'a huge key is cut in the message');
  t.regex(long!.message, /k…k/);
  t.notThrows(() => expectKnownKeys({ [Symbol('tag')]: 1 }, KNOWN), 'symbol keys are ignored');
});

test('readOptions() - a plain, frozen, prototype-less snapshot of own known fields; undefined means absent', (t) => {
  const snap = readOptions({ windowMs: 5, priority: undefined }, KNOWN);
  t.deepEqual(Object.keys(snap), ['windowMs']);
  t.is(snap.windowMs, 5);
  t.false('priority' in snap);
  t.is(Object.getPrototypeOf(snap), null);
  t.true(Object.isFrozen(snap));
  t.deepEqual(Object.keys(readOptions(undefined, KNOWN)), []);
  t.is(readOptions(Object.create(null) as object, KNOWN).windowMs, undefined);
  for (const bad of [null, 1, 'x', [], () => {}]) {
    t.is(t.throws(() => readOptions(bad, KNOWN), { instanceOf: ArbiterInputError })?.field, 'options');
  }
  t.is(t.throws(() => readOptions(5, KNOWN, 'retry'), { instanceOf: ArbiterInputError })?.field, 'retry');
});

test('readOptions() - each field is read exactly once; later answers of a getter or Proxy do not matter', (t) => {
  let reads = 0;
  const tricky = {
    get timeoutMs() {
      reads++;
      if (reads > 1) throw new Error('second read');
      return 10;
    },
  };
  const snap = readOptions(tricky, KNOWN);
  t.is(reads, 1);
  t.is(snap.timeoutMs, 10);
  t.is(snap.timeoutMs, 10);
  t.is(reads, 1, 'reading the snapshot never reaches the getter');

  const gets = new Map<PropertyKey, number>();
  let flip = 0;
  const proxy = new Proxy({ windowMs: 1, priority: 2 }, {
    get(target, key, receiver) {
      gets.set(key, (gets.get(key) ?? 0) + 1);
      return key === 'windowMs' ? ++flip : Reflect.get(target, key, receiver);
    },
  });
  const fromProxy = readOptions(proxy, KNOWN);
  t.deepEqual([...gets.entries()], [['windowMs', 1], ['priority', 1]]);
  t.is(fromProxy.windowMs, 1);
  t.is(fromProxy.windowMs, 1, 'the snapshot keeps the first answer');
});

test('readOptions() - a getter or trap that throws is an ArbiterInputError naming the field', (t) => {
  const err = t.throws(() => readOptions({ get windowMs(): number {
    throw new RangeError('nope');
  } }, KNOWN), { instanceOf: ArbiterInputError });
  t.is(err?.field, 'windowMs');
  t.regex(err!.message, /reading it threw: nope/);
  const { proxy, revoke } = Proxy.revocable({}, {});
  revoke();
  t.is(t.throws(() => readOptions(proxy, KNOWN, 'retry'), { instanceOf: ArbiterInputError })?.field, 'retry');
  const keysThrow = new Proxy({}, { ownKeys: () => {
    throw new Error('no keys');
  } });
  t.regex(t.throws(() => readOptions(keysThrow, KNOWN), { instanceOf: ArbiterInputError })!.message, /listing its keys threw: no keys/);
});

test('readOptions() - inherited fields are never read; class instances are refused; __proto__ is an unknown key, never followed', (t) => {
  const polluted = Object.prototype as Record<string, unknown>;
  polluted['timeoutMs'] = 1;
  try {
    t.is(readOptions({}, KNOWN).timeoutMs, undefined, 'a polluted Object.prototype does not answer');
  } finally {
    delete polluted['timeoutMs'];
  }
  // Fields on a prototype would be silently ignored: such objects are refused instead.
  t.throws(() => readOptions(Object.create({ windowMs: 5 }) as object, KNOWN), { instanceOf: ArbiterInputError, message: /plain object/ });
  class Settings {
    get windowMs() {
      return 5;
    }
  }
  t.regex(t.throws(() => readOptions(new Settings(), KNOWN), { instanceOf: ArbiterInputError })!.message, /plain object/);

  const parsed = JSON.parse('{"__proto__": {"windowMs": 5}}') as object;
  const err = t.throws(() => readOptions(parsed, KNOWN), { instanceOf: ArbiterInputError });
  t.is(err?.field, '__proto__');
  t.regex(err!.message, /^Unknown option `__proto__`;/);
  // A literal `__proto__:` sets the prototype: it is not followed, the object is refused.
  t.throws(() => readOptions({ __proto__: { windowMs: 5 } }, KNOWN), { instanceOf: ArbiterInputError, message: /plain object/ });
  t.throws(() => readOptions(JSON.parse('{"constructor": 1}'), KNOWN), { instanceOf: ArbiterInputError, message: /`constructor`/ });
});

test('readOptions() - property: for any object, the snapshot holds exactly its own known defined fields, each read once', (t) => {
  const key = fc.oneof(fc.constantFrom(...KNOWN), fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString'), fc.string());
  t.notThrows(() => fc.assert(
    fc.property(fc.dictionary(key, fc.oneof(fc.integer(), fc.constant(undefined), fc.string())), (dict) => {
      const obj: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(dict)) Object.defineProperty(obj, k, { value: v, enumerable: true, configurable: true });
      const reads = new Map<PropertyKey, number>();
      const proxy = new Proxy(obj, {
        get(target, k, receiver) {
          reads.set(k, (reads.get(k) ?? 0) + 1);
          return Reflect.get(target, k, receiver);
        },
      });
      const unknown = Object.keys(obj).filter((k) => !KNOWN.includes(k));
      if (unknown.length > 0) {
        try {
          readOptions(proxy, KNOWN);
          return false;
        } catch (err) {
          return err instanceof ArbiterInputError && unknown.includes(err.field) && ({} as Record<string, unknown>)['polluted'] === undefined;
        }
      }
      const snap = readOptions(proxy, KNOWN) as Record<string, unknown>;
      const expected = Object.entries(obj).filter(([, v]) => v !== undefined);
      return (
        JSON.stringify(Object.entries(snap)) === JSON.stringify(expected) &&
        [...reads.values()].every((n) => n === 1) &&
        Object.getPrototypeOf(snap) === null
      );
    }),
  ));
});

test('optionKeys() - lists the keys of an options type (the compiler checks the list is complete)', (t) => {
  interface Example {
    a?: number;
    b: string;
  }
  t.deepEqual(optionKeys<Example>({ a: true, b: true }), ['a', 'b']);
  // @ts-expect-error a missing key does not compile
  optionKeys<Example>({ a: true });
  // @ts-expect-error an extra key does not compile
  optionKeys<Example>({ a: true, b: true, c: true });
});
