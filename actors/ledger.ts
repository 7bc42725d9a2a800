import type { ArbiterEvent } from '../src/events.js';
import { REJECTION_CODES, type RejectionCode } from '../src/types.js';

/** What the ledger counts, as `arbiter.metrics()` shows it. */
export interface LedgerCounts {
  readonly submitted: number;
  readonly completed: number;
  readonly rejected: number;
  /** Windows that closed with two or more candidates. */
  readonly conflicts: number;
  readonly rejectedByCode: Readonly<Record<RejectionCode, number>> & Readonly<Record<string, number>>;
  /** Operations in their `staged` state now (competing, or held for the next window). */
  readonly staged: number;
  /** Operations holding a target now (won, not final). */
  readonly executing: number;
  /** Coordinators running now. */
  readonly coordinators: number;
}

/**
 * The accounting fold of the event stream: every counter and gauge of the core metrics, computed
 * from `events$` alone, so `metrics()` says exactly what the events said. Keys that come from
 * users (targets, custom rejection codes) live in maps and null-prototype objects, so any string
 * (`__proto__` included) is a plain key.
 *
 * @example
 * ```ts
 * const ledger = new Ledger();
 * arbiter.events$.subscribe((e) => ledger.observe(e));
 * ledger.counts().submitted;
 * ```
 */
export class Ledger {
  private submitted = 0;
  private completed = 0;
  private rejected = 0;
  private conflicts = 0;
  private coordinators = 0;
  private staged = 0;
  private executing = 0;
  private readonly byCode: Record<string, number> = Object.create(null);
  // Gauges are folded from the events' own fields (a won operation was staged; a rejected one
  // says the state it left and whether it had won): nothing is kept per operation.
  private readonly stagedPerTarget = new Map<string, number>();

  /** `codes`: the codes counted from the start (the built-in ones and the lifecycle's). */
  constructor(codes: readonly string[] = REJECTION_CODES) {
    for (const code of codes) this.byCode[code] = 0;
  }

  /** Folds one event in. */
  observe(e: ArbiterEvent): void {
    switch (e.type) {
      case 'operation.submitted':
        this.submitted++;
        break;
      case 'operation.staged':
        this.staged++;
        this.stagedPerTarget.set(e.target, (this.stagedPerTarget.get(e.target) ?? 0) + 1);
        break;
      case 'conflict.resolved':
        this.conflicts++;
        break;
      case 'operation.won':
        this.unstage(e.target);
        this.executing++;
        break;
      case 'operation.completed':
        this.completed++;
        this.executing--;
        break;
      case 'operation.rejected':
        this.rejected++;
        this.byCode[e.code] = (this.byCode[e.code] ?? 0) + 1;
        if (e.won) this.executing--;
        else if (e.from === 'staged') this.unstage(e.target);
        break;
      case 'coordinator.started':
        this.coordinators++;
        break;
      case 'coordinator.stopped':
      case 'coordinator.failed':
        this.coordinators--;
        break;
      default:
        break;
    }
  }

  /** The counters now (copies). */
  counts(): LedgerCounts {
    return {
      submitted: this.submitted,
      completed: this.completed,
      rejected: this.rejected,
      conflicts: this.conflicts,
      rejectedByCode: { ...this.byCode } as LedgerCounts['rejectedByCode'],
      staged: this.staged,
      executing: this.executing,
      coordinators: this.coordinators,
    };
  }

  /** The counts, as the ledger actor's context. */
  summary(): LedgerCounts {
    return this.counts();
  }

  /** Staged operations per target (targets with none are left out). */
  stagedByTarget(): IterableIterator<[string, number]> {
    return this.stagedPerTarget.entries();
  }

  private unstage(target: string): void {
    this.staged--;
    const n = (this.stagedPerTarget.get(target) ?? 1) - 1;
    if (n > 0) this.stagedPerTarget.set(target, n);
    else this.stagedPerTarget.delete(target);
  }
}
