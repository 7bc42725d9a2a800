// Input as a hostile or careless user gives it: callbacks that mutate what they get, delays past
// the timer limit, options that change while being read, typos, and parent chains whose
// ancestors are gone. Every case must end with a clear error at the call site and nothing
// changed, or with every operation accounted for.
import test from 'ava';
import { assign, SimulatedClock } from 'xstate';
import {
  ArbiterInputError,
  createArbiter,
  createStore,
  extendLifecycle,
  MAX_TIMER_DELAY_MS,
  Priority,
  type Candidate,
  type CleanupStrategy,
} from '../../src/index.js';
import { createLifecycleTestModel } from '../../src/testing.js';
import { advance, flush, harness, outcome } from '../helpers/index.js';

const execute = async () => 'ran';
const TOO_LONG = MAX_TIMER_DELAY_MS + 1;

// --- 1. callbacks that mutate what they are given ------------------------------------------------

const mutators: Array<[string, (cs: Candidate[]) => Candidate | null]> = [
  ['empties the list and returns null', (cs) => {
    cs.length = 0;
    return null;
  }],
  ['reverses the list and returns its first', (cs) => cs.reverse()[0] ?? null],
  ['pushes a foreign candidate of another target and returns it', (cs) => {
    const foreign = { id: 'foreign', target: 'elsewhere', type: 'x', priority: 10, effectivePriority: 10, submittedAt: 0, seq: 0, data: undefined };
    cs.push(foreign);
    return foreign;
  }],
  ['splices the winner out and returns it', (cs) => cs.splice(1, 1)[0] ?? null],
  ['overwrites a slot with a copy and returns the copy', (cs) => {
    cs[0] = { ...cs[0]!, effectivePriority: 99 };
    return cs[0];
  }],
];

for (const [name, mutate] of mutators) {
  test(`selectWinner that ${name}: the arbiter decides from its own list, every candidate settles once`, async (t) => {
    const attempts: string[] = [];
    const { clock, arbiter } = harness({
      selectWinner: (candidates) => {
        try {
          return mutate(candidates as Candidate[]);
        } catch (err) {
          attempts.push(String(err));
          throw err;
        }
      },
    });
    const handles = ['a', 'b', 'c'].map((id, i) => arbiter.submit({ target: 't', id, priority: i + 1, execute }));
    await advance(clock, 100);
    await arbiter.onIdle();
    const results = await Promise.all(handles.map((h) => outcome(h.result)));
    const m = arbiter.metrics();
    t.is(m.inFlight, 0, 'nothing is left staged');
    t.is(m.submitted, 3);
    t.is(m.completed + m.rejected, 3);
    // Whatever it did, no new window keeps opening for the same candidates.
    await advance(clock, 1000);
    t.is(arbiter.metrics().conflicts, 1, 'one window, one decision');
    // The frozen list refuses every mutation: a selector that mutates throws, which is documented
    // as arbitration-failed for all of them.
    t.true(attempts.length === 1 && /read only|not extensible|frozen|Cannot (assign|add|delete)/i.test(attempts[0]!), attempts.join());
    t.deepEqual(results.map((r) => (r.ok ? 'ok' : r.code)), ['arbitration-failed', 'arbitration-failed', 'arbitration-failed']);
    await arbiter.stop();
  });
}

test('selectWinner returning a look-alike copy of a candidate or a foreign object: arbitration-failed, never a foreign winner', async (t) => {
  for (const pick of [(cs: readonly Candidate[]) => ({ ...cs[0]!, id: 'not-a-candidate' }), () => ({ id: 'elsewhere' }) as Candidate, () => 42 as never]) {
    const { clock, arbiter } = harness({ selectWinner: pick });
    const handles = [1, 2].map((p) => arbiter.submit({ target: 't', priority: p, execute }));
    await advance(clock, 100);
    const codes = await Promise.all(handles.map(async (h) => (await outcome(h.result)) as { code?: string }));
    t.deepEqual(codes.map((c) => c.code), ['arbitration-failed', 'arbitration-failed']);
    await arbiter.stop();
  }
});

test('selectWinner gets frozen candidates, a frozen list and a frozen context with frozen holders', async (t) => {
  const seen: Array<{ list: boolean; items: boolean; ctx: boolean; holders: boolean }> = [];
  const { clock, arbiter } = harness({
    gracePeriodMs: 1_000_000,
    selectWinner: (cs, ctx) => {
      seen.push({
        list: Object.isFrozen(cs),
        items: cs.every((c) => Object.isFrozen(c)),
        ctx: Object.isFrozen(ctx) && Object.isFrozen(ctx.executing),
        holders: ctx.executing.every((h) => Object.isFrozen(h)),
      });
      return cs[0] ?? null;
    },
  });
  arbiter.submit({ target: 't', execute: () => new Promise(() => {}) });
  await advance(clock, 100);
  arbiter.submit({ target: 't', execute });
  await advance(clock, 100);
  t.is(seen.length, 2);
  for (const s of seen) t.deepEqual(s, { list: true, items: true, ctx: true, holders: true });
  await arbiter.stop();
});

