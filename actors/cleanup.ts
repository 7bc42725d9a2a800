import { ArbiterInputError } from '../src/errors.js';
import { log, type Logger } from '../src/logger.js';
import type { CleanupOptions, CleanupStrategy } from '../src/observability.js';
import { expectDelay } from '../src/timers.js';
import { readOptions } from '../src/keys.js';
import { expectInteger, expectOneOf } from '../src/validate.js';


/**
 * The cleanup defaults: deferred, 30 minutes, at most 10,000 records.
 *
 * @example
 * ```ts
 * createArbiter({ cleanup: { ...DEFAULT_CLEANUP, retentionMs: 5_000 } });
 * ```
 */
export const DEFAULT_CLEANUP: Readonly<CleanupOptions> = Object.freeze({
  strategy: 'deferred',
  retentionMs: 30 * 60_000,
  maxAgeMs: 60 * 60_000,
  maxRetained: 10_000,
});

/**
 * Validates the `cleanup` option and fills in the defaults.
 * @internal
 */
export function resolveCleanupOptions(value: unknown): Readonly<CleanupOptions> {
  if (value === undefined) return DEFAULT_CLEANUP;
  const o = readOptions(value, ['strategy', 'retentionMs', 'maxAgeMs', 'maxRetained'] as const, 'cleanup');
  if (o.strategy !== undefined) expectOneOf(o.strategy, 'cleanup.strategy', ['immediate', 'deferred', 'lazy']);
  // Both become timer delays (the sweep is armed for the oldest record's expiry).
  if (o.retentionMs !== undefined) expectDelay(o.retentionMs, 'cleanup.retentionMs');
  if (o.maxAgeMs !== undefined) expectDelay(o.maxAgeMs, 'cleanup.maxAgeMs');
  if (o.maxRetained !== undefined) expectInteger(o.maxRetained, 'cleanup.maxRetained', 0);
  const strategy = (o.strategy as CleanupStrategy | undefined) ?? DEFAULT_CLEANUP.strategy;
  if (strategy === 'immediate' && (o.retentionMs !== undefined || o.maxAgeMs !== undefined)) {
    throw new ArbiterInputError(
      'cleanup.strategy',
      "Expected `cleanup.strategy` to be 'deferred' or 'lazy' when `retentionMs` or `maxAgeMs` is given, got 'immediate'",
    );
  }
  return Object.freeze({
    strategy,
    retentionMs: (o.retentionMs as number | undefined) ?? DEFAULT_CLEANUP.retentionMs,
    maxAgeMs: (o.maxAgeMs as number | undefined) ?? DEFAULT_CLEANUP.maxAgeMs,
    maxRetained: (o.maxRetained as number | undefined) ?? DEFAULT_CLEANUP.maxRetained,
  });
}

/** The fields cleanup looks at. */
export interface CleanupRecord {
  readonly id: string;
  readonly status: string;
  readonly won: boolean;
  readonly finishedAt: number | undefined;
}

/**
 * A zombie: an operation that won (so it may have a store record) and then ended rejected.
 *
 * @example
 * ```ts
 * isZombie({ id: 'a', status: 'rejected', won: true, finishedAt: 10 }); // true
 * ```
 */
export function isZombie(record: CleanupRecord): boolean {
  return record.won && record.status === 'rejected';
}

/** Why a record left the audit trail. */
export type DropReason = 'immediate' | 'expired' | 'evicted';

