import { ArbiterInputError } from './errors.js';
import type { ArbiterClock } from './types.js';
import { kindOf } from './validate.js';

/**
 * The longest delay a timer can have: 2³¹ − 1 ms (about 24.8 days). Node and browsers turn any
 * longer `setTimeout` delay into 1 ms, so the arbiter refuses longer delays in every option that
 * becomes a timer, whatever the clock.
 *
 * @example
 * ```ts
 * createArbiter({ windowMs: MAX_TIMER_DELAY_MS + 1 }); // throws ArbiterInputError (windowMs)
 * ```
 */
export const MAX_TIMER_DELAY_MS = 2_147_483_647;

/**
 * Throws `ArbiterInputError` naming `field` unless `value` is a finite number of milliseconds
 * in `[min, MAX_TIMER_DELAY_MS]`.
 *
 * @example
 * ```ts
 * expectDelay(options.windowMs, 'windowMs');
 * ```
 */
export function expectDelay(value: unknown, field: string, min = 0): asserts value is number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > MAX_TIMER_DELAY_MS) {
    throw new ArbiterInputError(
      field,
      `Expected \`${field}\` to be a delay in milliseconds from ${min} to ${MAX_TIMER_DELAY_MS} (the longest a timer can wait), got ${kindOf(value)}`,
    );
  }
}

/**
 * The arbiter's time: monotonic milliseconds and timers, from an injected clock (XState's
 * `SimulatedClock` in tests) or the platform.
 */
export interface Timers {
  now(): number;
  set(fn: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

/** Builds the {@link Timers} of one arbiter. A delay past the limit is a bug here, not input. */
export function createTimers(clock: ArbiterClock | undefined): Timers {
  if (clock) {
    const now = typeof clock.now === 'function' ? () => clock.now!() : () => globalThis.performance.now();
    return {
      now,
      set: (fn, ms) => clock.setTimeout(fn, checked(ms)),
      clear: (handle) => clock.clearTimeout(handle),
    };
  }
  return {
    now: () => globalThis.performance.now(),
    set: (fn, ms) => setTimeout(fn, checked(ms)),
    clear: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
  };
}

function checked(ms: number): number {
  if (!(ms <= MAX_TIMER_DELAY_MS)) throw new RangeError(`timer delay ${ms} ms is past ${MAX_TIMER_DELAY_MS} ms`);
  return ms;
}
