import type { ChainableCommander } from 'ioredis';
import { ArbiterInputError } from '../errors.js';
import type { WhileExecuting } from '../types.js';
import { expectFiniteNumber, expectInteger, expectNonEmptyString, expectOneOf, kindOf } from '../validate.js';
import { CommandBatcher, type RedisClient } from './batcher.js';
import { checkKeyPrefix, keyList, processChannel, targetKeys, type TargetKeys } from './keys.js';
import { CLOSE_LUA, PEEK_LUA, RELEASE_LUA, RENEW_LUA, STAGE_LUA, WITHDRAW_LUA } from './lua/target.js';
import {
  parseClose,
  parseRenew,
  parseStage,
  parseWithdraw,
  RedisReplyError,
  type CloseResult,
  type RenewResult,
  type StageResult,
  type WithdrawState,
} from './records.js';

/** The names under which the target scripts are defined on a client (ioredis `defineCommand`). */
export const TARGET_COMMANDS = {
  stage: { name: 'arbiterStage', lua: STAGE_LUA },
  close: { name: 'arbiterClose', lua: CLOSE_LUA },
  renew: { name: 'arbiterRenew', lua: RENEW_LUA },
  release: { name: 'arbiterRelease', lua: RELEASE_LUA },
  withdraw: { name: 'arbiterWithdraw', lua: WITHDRAW_LUA },
  peek: { name: 'arbiterPeek', lua: PEEK_LUA },
} as const;

type ScriptCall = (...args: (string | number)[]) => unknown;

/**
 * Defines the target scripts on a client. ioredis sends each script with `EVAL` the first time on
 * a connection and `EVALSHA` after that, and sends it again when Redis answers `NOSCRIPT` (after
 * a restart or a `SCRIPT FLUSH`), in pipelines too.
 */
export function defineTargetCommands(client: RedisClient): void {
  for (const { name, lua } of Object.values(TARGET_COMMANDS)) {
    if (typeof (client as unknown as Record<string, unknown>)[name] !== 'function') {
      client.defineCommand(name, { numberOfKeys: 5, lua });
    }
  }
}

function call(pipeline: ChainableCommander, name: string, keys: TargetKeys, args: (string | number)[]): void {
  const fn = (pipeline as unknown as Record<string, ScriptCall>)[name];
  if (typeof fn !== 'function') throw new Error(`the ${name} script is not defined on this client`);
  fn.call(pipeline, ...keyList(keys), ...args);
}

/**
 * A window's settings, fixed by the process that opens it.
 *
 * @example
 * ```ts
 * const settings: WindowSettings = { windowMs: 100, whileExecuting: 'preempt', gracePeriodMs: 200, stageLeaseMs: 2000 };
 * ```
 */
export interface WindowSettings {
  readonly windowMs: number;
  readonly whileExecuting: WhileExecuting;
  readonly gracePeriodMs: number;
  /** How long a staged candidate stays without renewal (its process may die while it waits). */
  readonly stageLeaseMs: number;
}

/**
 * A candidate as Redis needs it: no data, no local clock.
 *
 * @example
 * ```ts
 * const c: StageCandidate = { id: op.id, type: 'withdraw', priority: 5, effectivePriority: 8 };
 * ```
 */
export interface StageCandidate {
  readonly id: string;
  readonly type: string;
  readonly priority: number;
  readonly effectivePriority: number;
  /** It lost an earlier window and stays a candidate for the next one (`onLose: 'retry'`). */
  readonly again?: boolean;
}

/**
 * A target's state in Redis, for tests, tools and the inspector.
 *
 * @example
 * ```ts
 * (await targets.peek('account-7')).holders.length; // 1 while something executes on it
 * ```
 */
