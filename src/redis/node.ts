import type { WhileExecuting } from '../types.js';
import { newId } from '../ids.js';
import { expectFiniteNumber, expectInteger, expectObject, expectOneOf } from '../validate.js';
import type { RedisClient } from './batcher.js';
import { RedisClock } from './clock.js';
import { waitUntilReady } from './connection.js';
import { targetKeys } from './keys.js';
import { parsePreemptMessage, preemptReasonOf, toRedisDecision, type PreemptMessage, type RedisDecision } from './messages.js';
import type { CloseResult, LeaseState, WindowDecision } from './records.js';
import { RedisTargets, type StageCandidate, type WindowSettings } from './targets.js';

/**
 * What a target's channel tells its owner (the coordinator of that target in this process).
 * Each call happens at most once per fact: a decision is delivered once per window, a holder is
 * preempted (or loses its lease) once.
 *
 * @example
 * ```ts
 * const port: RedisTargetPort = {
 *   decided: (d) => coordinator.send({ type: 'redis.decided', decision: d }),
 *   preempt: (id, reason) => coordinator.send({ type: 'redis.preempt', id, reason }),
 *   unavailable: (err) => coordinator.send({ type: 'redis.unavailable', error: err }),
 * };
 * ```
 */
export interface RedisTargetPort {
  /** A window with candidates of this process was decided (by any process). */
  decided(decision: RedisDecision): void;
  /** A holder of this process was preempted by another window's winner. */
  preempt(holderId: string, reason: string): void;
  /**
   * A holder of this process lost its lease (not renewed in time: Redis unreachable, or this
   * process paused). @default preempt
   */
  leaseLost?(holderId: string, reason: string): void;
  /** Redis could not be reached: this channel's staged candidates and holders are forgotten. */
  unavailable(error: Error): void;
}

/**
 * Options of {@link RedisNode}.
 *
 * @example
 * ```ts
 * new RedisNode({ client, keyPrefix: 'shop:', leaseMs: 2000, windowMs: 100, whileExecuting: 'preempt', gracePeriodMs: 200 });
 * ```
 */
export interface RedisNodeOptions {
  readonly client: RedisClient;
  /** The connection that listens for preemptions. @default client.duplicate() (closed by dispose) */
  readonly subscriber?: RedisClient;
  readonly keyPrefix?: string;
  /** This process's id. @default a uuid v7 */
  readonly owner?: string;
  /** A holder's lease; renewed every leaseMs / 3 while it holds. @default 2000 */
  readonly leaseMs?: number;
  /** The window settings of channels opened without their own. */
  readonly windowMs: number;
  readonly whileExecuting: WhileExecuting;
  readonly gracePeriodMs: number;
  /** A pipeline not answered within this long fails its calls (and so the channels' work). @default no bound */
  readonly commandTimeoutMs?: number;
  /**
   * A stage reply showed a window opened by a process with other window settings (every process
   * sharing a key prefix should use the same ones). Called once per node.
   */
  readonly onSettingsMismatch?: (target: string, theirs: WindowPolicy, ours: WindowPolicy) => void;
  /** Microseconds instead of Redis TIME. Tests only. */
  readonly clock?: () => number;
}

/** The part of a window's settings that every process sharing a key prefix should agree on. */
export type WindowPolicy = Pick<WindowSettings, 'windowMs' | 'whileExecuting' | 'gracePeriodMs'>;

/**
 * This process on Redis: the target scripts (batched per event-loop turn), one channel per
 * target it works on, the subscription on which it hears preemptions, and the renewal of its
 * leases (every `leaseMs / 3`, one pipeline for all targets).
 *
 * Decisions reach this process through its own window timers: every process with a candidate in
 * a window learns from the stage reply when the window closes (Redis time), asks Redis then, and
 * either closes it or reads the decision another process recorded. Decisions stay readable (the
 * last `keepWindows` windows of a target), so a connection lost and regained loses none.
 * Preemptions come on this process's pub/sub channel at once, and from the next renewal if that
 * message was lost.
 *
 * @example
 * ```ts
 * const node = new RedisNode({ client, windowMs: 100, whileExecuting: 'preempt', gracePeriodMs: 200 });
 * await node.ready();
 * const channel = node.open('account-7', port);
 * channel.stage({ id: op.id, type: 'withdraw', priority: 5, effectivePriority: 5 });
 * ```
 */
