/**
 * Text rendering of stress and brutality reports, with the seeds' sections.
 */
import type { BrutalityReport } from './brutality.js';
import type { IntegrityCheck } from './common.js';
import type { StressReport } from './stress.js';

const n = (x: number, digits = 0) => x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

function integrityLines(checks: readonly IntegrityCheck[]): string[] {
  return checks.map((c, i) => `   ${i === checks.length - 1 ? '└─' : '├─'} ${c.ok ? 'ok  ' : 'FAIL'} ${c.name} (${c.detail})`);
}

/** The stress report as text. */
export function formatStress(r: StressReport): string {
  const a = r.accounting;
  const lines = [
    `Stress test (${r.mode === 'pre' ? 'pre-staging, arbiter' : 'post-registration anti-pattern'}): ${n(r.config.durationMs / 1000, 1)} s, ${r.config.targets} targets, ${n(r.config.rate)} ops/s, batches ${r.config.batchMin}–${r.config.batchMax}, seed ${r.config.seed}`,
    '',
    'Operation accounting',
    `   ├─ submitted: ${n(a.submitted)}`,
    `   ├─ completed: ${n(a.completed)}`,
    `   ├─ rejected: ${n(a.rejected)} ${Object.entries(a.rejectedByCode).map(([k, v]) => `${k} ${n(v)}`).join(', ')}`,
    `   ├─ in progress: ${n(a.inProgress)}`,
    `   ├─ retried (transitions, not counted): ${n(a.retried)}`,
    `   └─ unaccounted: ${n(a.unaccounted)} ${a.unaccounted === 0 ? '(all operations accounted for)' : '(ACCOUNTING BROKEN)'}`,
    '',
    'Conflict resolution',
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
    'Registry (operation records in the store)',
    `   ├─ registered: ${n(r.registry.registered)}`,
    `   ├─ zombies (registered, then rejected): ${n(r.registry.zombies)}`,
    `   ├─ cleanup: ${n(r.registry.cleanupOps)} store calls, ${n(r.registry.cleanupMs, 2)} ms`,
    `   └─ peak records: ${n(r.registry.peakRecords)}, left at the end: ${n(r.registry.recordsLeft)}`,
    '',
    'Memory',
    `   ├─ heap: avg ${n(r.memory.avgHeapMb, 1)} MB, max ${n(r.memory.maxHeapMb, 1)} MB`,
    `   └─ rss: avg ${n(r.memory.avgRssMb, 1)} MB, max ${n(r.memory.maxRssMb, 1)} MB`,
    '',
    'Throughput',
    `   ├─ elapsed: ${n(r.throughput.elapsedMs / 1000, 2)} s`,
    `   ├─ submitted: ${n(r.throughput.submittedPerSec, 1)} ops/s`,
    `   ├─ completed: ${n(r.throughput.completedPerSec, 1)} ops/s`,
    `   └─ completion rate: ${pct(r.throughput.completionRate)}`,
    '',
    'Data integrity',
    ...integrityLines(r.integrity),
    '',
    r.ok ? 'PASSED: accounting balanced, every integrity check passed' : 'FAILED: see the checks above',
  ];
  return lines.join('\n');
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
    ['conflicts resolved', n(pre.conflicts.resolved), n(post.conflicts.resolved)],
    ['avg resolution time', `${n(pre.conflicts.avgResolutionMs, 3)} ms`, `${n(post.conflicts.avgResolutionMs, 3)} ms`],
    ['max resolution time', `${n(pre.conflicts.maxResolutionMs, 3)} ms`, `${n(post.conflicts.maxResolutionMs, 3)} ms`],
    ['heap avg / max', `${n(pre.memory.avgHeapMb, 1)} / ${n(pre.memory.maxHeapMb, 1)} MB`, `${n(post.memory.avgHeapMb, 1)} / ${n(post.memory.maxHeapMb, 1)} MB`],
    ['integrity', pre.ok ? 'ok' : 'FAILED', post.ok ? 'ok' : 'FAILED'],
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
  return [
    `Total brutality: ${n(r.config.ops)} operations on ${r.config.targets} targets, peak ${n(r.config.peakRate)} ops/s after a ${n(r.config.rampMs)} ms ramp, ${r.config.writers} external writer(s) per target, seed ${r.config.seed}`,
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
    `   ├─ successes: ${n(r.occ.successes)}`,
    `   └─ external writes: ${n(r.occ.externalWrites)} (${n(r.occ.externalConflicts)} of their attempts hit a conflict)`,
    '',
    'Success retry statistics',
    ...Object.entries(r.retryStats).map(
      ([type, s]) => `   ├─ ${type}: ${n(s.successes)} successes, avg=${n(s.avgRetries, 1)}, max=${s.maxRetries}, first-try=${s.firstTry}`,
    ),
    `   └─ lost updates: ${n(r.lostUpdates)}`,
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