test('events$ observers and operations.get readers cannot change what the arbiter and the next observer see', async (t) => {
  const { clock, arbiter } = harness();
  const tampered: string[] = [];
  arbiter.events$.subscribe((e) => {
    try {
      (e as { type: string }).type = 'operation.completed';
    } catch {
      tampered.push(e.type);
    }
    if (e.type === 'conflict.resolved') {
      try {
        (e.loserIds as string[]).length = 0;
      } catch {
        tampered.push('loserIds');
      }
    }
  });
  const later: string[] = [];
  arbiter.events$.subscribe((e) => later.push(e.type));
  const a = arbiter.submit({ target: 't', priority: 9, execute });
  arbiter.submit({ target: 't', priority: 1, execute });
  await advance(clock, 100);
  await a.result;
  t.true(tampered.includes('loserIds'));
  t.true(later.includes('operation.rejected'), 'the next observer saw the real type');
  const m = arbiter.metrics();
  t.is(m.rejectedByCode['lost-arbitration'], 1, 'the metrics saw the real events');
  const info = arbiter.operations.get(a.id)!;
  t.throws(() => {
    (info as { status: string }).status = 'rejected';
  });
  t.is(arbiter.operations.get(a.id)?.status, 'completed');
  await arbiter.stop();
});

// What isFailure may try on the operation it is given: each write would reach the arbiter's own
// record if it got that (its status listeners, its status and code, its id).
const failureWrites: Array<[string, (op: Record<string, unknown>) => void]> = [
  ['overwrites listeners', (op) => void (op['listeners'] = 5)],
  ['overwrites status and code', (op) => {
    op['status'] = 'completed';
    op['code'] = 'preempted';
  }],
  ['overwrites id and target', (op) => {
    op['id'] = 'other';
    op['target'] = 'elsewhere';
  }],
  ['deletes attempt', (op) => void delete op['attempt']],
  ['adds a field', (op) => void (op['extra'] = true)],
];

for (const [name, write] of failureWrites) {
  test(`isFailure that ${name}: it gets a frozen copy, the operation settles as it was, listeners still run`, async (t) => {
    const seen: Array<{ frozen: boolean; id: unknown; target: unknown; type: unknown; priority: unknown; attempt: unknown; threw: boolean }> = [];
    const { clock, arbiter, events } = harness({
      isFailure: (_error, op) => {
        let threw = false;
        try {
          write(op as unknown as Record<string, unknown>);
        } catch {
          threw = true;
        }
        seen.push({ frozen: Object.isFrozen(op), id: op.id, target: op.target, type: op.type, priority: op.priority, attempt: op.attempt, threw });
        return false;
      },
    });
    const statuses: string[] = [];
    const h = arbiter.submit({ target: 't', id: 'op-1', type: 'withdraw', priority: 7, execute: async () => Promise.reject(new Error('overdraft')) });
    h.subscribe((s) => statuses.push(s));
    await advance(clock, 100);
    t.like(await outcome(h.result), { ok: false, code: 'execution-failed' });
    t.deepEqual(seen, [{ frozen: true, id: 'op-1', target: 't', type: 'withdraw', priority: 7, attempt: 1, threw: true }]);
    t.deepEqual(statuses, ['executing', 'rejected'], 'the status listener ran to the end');
    t.like(arbiter.operations.get('op-1'), { id: 'op-1', target: 't', status: 'rejected', code: 'execution-failed', attempt: 1 });
    const rejected = events.find((e) => e.type === 'operation.rejected');
    t.like(rejected, { operationId: 'op-1', code: 'execution-failed', expected: true }, 'its answer still counts');
    const m = arbiter.metrics();
    t.is(m.submitted, m.completed + m.rejected + m.inFlight);
    await arbiter.stop();
  });
}

test('isFailure that throws counts the error as a failure; the operation settles once', async (t) => {
  const { clock, arbiter, events } = harness({
    isFailure: () => {
      throw new Error('classifier broke');
    },
  });
  const h = arbiter.submit({ target: 't', execute: async () => Promise.reject(new Error('x')) });
  await advance(clock, 100);
  t.like(await outcome(h.result), { ok: false, code: 'execution-failed' });
  const rejected = events.filter((e) => e.type === 'operation.rejected');
  t.is(rejected.length, 1);
  t.false('expected' in rejected[0]!, 'a throwing classifier means failure');
  await arbiter.stop();
});

