import type { Arbiter } from './arbiter.js';
import { backoffDelay, DEFAULT_RETRY } from './backoff.js';
import { ArbiterInputError, OccConflictError, OperationRejectedError, describeError } from './errors.js';
import { newId } from './ids.js';
import { defaultMaxRetries, Priority } from './priority.js';
import type { Entity, EntityStore } from './store/types.js';
import type { ArbiterClock } from './types.js';
import { expectFunction, expectInteger, expectNonEmptyString, expectObject, expectOneOf } from './validate.js';

/**
 * How {@link withConflictResolution} runs the wrapped function.
 * - `'none'`: a plain call (errors pass through unchanged);
 * - `'staged'`: submitted to the arbiter on its target, run only if it wins, with the arguments
 *   as given;
 * - `'occ'`: read-process-write only, no arbitration: entity arguments are re-read from the store
 *   before every attempt, and an `OccConflictError` thrown by the function backs off and retries;
 * - `'staged+occ'` (default): both — arbitrated, and every attempt of the winner gets fresh entity
 *   snapshots (an `OccConflictError` sends the operation to `retrying`).
 *
 * @example
 * ```ts
 * withConflictResolution(fn, { arbiter, mode: 'staged' });
 * ```
 */
export type ConflictResolutionMode = 'none' | 'staged' | 'occ' | 'staged+occ';

/**
 * Every {@link ConflictResolutionMode}.
 *
 * @example
 * ```ts
 * CONFLICT_RESOLUTION_MODES.includes(process.env.MODE as ConflictResolutionMode);
 * ```
 */
export const CONFLICT_RESOLUTION_MODES: readonly ConflictResolutionMode[] = Object.freeze(['none', 'staged', 'occ', 'staged+occ']);

/**
 * Options of {@link withConflictResolution}. Functions of the arguments are called with the
 * arguments of each call.
 *
 * @example
 * ```ts
 * const opts: ConflictResolutionOptions<[Entity<Account>, number]> = {
 *   arbiter, type: 'withdraw', priority: (_account, amount) => (amount > 1000 ? Priority.HIGH : Priority.NORMAL),
 * };
 * ```
 */
export interface ConflictResolutionOptions<TArgs extends unknown[]> {
  /** Required for `'staged'` and `'staged+occ'`. */
  arbiter?: Arbiter;
  /** The operation type. @default the function's name, or `'operation'` */
  type?: string;
  /** Integer 1..10, or a function of the arguments. @default Priority.NORMAL */
  priority?: number | ((...args: TArgs) => number);
  /** The target. @default the id of the first entity among the arguments */
  target?: (...args: TArgs) => string;
  /** The candidate's `data`, as seen by a custom `selectWinner`. */
  data?: (...args: TArgs) => unknown;
  /** @default 'staged+occ' */
  mode?: ConflictResolutionMode;
  /** Where entity arguments are re-read (`'occ'`, `'staged+occ'`). @default arbiter.store */
  store?: EntityStore;
  /** Retries after the first attempt. @default by priority, as the arbiter does */
  maxRetries?: number;
  /** `'staged'` modes: rejects with `timeout` this long after the call. */
  timeoutMs?: number;
  /** `'occ'` mode: waits between attempts. @default a timer on `clock`, or `setTimeout` */
  sleep?: (ms: number) => Promise<void>;
  /** `'occ'` mode: the timer source of the default `sleep`. */
  clock?: ArbiterClock;
  /** `'occ'` mode: randomness for the backoff jitter. @default Math.random */
  random?: () => number;
}

/**
 * Whether a value counts as an entity argument: a store snapshot, recognised by its shape — a
 * string `id`, a number `version` and a `bigint` `lastModified` (see `Entity`). Plain strings
 * are never taken for entity ids: pass `target` for those.
 *
 * @example
 * ```ts
 * isEntity(store.create({ n: 1 })); // true
 * isEntity({ id: 'x' });            // false
 * ```
 */
export function isEntity(value: unknown): value is Entity {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v['id'] === 'string' && typeof v['version'] === 'number' && typeof v['lastModified'] === 'bigint';
}

/**
 * The entities among some arguments, in order: entity arguments, and entities inside array
 * arguments (one level deep, as the seeds do). The first is the primary target.
 *
 * @example
 * ```ts
 * entitiesIn([from, to, 100]).map((e) => e.id); // [from.id, to.id]
 * ```
 */
export function entitiesIn(args: readonly unknown[]): Entity[] {
  const out: Entity[] = [];
  for (const arg of args) {
    if (isEntity(arg)) out.push(arg);
    else if (Array.isArray(arg)) for (const item of arg) if (isEntity(item)) out.push(item);
  }
  return out;
}

function fresh(store: EntityStore, entity: Entity): Entity {
  const current = store.get(entity.id);
  if (current === undefined) throw new Error(`entity ${entity.id} is no longer in the store`);
  return current;
}

// Replaces every entity argument by its current snapshot; other arguments are passed unchanged.
function refresh<TArgs extends unknown[]>(store: EntityStore, args: TArgs): TArgs {
  return args.map((arg) => {
    if (isEntity(arg)) return fresh(store, arg);
    if (Array.isArray(arg) && arg.some(isEntity)) return arg.map((item) => (isEntity(item) ? fresh(store, item) : item));
    return arg;
  }) as TArgs;
}

function wait(ms: number, clock: ArbiterClock | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (clock) clock.setTimeout(() => resolve(), ms);
    else setTimeout(resolve, ms);
  });
}

