import test from 'ava';
import { Redis } from 'ioredis';
import { RedisTargets, type StageCandidate, type WindowSettings } from '../../src/redis/targets.js';
import type { CloseResult, IdState } from '../../src/redis/records.js';
import { manualClock, uniquePrefix, useRedisServer } from '../helpers/redis.js';

const clients: Redis[] = [];
test.after.always(() => {
  for (const c of clients) c.disconnect();
});
// Registered after the cleanup above, so the server stops after the clients let go.
const redis = useRedisServer(test);

function client(): Redis {
  const c = new Redis(redis().url, { lazyConnect: false, maxRetriesPerRequest: 1 });
  clients.push(c);
  return c;
}

const settings = (over: Partial<WindowSettings> = {}): WindowSettings => ({
  windowMs: 100,
  whileExecuting: 'preempt',
  gracePeriodMs: 200,
  stageLeaseMs: 5000,
  ...over,
});

function cand(id: string, effectivePriority: number, type = 'op'): StageCandidate {
  return { id, type, priority: effectivePriority, effectivePriority };
}

/** Two processes (owners) sharing a prefix and a hand-driven clock. */
function world(name: string) {
  const clock = manualClock();
  const keyPrefix = uniquePrefix(name);
  const a = new RedisTargets({ client: client(), keyPrefix, owner: 'proc-a', clock: clock.now });
  const b = new RedisTargets({ client: client(), keyPrefix, owner: 'proc-b', clock: clock.now });
  return { clock, keyPrefix, a, b };
}

function decided(r: CloseResult): Map<string, IdState> {
  if (r.status === 'early') throw new Error('expected a closed window');
  return new Map(r.ids.map((s) => [s.id, s]));
}

function kindOf(s: IdState | undefined): string {
  if (!s) return 'missing';
  return s.state === 'decided' ? s.outcome.kind : s.state;
}

test('.stage() - the first candidate opens the window at Redis time; later ones join it and learn when it closes', async (t) => {
  const { clock, a, b } = world('stage');
  const first = await a.stage('acct', settings(), [cand('a1', 5)]);
  clock.advanceMs(30);
  const second = await b.stage('acct', settings({ windowMs: 999 }), [cand('b1', 5)]);
  t.is(second.window, first.window);
  t.is(first.closesInMs, 100);
  t.is(second.closesInMs, 70, 'the window keeps the length its opener gave it');
  t.true(second.candidates[0]!.order! > first.candidates[0]!.order!);
});

test('.stage() - a window closes windowMs after its first candidate was staged: the time it waited in its process before the call left counts', async (t) => {
  const { clock, a, b } = world('waited');
  // The call leaves at the end of the turn; 30 ms pass (by the scripts' clock) before it does.
  const staging = a.stage('acct', settings(), [cand('a1', 5)]);
  clock.advanceMs(30);
  const first = await staging;
  t.is(first.closesInMs, 70);
  const joined = await b.stage('acct', settings(), [cand('b1', 5)]);
  t.is(joined.window, first.window);
  t.is(joined.closesInMs, 70, 'a later candidate joins the window as it is');
  t.is(joined.now, first.now);
  // A candidate that waited longer than the window opens one that is already due.
  const late = b.stage('late', settings(), [cand('b2', 5)]);
  clock.advanceMs(250);
  t.is((await late).closesInMs, 0);
});

test('.stage() - candidates staged in one turn on one target go out in one script call, all targets in one round trip', async (t) => {
  const { a } = world('batch');
  const before = { ...a.stats };
  const results = await Promise.all([
    a.stage('x', settings(), [cand('x1', 5)]),
    a.stage('x', settings(), [cand('x2', 5)]),
    a.stage('y', settings(), [cand('y1', 5)]),
  ]);
  t.is(a.stats.roundTrips - before.roundTrips, 1);
  t.is(a.stats.commands - before.commands, 2);
  t.deepEqual(results.map((r) => r.candidates.map((c) => c.id)), [['x1'], ['x2'], ['y1']]);
  t.is(results[0]!.window, results[1]!.window);
});

test('.stage() - staging an id that is already staged changes nothing', async (t) => {
  const { a } = world('restage');
  const first = await a.stage('acct', settings(), [cand('a1', 5)]);
  const again = await a.stage('acct', settings(), [cand('a1', 9)]);
  t.is(again.candidates[0]!.state, 'already-staged');
  const state = await a.peek('acct');
  t.is(state.candidates.length, 1);
  t.is(state.candidates[0]!.effectivePriority, 5);
  t.is(state.candidates[0]!.order, first.candidates[0]!.order ?? -1);
});

