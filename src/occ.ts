import { backoffDelay, DEFAULT_RETRY } from './backoff.js';
import { ArbiterInputError, OccConflictError } from './errors.js';
import { copyData } from './store/data.js';
import type { Entity, EntityStore } from './store/types.js';
import type { ArbiterClock, RetryOptions } from './types.js';
import { expectBoolean, expectFiniteNumber, expectFunction, expectInteger, expectNonEmptyString, expectObject, kindOf } from './validate.js';

/**
 * Options of {@link occ}: the retry limit, the backoff between attempts (the arbiter's
 * `backoffDelay`), and how to wait.
 *
 * @example
 * ```ts
 * await occ(store, id, (d) => { d.n++; }, { maxRetries: 10, baseDelayMs: 1, clock });
 * ```
 */
export interface OccOptions extends Partial<RetryOptions> {
  /** Attempts after the first one. @default 5 */
  maxRetries?: number;
  /** Waits `ms` between attempts. @default a timer on `clock`, or `setTimeout` */
  sleep?: (ms: number) => Promise<void>;
  /** Timer source for the default `sleep` (a `SimulatedClock` in tests). */
  clock?: ArbiterClock;
  /** Randomness for jitter. @default Math.random */
  random?: () => number;
  /** Stops the loop (rejecting with the signal's reason) before the next read or commit. */
  signal?: AbortSignal;
  /** Told about every conflict, with the attempt it ended (1-based). */
  onConflict?: (err: OccConflictError, attempt: number) => void;
}

/**
 * What {@link occ} resolves with.
 *
 * @example
 * ```ts
 * const { entity, attempts } = await occ(store, id, (d) => { d.n++; });
 * ```
 */
export interface OccResult<TData> {
  /** The committed snapshot. */
  readonly entity: Entity<TData>;
  /** 1 when the first attempt committed, +1 per conflict. */
  readonly attempts: number;
}

function delay(ms: number, clock: ArbiterClock | undefined, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      if (clock) clock.clearTimeout(id);
      else clearTimeout(id as ReturnType<typeof setTimeout>);
      reject(signal!.reason);
    };
    const done = () => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    };
    const id: unknown = clock ? clock.setTimeout(done, ms) : setTimeout(done, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function validate(options: OccOptions): void {
  expectObject(options, 'retry');
  if (options.maxRetries !== undefined) expectInteger(options.maxRetries, 'retry.maxRetries', 0);
  if (options.baseDelayMs !== undefined) expectFiniteNumber(options.baseDelayMs, 'retry.baseDelayMs');
  if (options.factor !== undefined) expectFiniteNumber(options.factor, 'retry.factor', 1);
  if (options.maxDelayMs !== undefined) expectFiniteNumber(options.maxDelayMs, 'retry.maxDelayMs');
  if (options.jitter !== undefined) expectBoolean(options.jitter, 'retry.jitter');
  if (options.sleep !== undefined) expectFunction(options.sleep, 'retry.sleep');
  if (options.random !== undefined) expectFunction(options.random, 'retry.random');
  if (options.onConflict !== undefined) expectFunction(options.onConflict, 'retry.onConflict');
  if (options.clock !== undefined) {
    expectObject(options.clock, 'retry.clock');
    expectFunction(options.clock.setTimeout, 'retry.clock.setTimeout');
    expectFunction(options.clock.clearTimeout, 'retry.clock.clearTimeout');
  }
}

/**
 * The seeds' read-process-write loop. Reads a snapshot of entity `id`, calls `fn` with a private
 * mutable copy of its data (modify it, or return the next data; `fn` may be async), then commits
 * with `expectedVersion` set to the version it read. If another writer committed in between, it
 * backs off (`backoffDelay`), re-reads and calls `fn` again, up to `maxRetries` times, then
 * rejects with the last `OccConflictError`.
 *
 * Inside an operation's `execute`, that final `OccConflictError` is retryable: the operation goes
 * to `retrying` and comes back (still holding its target).
 *
 * An `OccConflictError` thrown by `fn` itself (say, from its own compare-and-set on another
 * entity) counts as a conflict too. Any other error thrown by `fn` rejects the returned promise at
 * once and commits nothing. Bad arguments throw `ArbiterInputError` synchronously.
 *
 * @example
 * ```ts
 * import { createStore, occ } from 'xstate-arbiter';
 * const store = createStore();
 * const counter = store.create({ n: 0 });
 * const { entity, attempts } = await occ(store, counter.id, async (d) => {
 *   d.n += await remoteIncrement();
 * }, { maxRetries: 10 });
 * ```
 * @see OccConflictError
 */
export function occ<TData = any>(
  store: EntityStore,
  id: string,
  fn: (draft: TData, snapshot: Entity<TData>) => TData | void | PromiseLike<TData | void>,
  retry: OccOptions = {},
): Promise<OccResult<TData>> {
  expectObject(store, 'store');
  expectFunction(store.get, 'store.get');
  expectFunction(store.update, 'store.update');
  expectNonEmptyString(id, 'id');
  expectFunction(fn, 'fn');
  validate(retry);
  // Unknown ids fail here, at the call site, not on the first read.
  if (store.get(id) === undefined) {
    throw new ArbiterInputError('id', `Expected \`id\` to be the id of an entity in the store, got ${kindOf(id)}`);
  }
  const maxRetries = retry.maxRetries ?? 5;
  const backoff: RetryOptions = {
    baseDelayMs: retry.baseDelayMs ?? DEFAULT_RETRY.baseDelayMs,
    factor: retry.factor ?? DEFAULT_RETRY.factor,
    maxDelayMs: retry.maxDelayMs ?? DEFAULT_RETRY.maxDelayMs,
    jitter: retry.jitter ?? DEFAULT_RETRY.jitter,
  };
  const { signal, onConflict, random, clock } = retry;
  const sleep = retry.sleep ?? ((ms: number) => delay(ms, clock, signal));

  return (async () => {
    for (let attempt = 1; ; attempt++) {
      signal?.throwIfAborted();
      const snapshot = store.get<TData>(id);
      if (snapshot === undefined) throw new Error(`entity ${id} was deleted during a read-process-write loop`);
      try {
        const draft = copyData(snapshot.data, 'data', false);
        const returned = await fn(draft, snapshot);
        signal?.throwIfAborted();
        const next = returned === undefined ? draft : returned;
        const entity = store.update<TData>(id, () => next, { expectedVersion: snapshot.version });
        return { entity, attempts: attempt };
      } catch (err) {
        if (!(err instanceof OccConflictError)) throw err;
        try {
          onConflict?.(err, attempt);
        } catch {
          // An observer's failure must not change the outcome of the write loop.
        }
        if (attempt > maxRetries) throw err;
        await sleep(backoffDelay(attempt - 1, backoff, random));
      }
    }
  })();
}
