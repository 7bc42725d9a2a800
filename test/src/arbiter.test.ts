import test from 'ava';
import { OperationRejectedError, OccConflictError, Priority } from '../../src/index.js';
import { accounted, advance, deferred, flush, harness, outcome } from '../helpers/index.js';

test('createArbiter() - LOW/NORMAL/HIGH/CRITICAL in one window: CRITICAL wins, three lost-arbitration', async (t) => {
  const { clock, arbiter, events } = harness();
  const ran: string[] = [];
  const handles = (['LOW', 'NORMAL', 'HIGH', 'CRITICAL'] as const).map((name) =>
    arbiter.submit({ target: 'a', type: name, priority: Priority[name], execute: async () => ran.push(name) }),
  );
  t.deepEqual(handles.map((h) => h.status()), ['staged', 'staged', 'staged', 'staged']);
  await advance(clock, 99);
  t.deepEqual(ran, [], 'nothing runs before the window closes');
  await advance(clock, 1);
  t.deepEqual(ran, ['CRITICAL']);
  const results = await Promise.all(handles.map((h) => outcome(h.result)));
  t.deepEqual(results.map((r) => (r.ok ? 'ok' : r.code)), ['lost-arbitration', 'lost-arbitration', 'lost-arbitration', 'ok']);
  const critical = handles[3]!;
  for (const r of results.slice(0, 3)) {
    t.false(r.ok);
    if (!r.ok) {
      t.true(r.reason.includes(critical.id), 'the reason names the winner');
      t.regex(r.reason, /priority 10 vs [258]/);
    }
  }
  const m = arbiter.metrics();
  t.is(m.conflicts, 1);
  t.is(m.rejectedByCode['lost-arbitration'], 3);
  t.is(m.completed, 1);
  const resolved = events.find((e) => e.type === 'conflict.resolved');
  t.like(resolved, { winnerId: critical.id, decision: 'start' });
  await arbiter.stop();
});

test('createArbiter() - equal priorities: the earliest submission wins', async (t) => {
  const { clock, arbiter } = harness();
  const first = arbiter.submit({ target: 'a', execute: async () => 'first' });
  await advance(clock, 10);
  const second = arbiter.submit({ target: 'a', execute: async () => 'second' });
  const third = arbiter.submit({ target: 'a', execute: async () => 'third' });
  await advance(clock, 100);
  t.is(await first.result, 'first');
  t.is((await outcome(second.result) as { code: string }).code, 'lost-arbitration');
  t.is((await outcome(third.result) as { code: string }).code, 'lost-arbitration');
  await arbiter.stop();
});

test('createArbiter() - ties at the same instant go to the lower submission sequence', async (t) => {
  const { clock, arbiter } = harness();
  const hs = [0, 1, 2, 3].map((i) => arbiter.submit({ target: 'a', execute: async () => i }));
  await advance(clock, 100);
  t.is(await hs[0]!.result, 0);
  await arbiter.stop();
});

test('createArbiter() - 100 simultaneous increments on one target: exactly one applied, 99 lost-arbitration', async (t) => {
  const { clock, arbiter } = harness({ maxStagedPerTarget: 100 });
  let counter = 0;
  const hs = Array.from({ length: 100 }, () =>
    arbiter.submit({ target: 'counter', type: 'increment', execute: async () => ++counter }),
  );
  await advance(clock, 100);
  await arbiter.onIdle();
  const results = await Promise.all(hs.map((h) => outcome(h.result)));
  t.is(counter, 1);
  t.is(results.filter((r) => r.ok).length, 1);
  t.is(results.filter((r) => !r.ok && r.code === 'lost-arbitration').length, 99);
  t.deepEqual(
    { submitted: arbiter.metrics().submitted, completed: arbiter.metrics().completed, rejected: arbiter.metrics().rejected },
    { submitted: 100, completed: 1, rejected: 99 },
  );
  await arbiter.stop();
});

