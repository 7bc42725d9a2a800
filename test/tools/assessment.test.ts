// The stress report's judgements on scripted figures: each value is known in advance.
import test from 'ava';
import {
  assessStress,
  GraceTracker,
  MEMORY_RULES,
  memoryStatus,
  modificationsByKind,
  type AssessmentInput,
  type GraceFigures,
} from '../../tools/assessment.js';

const MB = 1024 * 1024;

test('GraceTracker - protections, saves and preemptions on a scripted run', (t) => {
  const grace = new GraceTracker(200);
  const low = { id: 'low', effectivePriority: 2, startedAt: 0 };
  const mid = { id: 'mid', effectivePriority: 5, startedAt: 1000 };
  const top = { id: 'top', effectivePriority: 10, startedAt: 3000 };
  grace.decision(150, [low], { effectivePriority: 10 }); // low is 150 ms old: protected
  grace.decision(199.9, [low], { effectivePriority: 10 }); // still inside: protected again, same operation
  grace.finished('low', 'completed'); // finished before anyone could preempt it: saved
  grace.decision(1100, [mid], { effectivePriority: 8 }); // protected
  grace.decision(1250, [mid], { effectivePriority: 8 }); // 250 ms old: will be preempted
  grace.preempted('mid');
  grace.finished('mid', 'preempted'); // protected, but then preempted: not saved
  grace.decision(3050, [top], { effectivePriority: 10 }); // equal priority: neither
  grace.finished('top', 'completed');
  t.deepEqual(grace.figures(), {
    gracePeriodMs: 200,
    protections: 3,
    protectedOperations: 2,
    saved: 1,
    preemptedAfterGrace: 1,
    preemptedInsideGrace: 0,
    minPreemptedAgeMs: 250,
  } satisfies GraceFigures);
});

test('GraceTracker - a preemption no decision allowed is counted inside the grace period', (t) => {
  const grace = new GraceTracker(200);
  grace.decision(100, [{ id: 'a', effectivePriority: 2, startedAt: 0 }], { effectivePriority: 10 });
  grace.preempted('a'); // the decision saw it 100 ms old
  grace.preempted('b'); // never seen by a decision
  const f = grace.figures();
  t.is(f.preemptedInsideGrace, 2);
  t.is(f.preemptedAfterGrace, 0);
});

test('modificationsByKind() - committed operations summed by what they changed', (t) => {
  const m = modificationsByKind({
    version_entity: { successful: 7 },
    modify_field: { successful: 5 },
    complex_update: { successful: 3 },
    borrow_attribute: { successful: 4 },
    promote_to_root: { successful: 2 },
    detach_entity: { successful: 1 },
  });
  t.deepEqual(m, { total: 22, versioning: 7, fieldWrites: 8, borrowing: 4, structural: { total: 3, promote: 2, detach: 1 } });
  t.is(modificationsByKind({ __proto__: { successful: 9 } } as never).total, 0, 'no own key, nothing counted');
});

test('memoryStatus() - after full collections: growth and the bound', (t) => {
  const ok = memoryStatus({ samples: [20 * MB, 30 * MB], settledStart: 10 * MB, settledEnd: 14 * MB, limitMb: 1000 });
  t.like(ok, { method: 'collected', startMb: 10, endMb: 14, growthMb: 4, peakMb: 30, bounded: true, rule: MEMORY_RULES.collected });
  // 25 % of a 40 MB start is 10 MB: +9 MB is bounded, +11 MB is not.
  t.true(memoryStatus({ samples: [], settledStart: 40 * MB, settledEnd: 49 * MB, limitMb: 1000 }).bounded);
  t.false(memoryStatus({ samples: [], settledStart: 40 * MB, settledEnd: 51 * MB, limitMb: 1000 }).bounded);
  t.false(memoryStatus({ samples: [120 * MB], settledStart: 10 * MB, settledEnd: 10 * MB, limitMb: 100 }).bounded, 'peak over the limit');
});

