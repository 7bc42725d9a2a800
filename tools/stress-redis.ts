/**
 * `arbiter stress --redis <url> --processes N`: the stress workload across N forked processes
 * that share one Redis (each an arbiter with its own `redisBackend()`, the same target ids), the
 * report summed over the processes, and integrity checks across them from what each execution
 * recorded in Redis (Redis time, fencing tokens): one winner per window, never two executing on a
 * target, accounting.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { newId } from '../src/ids.js';
import { assessStress, type GraceFigures } from './assessment.js';
import type { IntegrityCheck, Progress, TargetStatus } from './common.js';
import type { StressOptions, StressReport, TypeFigures } from './stress.js';

/** Where the processes run: one Redis, N processes. */
export interface RedisStressOptions {
  readonly url: string;
  readonly processes: number;
}

/** What a worker is told (see `tools/stress-worker.ts`). */
export interface StressWorkerInput {
  readonly options: Omit<StressOptions, 'onProgress'>;
  readonly url: string;
  readonly keyPrefix: string;
  readonly processId: string;
  readonly targetIds: readonly string[];
}

/** Lua: an execution starts. KEYS 1 starts (token → id|process|µs), 2 shared tokens. ARGV token, id, process. */
export const START_LUA = `
local t = redis.call('TIME')
local us = t[1] .. string.format('%06d', tonumber(t[2]))
local v = ARGV[2] .. '|' .. ARGV[3] .. '|' .. us
if redis.call('HSETNX', KEYS[1], ARGV[1], v) == 0 then
  local prev = redis.call('HGET', KEYS[1], ARGV[1])
  if string.sub(prev, 1, #ARGV[2] + 1) ~= ARGV[2] .. '|' then redis.call('RPUSH', KEYS[2], ARGV[1] .. ' ' .. prev .. ' ' .. v) end
end
return us`;

/** Lua: an execution ends. KEYS 1 ends (token → µs|aborted). ARGV token, aborted (0|1). */
export const END_LUA = `
local t = redis.call('TIME')
redis.call('HSET', KEYS[1], ARGV[1], t[1] .. string.format('%06d', tonumber(t[2])) .. '|' .. ARGV[2])
return 1`;

/** The keys of one target's execution records (one hash tag: one slot). */
export function executionKeys(keyPrefix: string, target: string): { starts: string; ends: string; shared: string } {
  const base = `${keyPrefix}stress:{${target}}`;
  return { starts: `${base}:starts`, ends: `${base}:ends`, shared: `${base}:shared` };
}

/** The report of a run across processes: the summed report, and each process's own. */
export interface RedisStressReport extends StressReport {
  readonly redis: { readonly url: string; readonly processes: number; readonly keyPrefix: string; readonly executions: number };
  readonly perProcess: readonly StressReport[];
}

function sumBy<T>(xs: readonly T[], f: (x: T) => number): number {
  return xs.reduce((s, x) => s + f(x), 0);
}

function addCounts(into: Record<string, number>, from: Readonly<Record<string, number>>): void {
  for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + v;
}

