/**
 * Text rendering of stress and brutality reports.
 */
import type { BrutalityReport } from './brutality.js';
import type { IntegrityCheck } from './common.js';
import type { StressReport } from './stress.js';
import type { RedisStressReport } from './stress-redis.js';

const n = (x: number, digits = 0) => x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

function integrityLines(checks: readonly IntegrityCheck[]): string[] {
  return checks.map((c, i) => `   ${i === checks.length - 1 ? '└─' : '├─'} ${c.ok ? 'ok  ' : 'FAIL'} ${c.name} (${c.detail})`);
}

/** The stress report as text. */
export function formatStress(r: StressReport): string {
  const a = r.accounting;
  const c = r.config;
  const g = r.grace;
  const mod = r.operations.modifications;
  const ms = r.memory.status;
  const lines = [
    `Stress test (${r.mode === 'pre' ? 'pre-staging, arbiter' : 'post-registration anti-pattern'}): ${n(c.durationMs / 1000, 1)} s, ${c.targets} targets, ${n(c.rate)} ops/s, batches ${c.batchMin}–${c.batchMax}, random seed ${c.seed}${c.clock === 'simulated' ? ', simulated clock (times are the clock\'s)' : ''}`,
    `Load: window ${n(c.windowMs)} ms, grace period ${n(c.gracePeriodMs)} ms, ${n(c.workMs)} ms of work per operation, CRITICAL share on busy targets ${pct(c.criticalShare)}${c.transientFailures > 0 ? `, first ${n(c.transientFailures)} executions of each operation fail (transient)` : ''}`,
    '',
    'Operation accounting',
    `   ├─ submitted: ${n(a.submitted)}`,
    `   ├─ completed: ${n(a.completed)}`,
    `   ├─ rejected: ${n(a.rejected)} ${Object.entries(a.rejectedByCode).map(([k, v]) => `${k} ${n(v)}`).join(', ')}`,
    `   ├─ in progress: ${n(a.inProgress)}`,
    `   ├─ failed then retried (transitions, not counted): ${n(a.failedThenRetried)} operations, ${n(a.retried)} retries, ${n(a.recovered)} of them completed`,
    `   └─ unaccounted: ${n(a.unaccounted)} ${a.unaccounted === 0 ? '(all operations accounted for)' : '(ACCOUNTING BROKEN)'}`,
    '',
    'Conflict resolution',
    `   ├─ arbitration windows: ${n(r.conflicts.windows)} (at most one winner each)`,
    `   ├─ conflicts detected: ${n(r.conflicts.detected)}`,
    `   ├─ conflicts resolved: ${n(r.conflicts.resolved)}`,
    `   ├─ operations per conflict: ${n(r.conflicts.opsPerConflict, 1)}`,
    `   └─ resolution time: avg ${n(r.conflicts.avgResolutionMs, 3)} ms, max ${n(r.conflicts.maxResolutionMs, 3)} ms`,
    '',
    'Real operations (executed winners)',
    ...Object.entries(r.operations.byType).map(
      ([type, f]) => `   ├─ ${type}: ${n(f.executed)} executed, ${n(f.successful)} successful (${f.executed ? pct(f.successful / f.executed) : '–'})`,
    ),
    `   ├─ OCC conflicts inside executions: ${n(r.operations.occConflicts)}`,
    `   └─ avg execution time: ${n(r.operations.avgExecutionMs, 2)} ms`,
    '',
    'Entity modifications (committed operations)',
    `   ├─ total: ${n(mod.total)}`,
    `   ├─ versioning: ${n(mod.versioning)}`,
    `   ├─ field writes: ${n(mod.fieldWrites)}`,
    `   ├─ borrowing: ${n(mod.borrowing)}`,
    `   └─ structural: ${n(mod.structural.total)} (promote ${n(mod.structural.promote)}, detach ${n(mod.structural.detach)})`,
    '',
    `Grace-period protection (${n(g.gracePeriodMs)} ms)`,
    `   ├─ executing operations outranked inside their grace period: ${n(g.protectedOperations)} (${n(g.protections)} decisions)`,
    `   ├─ saved (protected, then finished without preemption): ${n(g.saved)}`,
    `   ├─ preempted after the grace period: ${n(g.preemptedAfterGrace)}${g.minPreemptedAgeMs !== undefined ? ` (the youngest at ${n(g.minPreemptedAgeMs, 1)} ms)` : ''}`,
    `   └─ preempted inside the grace period: ${n(g.preemptedInsideGrace)}`,
    '',
    'Registry (operation records in the store)',
    `   ├─ registered: ${n(r.registry.registered)}`,
    `   ├─ zombies (registered, then rejected): ${n(r.registry.zombies)}`,
    `   ├─ cleanup: ${n(r.registry.cleanupOps)} store calls, ${n(r.registry.cleanupMs, 2)} ms`,
    `   └─ peak records: ${n(r.registry.peakRecords)}, left at the end: ${n(r.registry.recordsLeft)}`,
    '',
    'Memory',
    `   ├─ heap: avg ${n(r.memory.avgHeapMb, 1)} MB, max ${n(r.memory.maxHeapMb, 1)} MB`,
    `   ├─ rss: avg ${n(r.memory.avgRssMb, 1)} MB, max ${n(r.memory.maxRssMb, 1)} MB`,
    `   └─ status: ${memoryLine(ms)}`,
    `      (${ms.rule})`,
    '',
    'Throughput',
    `   ├─ elapsed: ${n(r.throughput.elapsedMs / 1000, 2)} s`,
    `   ├─ submitted: ${n(r.throughput.submittedPerSec, 1)} ops/s`,
    `   ├─ completed: ${n(r.throughput.completedPerSec, 1)} ops/s`,
    `   ├─ completion rate: ${pct(r.throughput.completionRate)}`,
    `   └─ rejection rate: ${pct(r.throughput.rejectionRate)}`,
    '',
    'Targets',
    ...r.targets.map((t, i) => `   ${i === r.targets.length - 1 ? '└─' : '├─'} ${t.label} (${t.id}): ${n(t.winners)} winners, ${n(t.completed)} completed`),
    '',
    'Data integrity',
    ...integrityLines(r.integrity),
    '',
    'System assessment',
    ...r.assessment.checks.map(
      (ch, i) => `   ${i === r.assessment.checks.length - 1 ? '└─' : '├─'} ${ch.status === 'pass' ? 'ok  ' : ch.status === 'fail' ? 'FAIL' : 'skip'} ${ch.name}: ${ch.detail}`,
    ),
    '',
    `Verdict: ${r.assessment.verdict}`,
  ];
  return lines.join('\n');
}

