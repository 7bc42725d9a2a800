import { describeError } from './errors.js';
import type { ArbitrationContext, Candidate, ExecuteFence, Holder, SelectWinner, WhileExecuting } from './types.js';

/**
 * Orders candidates: negative when `a` beats `b`. Higher effective priority first, then the
 * earlier submission (monotonic time), then the lower submission sequence.
 *
 * @example
 * ```ts
 * const ranked = [...candidates].sort(compareCandidates); // ranked[0] is the default winner
 * ```
 */
export function compareCandidates(a: Candidate, b: Candidate): number {
  return (
    b.effectivePriority - a.effectivePriority ||
    a.submittedAt - b.submittedAt ||
    a.seq - b.seq
  );
}

/**
 * The default rule of the design (docs/design.md, rule 2): highest effective priority, ties to the earliest submission.
 * One linear pass, no sorting.
 *
 * @example
 * ```ts
 * defaultSelectWinner([low, critical, high]) === critical; // true
 * ```
 */
export function defaultSelectWinner<TData>(candidates: readonly Candidate<TData>[]): Candidate<TData> | null {
  let best: Candidate<TData> | null = null;
  for (const c of candidates) {
    if (best === null || compareCandidates(c, best) < 0) best = c;
  }
  return best;
}

/**
 * How a window's decision is applied given the target's current holders.
 *
 * @example
 * ```ts
 * const policy: ArbitrationPolicy = { whileExecuting: 'preempt', gracePeriodMs: 200 };
 * ```
 */
export interface ArbitrationPolicy {
  readonly whileExecuting: WhileExecuting;
  readonly gracePeriodMs: number;
  readonly selectWinner?: SelectWinner | undefined;
}

/**
 * The outcome of one window, computed without side effects.
 * - `start`: run `winner` now (after preempting `preempt`, which may be empty);
 * - `hold`: `winner` stays staged for the next window, `losers` are rejected;
 * - `none`: every candidate is rejected with `code`;
 * - `empty`: the window had no candidates.
 *
 * @example
 * ```ts
 * const d = arbitrate(candidates, holders, policy, ctx);
 * if (d.kind === 'start') run(d.winner);
 * ```
 */
export type ArbitrationDecision<C extends Candidate = Candidate> =
  | {
      readonly kind: 'start';
      readonly winner: C;
      readonly losers: readonly C[];
      readonly preempt: readonly Holder[];
      /** The winner's fencing token, from a backend that holds targets by lease (never from `arbitrate`). */
      readonly fence?: ExecuteFence;
    }
  | { readonly kind: 'hold'; readonly winner: C; readonly losers: readonly C[]; readonly blockedBy: readonly Holder[] }
  | {
      readonly kind: 'none';
      /** `backend-unavailable`: a shared backend could not decide these candidates (never from `arbitrate`). */
      readonly code: 'no-winner' | 'arbitration-failed' | 'backend-unavailable';
      readonly reason: string;
      readonly losers: readonly C[];
      readonly error?: unknown;
    }
  | { readonly kind: 'empty' };

/**
 * Whether `winner` may preempt `holder` under the `preempt` policy: the holder is past the
 * grace period and has a strictly lower effective priority.
 *
 * @example
 * ```ts
 * canPreempt(holder, winner, now, 200);
 * ```
 */
export function canPreempt(holder: Holder, winner: Candidate, now: number, gracePeriodMs: number): boolean {
  return now - holder.startedAt >= gracePeriodMs && holder.effectivePriority < winner.effectivePriority;
}

/**
 * Arbitrates one window (docs/design.md, rules 2–5). Pure: the same input gives the same decision,
 * except for what a custom `selectWinner` does.
 *
 * @example
 * ```ts
 * arbitrate([low, high], [], { whileExecuting: 'preempt', gracePeriodMs: 200 },
 *   { target: 't', now: 100, windowOpenedAt: 0, executing: [] });
 * // → { kind: 'start', winner: high, losers: [low], preempt: [] }
 * ```
 */
export function arbitrate<C extends Candidate>(
  candidates: readonly C[],
  holders: readonly Holder[],
  policy: ArbitrationPolicy,
  ctx: ArbitrationContext,
): ArbitrationDecision<C> {
  if (candidates.length === 0) return { kind: 'empty' };
  let winner: C | null;
  if (policy.selectWinner) {
    let picked: unknown;
    try {
      picked = policy.selectWinner(candidates, ctx);
    } catch (error) {
      return {
        kind: 'none',
        code: 'arbitration-failed',
        reason: `selectWinner threw: ${describeError(error)}`,
        losers: candidates,
        error,
      };
    }
    if (picked === null || picked === undefined) {
      return { kind: 'none', code: 'no-winner', reason: 'selectWinner chose no winner', losers: candidates };
    }
    const found = candidates.find((c) => c === picked || c.id === (picked as Candidate).id);
    if (!found) {
      return {
        kind: 'none',
        code: 'arbitration-failed',
        reason: 'selectWinner returned a value that is not one of the candidates',
        losers: candidates,
      };
    }
    winner = found;
  } else {
    winner = defaultSelectWinner(candidates) as C;
  }
  const losers = candidates.filter((c) => c !== winner);
  if (holders.length === 0 || policy.whileExecuting === 'concurrent') {
    return { kind: 'start', winner, losers, preempt: [] };
  }
  if (policy.whileExecuting === 'queue') {
    return { kind: 'hold', winner, losers, blockedBy: holders };
  }
  const w = winner;
  if (holders.every((h) => canPreempt(h, w, ctx.now, policy.gracePeriodMs))) {
    return { kind: 'start', winner, losers, preempt: holders };
  }
  return { kind: 'hold', winner, losers, blockedBy: holders };
}

/**
 * The reason given to a loser: names the winner and both priorities.
 *
 * @example
 * ```ts
 * lostReason(loser, winner); // 'lost arbitration to 0190… (priority 10 vs 2)'
 * ```
 */
export function lostReason(loser: Candidate, winner: Candidate): string {
  return `lost arbitration to ${winner.id} (${winner.type}, priority ${winner.effectivePriority} vs ${loser.effectivePriority})`;
}
