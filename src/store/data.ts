import { ArbiterInputError, describeError } from '../errors.js';
import { kindOf } from '../validate.js';

function describe(value: unknown): string {
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'symbol') return 'a symbol';
  if (typeof value === 'object' && value !== null) {
    try {
      const proto: unknown = Object.getPrototypeOf(value);
      // Only an own `constructor` of the prototype names a class; nothing is read through a chain.
      const ctor = proto !== null && typeof proto === 'object' ? Object.getOwnPropertyDescriptor(proto, 'constructor')?.value : undefined;
      return typeof ctor === 'function' && ctor.name ? `a ${ctor.name}` : 'an object with a custom prototype';
    } catch {
      return 'an unreadable object';
    }
  }
  return kindOf(value);
}

function isPlainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * Sets an own, enumerable, writable data property. Plain assignment would treat a `__proto__` key
 * as the prototype setter (the key vanishes and the value becomes the prototype); defining the
 * property keeps every key, `__proto__` included, as ordinary own data.
 */
export function defineData(target: object, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, writable: true, enumerable: true, configurable: true });
}

/**
 * Copies entity data, refusing what a frozen snapshot could not protect (maps, sets, dates,
 * class instances, functions, symbols, getters and setters) and cycles. Every key is kept as an
 * own data property, `__proto__`, `constructor` and `prototype` included: nothing is read through
 * a prototype and no prototype is ever set. With `freeze`, every object and array of the copy is
 * frozen, so the copy can be handed out as a snapshot without further copying.
 *
 * Each property of the input is read once (through its descriptor), so a Proxy cannot answer one
 * thing to the check and another to the copy; an input that throws while being read (a revoked
 * Proxy, a throwing trap) is an `ArbiterInputError` naming the path.
 */
export function copyData<T>(value: T, field: string, freeze: boolean): T {
  const ancestors = new Set<object>();
  const refuse = (path: string, got: string): never => {
    throw new ArbiterInputError(path, `Expected \`${path}\` to be plain data, got ${got}`);
  };
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
        return refuse(path, describe(v));
    }
    if (v === null) return null;
    if (ancestors.has(v)) return refuse(path, 'a cycle');
    let out: unknown[] | Record<string, unknown>;
    let descriptors: Record<string, PropertyDescriptor>;
    let length = 0;
    let kind: 'array' | 'object' | 'other';
    try {
      kind = Array.isArray(v) ? 'array' : isPlainObject(v) ? 'object' : 'other';
      if (kind === 'other') return refuse(path, describe(v));
      descriptors = Object.getOwnPropertyDescriptors(v);
      if (kind === 'array') length = descriptors['length']!.value as number;
    } catch (err) {
      if (err instanceof ArbiterInputError) throw err;
      return refuse(path, `an object that threw when read (${describeError(err)})`);
    }
    ancestors.add(v);
    const read = (key: string): unknown => {
      // Own descriptors only: a polluted Object.prototype must not fill an array hole.
      const d = Object.hasOwn(descriptors, key) ? descriptors[key] : undefined;
      if (d === undefined) return undefined; // an array hole
      if (d.get !== undefined || d.set !== undefined) refuse(`${path}.${key}`, 'a getter or setter');
      return visit(d.value, `${path}.${key}`);
    };
    if (kind === 'array') {
      const arr = new Array<unknown>(length);
      for (let i = 0; i < length; i++) arr[i] = read(String(i));
      out = arr;
    } else {
      const obj: Record<string, unknown> = {};
      for (const key of Object.keys(descriptors)) {
        if (descriptors[key]!.enumerable) defineData(obj, key, read(key));
      }
      out = obj;
    }
    ancestors.delete(v);
    return freeze ? Object.freeze(out) : out;
  };
  return visit(value, field) as T;
}
