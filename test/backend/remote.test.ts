// The seam's side for a backend that decides elsewhere (as Redis does), driven by a scripted fake:
// decisions that arrive later or from another process, remote preemption, a lost lease, a lost
// backend. The coordinator must apply each to its own operations only, and leave none without a
// final state.
import test from 'ava';
import { SimulatedClock } from 'xstate';
import {
  createArbiter,
  Priority,
  type ArbiterBackend,
  type ArbitrationDecision,
  type Candidate,
  type TargetChannel,
  type TargetListener,
  type TargetSettings,
} from '../../src/index.js';
import { advance } from '../helpers/index.js';

/** A backend that records what coordinators tell it and lets the test decide. */
function scripted() {
  const listeners = new Map<string, TargetListener>();
  const staged = new Map<string, Candidate[]>();
  const calls: string[] = [];
  const settings: TargetSettings[] = [];
  const backend: ArbiterBackend = {
    kind: 'scripted',
    decidesLocally: false,
    ready: () => Promise.resolve(),
    close: () => {
      calls.push('close');
      return Promise.resolve();
    },
    open(target, listener, s): TargetChannel {
      listeners.set(target, listener);
      settings.push(s);
      return {
        stage: (c) => {
          calls.push(`stage ${c.id}`);
          staged.set(target, [...(staged.get(target) ?? []), c]);
        },
        withdraw: (id) => calls.push(`withdraw ${id}`),
        decide: () => {
          calls.push(`decide ${target}`);
          return undefined;
        },
        release: (id) => calls.push(`release ${id}`),
        dispose: () => calls.push(`dispose ${target}`),
      };
    },
  };
  return { backend, listeners, staged, calls, settings };
}

const remote = (id: string, effectivePriority: number): Candidate =>
  Object.freeze({ id, target: 't', type: 'remote', priority: effectivePriority, effectivePriority, submittedAt: 0, seq: 0, data: undefined });

test('a shared backend gets every candidate staged, is asked at the window, and its later decision is applied to this process only', async (t) => {
  const clock = new SimulatedClock();
  const { backend, listeners, staged, calls } = scripted();
  const arbiter = createArbiter({ clock, backend, windowMs: 100 });
  const events: string[] = [];
  arbiter.events$.subscribe((e) => events.push(e.type));
  const mine = arbiter.submit({ target: 't', id: 'mine', priority: Priority.LOW, execute: async () => 'mine' });
  const also = arbiter.submit({ target: 't', id: 'also', priority: Priority.HIGH, execute: async () => 'also' });
  t.deepEqual(staged.get('t')!.map((c) => c.id), ['mine', 'also']);
  await advance(clock, 100);
  t.true(calls.includes('decide t'));
  t.is(mine.status(), 'staged', 'waiting for the decision');
  // Another process's candidate won this window; both of ours lose. Reported by the other process.
  const winner = remote('theirs', Priority.CRITICAL);
  const decision: ArbitrationDecision = { kind: 'start', winner, losers: [staged.get('t')![0]!, staged.get('t')![1]!], preempt: [] };
  listeners.get('t')!.decided(decision, false);
  await advance(clock, 1);
  t.like(await mine.result.catch((e) => e), { code: 'lost-arbitration' });
  t.like(await also.result.catch((e) => e), { code: 'lost-arbitration' });
  t.false(events.includes('conflict.resolved'), 'the process that closed the window reports it');
  const m = arbiter.metrics();
  t.is(m.submitted, m.completed + m.rejected + m.inFlight);
  await arbiter.stop();
});

test('a winner of this process starts on the decision; a remote preemption aborts it; a lost lease ends it backend-unavailable', async (t) => {
  const clock = new SimulatedClock();
  const { backend, listeners, staged, calls } = scripted();
  const arbiter = createArbiter({ clock, backend, windowMs: 100 });
  let aborted = 0;
  const hang = ({ signal }: { signal: AbortSignal }) => new Promise((_, reject) => signal.addEventListener('abort', () => (aborted++, reject(new Error('aborted')))));
  const a = arbiter.submit({ target: 't', id: 'a', execute: hang });
  const b = arbiter.submit({ target: 'u', id: 'b', execute: hang });
  await advance(clock, 100);
  listeners.get('t')!.decided({ kind: 'start', winner: staged.get('t')![0]!, losers: [], preempt: [] });
  listeners.get('u')!.decided({ kind: 'start', winner: staged.get('u')![0]!, losers: [], preempt: [] });
  await advance(clock, 1);
  t.is(a.status(), 'executing');
  t.is(b.status(), 'executing');
  listeners.get('t')!.preempt('a', 'preempted by a CRITICAL operation of another process');
  listeners.get('u')!.leaseLost('b', 'the lease on u expired: Redis unreachable for 2000 ms');
  await advance(clock, 1);
  t.like(await a.result.catch((e) => e), { code: 'preempted', reason: 'preempted by a CRITICAL operation of another process' });
  t.like(await b.result.catch((e) => e), { code: 'backend-unavailable' });
  t.is(aborted, 2, 'both executions were aborted through their signals');
  t.false(calls.includes('release a'), 'a preempted holder was released by the backend that preempted it');
  await arbiter.stop();
});

