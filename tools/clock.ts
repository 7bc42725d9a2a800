/**
 * The time a load run lives on: the real one, or a simulated clock that the run itself moves
 * forward one millisecond at a time. On the simulated clock a run with a given seed makes the same
 * decisions on every machine, however loaded (every window, grace period, backoff and `--work`
 * pause is measured on it), and takes only the CPU time it needs.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { SimulatedClock } from 'xstate';

/** Which clock a run uses. */
export type ClockKind = 'real' | 'simulated';

/** The clock of one run. */
export interface RunClock {
  readonly kind: ClockKind;
  /** Milliseconds (monotonic). */
  now(): number;
  /** Resolves after `ms`, or at once when `signal` aborts. */
  wait(ms: number, signal?: AbortSignal): Promise<void>;
  /** Lets a little time pass: a 1 ms timer, or the simulated clock moved by 1 ms. */
  tick(): Promise<void>;
  /** What `createArbiter({ clock })` gets (`undefined`: its own real clock). */
  readonly arbiterClock: SimulatedClock | undefined;
}

/** Two macrotask turns: settled promises (execute actors, handles) run before time moves on. */
async function settle(): Promise<void> {
  await new Promise<void>((resolve) => setImmediate(resolve));
  await new Promise<void>((resolve) => setImmediate(resolve));
}

/**
 * A run's clock.
 *
 * @example
 * ```ts
 * const clock = runClock('simulated');
 * const arbiter = createArbiter({ clock: clock.arbiterClock });
 * await clock.tick(); // 1 ms later, on the arbiter's clock too
 * ```
 */
export function runClock(kind: ClockKind): RunClock {
  if (kind === 'real') {
    return {
      kind,
      now: () => performance.now(),
      wait: (ms, signal) => sleep(ms, undefined, signal ? { signal } : undefined).catch(() => undefined),
      tick: () => new Promise((resolve) => setTimeout(resolve, 1)),
      arbiterClock: undefined,
    };
  }
  const clock = new SimulatedClock();
  return {
    kind,
    now: () => clock.now(),
    wait: (ms, signal) =>
      new Promise<void>((resolve) => {
        if (signal?.aborted) return resolve();
        const id = clock.setTimeout(() => {
          signal?.removeEventListener('abort', aborted);
          resolve();
        }, ms);
        const aborted = () => {
          clock.clearTimeout(id);
          resolve();
        };
        signal?.addEventListener('abort', aborted, { once: true });
      }),
    async tick() {
      clock.increment(1);
      await settle();
    },
    arbiterClock: clock,
  };
}