/** Sums the reports of the processes into one (rates and means recomputed, peaks as the highest). */
export function sumStressReports(reports: readonly StressReport[], config: Omit<StressOptions, 'onProgress'>, extra: readonly IntegrityCheck[]): StressReport {
  const acc = reports.map((r) => r.accounting);
  const rejectedByCode: Record<string, number> = {};
  for (const a of acc) addCounts(rejectedByCode, a.rejectedByCode);
  const submitted = sumBy(acc, (a) => a.submitted);
  const completed = sumBy(acc, (a) => a.completed);
  const rejected = sumBy(acc, (a) => a.rejected);
  const inProgress = sumBy(acc, (a) => a.inProgress);
  const detected = sumBy(reports, (r) => r.conflicts.detected);
  const resolved = sumBy(reports, (r) => r.conflicts.resolved);
  const byType: Record<string, TypeFigures> = {};
  for (const r of reports) {
    for (const [k, v] of Object.entries(r.operations.byType)) {
      const t = (byType[k] ??= { executed: 0, successful: 0 });
      t.executed += v.executed;
      t.successful += v.successful;
    }
  }
  const m = reports.map((r) => r.operations.modifications);
  const modifications = {
    total: sumBy(m, (x) => x.total),
    versioning: sumBy(m, (x) => x.versioning),
    fieldWrites: sumBy(m, (x) => x.fieldWrites),
    borrowing: sumBy(m, (x) => x.borrowing),
    structural: { total: sumBy(m, (x) => x.structural.total), promote: sumBy(m, (x) => x.structural.promote), detach: sumBy(m, (x) => x.structural.detach) },
  };
  const g = reports.map((r) => r.grace);
  const minAges = g.map((x) => x.minPreemptedAgeMs).filter((x): x is number => x !== undefined);
  const grace: GraceFigures = {
    gracePeriodMs: config.gracePeriodMs,
    protections: sumBy(g, (x) => x.protections),
    protectedOperations: sumBy(g, (x) => x.protectedOperations),
    saved: sumBy(g, (x) => x.saved),
    preemptedAfterGrace: sumBy(g, (x) => x.preemptedAfterGrace),
    preemptedInsideGrace: sumBy(g, (x) => x.preemptedInsideGrace),
    minPreemptedAgeMs: minAges.length > 0 ? Math.min(...minAges) : undefined,
  };
  // Memory is per process: the process that needed the most stands for all.
  const heaviest = reports.reduce((a, b) => (b.memory.maxHeapMb > a.memory.maxHeapMb ? b : a));
  const targets = new Map<string, { label: string; id: string; winners: number; completed: number }>();
  for (const r of reports) {
    for (const t of r.targets) {
      const into = targets.get(t.id) ?? { label: t.label, id: t.id, winners: 0, completed: 0 };
      into.winners += t.winners;
      into.completed += t.completed;
      targets.set(t.id, into);
    }
  }
  const elapsedMs = Math.max(...reports.map((r) => r.throughput.elapsedMs));
  const secs = elapsedMs / 1000;
  const own = reports.map((r) => r.integrity.filter((c) => !c.ok).map((c) => c.name));
  const integrity: IntegrityCheck[] = [
    ...extra,
    {
      name: "every process's own checks (its counters, its copy of the entities, its executions)",
      ok: own.every((failed) => failed.length === 0),
      detail: own.every((failed) => failed.length === 0) ? `${reports.length}/${reports.length} processes pass` : own.map((f, i) => `process ${i}: ${f.join('; ') || 'ok'}`).join(' | '),
    },
    {
      name: 'operation accounting balances (summed over processes)',
      ok: submitted === completed + rejected + inProgress && inProgress === 0,
      detail: `${submitted} submitted = ${completed} completed + ${rejected} rejected + ${inProgress} in progress`,
    },
  ];
  const ok = integrity.every((c) => c.ok);
  const targetsModified = [...targets.values()].filter((t) => t.completed > 0).length;
  const assessment = assessStress({
    submitted,
    completed,
    targetCompletionRate: config.targetCompletionRate,
    windows: sumBy(reports, (r) => r.conflicts.windows),
    conflictsDetected: detected,
    conflictsResolved: resolved,
    grace,
    modifications,
    targetsModified,
    targets: targets.size,
    memory: heaviest.memory.status,
    integrityOk: ok,
  });
  const weighted = (f: (r: StressReport) => number, w: (r: StressReport) => number) => {
    const total = sumBy(reports, w);
    return total === 0 ? 0 : sumBy(reports, (r) => f(r) * w(r)) / total;
  };
  return {
    mode: 'pre',
    config,
    accounting: {
      submitted,
      completed,
      rejected,
      inProgress,
      unaccounted: submitted - (completed + rejected + inProgress),
      rejectedByCode,
      retried: sumBy(acc, (a) => a.retried),
      failedThenRetried: sumBy(acc, (a) => a.failedThenRetried),
      recovered: sumBy(acc, (a) => a.recovered),
    },
    conflicts: {
      windows: sumBy(reports, (r) => r.conflicts.windows),
      detected,
      resolved,
      opsPerConflict: weighted((r) => r.conflicts.opsPerConflict, (r) => r.conflicts.detected),
      avgResolutionMs: weighted((r) => r.conflicts.avgResolutionMs, (r) => r.conflicts.resolved),
      maxResolutionMs: Math.max(...reports.map((r) => r.conflicts.maxResolutionMs)),
    },
    operations: {
      byType,
      modifications,
      avgExecutionMs: weighted((r) => r.operations.avgExecutionMs, (r) => r.accounting.completed),
      occConflicts: sumBy(reports, (r) => r.operations.occConflicts),
    },
    grace,
    registry: {
      registered: sumBy(reports, (r) => r.registry.registered),
      zombies: sumBy(reports, (r) => r.registry.zombies),
      cleanupOps: sumBy(reports, (r) => r.registry.cleanupOps),
      cleanupMs: sumBy(reports, (r) => r.registry.cleanupMs),
      peakRecords: sumBy(reports, (r) => r.registry.peakRecords),
      recordsLeft: sumBy(reports, (r) => r.registry.recordsLeft),
    },
    memory: heaviest.memory,
    throughput: {
      elapsedMs,
      submittedPerSec: submitted / secs,
      completedPerSec: completed / secs,
      completionRate: submitted ? completed / submitted : 0,
      rejectionRate: submitted ? rejected / submitted : 0,
    },
    targets: [...targets.values()],
    integrity,
    ok,
    assessment,
  };
}

