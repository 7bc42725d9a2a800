/** Bounds for {@link toJsonSafe}. */
export interface JsonSafeLimits {
  /** Nesting depth kept; deeper values become `'[…]'`. */
  readonly depth: number;
  /** Longest string (and object key) kept; longer ones are cut and marked with `…`. */
  readonly maxString: number;
  /** Items kept per array / Map / Set, keys per object. */
  readonly maxItems: number;
  /**
   * Values copied in all; past it the rest become `'[…]'`. Bounds the output (and the time)
   * whatever the input's shape, e.g. getters that return a new object on every read.
   * @default 5000
   */
  readonly maxNodes?: number;
}

const DEFAULT_LIMITS: JsonSafeLimits = { depth: 6, maxString: 500, maxItems: 50, maxNodes: 5000 };
// The built-in getters: a subclass or an own property named `size` may lie or throw.
const MAP_SIZE = Object.getOwnPropertyDescriptor(Map.prototype, 'size')!.get!;
const SET_SIZE = Object.getOwnPropertyDescriptor(Set.prototype, 'size')!.get!;
const MAP_ENTRIES = Map.prototype.entries;
const SET_VALUES = Set.prototype.values;
const GET_TIME = Date.prototype.getTime;

/**
 * What an unreadable value becomes: `[unreadable: TypeError: Cannot perform 'get' on a proxy that
 * has been revoked]`. Reading the thrown value can throw too (a thrown Proxy), so every step is
 * guarded.
 */
export function unreadable(err: unknown, maxString = 200): string {
  let text: string;
  try {
    if (err !== null && (typeof err === 'object' || typeof err === 'function')) {
      const e = err as { name?: unknown; message?: unknown };
      const name = typeof e.name === 'string' ? e.name : 'Error';
      const message = typeof e.message === 'string' ? e.message : '';
      text = message ? `${name}: ${message}` : name;
    } else {
      text = typeof err === 'symbol' ? String(err) : `${typeof err} ${String(err)}`;
    }
  } catch {
    text = 'an error that cannot be read either';
  }
  if (text.length > maxString) text = `${text.slice(0, maxString)}…`;
  return `[unreadable: ${text}]`;
}

// One copy in progress. Module-level functions over this state (no closures per call): the
// inspector copies thousands of values per second.
interface Walk {
  readonly depth: number;
  readonly maxString: number;
  readonly maxItems: number;
  readonly maxNodes: number;
  nodes: number;
  /** The objects on the path from the root to here (at most `depth`): cycles are found in it. */
  readonly path: object[];
}

// Set by `read` when it caught an error (to keep `read` allocation-free).
let readError: unknown;
const FAILED: unique symbol = Symbol('failed');

function read(obj: object, key: PropertyKey): unknown {
  try {
    return (obj as Record<PropertyKey, unknown>)[key];
  } catch (error) {
    readError = error;
    return FAILED;
  }
}

function cut(w: Walk, s: string): string {
  return s.length > w.maxString ? `${s.slice(0, w.maxString)}…` : s;
}

// A key that is data: `__proto__` becomes an own property, never the prototype.
function put(out: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  else out[key] = value;
}

function walk(w: Walk, v: unknown, level: number): unknown {
  switch (typeof v) {
    case 'string':
      return v.length > w.maxString ? `${v.slice(0, w.maxString)}…` : v;
    case 'number':
      // JSON has no -0, NaN or Infinity.
      return Number.isFinite(v) ? (v === 0 ? 0 : v) : String(v);
    case 'boolean':
      return v;
    case 'undefined':
      return undefined;
    case 'bigint':
      return cut(w, `${v}n`);
    case 'symbol':
      return cut(w, String(v));
    default:
      break;
  }
  if (v === null) return null;
  if (++w.nodes > w.maxNodes) return '[…]';
  try {
    if (typeof v === 'function') {
      const name = read(v, 'name');
      return { type: typeof name === 'string' && name ? cut(w, name) : 'function' };
    }
    const obj = v as object;
    if (w.path.includes(obj)) return '[circular]';
    if (level >= w.depth) return '[…]';
    w.path.push(obj);
    try {
      return copyObject(w, obj, level);
    } finally {
      w.path.pop();
    }
  } catch (err) {
    return unreadable(err, w.maxString);
  }
}

function item(w: Walk, obj: object, key: PropertyKey, level: number): unknown {
  const x = read(obj, key);
  if (x === FAILED) return unreadable(readError, w.maxString);
  return walk(w, x, level + 1);
}