test('.close() - early before Redis time reaches the end; then the highest priority wins, ties go to the earliest staged', async (t) => {
  const { clock, a, b } = world('close');
  const s = await a.stage('acct', settings(), [cand('a-low', 2), cand('a-high', 8)]);
  await b.stage('acct', settings(), [cand('b-high', 8), cand('b-crit', 10)]);
  clock.advanceMs(99);
  const early = await a.close('acct', s.window, 1000, ['a-low', 'a-high']);
  t.deepEqual(early, { status: 'early', window: s.window, closesInMs: 1, now: s.now + 99 });
  clock.advanceMs(1);
  const closed = await a.close('acct', s.window, 1000, ['a-low', 'a-high']);
  t.is(closed.status, 'closed');
  const mine = decided(closed);
  t.is(kindOf(mine.get('a-low')), 'lost');
  t.is(kindOf(mine.get('a-high')), 'lost');
  const low = mine.get('a-low');
  if (low?.state === 'decided' && low.outcome.kind === 'lost') t.is(low.outcome.winner.id, 'b-crit');
  // The other process closes the same window 300 ms later: it reads the same decision, and how
  // much of its winner's lease is left.
  clock.advanceMs(300);
  const theirs = await b.close('acct', s.window, 1000, ['b-high', 'b-crit']);
  t.is(theirs.status, 'already');
  const other = decided(theirs);
  t.is(kindOf(other.get('b-crit')), 'started');
  const crit = other.get('b-crit');
  if (theirs.status !== 'early' && crit?.state === 'decided' && crit.outcome.kind !== 'unknown') {
    t.is((crit.outcome.decision.leaseExpiresAt ?? 0) - theirs.now, 700);
  }
  t.is(kindOf(other.get('b-high')), 'lost');
  // Without the critical one, the tie between the two priority-8 candidates goes to the earlier.
  const s2 = await a.stage('acct2', settings({ whileExecuting: 'concurrent' }), [cand('first', 8)]);
  await b.stage('acct2', settings(), [cand('second', 8)]);
  clock.advanceMs(100);
  const r2 = decided(await b.close('acct2', s2.window, 1000, ['second']));
  t.is(kindOf(r2.get('second')), 'lost');
});

test('.close() - asking again gives the same outcome: a reply lost with a connection loses nothing', async (t) => {
  const { clock, a } = world('again');
  const s = await a.stage('acct', settings(), [cand('a1', 5)]);
  clock.advanceMs(100);
  const first = decided(await a.close('acct', s.window, 1000, ['a1'])).get('a1');
  const again = decided(await a.close('acct', s.window, 1000, ['a1'])).get('a1');
  t.is(kindOf(first), 'started');
  t.deepEqual(again, first);
});

test('.close() - queue: the winner is held while the target is held, in a new window opened at once; after release it starts', async (t) => {
  const { clock, a, b } = world('queue');
  const q = settings({ whileExecuting: 'queue' });
  const s1 = await a.stage('acct', q, [cand('holder', 1)]);
  clock.advanceMs(100);
  const r1 = decided(await a.close('acct', s1.window, 10_000, ['holder']));
  const h = r1.get('holder');
  if (h?.state !== 'decided' || h.outcome.kind !== 'started') return t.fail('holder did not start');
  const token = h.outcome.token;
  const s2 = await b.stage('acct', q, [cand('waiter', 10), cand('other', 3)]);
  clock.advanceMs(100);
  const r2 = await b.close('acct', s2.window, 10_000, ['waiter', 'other']);
  if (r2.status === 'early') return t.fail('early');
  t.is(kindOf(decided(r2).get('waiter')), 'staged');
  t.is(kindOf(decided(r2).get('other')), 'lost');
  t.true(r2.current.open);
  t.is(r2.current.window, s2.window + 1);
  t.is(r2.current.closesInMs, 100);
  const decision = [...r2.decisions.values()][0]!;
  t.is(decision.kind, 'hold');
  t.deepEqual(decision.blockedBy.map((x) => x.id), ['holder']);
  t.is(await a.release('acct', token, 'holder'), 'released');
  clock.advanceMs(100);
  const r3 = decided(await b.close('acct', r2.current.window, 10_000, ['waiter']));
  const w = r3.get('waiter');
  t.is(kindOf(w), 'started');
  if (w?.state === 'decided' && w.outcome.kind === 'started') t.is(w.outcome.token, token + 1, 'the fencing token is monotonic per target');
});

