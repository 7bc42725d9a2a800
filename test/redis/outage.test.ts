// Redis going away under a running arbiter (stopped, then paused), and coming back; and the entry
// without ioredis installed. A server of this file's own: these tests stop it.
import test from 'ava';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createArbiter, Priority, type Arbiter, type OperationHandle } from '../../src/index.js';
import { redisBackend, RedisUnavailableError } from '../../src/redis/index.js';
import { uniquePrefix, useRedisServer } from '../helpers/redis.js';

const redis = useRedisServer(test);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Never hangs: an outcome, or `pending` after `ms` (generous: the machine is shared). */
async function settled(h: OperationHandle, ms = 20_000): Promise<string> {
  const outcome = h.result.then(
    (v) => `completed:${String(v)}`,
    (err: { code: string }) => `rejected:${err.code}`,
  );
  return Promise.race([outcome, sleep(ms).then(() => 'pending')]);
}

async function until(check: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

const hang = ({ signal }: { signal: AbortSignal }) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)));

const WINDOW_MS = 100;
const LEASE_MS = 1000;
const COMMAND_TIMEOUT_MS = 1000;
/** The README's bound: everything ends within windowMs + leaseMs + 2 × commandTimeoutMs of the outage. */
const BOUND_MS = WINDOW_MS + LEASE_MS + 2 * COMMAND_TIMEOUT_MS;
/** Generous: the machine is shared, timers run late under load. */
const MARGIN_MS = 8000;

async function running(): Promise<Arbiter> {
  const arbiter = createArbiter({
    windowMs: WINDOW_MS,
    backend: redisBackend({ url: redis().url, keyPrefix: uniquePrefix('outage'), leaseMs: LEASE_MS, commandTimeoutMs: COMMAND_TIMEOUT_MS, connectTimeoutMs: 1500 }),
  });
  await arbiter.ready();
  return arbiter;
}

for (const how of ['stopped', 'paused'] as const) {
  test.serial(`Redis ${how} while running: what is held, staged or submitted ends backend-unavailable, nothing stays pending; Redis back: new submissions work`, async (t) => {
    const arbiter = await running();
    const broken: string[] = [];
    arbiter.events$.subscribe((e) => {
      const m = arbiter.metrics();
      if (m.submitted !== m.completed + m.rejected + m.inFlight) broken.push(`${e.type}: ${m.submitted} ≠ ${m.completed} + ${m.rejected} + ${m.inFlight}`);
    });
    try {
      const held = arbiter.submit({ target: 'a', priority: Priority.CRITICAL, execute: hang });
      await until(() => held.status() === 'executing', 'the holder to start');
      const waiting = arbiter.submit({ target: 'a', priority: Priority.LOW, execute: async () => 'waiting' });
      if (how === 'stopped') await redis().stop();
      else redis().pause();
      const cutAt = performance.now();
      const during = arbiter.submit({ target: 'b', execute: async () => 'during' });
      const endedAfter: number[] = [];
      const outcomes = await Promise.all([held, waiting, during].map((h) => settled(h).finally(() => endedAfter.push(performance.now() - cutAt))));
      t.deepEqual(outcomes, ['rejected:backend-unavailable', 'rejected:backend-unavailable', 'rejected:backend-unavailable']);
      t.true(Math.max(...endedAfter) <= BOUND_MS + MARGIN_MS, `ended ${endedAfter.map(Math.round).join(', ')} ms after the outage`);
      t.deepEqual(broken, [], 'submitted = completed + rejected + inFlight at every event');
      const m = arbiter.metrics();
      t.is(m.inFlight, 0);
      t.is(m.submitted, m.completed + m.rejected);
      t.is(m.rejectedByCode['backend-unavailable'], 3);
      if (how === 'stopped') {
        // The connection is gone: ready() checks again (and says why it cannot).
        const err = await t.throwsAsync(arbiter.ready(), { instanceOf: RedisUnavailableError });
        t.regex(err.message, new RegExp(`Redis at ${redis().url}/? within 1500 ms`));
      }
      if (how === 'stopped') await redis().start();
      else redis().resume();
      await arbiter.ready();
      const after = [arbiter.submit({ target: 'a', execute: async () => 'a again' }), arbiter.submit({ target: 'c', execute: async () => 'c' })];
      t.deepEqual(await Promise.all(after.map((h) => settled(h))), ['completed:a again', 'completed:c']);
    } finally {
      if (!redis().running) await redis().start();
      await arbiter.stop();
    }
  });
}

test.serial('stop() returns while Redis is unreachable (its releases are given up after a bound)', async (t) => {
  const arbiter = await running();
  const held = arbiter.submit({ target: 'a', execute: hang });
  await until(() => held.status() === 'executing', 'the holder to start');
  await redis().stop();
  try {
    const stopped = arbiter.stop().then(() => 'stopped');
    t.is(await Promise.race([stopped, sleep(20_000).then(() => 'still stopping')]), 'stopped');
    t.is(await settled(held), 'rejected:shutdown');
  } finally {
    await redis().start();
  }
});

test('xstate-arbiter/redis without ioredis installed: OptionalDependencyError naming `npm install ioredis`', async (t) => {
  // A resolve hook hides ioredis, as in an application that has not installed it.
  const hook = `data:text/javascript,${encodeURIComponent(`
    export async function resolve(specifier, context, next) {
      if (specifier === 'ioredis' || specifier.startsWith('ioredis/')) {
        throw Object.assign(new Error("Cannot find package 'ioredis' imported from " + context.parentURL), { code: 'ERR_MODULE_NOT_FOUND' });
      }
      return next(specifier, context);
    }`)}`;
  const register = `data:text/javascript,${encodeURIComponent(`import { register } from 'node:module'; register(${JSON.stringify(hook)});`)}`;
  const entry = fileURLToPath(new URL('../../src/redis/index.ts', import.meta.url));
  const script = `try { await import(${JSON.stringify(entry)}); console.log('loaded'); } catch (err) { console.log(JSON.stringify([err.name, err.code, err.message])); }`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--import', register, '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let errText = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (errText += c.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  t.is(code, 0, errText);
  const [name, errCode, message] = JSON.parse(out.trim()) as [string, string, string];
  t.is(name, 'OptionalDependencyError');
  t.is(errCode, 'ERR_ARBITER_OPTIONAL_DEPENDENCY');
  t.is(message, 'the Redis backend (xstate-arbiter/redis) needs ioredis, an optional peer dependency of xstate-arbiter that is not installed: run `npm install ioredis`');
});
