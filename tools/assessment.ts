/**
 * The judgements of a stress report, as pure functions of what a run measured: grace-period
 * protection, entity modifications by kind, the memory status, and the system assessment whose
 * verdict is computed from its checks.
 */
import type { OperationType } from './common.js';

// ─── Grace-period protection ────────────────────────────────────────────────────────────────────

/** An executing operation as an arbitration decision sees it. */
export interface GraceHolder {
  readonly id: string;
  readonly effectivePriority: number;
  /** When it won its target, on the same clock as `now`. */
  readonly startedAt: number;
}

/** What the grace period did during a run. */
export interface GraceFigures {
  readonly gracePeriodMs: number;
  /** Decisions in which a winner outranked an executing operation still inside its grace period. */
  readonly protections: number;
  /** Distinct executing operations protected at least once. */
  readonly protectedOperations: number;
  /** Protected operations that then finished without being preempted. */
  readonly saved: number;
  /** Preemptions, every one of them of an operation past its grace period. */
  readonly preemptedAfterGrace: number;
  /** Preemptions of an operation younger than its grace period (a broken guarantee: must be 0). */
  readonly preemptedInsideGrace: number;
  /** The youngest preempted operation's age at the decision, in ms (`undefined` without any). */
  readonly minPreemptedAgeMs: number | undefined;
}

/**
 * Follows the grace period through a run: each arbitration decision tells it the executing
 * operations and the winner (`decision`), each preemption and final outcome what happened next.
 * A holder outranked inside its grace period is *protected*; one protected and then finished
 * without preemption is *saved*; a preemption is checked against the age the decision saw.
 *
 * @example
 * ```ts
 * const grace = new GraceTracker(200);
 * grace.decision(150, [{ id: 'low', effectivePriority: 2, startedAt: 0 }], { effectivePriority: 10 });
 * grace.finished('low', 'completed');
 * grace.figures().saved; // 1
 * ```
 */
export class GraceTracker {
  private protections = 0;
  private readonly protectedIds = new Set<string>();
  private readonly ageAtDecision = new Map<string, number>();
  private preemptions = 0;
  private insideGrace = 0;
  private minAge: number | undefined;
  private saved = 0;
  private protectedCount = 0;

  constructor(readonly gracePeriodMs: number) {}

  /** A window was decided at `now` with `winner` while `holders` were executing. */
  decision(now: number, holders: readonly GraceHolder[], winner: { readonly effectivePriority: number }): void {
    for (const h of holders) {
      if (h.effectivePriority >= winner.effectivePriority) continue;
      const age = now - h.startedAt;
      if (age < this.gracePeriodMs) {
        this.protections++;
        if (!this.protectedIds.has(h.id)) {
          this.protectedIds.add(h.id);
          this.protectedCount++;
        }
      } else {
        this.ageAtDecision.set(h.id, age);
      }
    }
  }

  /**
   * Without the decisions (a shared backend decides elsewhere): an `operation.protected` event
   * about `id` (a holder of any process).
   */
  protectedEvent(id: string): void {
    this.protections++;
    if (!this.protectedIds.has(id)) {
      this.protectedIds.add(id);
      this.protectedCount++;
    }
  }

  /**
   * Without the decisions: `id`, a holder of this process, had run `ageMs` when it heard of its
   * preemption (a little more than at the decision: the news travels).
   */
  preemptedAfter(id: string, ageMs: number): void {
    this.ageAtDecision.set(id, ageMs);
    this.preempted(id);
  }

  /** `id` was preempted. */
  preempted(id: string): void {
    this.preemptions++;
    const age = this.ageAtDecision.get(id);
    if (age === undefined || age < this.gracePeriodMs) this.insideGrace++;
    if (age !== undefined && (this.minAge === undefined || age < this.minAge)) this.minAge = age;
  }

  /** `id` reached a final state (its rejection code, or `completed`). */
  finished(id: string, outcome: string): void {
    if (this.protectedIds.delete(id) && outcome !== 'preempted') this.saved++;
    this.ageAtDecision.delete(id);
  }

  figures(): GraceFigures {
    return {
      gracePeriodMs: this.gracePeriodMs,
      protections: this.protections,
      protectedOperations: this.protectedCount,
      saved: this.saved,
      preemptedAfterGrace: this.preemptions - this.insideGrace,
      preemptedInsideGrace: this.insideGrace,
      minPreemptedAgeMs: this.minAge,
    };
  }
}

// ─── Entity modifications by kind ───────────────────────────────────────────────────────────────