/**
 * The seeds' `@with_conflict_resolution` decorator as a higher-order function: returns a function
 * with the same parameters that runs `fn` under arbitration and/or optimistic concurrency (see
 * {@link ConflictResolutionMode}) and resolves with `fn`'s value, or rejects with
 * `OperationRejectedError` (`lost-arbitration`, `retries-exhausted`, `execution-failed`, …, the
 * original error as `cause`).
 *
 * The target is `target(...args)`, else the first entity among the arguments (see
 * {@link entitiesIn}); other entities are refreshed but not arbitrated. A call with neither is
 * a plain call, as in the seeds. Bad options throw `ArbiterInputError` when wrapping; a bad
 * target or priority throws it synchronously at the call.
 *
 * @example
 * ```ts
 * import { createArbiter, createStore, withConflictResolution, Priority, type Entity } from 'xstate-arbiter';
 * const store = createStore();
 * const arbiter = createArbiter({ store });
 * const withdraw = withConflictResolution(
 *   (account: Entity<{ balance: number }>, amount: number) =>
 *     store.update(account.id, (d) => { d.balance -= amount; }, { expectedVersion: account.version }),
 *   { arbiter, type: 'withdraw', priority: Priority.HIGH },
 * );
 * await withdraw(store.create({ balance: 100 }), 30); // the updated snapshot
 * ```
 * @see createArbiter
 * @see occ
 */
export function withConflictResolution<TArgs extends unknown[], TResult>(
  fn: (...args: TArgs) => TResult,
  options: ConflictResolutionOptions<TArgs> = {},
): (...args: TArgs) => Promise<Awaited<TResult>> {
  expectFunction(fn as unknown, 'fn');
  expectObject(options as unknown, 'options');
  const mode = options.mode ?? 'staged+occ';
  expectOneOf(mode, 'mode', CONFLICT_RESOLUTION_MODES);
  const staged = mode === 'staged' || mode === 'staged+occ';
  const occMode = mode === 'occ' || mode === 'staged+occ';
  const arbiter: Arbiter | undefined = options.arbiter;
  if (staged || arbiter !== undefined) {
    expectObject(arbiter as unknown, 'arbiter');
    expectFunction(arbiter!.submit, 'arbiter.submit');
  }
  const store: EntityStore | undefined = options.store ?? arbiter?.store;
  if (occMode) {
    if (store === undefined) {
      throw new ArbiterInputError('store', `Expected \`store\` (or an arbiter created with a store) for mode '${mode}', got undefined`);
    }
    expectObject(store as unknown, 'store');
    expectFunction(store.get, 'store.get');
  }
  if (options.type !== undefined) expectNonEmptyString(options.type, 'type');
  if (typeof options.priority !== 'function' && options.priority !== undefined) expectInteger(options.priority, 'priority', 1, 10);
  for (const key of ['target', 'data', 'sleep', 'random'] as const) {
    if (options[key] !== undefined) expectFunction(options[key], key);
  }
  if (options.maxRetries !== undefined) expectInteger(options.maxRetries, 'maxRetries', 0);
  const type = options.type ?? (fn.name || 'operation');

  const targetOf = (args: TArgs): string | undefined => {
    if (options.target) {
      const t = options.target(...args);
      expectNonEmptyString(t, 'target');
      return t;
    }
    return entitiesIn(args)[0]?.id;
  };
  const priorityOf = (args: TArgs): number => {
    const p = typeof options.priority === 'function' ? options.priority(...args) : (options.priority ?? Priority.NORMAL);
    expectInteger(p, 'priority', 1, 10);
    return p;
  };

  async function readProcessWrite(self: unknown, args: TArgs, target: string, priority: number): Promise<Awaited<TResult>> {
    const operationId = newId();
    const maxRetries = options.maxRetries ?? defaultMaxRetries(priority);
    const retry = arbiter?.options.retry ?? DEFAULT_RETRY;
    const sleep = options.sleep ?? ((ms: number) => wait(ms, options.clock));
    const reject = (code: 'retries-exhausted' | 'execution-failed', reason: string, cause: unknown) =>
      new OperationRejectedError({ code, reason, operationId, target, cause });
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn.apply(self, refresh(store!, args));
      } catch (err) {
        if (!(err instanceof OccConflictError)) throw reject('execution-failed', `execution failed: ${describeError(err)}`, err);
        if (attempt > maxRetries) {
          throw reject('retries-exhausted', `retries exhausted after ${attempt} attempts: ${describeError(err)}`, err);
        }
        await sleep(backoffDelay(attempt - 1, retry, options.random));
      }
    }
  }

  const wrapped = function (this: unknown, ...args: TArgs): Promise<Awaited<TResult>> {
    if (mode !== 'none') {
      const target = targetOf(args);
      if (target !== undefined) {
        const priority = priorityOf(args);
        if (!staged) return readProcessWrite(this, args, target, priority);
        const self = this;
        const handle = arbiter!.submit<Awaited<TResult>>({
          target,
          type,
          priority,
          ...(options.maxRetries !== undefined ? { maxRetries: options.maxRetries } : {}),
          ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
          ...(options.data ? { data: options.data(...args) } : {}),
          execute: () => fn.apply(self, occMode ? refresh(store!, args) : args) as Awaited<TResult>,
        });
        return handle.result;
      }
    }
    try {
      return Promise.resolve(fn.apply(this, args)) as Promise<Awaited<TResult>>;
    } catch (err) {
      return Promise.reject(err);
    }
  };
  Object.defineProperty(wrapped, 'name', { value: fn.name || 'withConflictResolution' });
  return wrapped;
}
