// The shapes of what the target scripts return, parsed from their flat replies and JSON records.
// Redis keeps times in microseconds (integers, exact in a double until the year 2255); the
// TypeScript side speaks milliseconds like the rest of the arbiter.
import type { WhileExecuting } from '../types.js';

/** A candidate as Redis recorded it in a window. */
export interface RedisCandidateRecord {
  readonly id: string;
  readonly type: string;
  readonly priority: number;
  readonly effectivePriority: number;
  /** Redis-assigned staging order on the target: the tie-breaker ("earliest"). */
  readonly order: number;
  /** The process that staged it. */
  readonly owner: string;
}

/** A holder (a lease) as Redis recorded it. */
export interface RedisHolderRecord {
  readonly id: string;
  /** Its fencing token: monotonic per target. */
  readonly token: number;
  readonly priority: number;
  readonly effectivePriority: number;
  /** Redis time (ms) at which it won. */
  readonly startedAt: number;
  readonly owner: string;
}

/**
 * The decision of one window, as recorded by the close script. Every process that had a
 * candidate in the window reads the same record.
 *
 * @example
 * ```ts
 * if (d.kind === 'start') console.log(`${d.winner} won with token ${d.token}`);
 * ```
 */
export interface WindowDecision {
  readonly window: number;
  /** Redis time (ms) at which the window opened and closed. */
  readonly openedAt: number;
  readonly closedAt: number;
  /** `empty`: no live candidate was left when the window closed. */
  readonly kind: 'start' | 'hold' | 'empty';
  readonly whileExecuting: WhileExecuting;
  /** The window's candidates, in staging order. */
  readonly candidates: readonly RedisCandidateRecord[];
  readonly winner: string | undefined;
  readonly losers: readonly string[];
  /** The winner's fencing token when it started. */
  readonly token: number | undefined;
  /** Redis time (ms) at which the winner's lease runs out unless renewed. */
  readonly leaseExpiresAt: number | undefined;
  /** Holders preempted by the winner (their leases ended with this decision). */
  readonly preempt: readonly RedisHolderRecord[];
  /** Holders the winner waits for (`hold`). */
  readonly blockedBy: readonly RedisHolderRecord[];
  /** Candidates dropped unarbitrated: their stage lease had run out (their process went away). */
  readonly dropped: readonly string[];
  /** The process that closed the window (it reports the window's conflict). */
  readonly closedBy: string | undefined;
}

/**
 * What became of one id in a decided window.
 *
 * @example
 * ```ts
 * const o = outcomeOf(id, decision);
 * if (o.kind === 'started') execute({ fence: { target, token: o.token } });
 * ```
 */
export type CandidateOutcome =
  | { readonly kind: 'started'; readonly token: number; readonly decision: WindowDecision }
  | { readonly kind: 'lost'; readonly winner: RedisCandidateRecord; readonly decision: WindowDecision }
  | { readonly kind: 'preempted'; readonly by: RedisCandidateRecord; readonly holder: RedisHolderRecord; readonly decision: WindowDecision }
  | { readonly kind: 'dropped'; readonly decision: WindowDecision }
  | { readonly kind: 'unknown' };

/** Thrown when a script reply does not have the expected shape (a bug or a foreign script). */
export class RedisReplyError extends Error {
  override readonly name = 'RedisReplyError';
  constructor(what: string, reply: unknown) {
    super(`unexpected reply from Redis (${what}): ${JSON.stringify(reply)?.slice(0, 200)}`);
  }
}

const usToMs = (value: unknown): number => Number(value) / 1000;

function list(value: unknown): unknown[] {
  // cjson encodes an empty Lua table as {}: an empty list.
  return Array.isArray(value) ? value : [];
}

function str(value: unknown): string {
  if (typeof value === 'string') return value;
  if (Buffer.isBuffer(value)) return value.toString();
  return String(value);
}

function candidateRecord(raw: unknown): RedisCandidateRecord {
  const c = raw as Record<string, unknown>;
  return {
    id: str(c['id']),
    type: str(c['type']),
    priority: Number(c['priority']),
    effectivePriority: Number(c['effectivePriority']),
    order: Number(c['order']),
    owner: str(c['owner']),
  };
}

function holderRecord(raw: unknown): RedisHolderRecord {
  const h = raw as Record<string, unknown>;
  return {
    id: str(h['id']),
    token: Number(h['token']),
    priority: Number(h['priority']),
    effectivePriority: Number(h['effectivePriority']),
    startedAt: usToMs(h['startedAt']),
    owner: str(h['owner']),
  };
}

