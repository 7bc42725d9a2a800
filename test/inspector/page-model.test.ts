import test from 'ava';
import { flattenTree, LogModel, naturalCompare, rowMatches, sequenceRows, Store } from '../../inspector/page/model.js';

const actor = (sid: string, extra: Record<string, unknown> = {}) => ({ type: '@xstate.actor', sessionId: sid, rootId: sid, name: 'operation', machine: 'operation', snapshot: { status: 'active' }, createdAt: '1000', ...extra });
const snap = (sid: string, value: string, context: Record<string, unknown>, status = 'active', t = 1000) => ({
  type: '@xstate.snapshot', sessionId: sid, rootId: sid, event: { type: `to.${value}` }, snapshot: { status, value, context }, createdAt: String(t),
});
const op = (store: Store, sid: string, target: string, id: string, value = 'staged', status = 'active', t = 1000) => {
  store.apply(actor(sid), t);
  store.apply(snap(sid, value, { id, target, type: 'withdraw', priority: 5 }, status, t), t);
};
const coordinator = (store: Store, sid: string, target: string, value = 'collecting') => {
  store.apply(actor(sid, { name: 'coordinator', machine: 'coordinator' }));
  store.apply(snap(sid, value, { target, staged: [] }));
};

test('naturalCompare() - numbers in ids sort by value, ties by exact case', (t) => {
  t.deepEqual(['account-10', 'account-9', 'account-1', 'Account-1', 'account-100'].sort(naturalCompare), ['account-1', 'Account-1', 'account-9', 'account-10', 'account-100']);
});

test('Store - operations group under their target, coordinators follow the target across instances', (t) => {
  const store = new Store();
  store.hello({ runId: 'r1', startedAt: 0, mode: 'arbiter' });
  coordinator(store, 'c1', 'acct');
  op(store, 'a1', 'acct', 'op-1');
  t.is(store.coordinatorOf('acct')?.sid, 'c1');
  t.deepEqual(store.targets.get('acct').ops, ['a1']);
  // The idle coordinator stops; the next submission starts another one: the target shows the new one.
  store.apply(snap('c1', 'stopped', { target: 'acct', staged: [] }, 'done'));
  coordinator(store, 'c2', 'acct');
  t.is(store.coordinatorOf('acct')?.sid, 'c2');
  t.false(store.actors.has('c1'));
});

test('Store - an operation announced before its first snapshot is placed once its context is known', (t) => {
  const store = new Store();
  store.hello({ runId: 'r1', startedAt: 0, mode: 'arbiter' });
  store.apply(actor('a1'));
  t.is(store.system.size, 0, 'not taken for another actor');
  store.apply(snap('a1', 'pending', { id: 'op-1', target: 'acct' }));
  t.is(store.actors.get('a1').kind, 'operation');
  // Tomorrow's shape: an operation whose parent is its coordinator is still an operation of its target.
  coordinator(store, 'c1', 'acct');
  store.apply(actor('a2', { parentId: 'c1', rootId: 'c1' }));
  store.apply(snap('a2', 'pending', { id: 'op-2', target: 'acct' }));
  t.is(store.actors.get('a2').kind, 'operation');
  t.deepEqual(store.targets.get('acct').ops, ['a1', 'a2']);
});

test('Store - beyond opsPerTarget the oldest finished operations are hidden and counted; the pinned one stays', (t) => {
  const store = new Store({ opsPerTarget: 3 });
  store.hello({ runId: 'r1', startedAt: 0, mode: 'arbiter' });
  op(store, 's0', 'acct', 'op-0', 'rejected', 'done', 1);
  store.pinned.add('s0');
  for (let i = 1; i <= 5; i++) op(store, `s${i}`, 'acct', `op-${i}`, i < 4 ? 'rejected' : 'staged', i < 4 ? 'done' : 'active', 1 + i);
  const ops = store.targets.get('acct').ops;
  t.is(ops.length, 3);
  t.true(ops.includes('s0'), 'the selected operation is never trimmed');
  t.is(store.targets.get('acct').hidden, 3);
  // Finished operations leave after finalKeepMs, unless pinned.
  store.sweep(Date.now() + 60_000);
  t.deepEqual(store.targets.get('acct').ops.sort(), ['s0', 's4', 's5']);
});

