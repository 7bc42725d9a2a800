import test from 'ava';
import { createActor, createMachine, sendParent, SimulatedClock, type AnyActorRef, type AnyMachineSnapshot, type InspectionEvent } from 'xstate';
import {
  ArbiterInputError,
  coordinatorMachine,
  coordinatorSettings,
  extendLifecycle,
  OPERATION_ACTOR_ID,
  type CoordinatorPort,
  type OperationSubmission,
  type WindowReport,
} from '../../src/index.js';
import { deferred, flush } from '../helpers/index.js';

/** A coordinator used alone, as an app embeds it: no createArbiter anywhere in this file. */
function setupCoordinator(input: Record<string, unknown> = {}) {
  const clock = new SimulatedClock();
  const reports: WindowReport[] = [];
  const won: string[] = [];
  const preempted: string[] = [];
  const port: CoordinatorPort = {
    now: () => clock.now(),
    conflict: (r) => reports.push(r),
    won: (op) => won.push(op.input.id),
    preempted: (h) => preempted.push(h.id),
  };
  const coordinator = createActor(coordinatorMachine, {
    clock,
    input: { target: 't', windowMs: 100, gracePeriodMs: 200, whileExecuting: 'preempt', idleMs: 1000, ...input, port },
  }).start();
  /** Final snapshots by operation id. */
  const finals = new Map<string, AnyMachineSnapshot>();
  const actors = new Map<string, AnyActorRef>();
  const submit = (id: string, priority: number, execute: () => unknown = async () => id, extra: Record<string, unknown> = {}) => {
    const operation: OperationSubmission = {
      input: { id, priority, execute, ...extra },
      observer: { next: (s) => s.status === 'done' && finals.set(id, s) },
      created: (actor) => actors.set(id, actor),
    };
    coordinator.send({ type: 'operation.submit', operation });
    return actors.get(id)!;
  };
  const outcome = (id: string) => {
    const s = finals.get(id);
    if (!s) return 'open';
    const ctx = s.context as { code?: string; result?: unknown };
    return s.value === 'completed' ? `completed:${String(ctx.result)}` : `rejected:${ctx.code}`;
  };
  return { clock, coordinator, reports, won, preempted, submit, outcome, actors };
}

test('coordinatorMachine - idle: waits, then stops after idleMs', (t) => {
  const { clock, coordinator } = setupCoordinator();
  t.is(coordinator.getSnapshot().value, 'idle');
  clock.increment(999);
  t.is(coordinator.getSnapshot().value, 'idle');
  clock.increment(1);
  t.is(coordinator.getSnapshot().status, 'done');
});

test('coordinatorMachine - creates each operation as its own child, in its own actor system', (t) => {
  const { coordinator, submit } = setupCoordinator();
  const a = submit('a', 5);
  const b = submit('b', 5);
  for (const op of [a, b]) {
    t.is((op as unknown as { _parent?: AnyActorRef })._parent, coordinator, 'the parent link is the coordinator');
    t.is(op.system, coordinator.system, 'the operation lives in the coordinator system');
    t.is(op.id, OPERATION_ACTOR_ID);
    t.is(op.getSnapshot().value, 'staged');
  }
  t.not(a.sessionId, b.sessionId);
  t.is(coordinator.getSnapshot().value, 'collecting');
  t.is(coordinator.getSnapshot().context.staged.size, 2);
});

test('coordinatorMachine - single op: window opens on the first candidate, winner runs and completes', async (t) => {
  const { clock, coordinator, submit, reports, won, outcome } = setupCoordinator();
  submit('a', 5);
  t.is(coordinator.getSnapshot().value, 'collecting');
  clock.increment(99);
  t.deepEqual(won, []);
  clock.increment(1);
  t.deepEqual(won, ['a']);
  t.is(reports.length, 0, 'one candidate is no conflict');
  await flush();
  t.is(outcome('a'), 'completed:a');
  t.is(coordinator.getSnapshot().value, 'idle', 'the done event of its child frees the target');
  t.is(coordinator.getSnapshot().context.holders?.size ?? 0, 0);
});