export interface TargetState {
  /** Redis time (ms). */
  readonly now: number;
  readonly meta: Readonly<Record<string, string>>;
  readonly candidates: readonly { id: string; type: string; priority: number; effectivePriority: number; order: number; expiresAt: number; owner: string }[];
  readonly holders: readonly { id: string; token: number; priority: number; effectivePriority: number; startedAt: number; expiresAt: number; owner: string; expired: boolean }[];
}

/**
 * Options of {@link RedisTargets}.
 *
 * @example
 * ```ts
 * new RedisTargets({ client, keyPrefix: 'shop:', owner: processId });
 * ```
 */
export interface RedisTargetsOptions {
  readonly client: RedisClient;
  /** Prefix of every key (no `{` or `}`). @default 'arbiter:' */
  readonly keyPrefix?: string;
  /** This process's id: recorded with its candidates and holders, names its channel. */
  readonly owner: string;
  /** Decisions (and the outcomes pointing at them) kept per target, for processes that read late. @default 256 */
  readonly keepWindows?: number;
  /** A target's keys expire after this long without any script touching them. @default 600000 */
  readonly idleTtlMs?: number;
  /**
   * Time in microseconds instead of Redis `TIME`. Tests only: every process must use Redis time,
   * or windows and leases lose their meaning across processes.
   */
  readonly clock?: () => number;
  /** A pipeline not answered within this long fails its calls. @default no bound */
  readonly commandTimeoutMs?: number;
}

interface PendingStage {
  /** When the first of them was staged (ms, this process's clock): a window it opens is that much shorter. */
  since: number;
  settings: WindowSettings;
  candidates: StageCandidate[];
  waiters: { ids: Set<string>; resolve: (r: StageResult) => void; reject: (e: unknown) => void }[];
}

function checkSettings(s: WindowSettings): void {
  expectFiniteNumber(s.windowMs, 'windowMs', 0);
  expectOneOf(s.whileExecuting, 'whileExecuting', ['preempt', 'queue', 'concurrent']);
  expectFiniteNumber(s.gracePeriodMs, 'gracePeriodMs', 0);
  expectFiniteNumber(s.stageLeaseMs, 'stageLeaseMs', 1);
}

function checkCandidate(c: StageCandidate, i: number): void {
  expectNonEmptyString(c.id, `candidates.${i}.id`);
  if (typeof c.type !== 'string') throw new ArbiterInputError(`candidates.${i}.type`, `Expected \`candidates.${i}.type\` to be a string, got ${kindOf(c.type)}`);
  expectFiniteNumber(c.priority, `candidates.${i}.priority`, -Infinity);
  expectFiniteNumber(c.effectivePriority, `candidates.${i}.effectivePriority`, -Infinity);
}

/**
 * The target scripts behind typed calls, batched: every call made in one event-loop turn goes
 * out in one pipeline, and the candidates staged on one target in that turn go out in one script
 * call. The primitives of the Redis backend: windows, arbitration, leases with fencing tokens,
 * decision records.
 *
 * @example
 * ```ts
 * const targets = new RedisTargets({ client, keyPrefix: 'shop:', owner: processId });
 * const staged = await targets.stage('cart-7', settings, [candidate]);
 * setTimeout(async () => {
 *   const r = await targets.close('cart-7', staged.window, 2000, [candidate.id]);
 * }, Math.max(0, staged.closesInMs));
 * ```
 */
export class RedisTargets {
  readonly keyPrefix: string;
  readonly owner: string;
  /** The pub/sub channel on which this process hears that one of its holders was preempted. */
  readonly channel: string;
  private readonly batcher: CommandBatcher;
  private readonly keepWindows: number;
  private readonly idleTtlMs: number;
  private readonly clock: (() => number) | undefined;
  private pending = new Map<string, PendingStage>();