test('Store.hello() - the same run keeps everything, a new run resets', (t) => {
  const store = new Store();
  t.is(store.hello({ runId: 'r1', startedAt: 0 }), 'first');
  op(store, 's1', 'acct', 'op-1');
  t.is(store.hello({ runId: 'r1', startedAt: 0 }), 'same');
  t.is(store.actors.size, 1);
  t.is(store.hello({ runId: 'r2', startedAt: 5 }), 'new');
  t.is(store.actors.size, 0);
  t.is(store.targets.size, 0);
});

test('Store - history records every step with its time, event and context, bounded', (t) => {
  const store = new Store({ historyLimit: 3 });
  store.hello({ runId: 'r', startedAt: 0 });
  store.apply(actor('a1'));
  for (const [i, v] of ['pending', 'staged', 'executing', 'completed'].entries()) store.apply(snap('a1', v, { id: 'x', target: 'acct', attempt: i }, v === 'completed' ? 'done' : 'active', 1000 + i));
  const h = store.actors.get('a1').history;
  t.deepEqual(h.map((s: { value: string }) => s.value), ['staged', 'executing', 'completed']);
  t.deepEqual(h.map((s: { t: number }) => s.t), [1001, 1002, 1003]);
  t.is(h[2].event.type, 'to.completed');
  t.is(h[1].context.attempt, 2);
});

test('flattenTree() - natural order, search by target or operation id, collapse, the kept actor always shown', (t) => {
  const store = new Store();
  store.hello({ runId: 'r', startedAt: 0, mode: 'arbiter' });
  for (const n of [10, 2, 1]) {
    coordinator(store, `c${n}`, `account-${n}`);
    op(store, `o${n}`, `account-${n}`, `op-${n}`);
  }
  const targets = (rows: ReturnType<typeof flattenTree>) => rows.filter((r) => r.kind === 'target').map((r) => r.target);
  t.deepEqual(targets(flattenTree(store)), ['account-1', 'account-2', 'account-10']);
  const found = flattenTree(store, { query: 'op-10' });
  t.deepEqual(targets(found), ['account-10']);
  t.deepEqual(found.filter((r) => r.kind === 'operation').map((r) => r.actor.opId), ['op-10']);
  t.deepEqual(targets(flattenTree(store, { query: 'ACCOUNT-2' })), ['account-2']);
  const closed = flattenTree(store, { collapsed: new Set(['t:account-1']) });
  t.true(closed.find((r) => r.id === 't:account-1')!.collapsed);
  t.false(closed.some((r) => r.sid === 'o1'));
  t.true(flattenTree(store, { query: 'op-10', keep: 'o1' }).some((r) => r.sid === 'o1'), 'the selection survives a search');
  t.false(flattenTree(store, { expandedByDefault: false }).some((r) => r.kind === 'operation'));
});

test('LogModel and rowMatches() - filters hide without discarding; clear resets rows and counts', (t) => {
  const log = new LogModel(10);
  for (let i = 0; i < 30; i++) log.add({ t: i, type: i % 2 ? 'operation.rejected' : 'operation.submitted', target: `t${i % 3}`, op: `op-${i}`, sid: null, detail: '', xstate: i % 5 === 0, payload: {}, app: null });
  t.is(log.received, 30);
  t.true(log.rows.filter((r) => !r.xstate).length <= 11, 'bounded per kind');
  t.is(log.rows.filter((r) => r.xstate).length, 6, 'XState chatter never pushes arbiter rows out, nor the reverse');
  t.is(log.trimmed, 30 - log.rows.length);
  const f = { target: 't1', op: '', type: '', xstate: false };
  const shown = log.rows.filter((r) => rowMatches(r, f));
  t.true(shown.every((r) => r.target === 't1' && !r.xstate));
  t.is(log.rows.filter((r) => rowMatches(r, { xstate: true })).length, log.rows.length, 'clearing the filters brings every row back');
  log.clear();
  t.is(log.received, 0);
  t.is(log.rows.length, 0);
});

