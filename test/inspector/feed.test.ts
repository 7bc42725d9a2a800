import test from 'ava';
import { Subject } from 'rxjs';
import { and, createActor, createMachine, not, type InspectionEvent } from 'xstate';
import { activeStateIds, InspectorFeed, MetricsSampler, statechartOf, toJsonSafe, type FeedMessage } from '../../inspector/index.js';
import { coordinatorMachine, operationMachine, Priority, type Arbiter } from '../../src/index.js';
import { advance, harness } from '../helpers/index.js';

type Msg = Extract<FeedMessage, { type: string }> & Record<string, any>;
const ofType = (ms: FeedMessage[], type: string) => ms.filter((m) => m.type === type) as Msg[];

/** A connected feed, the submissions `submit` makes decided and run (10 ms window), and what the feed recorded. */
async function recorded(submit: (arbiter: Arbiter) => void): Promise<{ arbiter: Arbiter; feed: InspectorFeed; messages: FeedMessage[] }> {
  const { clock, arbiter } = harness({ windowMs: 10 });
  const feed = new InspectorFeed(arbiter);
  feed.connect();
  submit(arbiter);
  await advance(clock, 10);
  await arbiter.drain();
  return { arbiter, feed, messages: feed.drain(10_000) };
}

test('statechartOf(operationMachine) - states, event transitions, any-state transitions from the root', (t) => {
  const chart = statechartOf(operationMachine);
  t.is(chart.rootId, 'operation');
  t.deepEqual(chart.nodes.map((n) => n.key), ['*', 'pending', 'staged', 'executing', 'retrying', 'completed', 'rejected']);
  t.true(chart.nodes.find((n) => n.key === 'pending')!.initial);
  t.is(chart.nodes.find((n) => n.key === 'completed')!.type, 'final');
  const edge = (source: string, target: string) => chart.edges.filter((e) => e.source === `operation.${source}` && e.target === `operation.${target}`);
  // Winning with a fencing token (a shared backend) and without one (in memory): both drawn, the guard named.
  t.deepEqual(edge('staged', 'executing').map((e) => e.label), ['arbiter.win [hasFence]', 'arbiter.win']);
  t.deepEqual(edge('retrying', 'executing').map((e) => e.label), ['after backoff']);
  t.deepEqual(edge('executing', 'completed').map((e) => e.label), ['done: execute']);
  // Every abort the lifecycle accepts from any state, the arbiter's own `arbiter.abort` included.
  t.deepEqual(edge('*', 'rejected').map((e) => e.event).sort(), ['arbiter.abort', 'arbiter.cancel', 'arbiter.shutdown', 'arbiter.timeout']);
  t.true(edge('executing', 'retrying')[0]!.label.includes('[canRetry]'));
  t.notThrows(() => JSON.stringify(chart));
});

test('statechartOf(coordinatorMachine) - targetless root handlers listed, root transitions drawn from any state', (t) => {
  // Named by events, not by state names: the coordinator's states may change, its events are its interface.
  const chart = statechartOf(coordinatorMachine);
  t.deepEqual(chart.handles, [
    'operation.submit',
    'operation.staged',
    'xstate.done.actor.operation',
    'xstate.error.actor.operation',
    'backend.preempt',
    'backend.leaseLost',
  ]);
  // A decision from a shared backend, its loss and a shutdown leave any state: drawn from an "any state" node.
  const any = chart.nodes.find((n) => n.type === 'any');
  t.truthy(any);
  const fromAny = chart.edges.filter((e) => e.source === any!.id);
  t.deepEqual(fromAny.map((e) => e.event).sort(), ['backend.decided', 'backend.unavailable', 'coordinator.shutdown']);
  const states = new Set(chart.nodes.filter((n) => n.type !== 'any').map((n) => n.id));
  for (const e of chart.edges) {
    t.true(states.has(e.target), `${e.label} → ${e.target}`);
    // Eventless transitions (if the coordinator has any) are labelled as such, with their guard.
    if (e.event === '') t.regex(e.label, /^always( \[\w+\])?$/);
  }
  t.is(chart.nodes.find((n) => n.id === fromAny.find((e) => e.event === 'coordinator.shutdown')!.target)!.type, 'final');
});

