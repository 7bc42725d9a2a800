import test from 'ava';
import { createActor, SimulatedClock, type SnapshotFrom } from 'xstate';
import { getShortestPaths } from 'xstate/graph';
import { breakerMachine, type BreakerEvent } from '../../machines/breaker.machine.js';
import { ArbiterInputError, createArbiter, type ArbiterOptions, type OperationHandle } from '../../src/index.js';

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

async function advance(clock: SimulatedClock, ms: number): Promise<void> {
  clock.increment(ms);
  await flush();
  await flush();
}

type Snap = SnapshotFrom<typeof breakerMachine>;
const OPTIONS = { minimumExecutions: 2, failureRateThreshold: 0.5, halfOpenProbes: 1, openMs: 1000, rollingWindowMs: 10_000 };
const COOLDOWN: string = breakerMachine.states['open']!.after[0]!.eventType;
const key = (s: Snap) => `${String(s.value)} probes=${s.context.probes} executions=${s.context.executions} failures=${s.context.failures}`;

test('breakerMachine - model: every shortest path of the state graph replays on a real actor and clock', (t) => {
  t.is(COOLDOWN, 'xstate.after.cooldown.breaker.open' as string);
  const events = [
    { type: 'execution.failed', at: 0 },
    { type: 'execution.succeeded', at: 0 },
    { type: 'probe.admitted' },
    { type: 'probe.succeeded' },
    { type: 'probe.failed' },
    { type: 'probe.released' },
    { type: 'breaker.trip' },
    { type: 'breaker.reset' },
    { type: COOLDOWN },
  ] as unknown as BreakerEvent[];
  const paths = getShortestPaths(breakerMachine, {
    input: { options: OPTIONS },
    events,
    serializeState: (s) => key(s as Snap),
    // Bound the window counts (and the probes) so the graph is finite.
    filterEvents: (s, e) =>
      !(e.type.startsWith('execution.') && (s as Snap).context.executions >= 3) &&
      !(e.type === 'probe.admitted' && (s as Snap).context.probes >= OPTIONS.halfOpenProbes),
  });
  // A changed machine changes this number: look at the new graph before updating it.
  t.is(paths.length, 34);
  const reached = new Set(paths.map((p) => String(p.state.value)));
  t.deepEqual([...reached].sort(), ['closed', 'halfOpen', 'open']);
  for (const path of paths) {
    const clock = new SimulatedClock();
    const actor = createActor(breakerMachine, { input: { options: OPTIONS }, clock }).start();
    for (const step of path.steps) {
      const e = step.event as BreakerEvent | { type: string };
      if (e.type === 'xstate.init') continue;
      if (e.type === COOLDOWN) clock.increment(OPTIONS.openMs);
      else actor.send(e as BreakerEvent);
      t.is(key(actor.getSnapshot()), key(step.state as Snap), path.steps.map((s) => s.event.type).join(' > '));
    }
    actor.stop();
  }
});

test('breakerMachine - opens only past the threshold with enough executions, and the window rolls', (t) => {
  const actor = createActor(breakerMachine, { input: { options: { minimumExecutions: 10, failureRateThreshold: 0.1, rollingWindowMs: 1000 } } }).start();
  // 1 failure in 10 executions is 10 %: not past 0.1.
  for (let i = 0; i < 9; i++) actor.send({ type: 'execution.succeeded', at: 0 });
  actor.send({ type: 'execution.failed', at: 0 });
  t.is(actor.getSnapshot().value, 'closed');
  // The window rolls: at t=2000 the earlier outcomes are gone, 1 failure of 1 is below minimumExecutions.
  actor.send({ type: 'execution.failed', at: 2000 });
  t.is(actor.getSnapshot().context.executions, 1);
  t.is(actor.getSnapshot().value, 'closed');
  for (let i = 0; i < 8; i++) actor.send({ type: 'execution.succeeded', at: 2000 });
  actor.send({ type: 'execution.failed', at: 2000 });
  t.is(actor.getSnapshot().context.executions, 10);
  t.is(actor.getSnapshot().value, 'open', '2 failures in 10 executions passes 10 %');
  t.is(actor.getSnapshot().context.trips, 1);
});

function setup(options: ArbiterOptions = {}) {
  const clock = new SimulatedClock();
  const logs: Array<[string, object, string]> = [];
  const logger = {
    debug: (o: object, m?: string) => logs.push(['debug', o, m ?? '']),
    info: (o: object, m?: string) => logs.push(['info', o, m ?? '']),
    warn: (o: object, m?: string) => logs.push(['warn', o, m ?? '']),
    error: (o: object, m?: string) => logs.push(['error', o, m ?? '']),
  };
  const arbiter = createArbiter({
    clock,
    random: () => 0.5,
    windowMs: 10,
    logger,
    breaker: { minimumExecutions: 4, failureRateThreshold: 0.5, openMs: 1000, rollingWindowMs: 60_000 },
    ...options,
  });
  return { clock, arbiter, logs };
}

