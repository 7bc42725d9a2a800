import test from 'ava';
import { approvalLifecycle } from '../../../examples/approval.js';
import { validatingLifecycle } from '../../../examples/validating.js';
import { checkLifecycle, createLifecycleTestModel, modelEdges, toTestMachine } from '../../../src/testing.js';

test('examples - both example lifecycles keep every guarantee and their models do not drift', (t) => {
  for (const lifecycle of [approvalLifecycle, validatingLifecycle]) {
    t.deepEqual(checkLifecycle(lifecycle), []);
    t.deepEqual(modelEdges(toTestMachine(lifecycle)), modelEdges(lifecycle));
  }
  t.true(modelEdges(toTestMachine(approvalLifecycle)).some((e) => e.startsWith('operation.approval --approvalTimeout.elapsed')));
});

const suites = [
  ['approval', createLifecycleTestModel(approvalLifecycle), 29],
  ['approval (queue)', createLifecycleTestModel(approvalLifecycle, { whileExecuting: 'queue' }), 25],
  ['validating, valid transfer', createLifecycleTestModel(validatingLifecycle, { data: { from: 'a', to: 'b', amount: 5 } }), 23],
  ['validating, invalid transfer', createLifecycleTestModel(validatingLifecycle, { data: { from: 'a', to: 'a', amount: 5 }, rivalData: { from: 'a', to: 'b', amount: 1 } }), 3],
] as const;

for (const [name, { paths, run }, count] of suites) {
  test(`examples - ${name}: number of paths`, (t) => t.is(paths.length, count));
  for (const path of paths) {
    test(`examples - ${name}: ${path.description}`, async (t) => t.deepEqual(await run(path), []));
  }
}

test('examples - the approval model reaches every decision', (t) => {
  const ends = new Set(suites[0][1].paths.map((p) => (p.state as { context: { code?: string } }).context.code ?? 'completed'));
  for (const code of ['denied', 'approval-timeout', 'preempted', 'completed']) t.true(ends.has(code), code);
});

test('examples - an invalid transfer only ever ends invalid-payload, staging-full or shutdown', (t) => {
  const codes = suites[3][1].paths.map((p) => (p.state as { context: { code?: string } }).context.code).sort();
  t.deepEqual(codes, ['invalid-payload', 'shutdown', 'staging-full']);
});