test('statechartOf() - eventless transitions are drawn with their guards, the unguarded one as "always"', (t) => {
  const machine = createMachine({
    id: 'gate',
    initial: 'deciding',
    context: { waiting: 0 },
    states: {
      deciding: { always: [{ target: 'waiting', guard: 'hasWaiting' }, { target: 'idle' }] },
      waiting: { on: { done: 'deciding' } },
      idle: {},
    },
  }).provide({ guards: { hasWaiting: ({ context }) => context.waiting > 0 } });
  const fromDeciding = statechartOf(machine).edges.filter((e) => e.source === 'gate.deciding');
  t.deepEqual(fromDeciding.map((e) => e.target), ['gate.waiting', 'gate.idle']);
  t.deepEqual(fromDeciding.map((e) => e.label), ['always [hasWaiting]', 'always']);
  t.deepEqual(fromDeciding.map((e) => e.event), ['', '']);
});

test('statechartOf() - nested states keep their parent; activeStateIds() walks nested values', (t) => {
  const machine = createMachine({
    id: 'door',
    initial: 'closed',
    states: {
      closed: { initial: 'locked', states: { locked: { on: { unlock: 'unlocked' } }, unlocked: { on: { open: '#door.open' } } } },
      open: { on: { close: 'closed' } },
    },
  });
  const chart = statechartOf(machine);
  t.is(chart.nodes.find((n) => n.key === 'locked')!.parent, 'door.closed');
  t.is(chart.nodes.find((n) => n.key === 'closed')!.type, 'compound');
  t.deepEqual(activeStateIds('door', { closed: 'unlocked' }), ['door.closed', 'door.closed.unlocked']);
  t.deepEqual(activeStateIds('door', 'open'), ['door.open']);
});

