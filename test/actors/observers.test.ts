import test from 'ava';
import { Subject } from 'rxjs';
import { createActor, type AnyActorRef } from 'xstate';
import { eventObserverLogic, observerOf } from '../../actors/observers.js';
import { Ledger } from '../../actors/ledger.js';
import { createArbiter, Priority, type ArbiterEvent } from '../../src/index.js';
import { advance, harness } from '../helpers/index.js';

const submitted = (seq: number): ArbiterEvent =>
  ({ type: 'operation.submitted', seq, at: 0, target: 't', operationId: `op-${seq}`, operationType: 'x', priority: 5, effectivePriority: 5 }) as ArbiterEvent;

test('eventObserverLogic - fed by its event stream, not its mailbox; a summary on observer.sample; stopping unsubscribes', (t) => {
  const events$ = new Subject<ArbiterEvent>();
  let seen = 0;
  let stopped = 0;
  const observer = { observe: () => void seen++, summary: () => ({ seen }), stop: () => void stopped++ };
  const actor = createActor(eventObserverLogic, { input: { events$, observer } }).start();
  t.deepEqual(actor.getSnapshot().context, { seen: 0 });
  events$.next(submitted(1));
  events$.next(submitted(2));
  t.is(seen, 2);
  t.deepEqual(actor.getSnapshot().context, { seen: 0 }, 'the snapshot changes on sample only');
  actor.send({ type: 'observer.sample' });
  t.deepEqual(actor.getSnapshot().context, { seen: 2 });
  t.is(observerOf(actor), observer);
  actor.stop();
  events$.next(submitted(3));
  t.is(seen, 2, 'unsubscribed');
  t.is(stopped, 1);
  t.false(events$.observed);
});

test('eventObserverLogic - a summary that throws is reported in the context, never thrown', (t) => {
  const events$ = new Subject<ArbiterEvent>();
  const actor = createActor(eventObserverLogic, {
    input: { events$, observer: { observe: () => {}, summary: () => { throw new Error('bad summary'); } } },
  }).start();
  t.deepEqual(actor.getSnapshot().context, { summaryFailed: 'bad summary' });
  actor.stop();
});

test('arbiter.observers - one actor per observer (ledger, metrics, health, cleanup, breaker), each subscribed to events$', async (t) => {
  const { clock, arbiter } = harness({ breaker: true, windowMs: 10 });
  const children = (arbiter.observers.getSnapshot() as { children: Record<string, AnyActorRef> }).children;
  t.deepEqual(Object.keys(children).sort(), ['breaker', 'cleanup', 'health', 'ledger', 'metrics']);
  for (const child of Object.values(children)) t.is((child as unknown as { _parent?: AnyActorRef })._parent, arbiter.observers);
  const ledger = observerOf<Ledger>(arbiter.observers, 'ledger')!;
  t.true(ledger instanceof Ledger);
  arbiter.submit({ target: 'a', priority: Priority.HIGH, execute: async () => 1 });
  arbiter.submit({ target: 'a', priority: Priority.LOW, execute: async () => 2 });
  await advance(clock, 10);
  await arbiter.onIdle();
  t.like(ledger.counts(), { submitted: 2, completed: 1, rejected: 1, conflicts: 1 });
  arbiter.observers.send({ type: 'observer.sample' });
  t.like(children['ledger']!.getSnapshot().context, { submitted: 2, completed: 1 });
  t.like(children['cleanup']!.getSnapshot().context, { strategy: 'deferred', retained: 2 });
  t.like(children['breaker']!.getSnapshot().context, { state: 'closed', executions: 1 });
  t.like(children['health']!.getSnapshot().context, { status: 'healthy' });
  await arbiter.stop();
  t.is(arbiter.observers.getSnapshot().status, 'stopped');
  for (const child of Object.values(children)) t.is(child.getSnapshot().status, 'stopped');
});

test('refused before any coordinator (circuit-open, staging-full, shutdown): a root actor rejected from pending, with its events, accounted', async (t) => {
  const { clock, arbiter, events } = harness({ windowMs: 10, maxStagedPerTarget: 1, breaker: true });
  arbiter.submit({ target: 'full', execute: () => new Promise(() => {}) });
  const full = arbiter.submit({ target: 'full', execute: async () => 'never' });
  arbiter.breaker!.trip();
  const open = arbiter.submit({ target: 'other', execute: async () => 'never' });
  arbiter.breaker!.reset();
  await advance(clock, 10);
  for (const [h, code] of [[full, 'staging-full'], [open, 'circuit-open']] as const) {
    t.is(h.status(), 'rejected');
    t.is(((await h.result.catch((e: unknown) => e)) as { code: string }).code, code);
    t.is((h.actor as unknown as { _parent?: unknown })._parent, undefined, 'it never reached a coordinator');
    t.is(h.actor!.getSnapshot().value, 'rejected');
    const mine = events.filter((e) => 'operationId' in e && e.operationId === h.id);
    t.deepEqual(mine.map((e) => e.type), ['operation.submitted', 'operation.rejected']);
    t.is((mine[1] as { from: string }).from, 'pending');
  }
  const m = arbiter.metrics();
  t.is(m.submitted, m.completed + m.rejected + m.inFlight);
  t.is(m.rejectedByCode['staging-full'], 1);
  t.is(m.rejectedByCode['circuit-open'], 1);
  await arbiter.stop();
  const late = arbiter.submit({ target: 'x', execute: async () => 'never' });
  t.is(late.status(), 'rejected');
  t.is(((await late.result.catch((e: unknown) => e)) as { code: string }).code, 'shutdown');
  t.is(late.actor!.getSnapshot().value, 'rejected');
});

test('createArbiter() - metrics, health and cleanup need no call from the submit path: they follow events$ alone', async (t) => {
  // An arbiter whose event stream is watched by a second ledger gives the same counts as its own.
  const arbiter = createArbiter({ windowMs: 5 });
  const mirror = new Ledger();
  arbiter.events$.subscribe((e) => mirror.observe(e));
  const handles = [1, 2, 3].map((p) => arbiter.submit({ target: 't', priority: p, execute: async () => p }));
  await Promise.allSettled(handles.map((h) => h.result));
  await arbiter.onIdle();
  const m = arbiter.metrics();
  t.like(mirror.counts(), { submitted: m.submitted, completed: m.completed, rejected: m.rejected, conflicts: m.conflicts });
  await arbiter.stop();
});