// The functions of an extendLifecycle patch get XState's arguments with a frozen copy of the
// context: a write to a field the arbiter reads (the coordinator finds the operation and its
// priority there) throws, the operation ends rejected, and the target is free for the next one.
type Ctx = Record<string, unknown>;
const tamper = (context: Ctx) => {
  context['id'] = 'hijacked';
  context['effectivePriority'] = 10;
};
const lifecycleMutators: Array<[string, () => ReturnType<typeof extendLifecycle>]> = [
  ['an afterWin entry action writes context.id', () =>
    extendLifecycle({ afterWin: { check: { entry: ({ context }) => tamper(context), always: 'next' } } })],
  ['a beforeStaged entry action writes context.effectivePriority', () =>
    extendLifecycle({ beforeStaged: { check: { entry: ({ context }) => tamper(context), always: 'next' } } })],
  ['a named action on executing writes context.id', () =>
    extendLifecycle({ states: { executing: { entry: 'tamper' } }, actions: { tamper: ({ context }: { context: Ctx }) => tamper(context) } })],
  ['an inline guard writes context.id and passes', () =>
    extendLifecycle({ afterWin: { check: { always: { target: 'next', guard: ({ context }) => (tamper(context), true) } } } })],
  ['a named guard deletes context.target', () =>
    extendLifecycle({ afterWin: { check: { always: { target: 'next', guard: 'ok' } } }, guards: { ok: ({ context }) => delete (context as Ctx)['target'] } })],
  ['a delay function writes context.id', () =>
    extendLifecycle({ afterWin: { check: { after: { wait: 'next' } } }, delays: { wait: ({ context }) => (tamper(context), 5) } })],
  ['an enterIf guard on staged writes context.id and passes', () =>
    extendLifecycle({ states: { staged: { enterIf: { guard: ({ context }) => (tamper(context), true), code: 'refused' } } } })],
  ['an assign function returns id', () =>
    extendLifecycle({ afterWin: { check: { entry: assign(() => ({ id: 'hijacked' })) as never, always: 'next' } } })],
  ['an assigner of its own field writes context.id', () =>
    extendLifecycle({
      context: { seen: 0 },
      afterWin: { check: { entry: assign({ seen: ({ context }: { context: Ctx }) => ((context['id'] = 'hijacked'), 1) }) as never, always: 'next' } },
    })],
  ['the context function writes input.id', () =>
    extendLifecycle({ context: ({ input }) => (((input as { id: string }).id = 'hijacked'), { seen: 0 }) })],
];

for (const [name, build] of lifecycleMutators) {
  test(`extendLifecycle: ${name}: it throws on a frozen copy, the operation ends rejected, the target stays usable`, async (t) => {
    const { clock, arbiter } = harness({ lifecycle: build(), whileExecuting: 'queue' });
    const a = arbiter.submit({ target: 't', id: 'a', priority: 2, execute: () => 'a ran' });
    await advance(clock, 100);
    await advance(clock, 10);
    const first = await outcome(a.result);
    t.false(first.ok, 'the operation whose function threw is rejected');
    t.like(arbiter.operations.get('a'), { id: 'a', target: 't', status: 'rejected', effectivePriority: 2 });
    t.is(arbiter.operations.get('hijacked'), undefined);
    // The next operation on the same target is not stuck behind a holder the coordinator lost.
    const b = arbiter.submit({ target: 't', id: 'b', execute: () => 'b ran' });
    await advance(clock, 100);
    await advance(clock, 10);
    const second = await outcome(b.result);
    t.deepEqual(second.ok ? 'ok' : second.code, first.ok ? 'ok' : first.code, 'b meets the same lifecycle');
    await arbiter.onIdle();
    const m = arbiter.metrics();
    t.is(m.inFlight, 0);
    t.is(m.submitted, m.completed + m.rejected);
    await arbiter.stop();
  });
}

test('extendLifecycle: an object of assigners that sets a field the arbiter owns is refused naming it', (t) => {
  const err = t.throws(() => extendLifecycle({ actions: { bump: assign({ priority: () => 10 }) }, states: { staged: { entry: 'bump' } } }), {
    instanceOf: ArbiterInputError,
  });
  t.is(err?.field, 'actions.bump.priority');
  const inline = t.throws(() => extendLifecycle({ afterWin: { check: { entry: [assign({ code: 'x' }) as never], always: 'next' } } }), {
    instanceOf: ArbiterInputError,
  });
  t.is(inline?.field, 'afterWin.check.entry[0].code');
});