/** Parses a decision record (the JSON the close script keeps per window). */
export function parseDecision(json: string): WindowDecision {
  const r = JSON.parse(json) as Record<string, unknown>;
  return {
    window: Number(r['window']),
    openedAt: usToMs(r['openedAt']),
    closedAt: usToMs(r['closedAt']),
    kind: r['kind'] as WindowDecision['kind'],
    whileExecuting: r['whileExecuting'] as WhileExecuting,
    candidates: list(r['candidates']).map(candidateRecord),
    winner: r['winner'] === undefined ? undefined : str(r['winner']),
    losers: list(r['losers']).map(str),
    token: r['token'] === undefined ? undefined : Number(r['token']),
    leaseExpiresAt: r['leaseExpiresAt'] === undefined ? undefined : usToMs(r['leaseExpiresAt']),
    preempt: list(r['preempt']).map(holderRecord),
    blockedBy: list(r['blockedBy']).map(holderRecord),
    dropped: list(r['dropped']).map(str),
    closedBy: r['closedBy'] === undefined ? undefined : str(r['closedBy']),
  };
}

/**
 * What the decision of a window means for one id that it decided.
 *
 * @example
 * ```ts
 * outcomeOf('op-1', decision); // { kind: 'lost', winner: { id: 'op-2', … }, decision }
 * ```
 */
export function outcomeOf(id: string, decision: WindowDecision | undefined): CandidateOutcome {
  if (!decision) return { kind: 'unknown' };
  const winner = decision.candidates.find((c) => c.id === decision.winner);
  if (decision.kind === 'start' && decision.winner === id && decision.token !== undefined) {
    return { kind: 'started', token: decision.token, decision };
  }
  const holder = decision.preempt.find((h) => h.id === id);
  if (holder && winner) return { kind: 'preempted', by: winner, holder, decision };
  if (decision.losers.includes(id) && winner) return { kind: 'lost', winner, decision };
  if (decision.dropped.includes(id)) return { kind: 'dropped', decision };
  return { kind: 'unknown' };
}

/** Reads the trailing "number of decisions, then (window, JSON) pairs" part of a reply. */
function readDecisions(reply: readonly unknown[], at: number, what: string): Map<number, WindowDecision> {
  const decisions = new Map<number, WindowDecision>();
  const n = Number(reply[at]);
  if (!Number.isInteger(n) || at + 1 + 2 * n !== reply.length) throw new RedisReplyError(what, reply);
  for (let i = 0; i < n; i++) {
    const json = str(reply[at + 2 + 2 * i]);
    if (json !== '') decisions.set(Number(reply[at + 1 + 2 * i]), parseDecision(json));
  }
  return decisions;
}

/** The state of one id in a reply: still staged, decided in a window, or unknown to Redis. */
export type IdState =
  | { readonly id: string; readonly state: 'staged' }
  | { readonly id: string; readonly state: 'decided'; readonly outcome: CandidateOutcome }
  | { readonly id: string; readonly state: 'unknown' };

function idState(id: string, raw: string, decisions: Map<number, WindowDecision>): IdState {
  if (raw === 'staged') return { id, state: 'staged' };
  if (raw === 'unknown' || raw === 'lost') return { id, state: 'unknown' };
  const window = Number(raw);
  return { id, state: 'decided', outcome: outcomeOf(id, decisions.get(window)) };
}

/**
 * The reply of a stage call.
 *
 * @example
 * ```ts
 * setTimeout(() => close(target, r.window), Math.max(0, r.closesInMs));
 * ```
 */
export interface StageResult {
  /** The window the candidates joined. */
  readonly window: number;
  /** Milliseconds until it closes, by Redis time (≤ 0: overdue, close it now). */
  readonly closesInMs: number;
  /** Redis time (ms) when the script ran. */
  readonly now: number;
  /** The window's settings, as the process that opened it set them. */
  readonly settings: { readonly windowMs: number; readonly whileExecuting: WhileExecuting; readonly gracePeriodMs: number };
  /** Per candidate: its order, or `staged` (it was already there) or `decided`. */
  readonly candidates: readonly { readonly id: string; readonly order: number | undefined; readonly state: 'staged' | 'already-staged' | 'decided' }[];
}

/** Parses the reply of the stage script. */
export function parseStage(reply: unknown): StageResult {
  if (!Array.isArray(reply) || reply.length < 6 || reply.length % 2 !== 0) throw new RedisReplyError('stage', reply);
  const candidates: StageResult['candidates'][number][] = [];
  for (let i = 6; i < reply.length; i += 2) {
    const id = str(reply[i]);
    const v = str(reply[i + 1]);
    if (v === 'staged') candidates.push({ id, order: undefined, state: 'already-staged' });
    else if (v === 'decided') candidates.push({ id, order: undefined, state: 'decided' });
    else candidates.push({ id, order: Number(v), state: 'staged' });
  }
  const settings = { windowMs: Number(str(reply[2])), whileExecuting: str(reply[3]) as WhileExecuting, gracePeriodMs: Number(str(reply[4])) };
  return { window: Number(reply[0]), closesInMs: usToMs(reply[1]), now: usToMs(reply[5]), settings, candidates };
}

