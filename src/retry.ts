import { OperationRejectedError } from './errors.js';
import { log, type Logger } from './logger.js';
import type { OperationHandle, OperationSpec, RejectionCode } from './types.js';
import { expectDelay } from './timers.js';
import { readOptions, suggest } from './keys.js';
import { expectBoolean, expectFiniteNumber, expectInteger, kindOf } from './validate.js';
import { ArbiterInputError } from './errors.js';

/**
 * Options of `arbiter.submitWithRetry`. The delay before attempt n+1 is
 * `min(maxDelayMs, baseDelayMs · factor^(n−1))` on the arbiter's clock, as the Python design's
 * `submit_operation_with_retry` (`2 ** attempt` seconds).
 *
 * @example
 * ```ts
 * await arbiter.submitWithRetry(spec, { attempts: 5, baseDelayMs: 50 });
 * ```
 */
export interface SubmitRetryOptions {
  /** Submissions in all, the first included. @default 3 */
  attempts: number;
  /** Delay before the second attempt. @default 1000 (1 s, doubling) */
  baseDelayMs: number;
  /** @default 2 */
  factor: number;
  /** @default 30_000 */
  maxDelayMs: number;
  /** Draw each delay uniformly from its upper half (with the arbiter's `random`). @default false */
  jitter: boolean;
  /**
   * Rejection codes worth resubmitting: built-in ones, or your lifecycle's (an unknown code is an
   * input error). Add `'lost-arbitration'` to retry the operations that lose a window.
   * @default ['staging-full', 'circuit-open']
   */
  retryOn: readonly (RejectionCode | (string & {}))[];
  /** Called before each resubmission with the attempt about to run and the delay waited. */
  onRetry?: ((info: { attempt: number; delayMs: number; error: OperationRejectedError }) => void) | undefined;
}

const DEFAULT_SUBMIT_RETRY: Readonly<SubmitRetryOptions> = Object.freeze({
  attempts: 3,
  baseDelayMs: 1000,
  factor: 2,
  maxDelayMs: 30_000,
  jitter: false,
  retryOn: Object.freeze(['staging-full', 'circuit-open'] as RejectionCode[]),
});

