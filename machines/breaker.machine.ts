import { assign, setup, type ActorRefFrom, type SnapshotFrom } from 'xstate';
import type { ArbiterEvent } from '../src/events.js';
import type { BreakerOptions } from '../src/observability.js';
import type { RejectionCode } from '../src/types.js';


/**
 * The breaker defaults: open past 10 % failed executions over a 10 s rolling window.
 *
 * @example
 * ```ts
 * createArbiter({ breaker: { ...DEFAULT_BREAKER, openMs: 1_000 } });
 * ```
 */
export const DEFAULT_BREAKER: Readonly<BreakerOptions> = Object.freeze({
  failureRateThreshold: 0.1,
  rollingWindowMs: 10_000,
  minimumExecutions: 10,
  openMs: 5_000,
  halfOpenProbes: 1,
});

const BUCKETS = 10;

/** One bucket of the rolling window: its index (`floor(at / bucketMs)`) and its counts. */
export interface BreakerBucket {
  readonly index: number;
  readonly succeeded: number;
  readonly failed: number;
}

/**
 * The breaker machine's context. Buckets are replaced, never mutated (graph traversal relies on it).
 *
 * @example
 * ```ts
 * const { executions, failures } = breakerActor.getSnapshot().context;
 * ```
 */
export interface BreakerContext {
  readonly options: Readonly<BreakerOptions>;
  readonly buckets: readonly BreakerBucket[];
  /** Executions and failures in the window as of the last outcome. */
  readonly executions: number;
  readonly failures: number;
  /** Probes admitted and not yet finished (half-open only). */
  readonly probes: number;
  /** Times it opened. */
  readonly trips: number;
  /** Clock time of the last outcome that was recorded. */
  readonly lastAt: number;
}

/**
 * Events of the breaker machine. `execution.*` carry the clock time of the outcome; the
 * `probe.*` events concern submissions let through while half-open; `breaker.trip` and
 * `breaker.reset` force it open or closed.
 *
 * @example
 * ```ts
 * breakerActor.send({ type: 'execution.failed', at: clock.now() });
 * ```
 */
export type BreakerEvent =
  | { type: 'execution.succeeded'; at: number }
  | { type: 'execution.failed'; at: number }
  | { type: 'probe.admitted' }
  | { type: 'probe.succeeded' }
  | { type: 'probe.failed' }
  | { type: 'probe.released' }
  | { type: 'breaker.trip' }
  | { type: 'breaker.reset' };

/**
 * What the breaker machine is started with.
 *
 * @example
 * ```ts
 * createActor(breakerMachine, { input: { options: { openMs: 1000 } } });
 * ```
 */
export interface BreakerInput {
  options?: Partial<BreakerOptions>;
}

/**
 * The top-level state names of the breaker.
 *
 * @example
 * ```ts
 * const state: BreakerState = arbiter.breaker?.state ?? 'closed';
 * ```
 */
export type BreakerState = 'closed' | 'open' | 'halfOpen';

/** Rejection codes that count as a failed execution when the operation had won. */
const EXECUTION_FAILURES: ReadonlySet<RejectionCode> = new Set<RejectionCode>(['execution-failed', 'retries-exhausted', 'timeout']);

/**
 * How an arbiter event ends an execution: `'success'` for a completion, `'failure'` for an
 * operation that had won and then ended `execution-failed`, `retries-exhausted` or `timeout`,
 * and `undefined` for everything else (losers, cancellations, preemptions, shutdown).
 *
 * @example
 * ```ts
 * arbiter.events$.subscribe((e) => {
 *   if (executionOutcome(e) === 'failure') alert(e.target);
 * });
 * ```
 */
export function executionOutcome(event: ArbiterEvent): 'success' | 'failure' | undefined {
  if (event.type === 'operation.completed') return 'success';
  if (event.type === 'operation.rejected' && event.won && EXECUTION_FAILURES.has(event.code as RejectionCode)) {
    // A business outcome (see ExpectedError and `isFailure`): the system answered.
    return event.expected === true ? 'success' : 'failure';
  }
  return undefined;
}

/**
 * Adds one outcome at `at` to the rolling window: drops buckets older than the window, returns
 * new buckets and the totals. Pure.
 */
