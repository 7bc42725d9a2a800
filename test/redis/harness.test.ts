import { spawn } from 'node:child_process';
import test from 'ava';
import { ping, startRedisServer } from '../helpers/redis.js';

async function until(check: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return false;
}

test('startRedisServer() - answers PING; stop() and start() bring it down and back on the same port; dispose() ends it', async (t) => {
  const redis = await startRedisServer();
  try {
    t.regex(redis.url, /^redis:\/\/127\.0\.0\.1:\d+$/);
    t.true(await ping(redis.port));
    const port = redis.port;
    await redis.stop();
    t.false(redis.running);
    t.false(await ping(port));
    await redis.start();
    t.is(redis.port, port);
    t.true(await ping(port));
    await redis.kill();
    t.false(await ping(port));
    await redis.start();
    t.true(await ping(port));
  } finally {
    await redis.dispose();
  }
  t.false(await ping(redis.port));
});

test('startRedisServer() - pause() stops answers, resume() brings them back, dispose() works on a paused server', async (t) => {
  const redis = await startRedisServer();
  try {
    redis.pause();
    t.false(await ping(redis.port, 300));
    redis.resume();
    t.true(await until(() => ping(redis.port), 5000));
    redis.pause();
  } finally {
    await redis.dispose();
  }
  t.false(await ping(redis.port));
});

test('startRedisServer() - the server dies with the process that started it, even on SIGKILL', async (t) => {
  const script = `
    import { startRedisServer } from './test/helpers/redis.ts';
    const redis = await startRedisServer();
    console.log('port', redis.port);
    setInterval(() => {}, 1000);
  `;
  const child = spawn(process.execPath, ['--import=tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /port (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', () => reject(new Error(`child exited early: ${out}`)));
  });
  t.true(await ping(port));
  child.kill('SIGKILL');
  t.true(await until(async () => !(await ping(port)), 10_000), 'the orphaned redis-server was still answering');
});