export class RedisNode {
  readonly owner: string;
  readonly targets: RedisTargets;
  readonly leaseMs: number;
  readonly settings: WindowSettings;
  /** Redis time on this process's clock, from the replies: when a window's end is due here. */
  readonly redisTime = new RedisClock();
  private readonly channels = new Map<string, RedisTargetChannel>();
  private readonly byMeta = new Map<string, RedisTargetChannel>();
  private readonly subscriber: RedisClient;
  private readonly ownsSubscriber: boolean;
  private readonly renewTimer: NodeJS.Timeout;
  private readonly keyPrefix: string;
  private disposed = false;
  private mismatchTold = false;

  constructor(private readonly options: RedisNodeOptions) {
    expectObject(options, 'options');
    this.owner = options.owner ?? newId();
    this.leaseMs = options.leaseMs ?? 2000;
    expectInteger(this.leaseMs, 'leaseMs', 30);
    expectFiniteNumber(options.windowMs, 'windowMs', 0);
    expectOneOf(options.whileExecuting, 'whileExecuting', ['preempt', 'queue', 'concurrent']);
    expectFiniteNumber(options.gracePeriodMs, 'gracePeriodMs', 0);
    this.settings = this.windowSettings(options);
    this.targets = new RedisTargets({
      client: options.client,
      owner: this.owner,
      ...(options.keyPrefix === undefined ? {} : { keyPrefix: options.keyPrefix }),
      ...(options.clock === undefined ? {} : { clock: options.clock }),
      ...(options.commandTimeoutMs === undefined ? {} : { commandTimeoutMs: options.commandTimeoutMs }),
    });
    this.keyPrefix = this.targets.keyPrefix;
    this.ownsSubscriber = options.subscriber === undefined;
    this.subscriber = options.subscriber ?? (options.client as { duplicate(): RedisClient }).duplicate();
    this.subscriber.on('error', () => undefined);
    this.subscriber.on('message', (channel: string, message: string) => {
      if (channel === this.targets.channel) this.onMessage(message);
    });
    this.renewTimer = setInterval(() => this.renewAll(), Math.max(10, Math.floor(this.leaseMs / 3)));
    this.renewTimer.unref();
  }

  /** The full settings of a window policy: a waiting candidate's stage lease outlives a few windows and renewals. */
  windowSettings(policy: WindowPolicy): WindowSettings {
    return Object.freeze({
      windowMs: policy.windowMs,
      whileExecuting: policy.whileExecuting,
      gracePeriodMs: policy.gracePeriodMs,
      stageLeaseMs: this.leaseMs + policy.windowMs,
    });
  }

  /** @internal a stage reply showed the window's settings */
  checkSettings(target: string, theirs: WindowPolicy, ours: WindowSettings): void {
    if (this.mismatchTold || this.options.onSettingsMismatch === undefined) return;
    if (theirs.windowMs === ours.windowMs && theirs.whileExecuting === ours.whileExecuting && theirs.gracePeriodMs === ours.gracePeriodMs) return;
    this.mismatchTold = true;
    this.options.onSettingsMismatch(target, theirs, { windowMs: ours.windowMs, whileExecuting: ours.whileExecuting, gracePeriodMs: ours.gracePeriodMs });
  }

