import { SimulatedClock } from 'xstate';
import { createArbiter, extendLifecycle, type Arbiter, type ArbiterEvent, type ArbiterOptions } from '../../src/index.js';

/** Lets settled promises (promise actors, handle.result) run: one macrotask turn. */
export function flush(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Advances a simulated clock by `ms` and lets promise actors settle. */
export async function advance(clock: SimulatedClock, ms: number): Promise<void> {
  clock.increment(ms);
  await flush();
  await flush();
}

export interface Harness {
  clock: SimulatedClock;
  arbiter: Arbiter;
  events: ArbiterEvent[];
}

/** A deterministic arbiter on a SimulatedClock, recording every event. */
export function harness(options: ArbiterOptions = {}): Harness {
  const clock = new SimulatedClock();
  const arbiter = createArbiter({ clock, random: () => 0.5, ...options });
  const events: ArbiterEvent[] = [];
  arbiter.events$.subscribe((e) => events.push(e));
  return { clock, arbiter, events };
}

/** The settled outcome of a handle: its value, or its rejection code. */
export async function outcome<T>(result: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; code: string; reason: string }> {
  try {
    return { ok: true, value: await result };
  } catch (err) {
    const e = err as { code: string; reason: string };
    return { ok: false, code: e.code, reason: e.reason };
  }
}

/** A promise with its resolve/reject exposed. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: unknown) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Asserts the accounting invariant and returns the metrics. */
export function accounted(arbiter: Arbiter): boolean {
  const m = arbiter.metrics();
  return m.submitted === m.completed + m.rejected + m.inFlight;
}

/** The README's approval step: winners wait in `approval` until `approve`, or end `denied` on `deny`. */
export const approval = extendLifecycle({
  afterWin: {
    approval: {
      on: {
        approve: 'next',
        deny: { target: 'rejected', code: 'denied', reason: 'denied by a reviewer' },
      },
    },
  },
});

/** How a scripted operation of the property tests behaves when it runs. */
export type Behaviour = 'ok' | 'retryable' | 'fail' | 'hang';

/**
 * A scripted `execute` and `retryable` pair: `ok` returns at once, `fail` and `retryable` throw
 * (only `retryable` is retried), `hang` waits for `gate` or fails when the operation is aborted.
 */
export function scripted(behaviour: Behaviour, gate: { promise: Promise<string>; reject: (e: unknown) => void }) {
  return {
    retryable: () => behaviour === 'retryable',
    execute: async ({ signal }: { signal: AbortSignal }): Promise<string> => {
      if (behaviour === 'ok') return 'ok';
      if (behaviour === 'hang') {
        signal.addEventListener('abort', () => gate.reject(new Error('aborted')));
        return gate.promise;
      }
      throw new Error(behaviour);
    },
  };
}
