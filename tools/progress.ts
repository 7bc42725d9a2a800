/**
 * Progress output of the load tools: on a terminal, a live bar with one status line per target
 * under it; elsewhere (a pipe, CI), one plain line every `intervalMs` with the same figures.
 */
import cliProgress from 'cli-progress';
import type { Progress, TargetStatus } from './common.js';

/** Where progress goes; `process.stderr` by default. */
export interface ProgressStream {
  readonly isTTY?: boolean | undefined;
  write(chunk: string): unknown;
}

/** Options of {@link progressReporter}. */
export interface ProgressOptions {
  /** `false`: no output at all (`--no-progress`). */
  readonly enabled: boolean;
  readonly stream?: ProgressStream | undefined;
  /** Most target lines shown (the first targets, in their order); the rest are summed up. @default 8 */
  readonly maxTargets?: number | undefined;
  /** Plain output: at most one line per this many milliseconds. @default 1000 */
  readonly intervalMs?: number | undefined;
  readonly now?: (() => number) | undefined;
}

/** Reports progress while a run goes on. */
export interface ProgressReporter {
  update(p: Progress): void;
  stop(): void;
}

/**
 * One target's live status: what waits in its window, what runs, how many have won so far.
 *
 * @example
 * ```ts
 * formatTargetStatus({ label: '#0', staged: 3, executing: 1, winners: 7 }); // '#0 staged 3, executing 1, winners 7'
 * ```
 */
export function formatTargetStatus(t: TargetStatus): string {
  return `${t.label} staged ${t.staged}, executing ${t.executing}, winners ${t.winners}`;
}

/**
 * The figures of a progress line, without the bar.
 *
 * @example
 * ```ts
 * formatProgressFigures({ fraction: 0.5, submitted: 10, completed: 2, rejected: 7, retrying: 1 });
 * // 'submitted 10 | completed 2 | rejected 7 | still retrying 1'
 * ```
 */
export function formatProgressFigures(p: Progress): string {
  const parts = [`submitted ${p.submitted}`, `completed ${p.completed}`, `rejected ${p.rejected}`];
  if (p.retrying !== undefined) parts.push(`still retrying ${p.retrying}`);
  return parts.join(' | ');
}

/**
 * A plain (non-terminal) progress line: the figures, then every target's status.
 *
 * @example
 * ```ts
 * formatProgressLine('pre-staging', progress, 8);
 * // 'pre-staging: 40% submitted 200 | completed 30 | rejected 150 | targets #0 staged 3, executing 1, winners 7; …'
 * ```
 */
export function formatProgressLine(label: string, p: Progress, maxTargets = 8): string {
  let line = `${label}: ${Math.round(p.fraction * 100)}% ${formatProgressFigures(p)}`;
  if (p.targets !== undefined && p.targets.length > 0) {
    const shown = p.targets.slice(0, maxTargets).map(formatTargetStatus);
    if (p.targets.length > maxTargets) shown.push(moreTargets(p.targets.slice(maxTargets)));
    line += ` | targets ${shown.join('; ')}`;
  }
  return line;
}

function moreTargets(rest: readonly TargetStatus[]): string {
  const sum = (k: 'staged' | 'executing' | 'winners') => rest.reduce((a, t) => a + t[k], 0);
  return `${rest.length} more: staged ${sum('staged')}, executing ${sum('executing')}, winners ${sum('winners')}`;
}

/**
 * A live bar on a terminal (`cli-progress`, with one line per target under it), a plain line
 * every `intervalMs` otherwise.
 *
 * @example
 * ```ts
 * const progress = progressReporter('pre-staging', { enabled: true });
 * await runStress({ onProgress: progress.update });
 * progress.stop();
 * ```
 */
export function progressReporter(label: string, options: ProgressOptions): ProgressReporter {
  if (!options.enabled) return { update: () => {}, stop: () => {} };
  const stream = options.stream ?? process.stderr;
  const maxTargets = options.maxTargets ?? 8;
  if (stream.isTTY === true) return terminalReporter(label, stream, maxTargets);
  const intervalMs = options.intervalMs ?? 1000;
  const now = options.now ?? Date.now;
  let last = -Infinity;
  return {
    update: (p: Progress) => {
      const t = now();
      if (t - last < intervalMs) return;
      last = t;
      stream.write(`${formatProgressLine(label, p, maxTargets)}\n`);
    },
    stop: () => {},
  };
}

function terminalReporter(label: string, stream: ProgressStream, maxTargets: number): ProgressReporter {
  const multi = new cliProgress.MultiBar(
    {
      format: `${label} [{bar}] {percentage}% | {figures}`,
      stream: stream as NodeJS.WritableStream,
      hideCursor: true,
      clearOnComplete: false,
      autopadding: true,
    },
    cliProgress.Presets.shades_classic,
  );
  const bar = multi.create(100, 0, { figures: '' });
  const lines: cliProgress.SingleBar[] = [];
  return {
    update: (p: Progress) => {
      const targets = p.targets ?? [];
      const wanted = Math.min(targets.length, maxTargets) + (targets.length > maxTargets ? 1 : 0);
      while (lines.length < wanted) lines.push(multi.create(1, 0, { status: '' }, { format: '  {status}' }));
      bar.update(Math.min(100, Math.round(p.fraction * 100)), { figures: formatProgressFigures(p) });
      targets.slice(0, maxTargets).forEach((t, i) => lines[i]!.update(0, { status: formatTargetStatus(t) }));
      if (targets.length > maxTargets) lines[maxTargets]!.update(0, { status: moreTargets(targets.slice(maxTargets)) });
    },
    stop: () => multi.stop(),
  };
}
