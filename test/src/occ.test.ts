import test from 'ava';
import fc from 'fast-check';
import { SimulatedClock } from 'xstate';
import { ArbiterInputError, backoffDelay, createStore, occ, OccConflictError, type EntityStore } from '../../src/index.js';
import { advance, flush, harness, outcome } from '../helpers/index.js';

type Counter = { n: number };
const noSleep = () => Promise.resolve();

test('occ() - first attempt commits with the version it read', async (t) => {
  const store = createStore();
  const c = store.create({ n: 1 });
  const { entity, attempts } = await occ<Counter>(store, c.id, (d) => {
    d.n *= 5;
  });
  t.is(attempts, 1);
  t.is(entity.version, 1);
  t.is(entity.data.n, 5);
  const returned = await occ<Counter>(store, c.id, async (d, snap) => ({ n: d.n + snap.version }));
  t.is(returned.entity.data.n, 6);
});

test('occ() - a writer in between: backs off by backoffDelay, re-reads, recomputes on fresh data', async (t) => {
  const store = createStore();
  const c = store.create({ n: 10 });
  const slept: number[] = [];
  const seen: number[] = [];
  let interfere = 2;
  const { entity, attempts } = await occ<Counter>(
    store,
    c.id,
    async (d) => {
      seen.push(d.n);
      await Promise.resolve();
      if (interfere-- > 0) store.update<Counter>(c.id, (x) => void (x.n += 100));
      d.n *= 2;
    },
    { sleep: async (ms) => void slept.push(ms), retry: { baseDelayMs: 10, factor: 2, jitter: false } },
  );
  t.is(attempts, 3);
  t.deepEqual(seen, [10, 110, 210], 'every attempt reads the latest data');
  t.is(entity.data.n, 420, 'the E1/E2 lost update does not happen');
  t.is(entity.version, 3);
  const retry = { baseDelayMs: 10, factor: 2, maxDelayMs: 1000, jitter: false };
  t.deepEqual(slept, [backoffDelay(0, retry), backoffDelay(1, retry)]);
  t.deepEqual(slept, [10, 20]);
});

test('occ() - gives up after maxRetries with the last OccConflictError; nothing of its own is committed', async (t) => {
  const store = createStore();
  const c = store.create({ n: 0 });
  const conflicts: number[] = [];
  const err = await t.throwsAsync(
    occ<Counter>(store, c.id, (d) => {
      store.update<Counter>(c.id, (x) => void x.n++);
      d.n = -1;
    }, { maxRetries: 3, sleep: noSleep, onConflict: (_, attempt) => conflicts.push(attempt) }),
    { instanceOf: OccConflictError },
  );
  t.like(err, { id: c.id });
  t.deepEqual(conflicts, [1, 2, 3, 4]);
  t.is(store.get<Counter>(c.id)!.data.n, 4, 'only the interfering writes landed');
});

test('occ() - an error from fn rejects at once and commits nothing; an OccConflictError from fn is retried', async (t) => {
  const store = createStore();
  const c = store.create({ n: 0 });
  let calls = 0;
  await t.throwsAsync(occ<Counter>(store, c.id, () => {
    calls++;
    throw new Error('boom');
  }, { sleep: noSleep }), { message: 'boom' });
  t.is(calls, 1);
  t.is(store.get(c.id)!.version, 0);
  let tries = 0;
  const { attempts } = await occ<Counter>(store, c.id, (d) => {
    if (++tries < 3) throw new OccConflictError({ id: 'other', expected: 0, actual: 1 });
    d.n = 7;
  }, { sleep: noSleep, onConflict: () => {
    throw new Error('observer failure is contained');
  } });
  t.is(attempts, 3);
  t.is(store.get<Counter>(c.id)!.data.n, 7);
});