  /**
   * Resolves once Redis answers and this process listens on its channel; rejects when that takes
   * longer than `timeoutMs` in all (the error names `where`).
   */
  async ready(timeoutMs = 5000, where = 'Redis'): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    const left = (): number => Math.max(1, Math.round(deadline - performance.now()));
    await waitUntilReady(this.options.client, timeoutMs, where);
    await waitUntilReady(this.subscriber, left(), `${where} (subscriber connection)`);
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.subscriber.subscribe(this.targets.channel),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`could not connect to ${where} within ${timeoutMs} ms: SUBSCRIBE got no answer`)), left());
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * The channel of `target` (one per target; opening it again returns the same one with the new
   * port). `settings`: the window settings its stages use. @default the node's
   */
  open(target: string, port: RedisTargetPort, settings?: WindowPolicy): RedisTargetChannel {
    let channel = this.channels.get(target);
    if (channel) {
      channel.port = port;
      return channel;
    }
    channel = new RedisTargetChannel(this, target, port, settings === undefined ? this.settings : this.windowSettings(settings));
    this.channels.set(target, channel);
    this.byMeta.set(targetKeys(this.keyPrefix, target).meta, channel);
    return channel;
  }

  /** Whether `target` has a channel open in this process. */
  has(target: string): boolean {
    return this.channels.has(target);
  }

  /** @internal */
  forget(channel: RedisTargetChannel): void {
    if (this.channels.get(channel.target) === channel) this.channels.delete(channel.target);
    this.byMeta.delete(targetKeys(this.keyPrefix, channel.target).meta);
  }

  private onMessage(raw: string): void {
    const message = parsePreemptMessage(raw);
    if (message) this.byMeta.get(message.meta)?.onPreempt(message);
  }

  private renewAll(): void {
    for (const channel of this.channels.values()) channel.renew();
  }

  /** Stops the renewals, disposes every channel (withdraws its candidates, releases its leases), closes the subscriber it opened. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    clearInterval(this.renewTimer);
    // The channels' withdrawals and releases, and whatever was sent before them (a holder's
    // release when its operation ended).
    const pending = Promise.allSettled([...this.channels.values()].map((c) => c.dispose())).then(() => this.targets.drain());
    // Best effort: with Redis unreachable, the leases run out and the candidates expire on their own.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([pending, new Promise((resolve) => (timer = setTimeout(resolve, this.leaseMs)))]);
    clearTimeout(timer);
    if (this.ownsSubscriber) this.subscriber.disconnect();
    else await this.subscriber.unsubscribe(this.targets.channel).catch(() => undefined);
  }
}

/**
 * One target seen from this process: its staged candidates and its holders, the timer of the
 * target's current window (from Redis time), and the delivery of decisions to its port.
 *
 * @example
 * ```ts
 * const channel = node.open('account-7', port);
 * channel.stage(candidate);      // the decision arrives through port.decided
 * channel.release(candidate.id); // after a started winner reached its final state
 * ```
 */
export class RedisTargetChannel {
  private readonly staged = new Map<string, StageCandidate>();
  /** Local time (ms) at which each staged candidate was last staged or renewed. */
  private readonly touched = new Map<string, number>();
  /**
   * Holders of this process: their token, and a local timer that ends the lease here when no
   * renewal has succeeded within leaseMs (measured from when the last successful request was
   * sent, so it fires no later than Redis lets the lease expire): a process cut off from Redis
   * stops its operation before another process can take the target.
   */
  private readonly holders = new Map<string, { token: number; timer: NodeJS.Timeout | undefined }>();
  private timer: NodeJS.Timeout | undefined;
  private timerWindow = -1;
  /** When the timer fires (ms, this process's clock). */
  private timerAt = Infinity;
  private lastWindow = 0;
  /** Windows are numbered per target; each is delivered once, in order. */
  private lastDelivered = 0;
  private inFlight = false;
  private again = false;
  private disposed = false;
  /** Stage calls sent and not yet answered (each reply arms the window's timer). */
  private staging = 0;

  constructor(
    private readonly node: RedisNode,
    readonly target: string,
    /** @internal */ public port: RedisTargetPort,
    /** The window settings this channel's stages open windows with. */
    readonly settings: WindowSettings = node.settings,
  ) {}

  /** Candidates of this process waiting in the target's window. */
  get stagedIds(): readonly string[] {
    return [...this.staged.keys()];
  }

  /** The fencing token of a holder of this process, if it holds the target. */
  tokenOf(holderId: string): number | undefined {
    return this.holders.get(holderId)?.token;
  }

