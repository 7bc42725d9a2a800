import { createActor, type AnyStateMachine, type InspectionEvent, type Observer } from 'xstate';
import {
  coordinatorMachine,
  rejectStaged,
  type CoordinatorActorRef,
  type CoordinatorInput,
  type CoordinatorPort,
  type StagedOperation,
} from '../machines/coordinator.machine.js';
import { describeError } from '../src/errors.js';
import type { ArbiterClock } from '../src/types.js';

/** How a {@link Supervisor} builds coordinators. */
export interface SupervisorOptions {
  readonly coordinator: Omit<CoordinatorInput, 'target' | 'port'>;
  readonly port: CoordinatorPort;
  readonly clock?: ArbiterClock | undefined;
  readonly inspect?: Observer<InspectionEvent> | ((event: InspectionEvent) => void) | undefined;
  /** The coordinator machine to run. @default coordinatorMachine */
  readonly machine?: AnyStateMachine | undefined;
  /** Called when a coordinator stops after its idle timeout. */
  readonly onCoordinatorStopped?: ((target: string) => void) | undefined;
  /** Called when a coordinator fails (its staged operations are rejected `arbitration-failed`). */
  readonly onCoordinatorError?: ((target: string, err: unknown) => void) | undefined;
}

/**
 * Routes operations to their target's coordinator, starts coordinators lazily and forgets them
 * when they stop after `idleMs` without work. It also keeps the per-target count of admitted,
 * undecided operations that backpressure reads.
 *
 * It is deliberately not an XState parent of the coordinators: XState copies a parent's
 * `children` map on every spawn and stop, and stopping any actor scans every delayed event of its
 * whole actor system. Each coordinator is therefore the root of its own small system (its window
 * and idle timers only), and the supervisor holds them in a plain `Map`, so the cost of routing
 * stays flat from one target to a hundred thousand.
 *
 * @example
 * ```ts
 * const supervisor = new Supervisor({ coordinator: { windowMs: 100, gracePeriodMs: 200,
 *   whileExecuting: 'preempt', idleMs: 1000, maxStagedPerTarget: 20 }, port });
 * supervisor.stage('account-42', { candidate, actor });
 * ```
 */
export class Supervisor {
  private readonly coordinators = new Map<string, CoordinatorActorRef>();
  private readonly undecided = new Map<string, number>();
  private undecidedTotal = 0;

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

  /** Hands a staged operation to its target's coordinator, starting one if needed. */
  stage(target: string, operation: StagedOperation): void {
    this.coordinatorFor(target).send({ type: 'candidate', operation });
  }

  /** Tells the target's coordinator that an operation reached a final state. */
  finished(target: string, id: string): void {
    this.coordinators.get(target)?.send({ type: 'operation.finished', id });
  }

  /** The live coordinator of `target`, if any. */
  get(target: string): CoordinatorActorRef | undefined {
    return this.coordinators.get(target);
  }

  /** Targets that currently have a coordinator. */
  targets(): IterableIterator<string> {
    return this.coordinators.keys();
  }

  /** Stops every coordinator (their timers with them). */
  stop(): void {
    const all = [...this.coordinators.values()];
    this.coordinators.clear();
    for (const c of all) c.stop();
  }

  private coordinatorFor(target: string): CoordinatorActorRef {
    const existing = this.coordinators.get(target);
    if (existing && existing.getSnapshot().status === 'active') return existing;
    const { options } = this;
    const actor = createActor((options.machine ?? coordinatorMachine) as typeof coordinatorMachine, {
      input: { ...options.coordinator, target, port: options.port },
      ...(options.clock ? { clock: options.clock as never } : {}),
      ...(options.inspect ? { inspect: options.inspect } : {}),
    });
    this.coordinators.set(target, actor);
    actor.subscribe({
      complete: () => {
        if (this.coordinators.get(target) === actor) {
          this.coordinators.delete(target);
          options.onCoordinatorStopped?.(target);
        }
      },
      error: (err: unknown) => {
        if (this.coordinators.get(target) === actor) this.coordinators.delete(target);
        // A failed coordinator must not strand its candidates: each still gets a final state.
        const staged = (actor.getSnapshot().context as { staged?: Map<string, StagedOperation> } | undefined)?.staged;
        const reason = `the coordinator of ${target} failed: ${describeError(err)}`;
        for (const op of staged?.values() ?? []) rejectStaged(options.port, op, 'arbitration-failed', reason);
        staged?.clear();
        options.onCoordinatorError?.(target, err);
      },
    });
    actor.start();
    return actor;
  }
}
