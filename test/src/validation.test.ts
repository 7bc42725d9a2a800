import test from 'ava';
import { ArbiterInputError, createArbiter } from '../../src/index.js';
import { harness } from '../helpers/index.js';

const execute = async () => 1;

const badSpecs: Array<[string, unknown]> = [
  ['target', { execute }],
  ['target', { target: '', execute }],
  ['target', { target: 42, execute }],
  ['execute', { target: 'a' }],
  ['execute', { target: 'a', execute: 'run' }],
  ['priority', { target: 'a', execute, priority: 0 }],
  ['priority', { target: 'a', execute, priority: 11 }],
  ['priority', { target: 'a', execute, priority: 2.5 }],
  ['priority', { target: 'a', execute, priority: Number.NaN }],
  ['maxRetries', { target: 'a', execute, maxRetries: -1 }],
  ['maxRetries', { target: 'a', execute, maxRetries: Number.POSITIVE_INFINITY }],
  ['timeoutMs', { target: 'a', execute, timeoutMs: -5 }],
  ['timeoutMs', { target: 'a', execute, timeoutMs: Number.NaN }],
  ['retryable', { target: 'a', execute, retryable: true }],
  ['parentId', { target: 'a', execute, parentId: 'unknown-op' }],
  ['parentId', { target: 'a', execute, id: 'self', parentId: 'self' }],
  ['type', { target: 'a', execute, type: '' }],
  ['spec', null],
  ['spec', 'a'],
];

for (const [field, spec] of badSpecs) {
  test(`.submit() - rejects bad ${field}: ${JSON.stringify(spec, (_k, v) => (typeof v === 'function' ? 'fn' : typeof v === 'number' && !Number.isFinite(v) ? String(v) : v))}`, async (t) => {
    const { arbiter, events } = harness();
    const before = arbiter.metrics();
    const err = t.throws(() => arbiter.submit(spec as never), { instanceOf: ArbiterInputError });
    t.is(err?.field, field);
    t.is(err?.code, 'ERR_ARBITER_INPUT');
    t.true(err instanceof TypeError);
    t.deepEqual(arbiter.metrics(), before, 'no counter moves');
    t.deepEqual(events, [], 'nothing is staged or emitted');
    await arbiter.stop();
  });
}

test('.submit() - a duplicate id is an input error', async (t) => {
  const { arbiter } = harness();
  arbiter.submit({ target: 'a', id: 'op-1', execute });
  const err = t.throws(() => arbiter.submit({ target: 'b', id: 'op-1', execute }), { instanceOf: ArbiterInputError });
  t.is(err?.field, 'id');
  t.is(arbiter.metrics().submitted, 1);
  await arbiter.stop();
});

test('.submit() - its own id as parentId is an input error naming parentId (a parent must exist first, so no cycle can form)', async (t) => {
  const { arbiter } = harness();
  const err = t.throws(() => arbiter.submit({ target: 'a', id: 'x', parentId: 'x', execute }), { instanceOf: ArbiterInputError });
  t.is(err?.field, 'parentId');
  t.regex(err?.message ?? '', /unknown id "x"/);
  t.is(arbiter.metrics().submitted, 0);
  t.is(arbiter.operations.get('x'), undefined, 'nothing was registered');
  await arbiter.stop();
});

const badOptions: Array<[string, unknown]> = [
  ['windowMs', { windowMs: -1 }],
  ['windowMs', { windowMs: Number.POSITIVE_INFINITY }],
  ['gracePeriodMs', { gracePeriodMs: 'long' }],
  ['whileExecuting', { whileExecuting: 'wait' }],
  ['maxStagedPerTarget', { maxStagedPerTarget: 0 }],
  ['maxStaged', { maxStaged: 1.5 }],
  ['idleCoordinatorMs', { idleCoordinatorMs: Number.NaN }],
  ['retry', { retry: 5 }],
  ['retry.baseDelayMs', { retry: { baseDelayMs: -1 } }],
  ['retry.factor', { retry: { factor: 0.5 } }],
  ['retry.maxDelayMs', { retry: { maxDelayMs: Number.POSITIVE_INFINITY } }],
  ['retry.jitter', { retry: { jitter: 'yes' } }],
  ['selectWinner', { selectWinner: 'max' }],
  ['clock', { clock: 5 }],
  ['clock.setTimeout', { clock: { clearTimeout() {} } }],
  ['random', { random: 0.5 }],
  ['lifecycle', { lifecycle: {} }],
  ['options', 'fast'],
];

for (const [field, options] of badOptions) {
  test(`createArbiter() - rejects bad option ${field}: ${String(JSON.stringify(options) ?? options)}`, (t) => {
    const err = t.throws(() => createArbiter(options as never), { instanceOf: ArbiterInputError });
    t.is(err?.field, field);
    t.true(err?.message.includes(`\`${field}\``), err?.message);
  });
}

test('createArbiter() - every option is optional and defaults are documented values', async (t) => {
  const arbiter = createArbiter();
  t.deepEqual(arbiter.options, {
    windowMs: 100,
    gracePeriodMs: 200,
    whileExecuting: 'preempt',
    maxStagedPerTarget: 20,
    maxStaged: 1000,
    idleCoordinatorMs: 1000,
    retry: { baseDelayMs: 10, factor: 2, maxDelayMs: 1000, jitter: true },
    selectWinner: undefined,
  });
  await arbiter.stop();
});

test('handle.send() - reserved event types are refused', async (t) => {
  const { arbiter } = harness();
  const h = arbiter.submit({ target: 'a', execute });
  t.throws(() => h.send({ type: 'arbiter.win' }), { instanceOf: ArbiterInputError });
  t.throws(() => h.send({ type: 'xstate.done.actor.execute' }), { instanceOf: ArbiterInputError });
  t.is(h.status(), 'staged');
  await arbiter.stop();
});
