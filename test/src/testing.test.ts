import test from 'ava';
import { createMachine, fromPromise, setup } from 'xstate';
import { createTestModel } from 'xstate/graph';
import { coordinatorMachine } from '../../machines/coordinator.machine.js';
import { operationMachine } from '../../machines/operation.machine.js';
import { createArbiter, extendLifecycle } from '../../src/index.js';
import {
  advance,
  ArbiterTestClock,
  checkLifecycle,
  createLifecycleTestModel,
  elapsedEvent,
  flush,
  modelEdges,
  toTestMachine,
} from '../../src/testing.js';

test('advance() - fires due timers and lets promise actors settle', async (t) => {
  const clock = new ArbiterTestClock();
  const arbiter = createArbiter({ clock, windowMs: 100 });
  const h = arbiter.submit({ target: 'a', execute: async () => 'done' });
  await advance(clock, 99);
  t.is(h.status(), 'staged');
  await advance(clock, 1);
  t.is(h.status(), 'completed');
  t.is(await h.result, 'done');
  await arbiter.stop();
});

test('ArbiterTestClock.fire() - runs only the timers of that duration, now', async (t) => {
  const clock = new ArbiterTestClock();
  const arbiter = createArbiter({ clock, windowMs: 100 });
  const h = arbiter.submit({ target: 'a', timeoutMs: 86_400_000, execute: async () => 1 });
  t.is(clock.fire(12_345), 0);
  t.is(clock.fire(86_400_000), 1);
  await flush();
  await t.throwsAsync(h.result, { message: /timeout/ });
  t.is(clock.fire(86_400_000), 0);
  t.is(clock.now(), 0);
  await arbiter.stop();
});

test('elapsedEvent() - names delays and durations', (t) => {
  t.is(elapsedEvent('backoff'), 'backoff.elapsed');
  t.is(elapsedEvent(60_000), '60000ms.elapsed');
  t.is(elapsedEvent('250'), '250ms.elapsed');
});

test('toTestMachine() - replaces invoke and after everywhere, also in nested states', (t) => {
  const machine = setup({ actors: { load: fromPromise(async () => 1) }, delays: { slow: 50 } }).createMachine({
    id: 'nested',
    initial: 'outer',
    states: {
      outer: {
        initial: 'loading',
        states: {
          loading: { invoke: { src: 'load', onDone: 'waiting', onError: '#nested.failed' } },
          waiting: { after: { slow: '#nested.done', 10: 'loading' } },
        },
      },
      failed: { type: 'final' },
      done: { type: 'final' },
    },
  });
  t.throws(() => createTestModel(machine));
  const derived = toTestMachine(machine);
  t.notThrows(() => createTestModel(derived));
  t.deepEqual(modelEdges(derived), modelEdges(machine));
  t.deepEqual(modelEdges(derived), [
    'nested.outer.loading --load.done / --> nested.outer.waiting',
    'nested.outer.loading --load.error / --> nested.failed',
    'nested.outer.waiting --10ms.elapsed / --> nested.outer.loading',
    'nested.outer.waiting --slow.elapsed / --> nested.done',
  ]);
});

test('modelEdges() - notices a model that drifted from its machine', (t) => {
  const drifted = createMachine(
    {
      ...(toTestMachine(operationMachine).config as object),
      states: { ...(toTestMachine(operationMachine).config.states as object), retrying: { on: { 'backoff.elapsed': 'staged' } } },
    } as never,
    operationMachine.implementations as never,
  );
  const real = modelEdges(operationMachine);
  const model = modelEdges(drifted);
  t.notDeepEqual(model, real);
  t.true(model.includes('operation.retrying --backoff.elapsed / --> operation.staged'));
  t.false(model.includes('operation.retrying --arbiter.preempt / xstate.assign--> operation.rejected'));
});

test('checkLifecycle() - reports what a non-lifecycle machine lacks', (t) => {
  t.deepEqual(checkLifecycle(operationMachine), []);
  const rules = checkLifecycle(coordinatorMachine).map((v) => `${v.state}:${v.rule}`);
  t.true(rules.includes('pending:required-states'));
  t.true(rules.includes('stopped:final-states'));
});

test('createLifecycleTestModel() - options shape the model', (t) => {
  const base = createLifecycleTestModel();
  const noCancel = createLifecycleTestModel(operationMachine, { exclude: ['arbiter.cancel', 'arbiter.timeout'] });
  const moreRetries = createLifecycleTestModel(operationMachine, { maxRetries: 2 });
  t.is(base.paths.length, 23);
  t.false(noCancel.paths.some((p) => p.steps.some((s) => s.event.type === 'arbiter.cancel' || s.event.type === 'arbiter.timeout')));
  t.true(noCancel.paths.length < base.paths.length);
  t.true(moreRetries.paths.length > base.paths.length);
  t.true(moreRetries.paths.some((p) => p.steps.filter((s) => s.event.type === 'backoff.elapsed').length === 2));
  t.false(createLifecycleTestModel(operationMachine, { whileExecuting: 'queue' }).paths.some((p) => p.description.includes('preempt')));
});

test('createLifecycleTestModel() - custom executors play events of your own actors', async (t) => {
  let finish!: (v: string) => void;
  const lifecycle = extendLifecycle({
    afterWin: {
      review: {
        invoke: {
          src: 'review',
          onDone: 'next',
          onError: { target: 'rejected', code: 'review-failed', reason: 'the review service failed' },
        },
      },
    },
    actors: { review: fromPromise(() => new Promise<string>((resolve) => (finish = resolve))) },
  });
  const { paths, run } = createLifecycleTestModel(lifecycle, {
    exclude: ['review.error'],
    executors: { 'review.done': async () => finish('ok') },
  });
  const path = paths.find((p) => p.description === 'reaches completed: arbiter.admit → arbiter.win → review.done → execute.done(ok)');
  t.truthy(path, paths.map((p) => p.description).join('\n'));
  t.deepEqual(await run(path!), []);
  t.false(paths.some((p) => p.description.includes('review.error')));
});

test('createLifecycleTestModel() - run() reports an executor that throws', async (t) => {
  const { paths, run } = createLifecycleTestModel(operationMachine, {
    executors: { 'execute.done': () => { throw new Error('executor broke'); } },
  });
  const path = paths.find((p) => p.description.startsWith('reaches completed'))!;
  const problems = await run(path);
  t.is(problems.length, 1);
  t.regex(problems[0]!, /step \d \(execute\.done\) threw: executor broke/);
});
