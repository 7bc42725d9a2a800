/**
 * Inventory: a storm of purchases on a few products. VIP customers win a window first, then
 * first come, first served; a winner buys only what is in stock, so nothing is ever oversold.
 *
 *   npx tsx examples/inventory.ts [seed]
 */
import { SimulatedClock } from 'xstate';
import {
  createArbiter,
  createStore,
  OperationRejectedError,
  withConflictResolution,
  type ArbiterEvent,
  type Candidate,
  type Entity,
  type OperationRecordData,
  type SelectWinner,
} from '../src/index.js';
import { between, isMain, seeded, settle } from './support.js';

export interface InventoryOptions {
  seed?: number;
  products?: number;
  stock?: number;
  customers?: number;
  /** Share of VIP customers. */
  vipShare?: number;
  /** Use the VIP-first rule (turn it off to see what the default rule does to VIPs). @default true */
  vipFirst?: boolean;
}

type Product = { sku: string; stock: number };
type Order = { customer: string; vip: boolean; qty: number };
type OrderData = { vip: boolean };

export interface InventoryReport {
  initialStock: number;
  sold: number;
  remaining: number;
  /** Quantities of the purchases that completed. */
  fulfilled: number;
  orders: number;
  served: number;
  turnedAway: number;
  rounds: number;
  /** Windows where a VIP competed but someone else won (must be 0). */
  vipViolations: number;
  /** The lowest stock any product ever had, over its whole history (must be ≥ 0). */
  minStockEver: number;
  winners: number;
  promoted: number;
  perProduct: Record<string, { sold: number; remaining: number }>;
}

class OutOfStockError extends Error {
  override readonly name = 'OutOfStockError';
}

// VIPs first (earliest of them), then first come, first served.
const vipFirst: SelectWinner<OrderData> = (candidates) => {
  const byArrival = (a: Candidate<OrderData>, b: Candidate<OrderData>) => a.submittedAt - b.submittedAt || a.seq - b.seq;
  const vips = candidates.filter((c) => c.data.vip).sort(byArrival);
  return vips[0] ?? [...candidates].sort(byArrival)[0] ?? null;
};

/** Runs the storm; the same seed gives the same report. */
export async function run(options: InventoryOptions = {}): Promise<InventoryReport> {
  const { seed = 1, products = 3, stock = 40, customers = 120, vipShare = 0.2, vipFirst: useVipFirst = true } = options;
  const random = seeded(seed);
  const clock = new SimulatedClock();
  const store = createStore();
  const arbiter = createArbiter({ clock, store, random, windowMs: 20, whileExecuting: 'queue', maxStagedPerTarget: customers,
    ...(useVipFirst ? { selectWinner: vipFirst } : {}) });
  const vipIds = new Set<string>();
  let vipViolations = 0;
  const submittedVip = new Map<string, boolean>();
  arbiter.events$.subscribe((e: ArbiterEvent) => {
    if (e.type === 'conflict.resolved' && e.winnerId !== null) {
      if (e.candidateIds.some((id) => submittedVip.get(id)) && !submittedVip.get(e.winnerId)) vipViolations++;
    }
  });
  arbiter.events$.subscribe((e: ArbiterEvent) => {
    if (e.type === 'operation.submitted') submittedVip.set(e.operationId, e.operationType === 'purchase-vip');
  });

  const items = Array.from({ length: products }, (_, i) => store.create<Product>({ sku: `SKU-${i + 1}`, stock }));
  const purchase = (vip: boolean) =>
    withConflictResolution(
      (product: Entity<Product>, order: Order) => {
        if (product.data.stock < order.qty) throw new OutOfStockError(`${product.data.sku}: ${product.data.stock} left, ${order.qty} wanted`);
        store.update<Product>(product.id, (d) => void (d.stock -= order.qty), { expectedVersion: product.version });
        return order.qty;
      },
      { arbiter, type: vip ? 'purchase-vip' : 'purchase', data: (_p, order) => ({ vip: order.vip }) },
    );
  const buyVip = purchase(true);
  const buy = purchase(false);

  let waiting = Array.from({ length: customers }, (_, i) => {
    const vip = random() < vipShare;
    const order: Order = { customer: `c${i}`, vip, qty: between(random, 1, 3) };
    if (vip) vipIds.add(order.customer);
    return { order, product: items[between(random, 0, products - 1)]! };
  });
  let fulfilled = 0;
  let served = 0;
  let turnedAway = 0;
  let rounds = 0;
  // Customers who lose a window try again in the next round; out of stock turns them away.
  while (waiting.length > 0) {
    rounds++;
    const attempts = waiting.map((w) => (w.order.vip ? buyVip : buy)(w.product, w.order));
    const results = await settle(clock, attempts);
    const next: typeof waiting = [];
    results.forEach((r, i) => {
      const w = waiting[i]!;
      if (r.status === 'fulfilled') {
        fulfilled += r.value;
        served++;
      } else if (r.reason instanceof OperationRejectedError && r.reason.code === 'lost-arbitration') next.push(w);
      else turnedAway++;
    });
    waiting = next;
  }
  await arbiter.onIdle();

  const perProduct: InventoryReport['perProduct'] = {};
  let remaining = 0;
  let minStockEver = Infinity;
  for (const item of items) {
    const now = store.get<Product>(item.id)!.data.stock;
    remaining += now;
    perProduct[item.data.sku] = { sold: stock - now, remaining: now };
    for (const v of store.history<Product>(item.id)) minStockEver = Math.min(minStockEver, v.data.stock);
  }
  const winners = arbiter.operations.query().filter((o) => o.won).length;
  const report: InventoryReport = {
    initialStock: products * stock,
    sold: products * stock - remaining,
    remaining,
    fulfilled,
    orders: customers,
    served,
    turnedAway,
    rounds,
    vipViolations,
    minStockEver,
    winners,
    promoted: arbiter.recordStore!.query<OperationRecordData>((e) => (e.data as { kind?: string }).kind === 'operation').length,
    perProduct,
  };
  await arbiter.stop();
  return report;
}

if (isMain(import.meta.url)) {
  const r = await run({ seed: Number(process.argv[2] ?? 1) });
  console.log(`Inventory storm: ${r.orders} customers, ${r.initialStock} units in ${Object.keys(r.perProduct).length} products, ${r.rounds} rounds`);
  for (const [sku, p] of Object.entries(r.perProduct)) console.log(`  ${sku}: sold ${p.sold}, ${p.remaining} left`);
  console.log(`  served ${r.served}, turned away ${r.turnedAway} (out of stock)`);
  console.log(`  sold ${r.sold} = fulfilled ${r.fulfilled}; lowest stock ever ${r.minStockEver} → ${r.sold === r.fulfilled && r.minStockEver >= 0 ? 'no overselling ✓' : 'OVERSOLD ✗'}`);
  console.log(`  windows where a VIP lost to a non-VIP: ${r.vipViolations}; operation records ${r.promoted} = winners ${r.winners}`);
}