test('createArbiter() - different targets never conflict', async (t) => {
  const { clock, arbiter } = harness();
  const hs = Array.from({ length: 50 }, (_, i) => arbiter.submit({ target: `t${i}`, priority: 1 + (i % 10), execute: async () => i }));
  await advance(clock, 100);
  const values = await Promise.all(hs.map((h) => h.result));
  t.deepEqual(values, Array.from({ length: 50 }, (_, i) => i));
  t.is(arbiter.metrics().conflicts, 0);
  t.is(arbiter.metrics().coordinators, 50);
  await arbiter.stop();
});

test('createArbiter() - the grace period protects an executing operation; preemption works after it', async (t) => {
  const { clock, arbiter, events } = harness({ gracePeriodMs: 200 });
  let aborted = false;
  const slow = deferred<string>();
  const low = arbiter.submit({
    target: 'a',
    priority: Priority.LOW,
    execute: ({ signal }) => {
      signal.addEventListener('abort', () => {
        aborted = true;
        slow.reject(new Error('aborted'));
      });
      return slow.promise;
    },
  });
  await advance(clock, 100); // LOW wins and starts at t=100
  t.is(low.status(), 'executing');
  const high = arbiter.submit({ target: 'a', priority: Priority.HIGH, execute: async () => 'high' });
  await advance(clock, 100); // window closes at t=200: LOW has run 100 ms < grace → HIGH held
  t.is(low.status(), 'executing');
  t.is(high.status(), 'staged');
  t.false(aborted);
  t.false(events.some((e) => e.type === 'operation.preempted'));
  await advance(clock, 100); // t=300: LOW has run 200 ms ≥ grace and is lower → preempted
  t.true(aborted, 'the preempted operation was aborted through its signal');
  const lowOutcome = await outcome(low.result);
  t.like(lowOutcome, { ok: false, code: 'preempted' });
  t.is(await high.result, 'high');
  const preempted = events.find((e) => e.type === 'operation.preempted');
  t.like(preempted, { operationId: low.id, byId: high.id });
  t.is(arbiter.metrics().rejectedByCode.preempted, 1);
  await arbiter.stop();
});

test('createArbiter() - preempt never preempts an equal or higher priority holder', async (t) => {
  const { clock, arbiter } = harness({ gracePeriodMs: 0 });
  const gate = deferred<string>();
  const holder = arbiter.submit({ target: 'a', priority: Priority.HIGH, execute: () => gate.promise });
  await advance(clock, 100);
  const other = arbiter.submit({ target: 'a', priority: Priority.HIGH, execute: async () => 'other' });
  await advance(clock, 100);
  await advance(clock, 100);
  t.is(holder.status(), 'executing');
  t.is(other.status(), 'staged');
  gate.resolve('done');
  await flush();
  t.is(await holder.result, 'done');
  await advance(clock, 100); // the held winner competes in the next window and now runs
  t.is(await other.result, 'other');
  await arbiter.stop();
});

test("createArbiter() - whileExecuting: 'queue' waits for the holder, never preempts", async (t) => {
  const { clock, arbiter } = harness({ whileExecuting: 'queue', gracePeriodMs: 0 });
  const gate = deferred<string>();
  const holder = arbiter.submit({ target: 'a', priority: Priority.LOW, execute: () => gate.promise });
  await advance(clock, 100);
  const critical = arbiter.submit({ target: 'a', priority: Priority.CRITICAL, execute: async () => 'critical' });
  await advance(clock, 500);
  t.is(holder.status(), 'executing');
  t.is(critical.status(), 'staged');
  gate.resolve('low done');
  t.is(await holder.result, 'low done');
  await advance(clock, 100);
  t.is(await critical.result, 'critical');
  await arbiter.stop();
});

