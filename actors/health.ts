import { ArbiterInputError } from '../src/errors.js';
import type { ArbiterEvent } from '../src/events.js';
import type { HealthCheckFn, HealthThresholds } from '../src/observability.js';
import { readOptions } from '../src/keys.js';
import { expectBoolean, expectFiniteNumber, expectFunction, expectObject } from '../src/validate.js';

/**
 * The default thresholds (see {@link HealthThresholds} for each one).
 *
 * @example
 * ```ts
 * createArbiter({ health: { thresholds: { ...DEFAULT_HEALTH_THRESHOLDS, maxStaged: 5000 } } });
 * ```
 */
export const DEFAULT_HEALTH_THRESHOLDS: Readonly<HealthThresholds> = Object.freeze({
  maxStaged: 1000,
  maxResolutionMs: 100,
  minSuccessRate: 0.9,
  maxConflictRate: 0.8,
  maxMemoryMb: 1000,
  maxZombies: 1000,
  maxZombieAgeMs: 24 * 60 * 60_000,
});

/** Resolved health options. @internal */
export interface ResolvedHealthOptions {
  readonly thresholds: Readonly<HealthThresholds>;
  readonly checks: Readonly<Record<string, HealthCheckFn>>;
  readonly memoryUsage: (() => number) | undefined;
  readonly refuseWhenUnhealthy: boolean;
  readonly recheckMs: number;
}

const RATES = new Set<keyof HealthThresholds>(['minSuccessRate', 'maxConflictRate']);

/**
 * Validates the `health` option and fills in the defaults.
 * @internal
 */
export function resolveHealthOptions(value: unknown): ResolvedHealthOptions {
  if (value === undefined) {
    return { thresholds: DEFAULT_HEALTH_THRESHOLDS, checks: {}, memoryUsage: undefined, refuseWhenUnhealthy: false, recheckMs: 1000 };
  }
  const o = readOptions(value, ['thresholds', 'checks', 'memoryUsage', 'refuseWhenUnhealthy', 'recheckMs'] as const, 'health');
  const thresholds: HealthThresholds = { ...DEFAULT_HEALTH_THRESHOLDS };
  if (o.thresholds !== undefined) {
    const given = readOptions(o.thresholds, Object.keys(DEFAULT_HEALTH_THRESHOLDS) as Array<keyof HealthThresholds>, 'health.thresholds');
    for (const [key, v] of Object.entries(given)) {
      expectFiniteNumber(v, `health.thresholds.${key}`);
      if (RATES.has(key as keyof HealthThresholds) && v > 1) {
        throw new ArbiterInputError(`health.thresholds.${key}`, `Expected \`health.thresholds.${key}\` to be a rate from 0 to 1, got number ${v}`);
      }
      thresholds[key as keyof HealthThresholds] = v;
    }
  }
  const checks: Record<string, HealthCheckFn> = {};
  if (o.checks !== undefined) {
    expectObject(o.checks, 'health.checks');
    for (const [name, fn] of Object.entries(o.checks)) {
      if (BUILT_IN_CHECKS.includes(name as BuiltInCheck)) {
        throw new ArbiterInputError(`health.checks.${name}`, `Expected \`health.checks\` names to differ from the built-in checks, got ${JSON.stringify(name)}`);
      }
      expectFunction(fn, `health.checks.${name}`);
      setOwn(checks, name, fn);
    }
  }
  if (o.memoryUsage !== undefined) expectFunction(o.memoryUsage, 'health.memoryUsage');
  if (o.refuseWhenUnhealthy !== undefined) expectBoolean(o.refuseWhenUnhealthy, 'health.refuseWhenUnhealthy');
  if (o.recheckMs !== undefined) expectFiniteNumber(o.recheckMs, 'health.recheckMs');
  return Object.freeze({
    thresholds: Object.freeze(thresholds),
    checks: Object.freeze(checks),
    memoryUsage: o.memoryUsage as (() => number) | undefined,
    refuseWhenUnhealthy: (o.refuseWhenUnhealthy as boolean | undefined) ?? false,
    recheckMs: (o.recheckMs as number | undefined) ?? 1000,
  });
}

/**
 * The built-in checks, in report order.
 *
 * @example
 * ```ts
 * for (const name of BUILT_IN_CHECKS) console.log(name, report.checks[name]?.healthy);
 * ```
 */
export const BUILT_IN_CHECKS = [
  'stagingSize',
  'resolutionLatency',
  'successRate',
  'conflictRate',
  'memory',
  'zombieCount',
  'oldestZombieAge',
  'coordinatorsAlive',
] as const;

