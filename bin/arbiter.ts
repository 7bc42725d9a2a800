/**
 * The `arbiter` command: `arbiter stress`, `arbiter brutality`, `arbiter inspect` (see `arbiter --help`).
 * Node-only; the library itself never imports it.
 */
import { writeFileSync } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import { runBrutality, BRUTALITY_PROFILES, DEFAULT_BRUTALITY, type BrutalityOptions, type BrutalityProfile, type BrutalityReport } from '../tools/brutality.js';
import { DEFAULT_MIX, OPERATION_TYPES, PRIORITY_CLASSES, type PriorityClass } from '../tools/common.js';
import { progressReporter as reporter } from '../tools/progress.js';
import { runPostStress } from '../tools/post.js';
import { formatBrutality, formatComparison, formatRedisStress, formatStress } from '../tools/report.js';
import { DEFAULT_STRESS, runStress, STRESS_PROFILES, type StressOptions, type StressProfile, type StressReport } from '../tools/stress.js';

const progressReporter = (label: string, enabled: boolean) => reporter(label, { enabled });

const number =
  (name: string, min = 0) =>
  (value: string): number => {
    const x = Number(value);
    if (!Number.isFinite(x) || x < min) throw new InvalidArgumentError(`Expected ${name} to be a number ≥ ${min}, got ${JSON.stringify(value)}`);
    return x;
  };
const fraction =
  (name: string) =>
  (value: string): number => {
    const x = Number(value);
    if (value.trim() === '' || !Number.isFinite(x) || x < 0 || x > 1) throw new InvalidArgumentError(`Expected ${name} to be a fraction from 0 to 1, got ${JSON.stringify(value)}`);
    return x;
  };
const integer =
  (name: string, min = 0) =>
  (value: string): number => {
    const x = number(name, min)(value);
    if (!Number.isInteger(x)) throw new InvalidArgumentError(`Expected ${name} to be an integer, got ${JSON.stringify(value)}`);
    return x;
  };

/** `LOW=0.25,NORMAL=0.25,…` into weights. */
function weights<K extends string>(keys: readonly K[], name: string) {
  return (value: string): Record<K, number> => {
    const out = Object.fromEntries(keys.map((k) => [k, 0])) as Record<K, number>;
    for (const part of value.split(',')) {
      const [k, v] = part.split('=');
      if (!k || !(keys as readonly string[]).includes(k) || v === undefined || !(Number(v) >= 0)) {
        throw new InvalidArgumentError(`Expected ${name} as ${keys.map((x) => `${x}=<weight>`).join(',')}, got ${JSON.stringify(part)}`);
      }
      out[k as K] = Number(v);
    }
    if (!(Object.values<number>(out).reduce((a, b) => a + b, 0) > 0)) throw new InvalidArgumentError(`Expected ${name} to have a positive weight`);
    return out;
  };
}

function writeJson(target: string | true | undefined, value: unknown): void {
  if (target === undefined) return;
  const text = `${JSON.stringify(value, null, 2)}\n`;
  if (target === true || target === '-') process.stdout.write(text);
  else writeFileSync(target, text);
}

const program = new Command('arbiter')
  .description(
    'Load tools for the arbiter, which arbitrates competing operations per target before any of them runs: `stress` (steady conflicting batches), `brutality` (a ramp to a peak, with optimistic concurrency and external writers), `inspect` (a live conflict storm in the browser inspector).',
  )
  .showHelpAfterError();