  constructor(options: RedisTargetsOptions) {
    this.keyPrefix = checkKeyPrefix(options.keyPrefix ?? 'arbiter:');
    expectNonEmptyString(options.owner, 'owner');
    if (options.owner.includes('|')) throw new ArbiterInputError('owner', `Expected \`owner\` to contain no "|", got ${kindOf(options.owner)}`);
    this.owner = options.owner;
    this.keepWindows = options.keepWindows ?? 256;
    expectInteger(this.keepWindows, 'keepWindows', 1);
    this.idleTtlMs = options.idleTtlMs ?? 600_000;
    expectInteger(this.idleTtlMs, 'idleTtlMs', 1000);
    this.clock = options.clock;
    this.channel = processChannel(this.keyPrefix, this.owner);
    defineTargetCommands(options.client);
    if (options.commandTimeoutMs !== undefined) expectInteger(options.commandTimeoutMs, 'commandTimeoutMs', 1);
    this.batcher = new CommandBatcher(options.client, options.commandTimeoutMs);
  }

  /** Commands and round trips sent so far. */
  get stats(): Readonly<CommandBatcher['stats']> {
    return this.batcher.stats;
  }

  private head(): [string, number] {
    return [this.clock ? String(this.clock()) : '', this.idleTtlMs];
  }

  /** This process's clock in ms: for durations only (the injected clock in tests). */
  private localMs(): number {
    return this.clock ? this.clock() / 1000 : performance.now();
  }

  private run<T>(name: string, target: string, args: (string | number)[], parse: (reply: unknown) => T): Promise<T> {
    const keys = targetKeys(this.keyPrefix, target);
    return this.batcher.add((p) => call(p, name, keys, [...this.head(), ...args]), parse);
  }

  /**
   * Stages candidates on `target`, opening its window at Redis time if none is open: it closes
   * `windowMs` after the first of them was staged here (the time they waited in this process
   * before the call was sent counts). Calls made in the same turn for the same target travel in
   * one script call, which keeps the place of the first of them among the turn's commands (a
   * close queued after a stage comes after it).
   */
  stage(target: string, settings: WindowSettings, candidates: readonly StageCandidate[]): Promise<StageResult> {
    expectNonEmptyString(target, 'target');
    checkSettings(settings);
    candidates.forEach(checkCandidate);
    return new Promise<StageResult>((resolve, reject) => {
      let p = this.pending.get(target);
      if (!p) {
        const created: PendingStage = { since: this.localMs(), settings, candidates: [], waiters: [] };
        p = created;
        this.pending.set(target, created);
        const keys = targetKeys(this.keyPrefix, target);
        // The arguments are read when the pipeline is built: every candidate staged until then.
        this.batcher
          .add((pipeline) => {
            if (this.pending.get(target) === created) this.pending.delete(target);
            // How long the first of them has waited here (the end of the turn, a busy event loop):
            // a window they open closes windowMs after it was staged, not after this call arrives.
            const waited = Math.max(0, Math.round((this.localMs() - created.since) * 1000) / 1000);
            const args: (string | number)[] = [...this.head(), settings.windowMs, settings.whileExecuting, settings.gracePeriodMs, settings.stageLeaseMs, this.owner, waited];
            for (const c of created.candidates) args.push(c.id, c.effectivePriority, c.priority, c.type, c.again === true ? '1' : '0');
            call(pipeline, TARGET_COMMANDS.stage.name, keys, args);
          }, parseStage)
          .then(
            (r) => {
              for (const w of created.waiters) w.resolve({ ...r, candidates: r.candidates.filter((c) => w.ids.has(c.id)) });
            },
            (err: unknown) => {
              for (const w of created.waiters) w.reject(err);
            },
          );
      }
      p.candidates.push(...candidates);
      p.waiters.push({ ids: new Set(candidates.map((c) => c.id)), resolve, reject });
    });
  }

