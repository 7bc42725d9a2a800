// redisBackend() as an arbiter's backend: options, ready(), several "processes" (arbiters with
// backends of their own) on one Redis, what each process hears, fences, lost leases. Real Redis,
// real time; assertions about outcomes only.
import test from 'ava';
import { Redis } from 'ioredis';
import type { ArbitrationDecision } from '../../src/arbitration.js';
import { ArbiterInputError, createArbiter, Priority, type Arbiter, type ArbiterEvent, type ArbiterOptions, type Candidate, type OperationHandle } from '../../src/index.js';
import { createRedisStore, redisBackend, RedisBackend, RedisUnavailableError, StaleFenceError, type RedisBackendOptions, type RedisCandidate } from '../../src/redis/index.js';
import { MAX_RECONNECT_DELAY_MS, openClient, reconnectDelay } from '../../src/redis/connection.js';
import { freePort, startCuttableProxy, uniquePrefix, useRedisServer, type CuttableProxy } from '../helpers/redis.js';

const cleanup: (() => Promise<unknown> | unknown)[] = [];
test.after.always(async () => {
  for (const c of cleanup.reverse()) await c();
});
const redis = useRedisServer(test);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(check: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

async function outcomeOf(h: OperationHandle): Promise<string> {
  try {
    return `completed:${String(await h.result)}`;
  } catch (err) {
    return `rejected:${(err as { code: string }).code}`;
  }
}

/** An arbiter on its own backend ("a process"), stopped after the file's tests. */
async function processOn(keyPrefix: string, options: ArbiterOptions = {}, backend: Partial<RedisBackendOptions> = {}): Promise<{ arbiter: Arbiter; backend: RedisBackend; events: ArbiterEvent[] }> {
  const b = redisBackend({ url: redis().url, keyPrefix, leaseMs: 1000, ...backend });
  const arbiter = createArbiter({ windowMs: 300, ...options, backend: b });
  cleanup.push(() => arbiter.stop());
  const events: ArbiterEvent[] = [];
  arbiter.events$.subscribe((e) => events.push(e));
  await arbiter.ready();
  return { arbiter, backend: b, events };
}

test('redisBackend() - reads its options once; bad input is an ArbiterInputError naming the field, and opens nothing', (t) => {
  const url = 'redis://127.0.0.1:1';
  t.throws(() => redisBackend({ url, leaseMs: 5 }), { instanceOf: ArbiterInputError, message: /leaseMs/ });
  t.throws(() => redisBackend({ url, keyPrefix: 'a{b}' }), { instanceOf: ArbiterInputError, message: /keyPrefix/ });
  t.throws(() => redisBackend({ url, processId: 'a|b' }), { instanceOf: ArbiterInputError, message: /processId/ });
  t.throws(() => redisBackend({ url, leaseMS: 100 } as never), { instanceOf: ArbiterInputError, message: /leaseMs/ }, 'did you mean');
  t.throws(() => redisBackend({ url, client: {} as never }), { instanceOf: ArbiterInputError, message: /exactly one of `url` and `client`/ });
  t.throws(() => redisBackend({}), { instanceOf: ArbiterInputError, message: /exactly one of `url` and `client`/ });
  t.throws(() => redisBackend({ url: 'http://x' }), { instanceOf: ArbiterInputError, message: /redis:\/\/ or rediss:\/\// });
  t.throws(() => redisBackend({ url, keyPrefix: 'a:' }, { keyPrefix: 'b:' }), { instanceOf: ArbiterInputError, message: /keyPrefix.*given twice/ });
  t.throws(() => redisBackend({ url }, { url } as never), { instanceOf: ArbiterInputError });
  t.throws(() => redisBackend({ url, onSettingsMismatch: 3 as never }), { instanceOf: ArbiterInputError, message: /onSettingsMismatch/ });
  const polluted = JSON.parse('{"url":"redis://127.0.0.1:1","__proto__":{"leaseMs":1}}') as RedisBackendOptions;
  t.throws(() => redisBackend(polluted), { instanceOf: ArbiterInputError, message: /__proto__/ });
});

test('redisBackend() - the connection and the options may come apart; kind, processId, and a custom selectWinner is refused', async (t) => {
  const backend = redisBackend({ url: redis().url }, { keyPrefix: uniquePrefix('apart'), leaseMs: 1500, processId: 'worker-7' });
  t.is(backend.kind, 'redis');
  t.false(backend.decidesLocally);
  t.is(backend.processId, 'worker-7');
  t.is(backend.leaseMs, 1500);
  t.throws(() => createArbiter({ backend, selectWinner: (cs) => cs[0] ?? null }), { instanceOf: ArbiterInputError, message: /the redis backend decides them where every process sees them/ });
  await backend.close();
  const defaulted = redisBackend({ url: redis().url });
  t.regex(defaulted.processId, /^[^|\s]+:\d+:[0-9a-f]{8}$/);
  t.is(defaulted.keyPrefix, 'arbiter:');
  await defaulted.close();
});

test('openClient({ url }) - its connections (and their duplicates) try again at most about every half second while Redis is unreachable, not after up to 5 s', (t) => {
  for (const times of [1, 2, 4, 5, 10, 100]) {
    const delay = reconnectDelay(times);
    t.true(delay >= Math.min(50 * 2 ** (times - 1), MAX_RECONNECT_DELAY_MS) && delay < MAX_RECONNECT_DELAY_MS + 100, `attempt ${times}: ${delay} ms`);
  }
  const { client } = openClient({ url: 'redis://127.0.0.1:1' });
  const subscriber = (client as Redis).duplicate();
  t.is((client as Redis).options.retryStrategy, reconnectDelay);
  t.is(subscriber.options.retryStrategy, reconnectDelay);
  client.disconnect();
  subscriber.disconnect();
});

test('ready() - rejects with RedisUnavailableError naming the URL (password redacted) and the timeout when nothing listens', async (t) => {
  const port = await freePort();
  const arbiter = createArbiter({ backend: redisBackend({ url: `redis://app:s3cret@127.0.0.1:${port}`, connectTimeoutMs: 700 }) });
  const err = await t.throwsAsync(arbiter.ready(), { instanceOf: RedisUnavailableError });
  t.regex(err.message, new RegExp(`^the Redis backend could not reach Redis at redis://app:\\*\\*\\*@127\\.0\\.0\\.1:${port} within 700 ms \\(connectTimeoutMs\\): .*ECONNREFUSED`));
  t.false(err.message.includes('s3cret'));
  t.is(err.code, 'backend-unavailable');
  // Submissions settle too (never hang): backend-unavailable.
  t.is(await outcomeOf(arbiter.submit({ target: 't', execute: async () => 1 })), 'rejected:backend-unavailable');
  await arbiter.stop();
  await t.throwsAsync(arbiter.ready(), { message: /closed/ });
});

test('ready() - resolves with a client of yours, which close() leaves open', async (t) => {
  const client = new Redis(redis().url);
  cleanup.push(() => client.disconnect());
  const arbiter = createArbiter({ windowMs: 50, backend: redisBackend({ client, keyPrefix: uniquePrefix('own') }) });
  await arbiter.ready();
  t.is(await arbiter.submit({ target: 't', execute: async () => 'ok' }).result, 'ok');
  await arbiter.stop();
  t.is(await client.ping(), 'PONG');
});

test('two processes, one target, one window: one winner across both, the loser hears who won, the window is reported once', async (t) => {
  const keyPrefix = uniquePrefix('two');
  const a = await processOn(keyPrefix, { windowMs: 800 });
  const b = await processOn(keyPrefix, { windowMs: 800 });
  const ha = [Priority.LOW, Priority.HIGH].map((priority) => a.arbiter.submit({ target: 'acct', priority, execute: async () => `a${priority}` }));
  const hb = [Priority.CRITICAL, Priority.NORMAL].map((priority) => b.arbiter.submit({ target: 'acct', priority, execute: async () => `b${priority}` }));
  const outcomes = await Promise.all([...ha, ...hb].map(outcomeOf));
  t.deepEqual(outcomes, ['rejected:lost-arbitration', 'rejected:lost-arbitration', `completed:b${Priority.CRITICAL}`, 'rejected:lost-arbitration']);
  const lost = (await ha[1]!.result.catch((e: Error) => e)) as Error;
  t.regex(lost.message, new RegExp(`lost arbitration to ${hb[0]!.id} \\(operation, priority 10 vs 8\\)`));
  const resolved = [...a.events, ...b.events].filter((e) => e.type === 'conflict.resolved');
  t.is(resolved.length, 1, 'one report for the window, by the process that closed it');
  const report = resolved[0];
  t.deepEqual(report?.type === 'conflict.resolved' ? [...report.candidateIds].sort() : [], [...ha, ...hb].map((h) => h.id).sort());
  const m = [a.arbiter.metrics(), b.arbiter.metrics()];
  t.is(m[0]!.conflicts + m[1]!.conflicts, 1);
  t.is(m[0]!.submitted + m[1]!.submitted, m[0]!.completed + m[1]!.completed + m[0]!.rejected + m[1]!.rejected);
});

test('one operation alone costs three commands: stage, close, release', async (t) => {
  const keyPrefix = uniquePrefix('three');
  // A long lease: no renewal falls inside the run, even on a slow machine.
  const a = await processOn(keyPrefix, { windowMs: 100 }, { leaseMs: 10_000 });
  const before = { ...a.backend.stats };
  const h = a.arbiter.submit({ target: 'acct', execute: async () => 'done' });
  t.is(await outcomeOf(h), 'completed:done');
  await sleep(0);
  await a.backend.node.targets.drain();
  t.is(a.backend.stats.commands - before.commands, 3);
});

test('a coordinator\'s window timer that fires before the Redis window ends sends no close: the channel closes on Redis time alone', async (t) => {
  const backend = redisBackend({ url: redis().url, keyPrefix: uniquePrefix('hint'), leaseMs: 10_000 });
  cleanup.push(() => backend.close());
  await backend.ready();
  const decided: ArbitrationDecision[] = [];
  const channel = backend.open(
    'acct',
    { decided: (d) => void decided.push(d), preempt: () => undefined, leaseLost: () => undefined, unavailable: () => undefined },
    { windowMs: 100, whileExecuting: 'preempt', gracePeriodMs: 0 },
  );
  const candidate: Candidate = Object.freeze({ id: 'c1', target: 'acct', type: 'op', priority: 5, effectivePriority: 5, submittedAt: 0, seq: 1, data: undefined });
  const before = backend.stats.commands;
  channel.stage(candidate);
  // The coordinator's timer fires while the stage is still on its way (its window started first).
  const policy = { whileExecuting: 'preempt' as const, gracePeriodMs: 0 };
  t.is(channel.decide({ candidates: [candidate], holders: [], policy, ctx: Object.freeze({ target: 'acct', now: 0, windowOpenedAt: 0, executing: [] }) }), undefined);
  await until(() => decided.length > 0, 'the decision');
  await backend.node.targets.drain();
  t.like(decided[0], { kind: 'start', winner: { id: 'c1' } });
  t.is(backend.stats.commands - before, 2, 'one stage and one close, no early close');
  channel.release('c1');
});

test('decisions show candidates of every process with the process that staged them', async (t) => {
  const keyPrefix = uniquePrefix('views');
  const a = await processOn(keyPrefix, { windowMs: 600 }, { processId: 'proc-a' });
  const b = await processOn(keyPrefix, { windowMs: 600 }, { processId: 'proc-b' });
  const seen: RedisCandidate[][] = [];
  const listen = (backend: RedisBackend) => {
    const open = backend.open.bind(backend);
    backend.open = (target, listener, settings) =>
      open(target, { ...listener, decided: (d, report) => (d.kind !== 'empty' && seen.push((d.kind === 'none' ? d.losers : [d.winner, ...d.losers]) as RedisCandidate[]), listener.decided(d, report)), preempt: (id, r) => listener.preempt(id, r), leaseLost: (id, r) => listener.leaseLost(id, r), unavailable: (e) => listener.unavailable(e) }, settings);
  };
  listen(a.backend);
  const ha = a.arbiter.submit({ target: 'v', type: 'debit', priority: 3, execute: async () => 1 });
  await sleep(50);
  const hb = b.arbiter.submit({ target: 'v', type: 'credit', priority: 3, execute: async () => 2 });
  t.deepEqual(await Promise.all([ha, hb].map(outcomeOf)), ['completed:1', 'rejected:lost-arbitration'], 'equal priorities: the earliest by Redis order');
  const views = seen[0]!;
  t.deepEqual(
    views.map((c) => [c.id, c.type, c.processId, c.data]),
    [
      [ha.id, 'debit', 'proc-a', undefined],
      [hb.id, 'credit', 'proc-b', undefined],
    ],
  );
  t.true(views[0]!.seq < views[1]!.seq, 'the Redis order');
  t.true(Object.isFrozen(views[0]));
  // What the inspector reads: the process of this arbiter's operations, and of every candidate of a window.
  t.is(a.arbiter.backend.processId, 'proc-a');
  const resolved = [...a.events, ...b.events].filter((e) => e.type === 'conflict.resolved');
  t.is(resolved.length, 1);
  t.deepEqual({ ...(resolved[0]?.type === 'conflict.resolved' ? resolved[0].processIds : {}) }, { [ha.id]: 'proc-a', [hb.id]: 'proc-b' });
});

test("a loser with onLose: 'retry' competes again in the next window across processes, and wins once the others are gone", async (t) => {
  const keyPrefix = uniquePrefix('retry');
  const a = await processOn(keyPrefix, { windowMs: 400, whileExecuting: 'queue' });
  const b = await processOn(keyPrefix, { windowMs: 400, whileExecuting: 'queue' });
  let release!: () => void;
  const gate = new Promise<string>((r) => (release = () => r('first')));
  const first = a.arbiter.submit({ target: 'r', priority: Priority.HIGH, execute: () => gate });
  const patient = b.arbiter.submit({ target: 'r', priority: Priority.LOW, onLose: 'retry', maxLosses: 10, execute: async () => 'patient' });
  await until(() => first.status() === 'executing', 'the first to start');
  const rival = a.arbiter.submit({ target: 'r', priority: Priority.NORMAL, execute: async () => 'rival' });
  await until(() => rival.status() !== 'pending' && rival.status() !== 'staged' || b.events.some((e) => e.type === 'operation.requeued'), 'a window');
  release();
  t.deepEqual(await Promise.all([first, rival, patient].map(outcomeOf)), ['completed:first', 'completed:rival', 'completed:patient']);
  t.true(b.events.some((e) => e.type === 'operation.requeued' && e.operationId === patient.id), 'it lost a window and stayed staged');
});

test("a winner's fencing token reaches execute({ fence }); the Redis store refuses it once another process holds the target", async (t) => {
  const keyPrefix = uniquePrefix('fence');
  const store = createRedisStore({ url: redis().url, keyPrefix });
  cleanup.push(() => store.close());
  const account = await store.create({ balance: 100 }, { id: 'acct-1' });
  const a = await processOn(keyPrefix, { windowMs: 100, gracePeriodMs: 0 });
  const b = await processOn(keyPrefix, { windowMs: 100 });
  let fenceA: { target: string; token: number } | undefined;
  const low = a.arbiter.submit({
    target: 'acct-1',
    priority: Priority.LOW,
    execute: async ({ fence, signal }) => {
      fenceA = fence;
      await store.update<{ balance: number }>(account.id, (d) => void (d.balance -= 10), { fence });
      await new Promise((resolve) => signal.addEventListener('abort', resolve));
      return 'never';
    },
  });
  await until(() => fenceA !== undefined, 'a to execute');
  const high = b.arbiter.submit({
    target: 'acct-1',
    priority: Priority.CRITICAL,
    execute: async ({ fence }) => (await store.update<{ balance: number }>(account.id, (d) => void (d.balance -= 1), { fence })).data.balance,
  });
  t.deepEqual(await Promise.all([low, high].map(outcomeOf)), ['rejected:preempted', 'completed:89']);
  const zombie = await t.throwsAsync(store.update(account.id, () => ({ balance: 0 }), { fence: fenceA! }), { instanceOf: StaleFenceError });
  t.is(zombie.reason, 'superseded');
  t.is((await store.get<{ balance: number }>(account.id))?.data.balance, 89);
});

test('a holder whose process is cut off from Redis ends backend-unavailable (a lost lease, not a preemption); another process then takes the target', async (t) => {
  const keyPrefix = uniquePrefix('cut');
  const proxy: CuttableProxy = await startCuttableProxy(redis().port);
  cleanup.push(() => proxy.close());
  const a = await processOn(keyPrefix, { windowMs: 100 }, { url: proxy.url, leaseMs: 800 });
  const b = await processOn(keyPrefix, { windowMs: 100 }, { leaseMs: 800 });
  let aborted = false;
  const held = a.arbiter.submit({ target: 'c', priority: Priority.CRITICAL, execute: ({ signal }) => new Promise((_, reject) => signal.addEventListener('abort', () => ((aborted = true), reject(signal.reason)))) });
  await until(() => held.status() === 'executing', 'a to hold the target');
  proxy.cut();
  const next = b.arbiter.submit({ target: 'c', priority: Priority.LOW, execute: async () => 'next' });
  const err = (await held.result.catch((e: unknown) => e)) as { code: string; reason: string };
  t.is(err.code, 'backend-unavailable');
  t.true(aborted);
  t.is(await next.result, 'next');
  proxy.restore();
  t.is(a.arbiter.metrics().inFlight, 0);
});

test('two arbiters given one backend: the second one\'s operations end backend-unavailable with the reason, never wait', async (t) => {
  const backend = redisBackend({ url: redis().url, keyPrefix: uniquePrefix('shared') });
  const one = createArbiter({ windowMs: 100, backend });
  const two = createArbiter({ windowMs: 100, backend });
  const first = one.submit({ target: 's', execute: () => new Promise(() => {}) });
  const second = two.submit({ target: 's', execute: async () => 2 });
  const err = (await second.result.catch((e: unknown) => e)) as { code: string; reason: string };
  t.is(err.code, 'backend-unavailable');
  t.regex(err.reason, /give each arbiter its own redisBackend\(\)/);
  await one.stop();
  t.is(await outcomeOf(first), 'rejected:shutdown');
  await two.stop();
});

test('a process with other window settings on the same prefix is told (once), by default as a Node warning', async (t) => {
  const keyPrefix = uniquePrefix('settings');
  const told: unknown[] = [];
  const a = await processOn(keyPrefix, { windowMs: 500 });
  const b = await processOn(keyPrefix, { windowMs: 200 }, { onSettingsMismatch: (info) => told.push(info) });
  const ha = a.arbiter.submit({ target: 'w', execute: async () => 'a' });
  await sleep(50);
  const hb = b.arbiter.submit({ target: 'w', execute: async () => 'b' });
  await Promise.all([ha, hb].map(outcomeOf));
  t.deepEqual(told, [{ target: 'w', theirs: { windowMs: 500, whileExecuting: 'preempt', gracePeriodMs: 200 }, ours: { windowMs: 200, whileExecuting: 'preempt', gracePeriodMs: 200 } }]);
  const warnings: Error[] = [];
  const onWarning = (w: Error) => warnings.push(w);
  process.on('warning', onWarning);
  try {
    const c = await processOn(keyPrefix, { windowMs: 50 });
    const hc = [a.arbiter.submit({ target: 'x', execute: async () => 'a' })];
    await sleep(50);
    hc.push(c.arbiter.submit({ target: 'x', execute: async () => 'c' }));
    await Promise.all(hc.map(outcomeOf));
    await until(() => warnings.length > 0, 'the warning');
  } finally {
    process.off('warning', onWarning);
  }
  t.like(warnings[0], { name: 'Warning', code: 'ARBITER_WINDOW_SETTINGS' });
  t.regex(warnings[0]!.message, /every process sharing key prefix .* should use the same windowMs, whileExecuting and gracePeriodMs/);
});

test('stop() withdraws what this process staged and releases what it holds: another process gets the target at once', async (t) => {
  const keyPrefix = uniquePrefix('stop');
  const a = await processOn(keyPrefix, { windowMs: 100 }, { leaseMs: 60_000 });
  const b = await processOn(keyPrefix, { windowMs: 100, whileExecuting: 'queue' }, { leaseMs: 60_000 });
  const held = a.arbiter.submit({ target: 'h', execute: () => new Promise(() => {}) });
  await until(() => held.status() === 'executing', 'a to hold');
  const waiting = b.arbiter.submit({ target: 'h', execute: async () => 'after' });
  await sleep(300);
  t.is(waiting.status(), 'staged');
  await a.arbiter.stop();
  t.is(await outcomeOf(held), 'rejected:shutdown');
  // Far less than the 60 s lease: only a release lets it start this soon.
  t.is(await Promise.race([waiting.result, sleep(20_000).then(() => 'still waiting for the lease')]), 'after');
});
