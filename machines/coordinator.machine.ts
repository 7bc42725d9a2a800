import { setup, type ActorRefFrom, type AnyActorRef, type SnapshotFrom } from 'xstate';
import { arbitrate, lostReason, type ArbitrationDecision } from '../src/arbitration.js';
import type { Candidate, Holder, RejectionCode, SelectWinner, WhileExecuting } from '../src/types.js';

/** A staged operation as the coordinator keeps it: the candidate view plus its actor. */
export interface StagedOperation {
  readonly candidate: Candidate;
  readonly actor: AnyActorRef;
}

/** An operation holding the target. */
export interface HeldOperation extends Holder {
  readonly actor: AnyActorRef;
}

/** A window's outcome, reported to the port after it has been applied. */
export interface WindowReport {
  readonly target: string;
  readonly windowOpenedAt: number;
  readonly candidates: readonly Candidate[];
  readonly decision: ArbitrationDecision;
  /** Wall-clock milliseconds spent in `arbitrate`. */
  readonly durationMs: number;
}

/**
 * How a coordinator tells its owner what happened. Every method is called synchronously from
 * the coordinator's actions, before the matching event is sent to the operation.
 */
export interface CoordinatorPort {
  /** Monotonic milliseconds (the arbiter's clock). */
  now(): number;
  /** A window with two or more candidates closed (called before any of them is told). */
  conflict(report: WindowReport): void;
  /** `winner` is about to receive `arbiter.win`. */
  won(winner: StagedOperation): void;
  /** `holder` is about to be preempted by `by`. */
  preempted(holder: HeldOperation, by: Candidate, reason: string): void;
  /**
   * The coordinator has dropped operation `id` from its maps on its own decision (rejected or
   * preempted): the owner need not send `operation.finished` for it, which saves a macrostep of
   * the coordinator per loser.
   */
  released(id: string): void;
}

/** What a coordinator is started with. */
export interface CoordinatorInput {
  target: string;
  windowMs: number;
  gracePeriodMs: number;
  whileExecuting: WhileExecuting;
  idleMs: number;
  maxStagedPerTarget: number;
  selectWinner?: SelectWinner | undefined;
  port: CoordinatorPort;
}

/**
 * The coordinator's context. `staged` and `holders` are mutable maps owned by the machine's
 * actions: copying them on every candidate would make a window of n candidates cost O(n²).
 */
export interface CoordinatorContext {
  readonly target: string;
  readonly windowMs: number;
  readonly gracePeriodMs: number;
  readonly whileExecuting: WhileExecuting;
  readonly idleMs: number;
  readonly maxStagedPerTarget: number;
  readonly selectWinner: SelectWinner | undefined;
  readonly port: CoordinatorPort;
  readonly staged: Map<string, StagedOperation>;
  readonly holders: Map<string, HeldOperation>;
  windowOpenedAt: number;
  /** Windows closed so far (all of them, conflicts or not). */
  windows: number;
}

/** Events a coordinator understands. */
export type CoordinatorEvent =
  | { type: 'candidate'; operation: StagedOperation }
  | { type: 'operation.finished'; id: string };

/**
 * Rejects a staged operation on the coordinator's own decision: tells the port first (so no
 * `operation.finished` comes back for it), then the operation.
 *
 * @example
 * ```ts
 * rejectStaged(port, op, 'arbitration-failed', 'the coordinator failed');
 * ```
 */
export function rejectStaged(port: CoordinatorPort, op: StagedOperation, code: RejectionCode, reason: string): void {
  port.released(op.candidate.id);
  op.actor.send({ type: 'arbiter.reject', code, reason });
}

/**
 * One coordinator per target. It opens a window on the first staged candidate, closes it after
 * `windowMs`, arbitrates with the pure `arbitrate()`, rejects the losers, starts or holds the
 * winner (grace-period preemption under `whileExecuting: 'preempt'`), forgets and stops finished
 * operations, and reaches its final state `stopped` after `idleMs` without work.
 *
 * States: `idle` (nothing staged or held), `collecting` (a window is open), `busy` (something
 * holds the target, nothing staged), `stopped` (final).
 *
 * @example
 * ```ts
 * import { createActor } from 'xstate';
 * const coordinator = createActor(coordinatorMachine, { input: {
 *   target: 'account-42', windowMs: 100, gracePeriodMs: 200, whileExecuting: 'preempt',
 *   idleMs: 1000, maxStagedPerTarget: 20, port } }).start();
 * coordinator.send({ type: 'candidate', operation: { candidate, actor } });
 * ```
 */