/** One of {@link BUILT_IN_CHECKS}. */
export type BuiltInCheck = (typeof BUILT_IN_CHECKS)[number];

/**
 * The result of one check. `value` is what was measured (`undefined` when there was nothing to
 * measure, which passes), `threshold` what it was compared with.
 *
 * @example
 * ```ts
 * const { healthy, message } = arbiter.health().checks.successRate!;
 * ```
 */
export interface HealthCheckResult {
  readonly healthy: boolean;
  readonly value?: number | undefined;
  readonly threshold?: number | undefined;
  readonly message: string;
}

/**
 * `healthy` when every check passes, `degraded` when fewer than half fail, `unhealthy` otherwise.
 *
 * @example
 * ```ts
 * if (arbiter.health().status !== 'healthy') page(oncall);
 * ```
 */
export type HealthStatus = 'healthy' | 'degraded' | 'unhealthy';

/**
 * What `arbiter.health()` returns.
 *
 * @example
 * ```ts
 * const report = arbiter.health();
 * res.status(report.status === 'unhealthy' ? 503 : 200).json(report);
 * ```
 */
export interface HealthReport {
  readonly status: HealthStatus;
  readonly checks: Readonly<Record<string, HealthCheckResult>>;
  /** Names of the failed checks. */
  readonly failed: readonly string[];
  /** Wall-clock time of the report, in milliseconds since the epoch (`Date.now()`). */
  readonly at: number;
  /** The arbiter's clock at the report (monotonic milliseconds, the time base of `events$`). */
  readonly clockAt: number;
}

/** What the health actor measures, read when `health()` is called. @internal */
export interface HealthSource {
  now(): number;
  /** Wall-clock milliseconds since the epoch. @default Date.now */
  wallNow?(): number;
  stopped(): boolean;
  staged(): number;
  /** p99 of the recent conflict resolution times, in milliseconds; `undefined` without conflicts. */
  resolutionP99Ms(): number | undefined;
  executionSuccessRate(): number | undefined;
  conflictLossRate(): number | undefined;
  zombieCount(): number;
  oldestZombieAt(): number | undefined;
  /** Targets with admitted, undecided work but no running coordinator. */
  orphanedTargets(): string[];
}

function defaultMemoryUsage(): number | undefined {
  const proc = (globalThis as { process?: { memoryUsage?: () => { heapUsed: number } } }).process;
  if (typeof proc?.memoryUsage === 'function') return proc.memoryUsage().heapUsed;
  const perf = (globalThis as { performance?: { memory?: { usedJSHeapSize?: number } } }).performance;
  return perf?.memory?.usedJSHeapSize;
}