function resolveSubmitRetryOptions(value: unknown, knownCodes: readonly string[]): Readonly<SubmitRetryOptions> {
  if (value === undefined) return DEFAULT_SUBMIT_RETRY;
  const o = readOptions(value, ['attempts', 'baseDelayMs', 'factor', 'maxDelayMs', 'jitter', 'retryOn', 'onRetry'] as const);
  if (o.attempts !== undefined) expectInteger(o.attempts, 'attempts', 1);
  // Each wait is a timer on the arbiter's clock: bounded by the longest delay a timer can have.
  if (o.baseDelayMs !== undefined) expectDelay(o.baseDelayMs, 'baseDelayMs');
  if (o.factor !== undefined) expectFiniteNumber(o.factor, 'factor', 1);
  if (o.maxDelayMs !== undefined) expectDelay(o.maxDelayMs, 'maxDelayMs');
  if (o.jitter !== undefined) expectBoolean(o.jitter, 'jitter');
  if (o.onRetry !== undefined && typeof o.onRetry !== 'function') {
    throw new ArbiterInputError('onRetry', `Expected \`onRetry\` to be a function, got ${typeof o.onRetry}`);
  }
  let retryOn: readonly string[] = DEFAULT_SUBMIT_RETRY.retryOn;
  if (o.retryOn !== undefined) {
    // Copied first, then checked and used: the caller's array is read once.
    const codes: unknown = Array.isArray(o.retryOn) ? [...(o.retryOn as unknown[])] : o.retryOn;
    if (!Array.isArray(codes)) {
      throw new ArbiterInputError('retryOn', `Expected \`retryOn\` to be an array of rejection codes, got ${kindOf(codes)}`);
    }
    for (const code of codes) {
      if (typeof code === 'string' && knownCodes.includes(code)) continue;
      const hint = typeof code === 'string' ? suggest(code, knownCodes) : undefined;
      throw new ArbiterInputError(
        'retryOn',
        `Expected \`retryOn\` to hold rejection codes of this arbiter, got ${kindOf(code)}${hint ? ` (did you mean \`${hint}\`?)` : ''}; known codes: ${knownCodes.join(', ')}`,
      );
    }
    retryOn = codes as string[];
  }
  return Object.freeze({
    attempts: (o.attempts as number | undefined) ?? DEFAULT_SUBMIT_RETRY.attempts,
    baseDelayMs: (o.baseDelayMs as number | undefined) ?? DEFAULT_SUBMIT_RETRY.baseDelayMs,
    factor: (o.factor as number | undefined) ?? DEFAULT_SUBMIT_RETRY.factor,
    maxDelayMs: (o.maxDelayMs as number | undefined) ?? DEFAULT_SUBMIT_RETRY.maxDelayMs,
    jitter: (o.jitter as boolean | undefined) ?? DEFAULT_SUBMIT_RETRY.jitter,
    retryOn: Object.freeze([...retryOn]),
    onRetry: o.onRetry as SubmitRetryOptions['onRetry'],
  });
}

/** What {@link SubmitRetrier} needs from its arbiter. @internal */
export interface SubmitRetryHost {
  submit<TResult, TData>(spec: OperationSpec<TResult, TData>): OperationHandle<TResult>;
  setTimer(fn: () => void, ms: number): unknown;
  clearTimer(handle: unknown): void;
  random(): number;
  logger?: Logger | undefined;
  /** The rejection codes `retryOn` may name (built-in and the lifecycle's). */
  readonly codes: readonly string[];
}

/**
 * Resubmission with backoff for one arbiter: the engine behind `arbiter.submitWithRetry`. Its
 * waits run on the arbiter's clock (so `SimulatedClock` drives them in tests) and end at once
 * when the arbiter stops; the next submission is then rejected `shutdown`.
 *
 * Attempts after the first get a fresh id: `${spec.id}#2`, `#3`… when `spec.id` is given (the
 * earlier attempt may still be in the audit trail), a new uuid otherwise.
 *
 * @example
 * ```ts
 * const retrier = new SubmitRetrier(host);
 * const value = await retrier.run({ target: 'a', execute }, { attempts: 4, baseDelayMs: 20 });
 * ```
 */
export class SubmitRetrier {
  private readonly waits = new Map<unknown, () => void>();
  private stopped = false;

  constructor(private readonly host: SubmitRetryHost) {}

  /**
   * Validates synchronously (throws `ArbiterInputError`, submits nothing), then submits and
   * resubmits until the result is not a retryable rejection or the attempts are spent. Resolves
   * with the operation's value, rejects with the last `OperationRejectedError`.
   */
  run<TResult, TData>(spec: OperationSpec<TResult, TData>, options?: Partial<SubmitRetryOptions>): Promise<TResult> {
    const o = resolveSubmitRetryOptions(options, this.host.codes);
    const first = this.host.submit(spec);
    return this.loop(spec, o, first);
  }

  /** Ends every pending wait (the arbiter is stopping). */
  stop(): void {
    this.stopped = true;
    const waits = [...this.waits];
    this.waits.clear();
    for (const [handle, resolve] of waits) {
      this.host.clearTimer(handle);
      resolve();
    }
  }

  private async loop<TResult, TData>(
    spec: OperationSpec<TResult, TData>,
    o: Readonly<SubmitRetryOptions>,
    first: OperationHandle<TResult>,
  ): Promise<TResult> {
    let handle = first;
    for (let attempt = 1; ; attempt++) {
      try {
        return await handle.result;
      } catch (err) {
        const retryable = err instanceof OperationRejectedError && o.retryOn.includes(err.code);
        if (!retryable || attempt >= o.attempts || this.stopped) throw err;
        const nominal = Math.min(o.maxDelayMs, o.baseDelayMs * Math.pow(o.factor, attempt - 1));
        const delayMs = o.jitter ? nominal / 2 + (nominal / 2) * Math.min(Math.max(this.host.random(), 0), 1) : nominal;
        log(this.host.logger, 'debug', { target: spec.target, attempt: attempt + 1, delayMs, code: err.code }, 'arbiter resubmitting');
        try {
          o.onRetry?.({ attempt: attempt + 1, delayMs, error: err });
        } catch {
          // An observer callback; its failure must not change the retry.
        }
        await this.wait(delayMs);
        handle = this.host.submit({ ...spec, id: spec.id === undefined ? undefined : `${spec.id}#${attempt + 1}` } as OperationSpec<TResult, TData>);
      }
    }
  }

  private wait(ms: number): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const handle = this.host.setTimer(() => {
        this.waits.delete(handle);
        resolve();
      }, ms);
      this.waits.set(handle, resolve);
    });
  }
}
