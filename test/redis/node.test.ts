// Several "processes" (each a RedisNode on its own connections) on one Redis, with real Redis time
// and short windows. Assertions are about outcomes, never about timing.
import test from 'ava';
import { Redis, type RedisOptions } from 'ioredis';
import type { RedisDecision } from '../../src/redis/messages.js';
import { RedisNode, type RedisTargetPort } from '../../src/redis/node.js';
import type { WhileExecuting } from '../../src/types.js';
import { manualClock, startCuttableProxy, uniquePrefix, useRedisServer, type CuttableProxy } from '../helpers/redis.js';

const cleanup: (() => Promise<void> | void)[] = [];
test.after.always(async () => {
  for (const c of cleanup.reverse()) await c();
});
// Registered after the cleanup above, so the server stops after the clients let go.
const redis = useRedisServer(test);

function connect(url: string, options: RedisOptions = {}): Redis {
  const client = new Redis(url, options);
  client.on('error', () => undefined);
  cleanup.push(() => client.disconnect());
  return client;
}

async function proxy(): Promise<CuttableProxy> {
  const p = await startCuttableProxy(redis().port);
  cleanup.push(() => p.close());
  return p;
}

interface Recorder extends RedisTargetPort {
  decisions: RedisDecision[];
  preempts: [string, string][];
  errors: Error[];
}

function recorder(): Recorder {
  const r: Recorder = {
    decisions: [],
    preempts: [],
    errors: [],
    decided: (d) => r.decisions.push(d),
    preempt: (id, reason) => r.preempts.push([id, reason]),
    unavailable: (err) => r.errors.push(err),
  };
  return r;
}

async function until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function node(keyPrefix: string, options: { url?: string; subscriberUrl?: string; clientOptions?: RedisOptions; leaseMs?: number; windowMs?: number; whileExecuting?: WhileExecuting; clock?: () => number } = {}): Promise<RedisNode> {
  const client = connect(options.url ?? redis().url, options.clientOptions);
  const subscriber = options.subscriberUrl ? connect(options.subscriberUrl) : undefined;
  const n = new RedisNode({
    client,
    ...(subscriber ? { subscriber } : {}),
    keyPrefix,
    leaseMs: options.leaseMs ?? 2000,
    windowMs: options.windowMs ?? 100,
    whileExecuting: options.whileExecuting ?? 'preempt',
    gracePeriodMs: 0,
    ...(options.clock ? { clock: options.clock } : {}),
  });
  cleanup.push(() => n.dispose());
  await n.ready();
  return n;
}

const cand = (id: string, priority: number) => ({ id, type: 'transfer', priority, effectivePriority: priority });

test('RedisNode - a burst from 4 processes on one target inside one window: exactly one winner, the highest priority, and every process hears the same decision', async (t) => {
  const keyPrefix = uniquePrefix('burst');
  // A long window: on a loaded machine the four processes' stages still land inside it.
  const nodes = await Promise.all([0, 1, 2, 3].map(() => node(keyPrefix, { windowMs: 1000 })));
  const ports = nodes.map(() => recorder());
  const priorities = [[3, 7, 1], [9, 2, 5], [10, 4, 6], [8, 8, 1]];
  nodes.forEach((n, i) => {
    const channel = n.open('account', ports[i]!);
    priorities[i]!.forEach((p, j) => void channel.stage(cand(`n${i}-c${j}`, p)));
  });
  await until(() => ports.every((p) => p.decisions.length > 0), 'every process to hear the decision');
  const all = ports.flatMap((p) => p.decisions);
  t.true(all.every((d) => d.kind === 'start'));
  t.is(new Set(all.map((d) => d.kind === 'none' ? -1 : d.window)).size, 1, 'one window');
  const d = all[0]!;
  if (d.kind !== 'start') return t.fail();
  t.is(d.winner.id, 'n2-c0');
  t.is(d.candidates.length, 12);
  t.is(d.losers.length, 11);
  t.regex(d.losers[0]!.reason, /^lost arbitration to n2-c0 \(transfer, priority 10 vs \d+\)$/);
  t.is(nodes[2]!.open('account', ports[2]!).tokenOf('n2-c0'), d.token);
  t.true(nodes.every((n, i) => i === 2 || n.open('account', ports[i]!).tokenOf('n2-c0') === undefined));
});

