import { ArbiterInputError } from './errors.js';

/** Names a value's kind for "expected …, got …" messages. */
export function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') {
    if (Number.isNaN(value)) return 'NaN';
    if (!Number.isFinite(value)) return String(value);
    return `number ${value}`;
  }
  if (typeof value === 'string') {
    if (value === '') return 'an empty string';
    // Long values are cut in the middle, visibly: their end (an id's suffix, a file name) matters.
    if (value.length <= 60) return `string ${JSON.stringify(value)}`;
    return `string ${JSON.stringify(value.slice(0, 30))}…${JSON.stringify(value.slice(-24))} (${value.length} characters)`;
  }
  return typeof value;
}

function fail(field: string, expected: string, value: unknown): never {
  throw new ArbiterInputError(field, `Expected \`${field}\` to be ${expected}, got ${kindOf(value)}`);
}

/** Throws unless `value` is a plain object (not null, not an array). */
export function expectObject(value: unknown, field: string): asserts value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(field, 'an object', value);
}

/** Throws unless `value` is a non-empty string. */
export function expectNonEmptyString(value: unknown, field: string): asserts value is string {
  if (typeof value !== 'string' || value.length === 0) fail(field, 'a non-empty string', value);
}

/** Throws unless `value` is a function. */
export function expectFunction(value: unknown, field: string): asserts value is (...args: any[]) => any {
  if (typeof value !== 'function') fail(field, 'a function', value);
}

/** Throws unless `value` is a finite number ≥ `min`. */
export function expectFiniteNumber(value: unknown, field: string, min = 0): asserts value is number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min) {
    fail(field, `a finite number ≥ ${min}`, value);
  }
}

/** Throws unless `value` is an integer within `[min, max]`. */
export function expectInteger(value: unknown, field: string, min: number, max = Number.MAX_SAFE_INTEGER): asserts value is number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    fail(field, max === Number.MAX_SAFE_INTEGER ? `an integer ≥ ${min}` : `an integer from ${min} to ${max}`, value);
  }
}

/** Throws unless `value` is one of `allowed`. */
export function expectOneOf<T extends string>(value: unknown, field: string, allowed: readonly T[]): asserts value is T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    fail(field, `one of ${allowed.map((a) => `'${a}'`).join(', ')}`, value);
  }
}

/** Throws unless `value` is a boolean. */
export function expectBoolean(value: unknown, field: string): asserts value is boolean {
  if (typeof value !== 'boolean') fail(field, 'a boolean', value);
}

function distance(a: string, b: string): number {
  // Damerau–Levenshtein (optimal string alignment), case-insensitive.
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  const d: number[][] = Array.from({ length: x.length + 1 }, (_, i) => [i]);
  for (let j = 1; j <= y.length; j++) d[0]![j] = j;
  for (let i = 1; i <= x.length; i++) {
    for (let j = 1; j <= y.length; j++) {
      const cost = x[i - 1] === y[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && x[i - 1] === y[j - 2] && x[i - 2] === y[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[x.length]![y.length]!;
}

/**
 * The known name closest to `key`, if it is close enough to be a typo (same letters in another
 * case, or at most about a third of its letters wrong).
 *
 * @example
 * ```ts
 * suggestKey('windowMS', ['windowMs', 'gracePeriodMs']); // 'windowMs'
 * ```
 */
export function suggestKey(key: string, known: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const k of known) {
    const dist = distance(key, k);
    if (dist < bestDistance) {
      best = k;
      bestDistance = dist;
    }
  }
  if (best === undefined) return undefined;
  return bestDistance <= Math.max(1, Math.floor(Math.max(key.length, best.length) / 3)) ? best : undefined;
}

function describeKey(key: string): string {
  return JSON.stringify(key.length > 60 ? `${key.slice(0, 30)}…${key.slice(-29)}` : key);
}

/**
 * Reads a user's options object once: refuses unknown own keys (with a "did you mean" hint),
 * reads each known field exactly once into a plain null-prototype snapshot (absent and
 * `undefined` fields are left out), and reports a field whose getter throws as invalid input.
 * Validate and use the snapshot only: a getter or Proxy cannot answer differently later.
 *
 * @example
 * ```ts
 * const o = readOptions(options, 'options', ['windowMs', 'gracePeriodMs']);
 * if (o.windowMs !== undefined) expectDelay(o.windowMs, 'windowMs');
 * ```
 */
export function readOptions<K extends string>(
  value: unknown,
  field: string,
  known: readonly K[] | ReadonlySet<K>,
): Partial<Record<K, unknown>> {
  expectObject(value, field);
  const names: ReadonlySet<string> = known instanceof Set ? known : new Set(known as readonly string[]);
  const prefix = field === 'options' || field === 'spec' ? '' : `${field}.`;
  let keys: string[];
  try {
    keys = Object.keys(value);
  } catch (err) {
    throw new ArbiterInputError(field, `Expected \`${field}\` to be a readable object; listing its keys threw: ${err instanceof Error ? err.message : String(err)}`);
  }
  for (const key of keys) {
    if (names.has(key)) continue;
    const hint = suggestKey(key, names);
    throw new ArbiterInputError(
      `${prefix}${key}`,
      `Unknown option ${describeKey(key)} in \`${field}\`${hint ? `: did you mean \`${hint}\`?` : ''} (known: ${[...names].join(', ')})`,
    );
  }
  const out = Object.create(null) as Partial<Record<K, unknown>>;
  for (const name of names as ReadonlySet<K>) {
    let v: unknown;
    try {
      v = (value as Record<string, unknown>)[name];
    } catch (err) {
      throw new ArbiterInputError(`${prefix}${name}`, `Reading \`${prefix}${name}\` threw: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (v !== undefined) out[name] = v;
  }
  return out;
}
