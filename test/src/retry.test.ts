import test from 'ava';
import { SimulatedClock } from 'xstate';
import { ArbiterInputError, createArbiter, OperationRejectedError, type ArbiterOptions } from '../../src/index.js';
import { advance, flush } from '../helpers/index.js';


function setup(options: ArbiterOptions = {}) {
  const clock = new SimulatedClock();
  const arbiter = createArbiter({ clock, random: () => 0.5, windowMs: 10, ...options });
  return { clock, arbiter };
}

const settled = <T>(p: Promise<T>) => {
  const state: { done: boolean; value?: T; error?: unknown } = { done: false };
  p.then(
    (value) => Object.assign(state, { done: true, value }),
    (error: unknown) => Object.assign(state, { done: true, error }),
  );
  return state;
};

test('.submitWithRetry() - resubmits on staging-full after baseDelayMs, on the arbiter clock', async (t) => {
  const { clock, arbiter } = setup({ maxStagedPerTarget: 1 });
  const first = arbiter.submit({ target: 'a', execute: () => 'first' });
  const retries: Array<[number, number, string]> = [];
  const r = settled(
    arbiter.submitWithRetry(
      { target: 'a', execute: () => 'second' },
      { attempts: 3, baseDelayMs: 100, onRetry: ({ attempt, delayMs, error }) => retries.push([attempt, delayMs, error.code]) },
    ),
  );
  await flush();
  t.deepEqual(retries, [[2, 100, 'staging-full']]);
  await advance(clock, 10); // `first` wins and completes; the target has room again
  t.is(await first.result, 'first');
  await advance(clock, 89);
  t.false(r.done);
  t.is(arbiter.metrics().submitted, 2, 'no resubmission before the delay');
  await advance(clock, 1); // t=100: attempt 2 is submitted
  t.is(arbiter.metrics().submitted, 3);
  await advance(clock, 10);
  t.true(r.done);
  t.is(r.value, 'second');
  const m = arbiter.metrics();
  t.is(m.rejectedByCode['staging-full'], 1);
  t.is(m.unaccounted, 0);
  await arbiter.stop();
});

test('.submitWithRetry() - exponential delays; gives up after `attempts` with the last rejection', async (t) => {
  const { clock, arbiter } = setup({ breaker: { minimumExecutions: 1, openMs: 1_000_000 } });
  arbiter.breaker!.trip();
  const delays: number[] = [];
  const r = settled(
    arbiter.submitWithRetry({ target: 'a', id: 'job', execute: () => 1 }, { attempts: 4, baseDelayMs: 10, factor: 3, onRetry: ({ delayMs }) => delays.push(delayMs) }),
  );
  await flush();
  await advance(clock, 10);
  await advance(clock, 30);
  await advance(clock, 90);
  t.true(r.done);
  t.deepEqual(delays, [10, 30, 90]);
  t.true(r.error instanceof OperationRejectedError);
  t.is((r.error as OperationRejectedError).code, 'circuit-open');
  t.is((r.error as OperationRejectedError).operationId, 'job#4');
  t.deepEqual(arbiter.operations.query({ code: 'circuit-open' }).map((o) => o.id), ['job', 'job#2', 'job#3', 'job#4']);
  t.is(arbiter.metrics().rejectedByCode['circuit-open'], 4);
  await arbiter.stop();
});

test('.submitWithRetry() - other rejections are not retried', async (t) => {
  const { clock, arbiter } = setup();
  const r = settled(arbiter.submitWithRetry({ target: 'a', execute: () => { throw new Error('bad data'); } }, { attempts: 5, baseDelayMs: 1 }));
  await advance(clock, 10);
  t.true(r.done);
  t.is((r.error as OperationRejectedError).code, 'execution-failed');
  t.is(arbiter.metrics().submitted, 1);
  await arbiter.stop();
});

test('.submitWithRetry() - maxDelayMs caps the delay and jitter draws from its upper half', async (t) => {
  const { clock, arbiter } = setup({ random: () => 0, maxStagedPerTarget: 1 });
  // One operation holds the target forever, a second waits staged behind it: the target stays full.
  arbiter.submit({ target: 'a', execute: () => new Promise(() => undefined) });
  await advance(clock, 10);
  arbiter.submit({ target: 'a', execute: () => 1 });
  const delays: number[] = [];
  const r = settled(
    arbiter.submitWithRetry(
      { target: 'a', execute: () => 1 },
      { attempts: 3, baseDelayMs: 100, maxDelayMs: 150, jitter: true, onRetry: ({ delayMs }) => delays.push(delayMs) },
    ),
  );
  for (let i = 0; i < 40; i++) await advance(clock, 10);
  t.true(r.done);
  t.deepEqual(delays, [50, 75], 'nominal 100 then 150 (capped), jittered down to half');
  t.is((r.error as OperationRejectedError).code, 'staging-full');
  await arbiter.stop();
});

test('.submitWithRetry() - stop() ends a pending wait: the next attempt is rejected shutdown', async (t) => {
  const { arbiter } = setup({ maxStaged: 1 });
  arbiter.submit({ target: 'a', execute: () => 1 });
  const r = settled(arbiter.submitWithRetry({ target: 'b', execute: () => 2 }, { attempts: 3, baseDelayMs: 60_000 }));
  await flush();
  t.false(r.done);
  await arbiter.stop();
  await flush();
  t.true(r.done);
  t.is((r.error as OperationRejectedError).code, 'shutdown');
});

test('.submitWithRetry() - bad input throws at the call site and submits nothing', (t) => {
  const { arbiter } = setup();
  const cases: Array<[unknown, string]> = [
    [{ attempts: 0 }, 'attempts'],
    [{ attempts: 1.5 }, 'attempts'],
    [{ baseDelayMs: -1 }, 'baseDelayMs'],
    [{ factor: 0.5 }, 'factor'],
    [{ jitter: 'yes' }, 'jitter'],
    [{ retryOn: ['nope'] }, 'retryOn'],
    [{ onRetry: 1 }, 'onRetry'],
    ['fast', 'options'],
  ];
  for (const [options, field] of cases) {
    const err = t.throws(() => arbiter.submitWithRetry({ target: 'a', execute: () => 1 }, options as never), { instanceOf: ArbiterInputError });
    t.is(err!.field, field);
  }
  t.throws(() => arbiter.submitWithRetry({ target: '', execute: () => 1 }), { instanceOf: ArbiterInputError });
  t.is(arbiter.metrics().submitted, 0);
});