test('coordinatorMachine - higher priority wins; equal-priority tie goes to the earliest', async (t) => {
  const { clock, submit, reports, outcome } = setupCoordinator();
  submit('late-high', 8, undefined, { submittedAt: 5, seq: 3 });
  submit('early-high', 8, undefined, { submittedAt: 1, seq: 2 });
  submit('low', 2, undefined, { submittedAt: 0, seq: 1 });
  clock.increment(100);
  await flush();
  t.is(outcome('early-high'), 'completed:early-high');
  t.is(outcome('late-high'), 'rejected:lost-arbitration');
  t.is(outcome('low'), 'rejected:lost-arbitration');
  t.is(reports.length, 1);
  t.deepEqual(reports[0]!.candidates.map((c) => c.id), ['late-high', 'early-high', 'low']);
});

test('coordinatorMachine - preemption after the grace period aborts the holder through its signal', async (t) => {
  const { clock, submit, preempted, outcome, coordinator } = setupCoordinator();
  let aborted = false;
  submit('low', 2, ({ signal }: { signal: AbortSignal } = {} as never) =>
    new Promise((_, reject) => signal.addEventListener('abort', () => ((aborted = true), reject(new Error('aborted'))))),
  );
  clock.increment(100); // low starts at 100
  submit('high', 9);
  clock.increment(100); // t=200: low has held 100 ms → high is held
  t.deepEqual(preempted, []);
  t.is(coordinator.getSnapshot().value, 'collecting', 'the held winner competes in the next window');
  clock.increment(100); // t=300: 200 ms → preempt
  t.deepEqual(preempted, ['low']);
  await flush();
  t.true(aborted);
  t.is(outcome('low'), 'rejected:preempted');
  t.is(outcome('high'), 'completed:high');
});

test('coordinatorMachine - queue: never preempts, the winner waits for the holder', async (t) => {
  const { clock, submit, outcome, preempted } = setupCoordinator({ whileExecuting: 'queue' });
  const holder = deferred<string>();
  submit('first', 1, () => holder.promise);
  clock.increment(100);
  submit('critical', 10);
  clock.increment(1000);
  t.deepEqual(preempted, []);
  t.is(outcome('critical'), 'open');
  holder.resolve('done');
  await flush();
  clock.increment(100);
  await flush();
  t.is(outcome('first'), 'completed:done');
  t.is(outcome('critical'), 'completed:critical');
});

test('coordinatorMachine - a retryable error retries with backoff, still holding the target', async (t) => {
  const { clock, submit, outcome, coordinator } = setupCoordinator({ retry: { baseDelayMs: 10, factor: 2, maxDelayMs: 100, jitter: false } });
  let calls = 0;
  submit('r', 5, async () => {
    calls++;
    if (calls < 3) throw new Error('flaky');
    return 'ok';
  }, { retryable: () => true });
  clock.increment(100);
  await flush();
  t.is(coordinator.getSnapshot().context.holders?.size ?? 0, 1);
  clock.increment(10);
  await flush();
  clock.increment(20);
  await flush();
  t.is(calls, 3);
  t.is(outcome('r'), 'completed:ok');
});

test('coordinatorMachine - a cancelled or timed-out candidate leaves the window', async (t) => {
  const { clock, submit, won, actors, coordinator } = setupCoordinator();
  submit('a', 9);
  submit('b', 1);
  actors.get('a')!.send({ type: 'arbiter.cancel', reason: 'changed my mind' });
  t.is(coordinator.getSnapshot().context.staged.size, 1, 'its done event removed it');
  clock.increment(100);
  t.deepEqual(won, ['b']);
});

test('coordinatorMachine - staging-full beyond maxStagedPerTarget', (t) => {
  const { submit, outcome } = setupCoordinator({ maxStagedPerTarget: 1 });
  submit('a', 5);
  submit('b', 5);
  t.is(outcome('a'), 'open');
  t.is(outcome('b'), 'rejected:staging-full');
});

