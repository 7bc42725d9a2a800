import test from 'ava';
import { SimulatedClock } from 'xstate';
import { HealthMonitor, resolveHealthOptions, type HealthSource } from '../../actors/health.js';
import { ArbiterInputError, createArbiter, createStore, Priority, type ArbiterEvent, type ArbiterOptions } from '../../src/index.js';

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

async function advance(clock: SimulatedClock, ms: number): Promise<void> {
  clock.increment(ms);
  await flush();
  await flush();
}

const MB = 1024 * 1024;

function setup(options: ArbiterOptions = {}) {
  const clock = new SimulatedClock();
  const arbiter = createArbiter({
    clock,
    random: () => 0.5,
    windowMs: 100,
    ...options,
    health: { memoryUsage: () => 50 * MB, ...options.health },
  });
  return { clock, arbiter };
}

const BUILT_IN = ['stagingSize', 'resolutionLatency', 'successRate', 'conflictRate', 'memory', 'zombieCount', 'oldestZombieAge', 'coordinatorsAlive'];

test('.health() - healthy: every check passes, with the default thresholds', async (t) => {
  const { clock, arbiter } = setup();
  const hs = [2, 8].map((priority) => arbiter.submit({ target: 'a', priority, execute: () => 1 }));
  arbiter.submit({ target: 'b', execute: () => 1 });
  await advance(clock, 100);
  await Promise.allSettled(hs.map((h) => h.result));
  const report = arbiter.health();
  t.is(report.status, 'healthy');
  t.deepEqual(Object.keys(report.checks), BUILT_IN);
  t.deepEqual(report.failed, []);
  t.like(report.checks.memory, { healthy: true, value: 50, threshold: 1000 });
  t.like(report.checks.successRate, { healthy: true, value: 1, threshold: 0.9 });
  // 1 of 3 final operations lost a conflict.
  t.like(report.checks.conflictRate, { healthy: true, threshold: 0.8 });
  t.is(report.checks.conflictRate!.value, 1 / 3);
  t.like(report.checks.stagingSize, { healthy: true, value: 0, threshold: 1000 });
  t.like(report.checks.zombieCount, { healthy: true, value: 0, threshold: 1000 });
  t.is(report.clockAt, 100);
  await arbiter.stop();
});

test('.health() - at is a wall-clock timestamp, clockAt the arbiter clock', async (t) => {
  const { clock, arbiter } = setup();
  await advance(clock, 250);
  const before = Date.now();
  const report = arbiter.health();
  const after = Date.now();
  t.true(report.at >= before && report.at <= after, `${report.at} within [${before}, ${after}]`);
  t.is(report.clockAt, 250);
  t.is(new Date(report.at).getUTCFullYear() >= 2024, true, 'epoch milliseconds, not a monotonic clock');
  await arbiter.stop();
});

test('.health() - a custom check may have any name, __proto__ and constructor included', async (t) => {
  // What JSON.parse gives for a config file: `__proto__` as an own key. Functions replace the values.
  const checks = JSON.parse('{"__proto__": 0, "constructor": 0}') as Record<string, unknown>;
  Object.defineProperty(checks, '__proto__', { value: () => ({ healthy: false, message: 'proto check' }) });
  checks['constructor'] = () => true;
  const { arbiter } = setup({ health: { checks: checks as never } });
  const report = arbiter.health();
  t.true(Object.prototype.hasOwnProperty.call(report.checks, '__proto__'));
  t.like(report.checks['__proto__'], { healthy: false, message: 'proto check' });
  t.like(report.checks['constructor'], { healthy: true });
  t.deepEqual(report.failed, ['__proto__']);
  t.is(Object.getPrototypeOf(report.checks), Object.prototype);
  await arbiter.stop();
});

