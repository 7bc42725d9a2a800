import {
  createActor,
  enqueueActions,
  setup,
  type ActorRefFrom,
  type AnyActorRef,
  type AnyMachineSnapshot,
  type AnyStateMachine,
  type Observer,
  type SnapshotFrom,
} from 'xstate';
import { lostReason, type ArbitrationDecision } from '../src/arbitration.js';
import { DEFAULT_RETRY } from '../src/backoff.js';
import { memoryBackend } from '../src/backend/memory.js';
import type { ArbiterBackend, TargetChannel, TargetListener } from '../src/backend/types.js';
import { ArbiterInputError, describeError } from '../src/errors.js';
import { readOptions } from '../src/keys.js';
import { expectDelay } from '../src/timers.js';
import { expectFunction, expectInteger, expectOneOf, kindOf } from '../src/validate.js';
import { defaultMaxRetries, Priority } from '../src/priority.js';
import type { Candidate, Holder, RejectionCode, RetryOptions, SelectWinner, WhileExecuting } from '../src/types.js';
import { operationMachine, type OperationInput } from './operation.machine.js';

/**
 * A staged operation as the coordinator keeps it: its input and its actor. Its candidate view is
 * made when a window closes (nothing is kept twice while it waits).
 */
export interface StagedOperation {
  readonly input: OperationInput;
  readonly actor: AnyActorRef;
  /** Windows it lost and stayed staged for (`onLose: 'retry'`). */
  losses?: number;
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
  /** Losers that stay staged for the next window (`onLose: 'retry'`); the others are rejected. */
  readonly requeued: readonly string[];
  /** Wall-clock milliseconds spent deciding. */
  readonly durationMs: number;
}

/**
 * How a coordinator tells its owner what it decided. Every method is called synchronously from
 * the coordinator's actions, before the matching event is sent to the operation. All optional.
 *
 * @example
 * ```ts
 * const port: CoordinatorPort = { won: (op) => console.log(op.input.id, 'holds the target') };
 * ```
 */
export interface CoordinatorPort {
  /** Monotonic milliseconds. @default performance.now() */
  now?(): number;
  /** A window with two or more candidates closed (called before any of them is told). */
  conflict?(report: WindowReport): void;
  /** `winner` is about to receive `arbiter.win`. */
  won?(winner: StagedOperation): void;
  /** `holder` is about to be preempted by `by`. */
  preempted?(holder: HeldOperation, by: Candidate, reason: string): void;
  /** `loser` lost to `winner` and stays staged for the next window (`onLose: 'retry'`), for its `losses`th time. */
  requeued?(loser: StagedOperation, winner: Candidate, losses: number): void;
  /**
   * Under `preempt`, the window's winner `by` outranked `holder` but the holder was still inside
   * its grace period (`ageMs` < `gracePeriodMs`): the holder keeps the target, the winner waits.
   */
  protected?(holder: Holder, by: Candidate, ageMs: number, gracePeriodMs: number): void;
  /** A custom `selectWinner` took `durationMs`, past `arbitrationTimeoutMs`: the window is rejected. */
  timedOut?(target: string, candidates: readonly Candidate[], timeoutMs: number, durationMs: number): void;
  /**
   * The coordinator of `target` stopped (its final state, or stopped from outside) or failed
   * (`error`), after ending every operation it still had (`ended` of them).
   */
  stopped?(target: string, coordinator: AnyActorRef, error?: unknown, ended?: number): void;
}

/**
 * One submission to a coordinator. `input` needs at least `id` and `execute`; the coordinator
 * fills the rest (its own target, `type: 'operation'`, `Priority.NORMAL`, a sequence number, the
 * clock time, the default retries for the priority, its `retry` and `random`).
 *
 * @example
 * ```ts
 * coordinator.send({ type: 'operation.submit', operation: { input: { id: 'w-1', priority: 8, execute } } });
 * ```
 */
export interface OperationSubmission {
  readonly input: Partial<OperationInput> & Pick<OperationInput, 'id' | 'execute'>;
  /** Subscribed to the operation's actor before it starts. */
  readonly observer?: Observer<AnyMachineSnapshot> | undefined;
  /** Told the operation's actor as soon as it exists (before it starts). */
  created?(actor: AnyActorRef): void;
}

