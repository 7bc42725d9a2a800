import { createArbiter, type Arbiter } from '../src/arbiter.js';
import { OccConflictError } from '../src/errors.js';
import { Priority } from '../src/priority.js';
import type { CoreMetrics } from '../src/types.js';
import { optionKeys, readOptions } from '../src/keys.js';
import { expectFunction, expectInteger } from '../src/validate.js';
import { attachInspector, type InspectorOptions, type InspectorServer } from './server.js';

/**
 * Options of {@link runLiveScenario}. Every one is optional.
 *
 * @example
 * ```ts
 * await runLiveScenario({ durationMs: 30_000, targets: 4, ratePerSec: 30 }).done;
 * ```
 */
export interface LiveScenarioOptions {
  /** How long operations keep coming; `0` runs until `stop()`. @default 60000 */
  durationMs?: number;
  /** Targets (accounts) competing operations aim at. @default 6 */
  targets?: number;
  /** Submissions per second, in bursts per target. @default 40 */
  ratePerSec?: number;
  /** Base duration of one execution, in milliseconds (slow enough to watch). @default 250 */
  executeMs?: number;
  /** Seed of the scenario's random choices. @default 7 */
  seed?: number;
  /** The arbiter to drive; by default one with `windowMs: 150, gracePeriodMs: 400`. */
  arbiter?: Arbiter;
  /** Inspector server options (`port`, `host`, …). */
  inspector?: InspectorOptions;
  /** Where progress lines go. @default console.log */
  log?: (line: string) => void;
}

/**
 * A running live scenario.
 *
 * @example
 * ```ts
 * const live = await runLiveScenario();
 * console.log(live.url);
 * const { metrics } = await live.done;
 * ```
 */
export interface LiveScenarioResult {
  readonly url: string;
  readonly arbiter: Arbiter;
  readonly inspector: InspectorServer;
  /** Settles when the scenario ended, everything drained and the inspector closed. */
  readonly done: Promise<{ metrics: CoreMetrics }>;
  /** Ends the scenario early (same result as `done`). */
  stop(): Promise<{ metrics: CoreMetrics }>;
}

const OPTION_KEYS = optionKeys<LiveScenarioOptions>({
  durationMs: true,
  targets: true,
  ratePerSec: true,
  executeMs: true,
  seed: true,
  arbiter: true,
  inspector: true,
  log: true,
});
const TYPES = ['deposit', 'withdraw', 'audit', 'freeze', 'transfer'] as const;
const PRIORITIES = [Priority.BACKGROUND, Priority.LOW, Priority.NORMAL, Priority.NORMAL, Priority.HIGH, Priority.CRITICAL];

/**
 * Runs a long, varied conflict storm with the live inspector attached: bursts of competing
 * operations per account, slow executions (so states stay visible), optimistic-concurrency
 * conflicts that retry, preemptions of slow low-priority work, timeouts and cancellations.
 * It backs `npm run inspect` and `arbiter inspect`.
 *
 * @example
 * ```ts
 * import { runLiveScenario } from 'xstate-arbiter/inspector';
 * const live = await runLiveScenario({ durationMs: 0, inspector: { port: 4680 } });
 * console.log(`open ${live.url}`);
 * process.on('SIGINT', () => void live.stop());
 * ```
 */