test('coordinatorMachine - stopping it ends every operation it has (shutdown)', async (t) => {
  const { clock, submit, outcome, coordinator } = setupCoordinator();
  submit('holder', 5, () => new Promise(() => {}));
  clock.increment(100);
  submit('staged', 5);
  coordinator.stop();
  await flush();
  t.is(outcome('holder'), 'rejected:shutdown');
  t.is(outcome('staged'), 'rejected:shutdown');
});

test('coordinatorMachine - a failing coordinator rejects its staged operations arbitration-failed', async (t) => {
  const clock = new SimulatedClock();
  const finals = new Map<string, string>();
  const coordinator = createActor(coordinatorMachine, {
    clock,
    input: {
      target: 't',
      port: {
        now: () => clock.now(),
        conflict: () => {
          throw new Error('port bug');
        },
      },
    },
  });
  let failure: unknown;
  coordinator.subscribe({ error: (err) => (failure = err) });
  coordinator.start();
  for (const id of ['a', 'b']) {
    coordinator.send({
      type: 'operation.submit',
      operation: { input: { id, execute: async () => id }, observer: { next: (s) => s.status === 'done' && finals.set(id, String((s.context as { code?: string }).code)) } },
    });
  }
  clock.increment(100); // two candidates: the port throws inside the coordinator's action
  await flush();
  t.regex(String(failure), /port bug/);
  t.deepEqual([...finals.entries()].sort(), [['a', 'arbitration-failed'], ['b', 'arbitration-failed']]);
});

test('coordinatorMachine - a lifecycle with a step before staged competes once it gets there', async (t) => {
  const lifecycle = extendLifecycle({
    beforeStaged: { validate: { on: { valid: 'next', invalid: { target: 'rejected', code: 'invalid', reason: 'bad payload' } } } },
  });
  const { clock, submit, actors, outcome, coordinator } = setupCoordinator({ lifecycle });
  submit('good', 5);
  submit('bad', 9);
  t.is(coordinator.getSnapshot().context.staged.size, 0);
  t.is(coordinator.getSnapshot().value, 'idle');
  actors.get('bad')!.send({ type: 'invalid' });
  actors.get('good')!.send({ type: 'valid' });
  t.is(coordinator.getSnapshot().value, 'collecting');
  clock.increment(100);
  await flush();
  t.is(outcome('bad'), 'rejected:invalid');
  t.is(outcome('good'), 'completed:good');
});

test('coordinatorMachine - operations waiting in a step before staged keep their coordinator past idleMs; it stops idleMs after the last one ends', async (t) => {
  const lifecycle = extendLifecycle({
    beforeStaged: { validate: { on: { valid: 'next', invalid: { target: 'rejected', code: 'invalid', reason: 'bad payload' } } } },
  });
  const { clock, submit, actors, outcome, coordinator } = setupCoordinator({ lifecycle });
  submit('slow', 5);
  submit('dropped', 5);
  clock.increment(5000);
  await flush();
  t.is(coordinator.getSnapshot().status, 'active', 'two operations wait: the coordinator stays');
  t.is(outcome('slow'), 'open');
  actors.get('slow')!.send({ type: 'valid' });
  t.is(coordinator.getSnapshot().value, 'collecting');
  clock.increment(100);
  await flush();
  t.is(outcome('slow'), 'completed:slow');
  clock.increment(5000);
  await flush();
  t.is(coordinator.getSnapshot().status, 'active', 'one operation still waits');
  actors.get('dropped')!.send({ type: 'invalid' });
  await flush();
  t.is(outcome('dropped'), 'rejected:invalid');
  clock.increment(999);
  t.is(coordinator.getSnapshot().status, 'active', 'the idle time starts when the last waiting operation ends');
  clock.increment(1);
  t.is(coordinator.getSnapshot().status, 'done');
});