/** What a coordinator is started with. Only `target` is required. */
export interface CoordinatorInput extends Partial<CoordinatorOptions> {
  target: string;
  /**
   * Settings shared by many coordinators (see {@link coordinatorSettings}): when given, the
   * individual options are ignored and nothing is copied per coordinator.
   */
  settings?: CoordinatorSettings | undefined;
}

/** A coordinator's options (all but the target). */
export interface CoordinatorOptions {
  /** @default 100 */
  windowMs: number;
  /** @default 200 */
  gracePeriodMs: number;
  /** @default 'preempt' */
  whileExecuting: WhileExecuting;
  /** Without work for this long the coordinator reaches its final state. @default 1000 */
  idleMs: number;
  /** @default 20 */
  maxStagedPerTarget: number;
  selectWinner: SelectWinner | undefined;
  /** The machine each operation runs. @default operationMachine */
  lifecycle: AnyStateMachine | undefined;
  /** Backoff between attempts of the operations it creates. @default DEFAULT_RETRY */
  retry: RetryOptions | undefined;
  random: (() => number) | undefined;
  port: CoordinatorPort | undefined;
  /** Where windows are decided. @default memoryBackend() */
  backend: ArbiterBackend | undefined;
  /**
   * A custom `selectWinner` that takes longer than this (measured when it returns: JavaScript
   * cannot interrupt it) has its window rejected `arbitration-failed`. @default no bound
   */
  arbitrationTimeoutMs: number | undefined;
}

/** Resolved coordinator options, one object shared by every coordinator of an arbiter. */
export interface CoordinatorSettings {
  readonly windowMs: number;
  readonly gracePeriodMs: number;
  readonly whileExecuting: WhileExecuting;
  readonly idleMs: number;
  readonly maxStagedPerTarget: number;
  readonly selectWinner: SelectWinner | undefined;
  readonly lifecycle: AnyStateMachine;
  readonly retry: RetryOptions;
  readonly random: () => number;
  readonly port: Required<CoordinatorPort>;
  readonly backend: ArbiterBackend;
  readonly arbitrationTimeoutMs: number | undefined;
}

/** The options a coordinator reads (besides `target` and `settings`). */
const COORDINATOR_OPTIONS = [
  'windowMs',
  'gracePeriodMs',
  'whileExecuting',
  'idleMs',
  'maxStagedPerTarget',
  'selectWinner',
  'lifecycle',
  'retry',
  'random',
  'port',
  'backend',
  'arbitrationTimeoutMs',
] as const;

/**
 * Resolves coordinator options once, to share between coordinators (`input.settings`). Each
 * field is read once; an unknown key (with a suggestion when one is close), or a delay that is
 * negative or past the timer limit, is an `ArbiterInputError` naming the field.
 *
 * @example
 * ```ts
 * const settings = coordinatorSettings({ windowMs: 50 });
 * createActor(coordinatorMachine, { input: { target: 'a', settings } });
 * ```
 */
export function coordinatorSettings(options: Partial<CoordinatorOptions> = {}, path = 'options'): CoordinatorSettings {
  return settingsFrom(readOptions(options, COORDINATOR_OPTIONS, path) as Partial<CoordinatorOptions>, path);
}

/** A coordinator's input without shared `settings`: read once, its own options checked as `input.…`. */
function settingsOfInput(input: CoordinatorInput): CoordinatorSettings {
  const o = readOptions(input, ['target', 'settings', ...COORDINATOR_OPTIONS], 'input') as CoordinatorInput;
  if (typeof o.target !== 'string') throw new ArbiterInputError('input.target', `Expected \`input.target\` to be a string, got ${kindOf(o.target)}`);
  return settingsFrom(o, 'input');
}

