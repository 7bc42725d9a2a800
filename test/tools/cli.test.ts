// The CLI in a short mode, as a real process on a real clock: asserts the reports' accounting and
// integrity, never a timing. Serial: each run is a process of its own, and a dozen of them at once
// on two cores would only measure the machine.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import type { BrutalityReport } from '../../tools/brutality.js';
import type { StressReport } from '../../tools/stress.js';
import { assertDerived, INSIDER } from './report-checks.js';

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

test.serial('arbiter stress --json - : accounting balances and every integrity check passes', async (t) => {
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
  t.is(r.targets.reduce((s, x) => s + x.winners, 0), r.registry.registered, 'winners per target');
  assertDerived(t, r);
  t.like(r.config, { profile: 'default', criticalShare: 0, targetCompletionRate: 0.2, maxMemoryMb: 1000 });
});

test.serial('arbiter stress --mode post: post-registration makes more zombies than pre-staging on the same seed', async (t) => {
  const { code, stdout } = await run(['stress', '--duration', '1.5', '--rate', '300', '--seed', '11', '--mode', 'post', '--json', '-', '--no-progress']);
  t.is(code, 0);
  const { pre, post } = JSON.parse(stdout) as { pre: StressReport; post: StressReport };
  assertAccounting(t, pre);
  assertAccounting(t, post);
  assertDerived(t, pre);
  assertDerived(t, post);
  t.is(pre.accounting.submitted, post.accounting.submitted, 'same random seed, same workload');
  t.is(post.registry.registered, post.accounting.submitted, 'post-registration registers every operation');
  t.true(post.registry.zombies > pre.registry.zombies);
  t.is(post.registry.zombies, post.accounting.rejected, 'every post-registration loser held a registry id');
  t.true(post.registry.cleanupOps > pre.registry.cleanupOps);
});

test.serial('arbiter stress --strict: the text report, and a failed assessment fails the run', async (t) => {
  // No load completes 100 % of its operations when batches conflict: the assessment must say so.
  const { code, stdout } = await run(['stress', '--duration', '0.5', '--rate', '200', '--target-completion', '1', '--strict', '--no-progress']);
  t.is(code, 1);
  for (const section of [
    'Operation accounting',
    'Conflict resolution',
    'Real operations',
    'Entity modifications',
    'Grace-period protection',
    'Memory',
    'Throughput',
    'Targets',
    'Data integrity',
    'System assessment',
  ]) {
    t.true(stdout.includes(`\n${section}`), section);
  }
  t.regex(stdout, /unaccounted: 0/);
  t.regex(stdout, /rejection rate: \d+\.\d%/);
  t.regex(stdout, /failed then retried \(transitions, not counted\): 0 operations, 0 retries/);
  t.regex(stdout, /└─ status: bounded: heap [\d.]+ → [\d.]+ MB/);
  t.regex(stdout, /FAIL completion rate: [\d.]+% completed, target 100\.0%/);
  t.regex(stdout, /skip grace-period protection: not exercised/);
  t.regex(stdout, /\nVerdict: FAILED \(completion rate\)$/m);
  t.notRegex(stdout, INSIDER);
});

// One target, one NORMAL operation every 500 ms on the simulated clock: each alone in its window.
// NORMAL retries up to 5 times: 5 transient failures each are recovered from (known answer).
const scripted = ['stress', '--clock', 'simulated', '--duration', '2', '--targets', '1', '--rate', '2', '--batch', '1-1', '--priorities', 'NORMAL=1', '--transient-failures', '5', '--no-progress'];