  /**
   * Adds a candidate to the target's window (opening it at Redis time if none is open). The
   * promise resolves once Redis has answered (it never rejects: a failure goes to the port).
   */
  stage(candidate: StageCandidate): Promise<void> {
    if (this.disposed) throw new Error(`the channel of target ${this.target} is disposed`);
    this.staged.set(candidate.id, candidate);
    this.touched.set(candidate.id, performance.now());
    this.staging++;
    const sentAt = performance.now();
    return this.node.targets.stage(this.target, this.settings, [candidate]).then(
      (r) => {
        this.staging--;
        this.node.redisTime.sample(sentAt, performance.now(), r.now);
        this.node.checkSettings(this.target, r.settings, this.settings);
        this.noticeWindow(r.window);
        if (r.candidates.some((c) => c.state === 'decided')) this.arm(r.window, 0);
        else this.arm(r.window, this.untilRedis(r.now, r.closesInMs));
      },
      (err: unknown) => {
        this.staging--;
        this.fail(err);
      },
    );
  }

  /**
   * Whether this channel already waits for its window's end on its own: its timer (set from
   * Redis time) is armed, or a stage or close is on its way (its reply arms the timer). Asking
   * Redis before then only gets "not yet".
   */
  get waiting(): boolean {
    return this.timer !== undefined || this.inFlight || this.staging > 0;
  }

  /** A staged candidate left (cancelled, timed out): out of the window; released if it had won meanwhile. */
  withdraw(id: string): void {
    this.touched.delete(id);
    if (!this.staged.delete(id)) return;
    this.node.targets.withdraw(this.target, [id]).catch(() => undefined);
  }

  /** The local window timer fired: ask Redis now instead of waiting for this channel's own timer. */
  closeDue(): void {
    if (this.staged.size > 0) this.runClose(this.timerWindow >= 0 ? this.timerWindow : this.lastWindow);
  }

  /** A holder of this process reached its final state: its lease ends. */
  release(holderId: string): void {
    const held = this.holders.get(holderId);
    if (held === undefined) return;
    this.dropHolder(holderId);
    // A release that fails (Redis unreachable) lets the lease run out after leaseMs.
    this.node.targets.release(this.target, held.token, holderId).catch(() => undefined);
  }

  private hold(id: string, token: number, deadline: number): void {
    const held = { token, timer: undefined as NodeJS.Timeout | undefined };
    this.holders.set(id, held);
    this.extend(id, held, deadline);
  }

  /** Ends the lease here at `deadline` (local ms) unless a renewal moves it. */
  private extend(id: string, held: { token: number; timer: NodeJS.Timeout | undefined }, deadline: number): void {
    clearTimeout(held.timer);
    held.timer = setTimeout(() => {
      if (this.holders.get(id) !== held) return;
      this.holders.delete(id);
      this.leaseLost(id, `lost its lease on ${this.target}: no renewal succeeded within ${this.node.leaseMs} ms (Redis unreachable or this process too slow), so another process may take the target`);
    }, Math.max(0, deadline - performance.now()));
    held.timer.unref();
  }

  private leaseLost(id: string, reason: string): void {
    if (this.port.leaseLost) this.port.leaseLost(id, reason);
    else this.port.preempt(id, reason);
  }

  private dropHolder(id: string): void {
    const held = this.holders.get(id);
    if (!held) return;
    clearTimeout(held.timer);
    this.holders.delete(id);
  }

  private dropAllHolders(): void {
    for (const id of [...this.holders.keys()]) this.dropHolder(id);
  }

  /**
   * Milliseconds from now until Redis time reaches `redisNow + msLeft` (a reply said `msLeft`
   * were left at `redisNow`): from the fastest recent reply, not
   * from when this reply was read (a reply that waited behind a busy event loop would make the
   * close that late).
   */
  private untilRedis(redisNow: number, msLeft: number): number {
    const at = this.node.redisTime.localTimeOf(redisNow + msLeft);
    // No usable reply yet: from now, as Redis said.
    return Number.isFinite(at) ? at - performance.now() : msLeft;
  }