const code = (h: OperationHandle) => h.result.then(() => 'completed', (e: { code: string }) => e.code);

async function fail(arbiter: ReturnType<typeof setup>['arbiter'], clock: SimulatedClock, target: string) {
  const h = arbiter.submit({ target, execute: () => { throw new Error('downstream 503'); } });
  await advance(clock, 10);
  return code(h);
}

test('createArbiter({ breaker }) - open: submissions are rejected circuit-open at once, and still accounted', async (t) => {
  const { clock, arbiter, logs } = setup();
  for (let i = 0; i < 4; i++) t.is(await fail(arbiter, clock, `t${i}`), 'execution-failed');
  t.is(arbiter.breaker?.state, 'open');
  t.deepEqual(logs.filter(([level]) => level === 'warn').map(([, , msg]) => msg), ['arbiter circuit breaker opened']);
  const h = arbiter.submit({ target: 'x', execute: () => 'never' });
  t.is(h.status(), 'rejected');
  const err = await h.result.catch((e: { code: string; reason: string }) => e);
  t.like(err, { code: 'circuit-open' });
  t.regex((err as { reason: string }).reason, /circuit breaker is open/);
  const m = arbiter.metrics();
  t.is(m.submitted, 5);
  t.is(m.rejectedByCode['circuit-open'], 1);
  t.is(m.unaccounted, 0);
  t.is(arbiter.operations.get(h.id)?.code, 'circuit-open');
  await arbiter.stop();
});

test('createArbiter({ breaker }) - half-open: one probe; its success closes the circuit', async (t) => {
  const { clock, arbiter, logs } = setup();
  for (let i = 0; i < 4; i++) await fail(arbiter, clock, `t${i}`);
  await advance(clock, 1000);
  t.is(arbiter.breaker?.state, 'halfOpen');
  const probe = arbiter.submit({ target: 'p', execute: () => 'ok' });
  const second = arbiter.submit({ target: 'q', execute: () => 'ok' });
  t.is(await code(second), 'circuit-open', 'the only probe slot is taken');
  await advance(clock, 10);
  t.is(await code(probe), 'completed');
  t.is(arbiter.breaker?.state, 'closed');
  t.true(logs.some(([level, , msg]) => level === 'info' && msg === 'arbiter circuit breaker closed'));
  const after = arbiter.submit({ target: 'q', execute: () => 'ok' });
  await advance(clock, 10);
  t.is(await code(after), 'completed');
  t.is(arbiter.breaker?.status().executions, 1, 'a fresh window after closing');
  await arbiter.stop();
});

test('createArbiter({ breaker }) - half-open: a failed probe opens it again; a probe that never executes frees its slot', async (t) => {
  const { clock, arbiter } = setup();
  for (let i = 0; i < 4; i++) await fail(arbiter, clock, `t${i}`);
  await advance(clock, 1000);
  t.is(await fail(arbiter, clock, 'probe-1'), 'execution-failed');
  t.is(arbiter.breaker?.state, 'open');
  t.is(arbiter.breaker?.status().trips, 2);
  await advance(clock, 1000);
  const cancelled = arbiter.submit({ target: 'p', execute: () => 'ok' });
  t.true(cancelled.cancel());
  t.is(arbiter.breaker?.state, 'halfOpen');
  t.is(arbiter.breaker?.status().probes, 0);
  const probe = arbiter.submit({ target: 'p', execute: () => 'ok' });
  await advance(clock, 10);
  t.is(await code(probe), 'completed');
  t.is(arbiter.breaker?.state, 'closed');
  await arbiter.stop();
});

test('createArbiter({ breaker }) - lost arbitrations and cancellations are not execution failures', async (t) => {
  const { clock, arbiter } = setup();
  for (let round = 0; round < 5; round++) {
    const hs = [1, 2, 3, 9].map((priority) => arbiter.submit({ target: 'hot', priority, execute: () => 'ok' }));
    await advance(clock, 10);
    await Promise.allSettled(hs.map((h) => h.result));
  }
  t.is(arbiter.metrics().rejectedByCode['lost-arbitration'], 15);
  t.is(arbiter.breaker?.state, 'closed');
  t.like(arbiter.breaker?.status(), { executions: 5, failures: 0 });
  await arbiter.stop();
});