test('sequenceRows() - lanes for callers, coordinator and operations; one window on its own', (t) => {
  const events = [
    { seq: 1, type: 'operation.submitted', target: 'a', operationId: 'x', operationType: 'withdraw', priority: 2, at: 0 },
    { seq: 2, type: 'operation.staged', target: 'a', operationId: 'x', at: 0 },
    { seq: 3, type: 'operation.submitted', target: 'a', operationId: 'y', operationType: 'freeze', priority: 8, at: 1 },
    { seq: 4, type: 'operation.staged', target: 'a', operationId: 'y', at: 1 },
    { seq: 5, type: 'conflict.detected', target: 'a', candidateIds: ['x', 'y'], at: 100 },
    { seq: 6, type: 'conflict.resolved', target: 'a', candidateIds: ['x', 'y'], winnerId: 'y', loserIds: ['x'], decision: 'start', at: 100 },
    { seq: 7, type: 'operation.rejected', target: 'a', operationId: 'x', code: 'lost-arbitration', at: 100 },
    { seq: 8, type: 'operation.started', target: 'a', operationId: 'y', attempt: 1, at: 100 },
    { seq: 9, type: 'operation.completed', target: 'a', operationId: 'y', durationMs: 120, at: 220 },
    { seq: 10, type: 'operation.submitted', target: 'a', operationId: 'z', operationType: 'audit', priority: 5, at: 300 },
  ];
  const all = sequenceRows(events);
  t.deepEqual(all.lanes, ['callers', 'coordinator', 'x', 'y', 'z']);
  t.deepEqual(all.rows.map((r) => [r.from, r.to, r.label]).slice(0, 7), [
    ['callers', 'x', 'submit withdraw P2'],
    ['x', 'coordinator', 'staged'],
    ['callers', 'y', 'submit freeze P8'],
    ['y', 'coordinator', 'staged'],
    ['coordinator', 'coordinator', 'window closed: 2 candidates'],
    ['coordinator', 'y', 'winner'],
    ['coordinator', 'x', 'rejected lost-arbitration'],
  ]);
  const one = sequenceRows(events, { windowSeq: 5 });
  t.deepEqual(one.lanes, ['callers', 'coordinator', 'x', 'y'], 'the later submission is not part of this window');
  t.true(one.rows.some((r) => r.label.startsWith('✓ completed')));
  t.deepEqual(sequenceRows(events, { windowSeq: 99 }).rows, []);
});

test('Store - an operation that runs in another process (its context names a process) shows that process', (t) => {
  const store = new Store();
  store.hello({ runId: 'r', startedAt: 0, mode: 'arbiter', pid: 100, backend: { kind: 'redis', url: 'redis://127.0.0.1:6379' } });
  store.apply(actor('here'));
  store.apply(snap('here', 'staged', { id: 'h', target: 'acct', pid: 100 }));
  store.apply(actor('there'));
  store.apply(snap('there', 'staged', { id: 'x', target: 'acct', origin: { pid: 200 } }));
  t.is(store.actors.get('here').process, undefined);
  t.is(store.actors.get('there').process, '200');
  t.is(store.run.backend.kind, 'redis');
});

test('Store - sameContext keeps the previous context, sameEvent takes the payload of the event just delivered', (t) => {
  const store = new Store();
  store.hello({ runId: 'r', startedAt: 0, mode: 'arbiter' });
  store.apply(actor('a1'));
  store.apply(snap('a1', 'pending', { id: 'x', target: 'acct', data: { n: 1 } }));
  store.apply({ type: '@xstate.event', sessionId: 'a1', rootId: 'a1', event: { type: 'arbiter.admit', why: 'room' }, createdAt: '1001' });
  store.apply({ type: '@xstate.snapshot', sessionId: 'a1', rootId: 'a1', sameEvent: true, event: { type: 'arbiter.admit' }, snapshot: { status: 'active', value: 'staged', sameContext: true }, createdAt: '1002' });
  const a = store.actors.get('a1');
  t.deepEqual(a.snapshot.context, { id: 'x', target: 'acct', data: { n: 1 } });
  t.deepEqual(a.history.at(-1).event, { type: 'arbiter.admit', why: 'room' });
  t.is(a.history.at(-1).context, a.history.at(-2).context, 'one context object shared by the steps that did not change it');
});