  private arm(window: number, ms: number): void {
    if (this.disposed) return;
    const at = performance.now() + Math.max(0, ms);
    // A timer already set for this window stays, unless this one is due sooner.
    if (this.timer !== undefined && this.timerWindow === window && ms > 0 && at >= this.timerAt - 1) return;
    clearTimeout(this.timer);
    this.timerWindow = window;
    this.timerAt = at;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.runClose(window);
    }, Math.max(0, Math.ceil(ms)));
  }

  private runClose(window: number): void {
    if (this.disposed || this.staged.size === 0) return;
    if (this.inFlight) {
      this.again = true;
      return;
    }
    this.inFlight = true;
    const sentAt = performance.now();
    this.node.targets.close(this.target, window, this.node.leaseMs, [...this.staged.keys()]).then(
      (r) => {
        this.inFlight = false;
        this.onClose(r, sentAt);
        if (this.again) {
          this.again = false;
          if (this.timer === undefined) this.runClose(this.timerWindow);
        }
      },
      (err: unknown) => {
        this.inFlight = false;
        this.fail(err);
      },
    );
  }

  private onClose(r: CloseResult, sentAt: number): void {
    if (this.disposed) return;
    this.node.redisTime.sample(sentAt, performance.now(), r.now);
    if (r.status === 'early') {
      this.arm(r.window, this.untilRedis(r.now, r.closesInMs));
      return;
    }
    this.noticeWindow(r.current.window);
    const byWindow = new Map<number, string[]>();
    const dropped: string[] = [];
    const lost: string[] = [];
    for (const s of r.ids) {
      if (!this.staged.has(s.id) || s.state === 'staged') continue;
      if (s.state === 'unknown' || s.outcome.kind === 'unknown') lost.push(s.id);
      else if (s.outcome.kind === 'dropped') dropped.push(s.id);
      else {
        const w = s.outcome.decision.window;
        byWindow.set(w, [...(byWindow.get(w) ?? []), s.id]);
      }
    }
    // A window that held a winner of this process decided none of its ids, but is news all the same.
    for (const [w, d] of r.decisions) {
      if (d.kind === 'hold' && d.winner !== undefined && this.staged.has(d.winner) && !byWindow.has(w)) byWindow.set(w, []);
    }
    for (const w of [...byWindow.keys()].sort((a, b) => a - b)) {
      const decision = r.decisions.get(w);
      const ids = byWindow.get(w)!;
      if (!decision) lost.push(...ids);
      else if (w > this.lastDelivered) this.deliver(decision, ids, sentAt, r.now);
      // Staged, yet decided in a window older than one already delivered: it cannot be told
      // apart from a lost candidate, and must not wait for ever.
      else lost.push(...ids);
    }
    this.none(dropped, r.current.window, 'its stage lease ran out before the window closed: this process did not renew it in time (paused or cut off from Redis)');
    this.none(lost, r.current.window, 'Redis no longer knows this candidate (restarted without persistence, flushed, or its decision was trimmed)');
    // Should Redis hold it after all, it must not win (or hold the target) for an operation that is gone.
    if (lost.length > 0) this.node.targets.withdraw(this.target, lost).catch(() => undefined);
    if (this.staged.size > 0 && r.current.open) this.arm(r.current.window, this.untilRedis(r.now, r.current.closesInMs));
  }

  /**
   * Windows are numbered per target by Redis. A number lower than one already seen means Redis
   * lost the target's keys (restarted without persistence, flushed, or they expired idle): the
   * numbers start again, and decisions of the new windows must not be taken for old ones.
   */
  private noticeWindow(window: number): void {
    if (window < this.lastWindow || window < this.lastDelivered) this.lastDelivered = 0;
    // Replies come in the order they were sent: the current window only moves on, or starts again.
    this.lastWindow = window;
  }

  private deliver(d: WindowDecision, ids: readonly string[], sentAt: number, redisNow: number): void {
    this.lastDelivered = d.window;
    for (const id of ids) this.forgetStaged(id);
    const message = toRedisDecision(this.target, d);
    if (!message) {
      this.none(ids, d.window, 'the window closed without deciding this candidate');
      return;
    }
    // Holders of this process that this window preempted: the decision tells their coordinator
    // (the channel message that follows finds nothing left to do).
    if (message.kind === 'start') for (const p of message.preempt) if (this.holders.get(p.holder.id)?.token === p.holder.token) this.dropHolder(p.holder.id);
    if (message.kind === 'start' && ids.includes(message.winner.id)) {
      // The lease may have been granted by another process's close, some time before ours ran:
      // count only what Redis says is left of it, from when our request left.
      const left = (d.leaseExpiresAt ?? redisNow) - redisNow;
      this.hold(message.winner.id, message.token, sentAt + left);
    }
    this.port.decided(message);
  }

  private forgetStaged(id: string): void {
    this.staged.delete(id);
    this.touched.delete(id);
  }

  private none(ids: readonly string[], window: number | undefined, reason: string): void {
    if (ids.length === 0) return;
    for (const id of ids) this.forgetStaged(id);
    this.port.decided({ kind: 'none', target: this.target, window, code: 'backend-unavailable', reason, ids });
  }

  /** @internal a preemption heard on this process's channel */
  onPreempt(m: PreemptMessage): void {
    if (this.holders.get(m.id)?.token !== m.token) return;
    this.dropHolder(m.id);
    this.port.preempt(m.id, preemptReasonOf(m.by, m.effectivePriority, m.ranMs));
  }

  /** @internal renews this channel's leases (called by the node every leaseMs / 3) */
  renew(): void {
    if (this.disposed) return;
    // Candidates staged or renewed less than a third of their stage lease ago need nothing yet:
    // most are decided within their first window.
    const now = performance.now();
    const stageLeaseMs = this.settings.stageLeaseMs;
    const due = now - stageLeaseMs / 3;
    const staged = [...this.staged.keys()].filter((id) => (this.touched.get(id) ?? 0) <= due);
    if (this.holders.size === 0 && staged.length === 0) return;
    for (const id of staged) this.touched.set(id, now);
    const held = [...this.holders];
    const holders = held.map(([id, h]) => ({ id, token: h.token }));
    const sentAt = performance.now();
    this.node.targets.renew(this.target, this.node.leaseMs, stageLeaseMs, holders, staged).then(
      (r) => {
        r.holders.forEach((state, i) => {
          const [id, h] = held[i]!;
          if (this.holders.get(id) !== h) return;
          if (state.state === 'ok') {
            this.extend(id, h, sentAt + this.node.leaseMs);
            return;
          }
          this.dropHolder(id);
          if (state.state === 'preempted') this.port.preempt(id, leaseLostReason(this.target, state));
          else this.leaseLost(id, leaseLostReason(this.target, state));
        });
        // A candidate decided without this process hearing it (its close reply was lost): ask again.
        if (r.candidates.some((c) => c.state !== 'staged' && this.staged.has(c.id))) this.runClose(this.lastWindow);
      },
      (err: unknown) => this.fail(err),
    );
  }

  private fail(err: unknown): void {
    if (this.disposed) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    const staged = [...this.staged.keys()];
    const held = [...this.holders].map(([id, h]) => ({ id, token: h.token }));
    this.staged.clear();
    this.touched.clear();
    this.dropAllHolders();
    if (staged.length === 0 && held.length === 0) return;
    // Best effort, should Redis have run (or run later) what timed out: nothing of this process
    // must win a window or hold the target for operations it has given up. Otherwise their stage
    // leases and leases run out on their own.
    if (staged.length > 0) this.node.targets.withdraw(this.target, staged).catch(() => undefined);
    for (const h of held) this.node.targets.release(this.target, h.token, h.id).catch(() => undefined);
    this.port.unavailable(err instanceof Error ? err : new Error(String(err)));
  }

  /** Withdraws this process's candidates and releases its leases (best effort), then forgets the target. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    clearTimeout(this.timer);
    this.node.forget(this);
    const work: Promise<unknown>[] = [];
    if (this.staged.size > 0) work.push(this.node.targets.withdraw(this.target, [...this.staged.keys()]));
    for (const [id, h] of this.holders) work.push(this.node.targets.release(this.target, h.token, id));
    this.staged.clear();
    this.touched.clear();
    this.dropAllHolders();
    await Promise.allSettled(work);
  }
}

function leaseLostReason(target: string, state: LeaseState): string {
  if (state.state === 'preempted') {
    const o = state.outcome;
    return preemptReasonOf(o.by, o.holder.effectivePriority, o.decision.closedAt - o.holder.startedAt);
  }
  if (state.state === 'expired') return `lost its lease on ${target}: it ran out before this process renewed it (paused or cut off from Redis)`;
  return `lost its lease on ${target}: it ran out and another operation took the target`;
}
