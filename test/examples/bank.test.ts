import test from 'ava';
import { payableFirst, run } from '../../examples/bank.js';
import type { ArbitrationContext, Candidate } from '../../src/index.js';

test('examples/bank - money conserved, balances never negative, overdrafts never win', async (t) => {
  const r = await run({ seed: 3 });
  t.is(r.totalAfter, r.totalBefore);
  t.true(r.minBalanceEver >= 0);
  t.true(r.completed > 0);
  t.true((r.byCode['no-winner'] ?? 0) > 0, 'some windows had no payable transfer');
  t.is(r.byCode['execution-failed'], undefined, 'no winner ever failed to pay');
  t.is(r.completed + Object.values(r.byCode).reduce((s, n) => s + n, 0), r.transfers);
  t.is(r.records, r.winners, 'one operation record per winner, beside the accounts');
  t.deepEqual(await run({ seed: 3 }), r, 'reproducible with a seed');
});

test('examples/bank - payableFirst(): earliest payable transfer; null when none can pay', (t) => {
  const c = (seq: number, from: string, amount: number) =>
    ({ id: `op${seq}`, target: from, type: 'transfer', priority: 5, effectivePriority: 5, submittedAt: 0, seq, data: { from, amount } }) as Candidate<{ from: string; amount: number }>;
  const select = payableFirst((id) => (id === 'a' ? 50 : 0));
  const ctx = {} as ArbitrationContext;
  t.is(select([c(2, 'a', 40), c(1, 'a', 60), c(3, 'a', 10)], ctx)?.id, 'op2');
  t.is(select([c(1, 'a', 60), c(2, 'b', 1)], ctx), null);
});
