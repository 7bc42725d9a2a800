import test from 'ava';
import { createActor, fromPromise, SimulatedClock } from 'xstate';
import { DEFAULT_RETRY, OccConflictError, operationMachine, type ExecuteActorInput, type OperationInput } from '../../src/index.js';
import { flush } from '../helpers/index.js';

const input = (over: Partial<OperationInput> = {}): OperationInput => ({
  id: 'op-1',
  target: 't',
  type: 'test',
  priority: 5,
  effectivePriority: 5,
  seq: 1,
  submittedAt: 0,
  maxRetries: 2,
  retry: { ...DEFAULT_RETRY, jitter: false },
  execute: async () => 'value',
  ...over,
});

function start(over: Partial<OperationInput> = {}, machine = operationMachine) {
  const clock = new SimulatedClock();
  const actor = createActor(machine, { input: input(over), clock }).start();
  return { clock, actor };
}

test('operationMachine - idle: starts pending and waits', (t) => {
  const { actor } = start();
  t.is(actor.getSnapshot().value, 'pending');
  t.is(actor.getSnapshot().context.attempt, 0);
  actor.send({ type: 'arbiter.win' });
  t.is(actor.getSnapshot().value, 'pending', 'cannot win before being staged');
});

test('operationMachine - single op: admit → staged → win → executing → completed', async (t) => {
  const { actor } = start();
  actor.send({ type: 'arbiter.admit' });
  t.is(actor.getSnapshot().value, 'staged');
  actor.send({ type: 'arbiter.win' });
  t.is(actor.getSnapshot().value, 'executing');
  t.is(actor.getSnapshot().context.attempt, 1);
  await flush();
  t.is(actor.getSnapshot().value, 'completed');
  t.is(actor.getSnapshot().context.result, 'value');
  t.is(actor.getSnapshot().status, 'done');
});

test('operationMachine - lost: a rejection carries code and reason', (t) => {
  const { actor } = start();
  actor.send({ type: 'arbiter.admit' });
  actor.send({ type: 'arbiter.reject', code: 'lost-arbitration', reason: 'lost to x' });
  t.like(actor.getSnapshot(), { value: 'rejected', context: { code: 'lost-arbitration', reason: 'lost to x' } });
});

test('operationMachine - error and retry: backoff delay, then executing again', async (t) => {
  let calls = 0;
  const { actor, clock } = start({
    execute: async () => {
      calls++;
      if (calls < 2) throw new OccConflictError({ id: 'e', expected: 0, actual: 1 });
      return 'second time';
    },
  });
  actor.send({ type: 'arbiter.admit' });
  actor.send({ type: 'arbiter.win' });
  await flush();
  t.is(actor.getSnapshot().value, 'retrying');
  clock.increment(9);
  t.is(actor.getSnapshot().value, 'retrying');
  clock.increment(1);
  t.is(actor.getSnapshot().value, 'executing');
  t.is(actor.getSnapshot().context.attempt, 2);
  await flush();
  t.like(actor.getSnapshot(), { value: 'completed', context: { result: 'second time' } });
});

test('operationMachine - preemption aborts the execute actor through its signal', async (t) => {
  let signal: AbortSignal | undefined;
  const { actor } = start({
    execute: ({ signal: s }) => {
      signal = s;
      return new Promise(() => undefined);
    },
  });
  actor.send({ type: 'arbiter.admit' });
  actor.send({ type: 'arbiter.win' });
  await flush();
  t.false(signal?.aborted);
  actor.send({ type: 'arbiter.preempt', reason: 'higher priority' });
  t.true(signal?.aborted);
  t.like(actor.getSnapshot(), { value: 'rejected', context: { code: 'preempted', reason: 'higher priority' } });
});