export async function runLiveScenario(options: LiveScenarioOptions = {}): Promise<LiveScenarioResult> {
  const o = readOptions(options, OPTION_KEYS);
  if (o.durationMs !== undefined) expectInteger(o.durationMs, 'durationMs', 0);
  if (o.targets !== undefined) expectInteger(o.targets, 'targets', 1, 1000);
  if (o.ratePerSec !== undefined) expectInteger(o.ratePerSec, 'ratePerSec', 1, 100_000);
  // Executions sleep this long (up to 4×) on a timer.
  if (o.executeMs !== undefined) expectInteger(o.executeMs, 'executeMs', 0, Math.floor(2_147_483_647 / 4));
  if (o.seed !== undefined) expectInteger(o.seed, 'seed', 1, 2_147_483_646);
  if (o.log !== undefined) expectFunction(o.log, 'log');
  const durationMs = (o.durationMs as number | undefined) ?? 60_000;
  const targets = Array.from({ length: (o.targets as number | undefined) ?? 6 }, (_, i) => `account-${i + 1}`);
  const rate = (o.ratePerSec as number | undefined) ?? 40;
  const executeMs = (o.executeMs as number | undefined) ?? 250;
  const log = (o.log as ((line: string) => void) | undefined) ?? ((line: string) => console.log(line));
  const own = o.arbiter === undefined;
  const arbiter = (o.arbiter as Arbiter | undefined) ?? createArbiter({ windowMs: 150, gracePeriodMs: 400, maxStagedPerTarget: 12 });
  let inspector: InspectorServer;
  try {
    inspector = await attachInspector(arbiter, o.inspector as InspectorOptions | undefined);
  } catch (err) {
    // A bad `inspector` option (or `arbiter`), a taken port: the arbiter made here does not outlive it.
    if (own) await arbiter.stop();
    throw err;
  }

  let seed = (o.seed as number | undefined) ?? 7;
  const random = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  const versions = new Map(targets.map((t) => [t, 0]));
  const sleep = (ms: number, signal: AbortSignal) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(resolve, ms);
      signal.addEventListener('abort', () => {
        clearTimeout(timer);
        reject(new Error('aborted'));
      }, { once: true });
    });

  const submitOne = (target: string) => {
    const type = pick(TYPES);
    const priority = pick(PRIORITIES);
    const roll = random();
    const slow = priority <= Priority.LOW && roll < 0.3;
    const handle = arbiter.submit({
      target,
      type,
      priority,
      data: { amount: 5 + Math.floor(random() * 95) },
      ...(roll > 0.95 ? { timeoutMs: executeMs } : {}),
      execute: async ({ signal, attempt }) => {
        const read = versions.get(target)!;
        await sleep(executeMs * (slow ? 4 : 0.5 + random()), signal);
        // Another writer got in first now and then: an OCC conflict, retried with backoff.
        if (attempt === 1 && random() < 0.15) throw new OccConflictError({ id: target, expected: read, actual: read + 1 });
        if (random() < 0.03) throw new Error(`${type} declined by the ledger`);
        versions.set(target, read + 1);
        return `${type} ok`;
      },
    });
    if (roll < 0.02) setTimeout(() => handle.cancel('cancelled by the scenario'), executeMs / 2).unref();
  };

  const started = Date.now();
  let stopped = false;
  let offered = 0;
  // Bursts of 2–6 on one random target, as many as keep the offered rate whatever the timer's
  // jitter (a late tick catches up).
  const timer = setInterval(() => {
    if (stopped || arbiter.stopped) return;
    const elapsed = Date.now() - started;
    if (durationMs > 0 && elapsed >= durationMs) {
      void finish();
      return;
    }
    const due = (rate * elapsed) / 1000;
    // After a stall (over 100 ms of submissions missed), the rest is forgiven rather than flooded in.
    if (due - offered > rate / 10) offered = due - rate / 10;
    while (due - offered >= 1) {
      const target = pick(targets);
      const burst = 2 + Math.floor(random() * 5);
      for (let i = 0; i < burst; i++) submitOne(target);
      offered += burst;
    }
  }, 20);

  const report = setInterval(() => {
    const m = arbiter.metrics();
    log(`  submitted ${m.submitted}, completed ${m.completed}, rejected ${m.rejected}, in flight ${m.inFlight}, conflicts ${m.conflicts}`);
  }, 5000);
  report.unref();

  let resolveDone!: (r: { metrics: CoreMetrics }) => void;
  const done = new Promise<{ metrics: CoreMetrics }>((r) => (resolveDone = r));
  let finishing: Promise<{ metrics: CoreMetrics }> | undefined;
  const finish = () => {
    if (finishing) return finishing;
    stopped = true;
    clearInterval(timer);
    clearInterval(report);
    finishing = (async () => {
      await arbiter.drain();
      const metrics = arbiter.metrics();
      await inspector.close();
      if (!options.arbiter) await arbiter.stop();
      resolveDone({ metrics });
      return { metrics };
    })();
    return finishing;
  };

  log(`arbiter inspector: ${inspector.url}  (${targets.length} targets, ~${rate} ops/s${durationMs ? `, ${Math.round(durationMs / 1000)} s` : ''})`);
  return { url: inspector.url, arbiter, inspector, done, stop: finish };
}