/** Checks a snapshot of coordinator options (each field already read once) and resolves it. */
function settingsFrom(o: Partial<CoordinatorOptions>, path: string): CoordinatorSettings {
  const at = (key: string) => `${path}.${key}`;
  for (const key of ['windowMs', 'gracePeriodMs', 'idleMs'] as const) if (o[key] !== undefined) expectDelay(o[key], at(key));
  if (o.whileExecuting !== undefined) expectOneOf(o.whileExecuting, at('whileExecuting'), ['preempt', 'queue', 'concurrent']);
  if (o.maxStagedPerTarget !== undefined) expectInteger(o.maxStagedPerTarget, at('maxStagedPerTarget'), 1);
  for (const key of ['selectWinner', 'random'] as const) if (o[key] !== undefined) expectFunction(o[key], at(key));
  return Object.freeze({
    windowMs: o.windowMs ?? 100,
    gracePeriodMs: o.gracePeriodMs ?? 200,
    whileExecuting: o.whileExecuting ?? 'preempt',
    idleMs: o.idleMs ?? 1000,
    maxStagedPerTarget: o.maxStagedPerTarget ?? 20,
    selectWinner: o.selectWinner,
    lifecycle: o.lifecycle ?? operationMachine,
    retry: o.retry ?? DEFAULT_RETRY,
    random: o.random ?? Math.random,
    port: resolvePort(o.port),
    backend: o.backend ?? memoryBackend(),
    arbitrationTimeoutMs: o.arbitrationTimeoutMs,
  });
}

/**
 * The coordinator's context. `staged`, `holders` and `waiting` are mutable maps owned by the
 * machine's own actions: copying them for every operation would make a window of n candidates
 * cost O(n²).
 */
export interface CoordinatorContext {
  readonly target: string;
  readonly settings: CoordinatorSettings;
  readonly channel: TargetChannel;
  readonly staged: Map<string, StagedOperation>;
  /** Operations holding the target; made on first use (most targets never hold more than briefly). */
  holders: Map<string, HeldOperation> | undefined;
  /** Operations created and not yet staged (in a step of their lifecycle before `staged`); made on first use. */
  waiting: Map<string, AnyActorRef> | undefined;
  windowOpenedAt: number;
  /** Windows closed so far (all of them, conflicts or not). */
  windows: number;
  /** Submissions received, the sequence of those that bring none. */
  seq: number;
  /** A window was handed to a backend that decides elsewhere; its decision has not arrived. */
  awaiting: boolean;
}

/** Events a coordinator understands. */
export type CoordinatorEvent =
  | { type: 'operation.submit'; operation: OperationSubmission }
  | { type: 'operation.staged'; id: string }
  | { type: 'xstate.done.actor.operation'; output: unknown }
  | { type: 'xstate.error.actor.operation'; error: unknown }
  | { type: 'backend.decided'; decision: ArbitrationDecision; report?: boolean }
  | { type: 'backend.leaseLost'; id: string; reason: string }
  | { type: 'backend.preempt'; id: string; reason: string }
  | { type: 'backend.unavailable'; error: Error }
  | { type: 'coordinator.shutdown'; reason?: string };

/** Windows an `onLose: 'retry'` operation may lose before it is rejected, by default. */
export const DEFAULT_MAX_LOSSES = 3;

/** The actor id every operation of a coordinator gets: their done events then share one type. */
export const OPERATION_ACTOR_ID = 'operation';

const noop = (): void => {};

function resolvePort(port: CoordinatorPort | undefined): Required<CoordinatorPort> {
  if (port && port.now && port.conflict && port.won && port.preempted && port.requeued && port.protected && port.timedOut && port.stopped) {
    return port as Required<CoordinatorPort>;
  }
  return {
    now: port?.now ? () => port.now!() : () => globalThis.performance.now(),
    conflict: port?.conflict ? (r) => port.conflict!(r) : noop,
    won: port?.won ? (w) => port.won!(w) : noop,
    preempted: port?.preempted ? (h, by, reason) => port.preempted!(h, by, reason) : noop,
    requeued: port?.requeued ? (l, w, n) => port.requeued!(l, w, n) : noop,
    protected: port?.protected ? (h, by, age, grace) => port.protected!(h, by, age, grace) : noop,
    timedOut: port?.timedOut ? (t, cs, timeout, d) => port.timedOut!(t, cs, timeout, d) : noop,
    stopped: port?.stopped ? (t, c, e, n) => port.stopped!(t, c, e, n) : noop,
  };
}

