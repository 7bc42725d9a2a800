import test from 'ava';
import { SimulatedClock, type AnyActorRef } from 'xstate';
import { coordinatorGroupLogic, Priority, Supervisor, type CoordinatorStopReason } from '../../src/index.js';
import { advance, flush, harness } from '../helpers/index.js';

const parentOf = (actor: AnyActorRef | undefined) => (actor as unknown as { _parent?: AnyActorRef } | undefined)?._parent;

test('Supervisor - one coordinator per target, coordinators grouped 32 to an actor system under a coordinatorGroupLogic root, each operation a child of its target coordinator; idle coordinators stop', async (t) => {
  const { clock, arbiter } = harness({ maxStaged: 10_000 });
  const handles = [];
  for (let i = 0; i < 1000; i++) handles.push(arbiter.submit({ target: `t${i % 500}`, priority: Priority.NORMAL, execute: async () => i }));
  t.is(arbiter.metrics().coordinators, 500);
  const coordinators = new Set(handles.map((h) => parentOf(h.actor)));
  t.is(coordinators.size, 500, 'the parent of every operation is its target coordinator');
  const groups = new Map<AnyActorRef, Set<AnyActorRef>>();
  for (const h of handles) {
    const coordinator = parentOf(h.actor)!;
    const root = parentOf(coordinator)!;
    t.is(parentOf(root), undefined, 'a coordinator is a child of its group, the root of an actor system');
    t.is((root as unknown as { logic: unknown }).logic, coordinatorGroupLogic);
    t.is(h.actor!.system, coordinator.system, 'an operation lives in its coordinator system');
    t.is(coordinator.system, root.system);
    groups.set(root, (groups.get(root) ?? new Set()).add(coordinator));
  }
  t.is(groups.size, Math.ceil(500 / 32), 'coordinators share systems, 32 to a system');
  for (const members of groups.values()) t.true(members.size <= 32);
  t.deepEqual(Object.keys(handles[0]!.actor!.getSnapshot().children), [], 'a staged operation has no children');
  await advance(clock, 100);
  await arbiter.onIdle();
  const m = arbiter.metrics();
  t.is(m.completed, 500);
  t.is(m.rejectedByCode['lost-arbitration'], 500);
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
    let observersRoot: string | undefined;
    const { clock, arbiter } = harness({
      maxStaged: 1_000_000,
      inspect: (e) => {
        // The observers' own actors (a constant handful at start) and the roots that group
        // coordinators (one per 32 targets) are not per-operation work.
        if (e.type === '@xstate.snapshot' && e.rootId !== observersRoot && (e.actorRef as AnyActorRef & { logic?: unknown }).logic !== coordinatorGroupLogic) snapshots++;
      },
    });
    observersRoot = arbiter.observers.sessionId;
    snapshots = 0;
    for (let i = 0; i < targets * 3; i++) arbiter.submit({ target: `t${i % targets}`, execute: async () => 1 });
    await advance(clock, 100);
    await arbiter.onIdle();
    await arbiter.stop();
    return snapshots / (targets * 3);
  }
  const small = await snapshotsPerOp(10);
  const large = await snapshotsPerOp(10_000);
  t.true(Math.abs(small - large) < 0.01, `${small} vs ${large} snapshots per operation`);
});

test('Supervisor - a failing coordinator still gives every operation a final state, and is forgotten', async (t) => {
  const clock = new SimulatedClock();
  const stopped: Array<[string, CoordinatorStopReason]> = [];
  const failed: Array<[string, string, number]> = [];
  const started: string[] = [];
  const supervisor = new Supervisor({
    coordinator: {
      windowMs: 100,
      port: {
        now: () => clock.now(),
        conflict: () => {
          throw new Error('port bug');
        },
      },
    },
    clock,
    onCoordinatorStarted: (target) => started.push(target),
    onCoordinatorStopped: (target, reason) => stopped.push([target, reason]),
    onCoordinatorFailed: (target, error, ended) => failed.push([target, error, ended]),
  });
  const finals = new Map<string, string>();
  for (const id of ['a', 'b']) {
    supervisor.admit('t');
    supervisor.route('t', {
      input: { id, execute: async () => id },
      observer: { next: (s) => void (s.status === 'done' && finals.set(id, String((s.context as { code?: string }).code))) },
    });
  }
  t.deepEqual(started, ['t']);
  t.is(supervisor.undecidedOn('t'), 2);
  clock.increment(100); // two candidates: port.conflict throws inside the coordinator
  await flush();
  t.deepEqual([...finals.entries()].sort(), [['a', 'arbitration-failed'], ['b', 'arbitration-failed']]);
  t.deepEqual(stopped, []);
  t.is(failed.length, 1);
  t.is(failed[0]![0], 't');
  t.regex(failed[0]![1], /port bug/);
  t.is(failed[0]![2], 2, 'it ended both its operations');
  t.is(supervisor.size, 0, 'the failed coordinator is forgotten; the next submission gets a new one');
  supervisor.route('t', { input: { id: 'c', execute: async () => 'c' } });
  t.is(supervisor.size, 1);
  t.deepEqual(started, ['t', 't']);
  supervisor.stop();
  t.deepEqual(stopped.map(([target, reason]) => `${target}:${reason}`), ['t:shutdown']);
});