test('.close() - preempt: held during the grace period, then the higher priority preempts; the holder learns it on renew and on its channel', async (t) => {
  const { clock, a, b } = world('preempt');
  const sub = client();
  const messages: string[] = [];
  await sub.subscribe(a.channel);
  sub.on('message', (_channel: string, message: string) => messages.push(message));
  const s1 = await a.stage('acct', settings(), [cand('low', 2)]);
  clock.advanceMs(100);
  const h = decided(await a.close('acct', s1.window, 10_000, ['low'])).get('low');
  if (h?.state !== 'decided' || h.outcome.kind !== 'started') return t.fail('holder did not start');
  const token = h.outcome.token;
  const s2 = await b.stage('acct', settings(), [cand('high', 9)]);
  clock.advanceMs(100); // 100 ms into the holder's run: inside the 200 ms grace period
  const held = await b.close('acct', s2.window, 10_000, ['high']);
  t.is(kindOf(decided(held).get('high')), 'staged');
  if (held.status === 'early') return t.fail('early');
  clock.advanceMs(100); // 200 ms: past the grace period
  const r = decided(await b.close('acct', held.current.window, 10_000, ['high']));
  t.is(kindOf(r.get('high')), 'started');
  const renewed = await a.renew('acct', 10_000, 10_000, [{ token, id: 'low' }]);
  const state = renewed.holders[0]!;
  t.is(state.state, 'preempted');
  if (state.state === 'preempted' && state.outcome.kind === 'preempted') {
    t.is(state.outcome.by.id, 'high');
    t.is(state.outcome.holder.startedAt + 200, state.outcome.decision.closedAt);
  }
  t.is(await a.release('acct', token, 'low'), 'stale', 'a preempted holder has no lease left to release');
  const deadline = Date.now() + 5000;
  while (messages.length === 0 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 10));
  t.is(messages.length, 1);
  t.like(JSON.parse(messages[0]!), { kind: 'preempt', id: 'low', token: String(token) });
});

test('.close() - preempt: an equal priority never preempts; concurrent starts alongside the holder', async (t) => {
  const { clock, a } = world('equal');
  const s1 = await a.stage('acct', settings(), [cand('one', 5)]);
  clock.advanceMs(100);
  await a.close('acct', s1.window, 60_000, ['one']);
  const s2 = await a.stage('acct', settings(), [cand('two', 5)]);
  clock.advanceMs(4000);
  t.is(kindOf(decided(await a.close('acct', s2.window, 60_000, ['two'])).get('two')), 'staged');
  const s3 = await a.stage('acct-c', settings({ whileExecuting: 'concurrent' }), [cand('c1', 5)]);
  clock.advanceMs(100);
  await a.close('acct-c', s3.window, 60_000, ['c1']);
  const s4 = await a.stage('acct-c', settings({ whileExecuting: 'concurrent' }), [cand('c2', 1)]);
  clock.advanceMs(100);
  t.is(kindOf(decided(await a.close('acct-c', s4.window, 60_000, ['c2'])).get('c2')), 'started');
  t.is((await a.peek('acct-c')).holders.length, 2);
});

test('leases - renew extends; a lease not renewed expires after leaseMs and the next winner gets the next token', async (t) => {
  const { clock, a, b } = world('lease');
  const s1 = await a.stage('acct', settings({ whileExecuting: 'queue' }), [cand('h1', 5)]);
  clock.advanceMs(100);
  const h = decided(await a.close('acct', s1.window, 1000, ['h1'])).get('h1');
  if (h?.state !== 'decided' || h.outcome.kind !== 'started') return t.fail('did not start');
  const token = h.outcome.token;
  clock.advanceMs(900);
  t.deepEqual((await a.renew('acct', 1000, 1000, [{ token, id: 'h1' }])).holders, [{ state: 'ok' }]);
  const s2 = await b.stage('acct', settings({ whileExecuting: 'queue' }), [cand('w', 5)]);
  clock.advanceMs(999); // 999 ms after the renewal: still held
  const held = await b.close('acct', s2.window, 1000, ['w']);
  t.is(kindOf(decided(held).get('w')), 'staged');
  if (held.status === 'early') return t.fail('early');
  clock.advanceMs(100); // the next window's end: the lease ran out 99 ms ago (process a "died")
  const r = decided(await b.close('acct', held.current.window, 1000, ['w'])).get('w');
  t.is(kindOf(r), 'started');
  if (r?.state === 'decided' && r.outcome.kind === 'started') t.is(r.outcome.token, token + 1);
  // The stale holder comes back: it can neither renew nor release, and nothing changes.
  t.deepEqual((await a.renew('acct', 1000, 1000, [{ token, id: 'h1' }])).holders, [{ state: 'lost' }]);
  t.is(await a.release('acct', token, 'h1'), 'stale');
  const state = await a.peek('acct');
  t.deepEqual(state.holders.map((x) => [x.id, x.token]), [['w', token + 1]]);
});

