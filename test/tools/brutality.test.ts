// The brutality engine in-process, on short runs whose answers follow from their settings.
import test from 'ava';
import { BRUTALITY_PROFILES, DEFAULT_BRUTALITY, rankConflicts, runBrutality, type TypeConflicts } from '../../tools/brutality.js';
import { conflictTable, formatBrutality } from '../../tools/report.js';

const row = (type: string, occConflicts: number, lostArbitration: number): TypeConflicts => ({
  type,
  submitted: 100,
  lostArbitration,
  occConflicts,
  retries: occConflicts,
  retriesExhausted: 0,
  completed: 1,
});

test('rankConflicts() - the most OCC conflicts first, then the most lost windows, then the name', (t) => {
  const ranked = rankConflicts([row('b', 3, 10), row('a', 3, 10), row('c', 9, 0), row('d', 3, 50)]);
  t.deepEqual(
    ranked.map((r) => r.type),
    ['c', 'd', 'a', 'b'],
  );
  const table = conflictTable(ranked);
  t.is(table[0], '   type  OCC conflicts  per op  lost windows  retries  gave up  completed');
  t.is(table[1], '   c                 9    0.09             0        9        0          1');
});

test('BRUTALITY_PROFILES.documents - batches of 100, a 10 s ramp, 25 retries, 5 ms backoff ×1.5', (t) => {
  t.like({ ...DEFAULT_BRUTALITY, ...BRUTALITY_PROFILES.documents }, {
    profile: 'documents',
    batchMin: 100,
    batchMax: 100,
    rampMs: 10_000,
    maxRetries: 25,
    retry: { baseDelayMs: 5, factor: 1.5 },
  });
  t.like(DEFAULT_BRUTALITY, { profile: 'default', batchMin: 3, batchMax: 8, rampMs: 2000, maxRetries: undefined });
});

test('runBrutality() - maxRetries 0: every OCC conflict gives up at once, nothing is ever still retrying', async (t) => {
  // Two writers committing every millisecond or so, against 20 ms between an execution's read and
  // its write: an execution's write is stale unless the event loop stalls for the whole 20 ms.
  const r = await runBrutality({ ops: 300, targets: 2, peakRate: 600, rampMs: 0, writers: 2, writerEveryMs: 1, workMs: 20, maxRetries: 0 });
  t.true(r.occ.conflicts > 0, 'executions conflict with the writers');
  t.is(r.occ.retries, 0);
  t.is(r.occ.failures, r.occ.conflicts, 'one retries-exhausted per stale write');
  t.deepEqual(r.occ.stillRetrying, { atLastSubmission: 0, peak: 0, atEnd: 0 });
  t.true(r.timeline.every((s) => s.stillRetrying === 0));
  t.is(r.conflictsByType.reduce((a, c) => a + c.retriesExhausted, 0), r.occ.failures);
  t.is(r.conflictsByType.reduce((a, c) => a + c.submitted, 0), 300);
  t.is(r.lostUpdates, 0);
  t.true(r.ok);
});

test('runBrutality() - retried operations are still retrying until they are final', async (t) => {
  const r = await runBrutality({ ops: 300, targets: 2, peakRate: 600, rampMs: 0, writers: 2, writerEveryMs: 1, workMs: 20, maxRetries: 25 });
  t.true(r.occ.retries > 0);
  t.true(r.occ.stillRetrying.peak >= 1, 'an operation that retried is still retrying until it ends');
  t.is(r.occ.stillRetrying.atEnd, 0);
  t.is(r.timeline.at(-1)!.stillRetrying, 0);
  t.is(r.timeline.at(-1)!.submitted, 300);
  t.is(r.conflictsByType.reduce((a, c) => a + c.retries, 0), r.occ.retries);
  t.is(r.conflictsByType.reduce((a, c) => a + c.occConflicts, 0), r.occ.conflicts);
  const ranked = r.conflictsByType.map((c) => c.occConflicts);
  t.deepEqual(ranked, [...ranked].sort((a, b) => b - a), 'the most conflicting type first');
  t.true(r.ok);
  const text = formatBrutality(r);
  t.regex(text, /^Brutality run \(profile default\): 300 operations on 2 targets in batches of 3–8/m);
  t.regex(text, /^OCC: 25 retries per operation, backoff 5 ms × 1\.5 per retry \(at most 200 ms\), 20 ms of work per attempt$/m);
  const s = r.occ.stillRetrying;
  t.true(text.includes(`OCC operations still retrying: ${s.atLastSubmission} when the last operation was submitted (at most ${s.peak}, 0 at the end)`));
  t.true(text.includes(`Which operation types conflict most\n${conflictTable(r.conflictsByType).join('\n')}`));
  t.is(text.match(/^ {3}[├└]─ [\d.]+ s: submitted [\d,]+, completed [\d,]+, rejected [\d,]+, still retrying \d+$/gm)?.length, r.timeline.length);
});
