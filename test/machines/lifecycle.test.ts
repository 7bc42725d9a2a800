import test from 'ava';
import { assign, createMachine, fromPromise, setup, type AnyStateMachine } from 'xstate';
import { checkLifecycle, extendLifecycle, LIFECYCLE_RULES } from '../../machines/lifecycle.js';
import { operationMachine } from '../../machines/operation.machine.js';
import { ArbiterInputError, LifecycleError, OccConflictError, Priority, createArbiter } from '../../src/index.js';
import { advance, ArbiterTestClock } from '../../src/testing.js';
import { outcome } from '../helpers/index.js';

const approvalPatch = {
  afterWin: {
    approval: {
      on: {
        approve: { target: 'next', actions: assign({ approvedBy: ({ event }: { event: any }) => event.by }) },
        deny: { target: 'rejected', code: 'denied', reason: ({ event }: { event: any }) => `denied by ${event.by}` },
      },
      after: { approvalTimeout: { target: 'rejected', code: 'approval-timeout', reason: 'nobody approved in time' } },
    },
  },
  context: { approvedBy: undefined as string | undefined },
  delays: { approvalTimeout: 5000 },
};

function setupArbiter(lifecycle: AnyStateMachine, options = {}) {
  const clock = new ArbiterTestClock();
  const arbiter = createArbiter({ clock, lifecycle, windowMs: 100, gracePeriodMs: 0, random: () => 0.5, ...options });
  return { clock, arbiter };
}

test('checkLifecycle() - the library lifecycle keeps every guarantee', (t) => {
  t.deepEqual(checkLifecycle(operationMachine), []);
  t.is(Object.keys(LIFECYCLE_RULES).length, 8);
});

test('extendLifecycle() - afterWin approval: waits after winning, approve runs execute', async (t) => {
  const lifecycle = extendLifecycle(approvalPatch as never);
  const { clock, arbiter } = setupArbiter(lifecycle);
  let ran = 0;
  const h = arbiter.submit({ target: 'doc', execute: async () => ++ran });
  await advance(clock, 100);
  t.is(h.status(), 'approval');
  t.is(ran, 0);
  t.is(arbiter.metrics().executing, 1); // it holds the target while it waits
  h.send({ type: 'approve', by: 'ada' });
  t.deepEqual(await outcome(h.result), { ok: true, value: 1 });
  t.is((h.actor!.getSnapshot() as { context: { approvedBy: string } }).context.approvedBy, 'ada');
  await arbiter.stop();
});

test('extendLifecycle() - afterWin approval: deny and timeout reject with their codes', async (t) => {
  const lifecycle = extendLifecycle(approvalPatch as never);
  const { clock, arbiter } = setupArbiter(lifecycle);
  const denied = arbiter.submit({ target: 'a', execute: async () => 1 });
  const late = arbiter.submit({ target: 'b', execute: async () => 2 });
  await advance(clock, 100);
  denied.send({ type: 'deny', by: 'bob' });
  t.like(await outcome(denied.result), { ok: false, code: 'denied', reason: 'denied by bob' });
  await advance(clock, 4999);
  t.is(late.status(), 'approval');
  await advance(clock, 1);
  t.like(await outcome(late.result), { ok: false, code: 'approval-timeout' });
  const m = arbiter.metrics();
  t.is((m.rejectedByCode as Record<string, number>)['denied'], 1);
  t.is((m.rejectedByCode as Record<string, number>)['approval-timeout'], 1);
  t.is(m.submitted, m.completed + m.rejected + m.inFlight);
  await arbiter.stop();
});

