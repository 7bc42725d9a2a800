import test from 'ava';
import fc from 'fast-check';
import { REJECTION_CODES, type OperationHandle, type WhileExecuting } from '../../src/index.js';
import { advance, deferred, flush, harness, scripted, type Behaviour } from '../helpers/index.js';

type Action =
  | { kind: 'submit'; target: string; priority: number; behaviour: Behaviour; timeoutMs?: number }
  | { kind: 'cancel'; index: number }
  | { kind: 'advance'; ms: number }
  | { kind: 'settle'; index: number; ok: boolean };

const action: fc.Arbitrary<Action> = fc.oneof(
  fc.record({
    kind: fc.constant('submit' as const),
    target: fc.constantFrom('a', 'b', 'c'),
    priority: fc.integer({ min: 1, max: 10 }),
    behaviour: fc.constantFrom('ok' as const, 'retryable' as const, 'fail' as const, 'hang' as const),
    timeoutMs: fc.option(fc.integer({ min: 1, max: 400 }), { nil: undefined }),
  }),
  fc.record({ kind: fc.constant('cancel' as const), index: fc.nat(40) }),
  fc.record({ kind: fc.constant('advance' as const), ms: fc.constantFrom(1, 10, 50, 100, 250) }),
  fc.record({ kind: fc.constant('settle' as const), index: fc.nat(40), ok: fc.boolean() }),
);

async function run(actions: Action[], whileExecuting: WhileExecuting): Promise<string | null> {
  const { clock, arbiter } = harness({ whileExecuting, gracePeriodMs: 100, maxStagedPerTarget: 6, maxStaged: 12, retry: { baseDelayMs: 5, maxDelayMs: 50 } });
  let violation: string | null = null;
  const holding = new Map<string, Set<string>>();
  arbiter.events$.subscribe((e) => {
    const m = arbiter.metrics();
    if (m.submitted !== m.completed + m.rejected + m.inFlight) violation ??= `accounting broken at ${e.type} #${e.seq}`;
    const byCode = Object.values(m.rejectedByCode).reduce((a, b) => a + b, 0);
    if (byCode !== m.rejected) violation ??= `rejectedByCode does not add up at ${e.type}`;
    if (e.type === 'operation.started') {
      const set = holding.get(e.target) ?? new Set();
      set.add(e.operationId);
      holding.set(e.target, set);
      if (whileExecuting !== 'concurrent' && set.size > 1) violation ??= `two holders on ${e.target}`;
    }
    if (e.type === 'operation.completed' || e.type === 'operation.rejected') {
      holding.get(e.target)?.delete(e.operationId);
      if (e.type === 'operation.rejected' && !(REJECTION_CODES as readonly string[]).includes(e.code)) violation ??= `unknown code ${e.code}`;
    }
  });
  const handles: OperationHandle[] = [];
  const gates: Array<ReturnType<typeof deferred<string>>> = [];
  const finals = new Map<string, number>();
  for (const a of actions) {
    if (a.kind === 'submit') {
      const gate = deferred<string>();
      gate.promise.catch(() => undefined); // a gate may fail before (or without) its operation running
      gates.push(gate);
      const h = arbiter.submit({
        target: a.target,
        priority: a.priority,
        ...(a.timeoutMs !== undefined ? { timeoutMs: a.timeoutMs } : {}),
        maxRetries: 2,
        ...scripted(a.behaviour, gate),
      });
      handles.push(h);
      h.result.then(
        () => finals.set(h.id, (finals.get(h.id) ?? 0) + 1),
        () => finals.set(h.id, (finals.get(h.id) ?? 0) + 1),
      );
    } else if (a.kind === 'cancel') {
      handles[a.index % Math.max(1, handles.length)]?.cancel();
    } else if (a.kind === 'advance') {
      await advance(clock, a.ms);
    } else {
      const g = gates[a.index % Math.max(1, gates.length)];
      if (g) (a.ok ? g.resolve('ok') : g.reject(new Error('late failure')));
      await flush();
    }
  }
  for (const g of gates) g.resolve('ok');
  for (let i = 0; i < 20; i++) await advance(clock, 100);
  const m = arbiter.metrics();
  if (m.inFlight !== 0) violation ??= `${m.inFlight} operations never reached a final state`;
  await arbiter.stop();
  await flush();
  for (const h of handles) if (finals.get(h.id) !== 1) violation ??= `operation ${h.id} settled ${finals.get(h.id) ?? 0} times`;
  const end = arbiter.metrics();
  if (end.submitted !== handles.length) violation ??= 'submitted count differs from handles';
  if (end.submitted !== end.completed + end.rejected || end.inFlight !== 0) violation ??= 'final accounting broken';
  return violation;
}

for (const whileExecuting of ['preempt', 'queue', 'concurrent'] as const) {
  test(`accounting - holds after every event over random interleavings (${whileExecuting})`, async (t) => {
    await fc.assert(
      fc.asyncProperty(fc.array(action, { minLength: 1, maxLength: 60 }), async (actions) => {
        const violation = await run(actions, whileExecuting);
        if (violation) throw new Error(violation);
      }),
      { numRuns: 60 },
    );
    t.is(await run([{ kind: 'submit', target: 'a', priority: 5, behaviour: 'ok' }], whileExecuting), null);
  });
}