/** One target's executions as recorded in Redis. */
interface Recorded {
  token: number;
  id: string;
  processId: string;
  startUs: number;
  endUs: number | undefined;
  aborted: boolean;
}

/**
 * The checks across processes from the execution records: every fencing token (one per started
 * winner) went to one operation; on each target, in token order, an execution that was not
 * aborted ended (Redis time) before the next one started.
 */
export function crossProcessChecks(
  byTarget: ReadonlyMap<string, { starts: Record<string, string>; ends: Record<string, string>; shared: string[] }>,
  winnersStarted: number,
  processes: number,
): { checks: IntegrityCheck[]; executions: number } {
  let executions = 0;
  let shared = 0;
  let overlaps = 0;
  let unfinished = 0;
  let outOfOrder = 0;
  let abortedOverlaps = 0;
  const overlapDetails: string[] = [];
  for (const [target, r] of byTarget) {
    shared += r.shared.length;
    const list: Recorded[] = Object.entries(r.starts).map(([token, v]) => {
      const [id = '', processId = '', us = '0'] = v.split('|');
      const end = r.ends[token]?.split('|');
      return { token: Number(token), id, processId, startUs: Number(us), endUs: end ? Number(end[0]) : undefined, aborted: end?.[1] === '1' };
    });
    list.sort((a, b) => a.token - b.token);
    executions += list.length;
    for (let i = 0; i < list.length; i++) {
      const e = list[i]!;
      if (e.endUs === undefined) unfinished++;
      const next = list[i + 1];
      if (!next) continue;
      if (next.startUs < e.startUs) outOfOrder++;
      if (e.endUs !== undefined && e.endUs > next.startUs) {
        if (e.aborted) abortedOverlaps++;
        else {
          overlaps++;
          if (overlapDetails.length < 3) overlapDetails.push(`${target}: ${e.id} (${e.processId}) ran until ${e.endUs} µs, ${next.id} (${next.processId}) started at ${next.startUs} µs`);
        }
      }
    }
  }
  const checks: IntegrityCheck[] = [
    {
      name: 'exactly one winner per window across processes (each fencing token went to one operation)',
      ok: shared === 0 && executions === winnersStarted,
      detail: `${executions} fencing tokens executed across ${processes} processes, ${winnersStarted} winners started, ${shared} tokens given to two operations`,
    },
    {
      name: 'never two executing on a target across processes (Redis time, fencing-token order)',
      ok: overlaps === 0 && outOfOrder === 0 && unfinished === 0,
      detail:
        `${overlaps} overlaps, ${outOfOrder} out of token order, ${unfinished} unfinished; ${abortedOverlaps} preempted executions still ran when the next started (aborted, their lease revoked)` +
        (overlapDetails.length > 0 ? `: ${overlapDetails.join('; ')}` : ''),
    },
  ];
  return { checks, executions };
}

/** The worker module next to this one (TypeScript through tsx in the repository, JavaScript when built). */
function workerPath(): { file: string; execArgv: string[] } {
  const ts = import.meta.url.endsWith('.ts');
  return { file: fileURLToPath(new URL(`./stress-worker.${ts ? 'ts' : 'js'}`, import.meta.url)), execArgv: ts ? ['--import', 'tsx'] : [] };
}

