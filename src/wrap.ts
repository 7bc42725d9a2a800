import type { Arbiter } from './arbiter.js';
import { backoffDelay, DEFAULT_RETRY } from './backoff.js';
import { ArbiterInputError, OccConflictError, OperationRejectedError, describeError } from './errors.js';
import { newId } from './ids.js';
import { optionKeys, readOptions } from './keys.js';
import { bindClock } from './occ.js';
import { defaultMaxRetries, Priority } from './priority.js';
import type { Entity, EntityStore } from './store/types.js';
import { MAX_TIMER_DELAY_MS } from './timers.js';
import type { ArbiterClock, OperationHandle, OperationSpec, RetryOptions } from './types.js';
import { expectBoolean, expectFiniteNumber, expectFunction, expectInteger, expectNonEmptyString, expectObject, expectOneOf, kindOf } from './validate.js';

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
 * What {@link withConflictResolution} does with a call from which it cannot read a target (no
 * entity among the arguments and no `target` option), in every mode but `'none'`:
 * - `'reject'` (default): the call throws `ArbiterInputError` (field `target`) explaining the
 *   `target` option; `fn` does not run;
 * - `'plain'`: `fn` runs as a plain call, without arbitration or retries, exactly as in mode
 *   `'none'`. Choose it only for functions where running unarbitrated is what you want.
 *
 * @example
 * ```ts
 * withConflictResolution(refreshCache, { arbiter, whenNoTarget: 'plain' });
 * ```
 */
export type WhenNoTarget = 'reject' | 'plain';

/**
 * Every {@link WhenNoTarget}.
 *
 * @example
 * ```ts
 * WHEN_NO_TARGET.includes('plain'); // true
 * ```
 */
export const WHEN_NO_TARGET: readonly WhenNoTarget[] = Object.freeze(['reject', 'plain']);

/**
 * What a function wrapped with `context: true` receives as its last argument, after the
 * arguments of the call.
 *
 * @example
 * ```ts
 * const fetchQuote = withConflictResolution(
 *   async (account: Entity<Account>, { signal }: ConflictContext) => (await fetch(url, { signal })).json(),
 *   { arbiter, context: true },
 * );
 * await fetchQuote(account); // the caller passes the account only
 * ```
 */
export interface ConflictContext {
  /**
   * Staged modes: the operation's signal, aborted when it is preempted, cancelled, timed out or
   * shut down (pass it to `fetch`, timers, queries). `'occ'` and plain calls: never aborted.
   */
  readonly signal: AbortSignal;
  /** 1 for the first attempt, +1 for each retry. */
  readonly attempt: number;
  /** The operation's id (staged and `'occ'` modes); `undefined` for a plain call. */
  readonly operationId: string | undefined;
  /** The target the call was arbitrated on; `undefined` for a plain call. */
  readonly target: string | undefined;
}

/**
 * Options of {@link withConflictResolution}. Read once when wrapping and validated there: a bad
 * value or an unknown key throws `ArbiterInputError` at wrap time, never at a call. Functions of
 * the arguments are called with the arguments of each call.
 *
 * @example
 * ```ts
 * const opts: ConflictResolutionOptions<[Entity<Account>, number]> = {
 *   arbiter, type: 'withdraw', priority: (_account, amount) => (amount > 1000 ? Priority.HIGH : Priority.NORMAL),
 * };
 * ```
 */
export interface ConflictResolutionOptions<TArgs extends unknown[], TEvent extends string = string> {
  /** Required for `'staged'` and `'staged+occ'`. Its lifecycle's events type `handle(...).send`. */
  arbiter?: Arbiter<TEvent>;
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
  /** A call without a target: refused, or run plainly (see {@link WhenNoTarget}). @default 'reject' */
  whenNoTarget?: WhenNoTarget;
  /**
   * Passes a {@link ConflictContext} (`{ signal, attempt, operationId, target }`) to `fn` as one
   * more argument after the call's arguments. Declare it as `fn`'s last parameter; the wrapped
   * function keeps the other parameters. @default false
   */
  context?: boolean;
  /** Where entity arguments are re-read (`'occ'`, `'staged+occ'`). @default arbiter.store */
  store?: EntityStore;
  /** Retries after the first attempt. @default by priority, as the arbiter does */
  maxRetries?: number;
  /** Staged modes: rejects with `timeout` this long after the call (at most 2^31 - 1 ms). */
  timeoutMs?: number;
  /** `'occ'` mode: waits between attempts. @default a timer on `clock`, or `setTimeout` */
  sleep?: (ms: number) => Promise<void>;
  /** `'occ'` mode: the timer source of the default `sleep`. */
  clock?: ArbiterClock;
  /** `'occ'` mode: randomness for the backoff jitter. @default Math.random */
  random?: () => number;
}

