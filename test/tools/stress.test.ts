// The stress engine in-process: the preemption profile makes the grace period work, and the text
// report shows every section. Real time, short runs; no timing is asserted.
import test from 'ava';
import { formatStress } from '../../tools/report.js';
import { runStress, STRESS_PROFILES } from '../../tools/stress.js';
import { assertDerived, INSIDER } from './report-checks.js';

test('runStress() with the preemption profile - preemptions and grace-period protection, each accounted for', async (t) => {
  const r = await runStress({ ...STRESS_PROFILES.preemption, durationMs: 2500, seed: 3, targetCompletionRate: 0 });
  t.true(r.ok, r.integrity.filter((c) => !c.ok).map((c) => c.name).join(', '));
  assertDerived(t, r);
  t.like(r.config, { profile: 'preemption', workMs: 250, criticalShare: 0.3, priorities: { CRITICAL: 0 } });
  // 250 ms executions, CRITICAL arrivals on busy targets, LOW..HIGH holders: outranked holders.
  t.true(r.grace.protections + r.grace.preemptedAfterGrace > 0, JSON.stringify(r.grace));
  t.is(r.assessment.checks.find((c) => c.name === 'grace-period protection')!.status, 'pass');
  t.true(r.grace.minPreemptedAgeMs === undefined || r.grace.minPreemptedAgeMs >= 200);
  const text = formatStress(r);
  t.regex(text, /^Load: window 100 ms, grace period 200 ms, 250 ms of work per operation, CRITICAL share on busy targets 30\.0%$/m);
  t.regex(text, new RegExp(`executing operations outranked inside their grace period: ${r.grace.protectedOperations} \\(${r.grace.protections} decisions\\)`));
  t.regex(text, new RegExp(`preempted after the grace period: ${r.grace.preemptedAfterGrace}`));
  t.regex(text, /ok {3}grace-period protection: \d+ executing operations protected \(\d+ saved\), \d+ preempted after the 200 ms grace period, 0 inside it/);
  t.regex(text, /^Verdict: (PASSED|FAILED \(.+\))$/m);
  for (const target of r.targets) t.true(text.includes(`${target.label} (${target.id}): ${target.winners} winners`));
  t.notRegex(text, INSIDER);
});