/** How a {@link FinalRecords} reaches its arbiter. */
export interface FinalRecordsHost<TSource extends CleanupRecord, TRecord extends CleanupRecord> {
  /** The arbiter's clock, in milliseconds. */
  now(): number;
  setTimer(fn: () => void, ms: number): unknown;
  clearTimer(handle: unknown): void;
  /** Builds the retained view of a final record (only called when the record is kept). */
  toRecord(source: TSource): TRecord;
  /**
   * Called for every zombie leaving the audit trail, e.g. to delete its store record. It may be
   * async; a throw or a rejection is counted in `failures` and logged, nothing else.
   */
  dropZombie?: ((record: TSource | TRecord, reason: DropReason) => unknown) | undefined;
  /**
   * Called for every other record (not a zombie) leaving the audit trail, in the same way: e.g. to
   * delete the store record of a completed operation from a record store the arbiter owns.
   */
  dropRecord?: ((record: TSource | TRecord, reason: DropReason) => unknown) | undefined;
  /** Told each failure (a drop that threw or rejected, or a sweep that threw), after it is counted. */
  onFailure?: ((err: unknown, record: TSource | TRecord | undefined) => void) | undefined;
  logger?: Logger | undefined;
}

/**
 * A first-in first-out queue over an array with a moving head: O(1) push and shift. (Iterating a
 * `Map` from its start after many deletions walks every deleted entry V8 keeps until it rehashes.)
 */
class Fifo<T> {
  private items: Array<T | undefined> = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    this.items.push(item);
  }

  peek(): T | undefined {
    return this.head < this.items.length ? this.items[this.head] : undefined;
  }

  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head];
    this.items[this.head++] = undefined;
    if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }
}

/**
 * The cleanup actor: the audit trail of final operation records behind `arbiter.operations`,
 * kept by one of the three strategies. Records arrive in the order they became final, so the
 * oldest is always first: expiry removes from the head, in O(1) per record, and `deferred` needs
 * only one timer (set for the head's expiry, re-armed after each sweep).
 *
 * @example
 * ```ts
 * const records = new FinalRecords(resolveCleanupOptions({ strategy: 'deferred', retentionMs: 1000 }), {
 *   now: () => clock.now(), setTimer: (f, ms) => clock.setTimeout(f, ms),
 *   clearTimer: (h) => clock.clearTimeout(h), toRecord: (r) => r,
 * });
 * records.add({ id: 'a', status: 'completed', won: true, finishedAt: clock.now() });
 * clock.increment(1000);
 * records.size; // 0
 * ```
 */
export class FinalRecords<TSource extends CleanupRecord, TRecord extends CleanupRecord> {
  private readonly records = new Map<string, TRecord>();
  /** Retained records in the order they became final; may hold records removed out of order. */
  private readonly order = new Fifo<TRecord>();
  private readonly zombies = new Set<TRecord>();
  private readonly zombieOrder = new Fifo<TRecord>();
  private timer: unknown;
  private timerArmed = false;
  private stopped = false;
  /** Records removed so far (zombies dropped at once by `immediate` included). */
  cleaned = 0;
  /** `dropZombie` / `dropRecord` calls that threw or rejected. */
  failures = 0;

  constructor(
    readonly options: Readonly<CleanupOptions>,
    private readonly host: FinalRecordsHost<TSource, TRecord>,
  ) {}

  /** Whether final records are kept at all (`false` for `immediate`). */
  get retains(): boolean {
    return this.options.strategy !== 'immediate' && this.options.maxRetained > 0;
  }

  /** Retained records. */
  get size(): number {
    return this.records.size;
  }

  /** Retained zombies (won, then rejected). */
  get zombieCount(): number {
    return this.zombies.size;
  }

  /** When the oldest retained zombie became final, or `undefined`. */
  oldestZombieAt(): number | undefined {
    let z = this.zombieOrder.peek();
    while (z !== undefined && !this.zombies.has(z)) {
      this.zombieOrder.shift();
      z = this.zombieOrder.peek();
    }
    return z?.finishedAt;
  }

  /** Takes a record that just became final. */
  add(source: TSource): void {
    if (!this.retains) {
      this.cleaned++;
      this.drop(source, 'immediate', isZombie(source));
      return;
    }
    const record = this.host.toRecord(source);
    this.records.set(record.id, record);
    this.order.push(record);
    if (isZombie(record)) {
      this.zombies.add(record);
      this.zombieOrder.push(record);
    }
    if (this.records.size > this.options.maxRetained) {
      const oldest = this.oldest();
      if (oldest !== undefined) this.remove(oldest, 'evicted');
    }
    if (this.options.strategy === 'deferred') this.arm();
  }