test('occ() - bad arguments throw ArbiterInputError synchronously', (t) => {
  const store = createStore();
  const c = store.create({ n: 0 });
  t.throws(() => occ(store, 'nope', () => {}), { instanceOf: ArbiterInputError, message: /`id`/ });
  t.throws(() => occ(store, c.id, 'x' as never), { instanceOf: ArbiterInputError, message: /`fn`/ });
  t.throws(() => occ({} as EntityStore, c.id, () => {}), { instanceOf: ArbiterInputError, message: /store\.get/ });
  t.is(t.throws(() => occ(store, c.id, () => {}, { maxRetries: -1 }), { instanceOf: ArbiterInputError })?.field, 'maxRetries');
  t.is(t.throws(() => occ(store, c.id, () => {}, { retry: { factor: 0.5 } }), { instanceOf: ArbiterInputError })?.field, 'retry.factor');
  t.is(t.throws(() => occ(store, c.id, () => {}, { factor: 0.5 }), { instanceOf: ArbiterInputError })?.field, 'factor');
  t.is(t.throws(() => occ(store, c.id, () => {}, { clock: {} as never }), { instanceOf: ArbiterInputError })?.field, 'clock.setTimeout');
  t.is(t.throws(() => occ(store, c.id, () => {}, { signal: {} as never }), { instanceOf: ArbiterInputError })?.field, 'signal');
  t.is(t.throws(() => occ(store, c.id, () => {}, { retry: 5 as never }), { instanceOf: ArbiterInputError })?.field, 'retry');
});

test('occ({ clock }) - the backoff waits on the given clock; { signal } aborts the wait and commits nothing', async (t) => {
  const store = createStore();
  const c = store.create({ n: 0 });
  const clock = new SimulatedClock();
  let interfere = true;
  const run = occ<Counter>(store, c.id, (d) => {
    if (interfere) {
      interfere = false;
      store.update<Counter>(c.id, (x) => void (x.n = 100));
    }
    d.n++;
  }, { clock, retry: { baseDelayMs: 50, jitter: false } });
  await flush();
  t.is(store.get<Counter>(c.id)!.data.n, 100, 'waiting on the clock');
  clock.increment(49);
  await flush();
  t.is(store.get<Counter>(c.id)!.version, 1);
  clock.increment(1);
  t.is((await run).entity.data.n, 101);

  const controller = new AbortController();
  const aborted = occ<Counter>(store, c.id, (d) => {
    store.update<Counter>(c.id, (x) => void x.n++);
    d.n = -5;
  }, { clock, retry: { baseDelayMs: 50 }, signal: controller.signal });
  await flush();
  controller.abort(new Error('cancelled'));
  await t.throwsAsync(aborted, { message: 'cancelled' });
  t.not(store.get<Counter>(c.id)!.data.n, -5);
});

test('occ() inside execute - exhausted conflicts are retryable: the operation goes to retrying and comes back', async (t) => {
  const store = createStore();
  const c = store.create({ n: 0 });
  const { clock, arbiter, events } = harness({ retry: { baseDelayMs: 10, jitter: false } });
  let external = 2;
  const h = arbiter.submit({
    target: c.id,
    execute: () =>
      occ<Counter>(store, c.id, (d) => {
        if (external-- > 0) store.update<Counter>(c.id, (x) => void (x.n += 10));
        d.n++;
      }, { maxRetries: 0, sleep: noSleep }).then((r) => r.entity.data.n),
  });
  await advance(clock, 100);
  t.is(h.status(), 'retrying');
  await advance(clock, 10);
  await advance(clock, 20);
  t.is(await h.result, 21);
  t.is(events.filter((e) => e.type === 'operation.retrying').length, 2);
  t.is(store.get(c.id)!.version, 3);
  await arbiter.stop();
});

test('occ() - total brutality: many concurrent loops on one entity lose no update', async (t) => {
  const store = createStore();
  const c = store.create({ n: 0 });
  let seed = 1;
  const random = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
  const writers = Array.from({ length: 300 }, () =>
    occ<Counter>(store, c.id, async (d) => {
      for (let i = Math.floor(random() * 4); i > 0; i--) await Promise.resolve();
      d.n++;
    }, { maxRetries: 25, sleep: () => new Promise((r) => setImmediate(r)), random }).then(
      (r) => r.attempts,
      () => 0,
    ),
  );
  const attempts = await Promise.all(writers);
  const successes = attempts.filter((a) => a > 0).length;
  t.true(attempts.some((a) => a > 1), 'there were real conflicts');
  t.is(store.get<Counter>(c.id)!.data.n, successes);
  t.is(store.get(c.id)!.version, successes);
  t.is(store.history(c.id).length, successes + 1);
});

