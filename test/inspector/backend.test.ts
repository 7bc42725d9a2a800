// The inspector on a shared backend: the page's header names the backend and this process's id on
// it, and an operation of another process (named by the backend's decisions) shows its process.
// The backend is a scripted one that decides "elsewhere", as Redis does.
import test from 'ava';
import WebSocket from 'ws';
import { SimulatedClock } from 'xstate';
import { attachInspector, InspectorFeed } from '../../inspector/index.js';
import { sequenceRows, Store } from '../../inspector/page/model.js';
import { createArbiter, Priority, type ArbiterBackend, type Candidate, type TargetListener } from '../../src/index.js';
import { advance } from '../helpers/index.js';

const HERE = 'host-a:101:abcd1234';
const THERE = 'host-b:202:ef567890';

/** A backend that decides elsewhere: the test delivers each decision. `extra`: fields it shows. */
function scripted(extra: object = {}) {
  const listeners = new Map<string, TargetListener>();
  const staged = new Map<string, Candidate[]>();
  // Copied with its getters (Object.assign would call them).
  const backend = Object.defineProperties(
    {
      kind: 'redis',
      decidesLocally: false,
      ready: () => Promise.resolve(),
      close: () => Promise.resolve(),
      open(target: string, listener: TargetListener) {
        listeners.set(target, listener);
        return {
          stage: (c: Candidate) => void staged.set(target, [...(staged.get(target) ?? []), c]),
          withdraw: () => undefined,
          decide: () => undefined,
          release: () => undefined,
          dispose: () => undefined,
        };
      },
    },
    Object.getOwnPropertyDescriptors(extra),
  ) as unknown as ArbiterBackend;
  return { backend, listeners, staged };
}

const candidate = (c: Candidate, processId: string) => Object.freeze({ ...c, processId });

test('attachInspector() - hello names the backend: its kind, this process id, URL without credentials; a throwing field is left out', async (t) => {
  const { backend } = scripted({
    processId: HERE,
    url: 'redis://user:secret@10.0.0.5:6379/0',
    keyPrefix: 'shop:',
    get leaseMs(): number {
      throw new Error('hostile getter');
    },
  });
  const arbiter = createArbiter({ backend, windowMs: 50 });
  const server = await attachInspector(arbiter, { flushMs: 5 });
  const ws = new WebSocket(`ws://127.0.0.1:${server.port}/ws`);
  t.teardown(() => ws.terminate());
  const hello = await new Promise<Record<string, any>>((resolve, reject) => {
    ws.on('message', (data) => {
      const batch = JSON.parse(String(data)) as { hello?: Record<string, any> };
      if (batch.hello) resolve(batch.hello);
    });
    ws.once('error', reject);
  });
  t.deepEqual(hello['backend'], { kind: 'redis', processId: HERE, url: 'redis://10.0.0.5:6379/0', keyPrefix: 'shop:' });
  t.is(hello['pid'], process.pid);
  ws.close();
  await server.close();
  await arbiter.stop();

  // The default backend: memory, nothing more to say.
  const plain = createArbiter({ windowMs: 50 });
  const s2 = await attachInspector(plain, { flushMs: 5 });
  const ws2 = new WebSocket(`ws://127.0.0.1:${s2.port}/ws`);
  t.teardown(() => ws2.terminate());
  const hello2 = await new Promise<Record<string, any>>((resolve) => ws2.on('message', (d) => {
    const b = JSON.parse(String(d)) as { hello?: Record<string, any> };
    if (b.hello) resolve(b.hello);
  }));
  t.deepEqual(hello2['backend'], { kind: 'memory' });
  ws2.close();
  await s2.close();
  await plain.stop();
});