/** What each real operation does to its target. */
export const MODIFICATION_KIND: Readonly<Record<OperationType, 'versioning' | 'fieldWrites' | 'borrowing' | 'promote' | 'detach'>> = {
  version_entity: 'versioning',
  modify_field: 'fieldWrites',
  complex_update: 'fieldWrites',
  borrow_attribute: 'borrowing',
  promote_to_root: 'promote',
  detach_entity: 'detach',
};

/** Committed operations by what they changed. */
export interface Modifications {
  /** Every committed operation (each modified its target). */
  readonly total: number;
  /** New versions without a data change (`version_entity`). */
  readonly versioning: number;
  /** Field writes (`modify_field`, `complex_update`). */
  readonly fieldWrites: number;
  /** Fields copied from the source entity (`borrow_attribute`). */
  readonly borrowing: number;
  /** Structural changes: a part promoted to a root, or detached. */
  readonly structural: { readonly total: number; readonly promote: number; readonly detach: number };
}

/**
 * Sums committed operations by kind.
 *
 * @example
 * ```ts
 * modificationsByKind({ version_entity: { executed: 3, successful: 3 } }).versioning; // 3
 * ```
 */
export function modificationsByKind(byType: Readonly<Record<string, { readonly successful: number }>>): Modifications {
  const k = { versioning: 0, fieldWrites: 0, borrowing: 0, promote: 0, detach: 0 };
  let total = 0;
  for (const [type, f] of Object.entries(byType)) {
    total += f.successful;
    const kind = Object.prototype.hasOwnProperty.call(MODIFICATION_KIND, type) ? MODIFICATION_KIND[type as OperationType] : undefined;
    if (kind !== undefined) k[kind] += f.successful;
  }
  return {
    total,
    versioning: k.versioning,
    fieldWrites: k.fieldWrites,
    borrowing: k.borrowing,
    structural: { total: k.promote + k.detach, promote: k.promote, detach: k.detach },
  };
}

// ─── Memory status ──────────────────────────────────────────────────────────────────────────────

/** The rules behind {@link MemoryStatus.bounded}, as the report states them. */
export const MEMORY_RULES = {
  collected:
    'bounded when the heap after a full collection grew by at most max(5 MB, 25 %) from before the load to after it, and the peak stayed under the limit',
  floors:
    'bounded when the lowest heap sample of the last quarter of the run is at most max(5 MB, 25 %) above that of the first quarter, and the peak stayed under the limit (no full collection could be run)',
} as const;

/** Whether memory stayed bounded over a run. */
export interface MemoryStatus {
  /** How start and end were measured: after a full collection, or as the lowest sample of a quarter. */
  readonly method: 'collected' | 'floors';
  /** Heap at the start, MB. */
  readonly startMb: number;
  /** Heap at the end, MB. */
  readonly endMb: number;
  readonly growthMb: number;
  readonly peakMb: number;
  readonly limitMb: number;
  /** `undefined` when there is too little to tell (no collection and fewer than 4 samples). */
  readonly bounded: boolean | undefined;
  readonly rule: string;
}

/** What {@link memoryStatus} judges. */
export interface MemoryInput {
  /** Heap samples in bytes, in time order. */
  readonly samples: readonly number[];
  /** Heap in bytes after a full collection before the load and after it, when one could be run. */
  readonly settledStart?: number | undefined;
  readonly settledEnd?: number | undefined;
  readonly limitMb: number;
}

const MB = 1024 * 1024;

/**
 * Judges a run's memory: growth is the heap after a full collection at the end minus the same
 * before the load. Without collections, the lowest sample of the first and of the last quarter
 * stand in for them (between collections the heap saws up and down; its floor is what stays alive).
 *
 * @example
 * ```ts
 * memoryStatus({ samples: [], settledStart: 10 * 2 ** 20, settledEnd: 11 * 2 ** 20, limitMb: 1000 }).bounded; // true
 * ```
 */
export function memoryStatus(input: MemoryInput): MemoryStatus {
  const mb = input.samples.map((b) => b / MB);
  const peakMb = Math.max(0, ...mb, (input.settledStart ?? 0) / MB, (input.settledEnd ?? 0) / MB);
  const judge = (method: 'collected' | 'floors', startMb: number, endMb: number): MemoryStatus => {
    const growthMb = endMb - startMb;
    const bounded = growthMb <= Math.max(5, startMb * 0.25) && peakMb < input.limitMb;
    return { method, startMb, endMb, growthMb, peakMb, limitMb: input.limitMb, bounded, rule: MEMORY_RULES[method] };
  };
  if (input.settledStart !== undefined && input.settledEnd !== undefined) return judge('collected', input.settledStart / MB, input.settledEnd / MB);
  if (mb.length < 4) {
    return { method: 'floors', startMb: mb[0] ?? 0, endMb: mb.at(-1) ?? 0, growthMb: 0, peakMb, limitMb: input.limitMb, bounded: undefined, rule: MEMORY_RULES.floors };
  }
  const q = Math.floor(mb.length / 4);
  return judge('floors', Math.min(...mb.slice(0, q)), Math.min(...mb.slice(mb.length - q)));
}

