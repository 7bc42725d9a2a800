import type { ArbitrationDecision, ArbitrationPolicy } from '../arbitration.js';
import type { ArbitrationContext, Candidate, Holder } from '../types.js';

/**
 * What a coordinator asks when its window timer fires: close the window and decide it.
 *
 * @example
 * ```ts
 * const decision = channel.decide({ candidates, holders, policy, ctx });
 * if (decision === undefined) waitForDecision(); // decided elsewhere, delivered later
 * ```
 */
export interface DecisionRequest {
  /** This process's candidates in the window, in staging order. */
  readonly candidates: readonly Candidate[];
  /** This process's operations holding the target. */
  readonly holders: readonly Holder[];
  readonly policy: ArbitrationPolicy;
  readonly ctx: ArbitrationContext;
}

/**
 * The window settings of the coordinator that opens a channel: a shared backend opens windows
 * with them where every process sees them.
 *
 * @example
 * ```ts
 * const settings: TargetSettings = { windowMs: 100, whileExecuting: 'preempt', gracePeriodMs: 200 };
 * ```
 */
export interface TargetSettings {
  readonly windowMs: number;
  readonly whileExecuting: ArbitrationPolicy['whileExecuting'];
  readonly gracePeriodMs: number;
}

/**
 * Where a backend delivers what it decided or learned on its own: a decision made by another
 * process, a remote preemption, the loss of the backend. Implemented by the coordinator, which
 * turns each call into an event of its own (`backend.decided`, `backend.preempt`,
 * `backend.unavailable`).
 *
 * @example
 * ```ts
 * const listener: TargetListener = {
 *   decided: (d) => coordinator.send({ type: 'backend.decided', decision: d }),
 *   preempt: (id, reason) => coordinator.send({ type: 'backend.preempt', id, reason }),
 *   unavailable: (error) => coordinator.send({ type: 'backend.unavailable', error }),
 * };
 * ```
 */
export interface TargetListener {
  /**
   * A window of this target was decided (candidates of other processes may be in it). `report`:
   * whether this process reports the window as a conflict (`conflict.*` events): one process per
   * window should, so that metrics summed over processes count each window once. @default true
   */
  decided(decision: ArbitrationDecision, report?: boolean): void;
  /** A holder of this process must stop: another process's winner preempted it. */
  preempt(holderId: string, reason: string): void;
  /**
   * A holder of this process lost its hold on the target (its lease expired or could not be
   * renewed): it ends `backend-unavailable` with `reason`.
   */
  leaseLost(holderId: string, reason: string): void;
  /** The backend cannot be reached: everything staged or held here must end `backend-unavailable`. */
  unavailable(error: Error): void;
}

/**
 * One target's channel to the backend, opened by the target's coordinator when it starts and
 * disposed when it stops. Every method is called from the coordinator's own actions.
 *
 * @example
 * ```ts
 * const channel = backend.open('account-42', listener, { windowMs: 100, whileExecuting: 'preempt', gracePeriodMs: 200 });
 * channel.stage(candidate);
 * const decision = channel.decide(request); // in-process backends answer at once
 * ```
 */
export interface TargetChannel {
  /** A candidate of this process joins the target's current window. */
  stage(candidate: Candidate): void;
  /** A staged candidate of this process ended before any decision (cancelled, timed out, …). */
  withdraw(id: string): void;
  /**
   * The coordinator's window timer fired. An in-process backend returns the decision at once;
   * a shared one returns `undefined` and delivers it through {@link TargetListener.decided}
   * (the window may also have been closed by another process first).
   */
  decide(request: DecisionRequest): ArbitrationDecision | undefined;
  /** A holder of this process reached a final state: the target is free again. */
  release(id: string): void;
  /** The coordinator stopped. */
  dispose(): void;
}

/**
 * The seam between coordinators and where arbitration state lives: candidates per target, the
 * closing of a window and its decision, who holds a target, and the delivery of decisions to the
 * process that submitted each operation. {@link memoryBackend} (the default) keeps it all in
 * this process; `redisBackend` from `xstate-arbiter/redis` shares it between processes.
 *
 * @example
 * ```ts
 * const arbiter = createArbiter({ backend: memoryBackend() });
 * await arbiter.ready();
 * ```
 */
export interface ArbiterBackend {
  /** A short name shown by the inspector and in errors, e.g. `memory` or `redis`. */
  readonly kind: string;
  /** Whether windows are decided in this process, so that a custom `selectWinner` can run. */
  readonly decidesLocally: boolean;
  /**
   * This process's id as a shared backend records it (with its candidates and leases), shown by
   * the inspector: every operation of this arbiter runs in this process. `undefined` in memory.
   */
  readonly processId?: string;
  /** Resolves once the backend is usable; rejects with a clear error when it cannot be. */
  ready(): Promise<void>;
  /** Opens the channel of one target, for a coordinator with these window `settings`. */
  open(target: string, listener: TargetListener, settings: TargetSettings): TargetChannel;
  /** Releases connections and timers. Idempotent. */
  close(): Promise<void>;
}