test('RedisTargetChannel - a candidate staged in the same turn as a close is in the window that close decides', async (t) => {
  const keyPrefix = uniquePrefix('order');
  const clock = manualClock();
  const a = await node(keyPrefix, { windowMs: 100, clock: clock.now });
  const pa = recorder();
  const channel = a.open('acct', pa);
  await channel.stage(cand('first', 5));
  clock.advanceMs(100); // the window is due (by the scripts' clock)
  // One turn: a stage, then a close that asks about it.
  void channel.stage(cand('second', 9));
  channel.closeDue();
  await until(() => pa.decisions.length > 0, 'the decision');
  await sleep(300);
  t.is(pa.decisions.length, 1);
  t.like(pa.decisions[0], { kind: 'start', winner: { id: 'second' } });
  const d = pa.decisions[0];
  t.deepEqual(d?.kind === 'start' ? d.losers.map((l) => l.candidate.id) : [], ['first']);
});

test('RedisNode - a process cut off from Redis while the window is decided gets its decision after reconnecting', async (t) => {
  const keyPrefix = uniquePrefix('reconnect');
  const p = await proxy();
  const a = await node(keyPrefix, { url: p.url });
  const b = await node(keyPrefix);
  const pa = recorder();
  const pb = recorder();
  const ca = a.open('acct', pa);
  await ca.stage(cand('a-high', 9));
  p.cut();
  void b.open('acct', pb).stage(cand('b-low', 1));
  await until(() => pb.decisions.length === 1, 'b to hear the decision');
  const seen = pb.decisions[0]!;
  t.is(seen.kind, 'start');
  t.is(pa.decisions.length, 0, 'a is cut off');
  await sleep(300);
  p.restore();
  await until(() => pa.decisions.length === 1, 'a to hear the decision after reconnecting');
  const got = pa.decisions[0]!;
  if (got.kind !== 'start' || seen.kind !== 'start') return t.fail();
  t.is(got.winner.id, 'a-high');
  t.is(got.window, seen.window);
  t.is(got.token, seen.token);
  t.is(ca.tokenOf('a-high'), got.token);
  t.deepEqual(pa.errors, []);
  await sleep(300);
  t.is(pa.decisions.length, 1, 'delivered once');
});

test('RedisNode - a close whose reply is lost with the connection is sent again after reconnecting, and the decision is not lost', async (t) => {
  const keyPrefix = uniquePrefix('lostreply');
  const p = await proxy();
  const a = await node(keyPrefix, { url: p.url, windowMs: 100 });
  const pa = recorder();
  const ca = a.open('acct', pa);
  await ca.stage(cand('solo', 5));
  p.dropReplies(); // the close reaches Redis and closes the window; its reply vanishes
  const admin = connect(redis().url);
  await sleep(300);
  t.is(await admin.hget(`${keyPrefix}{acct}:m`, 'open'), '0', 'Redis closed the window');
  t.is(pa.decisions.length, 0);
  p.cut();
  p.restore();
  await until(() => pa.decisions.length === 1, 'the decision after reconnecting');
  t.like(pa.decisions[0], { kind: 'start', winner: { id: 'solo' } });
  t.is(typeof ca.tokenOf('solo'), 'number');
});

test('RedisNode - a preemption whose channel message is lost reaches the holder through its next lease renewal', async (t) => {
  const keyPrefix = uniquePrefix('preempt');
  const p = await proxy();
  const a = await node(keyPrefix, { subscriberUrl: p.url });
  const b = await node(keyPrefix);
  const pa = recorder();
  const ca = a.open('acct', pa);
  void ca.stage(cand('a-low', 1));
  await until(() => pa.decisions.length === 1, 'a to win');
  p.cut(); // a's subscriber connection: the preempt message will be lost
  const pb = recorder();
  void b.open('acct', pb).stage(cand('b-high', 9));
  await until(() => pb.decisions.length === 1, 'b to win');
  t.is(pb.decisions[0]!.kind, 'start');
  await until(() => pa.preempts.length === 1, 'a to learn it was preempted');
  p.restore();
  t.is(pa.preempts[0]![0], 'a-low');
  t.regex(pa.preempts[0]![1], /^preempted by b-high \(priority 9 vs 1\) after \d+ ms$/);
  t.is(ca.tokenOf('a-low'), undefined);
  await sleep(500);
  t.is(pa.preempts.length, 1, 'told once');
});

