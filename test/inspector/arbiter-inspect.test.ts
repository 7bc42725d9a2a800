import test from 'ava';
import type { AnyActorRef, InspectionEvent } from 'xstate';
import { ArbiterInputError } from '../../src/index.js';
import { advance, harness } from '../helpers/index.js';

const logicId = (a: unknown) => (a as unknown as { logic: { id?: string } }).logic.id ?? '?';
const parentOf = (a: unknown) => (a as unknown as { _parent?: AnyActorRef })._parent;
/** Root actors announced: the roots of the coordinators' small systems, and the observers actor. */
const rootsOf = (events: InspectionEvent[]) =>
  events.filter((e) => e.type === '@xstate.actor' && e.rootId === e.actorRef.sessionId).map((e) => logicId(e.actorRef));
/** Coordinators announced, each as the logic id of its parent (the root of its system). */
const coordinatorsOf = (events: InspectionEvent[]) =>
  events.filter((e) => e.type === '@xstate.actor' && logicId(e.actorRef) === 'coordinator').map((e) => logicId(parentOf(e.actorRef)!));
/** Operations announced, each as the logic id of its parent (its coordinator). */
const operationsOf = (events: InspectionEvent[]) =>
  events.filter((e) => e.type === '@xstate.actor' && logicId(e.actorRef) === 'operation').map((e) => logicId(parentOf(e.actorRef)!));

test('createArbiter({ inspect }) - the observer sees every operation and coordinator actor', async (t) => {
  const seen: InspectionEvent[] = [];
  const { clock, arbiter } = harness({ windowMs: 10, inspect: (e) => seen.push(e) });
  arbiter.submit({ target: 'a', execute: async () => 1 });
  arbiter.submit({ target: 'b', execute: async () => 2 });
  await advance(clock, 10);
  await arbiter.drain();
  t.deepEqual(rootsOf(seen).sort(), ['coordinators', 'observers']);
  t.deepEqual(coordinatorsOf(seen), ['coordinators', 'coordinators']);
  t.deepEqual(operationsOf(seen), ['coordinator', 'coordinator'], 'each operation is announced as a child of its coordinator');
  for (const e of seen) if (e.type === '@xstate.actor' && logicId(e.actorRef) === 'operation') t.is(e.rootId, parentOf(parentOf(e.actorRef)!)!.sessionId);
  t.true(seen.some((e) => e.type === '@xstate.snapshot' && (e.snapshot as { value?: unknown }).value === 'completed'));
  await arbiter.stop();
});

test('arbiter.inspect() - added late: live actors are announced, later ones followed, once each', async (t) => {
  const { clock, arbiter } = harness({ windowMs: 10 });
  const before = arbiter.submit({ target: 'a', id: 'early', execute: async () => 1 });
  const seen: InspectionEvent[] = [];
  const again: InspectionEvent[] = [];
  const sub = arbiter.inspect((e) => seen.push(e));
  const sub2 = arbiter.inspect({ next: (e) => again.push(e) });
  t.deepEqual(rootsOf(seen).sort(), ['coordinators', 'observers']);
  t.deepEqual(coordinatorsOf(seen), ['coordinators']);
  t.deepEqual(operationsOf(seen), ['coordinator']);
  const observers = seen.filter((e) => e.type === '@xstate.actor' && e.rootId === arbiter.observers.sessionId && e.actorRef !== arbiter.observers);
  t.deepEqual(observers.map((e) => (e.actorRef as AnyActorRef).id).sort(), ['cleanup', 'health', 'ledger', 'metrics'], 'the observer actors are in the tree');
  const early = seen.find((e) => e.type === '@xstate.actor' && e.actorRef === before.actor);
  t.truthy(early, 'the live operation is announced');
  arbiter.submit({ target: 'a', id: 'late', execute: async () => 2 });
  await advance(clock, 10);
  await arbiter.drain();
  // The early operation entering executing arrives exactly once per observer (the hub is added once).
  const executions = (list: InspectionEvent[]) =>
    list.filter((e) => e.type === '@xstate.snapshot' && e.actorRef === before.actor && (e.snapshot as { value?: unknown }).value === 'executing').length;
  t.is(executions(seen), 1);
  t.is(executions(again), 1);
  sub.unsubscribe();
  sub2.unsubscribe();
  const count = seen.length;
  arbiter.submit({ target: 'c', execute: async () => 3 });
  await advance(clock, 10);
  t.is(seen.length, count, 'nothing after unsubscribe');
  await arbiter.stop();
});

