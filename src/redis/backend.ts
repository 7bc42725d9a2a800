import { hostname } from 'node:os';
import type { ArbitrationDecision } from '../arbitration.js';
import type { ArbiterBackend, DecisionRequest, TargetChannel, TargetListener, TargetSettings } from '../backend/types.js';
import { ArbiterInputError } from '../errors.js';
import { newId } from '../ids.js';
import { readOptions } from '../keys.js';
import type { Candidate, Holder } from '../types.js';
import { expectFunction, expectInteger, expectNonEmptyString, kindOf } from '../validate.js';
import type { BatchStats, RedisClient } from './batcher.js';
import { openClient, redactUrl, waitUntilReady } from './connection.js';
import { checkKeyPrefix } from './keys.js';
import type { RedisDecision } from './messages.js';
import { RedisNode, type RedisTargetChannel, type RedisTargetPort, type WindowPolicy } from './node.js';
import type { RedisCandidateRecord, RedisHolderRecord } from './records.js';

/**
 * Options of {@link redisBackend}: where Redis is (`url` or `client`, exactly one) and how this
 * process works with it. Read once; an unknown key is an `ArbiterInputError`.
 *
 * @example
 * ```ts
 * const options: RedisBackendOptions = { url: 'redis://127.0.0.1:6379', keyPrefix: 'shop:', leaseMs: 2000 };
 * ```
 */
export interface RedisBackendOptions {
  /** `redis://[user:password@]host[:port][/db]` or `rediss://…`: the backend opens and closes its connections. */
  url?: string;
  /**
   * An ioredis `Redis` or `Cluster` client of yours: the backend defines its scripts on it, opens
   * one more connection from it (`duplicate()`) to hear preemptions, and never closes yours.
   */
  client?: RedisClient;
  /**
   * Prefix of every key (no `{` or `}`). Processes that arbitrate together share it, and the same
   * window settings (`windowMs`, `whileExecuting`, `gracePeriodMs`). @default 'arbiter:'
   */
  keyPrefix?: string;
  /**
   * How long a winner holds its target without renewal: renewed every `leaseMs / 3` while it
   * executes; when its process dies, the target is free again within `leaseMs`. @default 2000
   */
  leaseMs?: number;
  /** How long `ready()` waits for Redis. @default 5000 */
  connectTimeoutMs?: number;
  /**
   * A batch of commands not answered within this long fails: what it carried ends
   * `backend-unavailable` (a paused or unreachable Redis never leaves an operation waiting).
   * @default 2000
   */
  commandTimeoutMs?: number;
  /**
   * This process's id: recorded with its candidates and leases, shown by the inspector. Unique
   * per process (no `|`). @default `<hostname>:<pid>:<random>`
   */
  processId?: string;
  /**
   * Told when a window was opened by a process with other window settings (once per backend).
   * @default a Node process warning (`process.emitWarning`, code `ARBITER_WINDOW_SETTINGS`)
   */
  onSettingsMismatch?: (info: { target: string; theirs: WindowPolicy; ours: WindowPolicy }) => void;
}

/**
 * A candidate as a Redis decision shows it, possibly staged by another process: `processId` is
 * the process that staged it; `submittedAt` and `seq` are its Redis-assigned order on the target
 * (the tie-breaker), and `data` is not shared (`undefined`).
 *
 * @example
 * ```ts
 * arbiter.events$.subscribe(() => {});
 * const mine = (c: RedisCandidate) => c.processId === backend.processId;
 * ```
 */
export interface RedisCandidate extends Candidate<undefined> {
  readonly processId: string;
}

/** Thrown by `ready()` when Redis cannot be reached within `connectTimeoutMs`. */
export class RedisUnavailableError extends Error {
  override readonly name = 'RedisUnavailableError';
  readonly code = 'backend-unavailable' as const;
  /** The URL (password redacted), or `(your client)`. */
  readonly url: string;
  readonly timeoutMs: number;