test('extendLifecycle: initial context arrays and objects are per operation, and a later change to the patch changes nothing', async (t) => {
  const initial = { notes: [] as string[], meta: { by: 'nobody' } };
  const lifecycle = extendLifecycle({
    context: initial,
    afterWin: { check: { entry: ({ context }) => void (context['notes'] as string[]).push('x'), always: 'next' } },
  });
  initial.notes.push('later');
  initial.meta.by = 'later';
  const { clock, arbiter } = harness({ lifecycle, whileExecuting: 'concurrent' });
  const handles = ['t1', 't2', 't3'].map((target) => arbiter.submit({ target, execute: () => 'ran' }));
  await advance(clock, 100);
  await Promise.all(handles.map((h) => h.result));
  for (const h of handles) {
    const ctx = h.actor!.getSnapshot().context as { notes: string[]; meta: { by: string } };
    t.deepEqual(ctx.notes, ['x'], 'each operation pushed into its own array');
    t.is(ctx.meta.by, 'nobody');
  }
  await arbiter.stop();
});

test('retryable that throws, or rewrites the error it gets: the operation settles once, with its code and its own error as cause', async (t) => {
  const cases: Array<[string, (err: unknown) => boolean]> = [
    ['throws', () => {
      throw new Error('classifier broke');
    }],
    ['rewrites the error and says yes', (err) => {
      (err as Error).message = 'rewritten';
      return true;
    }],
  ];
  for (const [name, retryable] of cases) {
    const { clock, arbiter } = harness();
    const thrown = new Error('boom');
    const h = arbiter.submit({ target: 't', maxRetries: 1, retryable, execute: async () => Promise.reject(thrown) });
    for (let i = 0; i < 5; i++) await advance(clock, 100);
    const err = await h.result.catch((e: unknown) => e as { code: string; cause: unknown });
    t.is((err as { code: string }).code, name === 'throws' ? 'execution-failed' : 'retries-exhausted', name);
    t.is((err as { cause: unknown }).cause, thrown, `${name}: the cause is the execute's own error`);
    t.is(arbiter.metrics().inFlight, 0);
    await arbiter.stop();
  }
});

test('store.update fn that writes the current snapshot or throws: nothing changes', (t) => {
  const store = createStore();
  const e = store.create({ n: 1, tags: ['a'] });
  t.throws(() => store.update<{ n: number; tags: string[] }>(e.id, (_draft, current) => void current.data.tags.push('b')));
  t.throws(() => store.update<{ n: number }>(e.id, (draft) => {
    draft.n = 99;
    throw new Error('changed my mind');
  }), { message: 'changed my mind' });
  t.deepEqual(store.get(e.id)?.data, { n: 1, tags: ['a'] });
  t.is(store.get(e.id)?.version, 0);
});

// --- 2. delays past the timer limit --------------------------------------------------------------

const delayOptions: Array<[string, Record<string, unknown>]> = [
  ['windowMs', { windowMs: TOO_LONG }],
  ['gracePeriodMs', { gracePeriodMs: TOO_LONG }],
  ['idleCoordinatorMs', { idleCoordinatorMs: TOO_LONG }],
  ['retry.baseDelayMs', { retry: { baseDelayMs: TOO_LONG } }],
  ['retry.maxDelayMs', { retry: { maxDelayMs: TOO_LONG } }],
  ['cleanup.retentionMs', { cleanup: { strategy: 'deferred', retentionMs: TOO_LONG } }],
  ['cleanup.maxAgeMs', { cleanup: { strategy: 'lazy', maxAgeMs: TOO_LONG } }],
  ['breaker.windowMs', { breaker: { windowMs: TOO_LONG } }],
  ['breaker.rollingWindowMs', { breaker: { rollingWindowMs: TOO_LONG } }],
  ['breaker.openMs', { breaker: { openMs: TOO_LONG } }],
];

for (const [field, options] of delayOptions) {
  for (const clocked of [false, true]) {
    test(`createArbiter({ ${field}: 2**31 }) is refused naming the field${clocked ? ' (SimulatedClock)' : ''}`, (t) => {
      const err = t.throws(() => createArbiter({ ...options, ...(clocked ? { clock: new SimulatedClock() } : {}) }), { instanceOf: ArbiterInputError });
      t.is(err?.field, field);
      t.regex(err?.message ?? '', /2147483647/);
    });
  }
  test(`createArbiter({ ${field}: MAX_TIMER_DELAY_MS }) is accepted`, async (t) => {
    const valid = JSON.parse(JSON.stringify(options).replace(String(TOO_LONG), String(MAX_TIMER_DELAY_MS)));
    const arbiter = createArbiter(valid);
    t.is(arbiter.stopped, false);
    await arbiter.stop();
  });
}

