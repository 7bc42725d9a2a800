// Entity data as a JSON string in Redis, without losing what JSON cannot say: bigint, undefined,
// NaN, ±Infinity and -0 are written as tagged objects { "$": tag, "v": text }, and a plain object
// that itself has a "$" key is wrapped ({ "$": "obj", "v": {...} }) so it is never read as a tag.
// Keys are kept as own properties, `__proto__` included.
import { ArbiterInputError } from '../errors.js';
import { kindOf } from '../validate.js';

function describe(value: unknown): string {
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'symbol') return 'a symbol';
  if (typeof value === 'object' && value !== null) {
    const name = (Object.getPrototypeOf(value) as { constructor?: { name?: string } } | null)?.constructor?.name;
    return name ? `a ${name}` : 'an object with a custom prototype';
  }
  return kindOf(value);
}

function isPlainObject(value: object): boolean {
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function numberTag(n: number): string | undefined {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Infinity) return 'Infinity';
  if (n === -Infinity) return '-Infinity';
  if (Object.is(n, -0)) return '-0';
  return undefined;
}

/**
 * Encodes entity data (plain data: JSON values, bigint, undefined) as a JSON string. Refuses
 * what the in-memory store refuses (functions, symbols, class instances, maps, sets, dates,
 * cycles) with `ArbiterInputError` naming the path of the offending value.
 *
 * @example
 * ```ts
 * decodeData(encodeData({ total: 10n, note: undefined })); // { total: 10n, note: undefined }
 * ```
 * @see decodeData
 */
export function encodeData(value: unknown, field = 'data'): string {
  const ancestors = new Set<object>();
  const visit = (v: unknown, path: string): unknown => {
    switch (typeof v) {
      case 'string':
      case 'boolean':
        return v;
      case 'number': {
        const tag = numberTag(v);
        return tag === undefined ? v : { $: 'num', v: tag };
      }
      case 'bigint':
        return { $: 'big', v: v.toString() };
      case 'undefined':
        return { $: 'undef' };
      case 'object':
        break;
      default:
        throw new ArbiterInputError(path, `Expected \`${path}\` to be plain data, got ${describe(v)}`);
    }
    if (v === null) return null;
    if (ancestors.has(v)) throw new ArbiterInputError(path, `Expected \`${path}\` to be plain data, got a cycle`);
    ancestors.add(v);
    let out: unknown;
    if (Array.isArray(v)) {
      const arr = new Array<unknown>(v.length);
      for (let i = 0; i < v.length; i++) arr[i] = visit(v[i], `${path}.${i}`);
      out = arr;
    } else if (isPlainObject(v)) {
      const entries: [string, unknown][] = [];
      for (const key of Object.keys(v)) entries.push([key, visit((v as Record<string, unknown>)[key], `${path}.${key}`)]);
      const obj = Object.fromEntries(entries);
      out = Object.prototype.hasOwnProperty.call(v, '$') ? { $: 'obj', v: obj } : obj;
    } else {
      throw new ArbiterInputError(path, `Expected \`${path}\` to be plain data, got ${describe(v)}`);
    }
    ancestors.delete(v);
    return out;
  };
  return JSON.stringify(visit(value, field));
}

/**
 * Decodes what {@link encodeData} wrote. With `freeze`, every object and array is frozen (a
 * snapshot); without, the result is a private mutable copy (a draft).
 *
 * @example
 * ```ts
 * const draft = decodeData(json, false);
 * ```
 */
export function decodeData(json: string, freeze = true): unknown {
  const revive = (v: unknown): unknown => {
    if (typeof v !== 'object' || v === null) return v;
    let out: unknown;
    if (Array.isArray(v)) {
      out = v.map(revive);
    } else {
      const o = v as Record<string, unknown>;
      if (Object.prototype.hasOwnProperty.call(o, '$')) {
        switch (o['$']) {
          case 'num':
            return Number(o['v']); // 'NaN', 'Infinity', '-Infinity', '-0'
          case 'big':
            return BigInt(String(o['v']));
          case 'undef':
            return undefined;
          case 'obj':
            out = fromEntries(o['v'] as Record<string, unknown>);
            break;
          default:
            throw new Error(`unknown tag in stored entity data: ${JSON.stringify(o['$'])}`);
        }
      } else {
        out = fromEntries(o);
      }
    }
    return freeze ? Object.freeze(out) : out;
  };
  // Object.fromEntries defines own properties, so a `__proto__` key stays data.
  const fromEntries = (o: Record<string, unknown>): Record<string, unknown> =>
    Object.fromEntries(Object.keys(o).map((k) => [k, revive(o[k])]));
  return revive(JSON.parse(json));
}