test('extendLifecycle() - afterWin step is preemptible: a higher priority rival takes the target', async (t) => {
  const lifecycle = extendLifecycle(approvalPatch as never);
  const { clock, arbiter } = setupArbiter(lifecycle);
  const low = arbiter.submit({ target: 'doc', priority: Priority.LOW, execute: async () => 'low' });
  await advance(clock, 100);
  const high = arbiter.submit({ target: 'doc', priority: Priority.HIGH, execute: async () => 'high' });
  await advance(clock, 100);
  t.like(await outcome(low.result), { ok: false, code: 'preempted' });
  t.is(high.status(), 'approval');
  t.is(arbiter.metrics().executing, 1);
  await arbiter.stop();
});

test('extendLifecycle() - beforeStaged validating rejects bad payloads with a custom code, after admission', async (t) => {
  const lifecycle = extendLifecycle({
    beforeStaged: {
      validating: {
        always: [
          { guard: ({ context }) => typeof (context.data as { amount?: unknown })?.amount === 'number', target: 'next' },
          { target: 'rejected', code: 'invalid-payload', reason: 'amount must be a number' },
        ],
      },
    },
  });
  const { clock, arbiter } = setupArbiter(lifecycle);
  const bad = arbiter.submit({ target: 'acc', data: { amount: 'ten' }, execute: async () => 'no' });
  const good = arbiter.submit({ target: 'acc', data: { amount: 10 }, execute: async () => 'yes' });
  t.like(await outcome(bad.result), { ok: false, code: 'invalid-payload', reason: 'amount must be a number' });
  t.is(good.status(), 'staged');
  t.is(arbiter.metrics().staged, 1); // the rejected one gave its capacity back
  await advance(clock, 100);
  t.deepEqual(await outcome(good.result), { ok: true, value: 'yes' });
  t.is((arbiter.metrics().rejectedByCode as Record<string, number>)['invalid-payload'], 1);
  await arbiter.stop();
});

test('extendLifecycle() - steps chain in order, also across two extensions', async (t) => {
  const seen: string[] = [];
  const first = extendLifecycle({
    beforeStaged: { a: { entry: () => seen.push('a'), always: 'next' }, b: { entry: () => seen.push('b'), always: 'next' } },
  });
  const second = extendLifecycle({ beforeStaged: { c: { entry: () => seen.push('c'), always: 'next' } } }, first);
  const { clock, arbiter } = setupArbiter(second);
  const h = arbiter.submit({ target: 'x', execute: async () => 1 });
  t.deepEqual(seen, ['a', 'b', 'c']);
  t.is(h.status(), 'staged');
  await advance(clock, 100);
  t.deepEqual(await outcome(h.result), { ok: true, value: 1 });
  await arbiter.stop();
});

test('extendLifecycle() - states: entry actions, targetless handlers and enterIf on existing states', async (t) => {
  const entries: number[] = [];
  let quota = 1;
  const lifecycle = extendLifecycle({
    states: {
      executing: {
        entry: ({ context }) => void entries.push(context.attempt),
        enterIf: { guard: 'hasQuota', code: 'quota-exceeded', reason: 'no quota left' },
      },
      staged: { on: { note: { actions: assign({ notes: ({ context }: { context: any }) => context.notes + 1 }) as never } } },
    },
    context: { notes: 0 },
    guards: { hasQuota: () => quota-- > 0 },
  });
  const { clock, arbiter } = setupArbiter(lifecycle);
  const first = arbiter.submit({ target: 'q1', execute: async () => 'ran' });
  first.send({ type: 'note' });
  first.send({ type: 'note' });
  t.is((first.actor!.getSnapshot() as { context: { notes: number } }).context.notes, 2);
  t.is(first.status(), 'staged');
  const second = arbiter.submit({ target: 'q2', execute: async () => 'ran' });
  await advance(clock, 100);
  t.deepEqual(await outcome(first.result), { ok: true, value: 'ran' });
  t.like(await outcome(second.result), { ok: false, code: 'quota-exceeded', reason: 'no quota left' });
  t.deepEqual(entries, [1]);
  await arbiter.stop();
});