const approvalAfter = (ms: number | string) =>
  ({ afterWin: { approval: { on: { approve: 'next' }, after: { [ms]: { target: 'rejected', code: 'approval-timeout' } } } } }) as const;
const lifecycleDelays: Array<[string, () => unknown, string]> = [
  ['an afterWin step after: { 2147483648 }', () => extendLifecycle(approvalAfter(TOO_LONG)), `afterWin.approval.after.${TOO_LONG}`],
  ['a beforeStaged step after: { 1e10 }', () => extendLifecycle({ beforeStaged: { check: { after: { '1e10': 'next' } } } }), 'beforeStaged.check.after.1e10'],
  ['a step after: { -1 }', () => extendLifecycle({ afterWin: { check: { after: { '-1': 'next' } } } }), 'afterWin.check.after.-1'],
  ['delays: { x: 2**31 }', () => extendLifecycle({ afterWin: { check: { after: { x: 'next' } } }, delays: { x: TOO_LONG } }), 'delays.x'],
  ['delays: { backoff: Infinity }', () => extendLifecycle({ delays: { backoff: Infinity } }), 'delays.backoff'],
];

for (const [name, build, field] of lifecycleDelays) {
  test(`extendLifecycle with ${name} is refused naming the field`, (t) => {
    const err = t.throws(build, { instanceOf: ArbiterInputError });
    t.is(err?.field, field);
    t.regex(err?.message ?? '', /2147483647/);
  });
}

test('extendLifecycle: a step timeout at the limit is accepted and does not fire early (real timers)', async (t) => {
  const arbiter = createArbiter({ windowMs: 1, lifecycle: extendLifecycle(approvalAfter(MAX_TIMER_DELAY_MS)) });
  const h = arbiter.submit({ target: 't', execute });
  t.true(await h.reached('approval'));
  await new Promise((resolve) => setTimeout(resolve, 30));
  t.is(h.status(), 'approval', 'no approval-timeout a few ms after winning');
  await arbiter.stop();
});

test('extendLifecycle: a delay function that returns more than the limit fails its operation naming the delay, never fires at once', async (t) => {
  for (const bad of [TOO_LONG, -5, Number.NaN, 'soon']) {
    const lifecycle = extendLifecycle({
      afterWin: { approval: { on: { approve: 'next' }, after: { wait: { target: 'rejected', code: 'approval-timeout' } } } },
      delays: { wait: () => bad as number },
    });
    const arbiter = createArbiter({ windowMs: 1, lifecycle });
    const h = arbiter.submit({ target: 't', execute });
    const result = await outcome(h.result);
    t.false(result.ok);
    t.not((result as { code: string }).code, 'approval-timeout', `${String(bad)}: the timeout did not fire`);
    t.regex((result as { reason: string }).reason, /delays\.wait/);
    await arbiter.stop();
  }
});

test('submit({ timeoutMs: 2**31 }) is refused; a timeout at the limit does not fire early', async (t) => {
  const { clock, arbiter } = harness();
  const err = t.throws(() => arbiter.submit({ target: 't', timeoutMs: TOO_LONG, execute }), { instanceOf: ArbiterInputError });
  t.is(err?.field, 'timeoutMs');
  t.is(arbiter.metrics().submitted, 0);
  const h = arbiter.submit({ target: 't', timeoutMs: MAX_TIMER_DELAY_MS, execute: () => new Promise(() => {}) });
  await advance(clock, 100);
  await advance(clock, 10_000);
  t.is(h.status(), 'executing', 'no timeout a few ms after submission');
  await arbiter.stop();
});

test('submitWithRetry({ baseDelayMs | maxDelayMs: 2**31 }) is refused', async (t) => {
  const { arbiter } = harness();
  for (const field of ['baseDelayMs', 'maxDelayMs']) {
    const err = t.throws(() => arbiter.submitWithRetry({ target: 't', execute }, { [field]: TOO_LONG }), { instanceOf: ArbiterInputError });
    t.is(err?.field, field);
  }
  t.is(arbiter.metrics().submitted, 0);
  await arbiter.stop();
});

test('a window at the limit does not close at once (real timers)', async (t) => {
  const arbiter = createArbiter({ windowMs: MAX_TIMER_DELAY_MS });
  const h = arbiter.submit({ target: 't', execute });
  await new Promise((resolve) => setTimeout(resolve, 30));
  t.is(h.status(), 'staged');
  await arbiter.stop();
  t.is((await outcome(h.result)).ok, false);
});