/**
 * The function {@link withConflictResolution} returns: `fn`'s parameters, a promise of its value;
 * and `handle(...)`, which makes the same call but returns the operation's handle (staged modes).
 *
 * @example
 * ```ts
 * const approve = withConflictResolution(transfer, { arbiter, type: 'transfer' });
 * const h = approve.handle(from, 100);  // OperationHandle: status(), send(), cancel(), result
 * h.send({ type: 'approve' });
 * await h.result;
 * ```
 */
export interface ConflictResolvedFunction<TArgs extends unknown[], TResult, TEvent extends string = string> {
  (...args: TArgs): Promise<TResult>;
  /**
   * The same call, returning the operation's handle instead of its result: read `status()`,
   * `send` an event of your lifecycle, `cancel`. Staged modes only; a call that would not be
   * arbitrated (another mode, or no target with `whenNoTarget: 'plain'`) throws `ArbiterInputError`.
   * `this` is passed as given: use `handle.call(obj, ...)` for a method. Its `send` takes the
   * events of the arbiter's lifecycle (`TEvent`), as `arbiter.submit(...).send` does.
   */
  handle(...args: TArgs): OperationHandle<TResult, TEvent>;
}

const OPTION_KEYS = optionKeys<ConflictResolutionOptions<unknown[]>>({
  arbiter: true,
  type: true,
  priority: true,
  target: true,
  data: true,
  mode: true,
  whenNoTarget: true,
  context: true,
  store: true,
  maxRetries: true,
  timeoutMs: true,
  sleep: true,
  clock: true,
  random: true,
});

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
 * arguments (one level deep). The first is the primary target.
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

function wait(ms: number, clock: Pick<ArbiterClock, 'setTimeout'> | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (clock) clock.setTimeout(() => resolve(), ms);
    else setTimeout(resolve, ms);
  });
}

function plainContext(): ConflictContext {
  return Object.freeze({ signal: new AbortController().signal, attempt: 1, operationId: undefined, target: undefined });
}

/**
 * Runs a function under arbitration and/or optimistic concurrency: returns a function with the
 * same parameters that runs `fn` as an operation of `options.arbiter` (see
 * {@link ConflictResolutionMode}) and resolves with `fn`'s value, or rejects with
 * `OperationRejectedError` (`lost-arbitration`, `retries-exhausted`, `execution-failed`, …, the
 * original error as `cause`). `returned.handle(...)` makes the same call and returns the
 * operation's handle (see {@link ConflictResolvedFunction}).
 *
 * The target is `target(...args)`, else the first entity among the arguments (see
 * {@link entitiesIn}); other entities are refreshed but not arbitrated. A call with neither throws
 * `ArbiterInputError` (field `target`) unless `whenNoTarget: 'plain'` says to run it plainly: a
 * call is never silently left unarbitrated. With `context: true`, `fn` receives a
 * {@link ConflictContext} (`{ signal, attempt, operationId, target }`) after the call's arguments.
 *
 * `options` is read once, here: an unknown key or a bad value throws `ArbiterInputError` when
 * wrapping. A bad target or priority returned by your functions throws it synchronously at the
 * call, and nothing is submitted.
 *
 * @example
 * ```ts
 * import { createArbiter, createStore, withConflictResolution, Priority, type Entity } from 'xstate-arbiter';
 * type Account = { balance: number };
 * const store = createStore();
 * const arbiter = createArbiter({ store });
 * const withdraw = withConflictResolution(
 *   (account: Entity<Account>, amount: number) =>
 *     store.update<Account>(account.id, (d) => { d.balance -= amount; }, { expectedVersion: account.version }),
 *   { arbiter, type: 'withdraw', priority: Priority.HIGH },
 * );
 * await withdraw(store.create({ balance: 100 }), 30); // the updated snapshot
 * ```
 * @see createArbiter
 * @see occ
 */