test('arbiter.inspect() - a throwing observer is isolated and counted; bad observers are rejected', async (t) => {
  const reported: unknown[] = [];
  const { clock, arbiter } = harness({ windowMs: 10, onObserverError: (err) => reported.push(err) });
  const good: string[] = [];
  arbiter.inspect(() => {
    throw new Error('observer bug');
  });
  arbiter.inspect((e) => good.push(e.type));
  const h = arbiter.submit({ target: 'a', execute: async () => 'fine' });
  await advance(clock, 10);
  t.is(await h.result, 'fine');
  t.true(good.length > 0, 'the other observer still gets everything');
  t.true(reported.length > 0);
  t.is(arbiter.metrics().observerErrors, reported.length);
  t.throws(() => arbiter.inspect(null as never), { instanceOf: ArbiterInputError });
  t.throws(() => arbiter.inspect(42 as never), { instanceOf: ArbiterInputError });
  await arbiter.stop();
});

test('arbiter.inspect(observer, { sampleOperation }) - only sampled operations are inspected; coordinators always', async (t) => {
  const { clock, arbiter } = harness({ windowMs: 10 });
  const seen: InspectionEvent[] = [];
  let n = 0;
  const sub = arbiter.inspect((e) => seen.push(e), { sampleOperation: () => n++ % 2 === 0 });
  for (let i = 0; i < 6; i++) arbiter.submit({ target: `t${i}`, execute: async () => i });
  await advance(clock, 10);
  await arbiter.drain();
  t.deepEqual(rootsOf(seen).sort(), ['coordinators', 'observers']);
  t.is(coordinatorsOf(seen).length, 6, 'coordinators always');
  t.is(operationsOf(seen).length, 3, 'every other operation is followed');
  const followed = new Set(seen.filter((e) => e.type === '@xstate.actor' && logicId(e.actorRef) === 'operation').map((e) => e.actorRef));
  for (const e of seen) {
    if (logicId(e.actorRef) === 'operation') t.true(followed.has(e.actorRef), 'no event of an operation that is not followed');
  }
  t.is(n, 6, 'asked once per operation');
  t.throws(() => arbiter.inspect(() => {}, { sampleOperation: 1 as never }), { instanceOf: ArbiterInputError });
  sub.unsubscribe();
  await arbiter.stop();
});

test('arbiter.inspect(observer, { sampleOperation }) - the events of an operation not followed never reach XState’s observers (dropped before XState copies them), nor any once the observers left', async (t) => {
  const { clock, arbiter } = harness({ windowMs: 10 });
  const roots: AnyActorRef[] = [];
  const sub = arbiter.inspect(
    (e) => {
      if (e.type === '@xstate.actor' && e.rootId === e.actorRef.sessionId) roots.push(e.actorRef as AnyActorRef);
    },
    { sampleOperation: () => false },
  );
  arbiter.submit({ target: 'a', execute: async () => 0 });
  const system = roots.find((r) => logicId(r) === 'coordinators')!;
  t.truthy(system);
  // An observer of XState's own on the same system sees what XState copies for its observers.
  const built: InspectionEvent[] = [];
  system.system.inspect((e: InspectionEvent) => built.push(e));
  for (let i = 0; i < 3; i++) arbiter.submit({ target: 'a', execute: async () => i });
  await advance(clock, 10);
  await arbiter.drain();
  t.true(built.some((e) => logicId(e.actorRef) === 'coordinator'), 'the coordinator is still inspected');
  const ofOperation = (e: InspectionEvent) => logicId(e.actorRef) === 'operation' || (parentOf(e.actorRef) !== undefined && logicId(parentOf(e.actorRef)) === 'operation');
  t.deepEqual(built.filter(ofOperation), [], 'neither the operations nor their execute actors');
  sub.unsubscribe();
  built.length = 0;
  arbiter.submit({ target: 'a', execute: async () => 4 });
  await advance(clock, 10);
  await arbiter.drain();
  t.deepEqual(built, [], 'the system still reports to the arbiter, which drops everything first');
  await arbiter.stop();
});

