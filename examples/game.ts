/**
 * Game resources: players claim rare items. In each window the highest level wins; ties are
 * broken by a seeded random draw, so a run is fair among equals and reproducible. An item is
 * never given twice.
 *
 *   npx tsx examples/game.ts [seed]
 */
import { SimulatedClock } from 'xstate';
import {
  createArbiter,
  createStore,
  OperationRejectedError,
  withConflictResolution,
  type Entity,
  type SelectWinner,
} from '../src/index.js';
import { between, isMain, seeded, settle } from './support.js';

export interface GameOptions {
  seed?: number;
  items?: number;
  players?: number;
  /** Levels are drawn from 1..maxLevel (a small range makes ties common). */
  maxLevel?: number;
}

type Item = { name: string; owner: string | null };
type Player = { name: string; level: number };

/** One claim: who tried which item in which round, and whether it got it. */
export interface Claim {
  round: number;
  item: string;
  player: string;
  level: number;
  outcome: 'won' | 'lost' | 'taken';
}

export interface GameReport {
  rounds: number;
  claims: Claim[];
  /** item → owner. */
  owners: Record<string, string>;
  /** Committed claims (one per owned item if nothing is duplicated). */
  grants: number;
  /** Windows with a tie at the top level. */
  ties: number;
}

class TakenError extends Error {
  override readonly name = 'TakenError';
}

/** Highest level wins; among equals, a draw from `random`. */
export function highestLevel(random: () => number): SelectWinner<Player> {
  return (candidates) => {
    const top = Math.max(...candidates.map((c) => c.data.level));
    const best = candidates.filter((c) => c.data.level === top);
    return best[Math.floor(random() * best.length)] ?? null;
  };
}

/** Runs the game; the same seed gives the same claims and owners. */
export async function run(options: GameOptions = {}): Promise<GameReport> {
  const { seed = 1, items = 12, players = 40, maxLevel = 5 } = options;
  const random = seeded(seed);
  const tieBreak = seeded(seed ^ 0x9e3779b9);
  const clock = new SimulatedClock();
  const store = createStore();
  let ties = 0;
  const select = highestLevel(tieBreak);
  const arbiter = createArbiter({
    clock,
    store,
    random,
    windowMs: 20,
    maxStagedPerTarget: players,
    selectWinner: (cs, ctx) => {
      const top = Math.max(...cs.map((c) => (c.data as Player).level));
      if (cs.filter((c) => (c.data as Player).level === top).length > 1) ties++;
      return select(cs as never, ctx);
    },
  });
  const loot = Array.from({ length: items }, (_, i) => store.create<Item>({ name: `item-${i + 1}`, owner: null }));
  const roster: Player[] = Array.from({ length: players }, (_, i) => ({ name: `p${i + 1}`, level: between(random, 1, maxLevel) }));
  let grants = 0;
  const claim = withConflictResolution(
    (item: Entity<Item>, player: Player) => {
      if (item.data.owner !== null) throw new TakenError(`${item.data.name} belongs to ${item.data.owner}`);
      store.update<Item>(item.id, (d) => void (d.owner = player.name), { expectedVersion: item.version });
      grants++;
      return item.data.name;
    },
    { arbiter, type: 'claim', data: (_item, player) => player },
  );

  const claims: Claim[] = [];
  let hunting = roster;
  let rounds = 0;
  while (hunting.length > 0) {
    rounds++;
    const free = loot.filter((i) => store.get<Item>(i.id)!.data.owner === null);
    if (free.length === 0) break;
    const tries = hunting.map((p) => ({ player: p, item: free[between(random, 0, free.length - 1)]! }));
    const results = await settle(clock, tries.map((t) => claim(t.item, t.player)));
    const next: Player[] = [];
    results.forEach((r, i) => {
      const { player, item } = tries[i]!;
      const base = { round: rounds, item: item.data.name, player: player.name, level: player.level };
      if (r.status === 'fulfilled') claims.push({ ...base, outcome: 'won' });
      else if (r.reason instanceof OperationRejectedError && r.reason.code === 'lost-arbitration') {
        claims.push({ ...base, outcome: 'lost' });
        next.push(player);
      } else if (r.reason instanceof OperationRejectedError && r.reason.cause instanceof TakenError) {
        claims.push({ ...base, outcome: 'taken' });
        next.push(player);
      } else throw r.reason;
    });
    hunting = next;
  }
  await arbiter.onIdle();
  const owners: Record<string, string> = {};
  for (const i of loot) {
    const e = store.get<Item>(i.id)!;
    if (e.data.owner !== null) owners[e.data.name] = e.data.owner;
  }
  await arbiter.stop();
  return { rounds, claims, owners, grants, ties };
}

if (isMain(import.meta.url)) {
  const r = await run({ seed: Number(process.argv[2] ?? 1) });
  console.log(`Game: ${Object.keys(r.owners).length} items claimed in ${r.rounds} rounds, ${r.claims.length} claims, ${r.ties} ties broken by the seeded draw`);
  for (const c of r.claims.filter((c) => c.outcome === 'won')) console.log(`  round ${c.round}: ${c.item} → ${c.player} (level ${c.level})`);
  console.log(`  grants ${r.grants} = owned items ${Object.keys(r.owners).length} → ${r.grants === Object.keys(r.owners).length ? 'no duplication ✓' : 'DUPLICATED ✗'}`);
}