test('operationMachine - cancel, timeout and shutdown from any live state', (t) => {
  for (const [event, code] of [
    [{ type: 'arbiter.cancel' as const, reason: 'bye' }, 'cancelled'],
    [{ type: 'arbiter.timeout' as const }, 'timeout'],
    [{ type: 'arbiter.shutdown' as const }, 'shutdown'],
  ] as const) {
    for (const path of [[], ['arbiter.admit'], ['arbiter.admit', 'arbiter.win']] as const) {
      const { actor } = start({ execute: () => new Promise(() => undefined) });
      for (const type of path) actor.send({ type } as never);
      actor.send(event);
      t.is(actor.getSnapshot().context.code, code, `${event.type} after ${path.join(',') || 'start'}`);
      t.is(actor.getSnapshot().value, 'rejected');
    }
  }
});

test('operationMachine - provide() swaps the execute actor, the backoff delay and guards', async (t) => {
  const machine = operationMachine.provide({
    actors: { execute: fromPromise<unknown, ExecuteActorInput>(async () => 'stubbed') },
  });
  const { actor } = start({}, machine);
  actor.send({ type: 'arbiter.admit' });
  actor.send({ type: 'arbiter.win' });
  await flush();
  t.is(actor.getSnapshot().context.result, 'stubbed');

  const neverRetry = operationMachine.provide({ guards: { canRetry: () => false, isRetryableError: () => true } });
  const { actor: a2 } = start({ execute: async () => { throw new Error('x'); } }, neverRetry);
  a2.send({ type: 'arbiter.admit' });
  a2.send({ type: 'arbiter.win' });
  await flush();
  t.is(a2.getSnapshot().context.code, 'retries-exhausted');

  const instant = operationMachine.provide({ delays: { backoff: 0 } });
  let calls = 0;
  const { actor: a3, clock } = start({ retryable: () => true, execute: async () => { if (++calls < 3) throw new Error('again'); return calls; } }, instant);
  a3.send({ type: 'arbiter.admit' });
  a3.send({ type: 'arbiter.win' });
  for (let i = 0; i < 3; i++) {
    await flush();
    clock.increment(0);
  }
  await flush();
  t.is(a3.getSnapshot().context.result, 3);
});

test('operationMachine - retries exhausted after maxRetries', async (t) => {
  const { actor, clock } = start({ maxRetries: 1, retryable: () => true, execute: async () => { throw new Error('always'); } });
  actor.send({ type: 'arbiter.admit' });
  actor.send({ type: 'arbiter.win' });
  await flush();
  clock.increment(10);
  await flush();
  t.like(actor.getSnapshot(), { value: 'rejected', context: { code: 'retries-exhausted', attempt: 2 } });
});

test('operationMachine - a synchronous throw in execute is an execution failure', async (t) => {
  const { actor } = start({ execute: () => { throw new TypeError('sync'); } });
  actor.send({ type: 'arbiter.admit' });
  actor.send({ type: 'arbiter.win' });
  await flush();
  t.like(actor.getSnapshot(), { value: 'rejected', context: { code: 'execution-failed' } });
  t.regex(actor.getSnapshot().context.reason ?? '', /sync/);
});

test("operationMachine - a refused fencing token (code 'stale-fence') is never retried, even when retryable() says yes", async (t) => {
  const stale = Object.assign(new Error('fencing token 7 no longer holds target t'), { code: 'stale-fence' });
  let attempts = 0;
  const { actor } = start({
    maxRetries: 5,
    retryable: () => true,
    execute: async () => {
      attempts++;
      throw stale;
    },
  });
  actor.send({ type: 'arbiter.admit' });
  actor.send({ type: 'arbiter.win' });
  await flush();
  t.is(actor.getSnapshot().value, 'rejected');
  t.like(actor.getSnapshot().context, { code: 'execution-failed' });
  t.is(attempts, 1);
  // Any other error that retryable() accepts is retried.
  const other = start({ maxRetries: 1, retryable: () => true, execute: async () => { throw new Error('flaky'); } });
  other.actor.send({ type: 'arbiter.admit' });
  other.actor.send({ type: 'arbiter.win' });
  await flush();
  t.is(other.actor.getSnapshot().value, 'retrying');
});