test('RedisNode - a preemption reaches the holder on its channel at once, and a holder that keeps renewing keeps its lease past leaseMs', async (t) => {
  const keyPrefix = uniquePrefix('hold');
  const a = await node(keyPrefix, { leaseMs: 600, whileExecuting: 'queue' });
  const b = await node(keyPrefix, { leaseMs: 600, whileExecuting: 'queue' });
  const pa = recorder();
  const pb = recorder();
  const ca = a.open('q', pa);
  void ca.stage(cand('long', 1));
  await until(() => pa.decisions.length === 1, 'a to win');
  void b.open('q', pb).stage(cand('waiter', 9));
  await until(() => pb.decisions.some((d) => d.kind === 'hold'), 'b to be held');
  await sleep(1800); // three lease lengths: renewals keep it
  t.deepEqual(pa.preempts, []);
  t.true(pb.decisions.every((d) => d.kind === 'hold'));
  ca.release('long');
  await until(() => pb.decisions.some((d) => d.kind === 'start'), 'b to start after the release');
  const started = pb.decisions.find((d) => d.kind === 'start');
  t.is(started?.kind === 'start' ? started.winner.id : undefined, 'waiter');
});

test('RedisNode - a holder cut off from Redis ends its lease locally within leaseMs; another process takes the target once the lease ran out in Redis', async (t) => {
  const keyPrefix = uniquePrefix('cutoff');
  const p = await proxy();
  const a = await node(keyPrefix, { url: p.url, leaseMs: 600 });
  const b = await node(keyPrefix, { leaseMs: 600 });
  const pa = recorder();
  const pb = recorder();
  const ca = a.open('acct', pa);
  void ca.stage(cand('holder', 9));
  await until(() => pa.decisions.length === 1, 'a to win');
  p.cut(); // a can no longer renew (its commands wait for a connection that does not come back)
  void b.open('acct', pb).stage(cand('next', 1));
  await until(() => pa.preempts.length === 1, 'a to give its lease up');
  t.is(pa.preempts[0]![0], 'holder');
  t.regex(pa.preempts[0]![1], /no renewal succeeded within 600 ms/);
  t.is(ca.tokenOf('holder'), undefined);
  await until(() => pb.decisions.some((d) => d.kind === 'start'), 'b to start');
  p.restore();
});

test('RedisNode - candidates Redis no longer knows (flushed) are decided none with backend-unavailable', async (t) => {
  const keyPrefix = uniquePrefix('flush');
  const a = await node(keyPrefix, { windowMs: 60_000 });
  const pa = recorder();
  const channel = a.open('acct', pa);
  await channel.stage(cand('gone', 5));
  const admin = connect(redis().url);
  const keys = await admin.keys(`${keyPrefix}*`);
  await admin.del(...keys);
  channel.closeDue();
  await until(() => pa.decisions.length === 1, 'the decision');
  t.like(pa.decisions[0], { kind: 'none', code: 'backend-unavailable', ids: ['gone'] });
});

test('RedisNode - a command that fails (Redis unreachable) makes the channel unavailable and forget its work', async (t) => {
  const keyPrefix = uniquePrefix('down');
  const p = await proxy();
  const a = await node(keyPrefix, { url: p.url, clientOptions: { maxRetriesPerRequest: 0 }, windowMs: 50 });
  const pa = recorder();
  const ca = a.open('acct', pa);
  await ca.stage(cand('x', 5));
  p.cut();
  await until(() => pa.errors.length === 1, 'unavailable');
  t.deepEqual(ca.stagedIds, []);
  t.deepEqual(pa.decisions, []);
  p.restore();
});