test("createArbiter() - whileExecuting: 'concurrent' runs the winner alongside", async (t) => {
  const { clock, arbiter } = harness({ whileExecuting: 'concurrent' });
  const gate = deferred<string>();
  const first = arbiter.submit({ target: 'a', execute: () => gate.promise });
  await advance(clock, 100);
  const second = arbiter.submit({ target: 'a', execute: async () => 'second' });
  await advance(clock, 100);
  t.is(await second.result, 'second');
  t.is(first.status(), 'executing');
  gate.resolve('first');
  t.is(await first.result, 'first');
  await arbiter.stop();
});

test('createArbiter() - at most one operation executes per target under preempt and queue', async (t) => {
  for (const whileExecuting of ['preempt', 'queue'] as const) {
    const { clock, arbiter, events } = harness({ whileExecuting, gracePeriodMs: 50, maxStagedPerTarget: 100 });
    const holding = new Set<string>();
    let maxHolding = 0;
    arbiter.events$.subscribe((e) => {
      if (e.type === 'operation.started') holding.add(e.operationId);
      if (e.type === 'operation.completed' || e.type === 'operation.rejected') holding.delete(e.operationId);
      maxHolding = Math.max(maxHolding, holding.size);
    });
    for (let wave = 0; wave < 10; wave++) {
      for (let i = 0; i < 5; i++) {
        arbiter.submit({
          target: 'a',
          priority: 1 + ((wave * 7 + i * 3) % 10),
          execute: ({ signal }) =>
            new Promise<void>((resolve) => {
              const id = clock.setTimeout(resolve, 120);
              signal.addEventListener('abort', () => {
                clock.clearTimeout(id);
                resolve();
              });
            }),
        });
      }
      await advance(clock, 60);
    }
    for (let i = 0; i < 40; i++) await advance(clock, 60);
    t.is(maxHolding, 1, whileExecuting);
    t.true(events.filter((e) => e.type === 'operation.started').length > 1);
    if (whileExecuting === 'queue') t.is(arbiter.metrics().rejectedByCode.preempted, 0);
    t.true(accounted(arbiter));
    t.is(arbiter.metrics().inFlight, 0);
    await arbiter.stop();
  }
});

test('createArbiter() - priority inheritance: a LOW child of a CRITICAL parent beats a HIGH one', async (t) => {
  const { clock, arbiter } = harness();
  const gate = deferred<void>();
  const parent = arbiter.submit({ target: 'p', priority: Priority.CRITICAL, execute: () => gate.promise });
  const child = arbiter.submit({ target: 'x', priority: Priority.LOW, parentId: parent.id, execute: async () => 'child' });
  const high = arbiter.submit({ target: 'x', priority: Priority.HIGH, execute: async () => 'high' });
  t.is(arbiter.operations.get(child.id)?.effectivePriority, Priority.CRITICAL);
  await advance(clock, 100);
  t.is(await child.result, 'child');
  t.like(await outcome(high.result), { ok: false, code: 'lost-arbitration' });
  gate.resolve();
  await arbiter.stop();
});

test('createArbiter() - effective priority is the maximum along the whole chain', async (t) => {
  const { arbiter } = harness();
  const noop = async () => undefined;
  const root = arbiter.submit({ target: 'r', priority: 9, execute: noop });
  const mid = arbiter.submit({ target: 'm', priority: 3, parentId: root.id, execute: noop });
  const leaf = arbiter.submit({ target: 'l', priority: 1, parentId: mid.id, execute: noop });
  t.is(arbiter.operations.get(leaf.id)?.effectivePriority, 9);
  await arbiter.stop();
});