test('memoryStatus() - without collections: lowest samples of the first and last quarter', (t) => {
  const sawtooth = [10, 18, 11, 19, 12, 20, 11.5, 21].map((mb) => mb * MB);
  t.like(memoryStatus({ samples: sawtooth, limitMb: 1000 }), { method: 'floors', startMb: 10, endMb: 11.5, growthMb: 1.5, peakMb: 21, bounded: true });
  const leak = [10, 12, 14, 16, 18, 20, 22, 24].map((mb) => mb * MB);
  t.like(memoryStatus({ samples: leak, limitMb: 1000 }), { startMb: 10, endMb: 22, bounded: false });
  t.is(memoryStatus({ samples: [MB, MB], limitMb: 1000 }).bounded, undefined, 'too few samples');
});

const input = (over: Partial<AssessmentInput> = {}): AssessmentInput => ({
  submitted: 1000,
  completed: 180,
  targetCompletionRate: 0.2,
  windows: 200,
  conflictsDetected: 190,
  conflictsResolved: 190,
  grace: { gracePeriodMs: 200, protections: 0, protectedOperations: 0, saved: 0, preemptedAfterGrace: 0, preemptedInsideGrace: 0, minPreemptedAgeMs: undefined },
  modifications: { total: 180, versioning: 60, fieldWrites: 70, borrowing: 40, structural: { total: 10, promote: 5, detach: 5 } },
  targetsModified: 5,
  targets: 5,
  memory: memoryStatus({ samples: [], settledStart: 10 * MB, settledEnd: 11 * MB, limitMb: 1000 }),
  integrityOk: true,
  ...over,
});

test('assessStress() - the verdict is computed from the checks: 18 % against a 20 % target fails', (t) => {
  const a = assessStress(input());
  t.deepEqual(
    a.checks.map((c) => [c.name, c.status]),
    [
      ['completion rate', 'fail'],
      ['grace-period protection', 'skip'],
      ['conflict resolution', 'pass'],
      ['real operations', 'pass'],
      ['memory bounded', 'pass'],
      ['accounting and data integrity', 'pass'],
    ],
  );
  t.is(a.checks[0]!.detail, '18.0% completed, target 20.0% (one winner per window caps this load at 20.0%)');
  t.false(a.passed);
  t.is(a.verdict, 'FAILED (completion rate)');
});

test('assessStress() - a configurable completion target: 18 % meets 15 %', (t) => {
  const a = assessStress(input({ targetCompletionRate: 0.15 }));
  t.true(a.passed);
  t.is(a.verdict, 'PASSED');
});

test('assessStress() - grace protection passes when exercised, fails on a preemption inside the grace period', (t) => {
  const exercised = { gracePeriodMs: 200, protections: 4, protectedOperations: 3, saved: 2, preemptedAfterGrace: 5, preemptedInsideGrace: 0, minPreemptedAgeMs: 201 };
  const pass = assessStress(input({ targetCompletionRate: 0, grace: exercised })).checks[1]!;
  t.is(pass.status, 'pass');
  t.is(pass.detail, '3 executing operations protected (2 saved), 5 preempted after the 200 ms grace period, 0 inside it');
  const broken = assessStress(input({ targetCompletionRate: 0, grace: { ...exercised, preemptedInsideGrace: 1 } }));
  t.is(broken.checks[1]!.status, 'fail');
  t.is(broken.verdict, 'FAILED (grace-period protection)');
});

test('assessStress() - unresolved conflicts, no modification, unbounded memory and broken integrity each fail', (t) => {
  const a = assessStress(
    input({
      targetCompletionRate: 0,
      conflictsResolved: 189,
      modifications: { total: 0, versioning: 0, fieldWrites: 0, borrowing: 0, structural: { total: 0, promote: 0, detach: 0 } },
      memory: memoryStatus({ samples: [], settledStart: 10 * MB, settledEnd: 30 * MB, limitMb: 1000 }),
      integrityOk: false,
    }),
  );
  t.is(a.verdict, 'FAILED (conflict resolution, real operations, memory bounded, accounting and data integrity)');
});
