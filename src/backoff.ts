import type { RetryOptions } from './types.js';

/**
 * The backoff defaults of the design (docs/design.md, rule 6).
 *
 * @example
 * ```ts
 * const retry = { ...DEFAULT_RETRY, baseDelayMs: 5 };
 * ```
 */
export const DEFAULT_RETRY: Readonly<RetryOptions> = Object.freeze({
  baseDelayMs: 10,
  factor: 2,
  maxDelayMs: 1000,
  jitter: true,
});

/**
 * Delay before retry number `retry` (0 for the first retry):
 * `min(maxDelayMs, baseDelayMs · factor^retry)`; with jitter, uniformly drawn from the upper half
 * of that ("equal jitter", so a retry never comes back sooner than half the nominal delay).
 *
 * @example
 * ```ts
 * backoffDelay(0, { baseDelayMs: 10, factor: 2, maxDelayMs: 1000, jitter: false }); // 10
 * backoffDelay(3, { baseDelayMs: 10, factor: 2, maxDelayMs: 1000, jitter: false }); // 80
 * ```
 */
export function backoffDelay(retry: number, options: RetryOptions, random: () => number = Math.random): number {
  const nominal = Math.min(options.maxDelayMs, options.baseDelayMs * Math.pow(options.factor, Math.max(0, retry)));
  if (!options.jitter) return nominal;
  const r = random();
  const unit = Number.isFinite(r) ? Math.min(Math.max(r, 0), 1) : 0.5;
  return nominal / 2 + (nominal / 2) * unit;
}
