/** Bounds for {@link toJsonSafe}. */
export interface JsonSafeLimits {
  /** Nesting depth kept; deeper values become `'[…]'`. */
  readonly depth: number;
  /** Longest string kept; longer ones are cut and marked with `…`. */
  readonly maxString: number;
  /** Items kept per array / Map / Set, keys per object. */
  readonly maxItems: number;
}

const DEFAULT_LIMITS: JsonSafeLimits = { depth: 6, maxString: 500, maxItems: 50 };

function isActorLike(v: object): boolean {
  const o = v as { send?: unknown; getSnapshot?: unknown; sessionId?: unknown };
  return typeof o.send === 'function' && typeof o.getSnapshot === 'function';
}

/**
 * Copies any value (user payloads, machine contexts, events) into a bounded, JSON-safe tree:
 * functions become `{ type: name }` (as `@statelyai/inspect` does), actors `'[actor <id>]'`,
 * Maps and Sets arrays, errors `{ name, message }`, cycles `'[circular]'`, and depth, string
 * length and item counts are capped. Nothing of it is ever evaluated by the page.
 *
 * @example
 * ```ts
 * toJsonSafe({ execute: function execute() {}, big: 'x'.repeat(1e6) });
 * // { execute: { type: 'execute' }, big: 'xxxx…' }
 * ```
 */
export function toJsonSafe(value: unknown, limits: JsonSafeLimits = DEFAULT_LIMITS): unknown {
  const seen = new WeakSet<object>();
  const cut = (s: string) => (s.length > limits.maxString ? `${s.slice(0, limits.maxString)}…` : s);
  const walk = (v: unknown, depth: number): unknown => {
    switch (typeof v) {
      case 'string':
        return cut(v);
      case 'number':
        return Number.isFinite(v) ? v : String(v);
      case 'boolean':
        return v;
      case 'bigint':
        return `${v}n`;
      case 'undefined':
        return undefined;
      case 'symbol':
        return cut(v.toString());
      case 'function':
        return { type: v.name || 'function' };
      default:
        break;
    }
    if (v === null) return null;
    const obj = v as object;
    if (seen.has(obj)) return '[circular]';
    if (isActorLike(obj)) return `[actor ${String((obj as { id?: unknown }).id ?? '')}]`;
    if (depth >= limits.depth) return '[…]';
    seen.add(obj);
    try {
      if (obj instanceof Error) return { name: obj.name, message: cut(obj.message) };
      if (obj instanceof Date) return Number.isNaN(obj.getTime()) ? 'Invalid Date' : obj.toISOString();
      if (Array.isArray(obj) || obj instanceof Set) {
        const arr = Array.isArray(obj) ? obj : [...obj];
        const out = arr.slice(0, limits.maxItems).map((x) => walk(x, depth + 1) ?? null);
        if (arr.length > limits.maxItems) out.push(`[+${arr.length - limits.maxItems} more]`);
        return out;
      }
      if (obj instanceof Map) {
        const out: unknown[] = [];
        for (const [k, x] of obj) {
          if (out.length >= limits.maxItems) {
            out.push(`[+${obj.size - limits.maxItems} more]`);
            break;
          }
          out.push([walk(k, depth + 1), walk(x, depth + 1) ?? null]);
        }
        return out;
      }
      const out: Record<string, unknown> = {};
      let n = 0;
      for (const key of Object.keys(obj)) {
        if (n++ >= limits.maxItems) {
          out['…'] = `[+${Object.keys(obj).length - limits.maxItems} more keys]`;
          break;
        }
        let x: unknown;
        try {
          x = (obj as Record<string, unknown>)[key];
        } catch {
          x = '[unreadable]';
        }
        const safe = walk(x, depth + 1);
        if (safe !== undefined) out[cut(key)] = safe;
      }
      return out;
    } finally {
      seen.delete(obj);
    }
  };
  return walk(value, 0);
}