/**
 * The reply of a close call: `early` (Redis time has not reached the window's end yet: try again
 * in `closesInMs`), or the state after the close (`closed` by this call, `already` closed by
 * someone else) with the caller's ids and the decisions that concern them.
 *
 * @example
 * ```ts
 * if (r.status === 'early') setTimeout(retry, r.closesInMs);
 * else for (const s of r.ids) if (s.state === 'decided') settle(s.id, s.outcome);
 * ```
 */
export type CloseResult =
  | {
      readonly status: 'early';
      readonly window: number;
      readonly closesInMs: number;
      /** Redis time (ms) when the script ran. */
      readonly now: number;
    }
  | {
      readonly status: 'closed' | 'already';
      /** The target's current window: still open when a held winner (or a newcomer) waits in it. */
      readonly current: { readonly window: number; readonly open: boolean; readonly closesInMs: number };
      /** Redis time (ms) when the script ran: how much of a lease is left is `leaseExpiresAt - now`. */
      readonly now: number;
      readonly ids: readonly IdState[];
      readonly decisions: ReadonlyMap<number, WindowDecision>;
    };

/** Parses the reply of the close script. */
export function parseClose(reply: unknown): CloseResult {
  if (!Array.isArray(reply) || reply.length < 3) throw new RedisReplyError('close', reply);
  const status = str(reply[0]);
  if (status === 'early') return { status, window: Number(reply[1]), closesInMs: usToMs(reply[2]), now: usToMs(reply[3]) };
  if (status !== 'closed' && status !== 'already') throw new RedisReplyError('close', reply);
  const n = Number(reply[5]);
  const decisions = readDecisions(reply, 6 + 2 * n, 'close');
  const ids: IdState[] = [];
  for (let i = 0; i < n; i++) ids.push(idState(str(reply[6 + 2 * i]), str(reply[7 + 2 * i]), decisions));
  return {
    status,
    current: { window: Number(reply[1]), open: str(reply[2]) === '1', closesInMs: usToMs(reply[3]) },
    now: usToMs(reply[4]),
    ids,
    decisions,
  };
}

/** The state of a lease after a renew call. */
export type LeaseState =
  | { readonly state: 'ok' }
  | { readonly state: 'expired' }
  | { readonly state: 'lost' }
  | { readonly state: 'preempted'; readonly outcome: Extract<CandidateOutcome, { kind: 'preempted' }> };

/**
 * The reply of a renew call: per holder and per staged candidate, in the order given.
 *
 * @example
 * ```ts
 * r.holders.forEach((s, i) => s.state !== 'ok' && abort(holders[i]));
 * ```
 */
export interface RenewResult {
  readonly holders: readonly LeaseState[];
  readonly candidates: readonly IdState[];
}

/** Parses the reply of the renew script. */
export function parseRenew(reply: unknown, holderIds: readonly string[], candidateIds: readonly string[]): RenewResult {
  const h = holderIds.length;
  const n = h + candidateIds.length;
  if (!Array.isArray(reply) || reply.length < n + 1) throw new RedisReplyError('renew', reply);
  const decisions = readDecisions(reply, n, 'renew');
  return {
    holders: holderIds.map((id, i): LeaseState => {
      const v = str(reply[i]);
      if (v === 'ok' || v === 'expired' || v === 'lost') return { state: v };
      // The last decision about this id: the one that preempted it, or the one it won (then the
      // lease ended otherwise: expired and taken over, or released).
      const outcome = outcomeOf(id, decisions.get(Number(v)));
      return outcome.kind === 'preempted' ? { state: 'preempted', outcome } : { state: 'lost' };
    }),
    candidates: candidateIds.map((id, i) => {
      const v = str(reply[h + i]);
      return v === 'ok' ? { id, state: 'staged' as const } : idState(id, v, decisions);
    }),
  };
}

/** The state of one id after a withdraw call. */
export type WithdrawState =
  | { readonly id: string; readonly state: 'withdrawn' | 'released' | 'unknown' }
  | { readonly id: string; readonly state: 'decided'; readonly outcome: CandidateOutcome };

/** Parses the reply of the withdraw script. */
export function parseWithdraw(reply: unknown, ids: readonly string[]): WithdrawState[] {
  if (!Array.isArray(reply) || reply.length < ids.length + 1) throw new RedisReplyError('withdraw', reply);
  const decisions = readDecisions(reply, ids.length, 'withdraw');
  return ids.map((id, i) => {
    const v = str(reply[i]);
    if (v === 'withdrawn' || v === 'released' || v === 'unknown') return { id, state: v };
    return { id, state: 'decided', outcome: outcomeOf(id, decisions.get(Number(v))) };
  });
}