  /**
   * Closes `window` on `target` if Redis time has reached its end (else `early`), and reports the
   * caller's `ids`: still staged, or decided (their outcome), or unknown. A starting winner gets a
   * lease of `leaseMs`. Idempotent: asking again gives the same answer.
   */
  close(target: string, window: number, leaseMs: number, ids: readonly string[]): Promise<CloseResult> {
    expectNonEmptyString(target, 'target');
    expectInteger(window, 'window', 0);
    expectFiniteNumber(leaseMs, 'leaseMs', 1);
    return this.run(TARGET_COMMANDS.close.name, target, [window, leaseMs, this.keepWindows, `${this.keyPrefix}process:`, this.owner, ...ids], parseClose);
  }

  /**
   * Renews the leases of this process's `holders` on `target` (each by token and id) for
   * `leaseMs`, and the stage leases of its waiting `candidateIds` for `stageLeaseMs`.
   */
  renew(
    target: string,
    leaseMs: number,
    stageLeaseMs: number,
    holders: readonly { readonly token: number; readonly id: string }[],
    candidateIds: readonly string[] = [],
  ): Promise<RenewResult> {
    expectNonEmptyString(target, 'target');
    expectFiniteNumber(leaseMs, 'leaseMs', 1);
    expectFiniteNumber(stageLeaseMs, 'stageLeaseMs', 1);
    const args: (string | number)[] = [leaseMs, stageLeaseMs, holders.length];
    for (const h of holders) args.push(String(h.token), h.id);
    args.push(...candidateIds);
    const holderIds = holders.map((h) => h.id);
    return this.run(TARGET_COMMANDS.renew.name, target, args, (reply) => parseRenew(reply, holderIds, candidateIds));
  }

  /** Ends the lease `token` of holder `id` on `target`; a stale token changes nothing. */
  release(target: string, token: number, id: string): Promise<'released' | 'expired' | 'stale'> {
    expectNonEmptyString(target, 'target');
    expectInteger(token, 'token', 0);
    expectNonEmptyString(id, 'id');
    return this.run(TARGET_COMMANDS.release.name, target, [String(token), id], (reply) => {
      if (reply === 'released' || reply === 'expired' || reply === 'stale') return reply;
      throw new RedisReplyError('release', reply);
    });
  }

  /** Takes staged candidates out of `target`; one that has already won is released instead. */
  withdraw(target: string, ids: readonly string[]): Promise<WithdrawState[]> {
    expectNonEmptyString(target, 'target');
    return this.run(TARGET_COMMANDS.withdraw.name, target, [...ids], (reply) => parseWithdraw(reply, ids));
  }

  /** The target's state in Redis (read-only). */
  peek(target: string): Promise<TargetState> {
    expectNonEmptyString(target, 'target');
    return this.run(TARGET_COMMANDS.peek.name, target, [], (reply) => {
      const r = JSON.parse(String(reply)) as Record<string, unknown>;
      const list = (v: unknown): Record<string, unknown>[] => (Array.isArray(v) ? (v as Record<string, unknown>[]) : []);
      const ms = (v: unknown): number => Number(v) / 1000;
      return {
        now: ms(r['now']),
        meta: Array.isArray(r['meta']) ? {} : (r['meta'] as Record<string, string>),
        candidates: list(r['candidates']).map((c) => ({
          id: String(c['id']),
          type: String(c['type']),
          priority: Number(c['priority']),
          effectivePriority: Number(c['effectivePriority']),
          order: Number(c['order']),
          expiresAt: ms(c['expiresAt']),
          owner: String(c['owner']),
        })),
        holders: list(r['holders']).map((h) => ({
          id: String(h['id']),
          token: Number(h['token']),
          priority: Number(h['priority']),
          effectivePriority: Number(h['effectivePriority']),
          startedAt: ms(h['startedAt']),
          expiresAt: ms(h['expiresAt']),
          owner: String(h['owner']),
          expired: h['expired'] === true,
        })),
      };
    });
  }

  /** Sends what is queued now instead of at the end of the turn. */
  flush(): Promise<void> {
    return this.batcher.flush();
  }

  /** Resolves once every call made so far has been answered (or has failed). */
  drain(): Promise<void> {
    return this.batcher.drain();
  }
}