test('.health() - degraded: fewer than half the checks fail (staging size)', async (t) => {
  const { arbiter } = setup({ health: { thresholds: { maxStaged: 3 } } });
  for (let i = 0; i < 3; i++) arbiter.submit({ target: `t${i}`, execute: () => 1 });
  const report = arbiter.health();
  t.is(report.status, 'degraded');
  t.deepEqual(report.failed, ['stagingSize']);
  t.like(report.checks.stagingSize, { healthy: false, value: 3, threshold: 3 });
  await arbiter.stop();
});

test('.health() - unhealthy: half or more fail (failing executions, conflicts, zombies, memory)', async (t) => {
  const store = createStore();
  const { clock, arbiter } = setup({
    store,
    gracePeriodMs: 50,
    health: { thresholds: { maxZombies: 0, maxZombieAgeMs: 1000, maxMemoryMb: 10 } },
  });
  // A winner that is preempted (a zombie), losers (conflicts), and an execution that fails.
  const low = arbiter.submit({ target: 'z', priority: Priority.LOW, execute: ({ signal }) => new Promise((_, rej) => signal.addEventListener('abort', () => rej(new Error('aborted')))) });
  const losers = [1, 1, 1].map(() => arbiter.submit({ target: 'z', priority: Priority.BACKGROUND, execute: () => 1 }));
  await advance(clock, 200);
  const high = arbiter.submit({ target: 'z', priority: Priority.HIGH, execute: () => { throw new Error('boom'); } });
  await advance(clock, 100);
  await Promise.allSettled([low.result, high.result, ...losers.map((h) => h.result)]);
  await advance(clock, 2000);
  const report = arbiter.health();
  t.is(report.status, 'unhealthy');
  t.deepEqual(report.failed, ['successRate', 'memory', 'zombieCount', 'oldestZombieAge']);
  t.like(report.checks.successRate, { healthy: false, value: 0 });
  // Both winners ended rejected after promotion: the preempted one and the failed one (at t=300).
  t.like(report.checks.zombieCount, { healthy: false, value: 2 });
  t.like(report.checks.oldestZombieAge, { healthy: false, value: 2000 });
  await arbiter.stop();
});

test('.health() - conflict rate and resolution latency fail past their thresholds', async (t) => {
  const { clock, arbiter } = setup({ health: { thresholds: { maxConflictRate: 0.5, maxResolutionMs: 0 } } });
  const hs = [1, 2, 3, 4].map((priority) => arbiter.submit({ target: 'hot', priority, execute: () => 1 }));
  await advance(clock, 100);
  await Promise.allSettled(hs.map((h) => h.result));
  const report = arbiter.health();
  t.like(report.checks.conflictRate, { healthy: false, value: 0.75 });
  t.is(report.checks.resolutionLatency!.healthy, report.checks.resolutionLatency!.value === 0);
  t.is(report.status, 'degraded');
  await arbiter.stop();
});

test('.health() - a stopped arbiter fails coordinatorsAlive', async (t) => {
  const { arbiter } = setup();
  t.is(arbiter.health().checks.coordinatorsAlive!.healthy, true);
  await arbiter.stop();
  const report = arbiter.health();
  t.like(report.checks.coordinatorsAlive, { healthy: false, message: 'the arbiter is stopped' });
  t.is(report.status, 'degraded');
});

test('.health() - a check that throws is reported failed, not the whole call', async (t) => {
  const { arbiter } = setup({
    health: {
      memoryUsage: () => {
        throw new Error('no procfs');
      },
      checks: {
        database: () => ({ healthy: true, message: '3 idle connections' }),
        cache: () => {
          throw new Error('redis unreachable');
        },
        queue: () => false,
        weird: () => 'yes' as never,
      },
    },
  });
  const report = arbiter.health();
  t.like(report.checks.memory, { healthy: false, message: 'check threw: no procfs' });
  t.like(report.checks.database, { healthy: true, message: '3 idle connections' });
  t.like(report.checks.cache, { healthy: false, message: 'check threw: redis unreachable' });
  t.like(report.checks.queue, { healthy: false, message: 'failed' });
  t.is(report.checks.weird!.healthy, false);
  t.deepEqual(report.failed, ['memory', 'cache', 'queue', 'weird']);
  t.is(Object.keys(report.checks).length, 12);
  t.is(report.status, 'degraded', '4 of 12 failed');
  await arbiter.stop();
});

