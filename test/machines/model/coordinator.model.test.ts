import test from 'ava';
import { assign, createMachine, type AnyStateMachine } from 'xstate';
import { createTestModel, getStateNodes, type TestPath } from 'xstate/graph';
import { coordinatorMachine } from '../../../machines/coordinator.machine.js';
import { Priority, type OperationHandle, type WhileExecuting } from '../../../src/index.js';
import { advance, ArbiterTestClock, flush, modelEdges, toTestMachine } from '../../../src/testing.js';
import { createArbiter } from '../../../src/arbiter.js';

const WINDOW_MS = 100;
const IDLE_MS = 1000;

test('coordinator model - createTestModel refuses the real machine (after)', (t) => {
  t.throws(() => createTestModel(coordinatorMachine), { message: /not supported/ });
});

test('coordinator model - the derived model has the same states and transitions as the real machine', (t) => {
  const derived = toTestMachine(coordinatorMachine);
  const ids = (m: AnyStateMachine) => getStateNodes(m).map((n) => `${n.id}:${n.type}`).sort();
  t.deepEqual(ids(derived), ids(coordinatorMachine));
  t.deepEqual(modelEdges(derived), modelEdges(coordinatorMachine));
  t.true(modelEdges(derived).includes('coordinator.collecting --window.elapsed / closeWindow--> coordinator.busy'));
  t.true(modelEdges(derived).includes('coordinator --xstate.done.actor.operation / forget--> (self)'));
  t.true(modelEdges(derived).includes('coordinator.idle --idle.elapsed [nothingWaiting] / --> coordinator.stopped'));
});

// The coordinator's context holds mutable maps of actors; the model counts them instead, with
// abstract versions of the same named actions and guards (equal priorities: a busy target holds
// the window's winner under both `preempt` and `queue`, losers are rejected). The root's other
// events (a step before staged, a decision or preemption from a shared backend, actor errors)
// never happen with the default lifecycle and the in-memory backend; they are left out.
interface Counts {
  staged: { size: number };
  holders: { size: number };
}
const derived = toTestMachine(coordinatorMachine);
const abstract = createMachine(
  { ...(derived.config as object), context: { staged: { size: 0 }, holders: { size: 0 } } } as never,
  derived.implementations as never,
).provide({
  actions: {
    watchSelf: () => {},
    spawnOperation: assign({ staged: ({ context }: { context: Counts }) => ({ size: context.staged.size + 1 }) }) as never,
    openWindow: () => {},
    forget: assign({ holders: ({ context }: { context: Counts }) => ({ size: Math.max(0, context.holders.size - 1) }) }) as never,
    closeWindow: assign(({ context }: { context: Counts }) => {
      if (context.staged.size === 0) return {};
      if (context.holders.size === 0) return { staged: { size: 0 }, holders: { size: 1 } };
      return { staged: { size: 1 } };
    }) as never,
    shutdown: assign({ staged: { size: 0 }, holders: { size: 0 } }) as never,
  },
  guards: {
    hasStaged: ({ context }: { context: Counts }) => context.staged.size > 0,
    hasHolders: ({ context }: { context: Counts }) => context.holders.size > 0,
    noHolders: ({ context }: { context: Counts }) => context.holders.size === 0,
    isAwaiting: () => false,
    stagesOnAdmit: () => true,
    nothingWaiting: () => true,
    lastOperation: ({ context }: { context: Counts }) => context.staged.size === 0 && context.holders.size === 1,
  } as never,
});

const MODELLED = new Set(['operation.submit', 'window.elapsed', 'idle.elapsed', 'xstate.done.actor.operation', 'coordinator.shutdown']);
const model = createTestModel(abstract, {
  events: [
    { type: 'operation.submit' },
    { type: 'window.elapsed' },
    { type: 'idle.elapsed' },
    { type: 'xstate.done.actor.operation' },
    { type: 'coordinator.shutdown' },
  ] as never,
  filterEvents: (s: { context: Counts }, e: { type: string }) =>
    MODELLED.has(e.type) &&
    (e.type !== 'operation.submit' || s.context.staged.size < 2) &&
    (e.type !== 'xstate.done.actor.operation' || s.context.holders.size > 0),
  stopWhen: (s: { status: string }) => s.status === 'done',
  limit: 5000,
} as never);
const paths = model.getSimplePaths().filter((p) => p.steps.length > 1);
const title = (p: TestPath<any, any>) =>
  `${(p.steps.slice(1).map((s) => s.event.type) as string[]).join(' → ')} ⇒ ${JSON.stringify(p.state.value)} ` +
  `(staged ${p.state.context.staged.size}, holding ${p.state.context.holders.size})`;

