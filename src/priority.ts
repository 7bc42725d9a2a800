import { ArbiterInputError } from './errors.js';

/**
 * Named priorities. Any integer from 1 to 10 is allowed; higher wins.
 *
 * @example
 * ```ts
 * arbiter.submit({ target: 'a', priority: Priority.CRITICAL, execute });
 * ```
 */
export const Priority = {
  BACKGROUND: 1,
  LOW: 2,
  NORMAL: 5,
  HIGH: 8,
  CRITICAL: 10,
} as const;

/** One of the named {@link Priority} values. */
export type PriorityName = keyof typeof Priority;

/**
 * Default retry budget by priority class (structural, normal and low operations, as in the earlier Python design).
 *
 * @example
 * ```ts
 * defaultMaxRetries(Priority.CRITICAL); // 20
 * defaultMaxRetries(Priority.NORMAL);   // 5
 * defaultMaxRetries(Priority.LOW);      // 3
 * ```
 */
export function defaultMaxRetries(priority: number): number {
  if (priority >= 10) return 20;
  if (priority >= 3) return 5;
  return 3;
}

/**
 * Effective priority: the maximum along the `parentId` chain, including `priority` itself.
 * Throws `ArbiterInputError` (field `parentId`) for an unknown parent or a cycle.
 *
 * @param lookup returns the known operation with that id, or undefined.
 * @example
 * ```ts
 * const ops = new Map([['p', { priority: 10, parentId: undefined }]]);
 * resolveEffectivePriority(2, 'p', (id) => ops.get(id)); // 10
 * ```
 */
export function resolveEffectivePriority(
  priority: number,
  parentId: string | undefined,
  lookup: (id: string) => { readonly priority: number; readonly parentId?: string | undefined } | undefined,
  selfId?: string,
): number {
  let best = priority;
  let next = parentId;
  const seen = new Set<string>();
  if (selfId !== undefined) seen.add(selfId);
  while (next !== undefined) {
    if (seen.has(next)) {
      throw new ArbiterInputError('parentId', `parentId chain forms a cycle at operation ${next}`);
    }
    seen.add(next);
    const parent = lookup(next);
    if (!parent) {
      throw new ArbiterInputError('parentId', `Expected \`parentId\` to name a known operation, got unknown id ${next}`);
    }
    if (parent.priority > best) best = parent.priority;
    next = parent.parentId;
  }
  return best;
}