test('.health() - without an injected measure, memory reads the process heap', async (t) => {
  const arbiter = createArbiter({ clock: new SimulatedClock() });
  const memory = arbiter.health().checks.memory!;
  t.true(memory.healthy);
  t.true(typeof memory.value === 'number' && memory.value > 0);
  await arbiter.stop();
});

test('createArbiter() - rejects bad health options', (t) => {
  const cases: Array<[unknown, string]> = [
    ['strict', 'health'],
    [{ thresholds: 'low' }, 'health.thresholds'],
    [{ thresholds: { maxStaged: -1 } }, 'health.thresholds.maxStaged'],
    [{ thresholds: { minSuccessRate: 1.5 } }, 'health.thresholds.minSuccessRate'],
    [{ thresholds: { maxLatency: 5 } }, 'health.thresholds.maxLatency'],
    [{ checks: { db: 'ping' } }, 'health.checks.db'],
    [{ checks: { memory: () => true } }, 'health.checks.memory'],
    [{ memoryUsage: 42 }, 'health.memoryUsage'],
  ];
  for (const [health, field] of cases) {
    const err = t.throws(() => createArbiter({ health } as unknown as ArbiterOptions), { instanceOf: ArbiterInputError });
    t.is(err!.field, field);
  }
});

// ─── coordinatorsAlive with a step before staging (fed events$) ─────────────────────────────────

function monitorSource(orphaned: string[]): HealthSource {
  return {
    now: () => 0,
    wallNow: () => 1_700_000_000_000,
    stopped: () => false,
    staged: () => 1,
    resolutionP99Ms: () => undefined,
    executionSuccessRate: () => undefined,
    conflictLossRate: () => undefined,
    zombieCount: () => 0,
    oldestZombieAt: () => undefined,
    orphanedTargets: () => orphaned,
  };
}

const ev = (type: string, operationId: string, extra: Record<string, unknown> = {}) =>
  ({ type, seq: 0, at: 0, target: 'doc', operationId, ...extra }) as unknown as ArbiterEvent;

test('HealthMonitor.observe() - an operation waiting in a step before staging is no orphan; a staged one is', (t) => {
  // The core reports `doc` without a coordinator: its operation is admitted, not yet staged.
  const options = resolveHealthOptions({ memoryUsage: () => MB });
  const monitor = new HealthMonitor(options, monitorSource(['doc']));
  monitor.observe(ev('operation.submitted', 'op1', { operationType: 'publish', priority: 5, effectivePriority: 5 }));
  let report = monitor.check();
  t.like(report.checks.coordinatorsAlive, { healthy: true, value: 0 });
  t.is(report.status, 'healthy');
  t.is(report.at, 1_700_000_000_000);
  // Once it is really staged and still has no coordinator, that is a fault.
  monitor.observe(ev('operation.staged', 'op1', { priority: 5, effectivePriority: 5 }));
  report = monitor.check();
  t.like(report.checks.coordinatorsAlive, { healthy: false, value: 1, message: 'no running coordinator for doc' });
  t.is(report.status, 'degraded');
  // Won (it left the window): fine again.
  monitor.observe(ev('operation.started', 'op1', { priority: 5, attempt: 1 }));
  t.is(monitor.check().checks.coordinatorsAlive!.healthy, true);
  // Staged again under another id, then rejected: fine.
  monitor.observe(ev('operation.staged', 'op2', { priority: 5, effectivePriority: 5 }));
  t.is(monitor.check().checks.coordinatorsAlive!.healthy, false);
  monitor.observe(ev('operation.rejected', 'op2', { priority: 5, code: 'cancelled', reason: 'x', attempt: 0, durationMs: 1, won: false }));
  t.is(monitor.check().checks.coordinatorsAlive!.healthy, true);
});

