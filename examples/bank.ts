/**
 * Bank transfers: a transfer that would overdraw its source never wins; when no transfer of a
 * window can be paid, they all get `no-winner`. Balances never go negative and money is conserved.
 * The accounts and the winners' operation records share one store.
 *
 *   npx tsx examples/bank.ts [seed]
 */
import { SimulatedClock } from 'xstate';
import {
  createArbiter,
  createStore,
  OperationRejectedError,
  withConflictResolution,
  type Candidate,
  type Entity,
  type OperationRecordData,
  type RejectionCode,
  type SelectWinner,
} from '../src/index.js';
import { between, isMain, seeded, settle } from './support.js';

export interface BankOptions {
  seed?: number;
  accounts?: number;
  rounds?: number;
  transfersPerRound?: number;
  /** Transfer amounts are drawn from 1..maxAmount. */
  maxAmount?: number;
}

type Account = { kind: 'account'; owner: string; balance: number };
type TransferData = { from: string; amount: number };

export interface BankReport {
  totalBefore: number;
  totalAfter: number;
  /** The lowest balance any account ever had, over every version in its history. */
  minBalanceEver: number;
  transfers: number;
  completed: number;
  byCode: Partial<Record<RejectionCode, number>> & Record<string, number>;
  /** Money moved by completed transfers. */
  moved: number;
  winners: number;
  /** Operation records in the store (one per winner). */
  records: number;
  balances: Record<string, number>;
}

/** First come, first served among the transfers the source account can pay; none → no winner. */
export function payableFirst(balanceOf: (id: string) => number): SelectWinner<TransferData> {
  return (candidates) => {
    const byArrival = [...candidates].sort((a: Candidate<TransferData>, b: Candidate<TransferData>) => a.submittedAt - b.submittedAt || a.seq - b.seq);
    return byArrival.find((c) => c.data.amount <= balanceOf(c.data.from)) ?? null;
  };
}

/** Runs the transfers; the same seed gives the same report. */
export async function run(options: BankOptions = {}): Promise<BankReport> {
  const { seed = 1, accounts = 6, rounds = 8, transfersPerRound = 24, maxAmount = 150 } = options;
  const random = seeded(seed);
  const clock = new SimulatedClock();
  const store = createStore();
  const ledger = Array.from({ length: accounts }, (_, i) =>
    store.create<Account>({ kind: 'account', owner: `acct-${i + 1}`, balance: between(random, 20, 200) }),
  );
  const balanceOf = (id: string) => store.get<Account>(id)!.data.balance;
  const arbiter = createArbiter({
    clock,
    store,
    random,
    windowMs: 20,
    // One transfer at a time per source account: the balance checked at selection is the one paid.
    whileExecuting: 'queue',
    maxStagedPerTarget: transfersPerRound,
    selectWinner: payableFirst(balanceOf),
  });
  const transfer = withConflictResolution(
    ([from, to]: [Entity<Account>, Entity<Account>], amount: number) => {
      if (from.data.balance < amount) throw new RangeError(`${from.data.owner} cannot pay ${amount}`);
      // Compare-and-set on the source: a deposit that lands meanwhile makes this attempt retry.
      store.update<Account>(from.id, (d) => void (d.balance -= amount), { expectedVersion: from.version });
      // The credit is a delta applied atomically by the store: it needs no version check.
      store.update<Account>(to.id, (d) => void (d.balance += amount));
      return amount;
    },
    { arbiter, type: 'transfer', data: ([from], amount) => ({ from: from.id, amount }) },
  );

  const totalBefore = ledger.reduce((s, a) => s + a.data.balance, 0);
  const byCode: BankReport['byCode'] = {};
  let completed = 0;
  let moved = 0;
  let transfers = 0;
  for (let round = 0; round < rounds; round++) {
    const calls = Array.from({ length: transfersPerRound }, () => {
      const from = ledger[between(random, 0, accounts - 1)]!;
      let to = ledger[between(random, 0, accounts - 1)]!;
      if (to === from) to = ledger[(ledger.indexOf(from) + 1) % accounts]!;
      return transfer([from, to], between(random, 1, maxAmount));
    });
    transfers += calls.length;
    for (const r of await settle(clock, calls)) {
      if (r.status === 'fulfilled') {
        completed++;
        moved += r.value;
      } else if (r.reason instanceof OperationRejectedError) byCode[r.reason.code] = (byCode[r.reason.code] ?? 0) + 1;
      else throw r.reason;
    }
  }
  await arbiter.onIdle();
  let minBalanceEver = Infinity;
  const balances: Record<string, number> = {};
  for (const a of ledger) {
    for (const v of store.history<Account>(a.id)) minBalanceEver = Math.min(minBalanceEver, v.data.balance);
    const now = store.get<Account>(a.id)!.data;
    balances[now.owner] = now.balance;
  }
  const report: BankReport = {
    totalBefore,
    totalAfter: Object.values(balances).reduce((s, b) => s + b, 0),
    minBalanceEver,
    transfers,
    completed,
    byCode,
    moved,
    winners: arbiter.operations.query().filter((o) => o.won).length,
    records: arbiter.recordStore!.query<OperationRecordData>((e) => (e.data as { kind?: string }).kind === 'operation').length,
    balances,
  };
  await arbiter.stop();
  return report;
}

if (isMain(import.meta.url)) {
  const r = await run({ seed: Number(process.argv[2] ?? 1) });
  console.log(`Bank: ${r.transfers} transfers between ${Object.keys(r.balances).length} accounts`);
  console.log(`  completed ${r.completed} (moved ${r.moved}); rejected ${JSON.stringify(r.byCode)}`);
  console.log(`  balances ${JSON.stringify(r.balances)}`);
  console.log(`  money ${r.totalBefore} → ${r.totalAfter} ${r.totalBefore === r.totalAfter ? 'conserved ✓' : 'NOT CONSERVED ✗'}; lowest balance ever ${r.minBalanceEver} ${r.minBalanceEver >= 0 ? '✓' : '✗'}`);
  console.log(`  operation records in the store ${r.records} = winners ${r.winners}`);
}
