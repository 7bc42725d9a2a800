import { ArbiterInputError, describeError } from './errors.js';

// What a throwing getter or trap threw, for a message; never throws itself.
function reason(err: unknown): string {
  try {
    return describeError(err);
  } catch {
    return 'an error that cannot be described';
  }
}

/**
 * The optimal-string-alignment edit distance (Damerau–Levenshtein where each substring is edited
 * at most once): insertions, deletions, substitutions and swaps of two adjacent characters each
 * cost 1. Case-sensitive; see {@link suggest} for the comparison used on option names.
 *
 * @example
 * ```ts
 * editDistance('prority', 'priority'); // 1 (one insertion)
 * editDistance('tiemout', 'timeout');  // 1 (one swap)
 * ```
 */
export function editDistance(a: string, b: string): number {
  if (a === b) return 0;
  if (a.length === 0) return b.length;
  if (b.length === 0) return a.length;
  // Three rolling rows: the swap case looks two rows back.
  let prev2 = new Array<number>(b.length + 1).fill(0);
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  let cur = new Array<number>(b.length + 1).fill(0);
  for (let i = 1; i <= a.length; i++) {
    cur[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, prev2[j - 2]! + 1);
      cur[j] = d;
    }
    [prev2, prev, cur] = [prev, cur, prev2];
  }
  return prev[b.length]!;
}

// Option names compare without case, `-` or `_`: `windowMS`, `window_ms` and `WindowMs` all
// normalise to `windowms`.
function normalise(key: string): string {
  return key.toLowerCase().replace(/[-_]/g, '');
}

/**
 * The known key a mistyped one most likely meant, or `undefined` when none is close. A key that
 * differs only in case, `-` or `_` (`windowMS`, `window_ms`) always finds its match; otherwise
 * the closest known key by {@link editDistance} (on the lower-cased names) is suggested when it is
 * at most a third of the longer name away (at least 1, at most 3 edits). Ties go to the key listed
 * first in `known`.
 *
 * @example
 * ```ts
 * suggest('windowMS', ['windowMs', 'gracePeriodMs']); // 'windowMs'
 * suggest('prority', ['priority', 'target']);         // 'priority'
 * suggest('colour', ['priority', 'target']);          // undefined
 * ```
 */
export function suggest(key: string, known: readonly string[]): string | undefined {
  // Long keys are never close to an option name, and would make the distance quadratic in them.
  if (typeof key !== 'string' || key.length > 100) return undefined;
  const wanted = normalise(key);
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of known) {
    const name = normalise(candidate);
    if (name === wanted) return candidate;
    const limit = Math.min(3, Math.max(1, Math.floor(Math.max(name.length, wanted.length) / 3)));
    const d = editDistance(wanted, name);
    if (d <= limit && d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

/** A key as shown in a message: quoted when it is not a plain identifier, cut visibly in the middle. */
function show(key: string): string {
  const cut = key.length > 48 ? `${key.slice(0, 20)}…${key.slice(-20)}` : key;
  return /^[A-Za-z_$][\w$]*$/.test(cut) ? cut : JSON.stringify(cut);
}

function fieldOf(path: string | undefined, key: string): string {
  return path ? `${path}.${key}` : key;
}

function unknownKey(key: string, known: readonly string[], path: string | undefined): ArbiterInputError {
  const field = fieldOf(path, key);
  const guess = suggest(key, known);
  const list = known.length === 0 ? 'none' : known.join(', ');
  return new ArbiterInputError(
    field,
    `Unknown option \`${fieldOf(path, show(key))}\`${guess !== undefined ? ` (did you mean \`${fieldOf(path, guess)}\`?)` : ''}; ` +
      `known ${path ? `\`${path}\` ` : ''}options: ${list}`,
  );
}

function ownKeysOf(value: object, objectField: string): (string | symbol)[] {
  try {
    return Reflect.ownKeys(value);
  } catch (err) {
    throw new ArbiterInputError(objectField, `Expected \`${objectField}\` to be readable, but listing its keys threw: ${reason(err)}`);
  }
}

/**
 * Throws `ArbiterInputError` for the first own string key of `value` that is not in `known`, naming
 * it (with `path` as prefix, as in `retry.facter`) and suggesting the closest known key (see
 * {@link suggest}). `__proto__` is an ordinary unknown key here. Symbol keys are ignored.
 *
 * @example
 * ```ts
 * expectKnownKeys({ windowMS: 50 }, ['windowMs', 'gracePeriodMs']);
 * // ArbiterInputError (field 'windowMS'): Unknown option `windowMS` (did you mean `windowMs`?); …
 * ```
 * @see readOptions
 */
export function expectKnownKeys(value: object, known: readonly string[], path?: string): void {
  for (const key of ownKeysOf(value, path ?? 'options')) {
    if (typeof key === 'string' && !known.includes(key)) throw unknownKey(key, known, path);
  }
}

/**
 * A plain, frozen snapshot of a user-supplied options object, read once. Fields that were absent
 * (or `undefined`) are missing. It has no prototype, so nothing inherited can answer for a field.
 *
 * @example
 * ```ts
 * const snap: OptionsSnapshot<'maxHistory' | 'now'> = readOptions(options, ['maxHistory', 'now']);
 * ```
 */
export type OptionsSnapshot<K extends string> = { readonly [P in K]?: unknown };

function isPlainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value);
  // Object.prototype of this realm or another one (an object from a vm context or an iframe).
  return proto === null || Object.getPrototypeOf(proto) === null;
}

