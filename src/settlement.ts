import type { AnyMachineSnapshot } from 'xstate';
import type { Supervisor } from '../actors/supervisor.js';
import type { CoordinatorPort, HeldOperation, StagedOperation, WindowReport } from '../machines/coordinator.machine.js';
import { describeError } from './errors.js';
import { suggest } from './keys.js';
import type { EventBus } from './events.js';
import type { OperationInfo, OperationRecord, RecordEngine } from './records.js';
import type { Promotion } from './store/promotion.js';
import type { Timers } from './timers.js';
import type { Candidate, Holder, OperationStatus, RejectionCode } from './types.js';

/** What a {@link Settlement} works with. @internal */
export interface SettlementParts {
  readonly bus: EventBus;
  readonly timers: Timers;
  readonly supervisor: () => Supervisor;
  readonly promotion: Promotion | undefined;
  /** Live operations by id; a settled one leaves it after its final event. */
  readonly live: Map<string, OperationRecord>;
  /** The events of the lifecycle (`eventsOf`): what `handle.send` accepts. */
  readonly events: readonly string[];
  /** Whether an execution error counts as a failure (see `ArbiterOptions.isFailure`). */
  readonly isFailure: (error: unknown, operation: OperationInfo) => boolean;
}

const EXECUTION_ERRORS = new Set<string>(['execution-failed', 'retries-exhausted']);

const FINAL = new Set<OperationStatus>(['completed', 'rejected']);

function topState(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object') return Object.keys(value)[0] ?? 'unknown';
  return 'unknown';
}

/**
 * Turns what operations and coordinators do into the arbiter's state and events: status changes
 * of each operation (its actor's observer calls {@link observe}), a window's outcome and its
 * winner (as the coordinators' port), and the one settlement of every operation
 * ({@link finalize}): its final status, the release of its staging capacity and its store
 * record, its final event, its promise. Accounting is a fold of these events (see `Ledger`).
 * @internal
 */
export class Settlement implements RecordEngine, CoordinatorPort {
  private drainWaiters: Array<() => void> = [];
  /** The operation whose final event is being emitted. */
  settling: OperationRecord | undefined = undefined;

  constructor(private readonly parts: SettlementParts) {}

  now(): number {
    return this.parts.timers.now();
  }