// --- 3. specs and options that change while being read --------------------------------------------

/** A spec whose every field answers the first read and throws on the next one. */
function readOnce<T extends object>(value: T, reads: Map<PropertyKey, number>): T {
  return new Proxy(value, {
    get(target, key, receiver) {
      const n = (reads.get(key) ?? 0) + 1;
      reads.set(key, n);
      if (n > 1) throw new Error(`field ${String(key)} read twice`);
      return Reflect.get(target, key, receiver);
    },
  });
}

test('submit() reads every spec field exactly once; a field that throws on the second read changes nothing', async (t) => {
  const { clock, arbiter } = harness();
  const reads = new Map<PropertyKey, number>();
  const spec = readOnce({ target: 't', type: 'write', priority: Priority.HIGH, id: 'once', maxRetries: 1, timeoutMs: 500, retryable: () => false, data: { x: 1 }, execute }, reads);
  const h = arbiter.submit(spec);
  await advance(clock, 100);
  t.is(await h.result, 'ran');
  for (const [key, n] of reads) t.is(n, 1, `${String(key)} read ${n} times`);
  t.is(arbiter.metrics().inFlight, 0);
  await arbiter.onIdle();
  await arbiter.stop();
});

test('submit() with getters that answer validation and then throw: the operation still settles, drain() resolves', async (t) => {
  const { clock, arbiter } = harness();
  let targetReads = 0;
  const spec = {
    get target() {
      if (targetReads++ > 0) throw new Error('changed my mind');
      return 't';
    },
    execute,
  };
  const h = arbiter.submit(spec);
  await advance(clock, 100);
  t.is(await h.result, 'ran');
  await arbiter.onIdle();
  t.is(arbiter.metrics().inFlight, 0);
  await arbiter.stop();
});

test('submit() with a getter that throws on the first read: ArbiterInputError naming the field, nothing counted', async (t) => {
  const { arbiter, events } = harness();
  const spec = {
    target: 't',
    get priority(): number {
      throw new Error('boom');
    },
    execute,
  };
  const err = t.throws(() => arbiter.submit(spec), { instanceOf: ArbiterInputError });
  t.is(err?.field, 'priority');
  t.deepEqual(events, []);
  t.is(arbiter.metrics().submitted, 0);
  await arbiter.stop();
});

test('createArbiter() and its nested options are read once each', async (t) => {
  const reads = new Map<PropertyKey, number>();
  const nested = new Map<PropertyKey, number>();
  const options = readOnce(
    {
      windowMs: 50,
      gracePeriodMs: 10,
      whileExecuting: 'queue' as const,
      maxStaged: 5,
      retry: readOnce({ baseDelayMs: 5, factor: 2, maxDelayMs: 50, jitter: false }, nested),
      cleanup: { strategy: 'immediate' as CleanupStrategy },
      breaker: { openMs: 100 },
    },
    reads,
  );
  const arbiter = createArbiter(options);
  t.is(arbiter.options.windowMs, 50);
  t.is(arbiter.options.retry.baseDelayMs, 5);
  for (const [key, n] of [...reads, ...nested]) t.is(n, 1, `${String(key)} read ${n} times`);
  await arbiter.stop();
});

test('submitWithRetry() resubmits from its own copy: a spec changed after the call is never read again', async (t) => {
  const { clock, arbiter } = harness({ maxStagedPerTarget: 1 });
  arbiter.submit({ target: 't', execute: () => new Promise(() => {}) }); // fills the target
  const spec = { target: 't', execute: async () => 'first spec' };
  const result = arbiter.submitWithRetry(spec, { attempts: 3, baseDelayMs: 10 });
  spec.target = 'changed';
  spec.execute = async () => 'second spec';
  for (let i = 0; i < 4; i++) {
    await flush();
    await advance(clock, 25);
  }
  const r = await outcome(result);
  t.deepEqual(r.ok ? r : { ok: false, code: r.code }, { ok: false, code: 'staging-full' });
  t.is(arbiter.operations.query({ target: 'changed' }).length, 0);
  await arbiter.stop();
});

// --- 7. typos are errors, with a suggestion ----------------------------------------------------------

