import test from 'ava';
import fc from 'fast-check';
import { arbitrate, canPreempt, compareCandidates, defaultSelectWinner, lostReason, type Candidate, type Holder } from '../../src/index.js';

const c = (id: string, effectivePriority: number, submittedAt = 0, seq = 0): Candidate => ({
  id, target: 't', type: 'op', priority: effectivePriority, effectivePriority, submittedAt, seq, data: undefined,
});
const h = (id: string, effectivePriority: number, startedAt: number): Holder => ({ id, priority: effectivePriority, effectivePriority, startedAt });
const ctx = (now = 100, executing: Holder[] = []) => ({ target: 't', now, windowOpenedAt: 0, executing });
const preempt = { whileExecuting: 'preempt' as const, gracePeriodMs: 200 };

test('defaultSelectWinner() - highest effective priority, then earliest, then lowest seq', (t) => {
  t.is(defaultSelectWinner([c('low', 2), c('crit', 10), c('high', 8)])?.id, 'crit');
  t.is(defaultSelectWinner([c('late', 5, 10), c('early', 5, 5)])?.id, 'early');
  t.is(defaultSelectWinner([c('b', 5, 0, 2), c('a', 5, 0, 1)])?.id, 'a');
  t.is(defaultSelectWinner([]), null);
});

test('defaultSelectWinner() - agrees with sorting by compareCandidates (property)', (t) => {
  const candidate = fc.record({ p: fc.integer({ min: 1, max: 10 }), at: fc.integer({ min: 0, max: 5 }) });
  t.notThrows(() => fc.assert(
    fc.property(fc.array(candidate, { minLength: 1, maxLength: 30 }), (specs) => {
      const cs = specs.map((s, i) => c(`c${i}`, s.p, s.at, i));
      const sorted = [...cs].sort(compareCandidates);
      const winner = defaultSelectWinner(cs)!;
      return winner === sorted[0] && cs.every((x) => x.effectivePriority <= winner.effectivePriority);
    }),
  ));
});

test('arbitrate() - empty window', (t) => {
  t.deepEqual(arbitrate([], [], preempt, ctx()), { kind: 'empty' });
});

test('arbitrate() - idle target: the winner starts, everyone else loses', (t) => {
  const cs = [c('a', 2), c('b', 8), c('c', 5)];
  const d = arbitrate(cs, [], preempt, ctx());
  t.is(d.kind, 'start');
  if (d.kind !== 'start') return;
  t.is(d.winner.id, 'b');
  t.deepEqual(d.losers.map((x) => x.id), ['a', 'c']);
  t.deepEqual(d.preempt, []);
});

test('arbitrate() - preempt: a holder inside its grace period holds the winner', (t) => {
  const d = arbitrate([c('w', 10)], [h('x', 2, 0)], preempt, ctx(199));
  t.is(d.kind, 'hold');
});

test('arbitrate() - preempt: past the grace period and lower priority → preempted', (t) => {
  const d = arbitrate([c('w', 10)], [h('x', 2, 0)], preempt, ctx(200));
  t.is(d.kind, 'start');
  if (d.kind === 'start') t.deepEqual(d.preempt.map((x) => x.id), ['x']);
});

test('arbitrate() - preempt: equal priority is never preempted', (t) => {
  t.is(arbitrate([c('w', 5)], [h('x', 5, 0)], preempt, ctx(10_000)).kind, 'hold');
});

test('arbitrate() - queue holds and concurrent starts, whatever the priorities', (t) => {
  t.is(arbitrate([c('w', 10)], [h('x', 1, 0)], { whileExecuting: 'queue', gracePeriodMs: 0 }, ctx(10_000)).kind, 'hold');
  const d = arbitrate([c('w', 1)], [h('x', 10, 0)], { whileExecuting: 'concurrent', gracePeriodMs: 0 }, ctx(0));
  t.is(d.kind, 'start');
  if (d.kind === 'start') t.deepEqual(d.preempt, []);
});

test('arbitrate() - custom selectWinner: null → no-winner, throw → arbitration-failed, foreign → arbitration-failed', (t) => {
  const cs = [c('a', 1), c('b', 2)];
  const none = arbitrate(cs, [], { ...preempt, selectWinner: () => null }, ctx());
  t.like(none, { kind: 'none', code: 'no-winner' });
  const thrown = arbitrate(cs, [], { ...preempt, selectWinner: () => { throw new Error('bad'); } }, ctx());
  t.like(thrown, { kind: 'none', code: 'arbitration-failed' });
  if (thrown.kind === 'none') t.is(thrown.losers.length, 2);
  const foreign = arbitrate(cs, [], { ...preempt, selectWinner: () => c('zzz', 9) }, ctx());
  t.like(foreign, { kind: 'none', code: 'arbitration-failed' });
  const lowest = arbitrate(cs, [], { ...preempt, selectWinner: (xs) => xs[0] }, ctx());
  t.like(lowest, { kind: 'start' });
  if (lowest.kind === 'start') t.is(lowest.winner.id, 'a');
});

test('arbitrate() - every candidate is either the winner or a loser, exactly once (property)', (t) => {
  t.notThrows(() => fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 1, max: 10 }), { minLength: 1, maxLength: 40 }),
      fc.constantFrom('preempt' as const, 'queue' as const, 'concurrent' as const),
      fc.option(fc.integer({ min: 1, max: 10 }), { nil: undefined }),
      fc.integer({ min: 0, max: 500 }),
      (priorities, whileExecuting, holderPriority, now) => {
        const cs = priorities.map((p, i) => c(`c${i}`, p, i, i));
        const holders = holderPriority === undefined ? [] : [h('x', holderPriority, 0)];
        const d = arbitrate(cs, holders, { whileExecuting, gracePeriodMs: 200 }, ctx(now, holders));
        if (d.kind === 'empty' || d.kind === 'none') return false;
        const ids = [d.winner.id, ...d.losers.map((x) => x.id)].sort();
        if (JSON.stringify(ids) !== JSON.stringify(cs.map((x) => x.id).sort())) return false;
        if (d.kind === 'start' && whileExecuting === 'queue' && holders.length > 0) return false;
        if (d.kind === 'start' && d.preempt.length > 0) {
          return d.preempt.every((p) => canPreempt(p, d.winner, now, 200));
        }
        return true;
      },
    ),
  ));
});

test('lostReason() - names the winner and both priorities', (t) => {
  t.is(lostReason(c('l', 2), c('w', 10)), 'lost arbitration to w (op, priority 10 vs 2)');
});
