import test from 'ava';
import { ArbiterInputError, backoffDelay, defaultMaxRetries, Priority, resolveEffectivePriority } from '../../src/index.js';

test('Priority - the documented values', (t) => {
  t.deepEqual(Priority, { BACKGROUND: 1, LOW: 2, NORMAL: 5, HIGH: 8, CRITICAL: 10 });
});

test('defaultMaxRetries() - structural, normal and low classes', (t) => {
  t.deepEqual([10, 9, 3, 2, 1].map(defaultMaxRetries), [20, 5, 5, 3, 3]);
});

test('resolveEffectivePriority() - maximum along the chain', (t) => {
  const ops = new Map([
    ['root', { priority: 10, parentId: undefined }],
    ['mid', { priority: 3, parentId: 'root' }],
  ]);
  t.is(resolveEffectivePriority(2, 'mid', (id) => ops.get(id)), 10);
  t.is(resolveEffectivePriority(7, undefined, (id) => ops.get(id)), 7);
});

test('resolveEffectivePriority() - unknown parent and cycles are input errors', (t) => {
  const ops = new Map([
    ['a', { priority: 1, parentId: 'b' }],
    ['b', { priority: 1, parentId: 'a' }],
  ]);
  t.is(t.throws(() => resolveEffectivePriority(1, 'zzz', (id) => ops.get(id)), { instanceOf: ArbiterInputError })?.field, 'parentId');
  t.regex(t.throws(() => resolveEffectivePriority(1, 'a', (id) => ops.get(id)))?.message ?? '', /cycle/);
  t.regex(t.throws(() => resolveEffectivePriority(1, 'me', () => ({ priority: 1 }), 'me'))?.message ?? '', /cycle/);
});

test('backoffDelay() - exponential, capped, with equal jitter', (t) => {
  const r = { baseDelayMs: 10, factor: 2, maxDelayMs: 100, jitter: false };
  t.deepEqual([0, 1, 2, 3, 4, 5].map((n) => backoffDelay(n, r)), [10, 20, 40, 80, 100, 100]);
  const j = { ...r, jitter: true };
  t.is(backoffDelay(2, j, () => 0), 20);
  t.is(backoffDelay(2, j, () => 1), 40);
  t.is(backoffDelay(2, j, () => 0.5), 30);
  t.is(backoffDelay(2, j, () => Number.NaN), 30, 'a broken random source falls back to the middle');
});
