import { createActor, type InspectionEvent, type Observer } from 'xstate';
import {
  breakerMachine,
  DEFAULT_BREAKER,
  executionOutcome,
  type BreakerActorRef,
  type BreakerState,
} from '../machines/breaker.machine.js';
import type { ArbiterEvent } from '../src/events.js';
import type { BreakerOptions } from '../src/observability.js';
import { log, type Logger } from '../src/logger.js';
import type { ArbiterClock } from '../src/types.js';
import { expectDelay } from '../src/timers.js';
import { readOptions } from '../src/keys.js';
import { expectFiniteNumber, expectInteger } from '../src/validate.js';
import { ArbiterInputError } from '../src/errors.js';

/**
 * Validates the `breaker` option of `createArbiter` and fills in the defaults. `true` means the
 * defaults; `undefined` or `false` means no breaker.
 *
 * @internal
 */
export function resolveBreakerOptions(value: unknown): Readonly<BreakerOptions> | undefined {
  if (value === undefined || value === false) return undefined;
  if (value === true) return DEFAULT_BREAKER;
  // `windowMs` is the 0.1 name of `rollingWindowMs`, kept for one minor version.
  const o = readOptions(value, [...(Object.keys(DEFAULT_BREAKER) as Array<keyof BreakerOptions>), 'windowMs'], 'breaker');
  if (o.windowMs !== undefined && o.rollingWindowMs !== undefined) {
    throw new ArbiterInputError('breaker.windowMs', 'Expected only `breaker.rollingWindowMs` (`breaker.windowMs` is its deprecated name), got both');
  }
  if (o.failureRateThreshold !== undefined) {
    expectFiniteNumber(o.failureRateThreshold, 'breaker.failureRateThreshold');
    if (o.failureRateThreshold >= 1) {
      throw new ArbiterInputError(
        'breaker.failureRateThreshold',
        `Expected \`breaker.failureRateThreshold\` to be a rate from 0 to below 1, got number ${o.failureRateThreshold}`,
      );
    }
  }
  // The rolling window's buckets and the cooldown are timers on the arbiter's clock.
  if (o.windowMs !== undefined) expectDelay(o.windowMs, 'breaker.windowMs', 1);
  if (o.rollingWindowMs !== undefined) expectDelay(o.rollingWindowMs, 'breaker.rollingWindowMs', 1);
  if (o.minimumExecutions !== undefined) expectInteger(o.minimumExecutions, 'breaker.minimumExecutions', 1);
  if (o.openMs !== undefined) expectDelay(o.openMs, 'breaker.openMs');
  if (o.halfOpenProbes !== undefined) expectInteger(o.halfOpenProbes, 'breaker.halfOpenProbes', 1);
  const merged: BreakerOptions = { ...DEFAULT_BREAKER };
  for (const key of Object.keys(DEFAULT_BREAKER) as Array<keyof BreakerOptions>) {
    const v = o[key];
    if (v !== undefined) merged[key] = v as number;
  }
  if (o.windowMs !== undefined) merged.rollingWindowMs = o.windowMs as number;
  return Object.freeze(merged);
}

/**
 * What `arbiter.breaker` shows: the state, the window's counts and how often it opened.
 *
 * @example
 * ```ts
 * const b = arbiter.breaker?.status();
 * if (b?.state === 'open') console.warn(`${b.failures}/${b.executions} executions failed`);
 * ```
 */
export interface BreakerStatus {
  readonly state: BreakerState;
  readonly executions: number;
  readonly failures: number;
  readonly trips: number;
  readonly probes: number;
  readonly options: Readonly<BreakerOptions>;
}

/**
 * What `arbiter.breaker` exposes: read the state, or force it open or closed (e.g. from an admin
 * endpoint during an incident).
 *
 * @example
 * ```ts
 * if (arbiter.breaker?.state === 'open') console.warn(arbiter.breaker.status());
 * arbiter.breaker?.reset();
 * ```
 */
export interface BreakerControl {
  readonly state: BreakerState;
  status(): BreakerStatus;
  /** Opens it now; it goes half-open after `openMs` like any trip. */
  trip(): void;
  /** Closes it now, with an empty window. */
  reset(): void;
  /** The breaker's XState actor (`breakerMachine`). */
  readonly actor: BreakerActorRef;
}

