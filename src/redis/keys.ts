import { ArbiterInputError } from '../errors.js';
import { kindOf } from '../validate.js';

/**
 * Encodes a target so that it can sit inside a Redis Cluster hash tag: `%`, `{` and `}` become
 * `%25`, `%7B`, `%7D`, and a lone UTF-16 surrogate (which UTF-8 cannot carry: Node would turn
 * every one of them into U+FFFD, so two different targets would share keys) becomes `%uD800`.
 * Everything else is kept as it is, so keys stay readable in `redis-cli`. Injective: `%` never
 * appears unescaped, so {@link decodeTarget} gives the original string back.
 *
 * @example
 * ```ts
 * encodeTarget('order:{42}'); // 'order:%7B42%7D'
 * decodeTarget(encodeTarget('100%')); // '100%'
 * ```
 * @see decodeTarget
 */
export function encodeTarget(target: string): string {
  let out = '';
  let start = 0;
  for (let i = 0; i < target.length; i++) {
    const c = target.charCodeAt(i);
    let escaped: string | undefined;
    if (c === 0x25) escaped = '%25';
    else if (c === 0x7b) escaped = '%7B';
    else if (c === 0x7d) escaped = '%7D';
    else if (c >= 0xd800 && c <= 0xdbff) {
      const next = target.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) i++; // a well-formed pair: kept
      else escaped = `%u${c.toString(16).toUpperCase()}`;
    } else if (c >= 0xdc00 && c <= 0xdfff) escaped = `%u${c.toString(16).toUpperCase()}`;
    if (escaped !== undefined) {
      out += target.slice(start, i) + escaped;
      start = i + 1;
    }
  }
  return start === 0 ? target : out + target.slice(start);
}

/**
 * The inverse of {@link encodeTarget}. Throws on a string that `encodeTarget` cannot produce.
 *
 * @example
 * ```ts
 * decodeTarget('order:%7B42%7D'); // 'order:{42}'
 * ```
 */
export function decodeTarget(encoded: string): string {
  return encoded.replace(/%(?:u([0-9A-F]{4})|([0-9A-F]{2}))|%/g, (match, unit: string | undefined, byte: string | undefined) => {
    if (unit !== undefined) return String.fromCharCode(parseInt(unit, 16));
    if (byte === '25' || byte === '7B' || byte === '7D') return String.fromCharCode(parseInt(byte, 16));
    throw new Error(`not an encoded target: ${JSON.stringify(encoded.slice(0, 80))} (at ${JSON.stringify(match)})`);
  });
}

/**
 * Checks a user's key prefix: any string without `{` or `}` (a brace would take over the hash
 * tag that keeps a target's keys in one slot). Returns it.
 *
 * @example
 * ```ts
 * checkKeyPrefix('shop:'); // 'shop:'
 * ```
 */
export function checkKeyPrefix(prefix: unknown, field = 'keyPrefix'): string {
  if (typeof prefix !== 'string') {
    throw new ArbiterInputError(field, `Expected \`${field}\` to be a string, got ${kindOf(prefix)}`);
  }
  if (prefix.includes('{') || prefix.includes('}')) {
    throw new ArbiterInputError(field, `Expected \`${field}\` to contain no "{" or "}" (they would break the Redis Cluster hash tag of every key), got ${kindOf(prefix)}`);
  }
  return prefix;
}

/**
 * The keys of one target, in the order every target script declares them (`KEYS[1..5]`). They
 * share the hash tag `{<encoded target>}`, so each script touches one Redis Cluster slot.
 *
 * - `meta` (hash): window id and state, candidate order counter, fencing token counter, the
 *   window's policy;
 * - `candidates` (hash): staged candidate id → record;
 * - `holders` (hash): fencing token → holder record (the leases);
 * - `outcomes` (sorted set): decided candidate id → the window that decided it;
 * - `decisions` (hash): window id → the window's decision (JSON), for the last windows.
 */
export interface TargetKeys {
  readonly meta: string;
  readonly candidates: string;
  readonly holders: string;
  readonly outcomes: string;
  readonly decisions: string;
}

/**
 * Builds the keys of `target` under `prefix` (already checked with {@link checkKeyPrefix}):
 * `<prefix>{<encoded target>}:m`, `…:c`, `…:h`, `…:o`, `…:d`. The prefix stays outside the
 * tag so that ACL key patterns (`~shop:*`) and `SCAN MATCH shop:*` cover every key.
 *
 * @example
 * ```ts
 * targetKeys('shop:', 'cart 7').meta; // 'shop:{cart 7}:m'
 * ```
 */
export function targetKeys(prefix: string, target: string): TargetKeys {
  const base = `${prefix}{${encodeTarget(target)}}:`;
  return {
    meta: `${base}m`,
    candidates: `${base}c`,
    holders: `${base}h`,
    outcomes: `${base}o`,
    decisions: `${base}d`,
  };
}

/** The keys as the array a script call takes. */
export function keyList(keys: TargetKeys): [string, string, string, string, string] {
  return [keys.meta, keys.candidates, keys.holders, keys.outcomes, keys.decisions];
}

/**
 * The pub/sub channel on which a process hears that one of its holders was preempted.
 *
 * @example
 * ```ts
 * processChannel('shop:', processId); // 'shop:process:<processId>'
 * ```
 */
export function processChannel(prefix: string, processId: string): string {
  return `${prefix}process:${processId}`;
}
