import { ArbiterInputError } from '../errors.js';
import { kindOf } from '../validate.js';

function describe(value: unknown): string {
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'symbol') return 'a symbol';
  if (typeof value === 'object' && value !== null) {
    const name = Object.getPrototypeOf(value)?.constructor?.name;
    return name ? `a ${name}` : 'an object with a custom prototype';
  }
  return kindOf(value);
}

function isPlainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * Copies entity data, refusing what a frozen snapshot could not protect (maps, sets, dates,
 * class instances, functions, symbols) and cycles. With `freeze`, every object and array of the
 * copy is frozen, so the copy can be handed out as a snapshot without further copying.
 */
export function copyData<T>(value: T, field: string, freeze: boolean): T {
  const ancestors = new Set<object>();
  const visit = (v: unknown, path: string): unknown => {
    switch (typeof v) {
      case 'string':
      case 'number':
      case 'boolean':
      case 'bigint':
      case 'undefined':
        return v;
      case 'object':
        break;
      default:
        throw new ArbiterInputError(path, `Expected \`${path}\` to be plain data, got ${describe(v)}`);
    }
    if (v === null) return null;
    if (ancestors.has(v)) throw new ArbiterInputError(path, `Expected \`${path}\` to be plain data, got a cycle`);
    let out: unknown;
    ancestors.add(v);
    if (Array.isArray(v)) {
      const arr = new Array<unknown>(v.length);
      for (let i = 0; i < v.length; i++) arr[i] = visit(v[i], `${path}.${i}`);
      out = arr;
    } else if (isPlainObject(v)) {
      const obj: Record<string, unknown> = {};
      for (const key of Object.keys(v)) obj[key] = visit((v as Record<string, unknown>)[key], `${path}.${key}`);
      out = obj;
    } else {
      throw new ArbiterInputError(path, `Expected \`${path}\` to be plain data, got ${describe(v)}`);
    }
    ancestors.delete(v);
    return freeze ? Object.freeze(out) : out;
  };
  return visit(value, field) as T;
}