function memoryLine(s: StressReport['memory']['status']): string {
  const how = s.method === 'collected' ? 'after a full collection, before and after the load' : 'lowest samples of the first and last quarter';
  const figures = `heap ${n(s.startMb, 1)} → ${n(s.endMb, 1)} MB (${s.growthMb >= 0 ? '+' : ''}${n(s.growthMb, 1)} MB, ${how}), peak ${n(s.peakMb, 1)} of ${n(s.limitMb)} MB`;
  return `${s.bounded === undefined ? 'unknown (too few samples)' : s.bounded ? 'bounded' : 'NOT bounded'}: ${figures}`;
}

/** Pre-staging and post-registration side by side. */
export function formatComparison(pre: StressReport, post: StressReport): string {
  const rows: Array<[string, string, string]> = [
    ['submitted', n(pre.accounting.submitted), n(post.accounting.submitted)],
    ['completed', n(pre.accounting.completed), n(post.accounting.completed)],
    ['rejected', n(pre.accounting.rejected), n(post.accounting.rejected)],
    ['unaccounted', n(pre.accounting.unaccounted), n(post.accounting.unaccounted)],
    ['records registered', n(pre.registry.registered), n(post.registry.registered)],
    ['zombies created', n(pre.registry.zombies), n(post.registry.zombies)],
    ['cleanup store calls', n(pre.registry.cleanupOps), n(post.registry.cleanupOps)],
    ['cleanup time', `${n(pre.registry.cleanupMs, 2)} ms`, `${n(post.registry.cleanupMs, 2)} ms`],
    ['peak operation records', n(pre.registry.peakRecords), n(post.registry.peakRecords)],
    ['completion rate', pct(pre.throughput.completionRate), pct(post.throughput.completionRate)],
    ['rejection rate', pct(pre.throughput.rejectionRate), pct(post.throughput.rejectionRate)],
    ['conflicts resolved', n(pre.conflicts.resolved), n(post.conflicts.resolved)],
    ['avg resolution time', `${n(pre.conflicts.avgResolutionMs, 3)} ms`, `${n(post.conflicts.avgResolutionMs, 3)} ms`],
    ['max resolution time', `${n(pre.conflicts.maxResolutionMs, 3)} ms`, `${n(post.conflicts.maxResolutionMs, 3)} ms`],
    ['heap avg / max', `${n(pre.memory.avgHeapMb, 1)} / ${n(pre.memory.maxHeapMb, 1)} MB`, `${n(post.memory.avgHeapMb, 1)} / ${n(post.memory.maxHeapMb, 1)} MB`],
    ['grace: protected / saved', `${n(pre.grace.protectedOperations)} / ${n(pre.grace.saved)}`, `${n(post.grace.protectedOperations)} / ${n(post.grace.saved)}`],
    ['preempted after grace', n(pre.grace.preemptedAfterGrace), n(post.grace.preemptedAfterGrace)],
    ['memory', pre.memory.status.bounded === false ? 'NOT bounded' : pre.memory.status.bounded ? 'bounded' : 'unknown', post.memory.status.bounded === false ? 'NOT bounded' : post.memory.status.bounded ? 'bounded' : 'unknown'],
    ['integrity', pre.ok ? 'ok' : 'FAILED', post.ok ? 'ok' : 'FAILED'],
    ['verdict', pre.assessment.passed ? 'PASSED' : 'FAILED', post.assessment.passed ? 'PASSED' : 'FAILED'],
  ];
  const w0 = Math.max(...rows.map((r) => r[0].length));
  const w1 = Math.max('pre-staging'.length, ...rows.map((r) => r[1].length));
  const lines = [`${''.padEnd(w0)}   ${'pre-staging'.padStart(w1)}   post-registration`];
  for (const [k, a, b] of rows) lines.push(`${k.padEnd(w0)}   ${a.padStart(w1)}   ${b}`);
  return lines.join('\n');
}