/** How a {@link CircuitBreaker} is built. */
export interface CircuitBreakerOptions {
  readonly options: Readonly<BreakerOptions>;
  readonly clock?: ArbiterClock | undefined;
  readonly inspect?: Observer<InspectionEvent> | ((event: InspectionEvent) => void) | undefined;
  readonly logger?: Logger | undefined;
}

/**
 * Runs a {@link breakerMachine} actor for an arbiter: `allow(id)` is the synchronous gate used
 * by `submit`, and `observe(event)` feeds it the arbiter's events (execution outcomes, and the
 * end of the probes it let through).
 *
 * @example
 * ```ts
 * const breaker = new CircuitBreaker({ options: DEFAULT_BREAKER, clock });
 * arbiter.events$.subscribe((e) => breaker.observe(e));
 * if (!breaker.allow(id)) reject('circuit-open');
 * ```
 */
export class CircuitBreaker implements BreakerControl {
  readonly actor: BreakerActorRef;
  private readonly probeIds = new Set<string>();
  private lastState: BreakerState = 'closed';

  constructor(private readonly config: CircuitBreakerOptions) {
    this.actor = createActor(breakerMachine, {
      input: { options: config.options },
      ...(config.clock ? { clock: config.clock as never } : {}),
      ...(config.inspect ? { inspect: config.inspect } : {}),
    });
    this.actor.subscribe((snapshot) => {
      const state = snapshot.value as BreakerState;
      if (state === this.lastState) return;
      const from = this.lastState;
      this.lastState = state;
      if (state !== 'halfOpen') this.probeIds.clear();
      const fields = { from, to: state, executions: snapshot.context.executions, failures: snapshot.context.failures };
      if (state === 'open') log(config.logger, 'warn', fields, 'arbiter circuit breaker opened');
      else if (state === 'closed') log(config.logger, 'info', fields, 'arbiter circuit breaker closed');
      else log(config.logger, 'info', fields, 'arbiter circuit breaker half-open');
    });
    this.actor.start();
  }

  /** The current state. */
  get state(): BreakerState {
    return this.actor.getSnapshot().value as BreakerState;
  }

  /** A summary of the breaker. */
  status(): BreakerStatus {
    const { context, value } = this.actor.getSnapshot();
    return {
      state: value as BreakerState,
      executions: context.executions,
      failures: context.failures,
      trips: context.trips,
      probes: context.probes,
      options: context.options,
    };
  }

  /**
   * Whether a new submission may go on. Closed: yes. Open: no. Half-open: yes while probe slots
   * are free, and `id` becomes a probe.
   */
  allow(id: string): boolean {
    const snapshot = this.actor.getSnapshot();
    if (snapshot.value === 'closed') return true;
    if (snapshot.value === 'open') return false;
    if (snapshot.context.probes >= snapshot.context.options.halfOpenProbes) return false;
    this.probeIds.add(id);
    this.actor.send({ type: 'probe.admitted' });
    return true;
  }

  /** Why `allow` said no, for the rejection's reason. */
  reason(): string {
    const { context, value } = this.actor.getSnapshot();
    const o = context.options;
    if (value === 'halfOpen') return `the circuit breaker is half-open and its ${o.halfOpenProbes} probe slot(s) are taken`;
    return `the circuit breaker is open (more than ${Math.round(o.failureRateThreshold * 100)}% of recent executions failed); it lets a probe through ${o.openMs} ms after opening`;
  }

  /** Feeds one arbiter event. */
  observe(event: ArbiterEvent): void {
    if (this.actor.getSnapshot().status !== 'active') return;
    if (event.type !== 'operation.completed' && event.type !== 'operation.rejected') return;
    const outcome = executionOutcome(event);
    if (this.probeIds.delete(event.operationId)) {
      this.actor.send({ type: outcome === 'success' ? 'probe.succeeded' : outcome === 'failure' ? 'probe.failed' : 'probe.released' });
      return;
    }
    if (outcome === 'success') this.actor.send({ type: 'execution.succeeded', at: event.at });
    else if (outcome === 'failure') this.actor.send({ type: 'execution.failed', at: event.at });
  }

  /** Opens it now. */
  trip(): void {
    this.actor.send({ type: 'breaker.trip' });
  }

  /** Closes it now, with an empty window. */
  reset(): void {
    this.actor.send({ type: 'breaker.reset' });
  }

  /** Stops the actor and its cooldown timer. */
  stop(): void {
    this.actor.stop();
  }
}
