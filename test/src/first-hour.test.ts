// What a user builds in the first hour, and where the arbiter used to cost them time: business
// errors that tripped the breaker for everyone, losers simply dropped, custom rejection codes the
// types did not know, events silently ignored, names that mean something else next door.
import test from 'ava';
import {
  ArbiterInputError,
  createArbiter,
  ExpectedError,
  extendLifecycle,
  OperationRejectedError,
  Priority,
  type ArbiterEvent,
  type OperationHandle,
} from '../../src/index.js';
import { advance, approval, flush, harness, outcome } from '../helpers/index.js';

const overdraft = () => {
  throw new ExpectedError('insufficient funds');
};

// --- business errors versus failures --------------------------------------------------------------

test('ExpectedError: the operation ends execution-failed with it as cause, but the breaker and health count a success', async (t) => {
  const { clock, arbiter, events } = harness({ windowMs: 10, breaker: { minimumExecutions: 4, failureRateThreshold: 0.5 } });
  const handles = [];
  for (let i = 0; i < 10; i++) {
    handles.push(arbiter.submit({ target: `account-${i}`, execute: overdraft }));
    await advance(clock, 10);
  }
  for (const h of handles) {
    const err = await h.result.catch((e: unknown) => e);
    t.true(err instanceof OperationRejectedError);
    t.is((err as OperationRejectedError).code, 'execution-failed');
    t.true((err as OperationRejectedError).cause instanceof ExpectedError);
  }
  t.is(arbiter.breaker?.state, 'closed', 'ten overdrafts opened nothing');
  t.is(arbiter.health().checks['successRate']?.healthy, true);
  const rejected = events.filter((e): e is Extract<ArbiterEvent, { type: 'operation.rejected' }> => e.type === 'operation.rejected');
  t.is(rejected.length, 10);
  t.true(rejected.every((e) => e.expected === true));
  // Another account still gets through: nobody else pays for the overdrafts.
  const h = arbiter.submit({ target: 'account-x', execute: () => 'ok' });
  await advance(clock, 10);
  t.is(await h.result, 'ok');
  await arbiter.stop();
});

test('a plain error still counts as a failure and opens the breaker', async (t) => {
  const { clock, arbiter } = harness({ windowMs: 10, breaker: { minimumExecutions: 4, failureRateThreshold: 0.5 } });
  for (let i = 0; i < 4; i++) {
    arbiter.submit({ target: `t${i}`, execute: () => { throw new Error('database down'); } });
    await advance(clock, 10);
  }
  t.is(arbiter.breaker?.state, 'open');
  t.like(await outcome(arbiter.submit({ target: 'x', execute: () => 1 }).result), { ok: false, code: 'circuit-open' });
  await arbiter.stop();
});

test('createArbiter({ isFailure }): your own classifier; one that throws counts the error as a failure', async (t) => {
  class Overdraft extends Error {}
  const seen: Array<{ type: string; target: string }> = [];
  const { clock, arbiter, events } = harness({
    windowMs: 10,
    isFailure: (err, op) => {
      seen.push({ type: op.type, target: op.target });
      if ((err as Error).message === 'boom') throw new Error('classifier bug');
      return !(err instanceof Overdraft);
    },
  });
  arbiter.submit({ target: 'a', type: 'withdraw', execute: () => { throw new Overdraft('no'); } });
  arbiter.submit({ target: 'b', type: 'withdraw', execute: () => { throw new Error('boom'); } });
  arbiter.submit({ target: 'c', type: 'withdraw', execute: () => { throw new Error('503'); } });
  await advance(clock, 10);
  await arbiter.onIdle();
  const expected = Object.fromEntries(events.filter((e) => e.type === 'operation.rejected').map((e) => [e.target, (e as { expected?: boolean }).expected === true]));
  t.deepEqual(expected, { a: true, b: false, c: false });
  t.deepEqual(seen.map((s) => s.target).sort(), ['a', 'b', 'c']);
  t.throws(() => createArbiter({ isFailure: 'yes' as never }), { instanceOf: ArbiterInputError, message: /isFailure/ });
  await arbiter.stop();
});

test('an error marked expected: true (not an ExpectedError) is a business outcome too; a getter that throws is not', async (t) => {
  const { clock, arbiter, events } = harness({ windowMs: 10 });
  arbiter.submit({ target: 'a', execute: () => { throw Object.assign(new Error('declined'), { expected: true }); } });
  arbiter.submit({
    target: 'b',
    execute: () => {
      throw Object.defineProperty(new Error('hostile'), 'expected', { get: () => { throw new Error('nope'); } });
    },
  });
  await advance(clock, 10);
  await arbiter.onIdle();
  const byTarget = Object.fromEntries(events.filter((e) => e.type === 'operation.rejected').map((e) => [e.target, (e as { expected?: boolean }).expected === true]));
  t.deepEqual(byTarget, { a: true, b: false });
  await arbiter.stop();
});

// --- losers: onLose 'retry' --------------------------------------------------------------------------