test('createArbiter() - fail → retry → succeed', async (t) => {
  const { clock, arbiter, events } = harness({ retry: { baseDelayMs: 10, factor: 2, maxDelayMs: 1000, jitter: false } });
  const attempts: number[] = [];
  const h = arbiter.submit({
    target: 'a',
    retryable: (err) => (err as Error).message === 'busy',
    execute: async ({ attempt }) => {
      attempts.push(attempt);
      if (attempt < 3) throw new Error('busy');
      return 'done';
    },
  });
  await advance(clock, 100);
  t.is(h.status(), 'retrying');
  await advance(clock, 9);
  t.deepEqual(attempts, [1], 'backoff 10 ms before the first retry');
  await advance(clock, 1);
  t.deepEqual(attempts, [1, 2]);
  await advance(clock, 20);
  t.deepEqual(attempts, [1, 2, 3]);
  t.is(await h.result, 'done');
  const mine = events.filter((e) => 'operationId' in e && e.operationId === h.id).map((e) => e.type);
  t.deepEqual(mine, [
    'operation.submitted',
    'operation.staged',
    'operation.won',
    'operation.started',
    'operation.retrying',
    'operation.started',
    'operation.retrying',
    'operation.started',
    'operation.completed',
  ]);
  await arbiter.stop();
});

test('createArbiter() - an OccConflictError is retryable by default', async (t) => {
  const { clock, arbiter } = harness({ retry: { jitter: false } });
  let n = 0;
  const h = arbiter.submit({
    target: 'a',
    execute: async () => {
      if (++n === 1) throw new OccConflictError({ id: 'e', expected: 1, actual: 2 });
      return n;
    },
  });
  await advance(clock, 100);
  await advance(clock, 10);
  t.is(await h.result, 2);
  await arbiter.stop();
});

test('createArbiter() - retries exhausted → retries-exhausted; non-retryable → execution-failed', async (t) => {
  const { clock, arbiter } = harness({ retry: { baseDelayMs: 1, factor: 1, jitter: false } });
  let calls = 0;
  const exhausted = arbiter.submit({
    target: 'a',
    maxRetries: 2,
    retryable: () => true,
    execute: async () => {
      calls++;
      throw new Error('nope');
    },
  });
  const failed = arbiter.submit({
    target: 'b',
    execute: () => {
      throw 'a plain string';
    },
  });
  for (let i = 0; i < 5; i++) await advance(clock, 100);
  t.is(calls, 3, 'first attempt plus two retries');
  const e = await outcome(exhausted.result);
  t.like(e, { ok: false, code: 'retries-exhausted' });
  const f = await outcome(failed.result);
  t.like(f, { ok: false, code: 'execution-failed' });
  if (!f.ok) t.true(f.reason.includes('a plain string'), 'a thrown non-Error is described');
  await arbiter.stop();
});

test('createArbiter() - default maxRetries by priority class', async (t) => {
  for (const [priority, expected] of [[10, 20], [5, 5], [2, 3]] as const) {
    const { clock, arbiter } = harness({ retry: { baseDelayMs: 1, factor: 1, jitter: false } });
    let calls = 0;
    const h = arbiter.submit({ target: 'a', priority, retryable: () => true, execute: async () => { calls++; throw new Error('x'); } });
    for (let i = 0; i < 30; i++) await advance(clock, 100);
    t.like(await outcome(h.result), { ok: false, code: 'retries-exhausted' });
    t.is(calls, expected + 1, `priority ${priority}`);
    await arbiter.stop();
  }
});

test('createArbiter() - a retryable() that throws counts as not retryable', async (t) => {
  const { clock, arbiter } = harness();
  const h = arbiter.submit({
    target: 'a',
    retryable: () => {
      throw new Error('bad predicate');
    },
    execute: async () => {
      throw new Error('x');
    },
  });
  await advance(clock, 100);
  t.like(await outcome(h.result), { ok: false, code: 'execution-failed' });
  await arbiter.stop();
});

test('createArbiter() - timeoutMs rejects with timeout and aborts execution', async (t) => {
  const { clock, arbiter } = harness();
  let aborted = false;
  const h = arbiter.submit({
    target: 'a',
    timeoutMs: 150,
    execute: ({ signal }) =>
      new Promise((_, reject) => signal.addEventListener('abort', () => {
        aborted = true;
        reject(new Error('aborted'));
      })),
  });
  await advance(clock, 100);
  t.is(h.status(), 'executing');
  await advance(clock, 50);
  t.like(await outcome(h.result), { ok: false, code: 'timeout' });
  t.true(aborted);
  // the target is free again
  const next = arbiter.submit({ target: 'a', execute: async () => 'next' });
  await advance(clock, 100);
  t.is(await next.result, 'next');
  await arbiter.stop();
});