// The backend's way back into a coordinator, and the coordinator watching itself: small objects
// with methods on a prototype rather than closures, since there is one of each per coordinator.
class CoordinatorListener implements TargetListener {
  constructor(private readonly self: AnyActorRef) {}

  decided(decision: ArbitrationDecision, report?: boolean): void {
    this.self.send({ type: 'backend.decided', decision, ...(report === false ? { report: false } : {}) });
  }

  leaseLost(id: string, reason: string): void {
    this.self.send({ type: 'backend.leaseLost', id, reason });
  }

  preempt(id: string, reason: string): void {
    this.self.send({ type: 'backend.preempt', id, reason });
  }

  unavailable(error: Error): void {
    this.self.send({ type: 'backend.unavailable', error });
  }
}

class SelfWatch {
  constructor(private readonly self: AnyActorRef) {}

  private context(): CoordinatorContext {
    return this.self.getSnapshot().context as CoordinatorContext;
  }

  complete(): void {
    const context = this.context();
    endOperations(context, 'shutdown', 'the coordinator was stopped');
    context.channel.dispose();
    context.settings.port.stopped(context.target, this.self);
  }

  error(err: unknown): void {
    const context = this.context();
    const ended = endOperations(context, 'arbitration-failed', `the coordinator of ${context.target} failed: ${describeError(err)}`);
    context.channel.dispose();
    context.settings.port.stopped(context.target, this.self, err, ended);
  }
}

function topState(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object') return Object.keys(value)[0] ?? '';
  return '';
}

/** Fills what an embedding app may leave out; the arbiter sends complete inputs. */
function completeInput(context: CoordinatorContext, given: OperationSubmission['input']): OperationInput {
  const priority = given.priority ?? Priority.NORMAL;
  const effectivePriority = given.effectivePriority ?? priority;
  if (
    given.target === context.target &&
    given.type !== undefined &&
    given.seq !== undefined &&
    given.submittedAt !== undefined &&
    given.maxRetries !== undefined &&
    given.retry !== undefined &&
    given.effectivePriority !== undefined
  ) {
    return given as OperationInput;
  }
  return {
    ...given,
    target: context.target,
    type: given.type ?? 'operation',
    priority,
    effectivePriority,
    seq: given.seq ?? ++context.seq,
    submittedAt: given.submittedAt ?? context.settings.port.now(),
    maxRetries: given.maxRetries ?? defaultMaxRetries(effectivePriority),
    retry: given.retry ?? context.settings.retry,
    random: given.random ?? context.settings.random,
  };
}

// Frozen: a custom selectWinner sees it and must not change what the others compete on.
function candidateOf(input: OperationInput): Candidate {
  return Object.freeze({
    id: input.id,
    target: input.target,
    type: input.type,
    priority: input.priority,
    effectivePriority: input.effectivePriority,
    submittedAt: input.submittedAt,
    seq: input.seq,
    data: input.data,
  });
}

/**
 * Rejects a staged operation on the coordinator's own decision: forgets it first, then tells the
 * operation (its done event, which follows, then finds nothing left to do).
 *
 * @example
 * ```ts
 * rejectStaged(context, op, 'arbitration-failed', 'the coordinator failed');
 * ```
 */
export function rejectStaged(context: CoordinatorContext, op: StagedOperation, code: RejectionCode, reason: string): void {
  context.staged.delete(op.input.id);
  context.channel.withdraw(op.input.id);
  op.actor.send({ type: 'arbiter.reject', code, reason });
}

function stage(context: CoordinatorContext, input: OperationInput, actor: AnyActorRef): void {
  const max = context.settings.maxStagedPerTarget;
  if (context.staged.size >= max) {
    actor.send({
      type: 'arbiter.reject',
      code: 'staging-full',
      reason: `target ${context.target} already has ${context.staged.size} staged operations (maxStagedPerTarget ${max})`,
    });
    return;
  }
  context.staged.set(input.id, { input, actor });
  // A backend that decides in this process gets the candidates when the window closes.
  if (!context.settings.backend.decidesLocally) context.channel.stage(candidateOf(input));
}