const typos: Array<[string, () => unknown, string, string | undefined]> = [
  ['createArbiter({ windowMS })', () => createArbiter({ windowMS: 50 } as never), 'windowMS', 'windowMs'],
  ['createArbiter({ gracePeriod })', () => createArbiter({ gracePeriod: 50 } as never), 'gracePeriod', 'gracePeriodMs'],
  ['createArbiter({ retry: { maxDelay } })', () => createArbiter({ retry: { maxDelay: 5 } } as never), 'retry.maxDelay', 'maxDelayMs'],
  ['createArbiter({ cleanup: { stratgey } })', () => createArbiter({ cleanup: { stratgey: 'lazy' } } as never), 'cleanup.stratgey', 'strategy'],
  ['createArbiter({ breaker: { openMS } })', () => createArbiter({ breaker: { openMS: 5 } } as never), 'breaker.openMS', 'openMs'],
  ['createArbiter({ nonsense })', () => createArbiter({ nonsense: true } as never), 'nonsense', undefined],
  ['createArbiter({ metrics: { prefx } })', () => createArbiter({ metrics: { prefx: 'a_' } } as never), 'metrics.prefx', 'prefix'],
  ['createArbiter({ health: { threshold } })', () => createArbiter({ health: { threshold: {} } } as never), 'health.threshold', 'thresholds'],
  ['createArbiter({ health: { thresholds: { maxStage } } })', () => createArbiter({ health: { thresholds: { maxStage: 5 } } } as never), 'health.thresholds.maxStage', 'maxStaged'],
  ['createArbiter({ __proto__ })', () => createArbiter(JSON.parse('{"__proto__": {"windowMs": 1}}')), '__proto__', undefined],
  ['extendLifecycle({ afterwin })', () => extendLifecycle({ afterwin: {} } as never), 'afterwin', 'afterWin'],
  ['extendLifecycle({ delay })', () => extendLifecycle({ delay: { x: 5 } } as never), 'delay', 'delays'],
  ['extendLifecycle step { onn }', () => extendLifecycle({ afterWin: { approval: { onn: { approve: 'next' } } } } as never), 'afterWin.approval.onn', 'on'],
  ['extendLifecycle step { afer }', () => extendLifecycle({ beforeStaged: { check: { always: 'next', afer: { 5: 'next' } } } } as never), 'beforeStaged.check.afer', 'after'],
  ['extendLifecycle transition { taget }', () => extendLifecycle({ afterWin: { approval: { on: { approve: { taget: 'next' } } } } } as never), 'afterWin.approval.on.approve.taget', 'target'],
  ['extendLifecycle transition { gaurd }', () =>
    extendLifecycle({ afterWin: { approval: { on: { approve: 'next', deny: { target: 'rejected', code: 'denied', gaurd: () => true } } } } } as never),
    'afterWin.approval.on.deny.gaurd', 'guard'],
  ['extendLifecycle after transition { reson }', () =>
    extendLifecycle({ afterWin: { approval: { on: { approve: 'next' }, after: { 50: { target: 'rejected', code: 'late', reson: 'too late' } } } } } as never),
    'afterWin.approval.after.50.reson', 'reason'],
  ['extendLifecycle invoke { scr }', () => extendLifecycle({ afterWin: { a: { invoke: { scr: 'x', onDone: 'next' } } } } as never), 'afterWin.a.invoke.scr', 'src'],
  ['extendLifecycle states patch { entyr }', () => extendLifecycle({ states: { executing: { entyr: () => {} } } } as never), 'states.executing.entyr', 'entry'],
  ['extendLifecycle states handler { action }', () => extendLifecycle({ states: { staged: { on: { note: { action: () => {} } } } } } as never), 'states.staged.on.note.action', 'actions'],
  ['extendLifecycle enterIf { cod }', () => extendLifecycle({ states: { executing: { enterIf: { guard: () => true, code: 'x', cod: 'y' } } } } as never), 'states.executing.enterIf.cod', 'code'],
  ['createLifecycleTestModel({ maxRetry })', () => createLifecycleTestModel(undefined, { maxRetry: 1 } as never), 'maxRetry', 'maxRetries'],
  ['createLifecycleTestModel({ exlude })', () => createLifecycleTestModel(undefined, { exlude: ['arbiter.cancel'] } as never), 'exlude', 'exclude'],
];

for (const [name, call, field, hint] of typos) {
  test(`${name} is an ArbiterInputError naming the key${hint ? `, suggesting ${hint}` : ''}`, (t) => {
    const err = t.throws(call, { instanceOf: ArbiterInputError });
    t.is(err?.field, field);
    if (hint) t.regex(err?.message ?? '', new RegExp(`did you mean \`([\\w-]+\\.)*${hint}\``));
    else t.notRegex(err?.message ?? '', /did you mean/);
  });
}