function describeWeights(w: Readonly<Record<string, number>>): string {
  return Object.entries(w)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

/** Parses `<min>-<max>` batch sizes. */
function batchRange(value: string): [number, number] {
  const [min, max] = value.split('-').map(Number);
  if (!Number.isInteger(min) || !Number.isInteger(max) || min! < 1 || max! < min!) {
    throw new InvalidArgumentError(`Expected --batch as <min>-<max> with 1 ≤ min ≤ max, got ${JSON.stringify(value)}`);
  }
  return [min!, max!];
}

/** A profile's value for `key`, unless the flag was given on the command line. */
function fromProfile<T>(cmd: Command, flag: string, profile: object, key: string, cliValue: T): T {
  if (cmd.getOptionValueSource(flag) === 'cli' || !(key in profile)) return cliValue;
  return (profile as Record<string, T>)[key]!;
}

program
  .command('stress')
  .description(
    'Batches of 3–8 conflicting real operations (versioning, field writes, borrowing, structural changes), each batch on one of a few target entities, at a steady rate. Reports operation accounting, conflicts, entity modifications, grace-period protection, memory, data integrity and a computed assessment.',
  )
  .addOption(new Option('--profile <name>', "'default', or 'preemption': 250 ms executions, no CRITICAL in batches, 30 % CRITICAL on busy targets (flags given override it)").choices(Object.keys(STRESS_PROFILES)).default('default'))
  .option('-d, --duration <seconds>', 'how long operations are submitted', number('duration', 0.1), DEFAULT_STRESS.durationMs / 1000)
  .option('-t, --targets <n>', 'target entities', integer('targets', 1), DEFAULT_STRESS.targets)
  .option('-r, --rate <ops>', 'operations per second', number('rate', 1), DEFAULT_STRESS.rate)
  .addOption(new Option('--batch <min-max>', 'operations per batch (all on one target)').argParser(batchRange).default([DEFAULT_STRESS.batchMin, DEFAULT_STRESS.batchMax], '3-8'))
  .addOption(
    new Option('--priorities <weights>', 'priority distribution')
      .argParser(weights(Object.keys(PRIORITY_CLASSES) as PriorityClass[], '--priorities'))
      .default({ ...DEFAULT_STRESS.priorities }, describeWeights(DEFAULT_STRESS.priorities)),
  )
  .addOption(new Option('--mix <weights>', 'operation mix').argParser(weights(OPERATION_TYPES, '--mix')).default({ ...DEFAULT_MIX }, describeWeights(DEFAULT_MIX)))
  .option('-g, --grace <ms>', 'grace period of an executing operation', number('grace'), DEFAULT_STRESS.gracePeriodMs)
  .option('-w, --window <ms>', 'arbitration window', number('window'), DEFAULT_STRESS.windowMs)
  .option('--work <ms>', 'processing time between read and write of each operation', number('work'), DEFAULT_STRESS.workMs)
  .option(
    '--critical-share <0..1>',
    'share of the operations sent to a target that is executing which are CRITICAL (with --work past the grace period, they preempt, or the grace period holds them off)',
    fraction('--critical-share'),
    DEFAULT_STRESS.criticalShare,
  )
  .option('--target-completion <0..1>', 'completion rate (completed / submitted) the assessment expects', fraction('--target-completion'), DEFAULT_STRESS.targetCompletionRate)
  .option('--max-memory <mb>', 'heap limit of the memory check', number('max-memory', 1), DEFAULT_STRESS.maxMemoryMb)
  .option('-s, --seed <n>', 'random seed of the workload (targets, batch sizes, priorities, types)', integer('seed'), DEFAULT_STRESS.seed)
  .addOption(
    new Option('--clock <kind>', "'real', or 'simulated': the run moves a simulated clock itself, so a seed gives the same report on any machine (arbiter mode only)")
      .choices(['real', 'simulated'])
      .default(DEFAULT_STRESS.clock),
  )
  .option(
    '--transient-failures <n>',
    "each operation's first n executions fail with a transient error and are retried with backoff, up to its retries by priority (3 / 5 / 20) (arbiter mode only)",
    integer('transient-failures'),
    DEFAULT_STRESS.transientFailures,
  )
  .addOption(new Option('-m, --mode <mode>', "'pre' (the arbiter) or 'post' (post-registration, run after pre on the same workload)").choices(['pre', 'post']).default('pre'))
  .option('--redis <url>', 'run across --processes forked processes sharing this Redis (each with its own redisBackend(), the same targets); needs ioredis')
  .option('--processes <n>', 'processes of a --redis run (each submits rate / n ops/s)', integer('processes', 1), 2)
  .option('--json [file]', "write the report as JSON (to stdout with no file or '-')")
  .option('--strict', 'exit with 1 when the assessment fails, not only when accounting or integrity does')
  .option('--no-progress', 'no progress output')
  .action(async (o, cmd: Command) => {
    if (o.redis === undefined && cmd.getOptionValueSource('processes') === 'cli') program.error('error: --processes needs --redis <url>');
    if (o.redis !== undefined && o.mode === 'post') program.error('error: --mode post runs in one process; it cannot be combined with --redis');
    const profile = STRESS_PROFILES[o.profile as StressProfile];
    const take = <T>(flag: string, key: string, value: T) => fromProfile(cmd, flag, profile, key, value);
    const [batchMin, batchMax] = o.batch as [number, number];
    const options: Omit<StressOptions, 'onProgress'> = {
      profile: o.profile,
      durationMs: o.duration * 1000,
      targets: o.targets,
      rate: o.rate,
      batchMin,
      batchMax,
      priorities: take('priorities', 'priorities', o.priorities),
      mix: o.mix,
      gracePeriodMs: o.grace,
      windowMs: o.window,
      workMs: take('work', 'workMs', o.work),
      seed: o.seed,
      criticalShare: take('criticalShare', 'criticalShare', o.criticalShare),
      targetCompletionRate: o.targetCompletion,
      maxMemoryMb: o.maxMemory,
      clock: o.clock,
      transientFailures: o.transientFailures,
    };
    if (o.mode === 'post' && (options.clock !== 'real' || options.transientFailures > 0)) {
      cmd.error('error: --clock simulated and --transient-failures run the arbiter only; leave them out with --mode post');
    }
    const quietText = o.json === true || o.json === '-';
    if (o.redis !== undefined) {
      // Loaded here: ioredis is an optional peer, needed by this mode only.
      const { runRedisStress } = await import('../tools/stress-redis.js');
      const progress = progressReporter(`${o.processes} processes on Redis`, o.progress);
      const report = await runRedisStress({ ...options, onProgress: progress.update }, { url: o.redis, processes: o.processes }, DEFAULT_STRESS);
      progress.stop();
      if (!quietText) console.log(`${formatRedisStress(report)}\n`);
      writeJson(o.json, report);
      process.exitCode = report.ok && (!o.strict || report.assessment.passed) ? 0 : 1;
      return;
    }
    const reports: StressReport[] = [];
    for (const mode of o.mode === 'post' ? (['pre', 'post'] as const) : (['pre'] as const)) {
      const progress = progressReporter(mode === 'pre' ? 'pre-staging' : 'post-registration', o.progress);
      const run = mode === 'pre' ? runStress : runPostStress;
      const report = await run({ ...options, onProgress: progress.update });
      progress.stop();
      reports.push(report);
      if (!quietText) console.log(`${formatStress(report)}\n`);
    }
    if (reports.length === 2 && !quietText) console.log(`Pre-staging vs post-registration (same workload, random seed ${options.seed})\n${formatComparison(reports[0]!, reports[1]!)}`);
    writeJson(o.json, reports.length === 1 ? reports[0] : { pre: reports[0], post: reports[1] });
    process.exitCode = reports.every((r) => r.ok && (!o.strict || r.assessment.passed)) ? 0 : 1;
  });

program
  .command('brutality')
  .description(
    'Many operations on very few targets: pre-staging arbitration, then optimistic concurrency (read, work, compare-and-set, retried with backoff on a stale write) against external writers that update the same entities, at a load ramping up to its peak. Reports conflicts at both stages, retries, the operation types that conflict most, and lost updates (must be 0).',
  )
  .addOption(
    new Option('--profile <name>', "'default', or 'documents': batches of 100, a 10 s ramp, 25 retries, 5 ms backoff ×1.5 (flags given override it)")
      .choices(Object.keys(BRUTALITY_PROFILES))
      .default('default'),
  )
  .option('-n, --ops <n>', 'operations', integer('ops', 1), DEFAULT_BRUTALITY.ops)
  .option('-t, --targets <n>', 'target entities', integer('targets', 1), DEFAULT_BRUTALITY.targets)
  .option('-r, --rate <ops>', 'peak operations per second', number('rate', 1), DEFAULT_BRUTALITY.peakRate)
  .option('--ramp <seconds>', 'time to reach the peak rate', number('ramp'), DEFAULT_BRUTALITY.rampMs / 1000)
  .addOption(new Option('--batch <min-max>', 'operations per batch (all on one target)').argParser(batchRange).default([DEFAULT_BRUTALITY.batchMin, DEFAULT_BRUTALITY.batchMax], '3-8'))
  .option('--max-retries <n>', 'retries of every operation (default: by priority, 20 / 5 / 3)', integer('max-retries'))
  .option('--retry-base <ms>', 'backoff before the first retry', number('retry-base'), DEFAULT_BRUTALITY.retry.baseDelayMs)
  .option('--retry-factor <x>', 'backoff growth per retry', number('retry-factor', 1), DEFAULT_BRUTALITY.retry.factor)
  .option('--writers <n>', 'external writers per target', integer('writers'), DEFAULT_BRUTALITY.writers)
  .option('--writer-every <ms>', 'pause of each external writer between read and write', number('writer-every', 1), DEFAULT_BRUTALITY.writerEveryMs)
  .option('--work <ms>', 'processing time between read and write of each operation', number('work'), DEFAULT_BRUTALITY.workMs)
  .option('-g, --grace <ms>', 'grace period of an executing operation', number('grace'), DEFAULT_BRUTALITY.gracePeriodMs)
  .option('-w, --window <ms>', 'arbitration window', number('window'), DEFAULT_BRUTALITY.windowMs)
  .option('-s, --seed <n>', 'random seed of the workload', integer('seed'), DEFAULT_BRUTALITY.seed)
  .option('--json [file]', "write the report as JSON (to stdout with no file or '-')")
  .option('--no-progress', 'no progress output')
  .action(async (o, cmd: Command) => {
    const profile: Partial<BrutalityOptions> = BRUTALITY_PROFILES[o.profile as BrutalityProfile];
    const given = (flag: string) => cmd.getOptionValueSource(flag) === 'cli';
    const take = <T>(flag: string, key: string, value: T) => fromProfile(cmd, flag, profile, key, value);
    const [batchMin, batchMax] = given('batch') || profile.batchMin === undefined ? (o.batch as [number, number]) : [profile.batchMin, profile.batchMax ?? profile.batchMin];
    const progress = progressReporter('brutality', o.progress);
    const report: BrutalityReport = await runBrutality({
      profile: o.profile,
      ops: o.ops,
      targets: o.targets,
      peakRate: o.rate,
      rampMs: take('ramp', 'rampMs', o.ramp * 1000),
      batchMin,
      batchMax,
      maxRetries: take('maxRetries', 'maxRetries', o.maxRetries as number | undefined),
      retry: {
        ...(profile.retry ?? DEFAULT_BRUTALITY.retry),
        ...(given('retryBase') ? { baseDelayMs: o.retryBase as number } : {}),
        ...(given('retryFactor') ? { factor: o.retryFactor as number } : {}),
      },
      writers: o.writers,
      writerEveryMs: o.writerEvery,
      workMs: o.work,
      gracePeriodMs: o.grace,
      windowMs: o.window,
      seed: o.seed,
      onProgress: progress.update,
    });
    progress.stop();
    if (!(o.json === true || o.json === '-')) console.log(formatBrutality(report));
    writeJson(o.json, report);
    process.exitCode = report.ok ? 0 : 1;
  });

program
  .command('inspect')
  .description('a long live conflict storm with the inspector attached; open the printed URL (--listen: wait for your own XState apps instead)')
  .option('-p, --port <n>', 'inspector port (0 = any free port)', integer('port'), 4680)
  .option('--host <host>', 'inspector host', '127.0.0.1')
  .option('-l, --listen', 'no storm: serve the page and wait for apps that connect with createWebSocketInspector({ url })')
  .option('-d, --duration <seconds>', 'how long operations keep coming (0 = until Ctrl-C)', number('duration'), 120)
  .option('-t, --targets <n>', 'target entities', integer('targets', 1), 6)
  .option('-r, --rate <ops>', 'submissions per second', integer('rate', 1), 40)
  .option('-s, --seed <n>', 'scenario seed', integer('seed', 1), 7)
  .action(async (o) => {
    // Loaded here: the inspector's optional peer dependencies are needed by this command only.
    if (o.listen) {
      const { startInspector } = await import('../inspector/server.js');
      const inspector = await startInspector({ port: o.port, host: o.host });
      console.log(`arbiter inspector: ${inspector.url}`);
      console.log(`waiting for apps: createWebSocketInspector({ url: '${inspector.appUrl}' }) from @statelyai/inspect (Ctrl-C to quit)`);
      await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()).once('SIGTERM', () => resolve()));
      await inspector.close();
      return;
    }
    const { runLiveScenario } = await import('../inspector/scenario.js');
    const live = await runLiveScenario({
      durationMs: Math.round(o.duration * 1000),
      targets: o.targets,
      ratePerSec: o.rate,
      seed: o.seed,
      inspector: { port: o.port, host: o.host },
    });
    process.once('SIGINT', () => void live.stop());
    const { metrics } = await live.done;
    console.log(
      `done: submitted ${metrics.submitted} = completed ${metrics.completed} + rejected ${metrics.rejected} + in flight ${metrics.inFlight}`,
    );
  });

await program.parseAsync(process.argv);