function holdersOf(context: CoordinatorContext): Holder[] {
  const out: Holder[] = [];
  for (const h of context.holders?.values() ?? []) {
    out.push(Object.freeze({ id: h.id, priority: h.priority, effectivePriority: h.effectivePriority, startedAt: h.startedAt }));
  }
  return out;
}

/** Applies a window's decision to this process's operations (others' ids are not found here). */
function applyDecision(context: CoordinatorContext, decision: ArbitrationDecision, candidates: readonly Candidate[], durationMs: number, report = true): void {
  const { staged, holders, target } = context;
  const { port } = context.settings;
  context.awaiting = false;
  if (decision.kind === 'empty') return;
  // Losers that retry stay staged for the next window, until their loss budget is spent.
  const requeued: StagedOperation[] = [];
  if (decision.kind !== 'none') {
    for (const c of decision.losers) {
      const op = staged.get(c.id);
      if (op !== undefined && op.input.onLose === 'retry' && (op.losses ?? 0) + 1 < (op.input.maxLosses ?? DEFAULT_MAX_LOSSES)) requeued.push(op);
    }
  }
  if (report && candidates.length > 1) {
    const requeuedIds = requeued.length === 0 ? NO_IDS : Object.freeze(requeued.map((op) => op.input.id));
    port.conflict({ target, windowOpenedAt: context.windowOpenedAt, candidates, decision, requeued: requeuedIds, durationMs });
  }
  if (decision.kind === 'none') {
    for (const c of decision.losers) {
      const op = staged.get(c.id);
      if (op) rejectStaged(context, op, decision.code, decision.reason);
    }
    return;
  }
  const { winner } = decision;
  for (const op of requeued) {
    op.losses = (op.losses ?? 0) + 1;
    port.requeued(op, winner, op.losses);
    // A shared backend dropped it with the window: it joins the next one.
    if (!context.settings.backend.decidesLocally) context.channel.stage(candidateOf(op.input));
  }
  const staying = requeued.length > 0 ? new Set(requeued) : undefined;
  for (const c of decision.losers) {
    const op = staged.get(c.id);
    if (!op || staying?.has(op)) continue;
    const reason = op.losses === undefined ? lostReason(c, winner) : `${lostReason(c, winner)}, after losing ${op.losses + 1} windows`;
    rejectStaged(context, op, 'lost-arbitration', reason);
  }
  if (decision.kind === 'hold') {
    if (context.settings.whileExecuting === 'preempt') protectedBy(context, decision.winner, decision.blockedBy);
    return;
  }
  const now = port.now();
  for (const h of decision.preempt) {
    const held = holders?.get(h.id);
    if (!held) continue;
    holders!.delete(h.id);
    const reason = `preempted by ${winner.id} (priority ${winner.effectivePriority} vs ${h.effectivePriority}) after ${Math.round(now - h.startedAt)} ms`;
    port.preempted(held, winner, reason);
    context.channel.release(h.id);
    held.actor.send({ type: 'arbiter.preempt', reason });
  }
  const op = staged.get(winner.id);
  if (!op) return;
  staged.delete(winner.id);
  (context.holders ??= new Map()).set(winner.id, {
    id: winner.id,
    priority: winner.priority,
    effectivePriority: winner.effectivePriority,
    startedAt: now,
    actor: op.actor,
  });
  port.won(op);
  op.actor.send(decision.fence !== undefined ? { type: 'arbiter.win', fence: decision.fence } : { type: 'arbiter.win' });
}

const NO_IDS: readonly string[] = Object.freeze([]);

/** Tells the port about each holder that its grace period kept from being preempted by `winner`. */
function protectedBy(context: CoordinatorContext, winner: Candidate, holders: readonly Holder[]): void {
  const { port, gracePeriodMs } = context.settings;
  const now = port.now();
  for (const h of holders) {
    const age = now - h.startedAt;
    if (h.effectivePriority < winner.effectivePriority && age < gracePeriodMs) port.protected(h, winner, age, gracePeriodMs);
  }
}