test('the backend lost: everything staged or held on the target ends backend-unavailable; the next submissions still work', async (t) => {
  const clock = new SimulatedClock();
  const { backend, listeners, staged } = scripted();
  const arbiter = createArbiter({ clock, backend, windowMs: 100 });
  const held = arbiter.submit({ target: 't', id: 'held', execute: () => new Promise(() => {}) });
  await advance(clock, 100);
  listeners.get('t')!.decided({ kind: 'start', winner: staged.get('t')![0]!, losers: [], preempt: [] });
  const waiting = arbiter.submit({ target: 't', id: 'waiting', execute: async () => 1 });
  await advance(clock, 1);
  listeners.get('t')!.unavailable(new Error('connection refused'));
  await advance(clock, 1);
  for (const h of [held, waiting]) t.like(await h.result.catch((e) => e), { code: 'backend-unavailable' });
  t.is(arbiter.metrics().inFlight, 0);
  const later = arbiter.submit({ target: 't', id: 'later', execute: async () => 'ok' });
  await advance(clock, 100);
  listeners.get('t')!.decided({ kind: 'start', winner: staged.get('t')!.at(-1)!, losers: [], preempt: [] });
  await advance(clock, 1);
  t.is(await later.result, 'ok');
  await arbiter.stop();
});

test('a loser that retries is staged again with the shared backend for the next window', async (t) => {
  const clock = new SimulatedClock();
  const { backend, listeners, staged, calls } = scripted();
  const arbiter = createArbiter({ clock, backend, windowMs: 100 });
  const loser = arbiter.submit({ target: 't', id: 'loser', onLose: 'retry', execute: async () => 'eventually' });
  await advance(clock, 100);
  listeners.get('t')!.decided({ kind: 'start', winner: remote('theirs', 10), losers: [staged.get('t')![0]!], preempt: [] });
  await advance(clock, 1);
  t.is(loser.status(), 'staged');
  t.is(calls.filter((c) => c === 'stage loser').length, 2);
  await advance(clock, 100);
  listeners.get('t')!.decided({ kind: 'start', winner: staged.get('t')!.at(-1)!, losers: [], preempt: [] });
  await advance(clock, 1);
  t.is(await loser.result, 'eventually');
  await arbiter.stop();
});

test("a start decision's fencing token reaches execute({ fence }), through a lifecycle's steps after winning too", async (t) => {
  const { extendLifecycle } = await import('../../src/index.js');
  for (const lifecycle of [undefined, extendLifecycle({ afterWin: { approval: { on: { approve: 'next' } } } })]) {
    const clock = new SimulatedClock();
    const { backend, listeners, staged } = scripted();
    const arbiter = createArbiter({ clock, backend, windowMs: 100, ...(lifecycle ? { lifecycle } : {}) });
    const h = arbiter.submit({ target: 't', execute: async ({ fence }) => fence });
    await advance(clock, 100);
    listeners.get('t')!.decided({ kind: 'start', winner: staged.get('t')![0]!, losers: [], preempt: [], fence: { target: 't', token: 42 } });
    await advance(clock, 1);
    if (lifecycle) h.send({ type: 'approve' });
    t.deepEqual(await h.result, { target: 't', token: 42 });
    await arbiter.stop();
  }
  // In memory nothing else can hold a target: no fence.
  const plain = createArbiter({ windowMs: 1 });
  t.is(await plain.submit({ target: 't', execute: async ({ fence }) => fence }).result, undefined);
  await plain.stop();
});

test('open() gets the window settings a shared backend opens windows with; stop() disposes the channels, then closes the backend', async (t) => {
  const clock = new SimulatedClock();
  const { backend, settings, calls } = scripted();
  const arbiter = createArbiter({ clock, backend, windowMs: 70, gracePeriodMs: 30, whileExecuting: 'queue' });
  arbiter.submit({ target: 't', execute: async () => 1 }).result.catch(() => undefined);
  t.like(settings[0], { windowMs: 70, gracePeriodMs: 30, whileExecuting: 'queue' });
  await arbiter.stop();
  t.deepEqual(calls.slice(-2), ['dispose t', 'close']);
});

test('stop() resolves even when the backend fails to close', async (t) => {
  const { backend } = scripted();
  const arbiter = createArbiter({ backend: { ...backend, close: () => Promise.reject(new Error('connection reset')) }, windowMs: 10 });
  await t.notThrowsAsync(arbiter.stop());
});