  constructor(url: string, timeoutMs: number, cause: unknown) {
    const detail = cause instanceof Error ? cause.message.replace(/^could not connect to [^:]*?within \d+ ms:? ?/, '') : '';
    super(`the Redis backend could not reach Redis at ${url} within ${timeoutMs} ms (connectTimeoutMs)${detail ? `: ${detail}` : ''}`, { cause });
    this.url = url;
    this.timeoutMs = timeoutMs;
  }
}

const OPTION_KEYS = ['url', 'client', 'keyPrefix', 'leaseMs', 'connectTimeoutMs', 'commandTimeoutMs', 'processId', 'onSettingsMismatch'] as const;

function defaultProcessId(): string {
  // Readable in the inspector and in redis-cli, unique thanks to the random tail.
  return `${hostname().replace(/[|\s]/g, '_')}:${process.pid}:${newId().slice(-8)}`;
}

/**
 * Arbitration across processes on Redis: every process that creates its arbiter with a
 * `redisBackend()` on the same Redis and key prefix shares one window per target, one winner per
 * window (effective priority, then the earliest by Redis order), one holder per target under
 * `preempt` and `queue` (a lease with a fencing token), and preemption across processes.
 * `decidesLocally` is false: a custom `selectWinner` is refused.
 *
 * One backend per arbiter: `arbiter.stop()` closes it.
 *
 * @example
 * ```ts
 * import { createArbiter } from 'xstate-arbiter';
 * import { redisBackend } from 'xstate-arbiter/redis';
 * const arbiter = createArbiter({ windowMs: 100, backend: redisBackend({ url: 'redis://127.0.0.1:6379', keyPrefix: 'shop:' }) });
 * await arbiter.ready();
 * ```
 */
export class RedisBackend implements ArbiterBackend {
  readonly kind = 'redis';
  readonly decidesLocally = false;
  /** This process's id in Redis (recorded with its candidates and leases). */
  readonly processId: string;
  readonly keyPrefix: string;
  readonly leaseMs: number;
  readonly connectTimeoutMs: number;
  readonly commandTimeoutMs: number;
  /** Where Redis is: the URL with its password redacted, or `(your client)`. */
  readonly url: string;
  /** The per-process engine (target scripts, leases, the preemption channel). */
  readonly node: RedisNode;
  private readonly client: RedisClient;
  private readonly ownsClient: boolean;
  private readonly disposals = new Set<Promise<void>>();
  private readonly live = new Map<string, RedisChannel>();
  private readying: Promise<void> | undefined;
  private closing: Promise<void> | undefined;