/** Ends every operation of a coordinator that stopped or failed: none is left without a final state. */
function operationsOf(context: CoordinatorContext): AnyActorRef[] {
  return [...(context.waiting?.values() ?? []), ...[...context.staged.values()].map((o) => o.actor), ...[...(context.holders?.values() ?? [])].map((h) => h.actor)];
}

function endOperations(context: CoordinatorContext, code: RejectionCode, reason: string): number {
  const actors = operationsOf(context);
  context.waiting?.clear();
  context.staged.clear();
  context.holders?.clear();
  for (const actor of actors) {
    actor.send(code === 'shutdown' ? { type: 'arbiter.shutdown' } : { type: 'arbiter.abort', code, reason });
    // A lifecycle of the user's that ignores `arbiter.abort` still ends on shutdown.
    if (actor.getSnapshot().status === 'active') actor.send({ type: 'arbiter.shutdown' });
  }
  return actors.length;
}

/**
 * One coordinator per target. It creates the operations submitted to it (each an actor whose
 * parent is the coordinator, in the coordinator's own small actor system), opens a window on the
 * first staged candidate, closes it after `windowMs` and has it decided by its backend (the pure
 * `arbitrate()` in this process by default), rejects the losers, starts or holds the winner
 * (grace-period preemption under `whileExecuting: 'preempt'`), forgets each operation when its
 * done event arrives, and reaches its final state `stopped` after `idleMs` without work.
 * Stopping it, or its failure, ends every operation it still has (`shutdown`, or
 * `arbitration-failed` for the staged ones of a failed coordinator).
 *
 * States: `idle` (nothing staged or held), `collecting` (a window is open), `awaiting` (a shared
 * backend decides it elsewhere), `busy` (a window just closed, or something holds the target with
 * nothing staged), `stopped` (final).
 *
 * @example
 * ```ts
 * import { createActor } from 'xstate';
 * import { coordinatorMachine } from 'xstate-arbiter';
 * const coordinator = createActor(coordinatorMachine, { input: { target: 'account-42', windowMs: 50 } }).start();
 * coordinator.send({ type: 'operation.submit', operation: { input: { id: 'w-1', priority: 8, execute: async () => 'done' },
 *   observer: { next: (s) => s.status === 'done' && console.log(s.value, s.context.result) } } });
 * ```
 */
