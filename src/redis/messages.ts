// What a process hears from Redis about its operations, in the arbiter's words: a window's
// decision (winner starts or is held, the losers with their code and reason, with the window's
// ids), a preemption of one of its holders, or a candidate Redis no longer knows.
import { outcomeOf, type RedisCandidateRecord, type RedisHolderRecord, type WindowDecision } from './records.js';

/** A loser of a window, with the code and reason it is rejected with. */
export interface RedisLoser {
  readonly candidate: RedisCandidateRecord;
  readonly code: 'lost-arbitration';
  readonly reason: string;
}

/** A holder preempted by a window's winner, with the reason its operation is rejected with. */
export interface RedisPreempted {
  readonly holder: RedisHolderRecord;
  readonly reason: string;
}

/**
 * A window's decision as delivered to every process that had a candidate in it (`start`:
 * `winner` runs now under fencing token `token`; `hold`: `winner` stays staged and competes in
 * the next window), or `none`: this process's candidates `ids` cannot be decided (their stage
 * lease ran out, or Redis lost them) and are rejected with `code` and `reason`.
 *
 * @example
 * ```ts
 * port.decided = (d) => {
 *   if (d.kind === 'start' && mine.has(d.winner.id)) run(d.winner.id, { target: d.target, token: d.token });
 *   for (const l of d.kind === 'none' ? [] : d.losers) if (mine.has(l.candidate.id)) reject(l.candidate.id, l.code, l.reason);
 * };
 * ```
 */
export type RedisDecision =
  | (RedisClosedWindow & {
      readonly kind: 'start';
      readonly token: number;
      readonly preempt: readonly RedisPreempted[];
    })
  | (RedisClosedWindow & {
      readonly kind: 'hold';
      readonly blockedBy: readonly RedisHolderRecord[];
    })
  | {
      readonly kind: 'none';
      readonly target: string;
      readonly window: number | undefined;
      readonly code: 'backend-unavailable';
      readonly reason: string;
      readonly ids: readonly string[];
    };

/** What a `start` and a `hold` decision share: the window that closed and its outcome. */
export interface RedisClosedWindow {
  readonly target: string;
  readonly window: number;
  /** Redis time (ms). */
  readonly openedAt: number;
  readonly closedAt: number;
  /** The process that closed the window. */
  readonly closedBy: string | undefined;
  /** Every candidate of the window (all processes), in staging order. */
  readonly candidates: readonly RedisCandidateRecord[];
  readonly winner: RedisCandidateRecord;
  readonly losers: readonly RedisLoser[];
}

/**
 * The reason a loser gets: names the winner and both priorities (the in-memory wording).
 *
 * @example
 * ```ts
 * lostReasonOf(loser, winner); // 'lost arbitration to op-9 (withdraw, priority 10 vs 2)'
 * ```
 */
export function lostReasonOf(loser: RedisCandidateRecord, winner: RedisCandidateRecord): string {
  return `lost arbitration to ${winner.id} (${winner.type}, priority ${winner.effectivePriority} vs ${loser.effectivePriority})`;
}

/**
 * The reason a preempted holder gets (the in-memory wording).
 *
 * @example
 * ```ts
 * preemptReasonOf(winner, 2, 350); // 'preempted by op-9 (priority 10 vs 2) after 350 ms'
 * ```
 */
export function preemptReasonOf(by: RedisCandidateRecord, holderPriority: number, ranMs: number): string {
  return `preempted by ${by.id} (priority ${by.effectivePriority} vs ${holderPriority}) after ${Math.round(ranMs)} ms`;
}

/**
 * Turns a recorded window decision into the message a process's port receives. `undefined` for
 * an `empty` window (nothing to tell: its dropped candidates are told with `none` by the caller).
 *
 * @example
 * ```ts
 * const message = toRedisDecision('account-7', windowDecision);
 * ```
 */
export function toRedisDecision(target: string, d: WindowDecision): RedisDecision | undefined {
  const winner = d.candidates.find((c) => c.id === d.winner);
  if (d.kind === 'empty' || !winner) return undefined;
  const byId = new Map(d.candidates.map((c) => [c.id, c]));
  const losers = d.losers.flatMap((id): RedisLoser[] => {
    const candidate = byId.get(id);
    return candidate ? [{ candidate, code: 'lost-arbitration', reason: lostReasonOf(candidate, winner) }] : [];
  });
  const common = { target, window: d.window, openedAt: d.openedAt, closedAt: d.closedAt, closedBy: d.closedBy, candidates: d.candidates, winner, losers };
  if (d.kind === 'hold') return { kind: 'hold', ...common, blockedBy: d.blockedBy };
  const outcome = outcomeOf(winner.id, d);
  if (outcome.kind !== 'started') return undefined;
  return {
    kind: 'start',
    ...common,
    token: outcome.token,
    preempt: d.preempt.map((holder) => ({ holder, reason: preemptReasonOf(winner, holder.effectivePriority, d.closedAt - holder.startedAt) })),
  };
}

/**
 * The message a process receives on its channel when one of its holders is preempted.
 *
 * @example
 * ```ts
 * const m = parsePreemptMessage(raw);
 * if (m) abort(m.id, preemptReasonOf(m.by, m.effectivePriority, m.ranMs));
 * ```
 */
export interface PreemptMessage {
  readonly kind: 'preempt';
  /** The target's meta key: names the target. */
  readonly meta: string;
  readonly window: number;
  readonly id: string;
  readonly token: number;
  readonly effectivePriority: number;
  readonly ranMs: number;
  readonly by: RedisCandidateRecord;
}

/** Parses a channel message; `undefined` for anything that is not a well-formed preemption. */
export function parsePreemptMessage(raw: string): PreemptMessage | undefined {
  let m: unknown;
  try {
    m = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (typeof m !== 'object' || m === null) return undefined;
  const r = m as Record<string, unknown>;
  const by = r['by'] as Record<string, unknown> | undefined;
  if (r['kind'] !== 'preempt' || typeof r['meta'] !== 'string' || typeof r['id'] !== 'string' || typeof by !== 'object' || by === null) return undefined;
  const token = Number(r['token']);
  if (!Number.isInteger(token)) return undefined;
  return {
    kind: 'preempt',
    meta: r['meta'],
    window: Number(r['window']),
    id: r['id'],
    token,
    effectivePriority: Number(r['effectivePriority']),
    ranMs: Number(r['ranMs']),
    by: {
      id: String(by['id']),
      type: String(by['type']),
      priority: Number(by['priority']),
      effectivePriority: Number(by['effectivePriority']),
      order: Number(by['order']),
      owner: String(by['owner']),
    },
  };
}
