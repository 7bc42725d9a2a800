// `arbiter stress --redis <url> --processes N` as a real process against the test harness's
// redis-server, small; and the checks across processes on recorded executions (no Redis).
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { Redis } from 'ioredis';
import { crossProcessChecks, type RedisStressReport } from '../../tools/stress-redis.js';
import { useRedisServer } from '../helpers/redis.js';

const redis = useRedisServer(test);
const bin = fileURLToPath(new URL('../../bin/arbiter.js', import.meta.url));

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { timeout: 120_000, maxBuffer: 32 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

test.serial('arbiter stress --redis --processes 2: the report summed over the processes, with the checks across them passing', async (t) => {
  t.timeout(180_000);
  const { code, stdout, stderr } = await run(['stress', '--redis', redis().url, '--processes', '2', '--duration', '1.5', '--rate', '120', '--targets', '3', '--json', '-', '--no-progress']);
  t.is(code, 0, stderr);
  const r = JSON.parse(stdout) as RedisStressReport;
  t.is(r.redis.processes, 2);
  t.is(r.perProcess.length, 2);
  const a = r.accounting;
  t.true(a.submitted > 0);
  t.is(a.submitted, r.perProcess[0]!.accounting.submitted + r.perProcess[1]!.accounting.submitted);
  t.is(a.completed, r.perProcess[0]!.accounting.completed + r.perProcess[1]!.accounting.completed);
  t.is(a.submitted, a.completed + a.rejected);
  t.is(a.inProgress, 0);
  t.true(a.completed > 0 && a.rejected > 0);
  // Both processes worked on the same targets.
  t.deepEqual(r.targets.map((x) => x.id), ['stress-target-0', 'stress-target-1', 'stress-target-2']);
  for (const p of r.perProcess) t.deepEqual(p.targets.map((x) => x.id), ['stress-target-0', 'stress-target-1', 'stress-target-2']);
  t.is(r.redis.executions, r.registry.registered, 'every winner that started is recorded in Redis');
  const names = r.integrity.map((c) => c.name);
  t.true(names.some((n) => n.startsWith('exactly one winner per window across processes')));
  t.true(names.some((n) => n.startsWith('never two executing on a target across processes')));
  for (const c of r.integrity) t.true(c.ok, `${c.name}: ${c.detail}`);
  t.true(r.ok);
  // The run's keys are gone.
  const client = new Redis(redis().url);
  try {
    t.deepEqual(await client.keys(`${r.redis.keyPrefix}*`), []);
  } finally {
    client.disconnect();
  }
});

test('arbiter stress: --processes needs --redis, and --redis runs the pre mode only', async (t) => {
  const alone = await run(['stress', '--processes', '2', '--duration', '0.1']);
  t.not(alone.code, 0);
  t.regex(alone.stderr, /--processes needs --redis <url>/);
  const post = await run(['stress', '--redis', 'redis://127.0.0.1:1', '--mode', 'post', '--duration', '0.1']);
  t.not(post.code, 0);
  t.regex(post.stderr, /--mode post .* cannot be combined with --redis/);
});

test('crossProcessChecks() - an execution that had not ended when the next started fails the check unless it was aborted; a token given twice fails the other', (t) => {
  const starts = { '1': 'a|p0|1000', '2': 'b|p1|2000', '3': 'c|p0|3000' };
  const clean = crossProcessChecks(new Map([['t', { starts, ends: { '1': '1500|0', '2': '2500|0', '3': '3500|0' }, shared: [] }]]), 3, 2);
  t.deepEqual(clean.checks.map((c) => c.ok), [true, true]);
  t.is(clean.executions, 3);
  const overlap = crossProcessChecks(new Map([['t', { starts, ends: { '1': '1500|0', '2': '3100|0', '3': '3500|0' }, shared: [] }]]), 3, 2);
  t.deepEqual(overlap.checks.map((c) => c.ok), [true, false]);
  t.regex(overlap.checks[1]!.detail, /1 overlaps.*t: b \(p1\) ran until 3100 µs, c \(p0\) started at 3000 µs/);
  const preempted = crossProcessChecks(new Map([['t', { starts, ends: { '1': '1500|0', '2': '3100|1', '3': '3500|0' }, shared: [] }]]), 3, 2);
  t.deepEqual(preempted.checks.map((c) => c.ok), [true, true]);
  t.regex(preempted.checks[1]!.detail, /1 preempted executions still ran/);
  const unfinished = crossProcessChecks(new Map([['t', { starts, ends: { '1': '1500|0', '2': '2500|0' }, shared: [] }]]), 3, 2);
  t.false(unfinished.checks[1]!.ok);
  const twice = crossProcessChecks(new Map([['t', { starts, ends: { '1': '1500|0', '2': '2500|0', '3': '3500|0' }, shared: ['2 b|p1|2000 x|p0|2001'] }]]), 3, 2);
  t.deepEqual(twice.checks.map((c) => c.ok), [false, true]);
  t.false(crossProcessChecks(new Map([['t', { starts, ends: { '1': '1500|0', '2': '2500|0', '3': '3500|0' }, shared: [] }]]), 4, 2).checks[0]!.ok, 'a winner that started without a record');
});
