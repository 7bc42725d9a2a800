// examples/redis-service: the demo script starts the Fastify service as two processes on the test
// harness's redis-server and hits both; every round (one window) must have one winner.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { useRedisServer } from '../helpers/redis.js';

const redis = useRedisServer(test);
const script = fileURLToPath(new URL('../../examples/redis-service/demo.ts', import.meta.url));

test('examples/redis-service - two service processes on one Redis: one winner per round, the highest priority, whichever process it reached', async (t) => {
  t.timeout(180_000);
  const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', script], { env: { ...process.env, REDIS_URL: redis().url }, timeout: 150_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
  });
  t.is(code, 0, `${stdout}\n${stderr}`);
  const lines = stdout.trim().split('\n');
  t.regex(lines[0] ?? '', /^two processes on redis:\/\/127\.0\.0\.1:\d+: service-a at http:\/\/127\.0\.0\.1:\d+, service-b at http:\/\/127\.0\.0\.1:\d+$/);
  t.deepEqual(
    lines.filter((l) => l.includes('one winner')),
    ['  one winner across both processes: priority 9 via service-b', '  one winner across both processes: priority 8 via service-a', '  one winner across both processes: priority 10 via service-a'],
  );
  // Each round: 6 requests over both processes, 1 completed, 5 lost-arbitration.
  t.is(lines.filter((l) => / 200 completed \(balance \d+\)$/.test(l)).length, 3);
  t.is(lines.filter((l) => / 409 rejected lost-arbitration$/.test(l)).length, 15);
  t.is(lines.at(-1), 'balance after 3 rounds: 70 (100 - 3 × 10)');
});