// Every probe below can throw (Proxy traps, getters, subclass overrides): the caller turns that
// into one placeholder for this object.
function copyObject(w: Walk, obj: object, level: number): unknown {
  const send = read(obj, 'send');
  if (typeof send === 'function' && typeof read(obj, 'getSnapshot') === 'function') {
    const id = read(obj, 'id');
    return `[actor ${cut(w, typeof id === 'string' ? id : '')}]`;
  }
  // A state machine (a lifecycle in a context, the coordinators' settings): its definition is
  // sent once as a statechart, never walked (it links every state node to every other).
  if (typeof read(obj, 'transition') === 'function' && typeof read(obj, 'root') === 'object') {
    const id = read(obj, 'id');
    return `[machine ${cut(w, typeof id === 'string' ? id : '')}]`;
  }
  if (Array.isArray(obj) || ArrayBuffer.isView(obj)) {
    const length = read(obj, 'length');
    const n = typeof length === 'number' ? length : Array.isArray(obj) ? 0 : (obj as ArrayBufferView).byteLength;
    const out: unknown[] = [];
    for (let i = 0; i < Math.min(n, w.maxItems); i++) out.push(item(w, obj, i, level) ?? null);
    if (n > w.maxItems) out.push(`[+${n - w.maxItems} more]`);
    return out;
  }
  if (obj instanceof Error) {
    return { name: errorPart(w, obj, 'name', level), message: errorPart(w, obj, 'message', level) };
  }
  if (obj instanceof Date) {
    const time = GET_TIME.call(obj);
    return Number.isNaN(time) ? 'Invalid Date' : new Date(time).toISOString();
  }
  if (obj instanceof Map || obj instanceof Set) {
    const isMap = obj instanceof Map;
    const size = (isMap ? MAP_SIZE : SET_SIZE).call(obj) as number;
    const out: unknown[] = [];
    // The built-in iterators, not the object's own (which a subclass may have broken).
    const it = isMap ? MAP_ENTRIES.call(obj) : SET_VALUES.call(obj);
    for (let step = it.next(); !step.done; step = it.next()) {
      if (out.length >= w.maxItems) {
        out.push(`[+${size - w.maxItems} more]`);
        break;
      }
      if (isMap) {
        const [k, x] = step.value as [unknown, unknown];
        out.push([walk(w, k, level + 1) ?? null, walk(w, x, level + 1) ?? null]);
      } else out.push(walk(w, step.value, level + 1) ?? null);
    }
    return out;
  }
  const out: Record<string, unknown> = {};
  const keys = Object.keys(obj);
  const n = Math.min(keys.length, w.maxItems);
  for (let i = 0; i < n; i++) {
    const key = keys[i]!;
    const safe = item(w, obj, key, level);
    if (safe !== undefined) put(out, cut(w, key), safe);
  }
  if (keys.length > w.maxItems) put(out, '…', `[+${keys.length - w.maxItems} more keys]`);
  return out;
}

function errorPart(w: Walk, err: object, key: 'name' | 'message', level: number): unknown {
  const x = read(err, key);
  if (x === FAILED) return unreadable(readError, w.maxString);
  return typeof x === 'string' ? cut(w, x) : walk(w, x, level + 1);
}

/**
 * Copies any value (user payloads, machine contexts, events, values sent by inspected apps) into a
 * bounded, JSON-safe tree of plain objects, arrays, strings, numbers, booleans and `null`:
 * functions become `{ type: name }` (as `@statelyai/inspect` does), actors `'[actor <id>]'`, state
 * machines `'[machine <id>]'`,
 * Maps and Sets arrays, errors `{ name, message }`, bigints `'10n'`, symbols their description,
 * cycles `'[circular]'`; depth, string length, item counts and the total number of values are
 * capped. It never throws: a value that cannot be read (a throwing getter, a revoked Proxy, a
 * throwing iterator) becomes `'[unreadable: TypeError: …]'` and only that value is lost. Keys
 * such as `__proto__` and `constructor` stay ordinary data. `JSON.stringify` of the result never
 * throws either. Nothing of it is ever evaluated by the page.
 *
 * @example
 * ```ts
 * const { proxy, revoke } = Proxy.revocable({}, {});
 * revoke();
 * toJsonSafe({ execute: function execute() {}, big: 'x'.repeat(1e6), gone: proxy });
 * // { execute: { type: 'execute' }, big: 'xxxx…', gone: '[unreadable: TypeError: Cannot perform …]' }
 * ```
 */
export function toJsonSafe(value: unknown, limits: JsonSafeLimits = DEFAULT_LIMITS): unknown {
  const w: Walk = {
    depth: limits.depth,
    maxString: limits.maxString,
    maxItems: limits.maxItems,
    maxNodes: limits.maxNodes ?? DEFAULT_LIMITS.maxNodes!,
    nodes: 0,
    path: [],
  };
  try {
    return walk(w, value, 0);
  } catch (err) {
    // Out of stack or memory half-way: still an answer, never an exception.
    return unreadable(err, limits.maxString);
  }
}