test('extendLifecycle() - overrides delays (backoff) and actors (execute) by name', async (t) => {
  let calls = 0;
  const lifecycle = extendLifecycle({
    delays: { backoff: 7 },
    actors: {
      execute: fromPromise(async () => {
        calls++;
        if (calls === 1) throw new OccConflictError({ id: 'e', expected: 1, actual: 2 });
        return 'stubbed';
      }),
    },
  });
  const { clock, arbiter } = setupArbiter(lifecycle);
  const h = arbiter.submit({ target: 'x', execute: async () => 'real' });
  await advance(clock, 100);
  t.is(h.status(), 'retrying');
  await advance(clock, 6);
  t.is(h.status(), 'retrying');
  await advance(clock, 1);
  t.deepEqual(await outcome(h.result), { ok: true, value: 'stubbed' });
  t.is(calls, 2);
  await arbiter.stop();
});

test('extendLifecycle() - context fields from a function of the input', (t) => {
  const lifecycle = extendLifecycle({ context: ({ input }) => ({ tenant: (input.data as { tenant: string }).tenant, id: 'ignored' }) });
  const { arbiter } = setupArbiter(lifecycle);
  const h = arbiter.submit({ id: 'real-id', target: 'x', data: { tenant: 'acme' }, execute: async () => 1 });
  const ctx = (h.actor!.getSnapshot() as { context: { tenant: string; id: string } }).context;
  t.is(ctx.tenant, 'acme');
  t.is(ctx.id, 'real-id'); // the arbiter's own fields cannot be overwritten
  void arbiter.stop();
});

// Refusals: each broken guarantee names the state and the rule.
const refused: Array<[string, () => unknown, string, string, RegExp]> = [
  ['a rejection without a code', () => extendLifecycle({ afterWin: { approval: { on: { approve: 'next', deny: 'rejected' } } } }),
    'approval', 'rejection-code', /`deny` transition to rejected assigns no code/],
  ['a step that cannot reach a final state', () => extendLifecycle({ afterWin: { approval: { on: { ping: 'approval' } } } }),
    'approval', 'reach-final', /no path leads from it to completed or rejected/],
  ['a step before staged that jumps to executing', () => extendLifecycle({ beforeStaged: { shortcut: { on: { go: 'executing', ok: 'next' } } } }),
    'shortcut', 'executing-after-win', /enters executing on `go` before the operation won/],
  ['a step after winning that goes back to staged', () => extendLifecycle({ afterWin: { review: { on: { ok: 'next', again: 'staged' } } } }),
    'review', 'win-once', /returns to `staged` on `again`/],
  ['a rejection whose code the checker cannot see', () => extendLifecycle({ beforeStaged: { check: { always: [{ guard: () => true, target: 'next' }, { target: 'rejected', actions: assign(() => ({ code: 'opaque' })) as never }] } } }),
    'check', 'rejection-code', /`always` transition to rejected assigns no code/],
];
for (const [name, build, state, rule, message] of refused) {
  test(`extendLifecycle() - refuses ${name}`, (t) => {
    const err = t.throws(build, { instanceOf: LifecycleError });
    t.is(err?.state, state);
    t.is(err?.rule, rule);
    t.is(err?.code, 'ERR_ARBITER_LIFECYCLE');
    t.regex(err?.message ?? '', message);
    t.regex(err?.message ?? '', new RegExp(`state \`${state}\` breaks \`${rule}\``));
  });
}