  unknownEvent(type: string): string | undefined {
    const { events } = this.parts;
    if (events.includes(type)) return undefined;
    for (const e of events) {
      if (e === '*' || (e.endsWith('.*') && type.startsWith(e.slice(0, -1)))) return undefined;
    }
    const hint = suggest(type, events);
    return `Expected \`event.type\` to be an event of the operation's lifecycle, got ${JSON.stringify(type)}${hint ? ` (did you mean \`${hint}\`?)` : ''}; its events: ${events.length > 0 ? events.join(', ') : 'none (see extendLifecycle)'}`;
  }

  // --- the coordinators' port ---------------------------------------------------------------

  conflict(report: WindowReport): void {
    const { bus } = this.parts;
    const candidateIds = Object.freeze(report.candidates.map((c) => c.id));
    bus.emit({ type: 'conflict.detected', target: report.target, candidateIds, windowOpenedAt: report.windowOpenedAt });
    const d = report.decision;
    const decided = d.kind === 'start' || d.kind === 'hold';
    const processIds = processesOf(report.candidates);
    bus.emit({
      type: 'conflict.resolved',
      target: report.target,
      candidateIds,
      winnerId: decided ? d.winner.id : null,
      loserIds: Object.freeze(d.kind === 'empty' ? [] : (report.requeued.length === 0 ? d.losers : d.losers.filter((c) => !report.requeued.includes(c.id))).map((c) => c.id)),
      ...(report.requeued.length > 0 ? { requeuedIds: report.requeued } : {}),
      decision: d.kind === 'start' ? 'start' : d.kind === 'hold' ? 'hold' : 'none',
      ...(d.kind === 'none' ? { code: d.code } : {}),
      ...(decided ? { priority: d.winner.effectivePriority } : {}),
      ...(processIds !== undefined ? { processIds } : {}),
      durationMs: report.durationMs,
    });
  }

  won(op: StagedOperation): void {
    const record = this.parts.live.get(op.input.id);
    if (record === undefined) return;
    record.won = true;
    record.startedAt = this.now();
    if (record.admitted) this.parts.supervisor().decided(record.target);
    const { promotion, bus } = this.parts;
    let promotionMs: number | undefined;
    if (promotion) {
      const t0 = globalThis.performance.now();
      record.storeId = promotion.promote(record);
      promotionMs = globalThis.performance.now() - t0;
    }
    bus.emit({
      type: 'operation.won',
      target: record.target,
      operationId: record.id,
      priority: record.effectivePriority,
      ...(record.storeId !== undefined ? { storeId: record.storeId } : {}),
      ...(promotionMs !== undefined ? { promotionMs } : {}),
    });
    if (promotionMs !== undefined) {
      bus.emit({ type: 'operation.promoted', target: record.target, operationId: record.id, durationMs: promotionMs, ok: record.storeId !== undefined });
    }
  }

  requeued(loser: StagedOperation, winner: Candidate, losses: number): void {
    this.parts.bus.emit({ type: 'operation.requeued', target: winner.target, operationId: loser.input.id, losses, winnerId: winner.id });
  }

  protected(held: Holder, by: Candidate, ageMs: number, gracePeriodMs: number): void {
    this.parts.bus.emit({
      type: 'operation.protected',
      target: by.target,
      operationId: held.id,
      priority: held.effectivePriority,
      byId: by.id,
      byPriority: by.effectivePriority,
      ageMs,
      gracePeriodMs,
    });
  }

  timedOut(target: string, candidates: readonly Candidate[], timeoutMs: number, durationMs: number): void {
    this.parts.bus.emit({
      type: 'arbitration.timedOut',
      target,
      candidateIds: Object.freeze(candidates.map((c) => c.id)),
      timeoutMs,
      durationMs,
    });
  }

  preempted(held: HeldOperation, by: Candidate, reason: string): void {
    this.parts.bus.emit({
      type: 'operation.preempted',
      target: by.target,
      operationId: held.id,
      priority: held.effectivePriority,
      byId: by.id,
      reason,
    });
  }

  // --- the records' engine ------------------------------------------------------------------

  observe(record: OperationRecord, snapshot: AnyMachineSnapshot): void {
    const status = topState(snapshot.value);
    const from = record.status;
    if (status === from) return;
    record.status = status;
    if (snapshot.status === 'done' || FINAL.has(status)) {
      this.settle(record, snapshot, undefined, from);
      return;
    }
    record.changed();
    const { bus } = this.parts;
    const ctx = snapshot.context as { attempt?: number; error?: unknown };
    switch (status) {
      case 'staged':
        bus.emit({
          type: 'operation.staged',
          target: record.target,
          operationId: record.id,
          priority: record.priority,
          effectivePriority: record.effectivePriority,
        });
        break;
      case 'executing':
        record.attempt = ctx.attempt ?? record.attempt + 1;
        record.firstStartedAt ??= this.now();
        bus.emit({
          type: 'operation.started',
          target: record.target,
          operationId: record.id,
          operationType: record.type,
          priority: record.effectivePriority,
          attempt: record.attempt,
        });
        break;
      case 'retrying':
        bus.emit({
          type: 'operation.retrying',
          target: record.target,
          operationId: record.id,
          attempt: ctx.attempt ?? record.attempt,
          reason: describeError(ctx.error),
        });
        break;
      default:
        break;
    }
  }

  /**
   * Settles an operation once: from its final snapshot, or from a failure of its actor
   * (`error`), or by the arbiter itself (a refusal before any coordinator, a forced shutdown).
   */
  finalize(record: OperationRecord, snapshot: AnyMachineSnapshot | undefined, error?: unknown): void {
    this.settle(record, snapshot, error, record.status);
  }

  private settle(record: OperationRecord, snapshot: AnyMachineSnapshot | undefined, error: unknown, from: OperationStatus): void {
    if (!record.open) return;
    record.open = false;
    const { timers, live, bus } = this.parts;
    if (record.timer !== undefined) {
      timers.clear(record.timer);
      record.timer = undefined;
    }
    const ctx = (snapshot?.context ?? {}) as { result?: unknown; error?: unknown; code?: RejectionCode; reason?: string; attempt?: number };
    record.finishedAt = this.now();
    record.attempt = ctx.attempt ?? record.attempt;
    const completed = snapshot !== undefined && error === undefined && record.status === 'completed';
    if (!completed) {
      record.status = 'rejected';
      record.code = ctx.code ?? 'execution-failed';
      record.reason = ctx.reason ?? (error !== undefined ? `operation actor failed: ${describeError(error)}` : 'rejected without a reason');
    }
    if (record.admitted && !record.won) this.parts.supervisor().decided(record.target);
    if (record.storeId !== undefined) this.parts.promotion!.settle(record.storeId, record.id, completed ? 'completed' : 'rejected', record.code);
    const durationMs = record.finishedAt - record.submittedAt;
    const cause = error ?? ctx.error;
    const expected = !completed && record.won && EXECUTION_ERRORS.has(record.code!) && !this.failure(cause, record);
    // No longer in flight when its final event is seen (so the accounting holds at that event),
    // but still reachable as `settling` for the cleanup observer, which keeps its audit record.
    live.delete(record.id);
    const outer = this.settling;
    this.settling = record;
    if (completed) {
      bus.emit({
        type: 'operation.completed',
        target: record.target,
        operationId: record.id,
        operationType: record.type,
        priority: record.effectivePriority,
        attempt: record.attempt,
        durationMs,
        executionMs: record.finishedAt - (record.firstStartedAt ?? record.finishedAt),
      });
    } else {
      bus.emit({
        type: 'operation.rejected',
        target: record.target,
        operationId: record.id,
        operationType: record.type,
        priority: record.effectivePriority,
        code: record.code!,
        reason: record.reason!,
        attempt: record.attempt,
        durationMs,
        won: record.won,
        from,
        ...(expected ? { expected } : {}),
      });
    }
    this.settling = outer;
    record.changed();
    if (completed) record.succeed(ctx.result);
    else record.fail(cause);
    if (live.size === 0 && this.drainWaiters.length > 0) {
      const waiters = this.drainWaiters;
      this.drainWaiters = [];
      for (const w of waiters) w();
    }
  }

  // A classifier that throws counts the error as a failure: the safe side for a breaker. It gets
  // a frozen copy (`info()`), never the live record: a write to that would reach the arbiter's
  // own state (its listeners, its status) while the operation settles.
  private failure(error: unknown, record: OperationRecord): boolean {
    try {
      return this.parts.isFailure(error, record.info()) !== false;
    } catch {
      return true;
    }
  }

  /** Settles an operation the arbiter refused before it reached a coordinator. */
  refuse(record: OperationRecord, code: RejectionCode, reason: string): void {
    const from = record.status;
    record.status = 'rejected';
    this.settle(record, { context: { code, reason } } as unknown as AnyMachineSnapshot, undefined, from);
  }

  /** Resolves when nothing is in flight. */
  drained(): Promise<void> {
    if (this.parts.live.size === 0) return Promise.resolve();
    return new Promise<void>((resolve) => this.drainWaiters.push(resolve));
  }
}

/** Candidates of a shared backend carry the process that staged them; in memory none does (one look). */
function processesOf(candidates: readonly Candidate[]): Readonly<Record<string, string>> | undefined {
  if (typeof (candidates[0] as { processId?: unknown } | undefined)?.processId !== 'string') return undefined;
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const c of candidates) {
    const p = (c as { processId?: unknown }).processId;
    if (typeof p === 'string') out[c.id] = p;
  }
  return Object.freeze(out);
}