test('operations.query({ stauts }) is refused with a suggestion instead of matching everything', async (t) => {
  const { clock, arbiter } = harness();
  arbiter.submit({ target: 't', priority: 9, execute });
  arbiter.submit({ target: 't', priority: 1, execute });
  await advance(clock, 100);
  await arbiter.onIdle();
  t.is(arbiter.operations.query({ status: 'rejected' }).length, 1);
  const err = t.throws(() => arbiter.operations.query({ stauts: 'rejected' } as never), { instanceOf: ArbiterInputError });
  t.is(err?.field, 'filter.stauts');
  t.regex(err?.message ?? '', /did you mean `filter\.status`/);
  t.throws(() => arbiter.operations.query({ traget: 't' } as never), { instanceOf: ArbiterInputError, message: /did you mean `filter\.target`/ });
  t.is(arbiter.operations.query().length, 2);
  await arbiter.stop();
});

test('createLifecycleTestModel refuses option values of the wrong kind, naming them', (t) => {
  for (const [options, field] of [[{ whileExecuting: 'later' }, 'whileExecuting'], [{ maxRetries: -1 }, 'maxRetries'], [{ strategy: 'all' }, 'strategy'], [{ limit: 0 }, 'limit'], [{ exclude: 'arbiter.cancel' }, 'exclude']] as const) {
    const err = t.throws(() => createLifecycleTestModel(undefined, options as never), { instanceOf: ArbiterInputError });
    t.is(err?.field, field);
  }
});

test('submit({ prority }) and submitWithRetry(spec, { attemps }) are refused with a suggestion', async (t) => {
  const { arbiter } = harness();
  const err = t.throws(() => arbiter.submit({ target: 't', prority: 8, execute } as never), { instanceOf: ArbiterInputError });
  t.is(err?.field, 'prority');
  t.regex(err?.message ?? '', /did you mean `priority`/);
  const err2 = t.throws(() => arbiter.submitWithRetry({ target: 't', execute }, { attemps: 3 } as never), { instanceOf: ArbiterInputError });
  t.regex(err2?.message ?? '', /did you mean `attempts`/);
  const err3 = t.throws(() => arbiter.inspect(() => {}, { sampleOperations: () => true } as never), { instanceOf: ArbiterInputError });
  t.regex(err3?.message ?? '', /did you mean `sampleOperation`/);
  t.is(arbiter.metrics().submitted, 0);
  await arbiter.stop();
});

test('a long value in an error message is cut visibly in the middle, keeping its end', async (t) => {
  const { arbiter } = harness();
  const long = `@${'x'.repeat(80)}f34b44df3.no`;
  const err = t.throws(() => arbiter.submit({ target: 't', priority: long, execute } as never), { instanceOf: ArbiterInputError });
  t.regex(err?.message ?? '', /…/);
  t.regex(err?.message ?? '', /f34b44df3\.no/);
  t.regex(err?.message ?? '', /\(93 characters\)/);
  await arbiter.stop();
});

// --- 9. priority inheritance when ancestors are gone -----------------------------------------------

for (const strategy of ['immediate', 'deferred', 'lazy'] as const) {
  test(`priority inheritance, cleanup '${strategy}': a child of a live parent whose grandparent is gone inherits the chain's priority`, async (t) => {
    const cleanup = strategy === 'deferred' ? { strategy, retentionMs: 10 } : strategy === 'lazy' ? { strategy, maxAgeMs: 10 } : { strategy };
    const { clock, arbiter } = harness({ cleanup });
    const grandparent = arbiter.submit({ target: 'g', id: 'grandparent', priority: Priority.CRITICAL, execute });
    const parent = arbiter.submit({ target: 'p', id: 'parent', priority: Priority.LOW, parentId: 'grandparent', execute: () => new Promise(() => {}) });
    await advance(clock, 100);
    await grandparent.result;
    await advance(clock, 1000); // the grandparent's record expires (deferred) or is met expired (lazy)
    arbiter.operations.query(); // a read: lazy cleanup drops what it meets expired
    if (strategy !== 'deferred' || arbiter.operations.get('grandparent') === undefined) {
      t.is(arbiter.operations.get('grandparent'), undefined, 'the grandparent is gone');
    }
    t.is(arbiter.operations.get('parent')?.effectivePriority, Priority.CRITICAL);
    const child = arbiter.submit({ target: 'c', id: 'child', priority: Priority.BACKGROUND, parentId: 'parent', execute });
    t.is(arbiter.operations.get(child.id)?.effectivePriority, Priority.CRITICAL, 'inherited through the live parent');
    const rival = arbiter.submit({ target: 'c', priority: Priority.HIGH, execute });
    await advance(clock, 100);
    t.is(await child.result, 'ran', 'the BACKGROUND child beats a HIGH rival');
    t.like(await outcome(rival.result), { ok: false, code: 'lost-arbitration' });
    t.is(parent.status(), 'executing');
    await arbiter.stop();
    await flush();
  });
}