export function withConflictResolution<TArgs extends unknown[], TResult, TEvent extends string = string>(
  fn: (...args: [...TArgs, ConflictContext]) => TResult,
  options: ConflictResolutionOptions<TArgs, TEvent> & { context: true },
): ConflictResolvedFunction<TArgs, Awaited<TResult>, TEvent>;
export function withConflictResolution<TArgs extends unknown[], TResult, TEvent extends string = string>(
  fn: (...args: TArgs) => TResult,
  options?: ConflictResolutionOptions<TArgs, TEvent> & { context?: false },
): ConflictResolvedFunction<TArgs, Awaited<TResult>, TEvent>;
export function withConflictResolution<TArgs extends unknown[], TResult>(
  fn: (...args: TArgs) => TResult,
  options: ConflictResolutionOptions<TArgs> = {},
): ConflictResolvedFunction<TArgs, Awaited<TResult>> {
  type R = Awaited<TResult>;
  expectFunction(fn as unknown, 'fn');
  const o = readOptions(options, OPTION_KEYS);

  const mode = (o.mode ?? 'staged+occ') as ConflictResolutionMode;
  expectOneOf(mode, 'mode', CONFLICT_RESOLUTION_MODES);
  const whenNoTarget = (o.whenNoTarget ?? 'reject') as WhenNoTarget;
  expectOneOf(whenNoTarget, 'whenNoTarget', WHEN_NO_TARGET);
  if (o.context !== undefined) expectBoolean(o.context, 'context');
  const withContext = o.context === true;
  const staged = mode === 'staged' || mode === 'staged+occ';
  const occMode = mode === 'occ' || mode === 'staged+occ';

  const arbiter = o.arbiter as Arbiter | undefined;
  let submit: Arbiter['submit'] | undefined;
  let arbiterStore: EntityStore | undefined;
  let arbiterRetry: RetryOptions = DEFAULT_RETRY;
  if (staged || arbiter !== undefined) {
    expectObject(arbiter, 'arbiter');
    const s = arbiter['submit'];
    expectFunction(s, 'arbiter.submit');
    submit = s as Arbiter['submit'];
    arbiterStore = arbiter['store'] as EntityStore | undefined;
    const resolved = arbiter['options'] as { retry?: RetryOptions } | undefined;
    if (resolved?.retry !== undefined) arbiterRetry = resolved.retry;
  }
  const store = (o.store as EntityStore | undefined) ?? arbiterStore;
  if (occMode && store === undefined) {
    throw new ArbiterInputError('store', `Expected \`store\` (or an arbiter created with a store) for mode '${mode}', got undefined`);
  }
  if (o.store !== undefined || occMode) {
    expectObject(store, 'store');
    expectFunction(store.get, 'store.get');
  }
  if (o.type !== undefined) expectNonEmptyString(o.type, 'type');
  const priorityOption = o.priority;
  if (typeof priorityOption !== 'function' && priorityOption !== undefined) expectInteger(priorityOption, 'priority', 1, 10);
  for (const key of ['target', 'data', 'sleep', 'random'] as const) {
    if (o[key] !== undefined) expectFunction(o[key], key);
  }
  if (o.maxRetries !== undefined) expectInteger(o.maxRetries, 'maxRetries', 0);
  if (o.timeoutMs !== undefined) {
    expectFiniteNumber(o.timeoutMs, 'timeoutMs');
    if (o.timeoutMs > MAX_TIMER_DELAY_MS) {
      throw new ArbiterInputError('timeoutMs', `Expected \`timeoutMs\` to be at most ${MAX_TIMER_DELAY_MS} (the timer limit, about 24.8 days), got ${kindOf(o.timeoutMs)}`);
    }
  }
  const clock = o.clock !== undefined ? bindClock(o.clock, 'clock') : undefined;

  const type = (o.type as string | undefined) ?? (fn.name || 'operation');
  const targetFn = o.target as ((...args: TArgs) => string) | undefined;
  const dataFn = o.data as ((...args: TArgs) => unknown) | undefined;
  const maxRetriesOption = o.maxRetries as number | undefined;
  const timeoutMs = o.timeoutMs as number | undefined;
  const random = o.random as (() => number) | undefined;
  const sleep = (o.sleep as ((ms: number) => Promise<void>) | undefined) ?? ((ms: number) => wait(ms, clock));

  const targetOf = (args: TArgs): string | undefined => {
    if (targetFn) {
      const t = targetFn(...args);
      expectNonEmptyString(t, 'target');
      return t;
    }
    return entitiesIn(args)[0]?.id;
  };
  const priorityOf = (args: TArgs): number => {
    const p = typeof priorityOption === 'function' ? (priorityOption as (...a: TArgs) => unknown)(...args) : (priorityOption ?? Priority.NORMAL);
    expectInteger(p, 'priority', 1, 10);
    return p;
  };
  const argsFor = (args: TArgs, context: () => ConflictContext): unknown[] => (withContext ? [...args, context()] : args);
  const invoke = (self: unknown, args: unknown[]): Promise<R> => {
    try {
      return Promise.resolve((fn as (...a: unknown[]) => TResult).apply(self, args)) as Promise<R>;
    } catch (err) {
      return Promise.reject(err);
    }
  };

  async function readProcessWrite(self: unknown, args: TArgs, target: string, priority: number): Promise<R> {
    const operationId = newId();
    const maxRetries = maxRetriesOption ?? defaultMaxRetries(priority);
    const signal = new AbortController().signal;
    const reject = (code: 'retries-exhausted' | 'execution-failed', reason: string, cause: unknown) =>
      new OperationRejectedError({ code, reason, operationId, target, cause });
    for (let attempt = 1; ; attempt++) {
      try {
        const fresh = refresh(store!, args);
        return await invoke(self, argsFor(fresh, () => Object.freeze({ signal, attempt, operationId, target })));
      } catch (err) {
        if (!(err instanceof OccConflictError)) throw reject('execution-failed', `execution failed: ${describeError(err)}`, err);
        if (attempt > maxRetries) {
          throw reject('retries-exhausted', `retries exhausted after ${attempt} attempts: ${describeError(err)}`, err);
        }
        await sleep(backoffDelay(attempt - 1, arbiterRetry, random));
      }
    }
  }

  const noTarget = (args: TArgs): ArbiterInputError =>
    new ArbiterInputError(
      'target',
      `Expected a target for \`${type}\`: none of its ${args.length} argument(s) is an entity of the store (ids given as strings are not ` +
        `read as entities) and there is no \`target\` option. Pass \`target: (...args) => id\` to name the target, or ` +
        `\`whenNoTarget: 'plain'\` to run such calls without arbitration on purpose.`,
    );

  // `handle`: whether the caller asked for the operation handle instead of the result.
  function call(self: unknown, args: TArgs, handle: true): OperationHandle<R>;
  function call(self: unknown, args: TArgs, handle: false): Promise<R>;
  function call(self: unknown, args: TArgs, handle: boolean): Promise<R> | OperationHandle<R> {
    const notArbitrated = (why: string) =>
      new ArbiterInputError('mode', `Expected a call that is arbitrated to return a handle, got ${why}: call the function itself for its result`);
    if (mode === 'none') {
      if (handle) throw notArbitrated("mode 'none'");
      return invoke(self, argsFor(args, plainContext));
    }
    const target = targetOf(args);
    if (target === undefined) {
      if (whenNoTarget === 'reject') throw noTarget(args);
      if (handle) throw notArbitrated("a call without a target and whenNoTarget 'plain'");
      return invoke(self, argsFor(args, plainContext));
    }
    const priority = priorityOf(args);
    if (!staged) {
      if (handle) throw notArbitrated("mode 'occ'");
      return readProcessWrite(self, args, target, priority);
    }
    const spec: OperationSpec<R> = {
      target,
      type,
      priority,
      ...(maxRetriesOption !== undefined ? { maxRetries: maxRetriesOption } : {}),
      ...(timeoutMs !== undefined ? { timeoutMs } : {}),
      ...(dataFn ? { data: dataFn(...args) } : {}),
      execute: ({ signal, attempt, id }) => {
        const current = occMode ? refresh(store!, args) : args;
        return invoke(self, argsFor(current, () => Object.freeze({ signal, attempt, operationId: id, target })));
      },
    };
    const h = submit!.call(arbiter, spec) as OperationHandle<R>;
    return handle ? h : h.result;
  }

  const wrapped = function (this: unknown, ...args: TArgs): Promise<R> {
    return call(this, args, false);
  } as ConflictResolvedFunction<TArgs, R>;
  Object.defineProperty(wrapped, 'name', { value: fn.name || 'withConflictResolution' });
  Object.defineProperty(wrapped, 'handle', {
    value: function handle(this: unknown, ...args: TArgs): OperationHandle<R> {
      return call(this === wrapped ? undefined : this, args, true);
    },
  });
  return wrapped;
}
