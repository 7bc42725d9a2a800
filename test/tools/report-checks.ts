// Checks shared by the stress tests (CLI and in-process): every derived figure of a report,
// recomputed from the report's own raw figures.
import type { ExecutionContext } from 'ava';
import type { StressReport } from '../../tools/stress.js';

/** Words only the authors would understand: the design documents' file numbers and names. */
export const INSIDER = /\bseeds\b|seed[ -]0\d\d|DESIGN\.md/i;

/** The report's derived figures, recomputed from its own raw ones. */
export function assertDerived(t: ExecutionContext, r: StressReport): void {
  const a = r.accounting;
  t.is(r.throughput.rejectionRate, a.rejected / a.submitted);
  t.is(r.throughput.completionRate, a.completed / a.submitted);
  const m = r.operations.modifications;
  t.is(m.total, a.completed, 'every completed operation modified its target');
  t.is(m.versioning + m.fieldWrites + m.borrowing + m.structural.total, m.total);
  t.is(m.versioning, r.operations.byType['version_entity']?.successful ?? 0);
  t.is(m.structural.promote, r.operations.byType['promote_to_root']?.successful ?? 0);
  t.is(r.targets.reduce((s, x) => s + x.completed, 0), a.completed);
  t.true(r.conflicts.windows >= r.conflicts.detected);
  t.true(r.conflicts.windows >= a.completed, 'at most one winner per window');
  t.is(r.grace.preemptedAfterGrace + r.grace.preemptedInsideGrace, a.rejectedByCode['preempted'] ?? 0);
  t.is(r.grace.preemptedInsideGrace, 0);
  t.true(r.grace.saved <= r.grace.protectedOperations);
  t.is(r.memory.status.method, 'collected');
  t.is(r.memory.status.growthMb, r.memory.status.endMb - r.memory.status.startMb);
  const failed = r.assessment.checks.filter((c) => c.status === 'fail').map((c) => c.name);
  t.is(r.assessment.passed, failed.length === 0);
  t.is(r.assessment.verdict, failed.length === 0 ? 'PASSED' : `FAILED (${failed.join(', ')})`);
  const completion = r.assessment.checks.find((c) => c.name === 'completion rate')!;
  t.is(completion.status, r.throughput.completionRate >= r.config.targetCompletionRate ? 'pass' : 'fail');
}