export const coordinatorMachine = setup({
  types: {
    context: {} as CoordinatorContext,
    events: {} as CoordinatorEvent,
    input: {} as CoordinatorInput,
  },
  delays: {
    window: ({ context }) => context.windowMs,
    idle: ({ context }) => context.idleMs,
  },
  guards: {
    hasStaged: ({ context }) => context.staged.size > 0,
    hasHolders: ({ context }) => context.holders.size > 0,
  },
  actions: {
    stage: ({ context, event }) => {
      if (event.type !== 'candidate') return;
      const { operation } = event;
      if (context.staged.size >= context.maxStagedPerTarget) {
        rejectStaged(context.port, operation, 'staging-full', `target ${context.target} already has ${context.staged.size} staged operations`);
        return;
      }
      context.staged.set(operation.candidate.id, operation);
    },
    openWindow: ({ context }) => {
      context.windowOpenedAt = context.port.now();
    },
    forget: ({ context, event }) => {
      if (event.type !== 'operation.finished') return;
      const op = context.staged.get(event.id) ?? context.holders.get(event.id);
      context.staged.delete(event.id);
      context.holders.delete(event.id);
      op?.actor.stop();
    },
    closeWindow: ({ context }) => {
      const { staged, holders, port, target } = context;
      context.windows++;
      const candidates: Candidate[] = [];
      for (const op of staged.values()) candidates.push(op.candidate);
      const now = port.now();
      const started = globalThis.performance.now();
      const decision = arbitrate(candidates, [...holders.values()], context, {
        target,
        now,
        windowOpenedAt: context.windowOpenedAt,
        executing: [...holders.values()].map(({ id, priority, effectivePriority, startedAt }) => ({
          id,
          priority,
          effectivePriority,
          startedAt,
        })),
      });
      const durationMs = globalThis.performance.now() - started;
      if (decision.kind === 'empty') return;
      if (candidates.length > 1) {
        port.conflict({ target, windowOpenedAt: context.windowOpenedAt, candidates, decision, durationMs });
      }
      if (decision.kind === 'none') {
        for (const c of decision.losers) {
          const op = staged.get(c.id);
          staged.delete(c.id);
          if (op) rejectStaged(port, op, decision.code, decision.reason);
        }
        return;
      }
      const { winner } = decision;
      for (const c of decision.losers) {
        const op = staged.get(c.id);
        staged.delete(c.id);
        if (op) rejectStaged(port, op, 'lost-arbitration', lostReason(c, winner));
      }
      if (decision.kind === 'hold') return;
      for (const h of decision.preempt) {
        const held = holders.get(h.id);
        holders.delete(h.id);
        if (!held) continue;
        const reason = `preempted by ${winner.id} (priority ${winner.effectivePriority} vs ${h.effectivePriority}) after ${Math.round(now - h.startedAt)} ms`;
        port.preempted(held, winner, reason);
        port.released(held.id);
        held.actor.send({ type: 'arbiter.preempt', reason });
      }
      const op = staged.get(winner.id);
      staged.delete(winner.id);
      if (!op) return;
      holders.set(winner.id, {
        id: winner.id,
        priority: winner.priority,
        effectivePriority: winner.effectivePriority,
        startedAt: now,
        actor: op.actor,
      });
      port.won(op);
      op.actor.send({ type: 'arbiter.win' });
    },
  },
}).createMachine({
  id: 'coordinator',
  initial: 'idle',
  context: ({ input }) => ({
    target: input.target,
    windowMs: input.windowMs,
    gracePeriodMs: input.gracePeriodMs,
    whileExecuting: input.whileExecuting,
    idleMs: input.idleMs,
    maxStagedPerTarget: input.maxStagedPerTarget,
    selectWinner: input.selectWinner,
    port: input.port,
    staged: new Map(),
    holders: new Map(),
    windowOpenedAt: 0,
    windows: 0,
  }),
  on: {
    'operation.finished': { actions: 'forget' },
  },
  states: {
    idle: {
      after: { idle: 'stopped' },
      on: { candidate: { target: 'collecting', actions: 'stage' } },
    },
    collecting: {
      entry: 'openWindow',
      after: { window: { target: 'deciding', actions: 'closeWindow' } },
      on: { candidate: { actions: 'stage' } },
    },
    deciding: {
      always: [
        { guard: 'hasStaged', target: 'collecting' },
        { guard: 'hasHolders', target: 'busy' },
        { target: 'idle' },
      ],
    },
    busy: {
      always: { guard: ({ context }) => context.holders.size === 0, target: 'idle' },
      on: { candidate: { target: 'collecting', actions: 'stage' } },
    },
    stopped: { type: 'final' },
  },
});

/** The coordinator machine's type. */
export type CoordinatorMachine = typeof coordinatorMachine;
/** A running coordinator. */
export type CoordinatorActorRef = ActorRefFrom<CoordinatorMachine>;
/** A coordinator snapshot. */
export type CoordinatorSnapshot = SnapshotFrom<CoordinatorMachine>;
