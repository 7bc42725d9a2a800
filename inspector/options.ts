import { ArbiterInputError } from '../src/errors.js';
import { expectObject } from '../src/validate.js';

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1]!.toLowerCase() === b[j - 1]!.toLowerCase() ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}

function suggest(key: string, names: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const name of names) {
    const d = distance(key, name);
    if (d < bestDistance) {
      best = name;
      bestDistance = d;
    }
  }
  return best !== undefined && bestDistance <= Math.max(1, Math.floor(Math.max(key.length, best.length) / 3)) ? best : undefined;
}

/**
 * Reads an options object once: refuses unknown keys with a "did you mean" hint, reads each known
 * field exactly once into a plain snapshot (a getter or Proxy cannot answer differently later),
 * and turns a throwing getter into an `ArbiterInputError` naming the field.
 *
 * @example
 * ```ts
 * const o = readOptions({ prot: 1 }, 'options', ['port']); // throws: Unknown option "prot" in `options`: did you mean `port`?
 * ```
 */
export function readOptions<K extends string>(value: unknown, field: string, known: readonly K[]): Partial<Record<K, unknown>> {
  expectObject(value, field);
  const names = new Set<string>(known);
  let keys: string[];
  try {
    keys = Object.keys(value);
  } catch (err) {
    throw new ArbiterInputError(field, `Expected \`${field}\` to be a readable object; listing its keys threw: ${err instanceof Error ? err.message : String(err)}`);
  }
  for (const key of keys) {
    if (names.has(key)) continue;
    const hint = suggest(key, names);
    const shown = JSON.stringify(key.length > 60 ? `${key.slice(0, 60)}…` : key);
    throw new ArbiterInputError(key, `Unknown option ${shown} in \`${field}\`${hint ? `: did you mean \`${hint}\`?` : ''} (known: ${known.join(', ')})`);
  }
  const out = Object.create(null) as Partial<Record<K, unknown>>;
  for (const name of known) {
    let v: unknown;
    try {
      v = (value as Record<string, unknown>)[name];
    } catch (err) {
      throw new ArbiterInputError(name, `Reading \`${name}\` threw: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (v !== undefined) out[name] = v;
  }
  return out;
}