test('toJsonSafe() - cycles, functions, actors, Maps, bigint, errors and sizes are bounded', (t) => {
  const cyclic: Record<string, unknown> = { name: 'a' };
  cyclic['self'] = cyclic;
  const actor = createActor(createMachine({ id: 'm' }));
  const safe = toJsonSafe(
    {
      cyclic,
      fn: function execute() {},
      actor,
      map: new Map([['k', 1]]),
      set: new Set([1, 2]),
      big: 10n,
      err: new TypeError('bad'),
      long: 'x'.repeat(2000),
      many: Array.from({ length: 80 }, (_, i) => i),
      deep: { a: { b: { c: { d: { e: { f: { g: 1 } } } } } } },
      nan: Number.NaN,
    },
    { depth: 5, maxString: 100, maxItems: 50 },
  ) as Record<string, any>;
  t.notThrows(() => JSON.stringify(safe));
  t.is(safe['cyclic'].self, '[circular]');
  t.deepEqual(safe['fn'], { type: 'execute' });
  t.regex(safe['actor'], /^\[actor /);
  t.deepEqual(safe['map'], [['k', 1]]);
  t.deepEqual(safe['set'], [1, 2]);
  t.is(safe['big'], '10n');
  t.deepEqual(safe['err'], { name: 'TypeError', message: 'bad' });
  t.is(safe['long'].length, 101);
  t.is(safe['many'].length, 51);
  t.is(safe['many'][50], '[+30 more]');
  t.is(safe['deep'].a.b.c.d, '[…]');
  t.is(safe['nan'], 'NaN');
});

test('InspectorFeed - disconnected, it records nothing and the arbiter runs uninspected', async (t) => {
  const { clock, arbiter } = harness({ windowMs: 10 });
  const feed = new InspectorFeed(arbiter);
  const seen: string[] = [];
  arbiter.submit({ target: 'a', execute: async () => 1 });
  await advance(clock, 10);
  t.is(feed.total, 0);
  t.false(feed.connected);
  // Attaching and detaching leaves no observer behind: a later submission is not recorded.
  feed.connect();
  // The root of the coordinators' system and the live coordinator, and the observers actor with
  // its four observers.
  t.is(feed.total, 7, 'the live coordinator and the observers were announced');
  feed.disconnect();
  const sub = arbiter.inspect((e) => seen.push(e.type));
  sub.unsubscribe();
  seen.length = 0;
  arbiter.submit({ target: 'a', execute: async () => 2 });
  await advance(clock, 10);
  t.is(feed.total, 7);
  t.deepEqual(seen, []);
  t.deepEqual(await feed.drain(100), []);
  await arbiter.stop();
});

test('InspectorFeed - connected: machines first, unique session ids, the actor tree and the state path', async (t) => {
  const { clock, arbiter } = harness({ windowMs: 10 });
  const feed = new InspectorFeed(arbiter);
  feed.connect();
  const low = arbiter.submit({ target: 'acct', priority: Priority.LOW, execute: async () => 'low' });
  const high = arbiter.submit({ target: 'acct', priority: Priority.HIGH, execute: async () => 'high' });
  await advance(clock, 10);
  await Promise.allSettled([low.result, high.result]);
  const messages = await feed.drain(10_000);
  t.is(feed.pending, 0);

  const machines = ofType(messages, 'arbiter.machine');
  t.deepEqual(machines.map((m) => m.key).sort(), ['coordinator', 'observers', 'operation']);
  const firstActor = messages.findIndex((m) => m.type === '@xstate.actor');
  t.true(messages.findIndex((m) => m.type === 'arbiter.machine') < firstActor, 'a machine is described before its actors');

  const actors = ofType(messages, '@xstate.actor');
  const ids = actors.map((a) => a.sessionId);
  t.is(new Set(ids).size, ids.length, 'every actor has its own session id (XState restarts at x:0 per system)');
  const roots = actors.filter((a) => a.parentId === undefined);
  t.deepEqual(roots.map((a) => a.name).sort(), ['coordinators', 'observers']);
  const system = roots.find((a) => a.name === 'coordinators')!;
  const coordinator = actors.find((a) => a.name === 'coordinator')!;
  t.is(coordinator.parentId, system.sessionId, 'a coordinator is a child of the root of its small system');
  const operations = actors.filter((a) => a.name === 'operation');
  t.is(operations.length, 2);
  for (const op of operations) {
    t.is(op.parentId, coordinator.sessionId, 'an operation is a child of its coordinator');
    t.is(op.rootId, system.sessionId);
  }
  const child = actors.find((a) => a.name === 'execute')!;
  const parent = actors.find((a) => a.sessionId === child.parentId)!;
  t.is(parent.name, 'operation');
  t.is(child.rootId, system.sessionId);
  for (const a of actors) t.is(a._version, '0.7.2');

  const states = (sid: string) => ofType(messages, '@xstate.snapshot').filter((s) => s.sessionId === sid).map((s) => s.snapshot.value);
  const winner = operations.find((a) => states(a.sessionId).includes('completed'))!;
  t.deepEqual(states(winner.sessionId), ['pending', 'staged', 'executing', 'completed']);
  const loser = operations.find((a) => a !== winner)!;
  t.deepEqual(states(loser.sessionId), ['pending', 'staged', 'rejected']);
  const loserFinal = ofType(messages, '@xstate.snapshot').filter((s) => s.sessionId === loser.sessionId).at(-1)!;
  t.is(loserFinal.snapshot.context.code, 'lost-arbitration');
  t.is(loserFinal.event.type, 'arbiter.reject');

  t.true(states(coordinator.sessionId).includes('collecting'));
  // Recorded by reference, converted later: the maps a coordinator mutates in place show their
  // state at conversion time (ids only).
  for (const s of ofType(messages, '@xstate.snapshot').filter((x) => x.sessionId === coordinator.sessionId)) {
    t.true(Array.isArray(s.snapshot.context.staged));
  }

  const events = ofType(messages, 'arbiter.event').map((m) => m.event.type);
  t.true(events.includes('conflict.resolved'));
  t.is(events.filter((e) => e === 'operation.submitted').length, 2);
  t.notThrows(() => JSON.stringify(messages));
  feed.disconnect();
  await arbiter.stop();
});

test('InspectorFeed - connecting late announces the live actors with their current snapshot', async (t) => {
  const { clock, arbiter } = harness({ windowMs: 50 });
  const h = arbiter.submit({ target: 'late', id: 'op-late', execute: async () => 1 });
  const feed = new InspectorFeed(arbiter);
  feed.connect();
  const messages = await feed.drain(1000);
  const actors = ofType(messages, '@xstate.actor');
  const op = actors.find((a) => a.snapshot.context?.id === 'op-late');
  t.is(op?.snapshot.value, 'staged');
  const coordinator = actors.find((a) => a.name === 'coordinator' && a.snapshot.value === 'collecting');
  t.deepEqual(coordinator?.snapshot.context.staged, ['op-late'], 'the coordinator context shows its staged operation ids');
  // The coordinators' system root, the coordinator and its operation, and the observers actor with
  // its four observers.
  t.deepEqual(feed.liveMessage().sessionIds.length, 8);
  // The live actor keeps being followed.
  await advance(clock, 50);
  await h.result;
  const after = await feed.drain(1000);
  const opSnaps = ofType(after, '@xstate.snapshot').filter((s) => s.sessionId === op!.sessionId).map((s) => s.snapshot.value);
  t.deepEqual(opSnaps, ['executing', 'completed']);
  const observers = actors.filter((a) => a.name !== 'coordinator' && a.name !== 'operation' && a.name !== 'coordinators').map((a) => a.sessionId);
  t.deepEqual(
    feed.liveMessage().sessionIds.filter((id) => !observers.includes(id)),
    [actors.find((a) => a.name === 'coordinators')!.sessionId, actors.find((a) => a.name === 'coordinator')!.sessionId],
    'the finished operation is no longer live; its coordinator is',
  );
  const described = ofType(await feed.describeLive(), '@xstate.actor');
  t.deepEqual(described.map((a) => a.name).filter((n) => n === 'coordinator' || n === 'operation'), ['coordinator']);
  feed.disconnect();
  await arbiter.stop();
});

test('InspectorFeed - a full buffer drops the oldest entries and counts them; drain() converts at most max', async (t) => {
  const { clock, arbiter } = harness({ windowMs: 10, maxStagedPerTarget: 1000 });
  const feed = new InspectorFeed(arbiter, { bufferSize: 50 });
  feed.connect();
  for (let i = 0; i < 40; i++) arbiter.submit({ target: `t${i % 4}`, id: `op-${i}`, execute: async () => i });
  t.is(feed.pending, 50);
  t.is(feed.dropped, feed.total - 50);
  t.true(feed.dropped > 0);
  const first = await feed.drain(20);
  t.is(feed.pending, 30);
  t.true(first.filter((m) => m.type !== 'arbiter.machine').length <= 20);
  const rest = await feed.drain(1000);
  t.is(feed.pending, 0);
  // The newest survived: the last submission's event is there, the first one's is not.
  const submitted = ofType([...first, ...rest], 'arbiter.event').filter((m) => m.event.type === 'operation.submitted').map((m) => m.event.operationId);
  t.true(submitted.includes('op-39'));
  t.false(submitted.includes('op-0'));
  await advance(clock, 10);
  feed.disconnect();
  await arbiter.stop();
});

test('InspectorFeed - hostile payloads stay bounded, JSON-safe data', async (t) => {
  const { clock, arbiter } = harness({ windowMs: 10 });
  const feed = new InspectorFeed(arbiter);
  feed.connect();
  const cyclic: Record<string, unknown> = { html: '<script>alert(1)</script>', huge: 'y'.repeat(100_000) };
  cyclic['again'] = cyclic;
  const h = arbiter.submit({ target: 't', data: cyclic, execute: async () => cyclic });
  await advance(clock, 10);
  await h.result;
  const messages = await feed.drain(1000);
  const json = JSON.stringify(messages);
  // Each message is bounded (strings cut at 500, depth 6, 50 items): the whole stays small even
  // though the payload holds 100,000 characters and refers to itself.
  t.true(json.length < 80_000, `bounded (${json.length} chars)`);
  for (const m of messages) t.true(JSON.stringify(m).length < 20_000, `one ${m.type} message is bounded`);
  t.true(json.includes('<script>alert(1)</script>'), 'kept as data, escaping is the page’s job');
  t.true(json.includes('[circular]'));
  feed.disconnect();
  await arbiter.stop();
});

test('MetricsSampler - rates per second from counter deltas, rejections by code, p99 from the arbiter', async (t) => {
  const { clock, arbiter } = harness({ windowMs: 10 });
  const sampler = new MetricsSampler(arbiter, { historySize: 3 });
  for (let i = 0; i < 4; i++) arbiter.submit({ target: 'a', priority: 1 + i, execute: async () => i });
  await advance(clock, 10);
  await arbiter.drain();
  const s = sampler.sample(500, 1);
  t.is(s.submittedPerSec, 8);
  t.is(s.throughput, 8);
  t.is(s.completedPerSec, 2);
  t.is(s.conflictsPerSec, 2);
  t.deepEqual(s.rejectedByCode, { 'lost-arbitration': 6 });
  t.is(typeof s.p99DecisionMs, 'number');
  t.like(s.totals, { submitted: 4, completed: 1, rejected: 3, inFlight: 0 });
  const quiet = sampler.sample(1000, 2);
  t.is(quiet.throughput, 0);
  t.deepEqual(quiet.rejectedByCode, {});
  sampler.sample(1000, 3);
  sampler.sample(1000, 4);
  t.deepEqual(sampler.history.map((x) => x.t), [2, 3, 4]);
  await arbiter.stop();
});

test('InspectorFeed - maxOperationsPerSec: a token bucket decides which new operations are followed', async (t) => {
  const { clock, arbiter } = harness({ windowMs: 10, maxStagedPerTarget: 100 });
  let now = 0;
  const feed = new InspectorFeed(arbiter, { maxOperationsPerSec: 5, now: () => now });
  feed.connect();
  for (let i = 0; i < 10; i++) arbiter.submit({ target: 'a', id: `first-${i}`, execute: async () => i });
  now += 1000;
  for (let i = 0; i < 10; i++) arbiter.submit({ target: 'a', id: `second-${i}`, execute: async () => i });
  await advance(clock, 10);
  await arbiter.drain();
  const messages = await feed.drain(100_000);
  const followed = ofType(messages, '@xstate.snapshot')
    .filter((m) => typeof m.snapshot.context?.id === 'string' && m.snapshot.value === 'pending')
    .map((m) => m.snapshot.context.id);
  t.deepEqual(followed, ['first-0', 'first-1', 'first-2', 'first-3', 'first-4', 'second-0', 'second-1', 'second-2', 'second-3', 'second-4']);
  t.is(feed.unsampled, 10);
  // Every operation still reaches the event log.
  t.is(ofType(messages, 'arbiter.event').filter((m) => m.event.type === 'operation.submitted').length, 20);
  feed.disconnect();
  await arbiter.stop();
});

test('InspectorFeed - exotic data, results and errors never throw; each costs only itself, every other event arrives', async (t) => {
  const { clock, arbiter } = harness({ windowMs: 10, maxStagedPerTarget: 100 });
  const feed = new InspectorFeed(arbiter);
  feed.connect();
  const { proxy: revoked, revoke } = Proxy.revocable({}, {});
  revoke();
  const throwing = Object.defineProperty({ kept: 'yes' }, 'bad', { enumerable: true, get: () => { throw new TypeError('getter says no'); } });
  const endless = (): object => ({ get next() { return endless(); } });
  const hostile = [revoked, throwing, endless(), { big: 10n, sym: Symbol('s'), __proto__: null }];
  const handles = hostile.map((data, i) =>
    arbiter.submit({ target: 'hostile', id: `h${i}`, priority: 10 - i, data, execute: async () => (i === 0 ? revoked : throwing) }),
  );
  const failing = arbiter.submit({ target: 'thrower', id: 'f', data: throwing, execute: async () => { throw revoked; } });
  for (let i = 0; i < 5; i++) arbiter.submit({ target: `fine-${i}`, id: `ok-${i}`, data: { n: i }, execute: async () => i });
  await advance(clock, 10);
  await Promise.allSettled([...handles.map((h) => h.result), failing.result]);
  await arbiter.drain();
  let messages: FeedMessage[] = [];
  t.notThrows(() => {
    messages = feed.drain(100_000);
  });
  t.notThrows(() => JSON.stringify(messages));
  t.is(feed.failed, 0, 'no entry was lost whole');
  const submitted = ofType(messages, 'arbiter.event').filter((m) => m.event.type === 'operation.submitted').map((m) => m.event.operationId);
  t.deepEqual(submitted.sort(), ['f', 'h0', 'h1', 'h2', 'h3', 'ok-0', 'ok-1', 'ok-2', 'ok-3', 'ok-4']);
  const contextOf = (id: string) => ofType(messages, '@xstate.snapshot').map((m) => m.snapshot.context).find((c) => c?.id === id);
  t.regex(contextOf('h0').data, /^\[unreadable: TypeError: .*revoked/);
  t.deepEqual(contextOf('h1').data, { kept: 'yes', bad: '[unreadable: TypeError: getter says no]' });
  t.deepEqual(contextOf('h3').data, { big: '10n', sym: 'Symbol(s)' });
  const json = JSON.stringify(messages);
  t.true(json.length < 2_000_000, `bounded (${json.length})`);
  feed.disconnect();
  await arbiter.stop();
});

test('InspectorFeed - operations created as children of their coordinator (createActor(logic, { parent })) link to it by parent and root', async (t) => {
  // An arbiter-shaped source whose coordinator owns its operations in XState's terms, as the core will.
  const observers: Array<{ next?: (e: InspectionEvent) => void }> = [];
  const hub = { next: (e: InspectionEvent) => observers.forEach((o) => o.next?.(e)) };
  const source = {
    inspect: (o: { next?: (e: InspectionEvent) => void }) => {
      observers.push(o);
      return { unsubscribe: () => observers.splice(observers.indexOf(o), 1) };
    },
    events$: new Subject<never>(),
    stopped: false,
  } as unknown as Arbiter;
  const feed = new InspectorFeed(source, { maxOperationsPerSec: Infinity });
  feed.connect();
  const coordinator = createActor(createMachine({ id: 'coordinator', context: { target: 'acct', staged: new Map() } }), { inspect: hub }).start();
  const operation = createMachine({ id: 'operation', initial: 'staged', context: ({ input }: { input: { id: string } }) => ({ id: input.id, target: 'acct' }), states: { staged: { on: { win: 'done' } }, done: { type: 'final' } } });
  const ops = ['a', 'b'].map((id) => createActor(operation, { parent: coordinator, input: { id } }).start());
  ops[0]!.send({ type: 'win' });
  const messages = feed.drain(1000);
  const actors = ofType(messages, '@xstate.actor');
  const coord = actors.find((a) => a.name === 'coordinator')!;
  const children = actors.filter((a) => a.name === 'operation');
  t.is(children.length, 2);
  for (const c of children) {
    t.is(c.parentId, coord.sessionId);
    t.is(c.rootId, coord.sessionId);
  }
  t.not(children[0]!.sessionId, children[1]!.sessionId, 'several operations in one coordinator system, each its own id');
  t.true(ofType(messages, '@xstate.snapshot').some((s) => s.sessionId === children[0]!.sessionId && s.snapshot.value === 'done'));
  feed.disconnect();
  coordinator.stop();
});

test('InspectorFeed - a context or an event already sent for an actor is not copied again; the coordinator (changed in place) always is', async (t) => {
  const { arbiter, feed, messages } = await recorded((arbiter) => {
    arbiter.submit({ target: 'acct', id: 'op', data: { big: 'x'.repeat(400) }, execute: async () => 1 });
  });
  const op = ofType(messages, '@xstate.actor').find((a) => a.name === 'operation')!;
  const snaps = ofType(messages, '@xstate.snapshot').filter((s) => s.sessionId === op.sessionId);
  t.truthy(snaps[0]!.snapshot.context, 'the first snapshot carries the context');
  t.true(snaps.some((s) => s.snapshot.sameContext === true && s.snapshot.context === undefined), 'later unchanged ones do not');
  const admitted = snaps.find((s) => s.event.type === 'arbiter.admit')!;
  t.true(admitted.sameEvent, 'the event was just sent in its @xstate.event message');
  t.deepEqual(Object.keys(admitted.event), ['type']);
  const coordinator = ofType(messages, '@xstate.actor').find((a) => a.name === 'coordinator')!;
  for (const s of ofType(messages, '@xstate.snapshot').filter((x) => x.sessionId === coordinator.sessionId)) t.truthy(s.snapshot.context);
  // A page that joins now gets every live actor in full.
  arbiter.submit({ target: 'acct', id: 'late', execute: async () => 2 });
  feed.drain(10_000);
  const described = ofType(feed.describeLive(), '@xstate.actor').find((a) => a.snapshot.context?.id === 'late');
  t.truthy(described, 'described with its context');
  feed.disconnect();
  await arbiter.stop();
});

test('statechartOf() - inline guards show their condition, composite guards their parts, targetless transitions are marked internal', (t) => {
  const machine = createMachine({
    id: 'door',
    initial: 'closed',
    context: { locked: false, tries: 0 },
    states: {
      closed: {
        on: {
          knock: { actions: () => undefined },
          open: [{ target: 'open', guard: ({ context }) => !context.locked }, { target: 'closed', guard: and(['isOwner', not('isLate')]) }],
        },
      },
      open: {},
    },
  }).provide({ guards: { isOwner: () => true, isLate: () => false } });
  const chart = statechartOf(machine);
  const labels = chart.edges.map((e) => e.label);
  t.true(labels.some((l) => /^open \[!context\.locked\]$/.test(l)), labels.join(' | '));
  t.true(labels.includes('open [and(isOwner, not(isLate))]'), labels.join(' | '));
  t.deepEqual(chart.edges.filter((e) => e.internal).map((e) => e.event), ['knock']);
});

test('InspectorFeed - a coordinator’s operation.submit shows what was submitted, not the arbiter’s live record of it', async (t) => {
  const { arbiter, feed, messages } = await recorded((arbiter) => {
    arbiter.submit({ target: 'acct', id: 'op-1', priority: Priority.HIGH, data: { amount: 5 }, execute: async () => 1 });
  });
  const submit = ofType(messages, '@xstate.event').find((m) => m.event.type === 'operation.submit')!;
  t.deepEqual(Object.keys(submit.event.operation), ['input']);
  t.like(submit.event.operation.input, { id: 'op-1', target: 'acct', priority: Priority.HIGH, data: { amount: 5 }, execute: { type: 'execute' } });
  // The record's engine (the arbiter's event bus, timers, supervisor…) is not walked into.
  const json = JSON.stringify(submit);
  t.false(json.includes('engine'), json);
  t.true(json.length < 1000, `${json.length} characters`);
  feed.disconnect();
  await arbiter.stop();
});

test('InspectorFeed - values a new context kept from the previous one are named in `kept`, not copied again; Maps always are', async (t) => {
  const { arbiter, feed, messages } = await recorded((arbiter) => {
    arbiter.submit({ target: 'acct', id: 'op-1', data: { note: 'n'.repeat(300) }, execute: async () => 1 });
  });
  const coordinator = ofType(messages, '@xstate.actor').find((a) => a.name === 'coordinator')!;
  const snaps = ofType(messages, '@xstate.snapshot').filter((s) => s.sessionId === coordinator.sessionId);
  const first = snaps.find((s) => s.snapshot.context && s.snapshot.kept === undefined)!;
  t.is(typeof first.snapshot.context.settings, 'object', 'the first snapshot carries every value');
  t.not(first.snapshot.context.settings, null);
  const later = snaps.filter((s) => s !== first && s.snapshot.kept);
  t.true(later.length > 0);
  for (const s of later) {
    t.true(s.snapshot.kept.includes('settings'), 'the settings object every snapshot shares is named');
    t.is(s.snapshot.context.settings, null);
    t.false(s.snapshot.kept.includes('staged'), 'a Map changed in place is never taken for unchanged');
    t.true(Array.isArray(s.snapshot.context.staged));
  }
  // An operation that changed one value of its context keeps the others, its data among them.
  const op = ofType(messages, '@xstate.actor').find((a) => a.name === 'operation')!;
  const opSnaps = ofType(messages, '@xstate.snapshot').filter((s) => s.sessionId === op.sessionId && s.snapshot.kept);
  t.true(opSnaps.some((s) => s.snapshot.kept.includes('data') && s.snapshot.context.data === null));
  // A page that joins gets every value.
  arbiter.submit({ target: 'acct', id: 'late', execute: async () => 2 });
  feed.drain(10_000);
  for (const a of ofType(feed.describeLive(), '@xstate.actor')) t.is(a.snapshot.kept, undefined);
  feed.disconnect();
  await arbiter.stop();
});

test('InspectorFeed - a snapshot names the event that caused it by its eventId, even with several events queued before it', async (t) => {
  const { arbiter, feed, messages } = await recorded((arbiter) => {
    for (let i = 0; i < 4; i++) arbiter.submit({ target: 'acct', id: `op-${i}`, priority: Priority.NORMAL + i, execute: async () => i });
  });
  const coordinator = ofType(messages, '@xstate.actor').find((a) => a.name === 'coordinator')!;
  const sent = new Map(ofType(messages, '@xstate.event').filter((m) => m.eventId !== undefined).map((m) => [m.eventId as number, m]));
  const done = ofType(messages, '@xstate.snapshot').filter((s) => s.sessionId === coordinator.sessionId && s.event.type === 'xstate.done.actor.operation');
  t.is(done.length, 4);
  for (const s of done) {
    t.true(s.sameEvent);
    t.deepEqual(Object.keys(s.event), ['type']);
    t.is(sent.get(s.eventId)?.sessionId, coordinator.sessionId);
  }
  // Each step is caused by the done event of another operation.
  t.deepEqual(new Set(done.map((s) => sent.get(s.eventId)?.event.output.id)), new Set(['op-0', 'op-1', 'op-2', 'op-3']));
  feed.disconnect();
  await arbiter.stop();
});