test("submit({ onLose: 'retry' }): a loser stays staged, competes in the next window and wins once the target is free", async (t) => {
  const { clock, arbiter, events } = harness({ windowMs: 100, whileExecuting: 'queue' });
  const order: string[] = [];
  const deposit = (name: string, priority: number) =>
    arbiter.submit({ target: 'account', id: name, priority, onLose: 'retry', execute: async () => void order.push(name) });
  const a = deposit('a', Priority.HIGH);
  const b = deposit('b', Priority.NORMAL);
  const c = deposit('c', Priority.LOW);
  for (let i = 0; i < 5; i++) await advance(clock, 100);
  await Promise.all([a.result, b.result, c.result]);
  t.deepEqual(order, ['a', 'b', 'c'], 'every deposit lands, by priority');
  const requeued = events.filter((e) => e.type === 'operation.requeued').map((e) => `${(e as { operationId: string }).operationId}:${(e as { losses: number }).losses}`);
  t.deepEqual(requeued, ['b:1', 'c:1', 'c:2']);
  const first = events.find((e) => e.type === 'conflict.resolved') as Extract<ArbiterEvent, { type: 'conflict.resolved' }>;
  t.deepEqual(first.loserIds, []);
  t.deepEqual([...first.requeuedIds!].sort(), ['b', 'c']);
  const m = arbiter.metrics();
  t.is(m.completed, 3);
  t.is(m.rejected, 0);
  await arbiter.stop();
});

test("submit({ onLose: 'retry', maxLosses }): the loss that spends the budget rejects it lost-arbitration; accounting holds at every event", async (t) => {
  const { clock, arbiter } = harness({ windowMs: 100 });
  const broken: string[] = [];
  arbiter.events$.subscribe((e) => {
    const m = arbiter.metrics();
    if (m.submitted !== m.completed + m.rejected + m.inFlight) broken.push(`${e.type} #${e.seq}`);
  });
  const loser = arbiter.submit({ target: 't', priority: Priority.BACKGROUND, onLose: 'retry', maxLosses: 2, execute: async () => 'never' });
  for (let round = 0; round < 3; round++) {
    arbiter.submit({ target: 't', priority: Priority.CRITICAL, execute: async () => 'win' });
    await advance(clock, 100);
    await flush();
  }
  const r = await outcome(loser.result);
  t.like(r, { ok: false, code: 'lost-arbitration' });
  t.regex((r as { reason: string }).reason, /after losing 2 windows/);
  t.deepEqual(broken, []);
  t.throws(() => arbiter.submit({ target: 't', maxLosses: 2, execute: async () => 1 }), { instanceOf: ArbiterInputError, message: /onLose: 'retry'/ });
  t.throws(() => arbiter.submit({ target: 't', onLose: 'again' as never, execute: async () => 1 }), { instanceOf: ArbiterInputError });
  await arbiter.stop();
});

test('submitWithRetry(spec, { retryOn: [lost-arbitration] }) is the other recipe: each retry is a new operation', async (t) => {
  const { clock, arbiter } = harness({ windowMs: 10 });
  arbiter.submit({ target: 't', priority: Priority.CRITICAL, execute: async () => 'first' });
  const retried = arbiter.submitWithRetry({ target: 't', priority: Priority.LOW, execute: async () => 'second' }, { retryOn: ['lost-arbitration'], baseDelayMs: 5, attempts: 3 });
  for (let i = 0; i < 6; i++) {
    await advance(clock, 10);
    await flush();
  }
  t.is(await retried, 'second');
  t.is(arbiter.metrics().submitted, 3, 'the first, the loser, and its resubmission');
  await arbiter.stop();
});

// --- custom rejection codes -------------------------------------------------------------------------


test('custom rejection codes: in the types, in arbiter.rejectionCodes, in metrics() and Prometheus from the start, and retryOn takes them', async (t) => {
  const { clock, arbiter } = harness({ windowMs: 10, lifecycle: approval });
  t.true(arbiter.rejectionCodes.includes('denied'));
  t.is(arbiter.metrics().rejectedByCode['denied'], 0);
  t.regex(await arbiter.metricsText(), /operations_rejected_total\{code="denied"\} 0/);
  const h = arbiter.submit({ target: 't', execute: async () => 1 });
  await advance(clock, 10);
  t.true(await h.reached('approval'));
  h.send({ type: 'deny' });
  const err = await h.result.catch((e: OperationRejectedError) => e);
  // Compiles: the code is a built-in code or any string.
  t.true(err instanceof OperationRejectedError && err.code === 'denied');
  const m = arbiter.metrics();
  t.is(m.rejectedByCode['denied'], 1);
  t.regex(await arbiter.metricsText(), /operations_rejected_total\{code="denied"\} 1/);
  t.notThrows(() => void arbiter.submitWithRetry({ target: 'u', execute: async () => 1 }, { retryOn: ['denied'] }).catch(() => undefined));
  const typo = t.throws(() => arbiter.submitWithRetry({ target: 'u', execute: async () => 1 }, { retryOn: ['denyed'] }), { instanceOf: ArbiterInputError });
  t.regex(typo?.message ?? '', /did you mean `denied`/);
  await arbiter.stop();
});

