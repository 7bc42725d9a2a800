import test from 'ava';
import fc from 'fast-check';
import client from 'prom-client';
import { SimulatedClock } from 'xstate';
import { MetricsCollector, resolveMetricsOptions, type CollectorEvent } from '../../actors/metrics.js';
import {
  ArbiterInputError,
  createArbiter,
  createStore,
  extendLifecycle,
  defaultSelectWinner,
  OccConflictError,
  OperationRejectedError,
  Priority,
  type ArbiterEvent,
  type ArbiterOptions,
  type CoreMetrics,
  type EntityStore,
  type SelectWinner,
} from '../../src/index.js';
import { ArbiterTestClock, flush } from '../../src/testing.js';
import { advance, approval } from '../helpers/index.js';


function setup(options: ArbiterOptions = {}) {
  const clock = new SimulatedClock();
  const arbiter = createArbiter({ clock, random: () => 0.5, windowMs: 100, ...options });
  return { clock, arbiter };
}

// Declared first: its synchronous part runs before any test has loaded prom-client, so full
// reservoirs go through the overflow list that waits for the lazy import.
test('MetricsCollector - observations made before prom-client is loaded are all exported', async (t) => {
  const now = { t: 0 };
  const collector = new MetricsCollector(resolveMetricsOptions({ reservoirSize: 10 }), fakeSource(now));
  for (let i = 0; i < 95; i++) collector.observe(conflict(2 + (i % 3)));
  const text = await collector.text();
  t.regex(text, /^arbiter_operations_per_conflict_count 95$/m);
  t.regex(text, /^arbiter_operations_per_conflict_sum 284$/m);
  t.is(collector.histogram('operationsPerConflict').count, 95);
});

test('.metrics() - 6 candidates in one window: 1 conflict, 5 lost, 6 operations per conflict', async (t) => {
  const { clock, arbiter } = setup();
  const handles = [1, 2, 3, 4, 5, 8].map((priority) => arbiter.submit({ target: 'acct', priority, execute: () => 'ok' }));
  let m = arbiter.metrics();
  t.is(m.submitted, 6);
  t.is(m.stagedTotal, 6);
  t.is(m.staged, 6);
  t.deepEqual(m.stagedByTarget, { acct: 6 });
  t.is(m.coordinators, 1);
  t.is(m.unaccounted, 0);
  await advance(clock, 100);
  await Promise.allSettled(handles.map((h) => h.result));
  m = arbiter.metrics();
  t.is(m.conflicts, 1);
  t.is(m.conflictsDetected, 1);
  t.is(m.conflictsResolved, 1);
  t.is(m.completed, 1);
  t.is(m.rejected, 5);
  t.is(m.rejectedByCode['lost-arbitration'], 5);
  t.is(m.started, 1);
  t.is(m.retries, 0);
  t.is(m.preemptions, 0);
  t.is(m.unaccounted, 0);
  t.is(m.staged, 0);
  t.deepEqual(m.stagedByTarget, {});
  const perConflict = m.histograms.operationsPerConflict;
  t.is(perConflict.count, 1);
  t.is(perConflict.p50, 6);
  t.is(perConflict.p99, 6);
  t.is(perConflict.mean, 6);
  // Every operation was decided when its window closed, 100 ms after submission.
  t.is(m.histograms.decisionLatencyMs.count, 6);
  t.is(m.histograms.decisionLatencyMs.p50, 100);
  t.is(m.histograms.decisionLatencyMs.max, 100);
  t.is(m.histograms.executionTimeMs.count, 1);
  t.is(m.histograms.executionTimeMs.p50, 0);
  t.is(m.histograms.retriesPerSuccess.p50, 0);
  t.is(m.histograms.resolutionTimeUs.count, 1);
  t.true(m.histograms.resolutionTimeUs.max >= 0);
  // 6 submitted, 1 completed, 5 rejected within the first 100 ms of the arbiter's life.
  t.is(m.throughput.submittedPerSec, 60);
  t.is(m.throughput.completedPerSec, 10);
  t.is(m.throughput.rejectedPerSec, 50);
  await arbiter.stop();
});

test('.metrics() - retries and retries per success', async (t) => {
  const { clock, arbiter } = setup({ retry: { baseDelayMs: 10, factor: 2, jitter: false } });
  let calls = 0;
  const h = arbiter.submit({
    target: 'doc',
    execute: () => {
      calls++;
      if (calls <= 2) throw new OccConflictError({ id: 'doc', expected: calls, actual: calls + 1 });
      return 'saved';
    },
  });
  await advance(clock, 100); // window closes, attempt 1 fails
  await advance(clock, 10); // attempt 2 fails
  await advance(clock, 20); // attempt 3 succeeds
  t.is(await h.result, 'saved');
  const m = arbiter.metrics();
  t.is(m.retries, 2);
  t.is(m.started, 3);
  t.is(m.histograms.retriesPerSuccess.p50, 2);
  t.is(m.histograms.executionTimeMs.p50, 30);
  t.is(m.histograms.decisionLatencyMs.p50, 130);
  t.is(m.conflicts, 0, 'a lone candidate is no conflict');
  t.is(m.histograms.operationsPerConflict.count, 0);
  t.is(m.histograms.operationsPerConflict.p99, 0);
  await arbiter.stop();
});