test('createArbiter() - timeout while staged', async (t) => {
  const { clock, arbiter } = harness({ windowMs: 100 });
  const h = arbiter.submit({ target: 'a', timeoutMs: 50, execute: async () => 1 });
  await advance(clock, 50);
  t.like(await outcome(h.result), { ok: false, code: 'timeout' });
  t.is(arbiter.metrics().staged, 0);
  await arbiter.stop();
});

test('handle.cancel() - cancels a staged and an executing operation', async (t) => {
  const { clock, arbiter } = harness({ whileExecuting: 'concurrent' });
  const staged = arbiter.submit({ target: 'a', execute: async () => 1 });
  t.true(staged.cancel('changed my mind'));
  t.like(await outcome(staged.result), { ok: false, code: 'cancelled', reason: 'changed my mind' });
  t.false(staged.cancel(), 'cancelling a final operation does nothing');
  let aborted = false;
  const running = arbiter.submit({
    target: 'b',
    execute: ({ signal }) => new Promise((_, reject) => signal.addEventListener('abort', () => {
      aborted = true;
      reject(new Error('aborted'));
    })),
  });
  await advance(clock, 100);
  t.is(running.status(), 'executing');
  t.true(running.cancel());
  t.true(aborted);
  t.like(await outcome(running.result), { ok: false, code: 'cancelled' });
  t.is(arbiter.metrics().rejectedByCode.cancelled, 2);
  t.true(accounted(arbiter));
  await arbiter.stop();
});

test('createArbiter() - a cancelled candidate leaves the window; the rest still compete', async (t) => {
  const { clock, arbiter } = harness();
  const best = arbiter.submit({ target: 'a', priority: 10, execute: async () => 'best' });
  const other = arbiter.submit({ target: 'a', priority: 5, execute: async () => 'other' });
  best.cancel();
  await advance(clock, 100);
  t.is(await other.result, 'other');
  t.is(arbiter.metrics().conflicts, 0, 'one candidate left: no conflict');
  await arbiter.stop();
});

test('createArbiter() - staging-full per target and overall, at once', async (t) => {
  const { clock, arbiter } = harness({ maxStagedPerTarget: 2, maxStaged: 3 });
  const noop = async () => 'ok';
  const a1 = arbiter.submit({ target: 'a', execute: noop });
  const a2 = arbiter.submit({ target: 'a', execute: noop });
  const a3 = arbiter.submit({ target: 'a', execute: noop });
  t.is(a3.status(), 'rejected');
  t.like(await outcome(a3.result), { ok: false, code: 'staging-full' });
  const b1 = arbiter.submit({ target: 'b', execute: noop });
  const b2 = arbiter.submit({ target: 'b', execute: noop });
  t.like(await outcome(b2.result), { ok: false, code: 'staging-full' });
  t.is(arbiter.metrics().staged, 3);
  t.is(arbiter.metrics().rejectedByCode['staging-full'], 2);
  await advance(clock, 100);
  t.is(arbiter.metrics().staged, 0, 'capacity is released once decided');
  const a4 = arbiter.submit({ target: 'a', execute: noop });
  t.is(a4.status(), 'staged');
  await advance(clock, 100);
  await Promise.all([a1, a2, b1, a4].map((h) => outcome(h.result)));
  t.true(accounted(arbiter));
  await arbiter.stop();
});