test.serial('arbiter stress --clock simulated --transient-failures 5: failed-then-retried, retries and recovered, in --json and in the text', async (t) => {
  const json = await run([...scripted, '--json', '-']);
  t.is(json.code, 0, json.stderr);
  const r = JSON.parse(json.stdout) as StressReport;
  t.like(r.config, { clock: 'simulated', transientFailures: 5, targets: 1, rate: 2 });
  t.like(r.accounting, { submitted: 4, completed: 4, rejected: 0, inProgress: 0, unaccounted: 0, failedThenRetried: 4, retried: 20, recovered: 4 });
  const text = await run(scripted);
  t.is(text.code, 0, text.stderr);
  t.regex(text.stdout, /├─ failed then retried \(transitions, not counted\): 4 operations, 20 retries, 4 of them completed\n/);
  t.regex(text.stdout, /simulated clock \(times are the clock's\)\n/);
  t.regex(text.stdout, /first 5 executions of each operation fail \(transient\)\n/);
});

test.serial('arbiter stress --mode post --clock simulated: refused, the post-registration mode runs on the real clock', async (t) => {
  const { code, stderr } = await run(['stress', '--mode', 'post', '--clock', 'simulated', '--duration', '0.2', '--no-progress']);
  t.is(code, 1);
  t.regex(stderr, /--clock simulated and --transient-failures run the arbiter only/);
});

test.serial('arbiter brutality --json - : OCC conflicts retried, zero lost updates', async (t) => {
  const { code, stdout } = await run([
    'brutality', '--ops', '2000', '--targets', '3', '--rate', '2000', '--ramp', '0.3', '--writer-every', '10', '--json', '-', '--no-progress',
  ]);
  t.is(code, 0);
  const r = JSON.parse(stdout) as BrutalityReport;
  t.like(r.config, { profile: 'default', batchMin: 3, batchMax: 8, maxRetries: undefined });
  t.is(r.conflictsByType.reduce((s, c) => s + c.submitted, 0), 2000);
  t.is(r.conflictsByType.reduce((s, c) => s + c.occConflicts, 0), r.occ.conflicts);
  t.is(r.conflictsByType.reduce((s, c) => s + c.lostArbitration, 0), r.accounting.rejectedByCode['lost-arbitration'] ?? 0);
  t.is(r.occ.stillRetrying.atEnd, 0);
  t.is(r.timeline.at(-1)!.submitted, 2000);
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

test.serial('arbiter brutality --profile documents: batches of 100, 25 retries, 5 ms ×1.5; flags given override the profile', async (t) => {
  const { code, stdout } = await run(['brutality', '--profile', 'documents', '--ops', '600', '--ramp', '0.3', '--writers', '0', '--json', '-', '--no-progress']);
  t.is(code, 0);
  const r = JSON.parse(stdout) as BrutalityReport;
  t.like(r.config, { profile: 'documents', batchMin: 100, batchMax: 100, maxRetries: 25, retry: { baseDelayMs: 5, factor: 1.5 }, rampMs: 300 });
  // 600 operations in 6 batches of 100: every window is a conflict of at least 100 candidates, and
  // each batch gives at most one winner (no external writer: nothing fails).
  t.true(r.preStaging.conflictsDetected >= 1);
  t.true(r.preStaging.opsPerConflict >= 100);
  t.true(r.accounting.completed >= 1 && r.accounting.completed <= 6);
  t.deepEqual(r.accounting.rejectedByCode, { 'lost-arbitration': 600 - r.accounting.completed });
  t.is(r.lostUpdates, 0);
});

test.serial('arbiter --help and every subcommand help describe the workload, not the design documents', async (t) => {
  const helps = await Promise.all([['--help'], ['stress', '--help'], ['brutality', '--help'], ['inspect', '--help']].map(run));
  for (const h of helps) {
    t.is(h.code, 0);
    t.notRegex(h.stdout, INSIDER);
  }
  const [main, stress, brutality] = helps.map((h) => h.stdout);
  t.regex(main!, /`stress` \(steady conflicting batches\)/);
  t.regex(stress!, /Batches of 3–8 conflicting real operations/);
  t.regex(stress!, /--critical-share <0\.\.1>/);
  t.regex(stress!, /--target-completion <0\.\.1>/);
  t.regex(stress!, /--profile <name>.*preemption/s);
  t.regex(brutality!, /optimistic\s+concurrency/);
  t.regex(brutality!, /--profile <name>.*documents/s);
});

test.serial('arbiter stress: bad flags are refused with a message and a non-zero exit', async (t) => {
  const cases: Array<[string[], RegExp]> = [
    [['stress', '--rate', 'fast'], /Expected rate to be a number/],
    [['stress', '--batch', '8-3'], /Expected --batch as <min>-<max> with 1 ≤ min ≤ max, got "8-3"/],
    [['stress', '--critical-share', '1.5'], /Expected --critical-share to be a fraction from 0 to 1/],
    [['brutality', '--profile', 'huge'], /Allowed choices are default, documents/],
  ];
  // Each fails while parsing its flags, before any load: they can share the machine.
  const results = await Promise.all(cases.map(([args]) => run(args)));
  results.forEach((r, i) => {
    t.not(r.code, 0);
    t.regex(r.stderr, cases[i]![1]);
  });
});

test.serial('arbiter inspect - serves the live scenario on the printed URL and ends with balanced accounting', async (t) => {
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