test('.metrics() - preemptions, executing gauge and zombies/promoted from the store', async (t) => {
  const store = createStore();
  const { clock, arbiter } = setup({ gracePeriodMs: 50, store });
  const low = arbiter.submit({ target: 'x', priority: Priority.LOW, execute: ({ signal }) => new Promise((_, rej) => signal.addEventListener('abort', () => rej(new Error('aborted')))) });
  await advance(clock, 100);
  t.is(arbiter.metrics().executing, 1);
  await advance(clock, 100);
  const high = arbiter.submit({ target: 'x', priority: Priority.HIGH, execute: () => 'high' });
  await advance(clock, 100);
  t.is(await high.result, 'high');
  await t.throwsAsync(low.result, { instanceOf: Error });
  const m = arbiter.metrics();
  t.is(m.preemptions, 1);
  t.is(m.rejectedByCode.preempted, 1);
  t.is(m.executing, 0);
  t.is(m.promoted, 2);
  t.is(m.zombies, 1);
  t.is(m.unaccounted, 0);
  const text = await arbiter.metricsText();
  t.regex(text, /^arbiter_preemptions_total 1$/m);
  t.regex(text, /^arbiter_zombies_total 1$/m);
  t.regex(text, /^arbiter_promoted_total 2$/m);
  await arbiter.stop();
});