test('selectWinner - null rejects all with no-winner; throwing rejects all with arbitration-failed; the coordinator keeps working', async (t) => {
  let mode: 'null' | 'throw' | 'foreign' | 'first' = 'null';
  const { clock, arbiter } = harness({
    selectWinner: (candidates) => {
      if (mode === 'throw') throw new Error('boom');
      if (mode === 'foreign') return { ...candidates[0]!, id: 'not-a-candidate' };
      if (mode === 'null') return null;
      return candidates[0] ?? null;
    },
  });
  const noop = async () => 'ok';
  const round = async () => {
    const hs = [arbiter.submit({ target: 'a', execute: noop }), arbiter.submit({ target: 'a', execute: noop })];
    await advance(clock, 100);
    return Promise.all(hs.map((h) => outcome(h.result)));
  };
  t.deepEqual((await round()).map((r) => (r.ok ? 'ok' : r.code)), ['no-winner', 'no-winner']);
  mode = 'throw';
  const thrown = await round();
  t.deepEqual(thrown.map((r) => (r.ok ? 'ok' : r.code)), ['arbitration-failed', 'arbitration-failed']);
  t.true(!thrown[0]!.ok && thrown[0]!.reason.includes('boom'));
  mode = 'foreign';
  t.deepEqual((await round()).map((r) => (r.ok ? 'ok' : r.code)), ['arbitration-failed', 'arbitration-failed']);
  mode = 'first';
  t.deepEqual((await round()).map((r) => (r.ok ? 'ok' : r.code)), ['ok', 'lost-arbitration']);
  t.true(accounted(arbiter));
  await arbiter.stop();
});

test('selectWinner - receives candidates with the documented fields and a context', async (t) => {
  const seen: unknown[] = [];
  const { clock, arbiter } = harness({
    selectWinner: (candidates, ctx) => {
      seen.push({ candidates: candidates.map((c) => Object.keys(c).sort()), ctx: Object.keys(ctx).sort() });
      return candidates.find((c) => (c.data as { vip?: boolean }).vip) ?? candidates[0] ?? null;
    },
  });
  const plain = arbiter.submit({ target: 'a', priority: 10, data: { vip: false }, execute: async () => 'plain' });
  const vip = arbiter.submit({ target: 'a', priority: 1, data: { vip: true }, execute: async () => 'vip' });
  await advance(clock, 100);
  t.is(await vip.result, 'vip');
  t.like(await outcome(plain.result), { ok: false, code: 'lost-arbitration' });
  t.deepEqual(seen[0], {
    candidates: [
      ['data', 'effectivePriority', 'id', 'priority', 'seq', 'submittedAt', 'target', 'type'],
      ['data', 'effectivePriority', 'id', 'priority', 'seq', 'submittedAt', 'target', 'type'],
    ],
    ctx: ['executing', 'now', 'target', 'windowOpenedAt'],
  });
  await arbiter.stop();
});

test('createArbiter() - events arrive in lifecycle order per operation, with increasing seq', async (t) => {
  const { clock, arbiter, events } = harness();
  const win = arbiter.submit({ target: 'a', priority: 8, execute: async () => 1 });
  const lose = arbiter.submit({ target: 'a', priority: 2, execute: async () => 2 });
  await advance(clock, 100);
  await arbiter.onIdle();
  const of = (id: string) => events.filter((e) => 'operationId' in e && e.operationId === id).map((e) => e.type);
  t.deepEqual(of(win.id), ['operation.submitted', 'operation.staged', 'operation.won', 'operation.started', 'operation.completed']);
  t.deepEqual(of(lose.id), ['operation.submitted', 'operation.staged', 'operation.rejected']);
  const types = events.map((e) => e.type);
  t.true(types.indexOf('conflict.detected') < types.indexOf('conflict.resolved'));
  t.true(types.indexOf('conflict.resolved') < types.indexOf('operation.rejected'));
  for (let i = 1; i < events.length; i++) t.true(events[i]!.seq > events[i - 1]!.seq);
  for (const e of events) t.is(e.target, 'a');
  for (const e of events) t.true(Object.isFrozen(e), `${e.type} is frozen: an observer cannot change what the next one sees`);
  await arbiter.stop();
});