test('leases - a renewal that comes after the lease ran out is refused (expired) and ends the lease', async (t) => {
  const { clock, a } = world('late');
  const s = await a.stage('acct', settings(), [cand('h', 5)]);
  clock.advanceMs(100);
  const h = decided(await a.close('acct', s.window, 1000, ['h'])).get('h');
  if (h?.state !== 'decided' || h.outcome.kind !== 'started') return t.fail('did not start');
  clock.advanceMs(1000);
  t.deepEqual((await a.renew('acct', 1000, 1000, [{ token: h.outcome.token, id: 'h' }])).holders, [{ state: 'expired' }]);
  t.is((await a.peek('acct')).holders.length, 0);
});

test('leases - release works only for the token holder: a wrong id or token is stale and changes nothing', async (t) => {
  const { clock, a } = world('release');
  const s = await a.stage('acct', settings(), [cand('h', 5)]);
  clock.advanceMs(100);
  const h = decided(await a.close('acct', s.window, 1000, ['h'])).get('h');
  if (h?.state !== 'decided' || h.outcome.kind !== 'started') return t.fail('did not start');
  const token = h.outcome.token;
  t.is(await a.release('acct', token + 1, 'h'), 'stale');
  t.is(await a.release('acct', token, 'someone-else'), 'stale');
  t.is((await a.peek('acct')).holders.length, 1);
  t.is(await a.release('acct', token, 'h'), 'released');
  t.is(await a.release('acct', token, 'h'), 'stale');
  t.is((await a.peek('acct')).holders.length, 0);
});

test('.renew() - keeps a waiting candidate staged; one whose process stopped renewing is dropped unarbitrated', async (t) => {
  const { clock, a, b } = world('stagelease');
  const q = settings({ whileExecuting: 'queue', stageLeaseMs: 1000 });
  const s1 = await a.stage('acct', q, [cand('holder', 5)]);
  clock.advanceMs(100);
  await a.close('acct', s1.window, 60_000, ['holder']);
  const s2 = await a.stage('acct', q, [cand('patient', 9)]);
  await b.stage('acct', q, [cand('ghost', 9)]);
  clock.advanceMs(600);
  t.deepEqual((await a.renew('acct', 60_000, 1000, [], ['patient'])).candidates.map((c) => c.state), ['staged']);
  clock.advanceMs(600); // ghost's stage lease (1000 ms from staging) ran out; patient's did not
  const r = await a.close('acct', s2.window, 60_000, ['patient']);
  t.is(kindOf(decided(r).get('patient')), 'staged');
  const ghost = await b.close('acct', s2.window, 60_000, ['ghost']);
  t.is(kindOf(decided(ghost).get('ghost')), 'dropped');
  t.deepEqual((await a.peek('acct')).candidates.map((c) => c.id), ['patient']);
});

test('.withdraw() - takes a staged candidate out; one that already won is released', async (t) => {
  const { clock, a } = world('withdraw');
  const s = await a.stage('acct', settings(), [cand('w1', 5), cand('w2', 1)]);
  const out = await a.withdraw('acct', ['w2', 'nobody']);
  t.deepEqual(out.map((x) => x.state), ['withdrawn', 'unknown']);
  clock.advanceMs(100);
  // The process closes the window but loses the reply (a connection drop): it withdraws the id.
  await a.close('acct', s.window, 1000, []);
  t.is((await a.peek('acct')).holders.length, 1);
  const again = await a.withdraw('acct', ['w1']);
  t.deepEqual(again.map((x) => x.state), ['released']);
  t.is((await a.peek('acct')).holders.length, 0);
});

test('NOSCRIPT - calls keep working after SCRIPT FLUSH', async (t) => {
  const { clock, a } = world('noscript');
  const c = client();
  await a.stage('acct', settings(), [cand('x', 5)]);
  await c.script('FLUSH');
  const s = await a.stage('acct', settings(), [cand('y', 5)]);
  t.is(s.candidates[0]!.state, 'staged');
  clock.advanceMs(100);
  const r = await a.close('acct', s.window, 1000, ['x', 'y']);
  t.is(r.status, 'closed');
});