test('a step before staged may wait longer than idleCoordinatorMs: the operation still competes, then its coordinator stops', async (t) => {
  const review = extendLifecycle({ beforeStaged: { review: { on: { ok: 'next', no: { target: 'rejected', code: 'refused', reason: 'refused' } } } } });
  const { clock, arbiter } = harness({ windowMs: 10, idleCoordinatorMs: 100, lifecycle: review });
  const slow = arbiter.submit({ target: 't', execute: async () => 'ran' });
  const dropped = arbiter.submit({ target: 't', execute: async () => 'never' });
  await advance(clock, 1000);
  t.is(slow.status(), 'review');
  t.is(arbiter.metrics().coordinators, 1);
  t.is(arbiter.health().status, 'healthy', 'operations waiting in a step are no orphans: nothing is staged');
  slow.send({ type: 'ok' });
  await advance(clock, 10);
  t.is(await slow.result, 'ran');
  await advance(clock, 1000);
  t.is(dropped.status(), 'review', 'still waiting: not ended by the coordinator going idle');
  dropped.send({ type: 'no' });
  t.like(await outcome(dropped.result), { ok: false, code: 'refused' });
  await advance(clock, 100);
  t.is(arbiter.metrics().coordinators, 0);
  const m = arbiter.metrics();
  t.is(m.submitted, m.completed + m.rejected + m.inFlight);
  await arbiter.stop();
});

test('handle.send(): an event the lifecycle does not know is an input error with a suggestion, not silently ignored', async (t) => {
  const { clock, arbiter } = harness({ windowMs: 10, lifecycle: approval });
  const h = arbiter.submit({ target: 't', execute: async () => 1 });
  await advance(clock, 10);
  const err = t.throws(() => h.send({ type: 'aprove' }), { instanceOf: ArbiterInputError });
  t.is(err?.field, 'event.type');
  t.regex(err?.message ?? '', /did you mean `approve`/);
  t.is(h.status(), 'approval');
  h.send({ type: 'approve' });
  t.is(await h.result, 1);
  const plain = createArbiter();
  // The built-in lifecycle has no events of yours: typed, `send` takes none (see send-types.test.ts);
  // an untyped caller (JavaScript, a cast) gets the same refusal at run time.
  const p: OperationHandle<number> = plain.submit({ target: 't', execute: async () => 1 });
  t.throws(() => p.send({ type: 'approve' }), { instanceOf: ArbiterInputError, message: /none \(see extendLifecycle\)/ });
  await plain.stop();
  await arbiter.stop();
});

// --- waiting for a step: reached() and subscribe() ---------------------------------------------------

test('handle.reached(step) resolves true when the operation gets there, false when it ends elsewhere; subscribe() sees each status', async (t) => {
  const { clock, arbiter } = harness({ windowMs: 10, lifecycle: approval });
  const winner = arbiter.submit({ target: 't', priority: Priority.HIGH, execute: async () => 1 });
  const loser = arbiter.submit({ target: 't', priority: Priority.LOW, execute: async () => 2 });
  const statuses: string[] = [];
  winner.subscribe((s) => statuses.push(s));
  const [won, lost] = [winner.reached('approval'), loser.reached('approval')];
  await advance(clock, 10);
  t.true(await won);
  t.false(await lost);
  winner.send({ type: 'approve' });
  await winner.result;
  t.deepEqual(statuses, ['approval', 'executing', 'completed']);
  t.is(await winner.reached('approval'), false, 'asked when already final elsewhere');
  t.is(await winner.reached('completed'), true);
  t.throws(() => winner.subscribe('x' as never), { instanceOf: ArbiterInputError });
  await arbiter.stop();
});

// --- names that mean something else next door ---------------------------------------------------------

test('arbiter.onIdle() resolves once nothing is in flight; drain() is its deprecated alias', async (t) => {
  const { clock, arbiter } = harness({ windowMs: 10 });
  const h = arbiter.submit({ target: 't', execute: async () => 1 });
  let idle = false;
  void arbiter.onIdle().then(() => (idle = true));
  await flush();
  t.false(idle);
  await advance(clock, 10);
  await h.result;
  await flush();
  t.true(idle);
  await arbiter.drain();
  await arbiter.stop();
});

test("breaker: { rollingWindowMs } (windowMs is its deprecated name; both at once is an error)", async (t) => {
  const a = createArbiter({ breaker: { rollingWindowMs: 30_000 } });
  t.is(a.breaker?.status().options.rollingWindowMs, 30_000);
  const b = createArbiter({ breaker: { windowMs: 20_000 } });
  t.is(b.breaker?.status().options.rollingWindowMs, 20_000);
  t.throws(() => createArbiter({ breaker: { windowMs: 1, rollingWindowMs: 2 } }), { instanceOf: ArbiterInputError, message: /got both/ });
  await a.stop();
  await b.stop();
});
