type HrTime = { bigint(): bigint };

/**
 * Monotonic nanoseconds: `process.hrtime.bigint()` in Node, `performance.now()` (scaled, from
 * `performance.timeOrigin`) where `process` is missing, as in browsers.
 *
 * @example
 * ```ts
 * const t0 = monotonicNanos();
 * work();
 * const elapsedNs = monotonicNanos() - t0;
 * ```
 */
export const monotonicNanos: () => bigint = (() => {
  const hrtime = (globalThis as { process?: { hrtime?: HrTime } }).process?.hrtime;
  if (hrtime && typeof hrtime.bigint === 'function') return () => hrtime.bigint();
  const perf = globalThis.performance;
  const origin = perf.timeOrigin ?? 0;
  return () => BigInt(Math.round((origin + perf.now()) * 1e6));
})();