function recordOutcome(
  context: BreakerContext,
  at: number,
  failed: boolean,
): Pick<BreakerContext, 'buckets' | 'executions' | 'failures' | 'lastAt'> {
  const bucketMs = context.options.rollingWindowMs / BUCKETS;
  const index = bucketMs > 0 ? Math.floor(at / bucketMs) : 0;
  const buckets: BreakerBucket[] = [];
  let current: BreakerBucket = { index, succeeded: 0, failed: 0 };
  for (const b of context.buckets) {
    if (b.index === index) current = b;
    else if (b.index > index - BUCKETS && b.index < index) buckets.push(b);
  }
  buckets.push({
    index,
    succeeded: current.succeeded + (failed ? 0 : 1),
    failed: current.failed + (failed ? 1 : 0),
  });
  let executions = 0;
  let failures = 0;
  for (const b of buckets) {
    executions += b.succeeded + b.failed;
    failures += b.failed;
  }
  return { buckets, executions, failures, lastAt: at };
}

/**
 * A circuit breaker over execution outcomes, as a statechart: `closed` → `open` when the failure
 * rate in the rolling window passes `failureRateThreshold` (with at least `minimumExecutions`);
 * `open` → `halfOpen` after `openMs` (the `cooldown` delay, on the actor's clock); in `halfOpen`
 * up to `halfOpenProbes` submissions are let through: the first probe that succeeds closes it
 * (with a fresh window), one that fails opens it again, and a probe that ends without executing
 * (it lost, was cancelled…) frees its slot. `breaker.trip` opens it from `closed` or `halfOpen`,
 * `breaker.reset` closes it from `open` or `halfOpen`.
 *
 * The arbiter runs one when given the `breaker` option and rejects submissions with
 * `circuit-open` while it is open (or half-open with every probe slot taken).
 *
 * @example
 * ```ts
 * import { createActor } from 'xstate';
 * const breaker = createActor(breakerMachine, { input: { options: { minimumExecutions: 2 } } }).start();
 * breaker.send({ type: 'execution.failed', at: 0 });
 * breaker.send({ type: 'execution.failed', at: 1 });
 * breaker.getSnapshot().value; // 'open'
 * ```
 * @see executionOutcome
 */
export const breakerMachine = setup({
  types: {
    context: {} as BreakerContext,
    events: {} as BreakerEvent,
    input: {} as BreakerInput,
  },
  delays: {
    cooldown: ({ context }) => context.options.openMs,
  },
  guards: {
    overThreshold: ({ context }) =>
      context.executions >= context.options.minimumExecutions &&
      context.executions > 0 &&
      context.failures / context.executions > context.options.failureRateThreshold,
  },
  actions: {
    recordSuccess: assign(({ context, event }) =>
      event.type === 'execution.succeeded' ? recordOutcome(context, event.at, false) : {},
    ),
    recordFailure: assign(({ context, event }) =>
      event.type === 'execution.failed' ? recordOutcome(context, event.at, true) : {},
    ),
    clearWindow: assign({ buckets: [], executions: 0, failures: 0, probes: 0 }),
    countTrip: assign({ trips: ({ context }) => context.trips + 1, probes: 0 }),
    admitProbe: assign({ probes: ({ context }) => context.probes + 1 }),
    releaseProbe: assign({ probes: ({ context }) => Math.max(0, context.probes - 1) }),
  },
}).createMachine({
  id: 'breaker',
  initial: 'closed',
  context: ({ input }) => ({
    options: Object.freeze({ ...DEFAULT_BREAKER, ...(input?.options ?? {}) }),
    buckets: [],
    executions: 0,
    failures: 0,
    probes: 0,
    trips: 0,
    lastAt: 0,
  }),
  states: {
    closed: {
      entry: 'clearWindow',
      always: { guard: 'overThreshold', target: 'open' },
      on: {
        'execution.succeeded': { actions: 'recordSuccess' },
        'execution.failed': { actions: 'recordFailure' },
        'breaker.trip': { target: 'open' },
      },
    },
    open: {
      entry: 'countTrip',
      after: { cooldown: 'halfOpen' },
      on: {
        'breaker.reset': { target: 'closed' },
      },
    },
    halfOpen: {
      entry: assign({ probes: 0 }),
      on: {
        'probe.admitted': { actions: 'admitProbe' },
        'probe.released': { actions: 'releaseProbe' },
        'probe.succeeded': { target: 'closed' },
        'probe.failed': { target: 'open' },
        'breaker.trip': { target: 'open' },
        'breaker.reset': { target: 'closed' },
      },
    },
  },
});

/** The breaker machine's type. @example `const m: BreakerMachine = breakerMachine;` */
export type BreakerMachine = typeof breakerMachine;
/** A running breaker. @example `const ref: BreakerActorRef | undefined = arbiter.breaker?.actor;` */
export type BreakerActorRef = ActorRefFrom<BreakerMachine>;
/** A breaker snapshot. @example `const snap: BreakerSnapshot = ref.getSnapshot();` */
export type BreakerSnapshot = SnapshotFrom<BreakerMachine>;