test('Store.sweep() - actors that never found their place in the tree do not stay forever', (t) => {
  const store = new Store({ finalKeepMs: 1000 });
  store.hello({ runId: 'r', startedAt: 0, mode: 'arbiter' });
  store.apply(actor('orphan', { parentId: 'gone', name: 'execute', machine: undefined }), 0);
  store.apply(actor('waiting', { parentId: 'gone' }), 0);
  t.true(store.actors.has('orphan'));
  store.sweep(3000);
  t.true(store.actors.has('orphan'), 'not yet');
  store.sweep(6000);
  t.false(store.actors.has('orphan'));
  t.false(store.actors.has('waiting'));
});

test('CODE_COLORS - every rejection code of the core has its own color in the rejection chart', async (t) => {
  const { CODE_COLORS } = await import('../../inspector/page/metrics.js');
  const { REJECTION_CODES } = await import('../../src/index.js');
  for (const code of REJECTION_CODES) t.regex(String(CODE_COLORS[code]), /^#[0-9a-f]{6}$/i, code);
  t.is(new Set(REJECTION_CODES.map((c) => CODE_COLORS[c])).size, REJECTION_CODES.length, 'no two codes share a color');
});

test('Store - `kept` context values come from the previous snapshot, in place; a snapshot takes the payload of the event its eventId names', (t) => {
  const store = new Store();
  store.hello({ runId: 'r', startedAt: 0, mode: 'arbiter' });
  store.apply(actor('c1', { name: 'coordinator', machine: 'coordinator' }));
  const settings = { windowMs: 100 };
  const first = { target: 'acct', settings, staged: [] as string[] };
  Object.defineProperty(first, '__proto__', { value: { hostile: true }, enumerable: true, writable: true, configurable: true });
  store.apply(snap('c1', 'idle', first));
  store.apply({ type: '@xstate.event', sessionId: 'c1', rootId: 'c1', eventId: 7, event: { type: 'xstate.done.actor.operation', output: { id: 'op-1' } }, createdAt: '1001' });
  store.apply({ type: '@xstate.event', sessionId: 'c1', rootId: 'c1', eventId: 8, event: { type: 'xstate.done.actor.operation', output: { id: 'op-2' } }, createdAt: '1001' });
  const next = JSON.parse('{"target":"acct","settings":null,"__proto__":null,"staged":["op-3"]}');
  store.apply({ type: '@xstate.snapshot', sessionId: 'c1', rootId: 'c1', sameEvent: true, eventId: 7, event: { type: 'xstate.done.actor.operation' }, snapshot: { status: 'active', value: 'busy', context: next, kept: ['settings', '__proto__', 'missing'] }, createdAt: '1002' });
  const a = store.actors.get('c1');
  const context = a.snapshot.context;
  t.deepEqual(Object.keys(context), ['target', 'settings', '__proto__', 'staged'], 'the keys keep their order');
  t.deepEqual(context.settings, settings);
  t.deepEqual(Object.getOwnPropertyDescriptor(context, '__proto__')?.value, { hostile: true });
  t.is(Object.getPrototypeOf(context), Object.prototype, '__proto__ stays data');
  t.deepEqual(context.staged, ['op-3']);
  t.false('missing' in context);
  t.deepEqual(a.history.at(-1).event.output, { id: 'op-1' }, 'the first of the two queued events, not the last one delivered');
  // An eventId the page no longer has: the type alone, or the last event of the same type.
  store.apply({ type: '@xstate.snapshot', sessionId: 'c1', rootId: 'c1', sameEvent: true, eventId: 1, event: { type: 'xstate.done.actor.operation' }, snapshot: { status: 'active', value: 'busy', sameContext: true }, createdAt: '1003' });
  t.deepEqual(a.history.at(-1).event.output, { id: 'op-2' });
});
