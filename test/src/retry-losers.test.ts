// The README's "Retry the operations that lose" recipe, on a simulated clock.
import test from 'ava';
import { SimulatedClock } from 'xstate';
import { createArbiter, OperationRejectedError } from '../../src/index.js';
import { advance, flush } from '../helpers/index.js';

test(".submitWithRetry() - retryOn: ['lost-arbitration'] lands a burst of n on one target, one per window, in at most n attempts", async (t) => {
  const clock = new SimulatedClock();
  const arbiter = createArbiter({ clock, random: () => 0.5, windowMs: 20 });
  let balance = 0;
  const attemptsOf: number[] = [];
  const deposits = Array.from({ length: 10 }, (_, i) => {
    let attempts = 1;
    return arbiter
      .submitWithRetry(
        {
          target: 'account-7',
          type: 'deposit',
          execute: async () => {
            balance += 10;
            return i;
          },
        },
        { retryOn: ['lost-arbitration'], attempts: 10, baseDelayMs: 5, factor: 1, onRetry: ({ attempt }) => (attempts = attempt) },
      )
      .then((value) => {
        attemptsOf[value] = attempts;
        return value;
      });
  });
  const settled = Promise.allSettled(deposits);
  for (let i = 0; i < 10 * 25 && arbiter.metrics().completed < 10; i++) await advance(clock, 1);
  const outcomes = await settled;
  t.deepEqual(
    outcomes.map((o) => o.status),
    Array(10).fill('fulfilled'),
  );
  t.is(balance, 100, 'every deposit ran exactly once');
  // Each window has one winner among the ones still waiting, earliest first: the k-th wins at attempt k.
  t.deepEqual(attemptsOf, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  const m = arbiter.metrics();
  t.is(m.submitted, 55, '10 + 9 + … + 1 submissions');
  t.is(m.completed, 10);
  t.is(m.rejectedByCode['lost-arbitration'], 45);
  t.is(m.unaccounted, 0);
  await arbiter.stop();
});

test(".submitWithRetry() - without 'lost-arbitration' in retryOn, a loser is rejected at once", async (t) => {
  const clock = new SimulatedClock();
  const arbiter = createArbiter({ clock, random: () => 0.5, windowMs: 20 });
  const first = arbiter.submitWithRetry({ target: 'a', execute: async () => 'first' }, { attempts: 5, baseDelayMs: 5 });
  const second = arbiter.submitWithRetry({ target: 'a', execute: async () => 'second' }, { attempts: 5, baseDelayMs: 5 });
  const lost = second.then(
    () => undefined,
    (err: unknown) => err,
  );
  await flush();
  await advance(clock, 20);
  t.is(await first, 'first');
  const err = await lost;
  t.true(err instanceof OperationRejectedError);
  t.is((err as OperationRejectedError).code, 'lost-arbitration');
  t.is(arbiter.metrics().submitted, 2);
  await arbiter.stop();
});