  /** @internal use {@link redisBackend} */
  constructor(options: RedisBackendOptions) {
    const o = readOptions(options, OPTION_KEYS, 'options');
    this.keyPrefix = checkKeyPrefix(o.keyPrefix ?? 'arbiter:');
    const leaseMs = o.leaseMs ?? 2000;
    expectInteger(leaseMs, 'leaseMs', 30);
    this.leaseMs = leaseMs;
    const connectTimeoutMs = o.connectTimeoutMs ?? 5000;
    expectInteger(connectTimeoutMs, 'connectTimeoutMs', 1);
    this.connectTimeoutMs = connectTimeoutMs;
    const commandTimeoutMs = o.commandTimeoutMs ?? 2000;
    expectInteger(commandTimeoutMs, 'commandTimeoutMs', 1);
    this.commandTimeoutMs = commandTimeoutMs;
    const processId = o.processId ?? defaultProcessId();
    expectNonEmptyString(processId, 'processId');
    if (processId.includes('|')) throw new ArbiterInputError('processId', `Expected \`processId\` to contain no "|", got ${kindOf(processId)}`);
    this.processId = processId;
    let told = o.onSettingsMismatch as RedisBackendOptions['onSettingsMismatch'];
    if (told !== undefined) expectFunction(told, 'onSettingsMismatch');
    told ??= ({ target, theirs, ours }) =>
      process.emitWarning(
        `the window of target ${target} was opened by a process with other settings (${JSON.stringify(theirs)}; this one has ${JSON.stringify(ours)}): every process sharing key prefix ${JSON.stringify(this.keyPrefix)} should use the same windowMs, whileExecuting and gracePeriodMs`,
        { code: 'ARBITER_WINDOW_SETTINGS' },
      );
    const onMismatch = told;
    // Opened last: invalid options above open nothing.
    const opened = openClient({
      ...(o.url !== undefined ? { url: o.url as string } : {}),
      ...(o.client !== undefined ? { client: o.client as RedisClient } : {}),
      connectTimeoutMs: this.connectTimeoutMs,
    });
    this.client = opened.client;
    this.ownsClient = opened.owned;
    this.url = typeof o.url === 'string' ? redactUrl(o.url) : '(your client)';
    this.node = new RedisNode({
      client: this.client,
      keyPrefix: this.keyPrefix,
      owner: this.processId,
      leaseMs: this.leaseMs,
      // Channels open windows with their coordinator's settings; these are never used.
      windowMs: 100,
      whileExecuting: 'preempt',
      gracePeriodMs: 200,
      commandTimeoutMs: this.commandTimeoutMs,
      onSettingsMismatch: (target, theirs, ours) => {
        try {
          onMismatch({ target, theirs, ours });
        } catch {
          // A throwing callback of the user's changes nothing here.
        }
      },
    });
    this.client.on('close', this.forgetReady);
  }

  /** @internal a lost connection makes the next ready() check again */
  private readonly forgetReady = (): void => {
    this.readying = undefined;
  };

  /** Commands sent to Redis and round trips (pipelines) so far, by this process. */
  get stats(): Readonly<BatchStats> {
    return this.node.targets.stats;
  }

  /**
   * Resolves once Redis answers on both connections and this process listens for preemptions;
   * rejects with {@link RedisUnavailableError} (naming the URL and the timeout) when it cannot
   * within `connectTimeoutMs`. May be called again after a rejection.
   */
  ready(): Promise<void> {
    if (this.closing) return Promise.reject(new Error('the Redis backend is closed (arbiter.stop() closes its backend)'));
    this.readying ??= this.node.ready(this.connectTimeoutMs, `Redis at ${this.url}`).catch((err: unknown) => {
      this.readying = undefined;
      throw new RedisUnavailableError(this.url, this.connectTimeoutMs, err);
    });
    return this.readying;
  }

  /** @internal the coordinator of `target` opens its channel */
  open(target: string, listener: TargetListener, settings: TargetSettings): TargetChannel {
    if (this.closing) return new RefusingChannel(listener, new Error('the Redis backend is closed (arbiter.stop() closes its backend; give each arbiter its own redisBackend())'));
    if (this.live.has(target)) {
      return new RefusingChannel(listener, new Error(`target ${target} already has a coordinator on this Redis backend: give each arbiter its own redisBackend()`));
    }
    // Listening for preemptions does not wait for the user's ready().
    this.ready().catch(() => undefined);
    const channel = new RedisChannel(this, target, listener, settings);
    this.live.set(target, channel);
    return channel;
  }

  /** @internal */
  disposed(channel: RedisChannel, work: Promise<void>): void {
    if (this.live.get(channel.target) === channel) this.live.delete(channel.target);
    const tracked = work.finally(() => this.disposals.delete(tracked));
    this.disposals.add(tracked);
  }

