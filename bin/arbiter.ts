/**
 * The `arbiter` command: `arbiter stress`, `arbiter brutality`, `arbiter inspect` (see `arbiter --help`).
 * Node-only; the library itself never imports it.
 */
import { writeFileSync } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import cliProgress from 'cli-progress';
import { runBrutality, DEFAULT_BRUTALITY, type BrutalityReport } from '../tools/brutality.js';
import { DEFAULT_MIX, OPERATION_TYPES, PRIORITY_CLASSES, type OperationType, type PriorityClass, type Progress } from '../tools/common.js';
import { runPostStress } from '../tools/post.js';
import { formatBrutality, formatComparison, formatStress } from '../tools/report.js';
import { DEFAULT_STRESS, runStress, type StressReport } from '../tools/stress.js';

const number =
  (name: string, min = 0) =>
  (value: string): number => {
    const x = Number(value);
    if (!Number.isFinite(x) || x < min) throw new InvalidArgumentError(`Expected ${name} to be a number ≥ ${min}, got ${JSON.stringify(value)}`);
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

/** A live bar on a terminal, a plain line a second otherwise. */
function progressReporter(label: string, enabled: boolean) {
  if (!enabled) return { update: (_: Progress) => {}, stop: () => {} };
  if (process.stderr.isTTY) {
    const bar = new cliProgress.SingleBar(
      { format: `${label} [{bar}] {percentage}% | submitted {submitted} | completed {completed} | rejected {rejected}`, stream: process.stderr, hideCursor: true },
      cliProgress.Presets.shades_classic,
    );
    bar.start(100, 0, { submitted: 0, completed: 0, rejected: 0 });
    return {
      update: (p: Progress) => bar.update(Math.min(100, Math.round(p.fraction * 100)), { ...p }),
      stop: () => bar.stop(),
    };
  }
  let last = 0;
  return {
    update: (p: Progress) => {
      const now = Date.now();
      if (now - last < 1000) return;
      last = now;
      process.stderr.write(`${label}: ${Math.round(p.fraction * 100)}% submitted ${p.submitted} completed ${p.completed} rejected ${p.rejected}\n`);
    },
    stop: () => {},
  };
}

function writeJson(target: string | true | undefined, value: unknown): void {
  if (target === undefined) return;
  const text = `${JSON.stringify(value, null, 2)}\n`;
  if (target === true || target === '-') process.stdout.write(text);
  else writeFileSync(target, text);
}

const program = new Command('arbiter')
  .description('Stress and brutality tools for the arbiter (pre-staging conflict resolution)')
  .showHelpAfterError();

program
  .command('stress')
  .description('the dynamic stress test of seed 002: batches of conflicting real operations on a few targets')
  .option('-d, --duration <seconds>', 'how long operations are submitted', number('duration', 0.1), DEFAULT_STRESS.durationMs / 1000)
  .option('-t, --targets <n>', 'target entities', integer('targets', 1), DEFAULT_STRESS.targets)
  .option('-r, --rate <ops>', 'operations per second', number('rate', 1), DEFAULT_STRESS.rate)
  .option('--batch <min-max>', 'operations per batch (all on one target)', '3-8')
  .option('--priorities <weights>', 'priority distribution', 'LOW=0.25,NORMAL=0.25,HIGH=0.25,CRITICAL=0.25')
  .option('--mix <weights>', 'operation mix', Object.entries(DEFAULT_MIX).map(([k, v]) => `${k}=${v}`).join(','))
  .option('-g, --grace <ms>', 'grace period of an executing operation', number('grace'), DEFAULT_STRESS.gracePeriodMs)
  .option('-w, --window <ms>', 'arbitration window', number('window'), DEFAULT_STRESS.windowMs)
  .option('--work <ms>', 'processing time between read and write of each operation', number('work'), DEFAULT_STRESS.workMs)
  .option('-s, --seed <n>', 'workload seed', integer('seed'), DEFAULT_STRESS.seed)
  .addOption(new Option('-m, --mode <mode>', "'pre' (the arbiter) or 'post' (post-registration, run beside pre on the same seed)").choices(['pre', 'post']).default('pre'))
  .option('--json [file]', "write the report as JSON (to stdout with no file or '-')")
  .option('--no-progress', 'no progress output')
  .action(async (o) => {
    const [min, max] = String(o.batch).split('-').map(Number);
    if (!Number.isInteger(min) || !Number.isInteger(max) || min! < 1 || max! < min!) {
      program.error(`error: Expected --batch as <min>-<max> with 1 ≤ min ≤ max, got ${JSON.stringify(o.batch)}`);
    }
    let priorities: Record<PriorityClass, number>;
    let mix: Record<OperationType, number>;
    try {
      priorities = weights(Object.keys(PRIORITY_CLASSES) as PriorityClass[], '--priorities')(o.priorities);
      mix = weights(OPERATION_TYPES, '--mix')(o.mix);
    } catch (err) {
      program.error(`error: ${(err as Error).message}`);
    }
    const options = {
      durationMs: o.duration * 1000,
      targets: o.targets,
      rate: o.rate,
      batchMin: min!,
      batchMax: max!,
      priorities: priorities!,
      mix: mix!,
      gracePeriodMs: o.grace,
      windowMs: o.window,
      workMs: o.work,
      seed: o.seed,
    };
    const quietText = o.json === true || o.json === '-';
    const reports: StressReport[] = [];
    for (const mode of o.mode === 'post' ? (['pre', 'post'] as const) : (['pre'] as const)) {
      const progress = progressReporter(mode === 'pre' ? 'pre-staging' : 'post-registration', o.progress);
      const run = mode === 'pre' ? runStress : runPostStress;
      const report = await run({ ...options, onProgress: progress.update });
      progress.stop();
      reports.push(report);
      if (!quietText) console.log(`${formatStress(report)}\n`);
    }
    if (reports.length === 2 && !quietText) console.log(`Pre-staging vs post-registration (same seed ${options.seed})\n${formatComparison(reports[0]!, reports[1]!)}`);
    writeJson(o.json, reports.length === 1 ? reports[0] : { pre: reports[0], post: reports[1] });
    process.exitCode = reports.every((r) => r.ok) ? 0 : 1;
  });

program
  .command('brutality')
  .description('the total brutality run of seed 004: pre-staging plus OCC against external writers, ramping load')
  .option('-n, --ops <n>', 'operations', integer('ops', 1), DEFAULT_BRUTALITY.ops)
  .option('-t, --targets <n>', 'target entities', integer('targets', 1), DEFAULT_BRUTALITY.targets)
  .option('-r, --rate <ops>', 'peak operations per second', number('rate', 1), DEFAULT_BRUTALITY.peakRate)
  .option('--ramp <seconds>', 'time to reach the peak rate', number('ramp'), DEFAULT_BRUTALITY.rampMs / 1000)
  .option('--writers <n>', 'external writers per target', integer('writers'), DEFAULT_BRUTALITY.writers)
  .option('--writer-every <ms>', 'pause of each external writer between read and write', number('writer-every', 1), DEFAULT_BRUTALITY.writerEveryMs)
  .option('--work <ms>', 'processing time between read and write of each operation', number('work'), DEFAULT_BRUTALITY.workMs)
  .option('-g, --grace <ms>', 'grace period of an executing operation', number('grace'), DEFAULT_BRUTALITY.gracePeriodMs)
  .option('-w, --window <ms>', 'arbitration window', number('window'), DEFAULT_BRUTALITY.windowMs)
  .option('-s, --seed <n>', 'workload seed', integer('seed'), DEFAULT_BRUTALITY.seed)
  .option('--json [file]', "write the report as JSON (to stdout with no file or '-')")
  .option('--no-progress', 'no progress output')
  .action(async (o) => {
    const progress = progressReporter('brutality', o.progress);
    const report: BrutalityReport = await runBrutality({
      ops: o.ops,
      targets: o.targets,
      peakRate: o.rate,
      rampMs: o.ramp * 1000,
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
  .description('a long live conflict storm with the inspector attached; open the printed URL')
  .option('-p, --port <n>', 'inspector port (0 = any free port)', integer('port'), 4680)
  .option('--host <host>', 'inspector host', '127.0.0.1')
  .option('-d, --duration <seconds>', 'how long operations keep coming (0 = until Ctrl-C)', number('duration'), 120)
  .option('-t, --targets <n>', 'target entities', integer('targets', 1), 6)
  .option('-r, --rate <ops>', 'submissions per second', integer('rate', 1), 40)
  .option('-s, --seed <n>', 'scenario seed', integer('seed', 1), 7)
  .action(async (o) => {
    // Loaded here: the inspector's optional peer dependencies are needed by this command only.
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