/** Stores `key` as an own data property, `"__proto__"` included (a check may have any name). */
function setOwn<T>(obj: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

function fmt(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(3);
}

/**
 * The health actor: runs its checks against live numbers when asked. A check that throws is
 * reported failed with the error as its message; the call itself never throws.
 *
 * Fed `events$` (`observe`), it also knows which operations are really in a window: an operation
 * admitted but waiting in a step of your own before `staged` has no coordinator yet, and that is
 * no fault, so `coordinatorsAlive` only reports targets with an operation it saw staged.
 *
 * @example
 * ```ts
 * const monitor = new HealthMonitor(resolveHealthOptions({ thresholds: { maxStaged: 10 } }), source);
 * arbiter.events$.subscribe((e) => monitor.observe(e));
 * monitor.check().status; // 'healthy'
 * ```
 */
export class HealthMonitor {
  /** Operations seen `staged` and not yet won or final, and their target. */
  private readonly staged = new Map<string, string>();
  /** How many of them each target has. */
  private readonly stagedOn = new Map<string, number>();
  private fed = false;

  constructor(
    readonly options: ResolvedHealthOptions,
    private readonly source: HealthSource,
  ) {}

  /** Feeds one event (never throws). */
  observe(event: ArbiterEvent): void {
    this.fed = true;
    switch (event.type) {
      case 'operation.staged':
        if (!this.staged.has(event.operationId)) {
          this.staged.set(event.operationId, event.target);
          this.stagedOn.set(event.target, (this.stagedOn.get(event.target) ?? 0) + 1);
        }
        break;
      case 'conflict.resolved':
        if (event.decision === 'start' && event.winnerId !== null) this.unstage(event.winnerId);
        break;
      case 'operation.started':
      case 'operation.completed':
      case 'operation.rejected':
        this.unstage(event.operationId);
        break;
      default:
        break;
    }
  }

  private unstage(id: string): void {
    const target = this.staged.get(id);
    if (target === undefined) return;
    this.staged.delete(id);
    const n = (this.stagedOn.get(target) ?? 1) - 1;
    if (n > 0) this.stagedOn.set(target, n);
    else this.stagedOn.delete(target);
  }

  /** Runs every check. */
  check(): HealthReport {
    const t = this.options.thresholds;
    const s = this.source;
    const checks: Record<string, HealthCheckResult> = {};
    const run = (name: string, fn: () => HealthCheckResult) => {
      try {
        setOwn(checks, name, fn());
      } catch (err) {
        setOwn(checks, name, { healthy: false, message: `check threw: ${err instanceof Error ? err.message : String(err)}` });
      }
    };
    const atMost = (value: number | undefined, threshold: number, what: string): HealthCheckResult =>
      value === undefined
        ? { healthy: true, value, threshold, message: `no ${what} measured yet` }
        : { healthy: value <= threshold, value, threshold, message: `${what} ${fmt(value)} (limit ${fmt(threshold)})` };

    run('stagingSize', () => {
      const staged = s.staged();
      return { healthy: staged < t.maxStaged, value: staged, threshold: t.maxStaged, message: `${staged} staged (fails at ${t.maxStaged})` };
    });
    run('resolutionLatency', () => atMost(s.resolutionP99Ms(), t.maxResolutionMs, 'p99 resolution time ms'));
    run('successRate', () => {
      const rate = s.executionSuccessRate();
      return rate === undefined
        ? { healthy: true, value: rate, threshold: t.minSuccessRate, message: 'no executions in the window' }
        : { healthy: rate >= t.minSuccessRate, value: rate, threshold: t.minSuccessRate, message: `execution success rate ${fmt(rate)} (minimum ${fmt(t.minSuccessRate)})` };
    });
    run('conflictRate', () => atMost(s.conflictLossRate(), t.maxConflictRate, 'share of operations lost to conflicts'));
    run('memory', () => {
      const bytes = this.options.memoryUsage ? this.options.memoryUsage() : defaultMemoryUsage();
      if (bytes !== undefined && (typeof bytes !== 'number' || !Number.isFinite(bytes))) {
        throw new TypeError(`memoryUsage returned ${String(bytes)}`);
      }
      return atMost(bytes === undefined ? undefined : bytes / (1024 * 1024), t.maxMemoryMb, 'heap MB');
    });
    run('zombieCount', () => {
      const n = s.zombieCount();
      return { healthy: n <= t.maxZombies, value: n, threshold: t.maxZombies, message: `${n} zombie records (limit ${t.maxZombies})` };
    });
    run('oldestZombieAge', () => {
      const at = s.oldestZombieAt();
      return atMost(at === undefined ? undefined : s.now() - at, t.maxZombieAgeMs, 'oldest zombie age ms');
    });
    run('coordinatorsAlive', () => {
      if (s.stopped()) return { healthy: false, message: 'the arbiter is stopped' };
      let orphaned = s.orphanedTargets();
      // Fed events, only targets with an operation really staged count (see the class comment).
      if (this.fed) orphaned = orphaned.filter((target) => this.stagedOn.has(target));
      return orphaned.length === 0
        ? { healthy: true, value: 0, message: 'every target with staged work has a running coordinator' }
        : { healthy: false, value: orphaned.length, message: `no running coordinator for ${orphaned.slice(0, 5).join(', ')}${orphaned.length > 5 ? '…' : ''}` };
    });
    for (const [name, fn] of Object.entries(this.options.checks)) {
      run(name, () => {
        const r = fn();
        if (typeof r === 'boolean') return { healthy: r, message: r ? 'ok' : 'failed' };
        if (r === null || typeof r !== 'object' || typeof r.healthy !== 'boolean') {
          throw new TypeError('a custom check must return a boolean or { healthy, message }');
        }
        return { healthy: r.healthy, message: r.message ?? (r.healthy ? 'ok' : 'failed') };
      });
    }
    const names = Object.keys(checks);
    const failed = names.filter((n) => !checks[n]!.healthy);
    const status: HealthStatus = failed.length === 0 ? 'healthy' : failed.length * 2 < names.length ? 'degraded' : 'unhealthy';
    return { status, checks, failed, at: s.wallNow ? s.wallNow() : Date.now(), clockAt: s.now() };
  }
}