  /** A retained record; `lazy` removes and hides one older than `maxAgeMs`. */
  get(id: string): TRecord | undefined {
    const record = this.records.get(id);
    if (record === undefined) return undefined;
    if (this.options.strategy === 'lazy' && this.expired(record, this.host.now())) {
      this.remove(record, 'expired');
      return undefined;
    }
    return record;
  }

  /** Retained records; `lazy` first removes the expired ones this read meets. */
  values(): IterableIterator<TRecord> {
    if (this.options.strategy === 'lazy') this.sweep();
    return this.records.values();
  }

  /** Removes every expired record now (under `immediate`, there is none). Returns how many. */
  sweep(): number {
    const now = this.host.now();
    let removed = 0;
    for (let r = this.oldest(); r !== undefined && this.expired(r, now); r = this.oldest()) {
      this.remove(r, 'expired');
      removed++;
    }
    return removed;
  }

  /** Stops the deferred timer; records stay readable and no timer is set again. */
  stop(): void {
    this.stopped = true;
    if (this.timerArmed) {
      this.host.clearTimer(this.timer);
      this.timerArmed = false;
      this.timer = undefined;
    }
  }

  /** The oldest retained record, dropping queue entries of records already removed. */
  private oldest(): TRecord | undefined {
    let r = this.order.peek();
    while (r !== undefined && this.records.get(r.id) !== r) {
      this.order.shift();
      r = this.order.peek();
    }
    return r;
  }

  private expired(record: TRecord, now: number): boolean {
    const age = now - (record.finishedAt ?? now);
    return this.options.strategy === 'deferred' ? age >= this.options.retentionMs : this.options.strategy === 'lazy' && age > this.options.maxAgeMs;
  }

  private remove(record: TRecord, reason: DropReason): void {
    this.records.delete(record.id);
    if (this.order.peek() === record) this.order.shift();
    this.cleaned++;
    this.drop(record, reason, this.zombies.delete(record));
  }

  private drop(record: TSource | TRecord, reason: DropReason, zombie: boolean): void {
    const drop = zombie ? this.host.dropZombie : this.host.dropRecord;
    if (drop === undefined) return;
    try {
      const result = drop(record, reason);
      if (result !== null && typeof result === 'object' && typeof (result as PromiseLike<unknown>).then === 'function') {
        (result as PromiseLike<unknown>).then(undefined, (err: unknown) => this.failed(record, err));
      }
    } catch (err) {
      this.failed(record, err);
    }
  }

  private failed(record: TSource | TRecord | undefined, err: unknown): void {
    this.failures++;
    if (record) log(this.host.logger, 'error', { operationId: record.id, err }, 'arbiter cleanup failed to remove an operation record');
    else log(this.host.logger, 'error', { err }, 'arbiter cleanup sweep failed');
    try {
      this.host.onFailure?.(err, record);
    } catch {
      // A reporter that fails changes nothing here.
    }
  }

  // One timer for the whole trail, due when the oldest record expires.
  private arm(): void {
    if (this.timerArmed || this.stopped) return;
    const head = this.oldest();
    if (head === undefined) return;
    const due = Math.max(0, (head.finishedAt ?? this.host.now()) + this.options.retentionMs - this.host.now());
    this.timerArmed = true;
    this.timer = this.host.setTimer(() => {
      this.timerArmed = false;
      this.timer = undefined;
      try {
        this.sweep();
      } catch (err) {
        this.failed(undefined, err);
      }
      this.arm();
    }, due);
    // A pending cleanup must not keep a Node process alive on its own.
    (this.timer as { unref?: () => void } | undefined)?.unref?.();
  }
}