test('arbiter.inspect(observer, { types }) - only the event types asked for reach XState’s observers; bad types are refused by name', async (t) => {
  const { clock, arbiter } = harness({ windowMs: 10 });
  const some: string[] = [];
  const all: string[] = [];
  const sub = arbiter.inspect((e) => some.push(e.type), { types: ['@xstate.actor', '@xstate.snapshot'] });
  const roots: AnyActorRef[] = [];
  const rootsSub = arbiter.inspect(
    (e) => {
      if (e.type === '@xstate.actor' && e.rootId === e.actorRef.sessionId) roots.push(e.actorRef as AnyActorRef);
    },
    { types: ['@xstate.actor'] },
  );
  arbiter.submit({ target: 'a', execute: async () => 0 });
  const built: string[] = [];
  roots.find((r) => logicId(r) === 'coordinators')!.system.inspect((e: InspectionEvent) => built.push(e.type));
  arbiter.submit({ target: 'a', execute: async () => 1 });
  await advance(clock, 10);
  await arbiter.drain();
  t.deepEqual([...new Set(some)].sort(), ['@xstate.actor', '@xstate.snapshot']);
  t.deepEqual([...new Set(built)].sort(), ['@xstate.actor', '@xstate.snapshot'], 'no event, microstep or action reached XState’s observers');
  // An observer that wants every type brings them back, for itself only.
  const everything = arbiter.inspect((e) => all.push(e.type));
  some.length = 0;
  arbiter.submit({ target: 'a', execute: async () => 2 });
  await advance(clock, 10);
  await arbiter.drain();
  t.true(all.includes('@xstate.microstep') && all.includes('@xstate.action') && all.includes('@xstate.event'));
  t.deepEqual([...new Set(some)].sort(), ['@xstate.actor', '@xstate.snapshot']);
  everything.unsubscribe();
  sub.unsubscribe();
  rootsSub.unsubscribe();
  for (const [types, field] of [['@xstate.snapshot', 'options.types'], [['@xstate.step'], 'options.types[0]'], [[1], 'options.types[0]']] as const) {
    t.throws(() => arbiter.inspect(() => {}, { types: types as never }), { instanceOf: ArbiterInputError, message: new RegExp(field.replace(/[[\].]/g, '\\$&')) });
  }
  t.throws(() => arbiter.inspect(() => {}, { typez: [] } as never), { instanceOf: ArbiterInputError });
  await arbiter.stop();
});

test('arbiter.inspect() - events reach the observers with their rootId whether the hub delivers them itself or XState does (another observer on the system)', async (t) => {
  const { clock, arbiter } = harness({ windowMs: 10 });
  const seen: InspectionEvent[] = [];
  arbiter.inspect((e) => seen.push(e));
  arbiter.submit({ target: 'a', execute: async () => 0 });
  await advance(clock, 10);
  await arbiter.drain();
  const root = seen.find((e) => e.type === '@xstate.actor' && logicId(e.actorRef) === 'coordinators')!.actorRef as AnyActorRef;
  const ofSystem = (list: InspectionEvent[]) => list.filter((e) => (e.actorRef as AnyActorRef).system === root.system);
  t.true(ofSystem(seen).length > 0);
  for (const e of ofSystem(seen)) t.is(e.rootId, root.sessionId, e.type);
  // Someone else observes the system: XState delivers to both, as it would without the arbiter.
  const other: InspectionEvent[] = [];
  root.system.inspect((e: InspectionEvent) => other.push(e));
  seen.length = 0;
  arbiter.submit({ target: 'a', execute: async () => 1 });
  await advance(clock, 10);
  await arbiter.drain();
  t.true(ofSystem(seen).length > 0);
  t.deepEqual(ofSystem(other).map((e) => e.type), ofSystem(seen).map((e) => e.type));
  for (const e of ofSystem(seen)) t.is(e.rootId, root.sessionId);
  await arbiter.stop();
});