// ─── System assessment ──────────────────────────────────────────────────────────────────────────

/** One check of the assessment: `skip` when the run gave it nothing to judge. */
export interface AssessmentCheck {
  readonly name: string;
  readonly status: 'pass' | 'fail' | 'skip';
  readonly detail: string;
}

/** The system assessment: its checks and the verdict they give. */
export interface Assessment {
  readonly checks: readonly AssessmentCheck[];
  /** No check failed. */
  readonly passed: boolean;
  /** `PASSED`, or `FAILED` with the failed checks named. */
  readonly verdict: string;
}

/** What the assessment judges. */
export interface AssessmentInput {
  readonly submitted: number;
  readonly completed: number;
  readonly targetCompletionRate: number;
  /** Arbitration windows that had at least one candidate (each has at most one winner). */
  readonly windows: number;
  readonly conflictsDetected: number;
  readonly conflictsResolved: number;
  readonly grace: GraceFigures;
  readonly modifications: Modifications;
  readonly targetsModified: number;
  readonly targets: number;
  readonly memory: MemoryStatus;
  /** Accounting balanced and every integrity check passed. */
  readonly integrityOk: boolean;
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

/**
 * Computes the assessment's checks and its verdict: `PASSED` when none fails.
 *
 * @example
 * ```ts
 * const { verdict, checks } = assessStress(input);
 * ```
 */
export function assessStress(i: AssessmentInput): Assessment {
  const checks: AssessmentCheck[] = [];
  const rate = i.submitted > 0 ? i.completed / i.submitted : 0;
  const ceiling = i.submitted > 0 ? Math.min(1, i.windows / i.submitted) : 0;
  checks.push({
    name: 'completion rate',
    status: i.submitted === 0 ? 'skip' : rate >= i.targetCompletionRate ? 'pass' : 'fail',
    detail: `${pct(rate)} completed, target ${pct(i.targetCompletionRate)} (one winner per window caps this load at ${pct(ceiling)})`,
  });
  const g = i.grace;
  const exercised = g.protections > 0 || g.preemptedAfterGrace + g.preemptedInsideGrace > 0;
  checks.push({
    name: 'grace-period protection',
    status: g.preemptedInsideGrace > 0 ? 'fail' : exercised ? 'pass' : 'skip',
    detail: exercised
      ? `${g.protectedOperations} executing operations protected (${g.saved} saved), ${g.preemptedAfterGrace} preempted after the ${g.gracePeriodMs} ms grace period, ${g.preemptedInsideGrace} inside it`
      : 'not exercised: no winner outranked an executing operation (longer --work or --critical-share make it happen)',
  });
  checks.push({
    name: 'conflict resolution',
    status: i.conflictsDetected !== i.conflictsResolved ? 'fail' : i.conflictsDetected === 0 ? 'skip' : 'pass',
    detail: `${i.conflictsDetected} conflicts detected, ${i.conflictsResolved} resolved`,
  });
  checks.push({
    name: 'real operations',
    status: i.modifications.total > 0 ? 'pass' : 'fail',
    detail: `${i.modifications.total} entity modifications on ${i.targetsModified}/${i.targets} targets`,
  });
  checks.push({
    name: 'memory bounded',
    status: i.memory.bounded === undefined ? 'skip' : i.memory.bounded ? 'pass' : 'fail',
    detail:
      i.memory.bounded === undefined
        ? 'too few samples to tell'
        : `heap ${i.memory.startMb.toFixed(1)} → ${i.memory.endMb.toFixed(1)} MB (${i.memory.method === 'collected' ? 'after full collections' : 'lowest samples'}), peak ${i.memory.peakMb.toFixed(1)} of ${i.memory.limitMb} MB`,
  });
  checks.push({
    name: 'accounting and data integrity',
    status: i.integrityOk ? 'pass' : 'fail',
    detail: i.integrityOk ? 'every operation accounted for, every integrity check passed' : 'see Data integrity',
  });
  const failed = checks.filter((c) => c.status === 'fail').map((c) => c.name);
  return {
    checks,
    passed: failed.length === 0,
    verdict: failed.length === 0 ? 'PASSED' : `FAILED (${failed.join(', ')})`,
  };
}