  /**
   * Withdraws this process's candidates and releases its leases (waiting at most `leaseMs` for
   * Redis), stops its timers and closes the connections it opened. Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.allSettled([...this.disposals]), new Promise((resolve) => (timer = setTimeout(resolve, this.leaseMs)))]);
      clearTimeout(timer);
      await this.node.dispose();
      this.client.off('close', this.forgetReady);
      if (this.ownsClient) this.client.disconnect();
    })();
    return this.closing;
  }
}

/**
 * Creates the Redis backend of one arbiter. `options` may also come as a second argument (for a
 * connection made elsewhere): `redisBackend({ url }, { keyPrefix, leaseMs })`. Bad input throws
 * `ArbiterInputError` naming the field, and opens nothing.
 *
 * @example
 * ```ts
 * import { createArbiter } from 'xstate-arbiter';
 * import { redisBackend } from 'xstate-arbiter/redis';
 * const arbiter = createArbiter({
 *   windowMs: 100,
 *   backend: redisBackend({ url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', keyPrefix: 'shop:', leaseMs: 2000 }),
 * });
 * await arbiter.ready(); // rejects clearly when Redis cannot be reached within connectTimeoutMs
 * ```
 */
export function redisBackend(connection: RedisBackendOptions, options?: Omit<RedisBackendOptions, 'url' | 'client'>): RedisBackend {
  if (options === undefined) return new RedisBackend(connection);
  const c = readOptions(connection, OPTION_KEYS, 'connection');
  const rest = readOptions(options, OPTION_KEYS.filter((k) => k !== 'url' && k !== 'client'), 'options');
  const merged: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(c)) if (v !== undefined) merged[k] = v;
  for (const [k, v] of Object.entries(rest)) {
    if (v === undefined) continue;
    if (k in merged) throw new ArbiterInputError(`options.${k}`, `\`${k}\` is given twice (in the connection and in the options)`);
    merged[k] = v;
  }
  return new RedisBackend(merged as RedisBackendOptions);
}

// A channel that cannot work (the backend is closed, or shared by two arbiters): whatever is
// staged ends backend-unavailable with the reason, never waits.
class RefusingChannel implements TargetChannel {
  constructor(
    private readonly listener: TargetListener,
    private readonly error: Error,
  ) {}

  stage(): void {
    queueMicrotask(() => this.listener.unavailable(this.error));
  }

  withdraw(): void {}

  decide(): undefined {
    queueMicrotask(() => this.listener.unavailable(this.error));
    return undefined;
  }

  release(): void {}

  dispose(): void {}
}

/**
 * One coordinator's channel on Redis: stages its candidates, turns Redis decisions into
 * `ArbitrationDecision`s with candidate views of every process, reports a window only in the
 * process that closed it, and tells preemptions and lost leases apart.
 */
class RedisChannel implements TargetChannel, RedisTargetPort {
  private readonly inner: RedisTargetChannel;
  /** Candidates of this process staged and not yet decided. */
  private readonly pending = new Map<string, Candidate>();
  /** Ids of this process that lost a window: staged again, they say so (`onLose: 'retry'`). */
  private readonly lost = new Set<string>();
  private done = false;

  constructor(
    private readonly backend: RedisBackend,
    readonly target: string,
    private readonly listener: TargetListener,
    settings: TargetSettings,
  ) {
    this.inner = backend.node.open(target, this, { windowMs: settings.windowMs, whileExecuting: settings.whileExecuting, gracePeriodMs: settings.gracePeriodMs });
  }

  // --- TargetChannel (called by the coordinator) ----------------------------------------------

  stage(candidate: Candidate): void {
    if (this.done) return;
    this.pending.set(candidate.id, candidate);
    const again = this.lost.delete(candidate.id);
    void this.inner.stage({
      id: candidate.id,
      type: candidate.type,
      priority: candidate.priority,
      effectivePriority: candidate.effectivePriority,
      ...(again ? { again } : {}),
    });
  }

  withdraw(id: string): void {
    this.pending.delete(id);
    this.lost.delete(id);
    this.inner.withdraw(id);
  }