/**
 * Reads a user-supplied options object exactly once into a plain snapshot, so validation and use
 * see the same values: a getter or Proxy that answers validation and then throws, or changes its
 * answer, cannot matter, because only the snapshot is used afterwards.
 *
 * - `undefined` gives an empty snapshot; anything but a plain object (`{…}` or
 *   `Object.create(null)`) is an `ArbiterInputError` naming `path` (or `options`).
 * - Only own properties count: a field inherited from a prototype (or from a polluted
 *   `Object.prototype`) is never read.
 * - An own string key that is not in `known` is an `ArbiterInputError` naming it, with a
 *   "did you mean …" suggestion (see {@link expectKnownKeys}); `__proto__` is such a key.
 * - Each known field is read once (one `[[Get]]`); a read that throws becomes an
 *   `ArbiterInputError` naming the field.
 *
 * The values are not validated: check them on the snapshot, then use only the snapshot.
 *
 * @example
 * ```ts
 * const { maxHistory, now } = readOptions(options, ['maxHistory', 'now']);
 * if (maxHistory !== undefined) expectInteger(maxHistory, 'maxHistory', 1);
 * // nested objects: field names get the prefix, e.g. 'retry.factor'
 * const retry = readOptions(options.retry, ['baseDelayMs', 'factor', 'maxDelayMs', 'jitter'], 'retry');
 * ```
 * @see optionKeys
 */
export function readOptions<K extends string>(value: unknown, known: readonly K[] | ReadonlySet<K>, path?: string): OptionsSnapshot<K> {
  const objectField = path ?? 'options';
  const snapshot = Object.create(null) as Record<string, unknown>;
  if (value === undefined) return Object.freeze(snapshot) as OptionsSnapshot<K>;
  if (typeof value !== 'object' || value === null) {
    throw new ArbiterInputError(objectField, `Expected \`${objectField}\` to be an object, got ${value === null ? 'null' : typeof value}`);
  }
  let shape: 'plain' | 'array' | 'instance';
  try {
    shape = Array.isArray(value) ? 'array' : isPlainObject(value) ? 'plain' : 'instance';
  } catch (err) {
    // A revoked Proxy, or a getPrototypeOf trap that throws.
    throw new ArbiterInputError(objectField, `Expected \`${objectField}\` to be a readable object, but inspecting it threw: ${reason(err)}`);
  }
  if (shape === 'array') throw new ArbiterInputError(objectField, `Expected \`${objectField}\` to be an object, got array`);
  if (shape === 'instance') {
    throw new ArbiterInputError(
      objectField,
      `Expected \`${objectField}\` to be a plain object ({ … }), got an object with a prototype (a class instance or Object.create(…)): fields on its prototype would be ignored`,
    );
  }
  // Submitting an operation reads an options object: membership by Set, plain assignment into a
  // prototype-less object (a known key is never `__proto__`), and no freeze of the internal copy
  // when a Set is given (the submit path) — measured 5× cheaper than the general form.
  const names: ReadonlySet<string> = known instanceof Set ? (known as ReadonlySet<string>) : new Set(known as readonly string[]);
  for (const key of ownKeysOf(value, objectField)) {
    if (typeof key !== 'string') continue;
    if (!names.has(key)) throw unknownKey(key, [...names], path);
    let v: unknown;
    try {
      v = Reflect.get(value, key);
    } catch (err) {
      throw new ArbiterInputError(fieldOf(path, key), `Expected \`${fieldOf(path, key)}\` to be readable, but reading it threw: ${reason(err)}`);
    }
    if (v !== undefined) snapshot[key] = v;
  }
  return (known instanceof Set ? snapshot : Object.freeze(snapshot)) as OptionsSnapshot<K>;
}

/**
 * The keys of an options type, checked by the compiler: the object must list every key of `T`
 * (optional ones included) and nothing else, so the list cannot drift from the interface.
 *
 * @example
 * ```ts
 * const STORE_OPTION_KEYS = optionKeys<StoreOptions>({ maxHistory: true, now: true });
 * readOptions(options, STORE_OPTION_KEYS);
 * ```
 */
export function optionKeys<T extends object>(keys: { readonly [K in keyof Required<T> & string]: true }): readonly (keyof T & string)[] {
  return Object.freeze(Object.keys(keys)) as readonly (keyof T & string)[];
}
