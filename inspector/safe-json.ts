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

// A key that is data: `__proto__` and friends become own properties, never the prototype.
function put(out: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
}

/**
 * Copies any value (user payloads, machine contexts, events, values sent by inspected apps) into a
 * bounded, JSON-safe tree of plain objects, arrays, strings, numbers, booleans and `null`:
 * functions become `{ type: name }` (as `@statelyai/inspect` does), actors `'[actor <id>]'`,
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
  const seen = new Set<object>();
  const maxNodes = limits.maxNodes ?? DEFAULT_LIMITS.maxNodes!;
  let nodes = 0;
  const cut = (s: string) => (s.length > limits.maxString ? `${s.slice(0, limits.maxString)}…` : s);

  const primitive = (v: unknown): { ok: true; value: unknown } | { ok: false } => {
    switch (typeof v) {
      case 'string':
        return { ok: true, value: cut(v) };
      case 'number':
        // JSON has no -0, NaN or Infinity.
        return { ok: true, value: Number.isFinite(v) ? (v === 0 ? 0 : v) : String(v) };
      case 'boolean':
        return { ok: true, value: v };
      case 'bigint':
        return { ok: true, value: cut(`${v}n`) };
      case 'undefined':
        return { ok: true, value: undefined };
      case 'symbol':
        return { ok: true, value: cut(String(v)) };
      default:
        return v === null ? { ok: true, value: null } : { ok: false };
    }
  };

  // Reads `obj[key]`; a throwing getter or trap costs only this value.
  const read = (obj: object, key: PropertyKey): { ok: true; value: unknown } | { ok: false; error: unknown } => {
    try {
      return { ok: true, value: (obj as Record<PropertyKey, unknown>)[key] };
    } catch (error) {
      return { ok: false, error };
    }
  };

  const walk = (v: unknown, depth: number): unknown => {
    const p = primitive(v);
    if (p.ok) return p.value;
    if (++nodes > maxNodes) return '[…]';
    try {
      if (typeof v === 'function') {
        let name: unknown;
        try {
          name = (v as { name?: unknown }).name;
        } catch {
          name = undefined;
        }
        return { type: typeof name === 'string' && name ? cut(name) : 'function' };
      }
      const obj = v as object;
      if (seen.has(obj)) return '[circular]';
      if (depth >= limits.depth) return '[…]';
      seen.add(obj);
      try {
        return copyObject(obj, depth);
      } finally {
        seen.delete(obj);
      }
    } catch (err) {
      return unreadable(err, limits.maxString);
    }
  };

  // Every probe below can throw (Proxy traps, getters, subclass overrides): the caller turns that
  // into one placeholder for this object.
  const copyObject = (obj: object, depth: number): unknown => {
    const send = read(obj, 'send');
    const getSnapshot = read(obj, 'getSnapshot');
    if (send.ok && getSnapshot.ok && typeof send.value === 'function' && typeof getSnapshot.value === 'function') {
      const id = read(obj, 'id');
      return `[actor ${cut(id.ok && typeof id.value === 'string' ? id.value : '')}]`;
    }
    if (obj instanceof Error) {
      const name = read(obj, 'name');
      const message = read(obj, 'message');
      return {
        name: name.ok ? (typeof name.value === 'string' ? cut(name.value) : walk(name.value, depth + 1)) : unreadable(name.error),
        message: message.ok ? (typeof message.value === 'string' ? cut(message.value) : walk(message.value, depth + 1)) : unreadable(message.error),
      };
    }
    if (obj instanceof Date) {
      const time = Date.prototype.getTime.call(obj);
      return Number.isNaN(time) ? 'Invalid Date' : new Date(time).toISOString();
    }
    if (ArrayBuffer.isView(obj)) {
      const length = read(obj, 'length');
      const n = length.ok && typeof length.value === 'number' ? length.value : (obj as ArrayBufferView).byteLength;
      const out: unknown[] = [];
      for (let i = 0; i < Math.min(n, limits.maxItems); i++) out.push(itemOf(obj, i, depth));
      if (n > limits.maxItems) out.push(`[+${n - limits.maxItems} more]`);
      return out;
    }
    if (Array.isArray(obj)) {
      const length = read(obj, 'length');
      const n = length.ok && typeof length.value === 'number' ? length.value : 0;
      const out: unknown[] = [];
      for (let i = 0; i < Math.min(n, limits.maxItems); i++) out.push(itemOf(obj, i, depth));
      if (n > limits.maxItems) out.push(`[+${n - limits.maxItems} more]`);
      return out;
    }
    if (obj instanceof Map || obj instanceof Set) {
      const isMap = obj instanceof Map;
      const size = (isMap ? MAP_SIZE : SET_SIZE).call(obj) as number;
      const out: unknown[] = [];
      // The built-in iterators, not the object's own (which a subclass may have broken).
      const it = isMap ? Map.prototype.entries.call(obj) : Set.prototype.values.call(obj);
      for (let step = it.next(); !step.done; step = it.next()) {
        if (out.length >= limits.maxItems) {
          out.push(`[+${size - limits.maxItems} more]`);
          break;
        }
        if (isMap) {
          const [k, x] = step.value as [unknown, unknown];
          out.push([walk(k, depth + 1) ?? null, walk(x, depth + 1) ?? null]);
        } else out.push(walk(step.value, depth + 1) ?? null);
      }
      return out;
    }
    const out: Record<string, unknown> = {};
    const keys = Object.keys(obj);
    let n = 0;
    for (const key of keys) {
      if (n++ >= limits.maxItems) {
        put(out, '…', `[+${keys.length - limits.maxItems} more keys]`);
        break;
      }
      const x = read(obj, key);
      const safe = x.ok ? walk(x.value, depth + 1) : unreadable(x.error, limits.maxString);
      if (safe !== undefined) put(out, cut(key), safe);
    }
    return out;
  };

  const itemOf = (obj: object, i: number, depth: number): unknown => {
    const x = read(obj, i);
    return x.ok ? (walk(x.value, depth + 1) ?? null) : unreadable(x.error, limits.maxString);
  };

  try {
    return walk(value, 0);
  } catch (err) {
    // Out of stack or memory half-way: still an answer, never an exception.
    return unreadable(err, limits.maxString);
  }
}
