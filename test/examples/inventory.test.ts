import test from 'ava';
import { run } from '../../examples/inventory.js';

test('examples/inventory - no overselling under a storm of purchases; VIPs first', async (t) => {
  const r = await run({ seed: 11 });
  t.is(r.minStockEver, 0, 'stock ran out but never went below zero');
  t.is(r.sold, r.fulfilled, 'every unit sold was paid by a completed purchase');
  t.is(r.sold + r.remaining, r.initialStock);
  t.true(r.turnedAway > 0, 'demand exceeded stock');
  t.is(r.served + r.turnedAway, r.orders, 'every customer is accounted for');
  t.is(r.vipViolations, 0);
  t.is(r.promoted, r.winners, 'one operation record per winner');
  t.deepEqual(await run({ seed: 11 }), r, 'reproducible with a seed');
});

test('examples/inventory - without the VIP rule, VIPs lose windows (the check can fail)', async (t) => {
  const r = await run({ seed: 11, vipFirst: false });
  t.true(r.vipViolations > 0);
  t.is(r.sold, r.fulfilled);
});
