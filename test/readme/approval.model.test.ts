import test from 'ava';
import { extendLifecycle } from '../../src/index.js';
import { checkLifecycle, createLifecycleTestModel } from '../../src/testing.js';

// Winners wait in `approval` (holding their target) until someone decides.
const lifecycle = extendLifecycle({
  afterWin: {
    approval: {
      on: {
        approve: 'next',
        deny: { target: 'rejected', code: 'denied', reason: 'denied by a reviewer' },
      },
      after: { 60_000: { target: 'rejected', code: 'approval-timeout', reason: 'nobody decided' } },
    },
  },
});

test('the lifecycle keeps every guarantee', (t) => {
  t.deepEqual(checkLifecycle(lifecycle), []);
});

const { paths, run } = createLifecycleTestModel(lifecycle);
test('the model has 29 paths', (t) => t.is(paths.length, 29));
for (const path of paths) {
  test(path.description, async (t) => t.deepEqual(await run(path), []));
}