test('.metricsText() - Prometheus text from a registry of its own', async (t) => {
  const globalBefore = (await client.register.getMetricsAsJSON()).length;
  const { clock, arbiter } = setup({ metrics: { prefix: 'shop_', labels: { service: 'cart' } } });
  const handles = [2, 5, 5, 8, 10, 1].map((priority) => arbiter.submit({ target: 'cart-1', priority, execute: () => 1 }));
  await advance(clock, 100);
  await Promise.allSettled(handles.map((h) => h.result));
  const text = await arbiter.metricsText();
  t.regex(text, /^# TYPE shop_conflicts_detected_total counter$/m);
  t.regex(text, /^shop_conflicts_detected_total\{service="cart"\} 1$/m);
  t.regex(text, /^shop_operations_rejected_total\{code="lost-arbitration",service="cart"\} 5$/m);
  t.regex(text, /^shop_operations_rejected_total\{code="staging-full",service="cart"\} 0$/m);
  t.regex(text, /^shop_operations_completed_total\{service="cart"\} 1$/m);
  t.regex(text, /^shop_operations_unaccounted\{service="cart"\} 0$/m);
  t.regex(text, /^# TYPE shop_operations_per_conflict histogram$/m);
  t.regex(text, /^shop_operations_per_conflict_bucket\{le="5",service="cart"\} 0$/m);
  t.regex(text, /^shop_operations_per_conflict_bucket\{le="6",service="cart"\} 1$/m);
  t.regex(text, /^shop_operations_per_conflict_sum\{service="cart"\} 6$/m);
  t.regex(text, /^shop_decision_latency_seconds_count\{service="cart"\} 6$/m);
  t.regex(text, /^shop_throughput_per_second\{kind="completed",service="cart"\} 10$/m);
  // Exported twice: counters and histograms do not double.
  const again = await arbiter.metricsText();
  t.regex(again, /^shop_operations_per_conflict_count\{service="cart"\} 1$/m);
  t.regex(again, /^shop_conflicts_detected_total\{service="cart"\} 1$/m);
  // A second arbiter has its own registry: no name clash, and the global registry is untouched.
  const other = createArbiter({ clock, metrics: { prefix: 'shop_' } });
  t.regex(await other.metricsText(), /^shop_conflicts_detected_total 0$/m);
  t.is((await client.register.getMetricsAsJSON()).length, globalBefore);
  await arbiter.stop();
  await other.stop();
});

test('.metricsText() - staged_by_target exports only the fullest targets', async (t) => {
  const { arbiter } = setup({ metrics: { maxTargetLabels: 2 } });
  for (const [target, n] of [['a', 3], ['b', 1], ['c', 2]] as const) {
    for (let i = 0; i < n; i++) arbiter.submit({ target, execute: () => 1 });
  }
  t.deepEqual(arbiter.metrics().stagedByTarget, { a: 3, b: 1, c: 2 });
  const text = await arbiter.metricsText();
  t.regex(text, /^arbiter_staged_by_target\{target="a"\} 3$/m);
  t.regex(text, /^arbiter_staged_by_target\{target="c"\} 2$/m);
  t.notRegex(text, /target="b"/);
  await arbiter.stop();
});

function fakeSource(now: { t: number }) {
  const core: CoreMetrics = {
    submitted: 0,
    completed: 0,
    rejected: 0,
    inFlight: 0,
    conflicts: 0,
    rejectedByCode: {} as CoreMetrics['rejectedByCode'],
    staged: 0,
    executing: 0,
    coordinators: 0,
    observerErrors: 0,
    promoted: 0,
    zombies: 0,
    storeErrors: 0,
  };
  return { core: () => core, stagedByTarget: () => [], retained: () => 0, now: () => now.t };
}

const conflict = (n: number, at = 0): ArbiterEvent => ({
  type: 'conflict.detected',
  seq: 0,
  at,
  target: 't',
  candidateIds: Array.from({ length: n }, (_, i) => `op${i}`),
  windowOpenedAt: 0,
});

test('MetricsCollector - quantiles over the recent reservoir, all-time count and sum, batched export', async (t) => {
  const now = { t: 0 };
  const collector = new MetricsCollector(resolveMetricsOptions({ reservoirSize: 100 }), fakeSource(now));
  // 250 conflicts: sizes 2..251. The reservoir keeps the last 100 (152..251).
  for (let i = 0; i < 250; i++) collector.observe(conflict(i + 2));
  const h = collector.histogram('operationsPerConflict');
  t.is(h.count, 250);
  t.is(h.sum, (2 + 251) * 125);
  t.is(h.min, 2);
  t.is(h.max, 251);
  t.is(h.p50, 201);
  t.is(h.p95, 246);
  t.is(h.p99, 250);
  // Every observation reaches prom-client, including those flushed before the first export.
  const text = await collector.text();
  t.regex(text, /^arbiter_operations_per_conflict_count 250$/m);
  t.regex(text, /^arbiter_operations_per_conflict_sum 31625$/m);
  t.regex(text, /^arbiter_operations_per_conflict_bucket\{le="10"\} 9$/m);
  for (let i = 0; i < 3; i++) collector.observe(conflict(3));
  t.regex(await collector.text(), /^arbiter_operations_per_conflict_count 253$/m);
});

test('MetricsCollector - a malformed event is counted in metricsErrors and never thrown', (t) => {
  const now = { t: 0 };
  const errors: unknown[] = [];
  const collector = new MetricsCollector(resolveMetricsOptions(undefined), fakeSource(now), (err) => errors.push(err));
  t.notThrows(() => collector.observe({ type: 'conflict.detected', seq: 1, at: 0, target: 't' } as unknown as ArbiterEvent));
  t.is(collector.snapshot().metricsErrors, 1);
  t.is(errors.length, 1);
});

test('MetricsCollector - throughput slides: old buckets leave the window', (t) => {
  const now = { t: 0 };
  const collector = new MetricsCollector(resolveMetricsOptions({ throughputWindowMs: 1000 }), fakeSource(now));
  const submitted = (at: number): ArbiterEvent => ({
    type: 'operation.submitted',
    seq: 0,
    at,
    target: 't',
    operationId: 'x',
    operationType: 'op',
    priority: 5,
    effectivePriority: 5,
  });
  for (let i = 0; i < 10; i++) collector.observe(submitted(100));
  now.t = 1000;
  t.is(collector.snapshot().throughput.submittedPerSec, 10);
  for (let i = 0; i < 4; i++) collector.observe(submitted(1500));
  now.t = 2000;
  // The 10 at t=100 are out of the last second; the 4 at t=1500 are in.
  t.is(collector.snapshot().throughput.submittedPerSec, 4);
  now.t = 5000;
  t.is(collector.snapshot().throughput.submittedPerSec, 0);
});

test('createArbiter() - rejects bad metrics options', (t) => {
  for (const metrics of [
    { labels: { operation_type: 'x' } },
    { maxTypes: -1 },
    { registry: {} },
    { registry: 'global' },
    'yes',
    { prefix: 'has space' },
    { prefix: 7 },
    { labels: { le: 'x' } },
    { labels: { ok: '' } },
    { reservoirSize: 0 },
    { reservoirSize: 2.5 },
    { throughputWindowMs: 0 },
    { maxTargetLabels: -1 },
  ]) {
    const err = t.throws(() => createArbiter({ metrics } as unknown as ArbiterOptions), { instanceOf: ArbiterInputError });
    t.true(err!.field.startsWith('metrics'), err!.field);
  }
});

// ─── Durations in seconds, as Prometheus naming requires ───────────────────────────────────────

test('.metricsText() - durations are exported in seconds under _seconds names', async (t) => {
  const { clock, arbiter } = setup({ retry: { baseDelayMs: 10, factor: 2, jitter: false } });
  const handles = [2, 5, 8].map((priority) => arbiter.submit({ target: 'acct', priority, execute: () => new Promise((r) => clock.setTimeout(() => r(1), 40)) }));
  await advance(clock, 100); // the window closes: one winner, two losers, all decided at 100 ms
  await advance(clock, 40); // the winner's execute takes 40 ms
  await Promise.allSettled(handles.map((h) => h.result));
  const m = arbiter.metrics();
  t.is(m.histograms.executionTimeMs.sum, 40, 'metrics() keeps milliseconds');
  t.is(m.histograms.decisionLatencyMs.sum, 100 + 100 + 140);
  const text = await arbiter.metricsText();
  t.regex(text, /^# TYPE arbiter_execution_time_seconds histogram$/m);
  t.regex(text, /^arbiter_execution_time_seconds_sum 0\.04$/m);
  t.regex(text, /^arbiter_execution_time_seconds_bucket\{le="0\.025"\} 0$/m);
  t.regex(text, /^arbiter_execution_time_seconds_bucket\{le="0\.05"\} 1$/m);
  t.regex(text, /^arbiter_decision_latency_seconds_sum 0\.34$/m);
  t.regex(text, /^arbiter_decision_latency_seconds_bucket\{le="0\.1"\} 2$/m);
  t.regex(text, /^arbiter_resolution_time_seconds_count 1$/m);
  t.notRegex(text, /_milliseconds|_microseconds/);
  await arbiter.stop();
});

// ─── Priority distribution, success rate by type ────────────────────────────────────────────────

test('.metrics() - priorities: effective priorities of submissions and of winners', async (t) => {
  const { clock, arbiter } = setup();
  const hs = [
    ...[1, 2, 5, 5, 8, 10].map((priority) => arbiter.submit({ target: 'a', priority, execute: () => 1 })), // 10 wins
    ...[2, 5].map((priority) => arbiter.submit({ target: 'b', priority, execute: () => 1 })), // 5 wins
    arbiter.submit({ target: 'c', priority: 8, execute: () => 1 }), // alone: wins
  ];
  const before = arbiter.metrics().priorities;
  t.like(before.submitted, { 1: 1, 2: 2, 5: 3, 8: 2, 10: 1, 3: 0 });
  t.is(Object.values(before.won).reduce((a, b) => a + b, 0), 0, 'nobody has won before the window closes');
  await advance(clock, 100);
  await Promise.allSettled(hs.map((h) => h.result));
  const { submitted, won } = arbiter.metrics().priorities;
  t.deepEqual(Object.keys(submitted), ['1', '2', '3', '4', '5', '6', '7', '8', '9', '10']);
  t.like(won, { 1: 0, 2: 0, 5: 1, 8: 1, 10: 1 });
  const text = await arbiter.metricsText();
  t.regex(text, /^arbiter_submitted_by_priority_total\{priority="5"\} 3$/m);
  t.regex(text, /^arbiter_won_by_priority_total\{priority="10"\} 1$/m);
  t.regex(text, /^arbiter_won_by_priority_total\{priority="2"\} 0$/m);
  await arbiter.stop();
});

test('.metrics() - byType: winners, completions, failures and success rate per operation type', async (t) => {
  const { clock, arbiter } = setup();
  const hs = [
    arbiter.submit({ target: 'a', type: 'deposit', priority: 5, execute: () => 1 }), // wins, completes
    arbiter.submit({ target: 'a', type: 'withdraw', priority: 2, execute: () => 1 }), // loses
    arbiter.submit({ target: 'b', type: 'withdraw', priority: 8, execute: () => { throw new Error('overdraft'); } }), // wins, fails
    arbiter.submit({ target: 'c', type: 'withdraw', priority: 5, execute: () => 1 }), // wins, completes
  ];
  await advance(clock, 100);
  await Promise.allSettled(hs.map((h) => h.result));
  const { byType, otherTypes } = arbiter.metrics();
  t.deepEqual(byType, {
    deposit: { submitted: 1, won: 1, completed: 1, rejected: 0, executionFailures: 0, successRate: 1 },
    withdraw: { submitted: 3, won: 2, completed: 1, rejected: 2, executionFailures: 1, successRate: 0.5 },
  });
  t.is(otherTypes.submitted, 0);
  const text = await arbiter.metricsText();
  t.regex(text, /^arbiter_operations_by_type_total\{operation_type="withdraw",stage="won"\} 2$/m);
  t.regex(text, /^arbiter_operations_by_type_total\{operation_type="withdraw",stage="rejected"\} 2$/m);
  t.regex(text, /^arbiter_type_success_ratio\{operation_type="withdraw"\} 0\.5$/m);
  t.regex(text, /^arbiter_type_success_ratio\{operation_type="deposit"\} 1$/m);
  await arbiter.stop();
});

test('.metrics() - maxTypes: types past the bound are summed in otherTypes', async (t) => {
  const { clock, arbiter } = setup({ metrics: { maxTypes: 2 } });
  const hs = ['a', 'b', 'c', 'd', 'c'].map((type, i) => arbiter.submit({ target: `t${i}`, type, execute: () => 1 }));
  await advance(clock, 100);
  await Promise.allSettled(hs.map((h) => h.result));
  const m = arbiter.metrics();
  t.deepEqual(Object.keys(m.byType), ['a', 'b']);
  t.like(m.otherTypes, { submitted: 3, won: 3, completed: 3, successRate: 1 });
  t.notRegex(await arbiter.metricsText(), /operation_type="c"/);
  await arbiter.stop();
});

// ─── Extended lifecycles: every metric means what it says ───────────────────────────────────────


test('.metrics() with an approval step - executionTimeMs counts from the first start of execute, not from winning', async (t) => {
  const { clock, arbiter } = setup({ lifecycle: approval });
  const h = arbiter.submit({ target: 'doc', execute: () => new Promise((r) => clock.setTimeout(() => r('published'), 10)) });
  await advance(clock, 100); // wins, waits in approval
  await advance(clock, 5000);
  h.send({ type: 'approve' });
  await advance(clock, 10);
  t.is(await h.result, 'published');
  const m = arbiter.metrics();
  t.is(m.histograms.executionTimeMs.max, 10);
  t.is(m.histograms.decisionLatencyMs.max, 5110);
  t.regex(await arbiter.metricsText(), /^arbiter_execution_time_seconds_sum 0\.01$/m);
  await arbiter.stop();
});

test('.metricsText() with an approval step - a custom rejection code is exported', async (t) => {
  const { clock, arbiter } = setup({ lifecycle: approval });
  const denied = arbiter.submit({ target: 'doc', type: 'delete', execute: () => 1 });
  await advance(clock, 100);
  denied.send({ type: 'deny' });
  await advance(clock, 1);
  await t.throwsAsync(denied.result, { message: /denied by a reviewer/ });
  const m = arbiter.metrics();
  t.is(m.rejected, 1);
  t.is(m.rejectedByCode['denied'], 1);
  t.is(m.rejectedByCode['lost-arbitration'], 0, 'built-in codes stay, at 0');
  t.like(m.byType['delete'], { won: 1, rejected: 1, executionFailures: 0, successRate: 0 });
  t.is(m.priorities.won['5'], 1, 'a winner rejected by a custom step still won');
  const text = await arbiter.metricsText();
  t.regex(text, /^arbiter_operations_rejected_total\{code="denied"\} 1$/m);
  const sum = [...text.matchAll(/^arbiter_operations_rejected_total\{code="[^"]*"\} (\d+)$/gm)].reduce((a, x) => a + Number(x[1]), 0);
  t.is(sum, m.rejected, 'the rejected counter sums to metrics().rejected');
  await arbiter.stop();
});

test('.metrics() - a submission after stop() is rejected shutdown but not counted: events$ has completed, and metrics are its fold', async (t) => {
  const { arbiter } = setup();
  arbiter.submit({ target: 'early', execute: () => new Promise(() => {}) });
  await arbiter.stop();
  const before = arbiter.metrics();
  t.is(before.rejectedByCode.shutdown, 1);
  const h = arbiter.submit({ target: 'late', execute: () => 1 });
  await t.throwsAsync(h.result, { message: /stopped/ });
  t.is(h.status(), 'rejected');
  const m = arbiter.metrics();
  t.is(m.submitted, 1);
  t.is(m.rejected, 1);
  t.is(m.inFlight, 0);
  t.is(m.unaccounted, 0);
});

test('.metrics() with custom codes named like Object.prototype members - each counted as a number', async (t) => {
  const lifecycle = extendLifecycle({
    afterWin: {
      review: {
        on: {
          proto: { target: 'rejected', code: '__proto__', reason: 'r' },
          ctor: { target: 'rejected', code: 'constructor', reason: 'r' },
        },
      },
    },
  });
  const { clock, arbiter } = setup({ lifecycle });
  const a = arbiter.submit({ target: 'a', execute: () => 1 });
  const b = arbiter.submit({ target: 'b', execute: () => 1 });
  const c = arbiter.submit({ target: 'c', execute: () => 1 });
  await advance(clock, 100);
  a.send({ type: 'proto' });
  b.send({ type: 'ctor' });
  c.send({ type: 'ctor' });
  await advance(clock, 1);
  const m = arbiter.metrics();
  t.true(Object.prototype.hasOwnProperty.call(m.rejectedByCode, '__proto__'));
  t.is(m.rejectedByCode['__proto__'], 1);
  const ctor: string = 'constructor'; // a literal would name Object's own member to TypeScript
  t.is(m.rejectedByCode[ctor], 2);
  t.is(Object.values(m.rejectedByCode).reduce((x, y) => x + y, 0), m.rejected);
  const text = await arbiter.metricsText();
  t.regex(text, /^arbiter_operations_rejected_total\{code="__proto__"\} 1$/m);
  t.regex(text, /^arbiter_operations_rejected_total\{code="constructor"\} 2$/m);
  await arbiter.stop();
});

// ─── Counters fed by the core's lifecycle events: the collector alone, on scripted events ───────

const base = (type: string, extra: Record<string, unknown> = {}, target = 't') => ({ type, seq: 0, at: 0, target, ...extra }) as unknown as CollectorEvent;

test('MetricsCollector - grace-period saves, coordinators, promotion, cleanup and arbitration timeouts', async (t) => {
  const now = { t: 0 };
  const collector = new MetricsCollector(resolveMetricsOptions(undefined), fakeSource(now));
  const submitted = (id: string) => collector.observe({ type: 'operation.submitted', seq: 0, at: 0, target: 't', operationId: id, operationType: 'op', priority: 2, effectivePriority: 2 });
  submitted('holder-1');
  submitted('holder-2');
  const protectedBy = (id: string, by: string) => collector.observe(base('operation.protected', { operationId: id, priority: 2, byId: by, byPriority: 10, ageMs: 50, gracePeriodMs: 200 }));
  protectedBy('holder-1', 'w1');
  protectedBy('holder-1', 'w2'); // the same holder protected in a second window: one save
  protectedBy('holder-2', 'w3');
  for (const type of ['coordinator.started', 'coordinator.started', 'coordinator.started']) collector.observe(base(type));
  collector.observe(base('coordinator.stopped', { reason: 'idle' }));
  collector.observe(base('coordinator.failed', { reason: 'boom', rejected: 3 }));
  collector.observe(base('operation.promoted', { operationId: 'x', durationMs: 2, ok: true }));
  collector.observe(base('operation.promoted', { operationId: 'y', durationMs: 4, ok: true }));
  collector.observe(base('operation.promoted', { operationId: 'z', durationMs: 1, ok: false }));
  for (const ms of [1, 3, 5]) collector.observe(base('cleanup.completed', { operationId: 'z', durationMs: ms }));
  collector.observe(base('cleanup.failed', { operationId: 'q', durationMs: 7, error: 'store down' }));
  collector.observe(base('arbitration.timedOut', { candidateIds: ['a', 'b'], timeoutMs: 50 }));
  const m = collector.snapshot();
  t.is(m.gracePeriodSaves, 2);
  t.is(m.coordinatorStarts, 3);
  t.is(m.coordinatorStops, 1);
  t.is(m.coordinatorFailures, 1);
  t.like(m.histograms.promotionTimeMs, { count: 2, sum: 6, max: 4 });
  t.is(m.promotionFailures, 1);
  t.deepEqual(m.cleanup, { succeeded: 3, failed: 1, successRate: 0.75 });
  t.like(m.histograms.cleanupLatencyMs, { count: 4, sum: 16 });
  t.is(m.arbitrationTimeouts, 1);
  t.is(m.metricsErrors, 0);
  const text = await collector.text();
  t.regex(text, /^arbiter_grace_period_saves_total 2$/m);
  t.regex(text, /^arbiter_coordinator_starts_total 3$/m);
  t.regex(text, /^arbiter_coordinator_stops_total 1$/m);
  t.regex(text, /^arbiter_coordinator_failures_total 1$/m);
  t.regex(text, /^arbiter_promotion_time_seconds_sum 0\.006$/m);
  t.regex(text, /^arbiter_promotion_failures_total 1$/m);
  t.regex(text, /^arbiter_cleanup_total\{result="succeeded"\} 3$/m);
  t.regex(text, /^arbiter_cleanup_total\{result="failed"\} 1$/m);
  t.regex(text, /^arbiter_cleanup_success_ratio 0\.75$/m);
  t.regex(text, /^arbiter_cleanup_duration_seconds_count 4$/m);
  t.regex(text, /^arbiter_arbitration_timeouts_total 1$/m);
});

test('MetricsCollector - before any cleanup, the success ratio is NaN rather than 0 or 1', async (t) => {
  const collector = new MetricsCollector(resolveMetricsOptions(undefined), fakeSource({ t: 0 }));
  t.is(collector.snapshot().cleanup.successRate, undefined);
  // prom-client writes `Nan`; Prometheus parses floats case-insensitively.
  t.regex(await collector.text(), /^arbiter_cleanup_success_ratio nan$/im);
});

// ─── The same counters on a real arbiter: the core emits every one of these events ─────────────

/** An arbiter on the injected test clock, recording its events. */
function onTestClock(options: ArbiterOptions = {}) {
  const clock = new ArbiterTestClock();
  const arbiter = createArbiter({ clock, random: () => 0.5, windowMs: 100, ...options });
  const events: ArbiterEvent[] = [];
  arbiter.events$.subscribe((e) => events.push(e));
  return { clock, arbiter, events };
}

/** An `execute` that never settles on its own and ends when aborted. */
const untilAborted = ({ signal }: { signal: AbortSignal }) =>
  new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted'))));

/** An `EntityStore` whose `create` and/or `delete` throw (a record store that is down). */
function failingStore(fail: { create?: boolean; delete?: boolean }): EntityStore {
  const store = createStore();
  return new Proxy(store, {
    get(target, key, receiver) {
      if ((key === 'create' && fail.create) || (key === 'delete' && fail.delete)) {
        return () => {
          throw new Error(`record store down (${String(key)})`);
        };
      }
      const value = Reflect.get(target, key, receiver) as unknown;
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

// The coordinator times `selectWinner` with performance.now(). A selectWinner that moves that
// clock forward is "slow" without any real waiting; serial, so no other test sees the jump.
test.serial('createArbiter({ arbitrationTimeoutMs }) - a selectWinner past its bound: candidates rejected arbitration-failed, counted in metrics() and metricsText()', async (t) => {
  const perf = globalThis.performance;
  const realNow = perf.now.bind(perf);
  let skewMs = 0;
  Object.defineProperty(perf, 'now', { value: () => realNow() + skewMs, configurable: true, writable: true });
  try {
    const selectWinner: SelectWinner = (candidates) => {
      skewMs += 80; // "took" 80 ms
      return defaultSelectWinner(candidates);
    };
    const { clock, arbiter, events } = onTestClock({ selectWinner, arbitrationTimeoutMs: 50 });
    const hs = [2, 8].map((priority) => arbiter.submit({ target: 'acct', priority, execute: () => 'ran' }));
    await advance(clock, 100);
    const results = await Promise.allSettled(hs.map((h) => h.result));
    for (const r of results) {
      t.is(r.status, 'rejected');
      const err = (r as PromiseRejectedResult).reason as OperationRejectedError;
      t.is(err.code, 'arbitration-failed');
      t.regex(err.reason, /past arbitrationTimeoutMs 50/);
    }
    const timedOut = events.filter((e) => e.type === 'arbitration.timedOut');
    t.is(timedOut.length, 1);
    t.like(timedOut[0], { timeoutMs: 50, target: 'acct' });
    const m = arbiter.metrics();
    t.is(m.arbitrationTimeouts, 1);
    t.is(m.rejectedByCode['arbitration-failed'], 2);
    t.is(m.completed, 0);
    t.is(m.unaccounted, 0);
    const text = await arbiter.metricsText();
    t.regex(text, /^arbiter_arbitration_timeouts_total 1$/m);
    t.regex(text, /^arbiter_operations_rejected_total\{code="arbitration-failed"\} 2$/m);
    // The same 80 ms selectWinner inside a larger bound decides normally.
    const fastClock = new ArbiterTestClock();
    const fast = createArbiter({ clock: fastClock, windowMs: 100, arbitrationTimeoutMs: 500, selectWinner });
    const h = fast.submit({ target: 'acct', execute: () => 'ran' });
    await advance(fastClock, 100);
    t.is(await h.result, 'ran');
    t.is(fast.metrics().arbitrationTimeouts, 0);
    await fast.stop();
    await arbiter.stop();
  } finally {
    delete (perf as { now?: unknown }).now;
  }
  t.is(typeof globalThis.performance.now(), 'number');
});

test(".metrics() with whileExecuting: 'preempt' - a holder inside its grace period is saved once, then preempted after it", async (t) => {
  const { clock, arbiter, events } = onTestClock({ whileExecuting: 'preempt', gracePeriodMs: 200 });
  const low = arbiter.submit({ target: 'doc', type: 'edit', priority: Priority.LOW, execute: untilAborted });
  await advance(clock, 100); // low wins and starts executing at t = 100
  const critical = arbiter.submit({ target: 'doc', type: 'fix', priority: Priority.CRITICAL, execute: () => 'fixed' });
  await advance(clock, 100); // t = 200: low is 100 ms old, inside its 200 ms grace period
  t.is(low.status(), 'executing');
  let m = arbiter.metrics();
  t.is(m.gracePeriodSaves, 1);
  t.is(m.preemptions, 0);
  t.regex(await arbiter.metricsText(), /^arbiter_grace_period_saves_total 1$/m);
  await advance(clock, 100); // t = 300: 200 ms old, the grace period is over
  t.is(await critical.result, 'fixed');
  await t.throwsAsync(low.result, { message: /preempt/i });
  const protectedEvents = events.filter((e) => e.type === 'operation.protected');
  t.true(protectedEvents.length >= 1);
  t.like(protectedEvents[0], { operationId: low.id, byId: critical.id, gracePeriodMs: 200 });
  m = arbiter.metrics();
  t.is(m.gracePeriodSaves, 1, 'one holder saved, however many windows it was protected in');
  t.is(m.preemptions, 1);
  t.is(m.rejectedByCode.preempted, 1);
  t.is(m.unaccounted, 0);
  const text = await arbiter.metricsText();
  t.regex(text, /^arbiter_grace_period_saves_total 1$/m);
  t.regex(text, /^arbiter_preemptions_total 1$/m);
  t.regex(text, /^arbiter_operations_rejected_total\{code="preempted"\} 1$/m);
  await arbiter.stop();
});

test('.metrics() with a record store - promotion time per winner, and a promotion that fails counted', async (t) => {
  const { clock, arbiter } = onTestClock({ store: createStore() });
  const hs = ['a', 'b'].map((target) => arbiter.submit({ target, execute: () => 1 }));
  await advance(clock, 100);
  await Promise.all(hs.map((h) => h.result));
  const m = arbiter.metrics();
  t.is(m.promoted, 2);
  t.is(m.histograms.promotionTimeMs.count, 2);
  t.true(m.histograms.promotionTimeMs.sum >= 0);
  t.is(m.promotionFailures, 0);
  t.regex(await arbiter.metricsText(), /^arbiter_promotion_time_seconds_count 2$/m);
  await arbiter.stop();

  const down = onTestClock({ store: createStore(), recordStore: failingStore({ create: true }), onStoreError: () => {} });
  const h = down.arbiter.submit({ target: 'a', execute: () => 'still ran' });
  await advance(down.clock, 100);
  t.is(await h.result, 'still ran', 'the operation goes on without a record');
  const d = down.arbiter.metrics();
  t.is(d.promotionFailures, 1);
  t.is(d.histograms.promotionTimeMs.count, 0);
  const text = await down.arbiter.metricsText();
  t.regex(text, /^arbiter_promotion_failures_total 1$/m);
  t.regex(text, /^arbiter_promotion_time_seconds_count 0$/m);
  await down.arbiter.stop();
});

test('.metrics() - coordinators started, stopped when idle and at stop()', async (t) => {
  const { clock, arbiter, events } = onTestClock({ idleCoordinatorMs: 1000 });
  const a = arbiter.submit({ target: 'a', execute: () => 1 });
  const b = arbiter.submit({ target: 'b', execute: () => 1 });
  await advance(clock, 100);
  await Promise.all([a.result, b.result]);
  let m = arbiter.metrics();
  t.is(m.coordinatorStarts, 2);
  t.is(m.coordinatorStops, 0);
  t.is(m.coordinators, 2);
  await advance(clock, 1000); // both idle for idleCoordinatorMs
  m = arbiter.metrics();
  t.is(m.coordinatorStops, 2);
  t.is(m.coordinators, 0);
  t.deepEqual(events.filter((e) => e.type === 'coordinator.stopped').map((e) => (e as { reason: string }).reason), ['idle', 'idle']);
  arbiter.submit({ target: 'a', execute: () => 1 }); // a new coordinator for a
  t.is(arbiter.metrics().coordinatorStarts, 3);
  let text = await arbiter.metricsText();
  t.regex(text, /^arbiter_coordinator_starts_total 3$/m);
  t.regex(text, /^arbiter_coordinator_stops_total 2$/m);
  t.regex(text, /^arbiter_coordinator_failures_total 0$/m);
  await arbiter.stop(); // events$ completes at stop(): metrics() is its fold up to there
  t.is(events.filter((e) => e.type === 'coordinator.stopped').length, 3);
  t.is(arbiter.metrics().coordinatorStops, 3);
  text = await arbiter.metricsText();
  t.regex(text, /^arbiter_coordinator_stops_total 3$/m);
});

test('.metrics() - cleanup of zombie store records: successes, failures of the record store, latency', async (t) => {
  const failing = async () => {
    throw new Error('card declined');
  };
  // A zombie: it won (its record entered the record store), then ended execution-failed. In a
  // record store of yours, only zombie records are removed; the completed one stays.
  const records = createStore();
  const ok = onTestClock({ store: createStore(), recordStore: records, cleanup: { strategy: 'immediate' } });
  const z1 = ok.arbiter.submit({ target: 'a', execute: failing });
  const z2 = ok.arbiter.submit({ target: 'b', execute: failing });
  const fine = ok.arbiter.submit({ target: 'c', execute: () => 1 });
  await advance(ok.clock, 100);
  await Promise.allSettled([z1.result, z2.result, fine.result]);
  await flush();
  let m = ok.arbiter.metrics();
  t.is(m.zombies, 2);
  t.deepEqual(m.cleanup, { succeeded: 2, failed: 0, successRate: 1 });
  t.is(m.histograms.cleanupLatencyMs.count, 2);
  let text = await ok.arbiter.metricsText();
  t.regex(text, /^arbiter_cleanup_total\{result="succeeded"\} 2$/m);
  t.regex(text, /^arbiter_cleanup_total\{result="failed"\} 0$/m);
  t.regex(text, /^arbiter_cleanup_success_ratio 1$/m);
  t.regex(text, /^arbiter_cleanup_duration_seconds_count 2$/m);
  t.is(records.size, 1);
  await ok.arbiter.stop();

  // In a record store of the arbiter's own (the audit trail only), every record leaves with its
  // audit record: the completed one is removed too.
  const owned = onTestClock({ store: createStore(), cleanup: { strategy: 'immediate' } });
  const hs = [owned.arbiter.submit({ target: 'a', execute: failing }), owned.arbiter.submit({ target: 'b', execute: () => 1 })];
  await advance(owned.clock, 100);
  await Promise.allSettled(hs.map((h) => h.result));
  await flush();
  t.deepEqual(owned.arbiter.metrics().cleanup, { succeeded: 2, failed: 0, successRate: 1 });
  t.is(owned.arbiter.recordStore?.size, 0);
  await owned.arbiter.stop();

  // The same with a record store whose delete throws: counted failed, and nothing else breaks.
  const down = onTestClock({ store: createStore(), recordStore: failingStore({ delete: true }), cleanup: { strategy: 'immediate' } });
  const z3 = down.arbiter.submit({ target: 'a', execute: failing });
  const after = down.arbiter.submit({ target: 'b', execute: () => 'fine' });
  await advance(down.clock, 100);
  await t.throwsAsync(z3.result, { message: /card declined/ });
  t.is(await after.result, 'fine');
  await flush();
  const failedEvents = down.events.filter((e) => e.type === 'cleanup.failed');
  t.is(failedEvents.length, 1);
  t.like(failedEvents[0], { operationId: z3.id, error: 'record store down (delete)' });
  m = down.arbiter.metrics();
  t.deepEqual(m.cleanup, { succeeded: 0, failed: 1, successRate: 0 });
  t.is(m.histograms.cleanupLatencyMs.count, 1, 'a failed removal is timed too');
  t.is(m.unaccounted, 0);
  text = await down.arbiter.metricsText();
  t.regex(text, /^arbiter_cleanup_total\{result="failed"\} 1$/m);
  t.regex(text, /^arbiter_cleanup_success_ratio 0$/m);
  t.regex(text, /^arbiter_cleanup_duration_seconds_count 1$/m);
  await down.arbiter.stop();
});

// ─── The application's own prom-client registry ───────────────────────────────────────────────

test('createArbiter({ metrics: { registry } }) - the metrics are served by the application registry', async (t) => {
  const registry = new client.Registry();
  new client.Counter({ name: 'app_requests_total', help: 'the application metric', registers: [registry] });
  const { clock, arbiter } = setup({ metrics: { registry } });
  // Registered when createArbiter returns: a scrape right away sees them.
  t.regex(await registry.metrics(), /^arbiter_operations_submitted_total 0$/m);
  const hs = [2, 8].map((priority) => arbiter.submit({ target: 'acct', priority, execute: () => 1 }));
  await advance(clock, 100);
  await Promise.allSettled(hs.map((h) => h.result));
  const text = await registry.metrics();
  t.regex(text, /^app_requests_total 0$/m);
  t.regex(text, /^arbiter_operations_submitted_total 2$/m);
  t.regex(text, /^arbiter_operations_rejected_total\{code="lost-arbitration"\} 1$/m);
  // Histogram observations waiting in the reservoir reach the application's scrape too.
  t.regex(text, /^arbiter_decision_latency_seconds_count 2$/m);
  t.notRegex(await arbiter.metricsText(), /app_requests_total/, 'metricsText() stays the arbiter alone');
  await arbiter.stop();
});

test('createArbiter({ metrics: { registry } }) - a name already taken is refused and the registry is left as it was', (t) => {
  const registry = new client.Registry();
  const first = createArbiter({ clock: new SimulatedClock(), metrics: { registry } });
  const names = registry.getMetricsAsArray().length;
  const expected = new MetricsCollector(resolveMetricsOptions(undefined), fakeSource({ t: 0 })).metricNames();
  t.deepEqual(registry.getMetricsAsArray().map((m) => m.name).sort(), [...expected].sort(), 'the names checked are the names registered');
  const err = t.throws(() => createArbiter({ clock: new SimulatedClock(), metrics: { registry } }), { instanceOf: ArbiterInputError });
  t.is(err!.field, 'metrics.registry');
  t.regex(err!.message, /arbiter_operations_submitted_total/);
  t.is(registry.getMetricsAsArray().length, names);
  const second = createArbiter({ clock: new SimulatedClock(), metrics: { registry, prefix: 'second_' } });
  t.is(registry.getMetricsAsArray().length, names * 2);
  void first.stop();
  void second.stop();
});

// ─── Any string as a key: targets, types and codes ─────────────────────────────────────────────

const nasty = fc.oneof(
  fc.constantFrom('__proto__', 'constructor', 'hasOwnProperty', 'toString', 'valueOf', 'a"b', 'a\\b', 'a\nb', '\\"\n', '}', 'x,y=z'),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 12 }),
);

/** Prometheus text format: a label value escapes backslash, double quote and line feed. */
const promEscape = (s: string) => s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
const reEscape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const SAMPLE = /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"(,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*")*\})? [-+0-9.eEInfNa]+$/;

function assertExposition(t: import('ava').ExecutionContext, text: string): void {
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('# ')) continue;
    if (!SAMPLE.test(line)) t.fail(`not a Prometheus sample line: ${JSON.stringify(line)}`);
  }
}

test('.metrics() and .metricsText() - any string is a target and an operation type (property)', async (t) => {
  await t.notThrowsAsync(fc.assert(
    fc.asyncProperty(nasty, nasty, async (target, type) => {
      const { clock, arbiter } = setup();
      arbiter.submit({ target, type, priority: 2, execute: () => 1 });
      arbiter.submit({ target, type, priority: 8, execute: () => 1 });
      const staged = arbiter.metrics().stagedByTarget;
      const text1 = await arbiter.metricsText();
      await advance(clock, 100);
      await arbiter.onIdle();
      const m = arbiter.metrics();
      const text2 = await arbiter.metricsText();
      await arbiter.stop();
      const ok =
        Object.keys(staged).length === 1 &&
        Object.prototype.hasOwnProperty.call(staged, target) &&
        staged[target] === 2 &&
        Object.keys(m.byType).length === 1 &&
        Object.prototype.hasOwnProperty.call(m.byType, type) &&
        m.byType[type]!.submitted === 2 &&
        m.byType[type]!.won === 1 &&
        new RegExp(`^arbiter_staged_by_target\\{target="${reEscape(promEscape(target))}"\\} 2$`, 'm').test(text1) &&
        new RegExp(`^arbiter_operations_by_type_total\\{operation_type="${reEscape(promEscape(type))}",stage="submitted"\\} 2$`, 'm').test(text2);
      if (!ok) t.log({ target, type, staged, byType: m.byType });
      assertExposition(t, text1);
      assertExposition(t, text2);
      return ok;
    }),
    { numRuns: 60 },
  ));
});

test('MetricsCollector - any string is a rejection code, in rejectedByCode and the Prometheus text (property)', async (t) => {
  await t.notThrowsAsync(fc.assert(
    fc.asyncProperty(fc.uniqueArray(nasty, { minLength: 1, maxLength: 4 }), async (codes) => {
      const collector = new MetricsCollector(resolveMetricsOptions(undefined), fakeSource({ t: 0 }));
      codes.forEach((code, i) => {
        for (let k = 0; k <= i; k++) {
          collector.observe({ type: 'operation.rejected', seq: 0, at: 0, target: 't', operationId: `${i}.${k}`, priority: 5, code: code as never, reason: 'r', attempt: 0, durationMs: 1, won: false, from: 'staged', operationType: 'op' });
        }
      });
      const byCode = collector.snapshot().rejectedByCode;
      const text = await collector.text();
      assertExposition(t, text);
      return codes.every(
        (code, i) =>
          Object.prototype.hasOwnProperty.call(byCode, code) &&
          byCode[code] === i + 1 &&
          new RegExp(`^arbiter_operations_rejected_total\\{code="${reEscape(promEscape(code))}"\\} ${i + 1}$`, 'm').test(text),
      );
    }),
    { numRuns: 100 },
  ));
});