test('occ() - property: random interleavings of increments end with counter == commits == version', async (t) => {
  let runsWithConflicts = 0;
  await fc.assert(
    fc.asyncProperty(
      fc.scheduler(),
      fc.integer({ min: 1, max: 12 }),
      fc.integer({ min: 0, max: 4 }),
      fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 12 }),
      async (s, writers, maxRetries, steps) => {
        const store = createStore();
        const c = store.create({ n: 0 });
        let settled = 0;
        const runs = Array.from({ length: writers }, (_, i) =>
          occ<Counter>(store, c.id, async (d) => {
            for (let k = steps[i % steps.length]!; k > 0; k--) await s.schedule(Promise.resolve(), `w${i} step`);
            d.n++;
          }, { maxRetries, sleep: () => s.schedule(Promise.resolve(), `w${i} backoff`) })
            .then(
              () => true,
              (err) => {
                if (!(err instanceof OccConflictError)) throw err;
                return false;
              },
            )
            .finally(() => settled++),
        );
        // A writer schedules its next step a few microtasks after the previous one resolved,
        // which can be after waitAll() returned: keep releasing until every writer has settled.
        while (settled < writers) {
          await s.waitAll();
          await new Promise((r) => setImmediate(r));
        }
        const results = await Promise.all(runs);
        const commits = results.filter(Boolean).length;
        const e = store.get<Counter>(c.id)!;
        if (commits < writers) runsWithConflicts++;
        return commits >= 1 && e.data.n === commits && e.version === commits;
      },
    ),
    { numRuns: 150 },
  );
  t.true(runsWithConflicts > 0, 'some interleavings exhausted retries, so the property met real conflicts');
});

test('occ(..., options) - `retry` is the backoff of createArbiter({ retry }); the flat 0.1 form still works (deprecated); not both', async (t) => {
  const store = createStore();
  const c = store.create({ n: 0 });
  const delaysWith = async (options: Parameters<typeof occ>[3]) => {
    const slept: number[] = [];
    let interfere = 3;
    await occ<Counter>(store, c.id, (d) => {
      if (interfere-- > 0) store.update<Counter>(c.id, (x) => void x.n++);
      d.n++;
    }, { ...options, sleep: async (ms) => void slept.push(ms) });
    return slept;
  };
  const backoff = { baseDelayMs: 3, factor: 3, maxDelayMs: 20, jitter: false };
  t.deepEqual(await delaysWith({ retry: backoff }), [3, 9, 20]);
  t.deepEqual(await delaysWith(backoff), [3, 9, 20], 'the deprecated flat form means the same');
  const { arbiter } = harness({ retry: backoff });
  t.deepEqual(await delaysWith({ retry: arbiter.options.retry }), [3, 9, 20], "an arbiter's resolved retry options fit as they are");
  await arbiter.stop();
  const both = t.throws(() => occ(store, c.id, () => {}, { retry: { baseDelayMs: 1 }, factor: 2 }), { instanceOf: ArbiterInputError });
  t.is(both?.field, 'factor');
  t.regex(both!.message, /either `retry\.factor` or the deprecated `factor`/);
});

