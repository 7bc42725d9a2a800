import { backoffDelay, DEFAULT_RETRY } from './backoff.js';
import { ArbiterInputError, OccConflictError } from './errors.js';
import { optionKeys, readOptions } from './keys.js';
import { copyData } from './store/data.js';
import type { Entity, EntityStore } from './store/types.js';
import { MAX_TIMER_DELAY_MS } from './timers.js';
import type { ArbiterClock, RetryOptions } from './types.js';
import { expectBoolean, expectFiniteNumber, expectFunction, expectInteger, expectNonEmptyString, expectObject, kindOf } from './validate.js';

/**
 * Options of {@link occ}: how many times to retry, the backoff between attempts (the same
 * `retry` object as `createArbiter({ retry })`), how to wait, and how to stop.
 *
 * @example
 * ```ts
 * await occ(store, id, (d) => { d.n++; }, { maxRetries: 10, retry: { baseDelayMs: 1 }, clock, signal });
 * ```
 */
export interface OccOptions {
  /** Attempts after the first one. @default 5 */
  maxRetries?: number;
  /**
   * The backoff between attempts, as in `createArbiter({ retry })` (you can pass
   * `arbiter.options.retry`). @default { baseDelayMs: 10, factor: 2, maxDelayMs: 1000, jitter: true }
   */
  retry?: Partial<RetryOptions>;
  /** Waits `ms` between attempts. @default a timer on `clock`, or `setTimeout` */
  sleep?: (ms: number) => Promise<void>;
  /** Timer source for the default `sleep` (a `SimulatedClock` in tests). */
  clock?: ArbiterClock;
  /** Randomness for jitter. @default Math.random */
  random?: () => number;
  /**
   * Stops the loop at once, rejecting with the signal's reason: before a read, during `fn` (its
   * result is then discarded), during a wait; never after the commit.
   */
  signal?: AbortSignal;
  /** Told about every conflict, with the attempt it ended (1-based). */
  onConflict?: (err: OccConflictError, attempt: number) => void;
  /** @deprecated Since 0.2; removed in 0.3. Use `retry: { baseDelayMs }`. */
  baseDelayMs?: number;
  /** @deprecated Since 0.2; removed in 0.3. Use `retry: { factor }`. */
  factor?: number;
  /** @deprecated Since 0.2; removed in 0.3. Use `retry: { maxDelayMs }`. */
  maxDelayMs?: number;
  /** @deprecated Since 0.2; removed in 0.3. Use `retry: { jitter }`. */
  jitter?: boolean;
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


const OCC_OPTION_KEYS = optionKeys<OccOptions>({
  maxRetries: true,
  retry: true,
  sleep: true,
  clock: true,
  random: true,
  signal: true,
  onConflict: true,
  baseDelayMs: true,
  factor: true,
  maxDelayMs: true,
  jitter: true,
});
const RETRY_KEYS = optionKeys<RetryOptions>({ baseDelayMs: true, factor: true, maxDelayMs: true, jitter: true });

/**
 * Validates backoff options (`createArbiter({ retry })`'s shape) read from `source` under `path`
 * and fills in the defaults. Delays are finite, ≥ 0 and at most {@link MAX_TIMER_DELAY_MS}.
 */
export function resolveBackoff(source: { readonly [K in keyof RetryOptions]?: unknown }, path: string, defaults: Readonly<RetryOptions> = DEFAULT_RETRY): RetryOptions {
  const field = (k: string) => (path ? `${path}.${k}` : k);
  const { baseDelayMs, factor, maxDelayMs, jitter } = source;
  for (const [k, v] of [['baseDelayMs', baseDelayMs], ['maxDelayMs', maxDelayMs]] as const) {
    if (v === undefined) continue;
    expectFiniteNumber(v, field(k));
    if (v > MAX_TIMER_DELAY_MS) {
      throw new ArbiterInputError(field(k), `Expected \`${field(k)}\` to be at most ${MAX_TIMER_DELAY_MS} (the timer limit, about 24.8 days), got ${kindOf(v)}`);
    }
  }
  if (factor !== undefined) expectFiniteNumber(factor, field('factor'), 1);
  if (jitter !== undefined) expectBoolean(jitter, field('jitter'));
  return {
    baseDelayMs: (baseDelayMs as number | undefined) ?? defaults.baseDelayMs,
    factor: (factor as number | undefined) ?? defaults.factor,
    maxDelayMs: (maxDelayMs as number | undefined) ?? defaults.maxDelayMs,
    jitter: (jitter as boolean | undefined) ?? defaults.jitter,
  };
}

/**
 * Validates a clock and binds its timer methods once, so a clock whose properties change later
 * cannot change how the caller waits.
 */
export function bindClock(clock: unknown, field: string): Pick<ArbiterClock, 'setTimeout' | 'clearTimeout'> {
  expectObject(clock, field);
  const set = clock['setTimeout'];
  const clear = clock['clearTimeout'];
  expectFunction(set, `${field}.setTimeout`);
  expectFunction(clear, `${field}.clearTimeout`);
  return {
    setTimeout: (fn, ms) => set.call(clock, fn, ms),
    clearTimeout: (id) => void clear.call(clock, id),
  };
}

function delay(ms: number, clock: Pick<ArbiterClock, 'setTimeout' | 'clearTimeout'> | undefined, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
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

/** Validates an `AbortSignal` by shape (a signal of another realm or a polyfill is fine). */
export function expectSignal(value: unknown, field: string): asserts value is AbortSignal {
  const v = value as { aborted?: unknown; addEventListener?: unknown; removeEventListener?: unknown } | null;
  if (typeof v !== 'object' || v === null || typeof v.aborted !== 'boolean' || typeof v.addEventListener !== 'function' || typeof v.removeEventListener !== 'function') {
    throw new ArbiterInputError(field, `Expected \`${field}\` to be an AbortSignal, got ${kindOf(value)}`);
  }
}

// Settles with `promise`, or rejects with the signal's reason as soon as it aborts.
function abortable<T>(promise: T | PromiseLike<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return Promise.resolve(promise);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    Promise.resolve(promise).then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}

/**
 * The read-process-write loop. Reads a snapshot of entity `id`, calls `fn` with a private
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
 * once and commits nothing. Bad arguments throw `ArbiterInputError` synchronously, `options`
 * included: it is read once (see {@link OccOptions}); an unknown key is refused with a
 * suggestion. The backoff is `options.retry`, the same shape as `createArbiter({ retry })`; the
 * flat `baseDelayMs`/`factor`/`maxDelayMs`/`jitter` of 0.1 still work (deprecated, removed in 0.3).
 *
 * @example
 * ```ts
 * import { createStore, occ } from 'xstate-arbiter';
 * const store = createStore();
 * const counter = store.create({ n: 0 });
 * const { entity, attempts } = await occ<{ n: number }>(store, counter.id, async (d) => {
 *   d.n += await remoteIncrement();
 * }, { maxRetries: 10, retry: { baseDelayMs: 5 } });
 * ```
 * @see OccConflictError
 */
export function occ<TData = unknown>(
  store: EntityStore,
  id: string,
  fn: (draft: TData, snapshot: Entity<TData>) => TData | void | PromiseLike<TData | void>,
  options: OccOptions = {},
): Promise<OccResult<TData>> {
  expectObject(store, 'store');
  expectFunction(store.get, 'store.get');
  expectFunction(store.update, 'store.update');
  expectNonEmptyString(id, 'id');
  expectFunction(fn, 'fn');
  const o = readOptions(options, OCC_OPTION_KEYS);
  if (o.maxRetries !== undefined) expectInteger(o.maxRetries, 'maxRetries', 0);
  for (const key of ['sleep', 'random', 'onConflict'] as const) if (o[key] !== undefined) expectFunction(o[key], key);
  if (o.signal !== undefined) expectSignal(o.signal, 'signal');
  const clock = o.clock !== undefined ? bindClock(o.clock, 'clock') : undefined;
  const flat = RETRY_KEYS.filter((k) => o[k] !== undefined);
  if (flat.length > 0 && o.retry !== undefined) {
    throw new ArbiterInputError(flat[0]!, `Expected either \`retry.${flat[0]}\` or the deprecated \`${flat[0]}\`, not both \`retry\` and top-level backoff options`);
  }
  const backoff = o.retry !== undefined ? resolveBackoff(readOptions(o.retry, RETRY_KEYS, 'retry'), 'retry') : resolveBackoff(o, '');
  // Unknown ids fail here, at the call site, not on the first read.
  if (store.get(id) === undefined) {
    throw new ArbiterInputError('id', `Expected \`id\` to be the id of an entity in the store, got ${kindOf(id)}`);
  }
  const maxRetries = (o.maxRetries as number | undefined) ?? 5;
  const signal = o.signal as AbortSignal | undefined;
  const onConflict = o.onConflict as OccOptions['onConflict'];
  const random = o.random as (() => number) | undefined;
  const userSleep = o.sleep as OccOptions['sleep'];
  // A sleep of the caller's may never settle: the signal still ends the wait.
  const sleep = userSleep ? (ms: number) => abortable(userSleep(ms), signal) : (ms: number) => delay(ms, clock, signal);
  const stopIfAborted = () => {
    if (signal?.aborted) throw signal.reason;
  };

  return (async () => {
    for (let attempt = 1; ; attempt++) {
      stopIfAborted();
      const snapshot = store.get<TData>(id);
      if (snapshot === undefined) throw new Error(`entity ${id} was deleted during a read-process-write loop`);
      try {
        const draft = copyData(snapshot.data, 'data', false);
        const returned = await abortable(fn(draft, snapshot), signal);
        stopIfAborted();
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
