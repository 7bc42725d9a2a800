import {
  createActor,
  type ActorLogic,
  type ActorSystem,
  type AnyActorRef,
  type AnyStateMachine,
  type InspectionEvent,
  type Observer,
  type Snapshot,
} from 'xstate';
import {
  coordinatorMachine,
  coordinatorSettings,
  type CoordinatorActorRef,
  type CoordinatorOptions,
  type CoordinatorPort,
  type CoordinatorSettings,
  type OperationSubmission,
} from '../machines/coordinator.machine.js';
import { describeError } from '../src/errors.js';
import type { ArbiterClock } from '../src/types.js';

/** Why a coordinator stopped (a failure is told apart, with `onCoordinatorFailed`). */
export type CoordinatorStopReason = 'idle' | 'shutdown';

/** How a {@link Supervisor} builds coordinators. */
export interface SupervisorOptions {
  /** Every coordinator's options (one settings object is shared by all of them). */
  readonly coordinator: Partial<CoordinatorOptions>;
  readonly clock?: ArbiterClock | undefined;
  /** Inspection observer for new actor systems (coordinators and their operations live in them). */
  readonly inspect?: () => Observer<InspectionEvent> | undefined;
  /** The coordinator machine to run. @default coordinatorMachine */
  readonly machine?: AnyStateMachine | undefined;
  /**
   * Coordinators per actor system. XState scans every delayed event of a system when any of its
   * actors stops, so a system must stay small; a root actor and its system cost about 1.6 KiB more
   * than a child, so coordinators share a few. @default 32
   */
  readonly coordinatorsPerSystem?: number | undefined;
  readonly onCoordinatorStarted?: ((target: string, coordinator: CoordinatorActorRef) => void) | undefined;
  readonly onCoordinatorStopped?: ((target: string, reason: CoordinatorStopReason) => void) | undefined;
  /** A coordinator failed; it ended the `ended` operations it still had. */
  readonly onCoordinatorFailed?: ((target: string, error: string, ended: number) => void) | undefined;
}

/** The snapshot of a {@link coordinatorGroupLogic} actor: how many coordinators it holds. */
export type CoordinatorGroupSnapshot = Snapshot<undefined> & { readonly context: { coordinators: number } };

/**
 * The root of one small actor system holding up to `coordinatorsPerSystem` coordinators (each
 * created with this actor as its parent, so XState never copies a children map for them). It
 * ignores its coordinators' done events; `group.stopChild` stops one that would not stop itself.
 *
 * @example
 * ```ts
 * const group = createActor(coordinatorGroupLogic).start();
 * const coordinator = createActor(coordinatorMachine, { parent: group, input: { target: 'a' } }).start();
 * ```
 */
export const coordinatorGroupLogic: ActorLogic<CoordinatorGroupSnapshot, { type: string; child?: AnyActorRef }, undefined, ActorSystem<any>> & {
  readonly id: string;
} = {
  // What inspectors show for it, as a machine's id.
  id: 'coordinators',
  transition(snapshot, event, scope) {
    if (event.type === 'group.stopChild' && event.child) scope.stopChild(event.child);
    if (event.type === 'xstate.stop') return { ...snapshot, status: 'stopped' } as CoordinatorGroupSnapshot;
    return snapshot;
  },
  getInitialSnapshot() {
    return { status: 'active', output: undefined, error: undefined, context: { coordinators: 0 } };
  },
  getPersistedSnapshot(snapshot) {
    return snapshot;
  },
};

// Every method of a CoordinatorPort, the ones the supervisor passes through as given.
const PORT_METHODS = ['now', 'conflict', 'won', 'preempted', 'requeued', 'protected', 'timedOut'] as const satisfies ReadonlyArray<
  Exclude<keyof CoordinatorPort, 'stopped'>
>;

// Compile-time: a port method added to CoordinatorPort must be added above too.
const PORT_METHODS_COMPLETE: [Exclude<keyof CoordinatorPort, 'stopped' | (typeof PORT_METHODS)[number]>] extends [never] ? true : never = true;
void PORT_METHODS_COMPLETE;

interface Group {
  readonly root: AnyActorRef;
  size: number;
}