test('HealthMonitor.observe() - a window winner leaves the staged view with conflict.resolved', (t) => {
  const monitor = new HealthMonitor(resolveHealthOptions({ memoryUsage: () => MB }), monitorSource(['doc']));
  monitor.observe(ev('operation.staged', 'a', { priority: 5, effectivePriority: 5 }));
  monitor.observe(ev('operation.staged', 'b', { priority: 8, effectivePriority: 8 }));
  monitor.observe({ type: 'conflict.resolved', seq: 0, at: 0, target: 'doc', candidateIds: ['a', 'b'], winnerId: 'b', loserIds: ['a'], decision: 'start', durationMs: 0 });
  monitor.observe(ev('operation.rejected', 'a', { priority: 5, code: 'lost-arbitration', reason: 'x', attempt: 0, durationMs: 1, won: false }));
  t.is(monitor.check().checks.coordinatorsAlive!.healthy, true);
});

test('HealthMonitor - not fed events, it reports every target the core names', (t) => {
  const monitor = new HealthMonitor(resolveHealthOptions({ memoryUsage: () => MB }), monitorSource(['doc']));
  t.like(monitor.check().checks.coordinatorsAlive, { healthy: false, message: 'no running coordinator for doc' });
});

test("health: { refuseWhenUnhealthy } - while unhealthy, new submissions are refused circuit-open naming the failed checks; rechecked every recheckMs", async (t) => {
  const { SimulatedClock } = await import('xstate');
  const clock = new SimulatedClock();
  let heap = 5_000;
  const arbiter = createArbiter({
    clock,
    health: { refuseWhenUnhealthy: true, recheckMs: 500, memoryUsage: () => heap * 1024 * 1024, checks: { db: () => heap < 2_000 } },
  });
  // Two of nine checks fail (memory over 1000 MB, the custom db check): degraded, still admitted.
  const ok = arbiter.submit({ target: 'a', execute: () => 'fine' });
  t.is(arbiter.health().status, 'degraded');
  clock.increment(100);
  t.is(await ok.result, 'fine');
  // Unhealthy: make more than half fail.
  const failing = createArbiter({
    clock,
    health: {
      refuseWhenUnhealthy: true,
      recheckMs: 500,
      memoryUsage: () => heap * 1024 * 1024,
      // 8 built-in checks and 6 of these: memory and all 6 fail, 7 of 14, which is unhealthy.
      checks: { db: () => heap < 2_000, cache: () => heap < 2_000, queue: () => heap < 2_000, search: () => heap < 2_000, mail: () => heap < 2_000, payments: () => heap < 2_000 },
    },
  });
  t.is(failing.health().status, 'unhealthy');
  const refused = failing.submit({ target: 'a', execute: () => 'never' });
  const err = (await refused.result.catch((e: unknown) => e)) as { code: string; reason: string };
  t.is(err.code, 'circuit-open');
  t.regex(err.reason, /health is unhealthy \(failed: memory, db, cache, queue, search, mail, payments\)/);
  heap = 100; // recovered, but the verdict is reused for recheckMs
  const stillRefused = failing.submit({ target: 'a', execute: () => 'never' });
  t.is(await stillRefused.result.catch((e: { code: string }) => e.code), 'circuit-open');
  clock.increment(500);
  const admitted = failing.submit({ target: 'a', execute: () => 'again' });
  clock.increment(100);
  t.is(await admitted.result, 'again');
  const m = failing.metrics();
  t.is(m.submitted, m.completed + m.rejected + m.inFlight);
  t.is(m.rejectedByCode['circuit-open'], 2);
  t.throws(() => createArbiter({ health: { refuseWhenUnhealthy: 'yes' as never } }), { message: /health.refuseWhenUnhealthy/ });
  await arbiter.stop();
  await failing.stop();
});
