import test from 'ava';
import { createActor, createMachine, SimulatedClock, type AnyActorRef } from 'xstate';
import { coordinatorMachine, type Candidate, type CoordinatorPort, type WindowReport } from '../../src/index.js';

interface Sent { id: string; event: { type: string; code?: string } }

function fakeOp(id: string, priority: number, submittedAt: number, seq: number, log: Sent[]) {
  const candidate: Candidate = { id, target: 't', type: 'op', priority, effectivePriority: priority, submittedAt, seq, data: undefined };
  const actor = createActor(createMachine({})).start() as AnyActorRef;
  const send = actor.send.bind(actor);
  (actor as { send: (e: { type: string }) => void }).send = (event) => {
    log.push({ id, event });
    send(event);
  };
  return { candidate, actor };
}

function setup(over: Partial<Parameters<typeof createActor<typeof coordinatorMachine>>[1]> = {}, input: Record<string, unknown> = {}) {
  const clock = new SimulatedClock();
  const log: Sent[] = [];
  const reports: WindowReport[] = [];
  const won: string[] = [];
  const preempted: string[] = [];
  const port: CoordinatorPort = {
    now: () => clock.now(),
    conflict: (r) => reports.push(r),
    won: (op) => won.push(op.candidate.id),
    preempted: (h) => preempted.push(h.id),
    released: () => undefined,
  };
  const actor = createActor(coordinatorMachine, {
    clock,
    input: { target: 't', windowMs: 100, gracePeriodMs: 200, whileExecuting: 'preempt', idleMs: 1000, maxStagedPerTarget: 20, port, ...input },
    ...over,
  }).start();
  return { clock, actor, log, reports, won, preempted };
}

test('coordinatorMachine - idle: waits, then stops after idleMs', (t) => {
  const { clock, actor } = setup();
  t.is(actor.getSnapshot().value, 'idle');
  clock.increment(999);
  t.is(actor.getSnapshot().value, 'idle');
  clock.increment(1);
  t.is(actor.getSnapshot().status, 'done');
});

test('coordinatorMachine - single op: window opens on the first candidate, winner starts at close', (t) => {
  const { clock, actor, log, reports, won } = setup();
  const op = fakeOp('a', 5, 0, 1, log);
  actor.send({ type: 'candidate', operation: op });
  t.is(actor.getSnapshot().value, 'collecting');
  clock.increment(100);
  t.deepEqual(won, ['a']);
  t.deepEqual(log.map((l) => `${l.id}:${l.event.type}`), ['a:arbiter.win']);
  t.is(reports.length, 0, 'one candidate is no conflict');
  t.is(actor.getSnapshot().value, 'busy');
  actor.send({ type: 'operation.finished', id: 'a' });
  t.is(actor.getSnapshot().value, 'idle');
});

test('coordinatorMachine - higher priority wins; equal-priority tie goes to the earliest', (t) => {
  const { clock, actor, log, reports } = setup();
  actor.send({ type: 'candidate', operation: fakeOp('late-high', 8, 5, 3, log) });
  actor.send({ type: 'candidate', operation: fakeOp('early-high', 8, 1, 2, log) });
  actor.send({ type: 'candidate', operation: fakeOp('low', 2, 0, 1, log) });
  clock.increment(100);
  t.deepEqual(
    log.map((l) => `${l.id}:${l.event.type}:${l.event.code ?? ''}`).sort(),
    ['early-high:arbiter.win:', 'late-high:arbiter.reject:lost-arbitration', 'low:arbiter.reject:lost-arbitration'],
  );
  t.is(reports.length, 1);
  t.is(reports[0]!.candidates.length, 3);
});

test('coordinatorMachine - preemption after the grace period', (t) => {
  const { clock, actor, log, preempted } = setup();
  actor.send({ type: 'candidate', operation: fakeOp('low', 2, 0, 1, log) });
  clock.increment(100); // low starts at 100
  actor.send({ type: 'candidate', operation: fakeOp('high', 9, 100, 2, log) });
  clock.increment(100); // t=200: low has held 100 ms → hold
  t.deepEqual(preempted, []);
  t.is(actor.getSnapshot().value, 'collecting', 'the held winner competes in the next window');
  clock.increment(100); // t=300: 200 ms → preempt
  t.deepEqual(preempted, ['low']);
  t.deepEqual(log.slice(-2).map((l) => `${l.id}:${l.event.type}`), ['low:arbiter.preempt', 'high:arbiter.win']);
});

test('coordinatorMachine - staging-full beyond maxStagedPerTarget', (t) => {
  const { actor, log } = setup({}, { maxStagedPerTarget: 1 });
  actor.send({ type: 'candidate', operation: fakeOp('a', 5, 0, 1, log) });
  actor.send({ type: 'candidate', operation: fakeOp('b', 5, 0, 2, log) });
  t.deepEqual(log.map((l) => `${l.id}:${l.event.code}`), ['b:staging-full']);
});

test('coordinatorMachine - a finished candidate leaves the window and its actor is stopped', (t) => {
  const { clock, actor, log, won } = setup();
  const a = fakeOp('a', 9, 0, 1, log);
  actor.send({ type: 'candidate', operation: a });
  actor.send({ type: 'candidate', operation: fakeOp('b', 1, 0, 2, log) });
  actor.send({ type: 'operation.finished', id: 'a' });
  t.is(a.actor.getSnapshot().status, 'stopped');
  clock.increment(100);
  t.deepEqual(won, ['b']);
});
