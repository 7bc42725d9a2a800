// metrics() is a fold of events$: after every event, its counters equal a fold computed here by a
// different method (per-operation state, not counters), and its gauges match the operations'
// real statuses.
import test from 'ava';
import fc from 'fast-check';
import { extendLifecycle, type ArbiterEvent, type OperationHandle, type WhileExecuting } from '../../src/index.js';
import { advance, deferred, flush, harness, scripted, type Behaviour } from '../helpers/index.js';

type Action =
  | { kind: 'submit'; target: string; priority: number; behaviour: Behaviour; onLose: boolean }
  | { kind: 'cancel'; index: number }
  | { kind: 'advance'; ms: number }
  | { kind: 'settle'; index: number; ok: boolean }
  | { kind: 'approve'; index: number };

const action: fc.Arbitrary<Action> = fc.oneof(
  fc.record({
    kind: fc.constant('submit' as const),
    target: fc.constantFrom('a', 'b', '__proto__'),
    priority: fc.integer({ min: 1, max: 10 }),
    behaviour: fc.constantFrom('ok' as const, 'retryable' as const, 'fail' as const, 'hang' as const),
    onLose: fc.boolean(),
  }),
  fc.record({ kind: fc.constant('cancel' as const), index: fc.nat(30) }),
  fc.record({ kind: fc.constant('advance' as const), ms: fc.constantFrom(5, 50, 100, 250) }),
  fc.record({ kind: fc.constant('settle' as const), index: fc.nat(30), ok: fc.boolean() }),
  fc.record({ kind: fc.constant('approve' as const), index: fc.nat(30) }),
);

/** The reference fold: what each operation is, from its events alone. */
class Reference {
  submitted = 0;
  completed = 0;
  rejected = 0;
  conflicts = 0;
  coordinators = 0;
  readonly byCode = new Map<string, number>();
  readonly staged = new Set<string>();
  readonly holding = new Set<string>();

  observe(e: ArbiterEvent): void {
    if (e.type === 'operation.submitted') this.submitted++;
    else if (e.type === 'operation.staged') this.staged.add(e.operationId);
    else if (e.type === 'operation.won') {
      this.staged.delete(e.operationId);
      this.holding.add(e.operationId);
    } else if (e.type === 'conflict.resolved') this.conflicts++;
    else if (e.type === 'coordinator.started') this.coordinators++;
    else if (e.type === 'coordinator.stopped' || e.type === 'coordinator.failed') this.coordinators--;
    else if (e.type === 'operation.completed' || e.type === 'operation.rejected') {
      if (e.type === 'operation.completed') this.completed++;
      else {
        this.rejected++;
        this.byCode.set(e.code, (this.byCode.get(e.code) ?? 0) + 1);
      }
      this.staged.delete(e.operationId);
      this.holding.delete(e.operationId);
    }
  }
}

// Winners wait in `approval` (a step after winning) half of the time: gauges must hold for any lifecycle.
const approval = extendLifecycle({ afterWin: { approval: { on: { approve: 'next' } } } });

async function run(actions: Action[], whileExecuting: WhileExecuting, withApproval: boolean): Promise<string | null> {
  const { clock, arbiter } = harness({
    whileExecuting,
    gracePeriodMs: 100,
    maxStagedPerTarget: 5,
    maxStaged: 10,
    retry: { baseDelayMs: 5, maxDelayMs: 50 },
    ...(withApproval ? { lifecycle: approval } : {}),
  });
  const reference = new Reference();
  const handles: OperationHandle[] = [];
  let problem: string | null = null;
  arbiter.events$.subscribe((e) => {
    reference.observe(e);
    if (problem !== null) return;
    const m = arbiter.metrics();
    const at = `at ${e.type} #${e.seq}`;
    const expect = (name: string, actual: unknown, wanted: unknown) => {
      if (problem === null && actual !== wanted) problem = `${name} is ${String(actual)}, the fold says ${String(wanted)} ${at}`;
    };
    expect('submitted', m.submitted, reference.submitted);
    expect('completed', m.completed, reference.completed);
    expect('rejected', m.rejected, reference.rejected);
    expect('conflicts', m.conflicts, reference.conflicts);
    expect('coordinators', m.coordinators, reference.coordinators);
    expect('staged', m.staged, reference.staged.size);
    expect('executing', m.executing, reference.holding.size);
    expect('inFlight', m.inFlight, reference.submitted - reference.completed - reference.rejected);
    for (const [code, n] of reference.byCode) expect(`rejectedByCode[${code}]`, m.rejectedByCode[code], n);
  });
  const gates: Array<ReturnType<typeof deferred<string>>> = [];
  for (const a of actions) {
    if (a.kind === 'submit') {
      const gate = deferred<string>();
      gate.promise.catch(() => undefined);
      gates.push(gate);
      handles.push(
        arbiter.submit({
          target: a.target,
          priority: a.priority,
          ...(a.onLose ? { onLose: 'retry' as const } : {}),
          maxRetries: 1,
          ...scripted(a.behaviour, gate),
        }),
      );
    } else if (a.kind === 'cancel') handles[a.index % Math.max(1, handles.length)]?.cancel();
    else if (a.kind === 'advance') await advance(clock, a.ms);
    else if (a.kind === 'approve') {
      const h = handles[a.index % Math.max(1, handles.length)];
      if (h?.status() === 'approval') h.send({ type: 'approve' });
    } else {
      const g = gates[a.index % Math.max(1, gates.length)];
      if (g) (a.ok ? g.resolve('ok') : g.reject(new Error('late')));
      await flush();
    }
    // Gauges against the operations' real statuses, between actions.
    const m = arbiter.metrics();
    const staged = handles.filter((h) => h.status() === 'staged').length;
    if (problem === null && m.staged !== staged) problem = `staged is ${m.staged}, ${staged} operations are in staged`;
  }
  for (const g of gates) g.resolve('ok');
  for (const h of handles) if (h.status() === 'approval') h.send({ type: 'approve' });
  for (let i = 0; i < 20; i++) await advance(clock, 100);
  await arbiter.stop();
  return problem;
}

for (const whileExecuting of ['preempt', 'queue'] as const) {
  for (const withApproval of [false, true]) {
    test(`metrics() equals a fold of events$ after every event (${whileExecuting}${withApproval ? ', a step after winning' : ''})`, async (t) => {
      await fc.assert(
        fc.asyncProperty(fc.array(action, { minLength: 1, maxLength: 50 }), async (actions) => {
          const problem = await run(actions, whileExecuting, withApproval);
          if (problem) throw new Error(problem);
        }),
        { numRuns: 40 },
      );
      t.is(await run([{ kind: 'submit', target: 'a', priority: 5, behaviour: 'ok', onLose: false }], whileExecuting, withApproval), null);
    });
  }
}