/**
 * Runs the stress across `redis.processes` forked processes on one Redis (each submits
 * `rate / processes` ops/s with its own seed on the same targets) and sums their reports.
 *
 * @example
 * ```ts
 * const report = await runRedisStress({ durationMs: 5000 }, { url: 'redis://127.0.0.1:6379', processes: 4 });
 * report.ok; // every check, across processes too
 * ```
 */
export async function runRedisStress(input: Partial<StressOptions>, redis: RedisStressOptions, defaults: Omit<StressOptions, 'onProgress'>): Promise<RedisStressReport> {
  const { onProgress, ...config } = { ...defaults, ...input };
  const { Redis } = await import('ioredis');
  const keyPrefix = `arbiter-stress:${newId().slice(-12)}:`;
  const targetIds = Array.from({ length: config.targets }, (_, i) => `stress-target-${i}`);
  const { file, execArgv } = workerPath();
  const latest: (Progress | undefined)[] = [];
  const children = Array.from({ length: redis.processes }, (_, i) => {
    const child = fork(file, [], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const input: StressWorkerInput = {
      options: { ...config, rate: config.rate / redis.processes, seed: config.seed + i },
      url: redis.url,
      keyPrefix,
      processId: `stress-${i}-${newId().slice(-8)}`,
      targetIds,
    };
    const report = new Promise<StressReport>((resolve, reject) => {
      child.on('message', (raw) => {
        const m = raw as { type: string; report?: StressReport; progress?: Progress; message?: string };
        if (m.type === 'report') resolve(m.report!);
        else if (m.type === 'error') reject(new Error(`stress process ${i}: ${m.message}`));
        else if (m.type === 'progress' && onProgress) {
          latest[i] = m.progress;
          const all = latest.filter((p): p is Progress => p !== undefined);
          const merged = new Map<string, { -readonly [K in keyof TargetStatus]: TargetStatus[K] }>();
          for (const p of all) {
            for (const t of p.targets ?? []) {
              const into = merged.get(t.label) ?? { ...t, staged: 0, executing: 0, winners: 0 };
              into.staged += t.staged;
              into.executing += t.executing;
              into.winners += t.winners;
              merged.set(t.label, into);
            }
          }
          onProgress({
            fraction: Math.min(...all.map((p) => p.fraction)),
            submitted: sumBy(all, (p) => p.submitted),
            completed: sumBy(all, (p) => p.completed),
            rejected: sumBy(all, (p) => p.rejected),
            targets: [...merged.values()],
          });
        }
      });
      child.once('exit', (code, signal) => reject(new Error(`stress process ${i} exited (${signal ?? code}) before its report`)));
    });
    child.send(input);
    return { child, report };
  });
  let reports: StressReport[];
  try {
    reports = await Promise.all(children.map((c) => c.report));
  } catch (err) {
    for (const c of children) c.child.kill('SIGKILL');
    throw err;
  }
  await Promise.all(children.map((c) => new Promise((resolve) => (c.child.exitCode !== null ? resolve(undefined) : c.child.once('exit', resolve)))));
  const client = new Redis(redis.url, { maxRetriesPerRequest: 3 });
  try {
    const byTarget = new Map<string, { starts: Record<string, string>; ends: Record<string, string>; shared: string[] }>();
    for (const target of targetIds) {
      const k = executionKeys(keyPrefix, target);
      byTarget.set(target, { starts: await client.hgetall(k.starts), ends: await client.hgetall(k.ends), shared: await client.lrange(k.shared, 0, -1) });
    }
    const { checks, executions } = crossProcessChecks(byTarget, sumBy(reports, (r) => r.registry.registered), redis.processes);
    const summed = sumStressReports(reports, config, checks);
    // The run's keys go: every process has stopped (its arbiter withdrew and released).
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${keyPrefix}*`, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) await client.del(...keys);
    } while (cursor !== '0');
    return { ...summed, redis: { url: redactedUrl(redis.url), processes: redis.processes, keyPrefix, executions }, perProcess: reports };
  } finally {
    client.disconnect();
  }
}

function redactedUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== '') u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}

