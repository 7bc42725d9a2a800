import test from 'ava';
import { Priority } from '../../src/index.js';
import { advance, harness } from '../helpers/index.js';

test('Supervisor - one coordinator per target, each the root of its own small actor system', async (t) => {
  const { clock, arbiter } = harness({ maxStaged: 10_000 });
  const handles = [];
  for (let i = 0; i < 1000; i++) handles.push(arbiter.submit({ target: `t${i % 500}`, priority: Priority.NORMAL, execute: async () => i }));
  t.is(arbiter.metrics().coordinators, 500);
  const systems = new Set(handles.map((h) => h.actor.system));
  t.is(systems.size, handles.length, 'every operation is the root of its own system');
  const first = handles[0]!.actor;
  t.deepEqual(Object.keys(first.getSnapshot().children), [], 'a staged operation has no children');
  await advance(clock, 100);
  await arbiter.drain();
  const m = arbiter.metrics();
  t.is(m.completed, 500);
  t.is(m.rejectedByCode["lost-arbitration"], 500);
  t.is(m.conflicts, 500);
  await advance(clock, 1000);
  t.is(arbiter.metrics().coordinators, 0, 'idle coordinators stop');
  await arbiter.stop();
});

test('Supervisor - work scales linearly with targets (no per-target scan on the hot path)', async (t) => {
  // Counts XState transitions through the inspection API instead of timing anything: the number of
  // snapshots per operation must not grow with the number of live targets.
  async function snapshotsPerOp(targets: number): Promise<number> {
    let snapshots = 0;
    const { clock, arbiter } = harness({ maxStaged: 1_000_000, inspect: (e) => { if (e.type === '@xstate.snapshot') snapshots++; } });
    for (let i = 0; i < targets * 3; i++) arbiter.submit({ target: `t${i % targets}`, execute: async () => 1 });
    await advance(clock, 100);
    await arbiter.drain();
    await arbiter.stop();
    return snapshots / (targets * 3);
  }
  const small = await snapshotsPerOp(10);
  const large = await snapshotsPerOp(10_000);
  t.true(Math.abs(small - large) < 0.01, `${small} vs ${large} snapshots per operation`);
});

test('Supervisor - a failing coordinator still gives every staged operation a final state', async (t) => {
  const { SimulatedClock, createActor } = await import('xstate');
  const { Supervisor, operationMachine, DEFAULT_RETRY } = await import('../../src/index.js');
  const clock = new SimulatedClock();
  const released: string[] = [];
  const failures: string[] = [];
  const supervisor = new Supervisor({
    coordinator: { windowMs: 100, gracePeriodMs: 200, whileExecuting: 'preempt', idleMs: 1000, maxStagedPerTarget: 20 },
    port: {
      now: () => clock.now(),
      conflict: () => {
        throw new Error('port bug');
      },
      won: () => undefined,
      preempted: () => undefined,
      released: (id) => released.push(id),
    },
    clock,
    onCoordinatorError: (target, err) => failures.push(`${target}: ${(err as Error).message}`),
  });
  const ops = ['a', 'b'].map((id, i) => {
    const actor = createActor(operationMachine, {
      clock,
      input: { id, target: 't', type: 'op', priority: 5, effectivePriority: 5, seq: i, submittedAt: 0, maxRetries: 0, retry: DEFAULT_RETRY, execute: async () => 1 },
    }).start();
    actor.send({ type: 'arbiter.admit' });
    supervisor.stage('t', { candidate: { id, target: 't', type: 'op', priority: 5, effectivePriority: 5, submittedAt: 0, seq: i, data: undefined }, actor });
    return actor;
  });
  clock.increment(100); // the window closes, two candidates: port.conflict throws inside the coordinator
  t.deepEqual(failures, ['t: port bug']);
  t.deepEqual(released.sort(), ['a', 'b']);
  for (const actor of ops) t.like(actor.getSnapshot(), { value: 'rejected', context: { code: 'arbitration-failed' } });
  t.is(supervisor.size, 0, 'the failed coordinator is forgotten; the next submission gets a new one');
});
