import test from 'ava';
import client from 'prom-client';
import { SimulatedClock } from 'xstate';
import { MetricsCollector, resolveMetricsOptions } from '../../actors/metrics.js';
import {
  ArbiterInputError,
  createArbiter,
  createStore,
  OccConflictError,
  Priority,
  type ArbiterEvent,
  type ArbiterOptions,
  type CoreMetrics,
} from '../../src/index.js';
import { advance } from '../helpers/index.js';


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
  t.regex(text, /^shop_decision_latency_milliseconds_count\{service="cart"\} 6$/m);
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
