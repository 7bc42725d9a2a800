/**
 * The logging interface the arbiter accepts: a subset of pino's, so a pino (or bunyan-like)
 * logger can be passed as is. Each method takes a structured object first and an optional
 * message. The arbiter logs nothing unless you give it one.
 *
 * What is logged: circuit breaker transitions (`warn` when it opens, `info` when it closes),
 * cleanup and metrics failures (`error`), zombie store records removed (`debug`) and
 * `submitWithRetry` resubmissions (`debug`).
 *
 * @example
 * ```ts
 * import pino from 'pino';
 * const arbiter = createArbiter({ logger: pino({ level: 'info' }) });
 *
 * // or anything with the same shape:
 * const arbiter2 = createArbiter({
 *   logger: { debug() {}, info: console.info, warn: console.warn, error: console.error },
 * });
 * ```
 */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/**
 * A logger level name.
 *
 * @example
 * ```ts
 * const level: LogLevel = 'warn';
 * ```
 */
export type LogLevel = keyof Logger;

/**
 * Calls `logger[level](obj, msg)` if there is a logger; a logger that throws is ignored, so
 * logging can never change what the arbiter does.
 *
 * @internal
 */
export function log(logger: Logger | undefined, level: LogLevel, obj: object, msg: string): void {
  if (logger === undefined) return;
  try {
    logger[level](obj, msg);
  } catch {
    // A broken logger must not break the arbiter; there is nowhere else to report it.
  }
}

/** Whether `value` has the four logger methods. @internal */
export function isLogger(value: unknown): value is Logger {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v['debug'] === 'function' &&
    typeof v['info'] === 'function' &&
    typeof v['warn'] === 'function' &&
    typeof v['error'] === 'function'
  );
}