/** The brutality report as text. */
export function formatBrutality(r: BrutalityReport): string {
  const a = r.accounting;
  const c = r.config;
  const retries = c.maxRetries === undefined ? 'retries by priority (20 / 5 / 3)' : `${c.maxRetries} retries per operation`;
  return [
    `Brutality run (profile ${c.profile}): ${n(c.ops)} operations on ${c.targets} targets in batches of ${c.batchMin === c.batchMax ? c.batchMin : `${c.batchMin}–${c.batchMax}`}, peak ${n(c.peakRate)} ops/s after a ${n(c.rampMs)} ms ramp, ${c.writers} external writer(s) per target, random seed ${c.seed}`,
    `OCC: ${retries}, backoff ${n(c.retry.baseDelayMs)} ms × ${c.retry.factor} per retry (at most ${n(c.retry.maxDelayMs)} ms), ${n(c.workMs)} ms of work per attempt`,
    '',
    'Operation accounting',
    `   ├─ submitted: ${n(a.submitted)}, completed: ${n(a.completed)}, rejected: ${n(a.rejected)}, in progress: ${n(a.inProgress)}`,
    `   ├─ rejected by code: ${Object.entries(a.rejectedByCode).map(([k, v]) => `${k} ${n(v)}`).join(', ') || 'none'}`,
    `   └─ unaccounted: ${n(a.unaccounted)}`,
    '',
    'Conflict resolution',
    `   ├─ pre-staging conflicts detected: ${n(r.preStaging.conflictsDetected)}, resolved: ${n(r.preStaging.conflictsResolved)} (${n(r.preStaging.opsPerConflict, 1)} ops per conflict)`,
    `   ├─ OCC conflicts detected: ${n(r.occ.conflicts)}`,
    `   ├─ OCC retries attempted: ${n(r.occ.retries)}`,
    `   ├─ OCC failures (retries exhausted): ${n(r.occ.failures)}`,
    `   ├─ OCC operations still retrying: ${n(r.occ.stillRetrying.atLastSubmission)} when the last operation was submitted (at most ${n(r.occ.stillRetrying.peak)}, ${n(r.occ.stillRetrying.atEnd)} at the end)`,
    `   ├─ successes: ${n(r.occ.successes)}`,
    `   └─ external writes: ${n(r.occ.externalWrites)} (${n(r.occ.externalConflicts)} of their attempts hit a conflict)`,
    '',
    'Which operation types conflict most',
    ...conflictTable(r.conflictsByType),
    '',
    'Success retry statistics',
    ...Object.entries(r.retryStats).map(
      ([type, s]) => `   ├─ ${type}: ${n(s.successes)} successes, avg=${n(s.avgRetries, 1)}, max=${s.maxRetries}, first-try=${s.firstTry}`,
    ),
    `   └─ lost updates: ${n(r.lostUpdates)}`,
    '',
    'Progress reports',
    ...r.timeline.map(
      (t, i) =>
        `   ${i === r.timeline.length - 1 ? '└─' : '├─'} ${n(t.atMs / 1000, 1)} s: submitted ${n(t.submitted)}, completed ${n(t.completed)}, rejected ${n(t.rejected)}, still retrying ${n(t.stillRetrying)}`,
    ),
    '',
    `Memory: heap avg ${n(r.memory.avgHeapMb, 1)} MB, max ${n(r.memory.maxHeapMb, 1)} MB; rss max ${n(r.memory.maxRssMb, 1)} MB`,
    `Throughput: ${n(r.throughput.submittedPerSec, 1)} ops/s over ${n(r.throughput.elapsedMs / 1000, 2)} s (peak offered ${n(r.throughput.peakOfferedPerSec)} ops/s)`,
    '',
    'Data integrity',
    ...integrityLines(r.integrity),
    '',
    r.ok ? 'PASSED: accounting balanced, zero lost updates' : 'FAILED: see the checks above',
  ].join('\n');
}

