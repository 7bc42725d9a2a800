import { createActor, type AnyStateMachine, type InspectionEvent, type Observer } from 'xstate';
import {
  coordinatorMachine,
  type CoordinatorActorRef,
  type CoordinatorInput,
  type OperationSubmission,
} from '../machines/coordinator.machine.js';
import { describeError } from '../src/errors.js';
import type { ArbiterClock } from '../src/types.js';

/** Why a coordinator stopped. */
export type CoordinatorStopReason = 'idle' | 'shutdown' | 'failed';

/** How a {@link Supervisor} builds coordinators. */
export interface SupervisorOptions {
  /** Every coordinator's input but its target. */
  readonly coordinator: Omit<CoordinatorInput, 'target'>;
  readonly clock?: ArbiterClock | undefined;
  /** Inspection observer for new coordinators (their operations live in their systems). */
  readonly inspect?: () => Observer<InspectionEvent> | undefined;
  /** The coordinator machine to run. @default coordinatorMachine */
  readonly machine?: AnyStateMachine | undefined;
  readonly onCoordinatorStarted?: ((target: string, coordinator: CoordinatorActorRef) => void) | undefined;
  readonly onCoordinatorStopped?: ((target: string, reason: CoordinatorStopReason, error?: string) => void) | undefined;
}

/**
 * Routes submissions to their target's coordinator, starts coordinators lazily and forgets them
 * when they stop after `idleMs` without work. It also keeps the per-target count of admitted,
 * undecided operations that the staging limits read.
 *
 * It is deliberately not an XState parent of the coordinators: XState copies a parent's
 * `children` map on every spawn and stop, and stopping any actor scans every delayed event of its
 * whole actor system. Each coordinator is therefore the root of its own small system (its timers
 * and its own operations only), and the supervisor holds them in a plain `Map`, so the cost of
 * routing stays flat from one target to a hundred thousand.
 *
 * @example
 * ```ts
 * const supervisor = new Supervisor({ coordinator: { windowMs: 100 } });
 * supervisor.route('account-42', { input: { id: 'w-1', execute: async () => 1 } });
 * ```
 */
export class Supervisor {
  private readonly coordinators = new Map<string, CoordinatorActorRef>();
  private readonly undecided = new Map<string, number>();
  private undecidedTotal = 0;
  private stopping = false;

  constructor(private readonly options: SupervisorOptions) {}

  /** Live coordinators. */
  get size(): number {
    return this.coordinators.size;
  }

  /** Admitted operations not yet decided, across all targets. */
  get totalUndecided(): number {
    return this.undecidedTotal;
  }

  /** Admitted operations not yet decided on `target`. */
  undecidedOn(target: string): number {
    return this.undecided.get(target) ?? 0;
  }

  /** Counts an admitted operation against `target`'s staging capacity. */
  admit(target: string): void {
    this.undecided.set(target, (this.undecided.get(target) ?? 0) + 1);
    this.undecidedTotal++;
  }

  /** Releases the capacity taken by {@link admit} (the operation won or became final). */
  decided(target: string): void {
    const n = (this.undecided.get(target) ?? 0) - 1;
    if (n > 0) this.undecided.set(target, n);
    else this.undecided.delete(target);
    this.undecidedTotal--;
  }

  /** Hands a submission to its target's coordinator, starting one if needed. */
  route(target: string, submission: OperationSubmission): void {
    this.coordinatorFor(target).send({ type: 'operation.submit', operation: submission });
  }

  /** The live coordinator of `target`, if any. */
  get(target: string): CoordinatorActorRef | undefined {
    return this.coordinators.get(target);
  }

  /** Targets that currently have a coordinator. */
  targets(): IterableIterator<string> {
    return this.coordinators.keys();
  }

  /** Live coordinators. */
  values(): IterableIterator<CoordinatorActorRef> {
    return this.coordinators.values();
  }

  /**
   * Shuts every coordinator down: each ends its operations (`shutdown`; an operation whose
   * lifecycle ignores it is stopped outright) and reaches its final state.
   */
  stop(): void {
    this.stopping = true;
    for (const c of [...this.coordinators.values()]) c.send({ type: 'coordinator.shutdown' });
    // A coordinator machine of the user's that ignores the event is stopped all the same.
    for (const c of [...this.coordinators.values()]) c.stop();
    this.coordinators.clear();
  }

  private coordinatorFor(target: string): CoordinatorActorRef {
    const existing = this.coordinators.get(target);
    if (existing !== undefined && existing.getSnapshot().status === 'active') return existing;
    const { options } = this;
    const inspect = options.inspect?.();
    const actor = createActor((options.machine ?? coordinatorMachine) as typeof coordinatorMachine, {
      input: { ...options.coordinator, target },
      ...(options.clock ? { clock: options.clock as never } : {}),
      ...(inspect ? { inspect } : {}),
    });
    this.coordinators.set(target, actor);
    actor.subscribe({
      complete: () => this.forget(target, actor, this.stopping ? 'shutdown' : 'idle'),
      error: (err: unknown) => this.forget(target, actor, 'failed', describeError(err)),
    });
    options.onCoordinatorStarted?.(target, actor);
    actor.start();
    return actor;
  }

  private forget(target: string, actor: CoordinatorActorRef, reason: CoordinatorStopReason, error?: string): void {
    if (this.coordinators.get(target) === actor) this.coordinators.delete(target);
    this.options.onCoordinatorStopped?.(target, reason, error);
  }
}