test('events$ - an observer that throws is isolated; the arbiter keeps working', async (t) => {
  const errors: unknown[] = [];
  const { clock, arbiter } = harness({ onObserverError: (err) => errors.push(err) });
  let delivered = 0;
  arbiter.events$.subscribe(() => {
    throw new Error('observer bug');
  });
  arbiter.events$.subscribe({ next: () => delivered++ });
  const uncaught: unknown[] = [];
  const onUncaught = (err: unknown) => uncaught.push(err);
  process.on('uncaughtException', onUncaught);
  const h = arbiter.submit({ target: 'a', execute: async () => 'fine' });
  await advance(clock, 100);
  t.is(await h.result, 'fine');
  await flush();
  process.off('uncaughtException', onUncaught);
  t.deepEqual(uncaught, []);
  t.true(errors.length >= 4);
  t.is(arbiter.metrics().observerErrors, errors.length);
  // coordinator.started, then submitted, staged, won, started, completed.
  t.is(delivered, 6, 'other observers still get every event');
  await arbiter.stop();
});

test('events$ - isolation holds through pipe()', async (t) => {
  const { map, filter } = await import('rxjs');
  const errors: unknown[] = [];
  const { clock, arbiter } = harness({ onObserverError: (err) => errors.push(err) });
  arbiter.events$
    .pipe(
      filter((e) => e.type === 'operation.completed'),
      map((e) => e.target),
    )
    .subscribe(() => {
      throw new Error('piped observer bug');
    });
  const h = arbiter.submit({ target: 'a', execute: async () => 1 });
  await advance(clock, 100);
  await h.result;
  await flush();
  t.is(errors.length, 1);
  await arbiter.stop();
});

test('handle.result - a rejection nobody awaits raises no unhandledRejection', async (t) => {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);
  const { clock, arbiter } = harness();
  arbiter.submit({ target: 'a', priority: 1, execute: async () => 1 });
  arbiter.submit({ target: 'a', priority: 9, execute: async () => 1 });
  arbiter.submit({ target: 'b', execute: async () => { throw new Error('x'); } });
  await advance(clock, 100);
  await flush();
  await arbiter.stop();
  await flush();
  process.off('unhandledRejection', onUnhandled);
  t.deepEqual(unhandled, []);
  t.is(arbiter.metrics().rejected, 2);
});

test('handle.result - rejects with OperationRejectedError carrying code, reason, operationId and target', async (t) => {
  const { clock, arbiter } = harness();
  arbiter.submit({ target: 'a', priority: 9, execute: async () => 1 });
  const loser = arbiter.submit({ target: 'a', priority: 1, execute: async () => 1 });
  await advance(clock, 100);
  const err = await t.throwsAsync(loser.result, { instanceOf: OperationRejectedError });
  t.is(err?.code, 'lost-arbitration');
  t.is(err?.operationId, loser.id);
  t.is(err?.target, 'a');
  t.is(err?.name, 'OperationRejectedError');
  await arbiter.stop();
});

test('arbiter.stop() - rejects everything not final with shutdown and clears every timer', async (t) => {
  const { clock, arbiter } = harness();
  const gate = deferred<void>();
  const running = arbiter.submit({ target: 'a', timeoutMs: 10_000, execute: () => gate.promise });
  await advance(clock, 100);
  const staged = arbiter.submit({ target: 'a', execute: async () => 1 });
  const other = arbiter.submit({ target: 'b', execute: async () => 1 });
  await arbiter.stop();
  for (const h of [running.result, staged.result, other.result] as Promise<unknown>[]) t.like(await outcome(h), { ok: false, code: 'shutdown' });
  t.is(arbiter.metrics().inFlight, 0);
  t.is(arbiter.metrics().coordinators, 0);
  t.true(accounted(arbiter));
  const pending = (clock as unknown as { timeouts: Map<unknown, unknown> }).timeouts;
  t.is(pending.size, 0, 'no timer left on the clock');
  const late = arbiter.submit({ target: 'a', execute: async () => 1 });
  t.like(await outcome(late.result), { ok: false, code: 'shutdown' });
  t.true(accounted(arbiter));
  await arbiter.stop(); // idempotent
});

