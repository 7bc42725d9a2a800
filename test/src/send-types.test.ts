import test from 'ava';
import { SimulatedClock, type AnyStateMachine } from 'xstate';
import {
  ArbiterInputError,
  createArbiter,
  createStore,
  eventsOf,
  extendLifecycle,
  withConflictResolution,
  type Arbiter,
  type Entity,
  type Lifecycle,
  type LifecycleEvents,
  type OperationHandle,
} from '../../src/index.js';
import { advance, approval } from '../helpers/index.js';

// `npm test` typechecks this file first: each `@ts-expect-error` below fails the typecheck if the
// line it guards compiles, which every one did while `handle.send` took any `{ type: string }`;
// each `Same<…>` line fails it if an inferred type drifts.

/** `true` when A and B are the same type (not merely assignable either way). */
type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;

test('handle.send - typed from extendLifecycle: a misspelt event does not compile, the declared ones (with fields) do', async (t) => {
  const clock = new SimulatedClock();
  const arbiter = createArbiter({ clock, windowMs: 10, lifecycle: approval });
  const same: Same<typeof arbiter, Arbiter<'approve' | 'deny'>> = true;
  const h = arbiter.submit({ target: 't', execute: async () => 1 });
  const handle: Same<typeof h, OperationHandle<number, 'approve' | 'deny'>> = true;
  await advance(clock, 10);
  t.true(await h.reached('approval'));
  // @ts-expect-error 'aprove' is not an event of the lifecycle
  t.throws(() => h.send({ type: 'aprove' }), { instanceOf: ArbiterInputError, message: /did you mean `approve`/ });
  // @ts-expect-error neither is an arbiter event
  t.throws(() => h.send({ type: 'arbiter.win' }), { instanceOf: ArbiterInputError });
  t.is(h.status(), 'approval', 'the refused events changed nothing');
  h.send({ type: 'approve', by: 'ana' });
  t.is(await h.result, 1);
  const denied = arbiter.submit({ target: 'u', execute: async () => 2 });
  await advance(clock, 10);
  denied.send({ type: 'deny' });
  await t.throwsAsync(denied.result, { message: /denied by a reviewer/ });
  t.true(same && handle);
  await arbiter.stop();
});

test('extendLifecycle - the events are every `on` key of beforeStaged, afterWin and states, wildcards as patterns, plus the base lifecycle\'s', (t) => {
  const first = extendLifecycle({
    beforeStaged: { review: { on: { ok: 'next', no: { target: 'rejected', code: 'refused' } } } },
    states: { executing: { on: { progress: { actions: () => undefined } } } },
  });
  const second = extendLifecycle(
    {
      context: { reviewers: [] as string[] },
      afterWin: {
        approval: {
          on: {
            approve: { target: 'next', guard: ({ context }) => context.reviewers.length >= 0 },
            'vote.*': { actions: () => undefined },
          },
        },
      },
    },
    first,
  );
  type Second = LifecycleEvents<typeof second>;
  const events: Same<Second, 'ok' | 'no' | 'progress' | 'approve' | `vote.${string}`> = true;
  // The type lists what `eventsOf` (which `handle.send` checks at run time) finds in the machine.
  const declared: Second[] = ['ok', 'no', 'progress', 'approve', 'vote.*'];
  t.deepEqual(eventsOf(second).sort(), [...declared].sort());
  const wildcard: Second = 'vote.yes';
  // @ts-expect-error a wildcard matches its prefix only
  const outside: Second = 'votes';
  t.true(events && wildcard !== outside);
});

test('createArbiter - without a lifecycle, send takes no event (the built-in lifecycle has none of yours); the refusal stays at run time', async (t) => {
  const arbiter = createArbiter();
  const h = arbiter.submit({ target: 't', execute: async () => 1 });
  const none: Same<typeof h, OperationHandle<number, never>> = true;
  // @ts-expect-error the built-in lifecycle has no events of yours
  t.throws(() => h.send({ type: 'approve' }), { instanceOf: ArbiterInputError, message: /none \(see extendLifecycle\)/ });
  t.true(none);
  t.is(await h.result, 1);
  await arbiter.stop();
});

test('createArbiter - a lifecycle that is not typed (a machine of your own, an AnyStateMachine) keeps send({ type: string }); run time refuses the unknown', async (t) => {
  const untyped: AnyStateMachine = approval;
  const clock = new SimulatedClock();
  const arbiter = createArbiter({ clock, windowMs: 10, lifecycle: untyped });
  const loose: Same<typeof arbiter, Arbiter> = true;
  const h = arbiter.submit({ target: 't', execute: async () => 1 });
  await advance(clock, 10);
  t.throws(() => h.send({ type: 'aprove' }), { instanceOf: ArbiterInputError, message: /did you mean `approve`/ });
  h.send({ type: 'approve' });
  t.is(await h.result, 1);
  // A cast declares the events of a machine of your own.
  const declared = untyped as Lifecycle<'approve' | 'deny'>;
  const typed: Same<LifecycleEvents<typeof declared>, 'approve' | 'deny'> = true;
  t.true(loose && typed);
  await arbiter.stop();
});

test('typed arbiters and handles still fit the untyped Arbiter and OperationHandle (helpers, inspector, your own functions)', async (t) => {
  const typed = createArbiter({ lifecycle: approval });
  const plain = createArbiter();
  const arbiters: Arbiter[] = [typed, plain];
  const handles: OperationHandle<number>[] = arbiters.map((a) => a.submit({ target: 't', execute: async () => 1 }));
  t.is(handles.length, 2);
  await Promise.all(arbiters.map((a) => a.stop()));
});

test('withConflictResolution - handle(...).send is typed from the arbiter\'s lifecycle', async (t) => {
  type Doc = { title: string };
  const clock = new SimulatedClock();
  const store = createStore();
  const arbiter = createArbiter({ clock, windowMs: 10, lifecycle: approval, store });
  const publish = withConflictResolution((doc: Entity<Doc>) => doc.data.title, { arbiter, mode: 'staged' });
  const h = publish.handle(store.create<Doc>({ title: 'hello' }));
  const same: Same<typeof h, OperationHandle<string, 'approve' | 'deny'>> = true;
  await advance(clock, 10);
  // @ts-expect-error 'publish' is not an event of the lifecycle
  t.throws(() => h.send({ type: 'publish' }), { instanceOf: ArbiterInputError });
  h.send({ type: 'approve' });
  t.is(await h.result, 'hello');
  t.true(same);
  await arbiter.stop();
});

test('extendLifecycle - an explicit context type, or a patch declaring no event, gives send({ type: string }) (refused at run time if unknown)', (t) => {
  type Review = { quorum: number };
  const explicit = extendLifecycle<Review>({
    context: { quorum: 1 },
    afterWin: { approval: { on: { approve: { target: 'next', guard: ({ context }) => context.quorum > 0 } } } },
  });
  // Naming the events too types send again.
  const named = extendLifecycle<Review, 'approve'>({
    context: { quorum: 1 },
    // @ts-expect-error an event not in the list given does not compile
    afterWin: { approval: { on: { approve: 'next', aprove: 'next' } } },
  });
  const silent = extendLifecycle({ states: { executing: { entry: () => undefined } } });
  const explicitEvents: Same<LifecycleEvents<typeof explicit>, string> = true;
  const namedEvents: Same<LifecycleEvents<typeof named>, 'approve'> = true;
  const silentEvents: Same<LifecycleEvents<typeof silent>, string> = true;
  t.deepEqual([eventsOf(explicit), eventsOf(silent)], [['approve'], []]);
  t.true(explicitEvents && namedEvents && silentEvents);
});
