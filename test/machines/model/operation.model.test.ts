import test from 'ava';
import type { AnyStateMachine } from 'xstate';
import { createTestModel, getStateNodes } from 'xstate/graph';
import { operationMachine } from '../../../machines/operation.machine.js';
import { createLifecycleTestModel, modelEdges, toTestMachine } from '../../../src/testing.js';

const stateIds = (m: AnyStateMachine) => getStateNodes(m).map((n) => `${n.id}:${n.type}`).sort();

test('operation model - createTestModel refuses the real machine (invoke/after)', (t) => {
  t.throws(() => createTestModel(operationMachine), { message: /not supported/ });
  t.notThrows(() => createTestModel(toTestMachine(operationMachine)));
});

test('operation model - the derived model has the same states and transitions as the real machine', (t) => {
  const model = toTestMachine(operationMachine);
  t.deepEqual(stateIds(model), stateIds(operationMachine));
  t.deepEqual(modelEdges(model), modelEdges(operationMachine));
  // The explicit events stand where invoke and after were.
  t.true(modelEdges(model).includes('operation.retrying --backoff.elapsed / --> operation.executing'));
  t.true(modelEdges(model).some((e) => e.startsWith('operation.executing --execute.error [canRetry]')));
});

for (const whileExecuting of ['preempt', 'queue'] as const) {
  const { paths, run } = createLifecycleTestModel(operationMachine, { whileExecuting });
  // One path per reachable (state, incoming transition); a changed machine changes this number.
  const expected = whileExecuting === 'preempt' ? 23 : 20;
  test(`operation model (${whileExecuting}) - number of paths`, (t) => {
    t.is(paths.length, expected);
    t.is(new Set(paths.map((p) => p.description)).size, paths.length);
  });
  for (const path of paths) {
    test(`operation model (${whileExecuting}) - ${path.description}`, async (t) => {
      t.deepEqual(await run(path), []);
    });
  }
}

test('operation model - every rejection code the lifecycle can produce is reached by some path', (t) => {
  const { paths } = createLifecycleTestModel(operationMachine);
  const codes = new Set(paths.map((p) => (p.state as { context: { code?: string } }).context.code).filter(Boolean));
  t.deepEqual([...codes].sort(), [
    'cancelled',
    'execution-failed',
    'lost-arbitration',
    'preempted',
    'retries-exhausted',
    'shutdown',
    'staging-full',
    'timeout',
  ]);
  t.true(paths.some((p) => (p.state as { value: unknown }).value === 'completed'));
});

test('operation model - the runner reports a real arbiter that diverges from the model', async (t) => {
  // Playing `arbiter.win` as a cancellation makes the real operation end where the model does not.
  const { paths, run } = createLifecycleTestModel(operationMachine, {
    executors: { 'arbiter.win': (r) => void r.handle?.cancel() },
  });
  const path = paths.find((p) => p.description === 'reaches completed: arbiter.admit → arbiter.win → execute.done(ok)');
  t.truthy(path);
  const problems = await run(path!);
  t.true(problems.some((p) => p.includes('the model is in executing, the operation in rejected')), problems.join('\n'));
});