/**
 * Routes submissions to their target's coordinator, starts coordinators lazily and forgets them
 * when they stop after `idleMs` without work. It also keeps the per-target count of admitted,
 * undecided operations that the staging limits read.
 *
 * Coordinators live in small actor systems of their own (a few per system, under a
 * {@link coordinatorGroupLogic} root), never in one big one: XState copies a parent's `children`
 * map on every spawn and stop, and stopping any actor scans every delayed event of its whole
 * system. Routing goes through a plain `Map`, so its cost stays flat from one target to a hundred
 * thousand.
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
  private readonly settings: CoordinatorSettings;
  private readonly perGroup: number;
  private readonly groups = new Set<Group>();
  /** A group with room for another coordinator, if any. */
  private open: Group | undefined;

  /** The groups by their root actor. */
  private readonly groupOf = new Map<AnyActorRef, Group>();

  constructor(private readonly options: SupervisorOptions) {
    // Each coordinator reports its own end through the port (no subscription per coordinator).
    const given = options.coordinator.port;
    const port: CoordinatorPort = {};
    for (const name of PORT_METHODS) {
      const method = given?.[name] as ((...args: unknown[]) => unknown) | undefined;
      if (method !== undefined) (port as Record<string, unknown>)[name] = (...args: unknown[]) => method.apply(given, args);
    }
    port.stopped = (target, coordinator, error, ended) => {
      given?.stopped?.(target, coordinator, error, ended);
      this.forget(target, coordinator as CoordinatorActorRef, error === undefined ? undefined : describeError(error), ended ?? 0);
    };
    this.settings = coordinatorSettings({ ...options.coordinator, port });
    this.perGroup = Math.max(1, options.coordinatorsPerSystem ?? 32);
  }

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

  /** The roots of the actor systems the coordinators live in. */
  systems(): AnyActorRef[] {
    return [...this.groups].map((g) => g.root);
  }

  /**
   * Shuts every coordinator down: each ends its operations (`shutdown`; an operation whose
   * lifecycle ignores it is stopped outright) and reaches its final state.
   */
  stop(): void {
    this.stopping = true;
    for (const c of [...this.coordinators.values()]) c.send({ type: 'coordinator.shutdown' });
    // A coordinator machine of the user's that ignores the event is stopped by its parent.
    for (const c of [...this.coordinators.values()]) {
      (c as unknown as { _parent?: AnyActorRef })._parent?.send({ type: 'group.stopChild', child: c });
    }
    for (const group of this.groups) group.root.stop();
    this.groups.clear();
    this.groupOf.clear();
    this.open = undefined;
    this.coordinators.clear();
  }

  private forget(target: string, actor: CoordinatorActorRef, error: string | undefined, ended: number): void {
    if (this.coordinators.get(target) === actor) this.coordinators.delete(target);
    const group = this.groupOf.get((actor as unknown as { _parent?: AnyActorRef })._parent!);
    if (group !== undefined) {
      group.size--;
      if (group.size === 0 && group !== this.open && !this.stopping) {
        // An empty group that is not the one being filled goes, with its system.
        this.groups.delete(group);
        this.groupOf.delete(group.root);
        group.root.stop();
      } else if (this.open === undefined || this.open.size >= this.perGroup) {
        this.open = group;
      }
    }
    if (error !== undefined) this.options.onCoordinatorFailed?.(target, error, ended);
    else this.options.onCoordinatorStopped?.(target, this.stopping ? 'shutdown' : 'idle');
  }

  private groupWithRoom(): Group {
    if (this.open !== undefined && this.open.size < this.perGroup && this.groups.has(this.open)) return this.open;
    for (const g of this.groups) {
      if (g.size < this.perGroup) {
        this.open = g;
        return g;
      }
    }
    const inspect = this.options.inspect?.();
    const root = createActor(coordinatorGroupLogic, {
      ...(this.options.clock ? { clock: this.options.clock as never } : {}),
      ...(inspect ? { inspect } : {}),
    }).start();
    const group: Group = { root, size: 0 };
    this.groups.add(group);
    this.groupOf.set(root, group);
    this.open = group;
    return group;
  }

  private coordinatorFor(target: string): CoordinatorActorRef {
    const existing = this.coordinators.get(target);
    if (existing !== undefined && existing.getSnapshot().status === 'active') return existing;
    const group = this.groupWithRoom();
    group.size++;
    const actor = createActor((this.options.machine ?? coordinatorMachine) as typeof coordinatorMachine, {
      parent: group.root,
      id: 'coordinator',
      input: { target, settings: this.settings },
    });
    this.coordinators.set(target, actor);
    this.options.onCoordinatorStarted?.(target, actor);
    actor.start();
    return actor;
  }
}
