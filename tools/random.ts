/**
 * A seeded pseudo-random source, so that a stress or brutality run with the same `--seed` makes
 * the same choices (targets, batch sizes, priorities, operation types) and two modes can be
 * compared on the same workload.
 */

/** A source of numbers in [0, 1). */
export type Random = () => number;

/**
 * mulberry32: tiny, fast, and good enough for workload generation (not for cryptography).
 *
 * @example
 * ```ts
 * const random = seededRandom(42);
 * random(); // 0.6011037519201636, the same on every run
 * ```
 */
export function seededRandom(seed: number): Random {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * An integer in [min, max], both included.
 *
 * @example
 * ```ts
 * intBetween(random, 3, 8); // a batch size
 * ```
 */
export function intBetween(random: Random, min: number, max: number): number {
  return min + Math.floor(random() * (max - min + 1));
}

/**
 * Picks an element uniformly.
 *
 * @example
 * ```ts
 * pick(random, ['a', 'b', 'c']);
 * ```
 */
export function pick<T>(random: Random, items: readonly T[]): T {
  const item = items[Math.floor(random() * items.length)];
  if (item === undefined) throw new RangeError('pick() needs a non-empty list');
  return item;
}

/**
 * A sampler over weighted choices; weights need not sum to 1.
 *
 * @example
 * ```ts
 * const next = weighted(random, [['version_entity', 0.3], ['modify_field', 0.7]]);
 * next(); // 'modify_field' about 70% of the time
 * ```
 */
export function weighted<T>(random: Random, entries: ReadonlyArray<readonly [T, number]>): () => T {
  if (entries.length === 0) throw new RangeError('weighted() needs at least one entry');
  const total = entries.reduce((sum, [, w]) => sum + w, 0);
  if (!(total > 0)) throw new RangeError('weighted() needs a positive total weight');
  const cumulative: number[] = [];
  let acc = 0;
  for (const [, w] of entries) cumulative.push((acc += w / total));
  return () => {
    const r = random();
    for (let i = 0; i < cumulative.length; i++) if (r < cumulative[i]!) return entries[i]![0];
    return entries[entries.length - 1]![0];
  };
}
