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
 * property keeps every key, `__proto__` included, as ordinary own data. (The copies below assign
 * other keys, which is faster: on a fresh object only `__proto__` meets an accessor.)
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
  // The path of the value being visited, joined only for an error message.
  const path: string[] = [field];
  const refuse = (got: string): never => {
    const at = path.join('.');
    throw new ArbiterInputError(at, `Expected \`${at}\` to be plain data, got ${got}`);
  };
  // One descriptor read per property (it answers both "enumerable?" and the value), so the
  // value copied is the value checked, whatever a Proxy answers to later reads.
  const own = (v: object, key: string): PropertyDescriptor | undefined => {
    try {
      return Object.getOwnPropertyDescriptor(v, key);
    } catch (err) {
      return refuse(`an object that threw when read (${describeError(err)})`);
    }
  };
  const valueOf = (d: PropertyDescriptor): unknown => {
    if (d.get !== undefined || d.set !== undefined) refuse('a getter or setter');
    return visit(d.value);
  };
  const visit = (v: unknown): unknown => {
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
        return refuse(describe(v));
    }
    if (v === null) return null;
    if (ancestors.has(v)) return refuse('a cycle');
    let keys: (string | symbol)[] | undefined;
    let length = 0;
    try {
      if (Array.isArray(v)) length = v.length;
      else if (isPlainObject(v)) keys = Reflect.ownKeys(v);
      else return refuse(describe(v));
    } catch (err) {
      if (err instanceof ArbiterInputError) throw err;
      return refuse(`an object that threw when read (${describeError(err)})`);
    }
    ancestors.add(v);
    let out: unknown[] | Record<string, unknown>;
    if (keys === undefined) {
      const arr = new Array<unknown>(length);
      for (let i = 0; i < length; i++) {
        path.push(String(i));
        const d = own(v, String(i));
        arr[i] = d === undefined ? undefined : valueOf(d); // a hole becomes undefined
        path.pop();
      }
      out = arr;
    } else {
      const obj: Record<string, unknown> = {};
      for (const key of keys) {
        if (typeof key !== 'string') continue;
        path.push(key);
        const d = own(v, key);
        if (d !== undefined && d.enumerable) {
          const copy = valueOf(d);
          if (key === '__proto__') defineData(obj, key, copy);
          else obj[key] = copy;
        }
        path.pop();
      }
      out = obj;
    }
    ancestors.delete(v);
    return freeze ? Object.freeze(out) : out;
  };
  return visit(value) as T;
}

/**
 * A mutable copy of data the store produced itself (a frozen snapshot made by {@link copyData}):
 * plain objects and arrays with own data properties only, no cycles, so it is copied without the
 * checks and the descriptor reads that untrusted input needs. Keys are still defined, never
 * assigned, so `__proto__` stays an own key.
 */
export function cloneSnapshotData<T>(value: T): T {
  const visit = (v: unknown): unknown => {
    if (typeof v !== 'object' || v === null) return v;
    if (Array.isArray(v)) {
      const arr = new Array<unknown>(v.length);
      for (let i = 0; i < v.length; i++) arr[i] = visit(v[i]);
      return arr;
    }
    const obj: Record<string, unknown> = {};
    for (const key of Object.keys(v)) {
      const copy = visit((v as Record<string, unknown>)[key]);
      if (key === '__proto__') defineData(obj, key, copy);
      else obj[key] = copy;
    }
    return obj;
  };
  return visit(value) as T;
}