/**
 * The per-type conflict table, as text lines.
 *
 * @example
 * ```ts
 * conflictTable(report.conflictsByType).join('\n');
 * ```
 */
export function conflictTable(rows: BrutalityReport['conflictsByType']): string[] {
  const header = ['type', 'OCC conflicts', 'per op', 'lost windows', 'retries', 'gave up', 'completed'];
  const body = rows.map((row) => [
    row.type,
    n(row.occConflicts),
    row.submitted > 0 ? n(row.occConflicts / row.submitted, 2) : '–',
    n(row.lostArbitration),
    n(row.retries),
    n(row.retriesExhausted),
    n(row.completed),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => `   ${cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ')}`;
  return [line(header), ...body.map(line)];
}

/**
 * The report of `arbiter stress --redis`: the same report, summed over the processes, under a
 * line that says where they ran.
 *
 * @example
 * ```ts
 * console.log(formatRedisStress(await runRedisStress({}, { url, processes: 4 }, DEFAULT_STRESS)));
 * ```
 */
export function formatRedisStress(r: RedisStressReport): string {
  const perProcess = r.perProcess.map((p, i) => `#${i} ${p.accounting.submitted}/${p.accounting.completed}/${p.accounting.rejected}`).join(', ');
  return [
    `${r.redis.processes} processes on one Redis (${r.redis.url}, key prefix ${r.redis.keyPrefix}), the report summed over them; ${r.redis.executions} executions recorded in Redis`,
    `Per process (submitted/completed/rejected): ${perProcess}`,
    '',
    formatStress(r),
  ].join('\n');
}