test('coordinatorMachine - embedded in an app machine: operations are its children, sendParent reaches it, inspection names the parent', async (t) => {
  const lifecycle = extendLifecycle({
    states: { executing: { entry: 'report' } },
    actions: { report: sendParent({ type: 'operation.note' }) },
  });
  const clock = new SimulatedClock();
  const inspected: InspectionEvent[] = [];
  const app = createMachine({
    id: 'app',
    invoke: { id: 'coordinator', src: coordinatorMachine, input: { target: 'account-42', lifecycle, port: { now: () => clock.now() } } },
  });
  const actor = createActor(app, { clock, inspect: (e) => inspected.push(e) }).start();
  const coordinator = actor.getSnapshot().children['coordinator'] as AnyActorRef;
  let result: unknown;
  let operation: AnyActorRef | undefined;
  coordinator.send({
    type: 'operation.submit',
    operation: {
      input: { id: 'op-1', execute: async () => 'paid' },
      created: (a: AnyActorRef) => (operation = a),
      observer: { next: (s: AnyMachineSnapshot) => { if (s.status === "done") result = (s.context as { result: unknown }).result; } },
    },
  });
  clock.increment(100);
  await flush();
  t.is(result, 'paid');
  const created = inspected.find((e) => e.type === '@xstate.actor' && e.actorRef === operation);
  t.truthy(created, 'the operation is announced in the app system');
  t.is((operation as unknown as { _parent: AnyActorRef })._parent, coordinator);
  const note = inspected.find((e) => e.type === '@xstate.event' && e.event.type === 'operation.note');
  t.is(note?.actorRef, coordinator, 'sendParent reached the coordinator');
  t.is((note as { sourceRef?: AnyActorRef } | undefined)?.sourceRef, operation);
  const done = inspected.find((e) => e.type === '@xstate.event' && e.event.type === 'xstate.done.actor.operation');
  t.is(done?.actorRef, coordinator, 'its done event goes to the coordinator');
  actor.stop();
});

test('coordinatorMachine - its input is checked: an unknown key (with a suggestion), a bad delay or policy fails the actor with ArbiterInputError naming the field', (t) => {
  const cases: Array<[Record<string, unknown>, string, RegExp]> = [
    [{ target: 't', windowMS: 50 }, 'input.windowMS', /did you mean `input.windowMs`/],
    [{ target: 't', idleMs: 2 ** 31 }, 'input.idleMs', /the longest a timer can wait/],
    [{ target: 't', gracePeriodMs: -1 }, 'input.gracePeriodMs', /delay in milliseconds/],
    [{ target: 't', whileExecuting: 'wait' }, 'input.whileExecuting', /preempt/],
    [{ target: 't', maxStagedPerTarget: 0 }, 'input.maxStagedPerTarget', /integer/],
    [{ target: 't', selectWinner: 'highest' }, 'input.selectWinner', /function/],
    [{ target: 42 }, 'input.target', /string/],
  ];
  for (const [input, field, message] of cases) {
    const errors: unknown[] = [];
    const actor = createActor(coordinatorMachine, { input: input as never });
    actor.subscribe({ error: (e) => errors.push(e) });
    actor.start();
    t.is(actor.getSnapshot().status, 'error', field);
    t.true(errors[0] instanceof ArbiterInputError, field);
    t.is((errors[0] as ArbiterInputError).field, field);
    t.regex((errors[0] as Error).message, message);
  }
});

test('coordinatorSettings() - refuses what the coordinator input refuses, at the call', (t) => {
  const err = t.throws(() => coordinatorSettings({ windowMS: 50 } as never), { instanceOf: ArbiterInputError });
  t.is(err?.field, 'options.windowMS');
  t.regex(err?.message ?? '', /did you mean `options.windowMs`/);
  t.throws(() => coordinatorSettings({ windowMs: 2 ** 31 }), { instanceOf: ArbiterInputError, message: /options.windowMs/ });
  t.is(coordinatorSettings({ windowMs: 50 }).windowMs, 50);
});