test('InspectorFeed → page Store - an operation of another process shows its process id; a lost lease ends an operation backend-unavailable, drawn from the coordinator', async (t) => {
  const clock = new SimulatedClock();
  const { backend, listeners, staged } = scripted({ processId: HERE });
  const arbiter = createArbiter({ clock, backend, windowMs: 100 });
  const feed = new InspectorFeed(arbiter, { maxOperationsPerSec: Infinity });
  feed.connect();
  const store = new Store();
  store.hello({ runId: 'r1', startedAt: 0, mode: 'arbiter', pid: process.pid, backend: { kind: 'redis', processId: HERE } });
  const pump = () => {
    for (const m of feed.drain(100_000)) store.apply(m as unknown as Record<string, any>);
  };

  const mine = arbiter.submit({ target: 't', id: 'mine', priority: Priority.LOW, execute: async () => 'mine' });
  await advance(clock, 100);
  // Another process's candidate won this window; this process closed it, so it reports it.
  const theirs = candidate({ id: 'theirs', target: 't', type: 'remote', priority: 8, effectivePriority: 8, submittedAt: 0, seq: 0, data: undefined }, THERE);
  listeners.get('t')!.decided({ kind: 'start', winner: theirs, losers: [candidate(staged.get('t')![0]!, HERE)], preempt: [] }, true);
  await advance(clock, 1);
  t.like(await mine.result.catch((e: unknown) => e), { code: 'lost-arbitration' });

  // A winner of this process loses its lease while it runs.
  const held = arbiter.submit({ target: 't', id: 'held', execute: ({ signal }) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted')))) });
  await advance(clock, 100);
  listeners.get('t')!.decided({ kind: 'start', winner: candidate(staged.get('t')!.at(-1)!, HERE), losers: [], preempt: [] }, true);
  await advance(clock, 1);
  t.is(held.status(), 'executing');
  listeners.get('t')!.leaseLost('held', 'the lease on t expired');
  await advance(clock, 1);
  t.like(await held.result.catch((e: unknown) => e), { code: 'backend-unavailable' });
  pump();

  t.is(store.processOf('theirs'), THERE, 'named by the decision the coordinator received');
  t.is(store.processOf('mine'), undefined, 'an operation of this process is not remote');
  t.is(store.processOf('held'), undefined);
  const seq = sequenceRows(store.targets.get('t').events, { processOf: (id) => store.processOf(id) });
  t.true(seq.lanes.includes('theirs'));
  t.deepEqual([...seq.remote], [['theirs', THERE]]);
  const row = (label: string) => seq.rows.find((r) => r.label === label);
  t.like(row('rejected lost-arbitration'), { from: 'coordinator', to: 'mine' });
  t.like(row('rejected backend-unavailable'), { from: 'coordinator', to: 'held' });
  // The operation's own history shows the lifecycle's abort event from the coordinator.
  const heldActor = store.actors.get(store.opIndex.get('held')!);
  t.true(heldActor.history.some((h: { event: { type: string } }) => h.event.type === 'arbiter.abort'));
  t.is(heldActor.snapshot.context.code, 'backend-unavailable');
  // The log carries the coordinator's backend events as XState rows.
  t.true(store.log.rows.some((r) => r.xstate && r.type === 'backend.leaseLost'));
  t.true(store.log.rows.some((r) => r.xstate && r.type === 'backend.decided'));

  feed.disconnect();
  await arbiter.stop();
});

test('Store - process ids from decisions: bounded, kept as data (any id), and none shown without this process id', (t) => {
  const store = new Store();
  store.hello({ runId: 'r', startedAt: 0, mode: 'arbiter', pid: 1, backend: { kind: 'redis' } });
  const decided = (winner: unknown, losers: unknown[] = []) =>
    store.apply({ type: '@xstate.event', sessionId: 'c1', rootId: 'c1', event: { type: 'backend.decided', decision: { kind: 'start', winner, losers } }, createdAt: '1' });
  decided({ id: '__proto__', processId: THERE }, [{ id: 'constructor', processId: THERE }, { id: 'x', processId: { evil: true } }, null, 'junk']);
  t.is(store.processOf('__proto__'), undefined, 'without its own process id the page cannot tell remote from local');
  store.hello({ runId: 'r', startedAt: 0, mode: 'arbiter', pid: 1, backend: { kind: 'redis', processId: HERE } });
  t.is(store.processOf('__proto__'), THERE);
  t.is(store.processOf('constructor'), THERE);
  t.is(store.processOf('x'), undefined, 'a process id that is not a string or number is ignored');
  for (let i = 0; i < 6000; i++) decided({ id: `op-${i}`, processId: THERE });
  t.is(store.processes.size, 5000);
  t.is(store.processOf('op-5999'), THERE);
  t.is(store.processOf('__proto__'), undefined, 'the oldest are forgotten first');
});