test('createArbiter() - an idle coordinator stops after idleCoordinatorMs', async (t) => {
  const { clock, arbiter } = harness({ idleCoordinatorMs: 500 });
  const h = arbiter.submit({ target: 'a', execute: async () => 1 });
  await advance(clock, 100);
  await h.result;
  await flush();
  t.is(arbiter.metrics().coordinators, 1);
  await advance(clock, 499);
  t.is(arbiter.metrics().coordinators, 1);
  await advance(clock, 1);
  t.is(arbiter.metrics().coordinators, 0);
  const again = arbiter.submit({ target: 'a', execute: async () => 2 });
  await advance(clock, 100);
  t.is(await again.result, 2, 'a new coordinator is started on demand');
  await arbiter.stop();
});

test('arbiter.onIdle() - resolves once everything in flight is final', async (t) => {
  const { clock, arbiter } = harness();
  let drained = false;
  t.is(await arbiter.onIdle(), undefined, 'resolves at once when idle');
  arbiter.submit({ target: 'a', execute: async () => 1 });
  const p = arbiter.onIdle().then(() => (drained = true));
  await flush();
  t.false(drained);
  await advance(clock, 100);
  await p;
  t.true(drained);
  await arbiter.stop();
});

test('arbiter.operations - get and query the audit trail', async (t) => {
  const { clock, arbiter } = harness();
  const win = arbiter.submit({ target: 'a', priority: 9, execute: async () => 1 });
  const lose = arbiter.submit({ target: 'a', priority: 1, execute: async () => 1 });
  t.like(arbiter.operations.get(win.id), { status: 'staged', target: 'a', priority: 9 });
  await advance(clock, 100);
  await win.result;
  t.like(arbiter.operations.get(win.id), { status: 'completed', won: true, attempt: 1 });
  t.like(arbiter.operations.get(lose.id), { status: 'rejected', code: 'lost-arbitration', won: false });
  t.deepEqual(arbiter.operations.query({ code: 'lost-arbitration' }).map((o) => o.id), [lose.id]);
  t.deepEqual(arbiter.operations.query({ status: 'completed', target: 'a' }).map((o) => o.id), [win.id]);
  await arbiter.stop();
});

test('createArbiter() - the operation actor is exposed and its snapshot matches status()', async (t) => {
  const { clock, arbiter } = harness();
  const h = arbiter.submit({ target: 'a', execute: async () => 1 });
  t.is(h.actor!.getSnapshot().value, 'staged');
  await advance(clock, 100);
  await h.result;
  t.is(h.actor!.getSnapshot().value, 'completed');
  t.is(h.actor!.getSnapshot().status, 'done');
  await arbiter.stop();
});

test('selectWinner - candidates are read-only views', async (t) => {
  let threw = false;
  const { clock, arbiter } = harness({
    selectWinner: (candidates) => {
      try {
        (candidates[1] as { effectivePriority: number }).effectivePriority = 10;
      } catch {
        threw = true;
      }
      return candidates[1] ?? null;
    },
  });
  const first = arbiter.submit({ target: 'a', priority: 9, execute: async () => 1 });
  const second = arbiter.submit({ target: 'a', priority: 1, execute: async () => 2 });
  await advance(clock, 100);
  t.true(threw, 'writing to a candidate throws (ESM code is strict)');
  t.is(await second.result, 2);
  t.like(await outcome(first.result), { ok: false, code: 'lost-arbitration' });
  t.is(arbiter.operations.get(second.id)?.effectivePriority, 1);
  await arbiter.stop();
});