// Bases that break the rules the patch format cannot break on its own.
const base = (mutate: (config: any) => void): AnyStateMachine => {
  const copy = (v: unknown): unknown =>
    Array.isArray(v) ? v.map(copy) : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, copy(x)])) : v;
  const config = copy(operationMachine.config) as any;
  mutate(config);
  return createMachine(config, operationMachine.implementations as never) as unknown as AnyStateMachine;
};
const badBases: Array<[string, AnyStateMachine, string, string]> = [
  ['an extra top-level final state', base((c) => void (c.states.archived = { type: 'final' }, c.states.staged.on.archive = 'archived')), 'archived', 'final-states'],
  ['a missing staged state', setup({}).createMachine({ id: 'op', initial: 'pending', states: { pending: {} } }), 'staged', 'required-states'],
  ['completed that is not final', base((c) => void (c.states.completed = { on: { again: 'executing' } })), 'completed', 'final-states'],
  ['a holder that ignores preemption', base((c) => void delete c.states.retrying.on), 'retrying', 'preemptible'],
  ['no cancel at the root', base((c) => void delete c.on['arbiter.cancel']), 'pending', 'abortable'],
];
for (const [name, machine, state, rule] of badBases) {
  test(`extendLifecycle() - refuses a base with ${name}`, (t) => {
    const err = t.throws(() => extendLifecycle({}, machine), { instanceOf: LifecycleError });
    t.is(err?.state, state);
    t.is(err?.rule, rule);
    t.true(checkLifecycle(machine).some((v) => v.state === state && v.rule === rule));
  });
}

const badInput: Array<[string, unknown, string, RegExp]> = [
  ['not an object', 42, 'patch', /Expected `patch` to be an object, got number 42/],
  ['an unknown field', { steps: {} }, 'steps', /Unknown option `steps`; known options: beforeStaged, afterWin/],
  ['a reserved event', { afterWin: { a: { on: { 'arbiter.win': 'next' } } } }, 'afterWin.a.on', /reserved/],
  ['an existing state name', { beforeStaged: { staged: { always: 'next' } } }, 'beforeStaged.staged', /new state/],
  ['a bad step name', { afterWin: { 'two words': { on: { ok: 'next' } } } }, 'afterWin.two words', /state names/],
  ['an unknown target', { afterWin: { a: { on: { ok: 'nowhere' } } } }, 'patch', /Child state 'nowhere' does not exist/],
  ['a code without rejected', { afterWin: { a: { on: { ok: { target: 'next', code: 'x' } } } } }, 'afterWin.a.on.ok.code', /only on a transition to 'rejected'/],
  ['an unimplemented delay', { afterWin: { a: { on: { ok: 'next' }, after: { later: { target: 'rejected', code: 'late' } } } } }, 'delays.later', /to be implemented/],
  ['an unimplemented guard', { beforeStaged: { a: { always: { guard: 'isValid', target: 'next' } } } }, 'guards.isValid', /to be implemented/],
  ['a negative delay', { delays: { backoff: -1 } }, 'delays.backoff', /from 0 to 2147483647/],
  ['an actor that is not logic', { actors: { execute: async () => 1 } }, 'actors.execute', /actor logic/],
  ['a context field the arbiter owns', { context: { attempt: 3 } }, 'context.attempt', /field the arbiter owns/],
  ['an enterIf without a code', { states: { executing: { enterIf: { guard: () => true } } } }, 'states.executing.enterIf.code', /non-empty string/],
  ['an unknown existing state', { states: { approving: { entry: 'x' } } }, 'states.approving', /existing states/],
];
for (const [name, patch, field, message] of badInput) {
  test(`extendLifecycle() - ArbiterInputError for ${name}`, (t) => {
    const err = t.throws(() => extendLifecycle(patch as never), { instanceOf: ArbiterInputError });
    t.is(err?.field, field);
    t.regex(err?.message ?? '', message);
  });
}

test('extendLifecycle() - leaves the base machine untouched', (t) => {
  const before = JSON.stringify(Object.keys(operationMachine.root.states));
  extendLifecycle(approvalPatch as never);
  extendLifecycle({ states: { executing: { enterIf: { guard: () => true, code: 'x' } } } });
  t.is(JSON.stringify(Object.keys(operationMachine.root.states)), before);
  t.deepEqual(checkLifecycle(operationMachine), []);
  t.deepEqual(Object.keys((operationMachine.config.states as Record<string, { on?: object }>)['staged']!.on ?? {}), ['arbiter.win', 'arbiter.reject']);
});
