import test from 'ava';
import { ArbiterInputError, formatAddress, monotonicNanos, parseAddress, parsePath } from '../../../src/index.js';

test('parseAddress() - id and field path', (t) => {
  t.deepEqual(parseAddress('@0190f3c2-aaaa-7bbb.stock'), { id: '0190f3c2-aaaa-7bbb', path: ['stock'] });
  t.deepEqual(parseAddress('@car-1.items.0.qty'), { id: 'car-1', path: ['items', '0', 'qty'] });
});

test('parseAddress() - malformed addresses throw ArbiterInputError naming the field', (t) => {
  for (const bad of ['', 'x.y', '@', '@x', '@.y', '@x.', '@x..y', '@x.y.', '@x y.z', '@x.y z', null, 3]) {
    const err = t.throws(() => parseAddress(bad), { instanceOf: ArbiterInputError }, String(bad));
    t.is(err?.field, 'address');
    t.regex(err!.message, /^Expected `address` to be an address like "@<id>\.<field>", got /);
  }
  t.is(t.throws(() => parseAddress('x', 'target'), { instanceOf: ArbiterInputError })?.field, 'target');
});

test('parsePath() and formatAddress() - round trip', (t) => {
  t.deepEqual(parsePath('a.b.0'), ['a', 'b', '0']);
  t.throws(() => parsePath('a..b'), { instanceOf: ArbiterInputError });
  t.is(formatAddress('id-1', 'a.b'), '@id-1.a.b');
  t.is(formatAddress('id-1', ['a', '0']), '@id-1.a.0');
  t.deepEqual(parseAddress(formatAddress('id-1', ['a', '0'])), { id: 'id-1', path: ['a', '0'] });
});

test('monotonicNanos() - a non-decreasing bigint in nanoseconds', (t) => {
  const a = monotonicNanos();
  const b = monotonicNanos();
  t.is(typeof a, 'bigint');
  t.true(b >= a);
});
