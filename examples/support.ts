/**
 * Shared by the examples: a seeded random generator and a driver that runs a simulated clock
 * until a set of promises has settled, so every run with the same seed decides the same way.
 */
import { pathToFileURL } from 'node:url';
import type { SimulatedClock } from 'xstate';

/** A small seeded PRNG (mulberry32): numbers in [0, 1). The same generator the CLI tools use. */
export { seededRandom as seeded } from '../tools/random.js';

/** An integer in [min, max]. */
export function between(random: () => number, min: number, max: number): number {
  return min + Math.floor(random() * (max - min + 1));
}

/**
 * Advances `clock` in `stepMs` steps, letting promise callbacks run between steps, until every
 * promise has settled. Returns the settled results.
 */
export async function settle<T>(clock: SimulatedClock, promises: Promise<T>[], stepMs = 5): Promise<PromiseSettledResult<T>[]> {
  let done = false;
  const all = Promise.allSettled(promises).then((r) => {
    done = true;
    return r;
  });
  for (let i = 0; !done; i++) {
    if (i > 100_000) throw new Error('the simulation did not settle');
    await new Promise((r) => setImmediate(r));
    if (!done) clock.increment(stepMs);
  }
  return all;
}

/** Whether this module is the script Node was started with (`npx tsx examples/x.ts`). */
export function isMain(url: string): boolean {
  const entry = process.argv[1];
  return entry !== undefined && url === pathToFileURL(entry).href;
}
