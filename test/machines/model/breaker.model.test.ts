import test from 'ava';
import type { AnyStateMachine } from 'xstate';
import { createTestModel, getStateNodes, type TestPath } from 'xstate/graph';
import { breakerMachine } from '../../../machines/breaker.machine.js';
import { createArbiter } from '../../../src/arbiter.js';
import type { OperationHandle } from '../../../src/index.js';
import { advance, ArbiterTestClock, flush, modelEdges, toTestMachine } from '../../../src/testing.js';

// A window long enough that no bucket expires while a path runs, and a small minimum.
const OPTIONS = { failureRateThreshold: 0.4, rollingWindowMs: 1_000_000, minimumExecutions: 2, openMs: 1000, halfOpenProbes: 1 };
const WINDOW_MS = 10;

test('breaker model - createTestModel refuses the real machine (after)', (t) => {
  t.throws(() => createTestModel(breakerMachine), { message: /not supported/ });
});

test('breaker model - the derived model has the same states and transitions as the real machine', (t) => {
  const derived = toTestMachine(breakerMachine);
  const ids = (m: AnyStateMachine) => getStateNodes(m).map((n) => `${n.id}:${n.type}`).sort();
  t.deepEqual(ids(derived), ids(breakerMachine));
  t.deepEqual(modelEdges(derived), modelEdges(breakerMachine));
  t.true(modelEdges(derived).includes('breaker.open --cooldown.elapsed / --> breaker.halfOpen'));
});

interface Ctx {
  executions: number;
  failures: number;
  probes: number;
  trips: number;
}
const model = createTestModel(toTestMachine(breakerMachine), {
  input: { options: OPTIONS },
  events: [
    { type: 'execution.succeeded', at: 0 },
    { type: 'execution.failed', at: 0 },
    { type: 'probe.admitted' },
    { type: 'probe.succeeded' },
    { type: 'probe.failed' },
    { type: 'probe.released' },
    { type: 'breaker.trip' },
    { type: 'breaker.reset' },
    { type: 'cooldown.elapsed' },
  ] as never,
  // Bounds: at most three outcomes per closed period, probes as the arbiter admits them, two trips.
  filterEvents: (s: { context: Ctx }, e: { type: string }) => {
    if (e.type.startsWith('execution.')) return s.context.executions < 3;
    if (e.type === 'probe.admitted') return s.context.probes < OPTIONS.halfOpenProbes;
    if (e.type.startsWith('probe.')) return s.context.probes > 0;
    return true;
  },
  // Every trip is a new state (the count grows); two trips cover opening again after a probe.
  stopWhen: (s: { context: Ctx }) => s.context.trips >= 2,
  limit: 5000,
} as never);
const paths = model.getShortestPaths().filter((p) => p.steps.length > 1);
const title = (p: TestPath<any, any>) =>
  `${(p.steps.slice(1).map((s) => s.event.type) as string[]).join(' → ')} ⇒ ${String(p.state.value)} ` +
  `(${p.state.context.failures}/${p.state.context.executions} failed, ${p.state.context.probes} probes, ${p.state.context.trips} trips)`;

async function play(path: TestPath<any, any>): Promise<string[]> {
  const problems: string[] = [];
  const clock = new ArbiterTestClock();
  const arbiter = createArbiter({ clock, breaker: OPTIONS, windowMs: WINDOW_MS, idleCoordinatorMs: 100_000 });
  const breaker = arbiter.breaker!;
  const handles: OperationHandle[] = [];
  let probe: { handle: OperationHandle; settle: (ok: boolean) => void } | undefined;
  let n = 0;
  let openedAt = 0;
  const run = async (ok: boolean) => {
    const h = arbiter.submit({ target: `t${++n}`, execute: async () => { if (!ok) throw new Error('boom'); return 'ok'; } });
    handles.push(h);
    await advance(clock, WINDOW_MS);
  };
  for (let i = 1; i < path.steps.length; i++) {
    const { event, state } = path.steps[i]!;
    switch (event.type) {
      case 'execution.succeeded':
        await run(true);
        break;
      case 'execution.failed':
        await run(false);
        break;
      case 'breaker.trip':
        breaker.trip();
        break;
      case 'breaker.reset':
        breaker.reset();
        break;
      case 'cooldown.elapsed':
        await advance(clock, openedAt + OPTIONS.openMs - clock.now());
        break;
      case 'probe.admitted': {
        let settle!: (ok: boolean) => void;
        const done = new Promise<string>((resolve, reject) => (settle = (ok) => (ok ? resolve('ok') : reject(new Error('probe failed')))));
        const handle = arbiter.submit({ target: `t${++n}`, execute: () => done });
        handles.push(handle);
        probe = { handle, settle };
        await advance(clock, WINDOW_MS);
        break;
      }
      case 'probe.succeeded':
      case 'probe.failed':
        probe?.settle(event.type === 'probe.succeeded');
        probe = undefined;
        break;
      case 'probe.released':
        probe?.handle.cancel();
        probe = undefined;
        break;
    }
    await flush();
    if (state.value === 'open' && (event.type !== 'cooldown.elapsed')) {
      if (path.steps[i - 1]!.state.value !== 'open' || event.type === 'breaker.trip') openedAt = clock.now();
    }
    const at = `step ${i} (${event.type} ⇒ ${String(state.value)})`;
    const s = breaker.status();
    const want = state.context as Ctx;
    if (s.state !== state.value) problems.push(`${at}: the breaker is ${s.state}`);
    if (s.executions !== want.executions || s.failures !== want.failures) problems.push(`${at}: ${s.failures}/${s.executions} failed, the model says ${want.failures}/${want.executions}`);
    if (s.probes !== want.probes) problems.push(`${at}: ${s.probes} probes, the model says ${want.probes}`);
    if (s.trips !== want.trips) problems.push(`${at}: ${s.trips} trips, the model says ${want.trips}`);
    const m = arbiter.metrics();
    if (m.submitted !== m.completed + m.rejected + m.inFlight) problems.push(`${at}: accounting broken`);
    if (problems.length > 0) break;
  }
  // Whatever the path, an open breaker turns a new submission away with a code.
  if (problems.length === 0 && breaker.state === 'open') {
    const h = arbiter.submit({ target: 'late', execute: async () => 1 });
    handles.push(h);
    await flush();
    const info = arbiter.operations.get(h.id);
    if (info?.code !== 'circuit-open') problems.push(`an open breaker let a submission through (${String(info?.status)})`);
  }
  await arbiter.stop();
  await flush();
  const m = arbiter.metrics();
  if (m.inFlight !== 0 || m.submitted !== m.completed + m.rejected) problems.push(`after stop: ${JSON.stringify(m)}`);
  for (const h of handles) {
    const info = arbiter.operations.get(h.id);
    if (info?.status === 'rejected' && (!info.code || !info.reason)) problems.push(`${h.id} rejected without a code`);
  }
  return problems;
}

test('breaker model - number of paths', (t) => {
  t.is(paths.length, 36);
  t.is(new Set(paths.map(title)).size, paths.length);
});

for (const path of paths) {
  test(`breaker model - ${title(path)}`, async (t) => {
    t.deepEqual(await play(path), []);
  });
}
