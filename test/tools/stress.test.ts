// The stress engine in-process. On the simulated clock (`clock: 'simulated'`) a run moves its own
// clock, so a seed gives the same decisions on any machine, however loaded: the grace-period
// figures and the retry figures below are facts of the run, not of the machine's speed.
import test from 'ava';
import { formatStress } from '../../tools/report.js';
import { runPostStress } from '../../tools/post.js';
import { runStress, STRESS_PROFILES, type StressReport } from '../../tools/stress.js';
import { assertDerived, INSIDER } from './report-checks.js';

const preemption = { ...STRESS_PROFILES.preemption, durationMs: 2500, seed: 3, targetCompletionRate: 0, clock: 'simulated' } as const;

test('runStress() with the preemption profile - grace-period saves and preemptions after the grace period both happen, each accounted for', async (t) => {
  const r = await runStress(preemption);
  t.true(r.ok, r.integrity.filter((c) => !c.ok).map((c) => c.name).join(', '));
  assertDerived(t, r);
  t.like(r.config, { profile: 'preemption', workMs: 250, criticalShare: 0.3, priorities: { CRITICAL: 0 }, clock: 'simulated' });
  // 250 ms executions, CRITICAL arrivals on busy targets, LOW..HIGH holders: outranked holders,
  // some inside their 200 ms grace period (and finished before the next window: saved), some after.
  t.true(r.grace.saved > 0, JSON.stringify(r.grace));
  t.true(r.grace.preemptedAfterGrace > 0, JSON.stringify(r.grace));
  t.is(r.grace.preemptedInsideGrace, 0);
  t.true(r.grace.minPreemptedAgeMs! >= 200);
  t.is(r.accounting.rejectedByCode['preempted'], r.grace.preemptedAfterGrace);
  t.is(r.assessment.checks.find((c) => c.name === 'grace-period protection')!.status, 'pass');
  const text = formatStress(r);
  t.regex(text, /, random seed 3, simulated clock \(times are the clock's\)$/m);
  t.regex(text, /^Load: window 100 ms, grace period 200 ms, 250 ms of work per operation, CRITICAL share on busy targets 30\.0%$/m);
  t.regex(text, new RegExp(`executing operations outranked inside their grace period: ${r.grace.protectedOperations} \\(${r.grace.protections} decisions\\)`));
  t.regex(text, new RegExp(`saved \\(protected, then finished without preemption\\): ${r.grace.saved}\\n`));
  t.regex(text, new RegExp(`preempted after the grace period: ${r.grace.preemptedAfterGrace} `));
  t.regex(text, /ok {3}grace-period protection: \d+ executing operations protected \([1-9]\d* saved\), [1-9]\d* preempted after the 200 ms grace period, 0 inside it/);
  t.regex(text, /^Verdict: (PASSED|FAILED \(.+\))$/m);
  for (const target of r.targets) t.true(text.includes(`${target.label} (${target.id}): ${target.winners} winners`));
  t.notRegex(text, INSIDER);
});

/** What a run decided: everything but measured durations, memory and entity ids. */
function decisions(r: StressReport) {
  return {
    accounting: r.accounting,
    conflicts: { windows: r.conflicts.windows, detected: r.conflicts.detected, resolved: r.conflicts.resolved, opsPerConflict: r.conflicts.opsPerConflict },
    byType: r.operations.byType,
    grace: r.grace,
    winners: r.targets.map((x) => [x.label, x.winners, x.completed]),
    elapsedMs: r.throughput.elapsedMs,
  };
}

test("runStress({ clock: 'simulated' }) - the same seed makes the same decisions", async (t) => {
  const [a, b] = [await runStress({ ...preemption, durationMs: 1000 }), await runStress({ ...preemption, durationMs: 1000 })];
  t.deepEqual(decisions(a), decisions(b));
  t.true(a.accounting.submitted >= 100, 'a second at 100 ops/s');
});

// One target, batches of one, one operation every 500 ms: each is alone in its window and done
// (at most 5 backoffs, 10 + 20 + 40 + 80 + 160 ms) before the next arrives. NORMAL operations
// retry up to 5 times, so 5 transient failures are recovered from, and 6 are not.
const scripted = { clock: 'simulated', durationMs: 2000, targets: 1, rate: 2, batchMin: 1, batchMax: 1, priorities: { LOW: 0, NORMAL: 1, HIGH: 0, CRITICAL: 0 }, targetCompletionRate: 0 } as const;

test('runStress({ transientFailures }) - failed-then-retried, retries and recovered on a scripted run (known answer)', async (t) => {
  const recovering = await runStress({ ...scripted, transientFailures: 5 });
  t.like(recovering.accounting, { submitted: 4, completed: 4, rejected: 0, failedThenRetried: 4, retried: 20, recovered: 4, unaccounted: 0 });
  t.true(recovering.ok);
  t.regex(formatStress(recovering), /failed then retried \(transitions, not counted\): 4 operations, 20 retries, 4 of them completed\n/);
  t.regex(formatStress(recovering), /first 5 executions of each operation fail \(transient\)$/m);

  const exhausted = await runStress({ ...scripted, transientFailures: 6 });
  t.like(exhausted.accounting, { submitted: 4, completed: 0, rejected: 4, failedThenRetried: 4, retried: 20, recovered: 0, rejectedByCode: { 'retries-exhausted': 4 } });
  // Balanced, and no write by a failed execution; but nothing completed, so nothing was modified.
  t.deepEqual(exhausted.integrity.filter((c) => !c.ok).map((c) => c.name), ['real operations modified entities']);
  t.regex(formatStress(exhausted), /failed then retried \(transitions, not counted\): 4 operations, 20 retries, 0 of them completed\n/);
  t.regex(formatStress(exhausted), /rejected: 4 retries-exhausted 4\n/);

  const none = await runStress({ ...scripted, transientFailures: 0 });
  t.like(none.accounting, { submitted: 4, completed: 4, failedThenRetried: 0, retried: 0, recovered: 0 });
});

test('runPostStress() - refuses the simulated clock and transient failures (the arbiter mode only)', async (t) => {
  await t.throwsAsync(runPostStress({ clock: 'simulated', durationMs: 100 }), { message: /runStress\(\)/ });
  await t.throwsAsync(runPostStress({ transientFailures: 1, durationMs: 100 }), { message: /runStress\(\)/ });
});