test('createArbiter({ breaker }) - trip() and reset() from outside; stop() stops its timer', async (t) => {
  const { clock, arbiter } = setup();
  arbiter.breaker!.trip();
  t.is(await code(arbiter.submit({ target: 'a', execute: () => 1 })), 'circuit-open');
  arbiter.breaker!.reset();
  const h = arbiter.submit({ target: 'a', execute: () => 1 });
  await advance(clock, 10);
  t.is(await code(h), 'completed');
  arbiter.breaker!.trip();
  await arbiter.stop();
  t.is(arbiter.breaker!.actor.getSnapshot().status, 'stopped');
});

test('createArbiter() - no breaker by default; breaker: true uses the documented defaults', async (t) => {
  const plain = createArbiter({ clock: new SimulatedClock() });
  t.is(plain.breaker, undefined);
  const seeded = createArbiter({ clock: new SimulatedClock(), breaker: true });
  t.like(seeded.breaker?.status().options, { failureRateThreshold: 0.1, minimumExecutions: 10, halfOpenProbes: 1 });
  await plain.stop();
  await seeded.stop();
});

test('createArbiter() - a throwing logger changes nothing', async (t) => {
  const boom = () => {
    throw new Error('logger down');
  };
  const { clock, arbiter } = setup({ logger: { debug: boom, info: boom, warn: boom, error: boom } });
  for (let i = 0; i < 4; i++) await fail(arbiter, clock, `t${i}`);
  t.is(arbiter.breaker?.state, 'open');
  t.is(arbiter.metrics().observerErrors, 0);
  await arbiter.stop();
});

test('createArbiter() - rejects bad breaker and logger options', (t) => {
  const cases: Array<[Partial<ArbiterOptions>, string]> = [
    [{ breaker: 'on' as never }, 'breaker'],
    [{ breaker: { failureRateThreshold: 1 } }, 'breaker.failureRateThreshold'],
    [{ breaker: { failureRateThreshold: -0.1 } }, 'breaker.failureRateThreshold'],
    [{ breaker: { windowMs: 0 } }, 'breaker.windowMs'],
    [{ breaker: { minimumExecutions: 0 } }, 'breaker.minimumExecutions'],
    [{ breaker: { openMs: Number.POSITIVE_INFINITY } }, 'breaker.openMs'],
    [{ breaker: { halfOpenProbes: 1.5 } }, 'breaker.halfOpenProbes'],
    [{ logger: console.log as never }, 'logger'],
    [{ logger: { info() {} } as never }, 'logger'],
  ];
  for (const [options, field] of cases) {
    const err = t.throws(() => createArbiter(options as ArbiterOptions), { instanceOf: ArbiterInputError });
    t.is(err!.field, field);
  }
});

// One breaker per arbiter, by design (docs/design.md, "One circuit breaker"): what it counts is
// chosen with `isFailure`, per operation type or error, not by splitting it per target or type.
test('createArbiter({ breaker, isFailure }) - one breaker for the arbiter; isFailure keeps a type out of it', async (t) => {
  const clock = new SimulatedClock();
  const arbiter = createArbiter({
    clock,
    windowMs: 10,
    breaker: { minimumExecutions: 4, failureRateThreshold: 0.5 },
    // Best-effort reports may fail without anyone else paying for it; payments may not.
    isFailure: (_err, op) => op.type !== 'report',
  });
  const failing = (target: string, type: string) =>
    arbiter.submit({
      target,
      type,
      execute: () => {
        throw new Error('downstream 503');
      },
    });
  for (let i = 0; i < 6; i++) {
    failing(`report-${i}`, 'report');
    await advance(clock, 10);
  }
  t.is(arbiter.breaker?.state, 'closed', 'six failed reports: counted as answers, not outages');
  t.is(arbiter.breaker?.status().failures, 0);
  for (let i = 0; i < 7; i++) {
    failing(`account-${i}`, 'payment');
    await advance(clock, 10);
  }
  // The reports count as successes: 7 failures of 13 executions pass the 50 % threshold.
  t.is(arbiter.breaker?.state, 'open');
  t.like(arbiter.breaker?.status(), { executions: 13, failures: 7 });
  // Open for every target and type: it guards what all executions share.
  const other = arbiter.submit({ target: 'report-new', type: 'report', execute: () => 1 });
  const err = await other.result.catch((e: { code: string }) => e);
  t.is((err as { code: string }).code, 'circuit-open');
  const scoped = t.throws(() => createArbiter({ breaker: { scope: 'target' } as never }), { instanceOf: ArbiterInputError });
  t.is(scoped!.field, 'breaker.scope', 'there is no per-target or per-type breaker to ask for');
  await arbiter.stop();
});
