// The CLI in a short mode, as a real process on a real clock: asserts the reports' accounting and
// integrity, never a timing.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import type { BrutalityReport } from '../../tools/brutality.js';
import type { StressReport } from '../../tools/stress.js';

const bin = fileURLToPath(new URL('../../bin/arbiter.js', import.meta.url));

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { timeout: 60_000, maxBuffer: 32 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

function assertAccounting(t: import('ava').ExecutionContext, r: StressReport): void {
  const a = r.accounting;
  t.true(a.submitted > 0);
  t.is(a.submitted, a.completed + a.rejected + a.inProgress);
  t.is(a.unaccounted, 0);
  t.is(a.inProgress, 0);
  t.true(a.completed > 0, 'some winners executed');
  t.true(a.rejected > 0, 'batches of 3–8 on few targets must produce losers');
  t.is(r.conflicts.detected, r.conflicts.resolved);
  for (const c of r.integrity) t.true(c.ok, `${c.name}: ${c.detail}`);
  t.true(r.ok);
}

test('arbiter stress --json - : accounting balances and every integrity check passes', async (t) => {
  const { code, stdout } = await run(['stress', '--duration', '1.5', '--rate', '300', '--seed', '7', '--json', '-', '--no-progress']);
  t.is(code, 0);
  const r = JSON.parse(stdout) as StressReport;
  t.is(r.mode, 'pre');
  assertAccounting(t, r);
  const executed = Object.values(r.operations.byType).reduce((s, f) => s + f.executed, 0);
  const successful = Object.values(r.operations.byType).reduce((s, f) => s + f.successful, 0);
  t.is(successful, r.accounting.completed, 'every completed operation is a successful real operation');
  t.true(executed >= successful);
  t.is(r.registry.registered, executed, 'winner-only registration: one record per executed operation');
});

test('arbiter stress --mode post: post-registration makes more zombies than pre-staging on the same seed', async (t) => {
  const { code, stdout } = await run(['stress', '--duration', '1.5', '--rate', '300', '--seed', '11', '--mode', 'post', '--json', '-', '--no-progress']);
  t.is(code, 0);
  const { pre, post } = JSON.parse(stdout) as { pre: StressReport; post: StressReport };
  assertAccounting(t, pre);
  assertAccounting(t, post);
  t.is(pre.accounting.submitted, post.accounting.submitted, 'same seed, same workload');
  t.is(post.registry.registered, post.accounting.submitted, 'post-registration registers every operation');
  t.true(post.registry.zombies > pre.registry.zombies);
  t.is(post.registry.zombies, post.accounting.rejected, 'every post-registration loser held a registry id');
  t.true(post.registry.cleanupOps > pre.registry.cleanupOps);
});

test('arbiter stress: the text report has the seeds sections', async (t) => {
  const { code, stdout } = await run(['stress', '--duration', '0.5', '--rate', '200', '--no-progress']);
  t.is(code, 0);
  for (const section of ['Operation accounting', 'Conflict resolution', 'Real operations', 'Memory', 'Throughput', 'Data integrity']) {
    t.true(stdout.includes(section), section);
  }
  t.regex(stdout, /unaccounted: 0/);
  t.regex(stdout, /PASSED/);
});

test('arbiter brutality --json - : OCC conflicts retried, zero lost updates', async (t) => {
  const { code, stdout } = await run([
    'brutality', '--ops', '2000', '--targets', '3', '--rate', '2000', '--ramp', '0.3', '--writer-every', '10', '--json', '-', '--no-progress',
  ]);
  t.is(code, 0);
  const r = JSON.parse(stdout) as BrutalityReport;
  t.is(r.accounting.submitted, 2000);
  t.is(r.accounting.unaccounted, 0);
  t.is(r.accounting.completed + r.accounting.rejected, 2000);
  t.is(r.lostUpdates, 0);
  t.true(r.occ.externalWrites > 0, 'external writers wrote');
  t.true(r.accounting.completed > 0);
  const successes = Object.values(r.retryStats).reduce((s, x) => s + x.successes, 0);
  t.is(successes, r.accounting.completed);
  for (const c of r.integrity) t.true(c.ok, `${c.name}: ${c.detail}`);
});

test('arbiter stress: bad flags are refused with a message and a non-zero exit', async (t) => {
  const bad = await run(['stress', '--rate', 'fast']);
  t.not(bad.code, 0);
  t.regex(bad.stderr, /Expected rate to be a number/);
  const batch = await run(['stress', '--batch', '8-3']);
  t.not(batch.code, 0);
  t.regex(batch.stderr, /--batch/);
});

test('arbiter inspect - serves the live scenario on the printed URL and ends with balanced accounting', async (t) => {
  const { code, stdout } = await run(['inspect', '--port', '0', '--duration', '1', '--rate', '30']);
  t.is(code, 0);
  t.regex(stdout, /arbiter inspector: http:\/\/127\.0\.0\.1:\d+\//);
  const m = /submitted (\d+) = completed (\d+) \+ rejected (\d+) \+ in flight (\d+)/.exec(stdout);
  t.truthy(m, stdout);
  const [submitted, completed, rejected, inFlight] = m!.slice(1).map(Number) as [number, number, number, number];
  t.true(submitted > 0);
  t.is(submitted, completed + rejected + inFlight);
  t.is(inFlight, 0);
});