test('occ(..., options) - unknown keys are ArbiterInputError with a suggestion, at the top and inside retry', (t) => {
  const store = createStore();
  const c = store.create({ n: 0 });
  const top = t.throws(() => occ(store, c.id, () => {}, { maxRetry: 3 } as never), { instanceOf: ArbiterInputError });
  t.is(top?.field, 'maxRetry');
  t.regex(top!.message, /did you mean `maxRetries`\?/);
  const nested = t.throws(() => occ(store, c.id, () => {}, { retry: { baseDelayMS: 3 } } as never), { instanceOf: ArbiterInputError });
  t.is(nested?.field, 'retry.baseDelayMS');
  t.regex(nested!.message, /did you mean `retry\.baseDelayMs`\?/);
  t.is(t.throws(() => occ(store, c.id, () => {}, JSON.parse('{"__proto__": {"maxRetries": 0}}')), { instanceOf: ArbiterInputError })?.field, '__proto__');
  t.is(store.get(c.id)!.version, 0);
});

test('occ(..., options) - delays above the timer limit (2^31 - 1 ms) are refused', (t) => {
  const store = createStore();
  const c = store.create({ n: 0 });
  t.notThrows(() => void occ(store, c.id, () => {}, { retry: { maxDelayMs: 2 ** 31 - 1 } }));
  t.is(t.throws(() => occ(store, c.id, () => {}, { retry: { maxDelayMs: 2 ** 31 } }), { instanceOf: ArbiterInputError })?.field, 'retry.maxDelayMs');
  t.is(t.throws(() => occ(store, c.id, () => {}, { retry: { baseDelayMs: 2 ** 40 } }), { instanceOf: ArbiterInputError })?.field, 'retry.baseDelayMs');
  t.is(t.throws(() => occ(store, c.id, () => {}, { maxDelayMs: 2 ** 31 }), { instanceOf: ArbiterInputError })?.field, 'maxDelayMs');
});

test('occ(..., options) - options and the clock are read once: later answers of getters do not matter', async (t) => {
  const store = createStore();
  const c = store.create({ n: 0 });
  let reads = 0;
  const options = {
    get maxRetries() {
      if (++reads > 1) throw new Error('read twice');
      return 1;
    },
    sleep: noSleep,
  };
  let interfere = 5;
  const err = await occ<Counter>(store, c.id, (d) => {
    if (interfere-- > 0) store.update<Counter>(c.id, (x) => void x.n++);
    d.n = -1;
  }, options).catch((e: unknown) => e);
  t.true(err instanceof OccConflictError, 'gave up after the first answer: 1 retry');
  t.is(reads, 1);
  t.is(interfere, 3);

  const clock = new SimulatedClock();
  const swapped = { setTimeout: clock.setTimeout.bind(clock), clearTimeout: clock.clearTimeout.bind(clock) };
  let once = true;
  const run = occ<Counter>(store, c.id, (d) => {
    if (once) {
      once = false;
      store.update<Counter>(c.id, (x) => void x.n++);
    }
    d.n = 42;
  }, { clock: swapped, retry: { baseDelayMs: 5, jitter: false } });
  swapped.setTimeout = () => {
    throw new Error('replaced after the call');
  };
  await flush();
  clock.increment(5);
  t.is((await run).entity.data.n, 42);
});

test('occ({ signal }) - aborts at once while fn or a custom sleep never settles; nothing is committed', async (t) => {
  const store = createStore();
  const c = store.create({ n: 0 });
  const controller = new AbortController();
  let late!: () => void;
  const hanging = occ<Counter>(store, c.id, () => new Promise<void>((resolve) => (late = resolve)), { signal: controller.signal });
  await flush();
  controller.abort(new Error('stop'));
  await t.throwsAsync(hanging, { message: 'stop' });
  late();
  await flush();
  t.is(store.get(c.id)!.version, 0, 'the result that came after the abort was discarded');

  const second = new AbortController();
  const sleeping = occ<Counter>(store, c.id, (d) => {
    store.update<Counter>(c.id, (x) => void x.n++);
    d.n = -1;
  }, { signal: second.signal, sleep: () => new Promise<void>(() => {}) });
  await flush();
  second.abort(new Error('no more waiting'));
  await t.throwsAsync(sleeping, { message: 'no more waiting' });
  t.not(store.get<Counter>(c.id)!.data.n, -1);
  await t.throwsAsync(occ(store, c.id, () => {}, { signal: AbortSignal.abort(new Error('before')) }), { message: 'before' });
});