async function play(path: TestPath<any, any>, whileExecuting: WhileExecuting): Promise<string[]> {
  const problems: string[] = [];
  const clock = new ArbiterTestClock();
  const arbiter = createArbiter({ clock, whileExecuting, windowMs: WINDOW_MS, idleCoordinatorMs: IDLE_MS, gracePeriodMs: 0 });
  const ops: Array<{ handle: OperationHandle; finish: () => void }> = [];
  let coordinator = false;
  let enteredAt = 0;
  let previous: unknown = 'idle';
  for (let i = 1; i < path.steps.length; i++) {
    const { event, state } = path.steps[i]!;
    switch (event.type) {
      case 'operation.submit': {
        let finish!: () => void;
        const started = new Promise<string>((resolve) => (finish = () => resolve('done')));
        ops.push({ handle: arbiter.submit({ target: 't', priority: Priority.NORMAL, execute: () => started }), finish: () => finish() });
        coordinator = true;
        break;
      }
      case 'window.elapsed':
        await advance(clock, enteredAt + WINDOW_MS - clock.now());
        break;
      case 'idle.elapsed':
        await advance(clock, enteredAt + IDLE_MS - clock.now());
        break;
      case 'coordinator.shutdown':
        await arbiter.stop();
        break;
      case 'xstate.done.actor.operation': {
        const holder = ops.find((o) => o.handle.status() === 'executing');
        if (!holder) problems.push(`step ${i}: no operation is executing`);
        holder?.finish();
        break;
      }
    }
    await flush();
    if (JSON.stringify(state.value) !== JSON.stringify(previous) || event.type === 'window.elapsed') enteredAt = clock.now();
    previous = state.value;
    const m = arbiter.metrics();
    const at = `step ${i} (${event.type} ⇒ ${JSON.stringify(state.value)})`;
    if (m.submitted !== m.completed + m.rejected + m.inFlight) problems.push(`${at}: accounting broken`);
    if (m.staged !== state.context.staged.size) problems.push(`${at}: ${m.staged} staged, the model says ${state.context.staged.size}`);
    if (m.executing !== state.context.holders.size) problems.push(`${at}: ${m.executing} executing, the model says ${state.context.holders.size}`);
    if (m.executing > 1) problems.push(`${at}: ${m.executing} operations execute on one target`);
    const expectCoordinator = coordinator && state.value !== 'stopped' ? 1 : 0;
    if (m.coordinators !== expectCoordinator) problems.push(`${at}: ${m.coordinators} coordinators, expected ${expectCoordinator}`);
    if (problems.length > 0) break;
  }
  await arbiter.stop();
  await flush();
  const m = arbiter.metrics();
  if (m.inFlight !== 0 || m.submitted !== m.completed + m.rejected) problems.push(`after stop: ${JSON.stringify(m)}`);
  for (const { handle } of ops) {
    const info = arbiter.operations.get(handle.id);
    if (info?.status === 'rejected' && (!info.code || !info.reason)) problems.push(`${handle.id} rejected without a code`);
    else if (info?.status !== 'rejected' && info?.status !== 'completed') problems.push(`${handle.id} not final: ${info?.status}`);
  }
  return problems;
}

test('coordinator model - number of paths', (t) => {
  // Every simple path to `stopped`: 3 through the idle timeout, 28 through a shutdown (one from
  // each abstract state a path can be in), counted so that a changed machine is noticed.
  t.is(paths.length, 31);
  t.is(paths.filter((p) => p.steps.at(-1)!.event.type === 'idle.elapsed').length, 3);
  t.is(new Set(paths.map(title)).size, paths.length);
});

for (const whileExecuting of ['preempt', 'queue'] as const) {
  for (const path of paths) {
    test(`coordinator model (${whileExecuting}) - ${title(path)}`, async (t) => {
      t.deepEqual(await play(path, whileExecuting), []);
    });
  }
}