export const coordinatorMachine = setup({
  types: {
    context: {} as CoordinatorContext,
    events: {} as CoordinatorEvent,
    input: {} as CoordinatorInput,
  },
  delays: {
    window: ({ context }) => context.settings.windowMs,
    idle: ({ context }) => context.settings.idleMs,
  },
  guards: {
    hasStaged: ({ context }) => context.staged.size > 0,
    hasHolders: ({ context }) => (context.holders?.size ?? 0) > 0,
    noHolders: ({ context }) => (context.holders?.size ?? 0) === 0,
    isAwaiting: ({ context }) => context.awaiting,
    nothingWaiting: ({ context }) => (context.waiting?.size ?? 0) === 0,
    // The base lifecycle is staged as soon as it is admitted: its submission can open the window
    // in the same step (no eventless step after it). Other lifecycles may wait in a step first.
    stagesOnAdmit: ({ context }) => context.settings.lifecycle === operationMachine,
    // The done event of the only operation left: straight to idle, without an eventless step.
    lastOperation: ({ context, event }) =>
      context.staged.size === 0 &&
      (context.waiting?.size ?? 0) === 0 &&
      context.holders?.size === 1 &&
      context.holders.has((event as { output?: { id?: string } }).output?.id as string),
  },
  actions: {
    // Stopping a coordinator from outside runs no exit action: it watches itself instead, so that
    // its operations (which XState does not stop with it) still end.
    watchSelf: ({ self }) => {
      self.subscribe(new SelfWatch(self));
    },
    spawnOperation: ({ context, event, self }) => {
      if (event.type !== 'operation.submit') return;
      const submission = event.operation;
      const input = completeInput(context, submission.input);
      const actor = createActor(context.settings.lifecycle, { parent: self, id: OPERATION_ACTOR_ID, input });
      submission.created?.(actor);
      if (submission.observer) actor.subscribe(submission.observer);
      actor.start();
      actor.send({ type: 'arbiter.admit' });
      const snapshot = actor.getSnapshot() as AnyMachineSnapshot;
      if (snapshot.status !== 'active') return;
      if (topState(snapshot.value) === 'staged') {
        stage(context, input, actor);
        return;
      }
      // A lifecycle with steps before `staged`: competes once it gets there.
      (context.waiting ??= new Map()).set(input.id, actor);
      const watch = actor.subscribe((s: AnyMachineSnapshot) => {
        if (s.status === 'active' && topState(s.value) !== 'staged') return;
        watch.unsubscribe();
        if (s.status === 'active') self.send({ type: 'operation.staged', id: input.id });
      });
    },
    stageWaiting: ({ context, event }) => {
      if (event.type !== 'operation.staged') return;
      const actor = context.waiting?.get(event.id);
      if (!actor) return;
      context.waiting!.delete(event.id);
      const snapshot = actor.getSnapshot() as AnyMachineSnapshot;
      if (snapshot.status === 'active') stage(context, snapshot.context as OperationInput, actor);
    },
    forget: ({ context, event }) => {
      let id: string | undefined;
      if (event.type === 'xstate.done.actor.operation') id = (event.output as { id?: unknown } | undefined)?.id as string | undefined;
      if (id !== undefined) {
        forgetOne(context, id);
        return;
      }
      // A lifecycle without the base machine's output, or an operation actor that failed: find
      // the ones that are no longer active.
      for (const [key, op] of context.staged) if (op.actor.getSnapshot().status !== 'active') forgetOne(context, key);
      for (const [key, h] of context.holders ?? []) if (h.actor.getSnapshot().status !== 'active') forgetOne(context, key);
      for (const [key, a] of context.waiting ?? []) if (a.getSnapshot().status !== 'active') forgetOne(context, key);
    },
    openWindow: ({ context }) => {
      context.windowOpenedAt = context.settings.port.now();
    },
    closeWindow: ({ context }) => {
      context.windows++;
      const candidates: Candidate[] = [];
      for (const op of context.staged.values()) candidates.push(candidateOf(op.input));
      if (candidates.length === 0) return;
      const started = globalThis.performance.now();
      const holders = holdersOf(context);
      const decision = context.channel.decide({
        // A custom selectWinner gets its own frozen list: whatever it does, this one stays intact.
        candidates: context.settings.selectWinner ? Object.freeze(candidates.slice()) : candidates,
        holders,
        policy: context.settings,
        ctx: Object.freeze({ target: context.target, now: context.settings.port.now(), windowOpenedAt: context.windowOpenedAt, executing: Object.freeze(holders) }),
      });
      if (decision === undefined) {
        context.awaiting = true;
        return;
      }
      const durationMs = globalThis.performance.now() - started;
      const bound = context.settings.arbitrationTimeoutMs;
      if (bound !== undefined && context.settings.selectWinner !== undefined && durationMs > bound && decision.kind !== 'empty') {
        context.settings.port.timedOut(context.target, candidates, bound, durationMs);
        applyDecision(
          context,
          {
            kind: 'none',
            code: 'arbitration-failed',
            reason: `selectWinner took ${Math.round(durationMs)} ms, past arbitrationTimeoutMs ${bound}`,
            losers: candidates,
          },
          candidates,
          durationMs,
        );
        return;
      }
      applyDecision(context, decision, candidates, durationMs);
    },
    applyRemoteDecision: ({ context, event }) => {
      if (event.type !== 'backend.decided') return;
      const d = event.decision;
      const candidates = d.kind === 'empty' ? [] : d.kind === 'none' ? d.losers : [d.winner, ...d.losers];
      applyDecision(context, d, candidates, 0, event.report !== false);
    },
    leaseLost: ({ context, event }) => {
      if (event.type !== 'backend.leaseLost') return;
      const held = context.holders?.get(event.id);
      if (!held) return;
      context.holders!.delete(event.id);
      held.actor.send({ type: 'arbiter.abort', code: 'backend-unavailable', reason: event.reason });
    },
    preemptRemote: ({ context, event }) => {
      if (event.type !== 'backend.preempt') return;
      const held = context.holders?.get(event.id);
      if (!held) return;
      context.holders!.delete(event.id);
      held.actor.send({ type: 'arbiter.preempt', reason: event.reason });
    },
    backendLost: ({ context, event }) => {
      if (event.type !== 'backend.unavailable') return;
      context.awaiting = false;
      endOperations(context, 'backend-unavailable', `the backend is unavailable: ${describeError(event.error)}`);
    },
    shutdown: enqueueActions(({ context, enqueue }) => {
      const actors = operationsOf(context);
      endOperations(context, 'shutdown', 'the arbiter was stopped');
      // A lifecycle that ignores shutdown is stopped outright: its parent may stop it.
      for (const actor of actors) if (actor.getSnapshot().status === 'active') enqueue.stopChild(actor);
    }),
  },
}).createMachine({
  id: 'coordinator',
  initial: 'idle',
  context: ({ input, self }) => {
    const settings = input.settings ?? settingsOfInput(input);
    const context: CoordinatorContext = {
      target: input.target,
      settings,
      channel: settings.backend.open(input.target, new CoordinatorListener(self), settings),
      staged: new Map(),
      holders: undefined,
      waiting: undefined,
      windowOpenedAt: 0,
      windows: 0,
      seq: 0,
      awaiting: false,
    };
    return context;
  },
  entry: 'watchSelf',
  on: {
    'operation.submit': { actions: 'spawnOperation' },
    'operation.staged': { actions: 'stageWaiting' },
    'xstate.done.actor.operation': { actions: 'forget' },
    'xstate.error.actor.operation': { actions: 'forget' },
    'backend.decided': { target: '.busy', actions: 'applyRemoteDecision' },
    'backend.preempt': { actions: 'preemptRemote' },
    'backend.leaseLost': { actions: 'leaseLost' },
    'backend.unavailable': { target: '.busy', actions: 'backendLost' },
    'coordinator.shutdown': { target: '.stopped', actions: 'shutdown' },
  },
  states: {
    idle: {
      on: {
        'operation.submit': [{ guard: 'stagesOnAdmit', target: 'collecting', actions: 'spawnOperation' }, { actions: 'spawnOperation' }],
        // An operation that waited in a step before staging and ended there: the idle time starts again.
        'xstate.done.actor.operation': { target: 'idle', reenter: true, actions: 'forget' },
        'xstate.error.actor.operation': { target: 'idle', reenter: true, actions: 'forget' },
      },
      always: { guard: 'hasStaged', target: 'collecting' },
      // Operations waiting in a step before staging keep their coordinator (they still compete).
      after: { idle: { guard: 'nothingWaiting', target: 'stopped' } },
    },
    collecting: {
      entry: 'openWindow',
      after: { window: { target: 'busy', actions: 'closeWindow' } },
    },
    awaiting: {},
    busy: {
      on: {
        'operation.submit': [{ guard: 'stagesOnAdmit', target: 'collecting', actions: 'spawnOperation' }, { actions: 'spawnOperation' }],
        'xstate.done.actor.operation': [{ guard: 'lastOperation', target: 'idle', actions: 'forget' }, { actions: 'forget' }],
      },
      always: [
        { guard: 'isAwaiting', target: 'awaiting' },
        { guard: 'hasStaged', target: 'collecting' },
        { guard: 'noHolders', target: 'idle' },
      ],
    },
    stopped: { type: 'final' },
  },
});

function forgetOne(context: CoordinatorContext, id: string): void {
  if (context.staged.delete(id)) {
    context.channel.withdraw(id);
    return;
  }
  if (context.holders?.delete(id)) {
    context.channel.release(id);
    return;
  }
  context.waiting?.delete(id);
}

/** The coordinator machine's type. */
export type CoordinatorMachine = typeof coordinatorMachine;
/** A running coordinator. */
export type CoordinatorActorRef = ActorRefFrom<CoordinatorMachine>;
/** A coordinator snapshot. */
export type CoordinatorSnapshot = SnapshotFrom<CoordinatorMachine>;