  decide(request: DecisionRequest): undefined {
    // Every candidate of the coordinator must be on its way to a decision: one the Redis channel
    // no longer tracks (it cannot happen by design) ends backend-unavailable rather than waiting.
    const tracked = new Set(this.inner.stagedIds);
    const untracked = request.candidates.filter((c) => !tracked.has(c.id));
    if (untracked.length > 0) {
      for (const c of untracked) this.pending.delete(c.id);
      queueMicrotask(() =>
        this.listener.decided(
          { kind: 'none', code: 'backend-unavailable', reason: `the Redis channel of ${this.target} lost track of this candidate`, losers: untracked },
          false,
        ),
      );
    }
    // The window closes on the Redis channel's own timer (Redis time, from the stage reply).
    // The coordinator's timer started when it staged, before Redis opened the window, so it
    // fires first: asking Redis then would only get "not yet", and hold back the close that the
    // channel's own timer sends (one close per target on its way at a time). It is a fallback
    // for a channel that waits for nothing.
    if (!this.inner.waiting) this.inner.closeDue();
    return undefined;
  }

  release(id: string): void {
    this.inner.release(id);
  }

  dispose(): void {
    if (this.done) return;
    this.done = true;
    this.pending.clear();
    this.lost.clear();
    this.backend.disposed(this, this.inner.dispose());
  }

  // --- RedisTargetPort (called by the Redis channel) ------------------------------------------

  decided(d: RedisDecision): void {
    if (this.done) return;
    if (d.kind === 'none') {
      const losers = d.ids.map((id) => this.pending.get(id) ?? this.orphan(id));
      for (const id of d.ids) this.pending.delete(id);
      this.listener.decided({ kind: 'none', code: 'backend-unavailable', reason: d.reason, losers }, false);
      return;
    }
    const views = new Map<string, RedisCandidate>();
    for (const c of d.candidates) views.set(c.id, this.view(c));
    const viewOf = (c: RedisCandidateRecord): RedisCandidate => views.get(c.id) ?? this.view(c);
    const winner = viewOf(d.winner);
    const losers = d.losers.map((l) => viewOf(l.candidate));
    for (const l of losers) {
      if (!this.pending.delete(l.id)) continue;
      this.lost.add(l.id);
    }
    const report = d.closedBy === this.backend.processId;
    const shift = performance.now() - d.closedAt;
    let decision: ArbitrationDecision;
    if (d.kind === 'start') {
      this.pending.delete(winner.id);
      decision = {
        kind: 'start',
        winner,
        losers,
        preempt: d.preempt.map((p) => holderView(p.holder, shift)),
        fence: Object.freeze({ target: this.target, token: d.token }),
      };
    } else {
      // The held winner stays staged. Only the reporting process tells the holders that kept it
      // waiting (operation.protected), as it reports the window.
      decision = { kind: 'hold', winner, losers, blockedBy: report ? d.blockedBy.map((h) => holderView(h, shift)) : [] };
    }
    this.listener.decided(decision, report);
  }

  preempt(holderId: string, reason: string): void {
    if (!this.done) this.listener.preempt(holderId, reason);
  }

  leaseLost(holderId: string, reason: string): void {
    if (!this.done) this.listener.leaseLost(holderId, reason);
  }

  unavailable(error: Error): void {
    if (this.done) return;
    this.pending.clear();
    this.lost.clear();
    this.listener.unavailable(error);
  }

  private view(c: RedisCandidateRecord): RedisCandidate {
    return Object.freeze({
      id: c.id,
      target: this.target,
      type: c.type,
      priority: c.priority,
      effectivePriority: c.effectivePriority,
      submittedAt: c.order,
      seq: c.order,
      data: undefined,
      processId: c.owner,
    });
  }

  private orphan(id: string): RedisCandidate {
    return Object.freeze({ id, target: this.target, type: 'operation', priority: 0, effectivePriority: 0, submittedAt: 0, seq: 0, data: undefined, processId: this.backend.processId });
  }
}

// Redis times are Redis's clock; a holder's start, as the coordinator measures ages, is moved to
// this process's monotonic clock (`shift` = local now − the window's close, at delivery).
function holderView(h: RedisHolderRecord, shift: number): Holder {
  return Object.freeze({ id: h.id, priority: h.priority, effectivePriority: h.effectivePriority, startedAt: h.startedAt + shift });
}
