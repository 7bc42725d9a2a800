import { ArbiterInputError } from '../errors.js';
import { kindOf } from '../validate.js';
import { defineData } from './data.js';

/**
 * A parsed entity address: the entity id and the field path inside its data.
 *
 * @example
 * ```ts
 * parseAddress('@0190f3c2-aaaa.items.0.qty'); // { id: '0190f3c2-aaaa', path: ['items', '0', 'qty'] }
 * ```
 */
export interface EntityAddress {
  readonly id: string;
  readonly path: readonly string[];
}

const ID = /^[^\s.@]+$/;

/** Whether `id` can appear in an address: non-empty, without `.`, `@` or whitespace. */
export function isAddressableId(id: string): boolean {
  return ID.test(id);
}

/**
 * Parses the address form `@<id>.<field>`; nested fields and array indices are separated
 * by `.` (`@<id>.items.0.qty`). A malformed address throws `ArbiterInputError` (field `address`).
 *
 * @example
 * ```ts
 * const { id, path } = parseAddress(`@${entity.id}.stock`);
 * ```
 * @see formatAddress
 */
export function parseAddress(address: unknown, field = 'address'): EntityAddress {
  const expected = (got: string): never => {
    throw new ArbiterInputError(field, `Expected \`${field}\` to be an address like "@<id>.<field>", got ${got}`);
  };
  if (typeof address !== 'string') return expected(kindOf(address));
  if (!address.startsWith('@')) return expected(kindOf(address));
  const dot = address.indexOf('.');
  if (dot < 0) return expected(`${kindOf(address)} (no field)`);
  const id = address.slice(1, dot);
  if (!isAddressableId(id)) return expected(`${kindOf(address)} (bad id)`);
  const path = address.slice(dot + 1).split('.');
  if (path.some((segment) => segment.length === 0 || /\s/.test(segment))) return expected(`${kindOf(address)} (empty or blank field)`);
  return { id, path };
}

/**
 * Splits a dotted field path (`'items.0.qty'`) into its segments; empty segments throw.
 *
 * @example
 * ```ts
 * parsePath('a.b'); // ['a', 'b']
 * ```
 */
export function parsePath(path: unknown, field = 'field', shown: unknown = path): string[] {
  if (typeof path !== 'string' || path.length === 0) {
    throw new ArbiterInputError(field, `Expected \`${field}\` to be a dotted field path like "a.b", got ${kindOf(shown)}`);
  }
  const segments = path.split('.');
  if (segments.some((s) => s.length === 0 || /\s/.test(s))) {
    throw new ArbiterInputError(field, `Expected \`${field}\` to be a dotted field path like "a.b", got ${kindOf(shown)} (empty or blank segment)`);
  }
  return segments;
}

/**
 * Builds an address from an id and a field path.
 *
 * @example
 * ```ts
 * store.put(formatAddress(item.id, 'stock'), 9);
 * ```
 * @see parseAddress
 */
export function formatAddress(id: string, path: string | readonly string[]): string {
  return `@${id}.${typeof path === 'string' ? path : path.join('.')}`;
}

function hasField(container: unknown, key: string): boolean {
  if (Array.isArray(container)) return /^(0|[1-9]\d*)$/.test(key) && Number(key) < container.length;
  // Own fields only: `constructor`, `toString` or `__proto__` name a field only when the data has one.
  if (typeof container === 'object' && container !== null) return Object.hasOwn(container, key);
  return false;
}

/** Reads a field path; `found` is false when any segment does not exist. */
export function readPath(data: unknown, path: readonly string[]): { found: boolean; value: unknown } {
  let cur = data;
  for (const key of path) {
    if (!hasField(cur, key)) return { found: false, value: undefined };
    cur = (cur as Record<string, unknown>)[key];
  }
  return { found: true, value: cur };
}

/**
 * Sets an existing field of a mutable copy. Returns false (and changes nothing) when the path
 * does not name an existing field.
 */
export function writePath(data: unknown, path: readonly string[], value: unknown): boolean {
  const parent = readPath(data, path.slice(0, -1));
  const last = path[path.length - 1];
  if (!parent.found || last === undefined || !hasField(parent.value, last)) return false;
  defineData(parent.value as object, last, value);
  return true;
}
