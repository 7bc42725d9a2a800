// The Lua close script and the TypeScript `arbitrate()` must decide alike: same random windows
// (candidates, holders, policy, grace period, time), same decisions.
import { deepStrictEqual } from 'node:assert';
import test from 'ava';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { arbitrate } from '../../src/arbitration.js';
import { keyList, targetKeys } from '../../src/redis/keys.js';
import { parseDecision } from '../../src/redis/records.js';
import { RedisTargets } from '../../src/redis/targets.js';
import type { Candidate, Holder, WhileExecuting } from '../../src/types.js';
import { uniquePrefix, useRedisServer } from '../helpers/redis.js';

const redis = useRedisServer(test);

interface Input {
  candidates: { eff: number; order: number }[];
  holders: { eff: number; age: number }[];
  policy: WhileExecuting;
  graceMs: number;
}

const NOW = 1_750_000_000_123_456; // µs, a realistic Redis TIME
const FAR = NOW + 3_600_000_000;

const input: fc.Arbitrary<Input> = fc
  .record({
    candidates: fc.uniqueArray(fc.record({ eff: fc.integer({ min: 1, max: 10 }), order: fc.integer({ min: 1, max: 1_000_000 }) }), {
      maxLength: 8,
      selector: (c) => c.order,
    }),
    graceMs: fc.oneof(fc.integer({ min: 0, max: 1000 }), fc.double({ min: 0, max: 1000, noNaN: true })),
    policy: fc.constantFrom<WhileExecuting>('preempt', 'queue', 'concurrent'),
    holderSpecs: fc.array(
      fc.record({
        eff: fc.integer({ min: 1, max: 10 }),
        // How long ago it started: around the grace period (exactly on it, just before, just after) or anywhere.
        age: fc.oneof(fc.constantFrom('at', 'before', 'after'), fc.integer({ min: 0, max: 2_000_000 })),
      }),
      { maxLength: 4 },
    ),
  })
  .map(({ candidates, graceMs, policy, holderSpecs }) => ({
    candidates,
    graceMs,
    policy,
    holders: holderSpecs.map(({ eff, age }) => {
      const g = graceMs * 1000;
      const ageUs = age === 'at' ? g : age === 'before' ? g - 1 : age === 'after' ? g + 1 : age;
      return { eff, age: Math.max(0, ageUs) };
    }),
  }));

function tsDecision(i: Input): { kind: string; winner?: string; losers: string[]; preempt: string[]; blockedBy: string[] } {
  const candidates: Candidate[] = i.candidates.map((c, n) => ({
    id: `c${n}`,
    target: 't',
    type: 'op',
    priority: c.eff,
    effectivePriority: c.eff,
    submittedAt: c.order,
    seq: c.order,
    data: undefined,
  }));
  const holders: Holder[] = i.holders.map((h, n) => ({ id: `h${n}`, priority: h.eff, effectivePriority: h.eff, startedAt: NOW - h.age }));
  const d = arbitrate(candidates, holders, { whileExecuting: i.policy, gracePeriodMs: i.graceMs * 1000 }, {
    target: 't',
    now: NOW,
    windowOpenedAt: NOW - 100_000,
    executing: holders,
  });
  const ids = (xs: readonly { id: string }[]) => xs.map((x) => x.id).sort();
  if (d.kind === 'empty') return { kind: 'empty', losers: [], preempt: [], blockedBy: [] };
  if (d.kind === 'none') throw new Error('the default selector never decides none');
  return {
    kind: d.kind,
    winner: d.winner.id,
    losers: ids(d.losers),
    preempt: d.kind === 'start' ? ids(d.preempt) : [],
    blockedBy: d.kind === 'hold' ? ids(d.blockedBy) : [],
  };
}

test('close script - decides every random window exactly as arbitrate() with the default selector', async (t) => {
  const client = new Redis(redis().url);
  const keyPrefix = uniquePrefix('xcheck');
  const targets = new RedisTargets({ client, keyPrefix, owner: 'p', clock: () => NOW });
  let run = 0;
  const kinds = { start: 0, hold: 0, empty: 0, preempting: 0 };
  try {
    await fc.assert(
      fc.asyncProperty(input, async (i) => {
        const target = `window-${run++}`;
        const keys = targetKeys(keyPrefix, target);
        const [meta, cands, holders] = keyList(keys);
        // The state the stage and close scripts would have left, written in their record formats.
        const p = client.pipeline();
        p.hset(meta, { win: '1', open: '1', opened: String(NOW - 100_000), closes: String(NOW), wms: '100', pol: i.policy, grace: String(i.graceMs) });
        i.candidates.forEach((c, n) => p.hset(cands, `c${n}`, `${c.eff}|${c.eff}|${c.order}|${FAR}|p|op`));
        i.holders.forEach((h, n) => p.hset(holders, String(1000 + n), `${h.eff}|${h.eff}|${NOW - h.age}|${FAR}|p|h${n}`));
        await p.exec();
        const ids = [...i.candidates.map((_, n) => `c${n}`), ...i.holders.map((_, n) => `h${n}`)];
        const r = await targets.close(target, 1, 1000, ids);
        if (r.status !== 'closed') throw new Error(`window not closed: ${r.status}`);
        const expected = tsDecision(i);
        const json = await client.hget(keys.decisions, '1');
        const d = json === null ? undefined : parseDecision(json);
        const actual = d
          ? {
              kind: d.kind,
              ...(d.winner === undefined ? {} : { winner: d.winner }),
              losers: [...d.losers].sort(),
              preempt: d.preempt.map((h) => h.id).sort(),
              blockedBy: d.blockedBy.map((h) => h.id).sort(),
            }
          : { kind: 'empty', losers: [], preempt: [], blockedBy: [] };
        if (expected.kind === 'empty') kinds.empty++;
        else if (expected.kind === 'hold') kinds.hold++;
        else {
          kinds.start++;
          if (expected.preempt.length > 0) kinds.preempting++;
        }
        deepStrictEqual(actual, expected);
        return true;
      }),
      { numRuns: 400 },
    );
  } finally {
    client.disconnect();
  }
  // The generator reaches every branch of the rules.
  t.true(kinds.start > 0 && kinds.hold > 0 && kinds.empty > 0 && kinds.preempting > 0, JSON.stringify(kinds));
});
