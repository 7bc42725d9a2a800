// `xstate-arbiter/testing`: helpers to model-test operation lifecycles (the library's or your own) with
// xstate/graph against a real arbiter on a simulated clock.
import { createMachine, SimulatedClock, type AnyStateMachine, type AnyStateNode, type AnyTransitionDefinition } from 'xstate';
import { createTestModel, type TestModel, type TestPath } from 'xstate/graph';
import { checkLifecycle } from '../machines/lifecycle.js';
import { operationMachine, type OperationInput } from '../machines/operation.machine.js';
import { createArbiter, type Arbiter } from './arbiter.js';
import { ArbiterInputError, OccConflictError, type LifecycleViolation } from './errors.js';
import { optionKeys, readOptions } from './keys.js';
import { Priority } from './priority.js';
import type { ArbiterOptions } from './options.js';
import type { OperationHandle, WhileExecuting } from './types.js';
import { expectInteger, expectOneOf, kindOf } from './validate.js';

export { checkLifecycle };
export type { LifecycleViolation };

/* ------------------------------------------------------------------------------------------ */
/* Clock                                                                                      */
/* ------------------------------------------------------------------------------------------ */

/**
 * Lets settled promises run (promise actors, `handle.result`): two macrotask turns.
 *
 * @example
 * ```ts
 * deferred.resolve('ok');
 * await flush(); // the `execute` actor has reported done
 * ```
 */
export async function flush(): Promise<void> {
  // setImmediate runs after pending I/O and microtasks in Node; browsers only have setTimeout.
  const turn = typeof globalThis.setImmediate === 'function' ? globalThis.setImmediate : (fn: () => void) => setTimeout(fn, 0);
  await new Promise<void>((resolve) => turn(resolve));
  await new Promise<void>((resolve) => turn(resolve));
}

/**
 * Advances a simulated clock by `ms` (firing every timer due meanwhile, in order) and lets
 * promise actors settle.
 *
 * @example
 * ```ts
 * const clock = new SimulatedClock();
 * const arbiter = createArbiter({ clock, windowMs: 100 });
 * arbiter.submit({ target: 'a', execute: async () => 1 });
 * await advance(clock, 100); // the window closed, the operation ran
 * ```
 */
export async function advance(clock: SimulatedClock, ms: number): Promise<void> {
  if (ms > 0) clock.increment(ms);
  await flush();
}

/**
 * XState's `SimulatedClock` plus `fire(timeoutMs)`, which runs now the pending timers that were
 * scheduled with exactly that duration. The model runner uses it to time an operation out
 * (its `timeoutMs` timer) without firing every shorter timer on the way.
 *
 * @example
 * ```ts
 * const clock = new ArbiterTestClock();
 * const arbiter = createArbiter({ clock });
 * const h = arbiter.submit({ target: 'a', timeoutMs: 86_400_000, execute: () => new Promise(() => {}) });
 * clock.fire(86_400_000); // h is rejected `timeout`
 * ```
 */
export class ArbiterTestClock extends SimulatedClock {
  /** Runs now every pending timer scheduled with `timeoutMs`; returns how many ran. */
  fire(timeoutMs: number): number {
    const timeouts = (this as unknown as { timeouts: Map<number, { timeout: number; fn: () => void }> }).timeouts;
    let fired = 0;
    for (const [id, t] of [...timeouts]) {
      if (t.timeout !== timeoutMs || !timeouts.has(id)) continue;
      timeouts.delete(id);
      fired++;
      t.fn.call(null);
    }
    return fired;
  }
}

/* ------------------------------------------------------------------------------------------ */
/* Deriving the test model                                                                    */
/* ------------------------------------------------------------------------------------------ */

type Json = Record<string, any>;

function toArray<T>(v: T | readonly T[] | undefined): T[] {
  if (v === undefined) return [];
  return Array.isArray(v) ? [...(v as readonly T[])] : [v as T];
}

function srcName(invoke: Json, index: number): string {
  if (typeof invoke['src'] === 'string') return invoke['src'];
  return typeof invoke['id'] === 'string' ? invoke['id'] : `invoke${index}`;
}

/** The explicit event that stands for a delay in a test model: `backoff.elapsed`, `5000ms.elapsed`. */
export function elapsedEvent(delay: string | number): string {
  return typeof delay === 'number' || /^\d+(\.\d+)?$/.test(delay) ? `${delay}ms.elapsed` : `${delay}.elapsed`;
}

function deriveState(state: Json): Json {
  const out: Json = { ...state };
  const on: Json = { ...(state['on'] as Json | undefined) };
  const add = (type: string, transitions: unknown) => {
    on[type] = [...toArray(on[type] as Json), ...toArray(transitions as Json)];
  };
  toArray(state['invoke'] as Json).forEach((inv, i) => {
    const name = srcName(inv, i);
    if (inv['onDone'] !== undefined) add(`${name}.done`, inv['onDone']);
    if (inv['onError'] !== undefined) add(`${name}.error`, inv['onError']);
  });
  for (const [delay, transitions] of Object.entries((state['after'] as Json | undefined) ?? {})) {
    add(elapsedEvent(delay), transitions);
  }
  delete out['invoke'];
  delete out['after'];
  if (Object.keys(on).length > 0) out['on'] = on;
  if (state['states']) {
    out['states'] = Object.fromEntries(Object.entries(state['states'] as Json).map(([k, v]) => [k, deriveState(v as Json)]));
  }
  return out;
}

/**
 * Derives the test model of a machine: the same states, transitions, guards and actions, with
 * every `invoke` replaced by explicit `<src>.done` / `<src>.error` events and every `after` by a
 * `<delay>.elapsed` event (`createTestModel` refuses `invoke` and `after`). Events of the model
 * carry the payload the real ones would: `output` for `.done`, `error` for `.error`.
 *
 * @example
 * ```ts
 * const model = toTestMachine(operationMachine);
 * // executing: on { 'arbiter.preempt', 'execute.done', 'execute.error' }; retrying: on { 'backoff.elapsed' }
 * ```
 * @see modelEdges
 */
export function toTestMachine<TMachine extends AnyStateMachine>(machine: TMachine): TMachine {
  const config = deriveState(machine.config as Json);
  return createMachine(config as never, machine.implementations as never) as unknown as TMachine;
}

function allNodes(node: AnyStateNode): AnyStateNode[] {
  return [node, ...(Object.values(node.states) as AnyStateNode[]).flatMap(allNodes)];
}

function refName(r: unknown): string {
  if (typeof r === 'string') return r;
  if (typeof r === 'function') return (r as { type?: string }).type ?? 'inline';
  if (r && typeof r === 'object') return String((r as { type?: unknown }).type ?? 'inline');
  return 'none';
}

/**
 * Every transition of a machine as a sorted list of `source --event [guard] / actions--> target`
 * lines, with `invoke` / `after` events named as in {@link toTestMachine}. Compare the lists of a
 * real machine and its test model to prove the model has not drifted.
 *
 * @example
 * ```ts
 * assert.deepEqual(modelEdges(toTestMachine(operationMachine)), modelEdges(operationMachine));
 * ```
 */
export function modelEdges(machine: AnyStateMachine): string[] {
  const lines: string[] = [];
  for (const node of allNodes(machine.root as AnyStateNode)) {
    const invokes = node.invoke as Array<{ id: string; src: unknown }>;
    const afters = node.after as Array<{ eventType: string; delay: string | number }>;
    const rename = (type: string): string => {
      const after = afters.find((a) => a.eventType === type);
      if (after) return elapsedEvent(after.delay);
      for (const [kind, suffix] of [['xstate.done.actor.', 'done'], ['xstate.error.actor.', 'error']] as const) {
        if (!type.startsWith(kind)) continue;
        const i = invokes.findIndex((inv) => inv.id === type.slice(kind.length));
        const inv = invokes[i];
        if (inv) return `${srcName(inv as unknown as Json, i)}.${suffix}`;
      }
      return type === '' ? '(always)' : type;
    };
    const all: AnyTransitionDefinition[] = [...[...node.transitions.values()].flat(), ...(node.always ?? [])];
    for (const t of all) {
      const targets = ((t.target ?? []) as AnyStateNode[]).map((x) => x.id).join(',') || '(self)';
      const guard = t.guard === undefined ? '' : ` [${refName(t.guard)}]`;
      const actions = (t.actions as unknown[]).map(refName).join(',');
      lines.push(`${node.id} --${rename(t.eventType)}${guard} / ${actions}--> ${targets}`);
    }
  }
  return lines.sort();
}

/* ------------------------------------------------------------------------------------------ */
/* The lifecycle test model and its runner                                                    */
/* ------------------------------------------------------------------------------------------ */

/** Everything an event executor may use while a path runs. */
export interface PathRun {
  readonly arbiter: Arbiter;
  readonly clock: ArbiterTestClock;
  /** The operation under test (undefined until the path's first event submits it). */
  readonly handle: OperationHandle | undefined;
  /** Every handle submitted so far: the operation under test, rivals and blockers. */
  readonly handles: readonly OperationHandle[];
  /** Clock time at which the operation entered its current top-level state. */
  readonly enteredAt: number;
  /** Submits another operation on the same target (never resolves unless aborted). */
  rival(priority: number): OperationHandle;
}

/** Runs one model event against the real arbiter. */
export type EventExecutor = (run: PathRun, event: { type: string; [key: string]: unknown }) => void | Promise<void>;

/**
 * Options of {@link createLifecycleTestModel}.
 *
 * @example
 * ```ts
 * createLifecycleTestModel(lifecycle, { whileExecuting: 'queue', maxRetries: 0, exclude: ['arbiter.cancel'] });
 * ```
 */
export interface LifecycleTestModelOptions {
  /** @default 'preempt' (under 'queue' no path preempts) */
  whileExecuting?: WhileExecuting;
  /** Retries of the operation under test; bounds the model. @default 1 */
  maxRetries?: number;
  /** The operation's `data` (the model and the real submission both get it). */
  data?: unknown;
  /**
   * `data` of the rivals and blockers the runner submits to make the operation lose, be preempted
   * or find its target full; they must get through your steps. @default options.data
   */
  rivalData?: unknown;
  /** Payloads per event type; each one is a separate edge of the model. */
  events?: Record<string, ReadonlyArray<Record<string, unknown>>>;
  /** Event types left out of the model. */
  exclude?: readonly string[];
  /** How to run an event of your own (default: `handle.send(event)`; `.elapsed`: advance the clock). */
  executors?: Record<string, EventExecutor>;
  /** `shortest` (one path per state and incoming transition) or `simple` (every acyclic path). @default 'shortest' */
  strategy?: 'shortest' | 'simple';
  /** Extra options for every arbiter the runner creates (the clock and the lifecycle are its own). */
  arbiter?: Omit<ArbiterOptions, 'clock' | 'lifecycle'>;
  /** Traversal bound of xstate/graph. @default 5000 */
  limit?: number;
}

/**
 * A lifecycle's test model: its paths and a runner that plays one against a real arbiter.
 *
 * @example
 * ```ts
 * const { paths, run } = createLifecycleTestModel(lifecycle);
 * for (const path of paths) test(path.description, async (t) => t.deepEqual(await run(path), []));
 * ```
 */
export interface LifecycleTestModel {
  /** The derived machine (invoke / after replaced by explicit events). */
  readonly machine: AnyStateMachine;
  readonly model: TestModel<any, any, unknown>;
  readonly paths: ReadonlyArray<TestPath<any, any>>;
  /** Plays a path; resolves with the broken invariants (empty when the path holds). */
  run(path: TestPath<any, any>): Promise<string[]>;
}

const MODEL_OPTION_KEYS = optionKeys<LifecycleTestModelOptions>({
  whileExecuting: true,
  maxRetries: true,
  data: true,
  rivalData: true,
  events: true,
  exclude: true,
  executors: true,
  strategy: true,
  arbiter: true,
  limit: true,
});

const MODEL_TARGET = 'model-target';
// A duration no model event uses: the runner fires this timer on `arbiter.timeout`.
const TIMEOUT_MS = 2_147_483_000;
const WINDOW_MS = 100;
const RETRY = { baseDelayMs: 500, factor: 2, maxDelayMs: 10_000, jitter: false };

function topOf(value: unknown): string {
  if (typeof value === 'string') return value;
  return Object.keys((value ?? {}) as object)[0] ?? 'unknown';
}

function describeEvent(e: Record<string, unknown>): string {
  const { type, ...rest } = e;
  const detail = Object.entries(rest)
    .map(([k, v]) => (v instanceof Error ? `${v.name}` : k === 'reason' ? '' : typeof v === 'object' ? '' : `${v}`))
    .filter(Boolean)
    .join(',');
  return detail ? `${String(type)}(${detail})` : String(type);
}

function hangs({ signal }: { signal: AbortSignal }): Promise<never> {
  return new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true }));
}

/**
 * Builds the model-based test of an operation lifecycle (by default the library's own): derives
 * the explicit-event model ({@link toTestMachine}), feeds it the arbiter's events with realistic
 * payloads, generates its paths with `xstate/graph`, and returns a runner that plays each path
 * against a real arbiter on an {@link ArbiterTestClock}.
 *
 * How each model event is played: `arbiter.admit` submits the operation; `arbiter.reject` submits
 * it while the target is full (from `pending`) or lets it lose to a higher-priority rival (from
 * `staged`); `arbiter.win` closes the window; `arbiter.preempt` lets a higher-priority rival win
 * after the grace period; `arbiter.cancel` → `handle.cancel()`; `arbiter.timeout` fires the
 * operation's `timeoutMs` timer; `arbiter.shutdown` → `arbiter.stop()`; `execute.done` / `.error`
 * settle the current attempt; `<delay>.elapsed` advances the clock to the delay's end; any other
 * event → `handle.send(event)`. `pending` only sees admit, reject and shutdown: `submit` decides
 * synchronously.
 *
 * Checked after every step: the real status is the model's state, accounting
 * (`submitted = completed + rejected + inFlight`), at most one holder per target under `preempt` /
 * `queue`, and in a final state the model's code (or result). After the path the arbiter is stopped
 * and every operation must be final, every rejection with a code and a reason.
 *
 * @example
 * ```ts
 * import test from 'ava';
 * import { createLifecycleTestModel } from 'xstate-arbiter/testing';
 * const { paths, run } = createLifecycleTestModel(lifecycle);
 * for (const path of paths) test(path.description, async (t) => t.deepEqual(await run(path), []));
 * test('path count', (t) => t.is(paths.length, 23));
 * ```
 */
export function createLifecycleTestModel(
  lifecycle: AnyStateMachine = operationMachine,
  options: LifecycleTestModelOptions = {},
): LifecycleTestModel {
  // Read once; a misspelt option (`maxRetry`, `exlude`) is refused with a suggestion.
  const given = options;
  options = readOptions(given, MODEL_OPTION_KEYS) as LifecycleTestModelOptions;
  // `rivalData: undefined` given on purpose means rivals without data.
  const hasRivalData = Object.hasOwn(given ?? {}, 'rivalData');
  if (options.whileExecuting !== undefined) expectOneOf(options.whileExecuting, 'whileExecuting', ['preempt', 'queue', 'concurrent']);
  if (options.maxRetries !== undefined) expectInteger(options.maxRetries, 'maxRetries', 0);
  if (options.strategy !== undefined) expectOneOf(options.strategy, 'strategy', ['shortest', 'simple']);
  if (options.limit !== undefined) expectInteger(options.limit, 'limit', 1);
  if (options.exclude !== undefined && !Array.isArray(options.exclude)) {
    throw new ArbiterInputError('exclude', `Expected \`exclude\` to be an array of event types, got ${kindOf(options.exclude)}`);
  }
  const whileExecuting = options.whileExecuting ?? 'preempt';
  const maxRetries = options.maxRetries ?? 1;
  const exclude = new Set(options.exclude ?? []);
  const rivalData = hasRivalData ? options.rivalData : options.data;
  if (whileExecuting !== 'preempt') exclude.add('arbiter.preempt');
  // Sent only by a shared backend (a lost lease, an unreachable backend) or a failed coordinator:
  // a model played against an in-memory arbiter cannot make it happen.
  exclude.add('arbiter.abort');
  const machine = toTestMachine(lifecycle);
  const input: OperationInput = {
    id: 'op',
    target: MODEL_TARGET,
    type: 'operation',
    priority: Priority.NORMAL,
    effectivePriority: Priority.NORMAL,
    seq: 1,
    submittedAt: 0,
    maxRetries,
    retry: RETRY,
    execute: () => undefined,
    random: () => 0.5,
    data: options.data,
  };
  const payloads: Record<string, ReadonlyArray<Record<string, unknown>>> = {
    'arbiter.preempt': [{ reason: 'preempted by a rival' }],
    'arbiter.cancel': [{ reason: 'cancelled by caller' }],
    'execute.done': [{ output: 'ok' }],
    'execute.error': [
      { error: new OccConflictError({ id: MODEL_TARGET, expected: 1, actual: 2 }) },
      { error: new Error('boom') },
    ],
    ...options.events,
  };
  const model = createTestModel(machine, {
    input,
    limit: options.limit ?? 5000,
    // xstate/graph would keep sending root-level events to a machine that is already done.
    stopWhen: (snapshot: { status: string }) => snapshot.status === 'done',
    events: (snapshot: { value: unknown }) => {
      const state = topOf(snapshot.value);
      const out: Array<Record<string, unknown> & { type: string }> = [];
      for (const [type, list] of Object.entries(payloads)) for (const p of list) out.push({ ...p, type });
      out.push(
        state === 'pending'
          ? { type: 'arbiter.reject', code: 'staging-full', reason: 'the target is full' }
          : { type: 'arbiter.reject', code: 'lost-arbitration', reason: 'lost arbitration to a rival' },
      );
      return out as never;
    },
    filterEvents: (snapshot: { value: unknown }, event: { type: string }) => {
      if (exclude.has(event.type)) return false;
      if (topOf(snapshot.value) === 'pending') {
        return event.type === 'arbiter.admit' || event.type === 'arbiter.reject' || event.type === 'arbiter.shutdown';
      }
      return true;
    },
  } as never) as unknown as TestModel<any, any, unknown>;
  const raw = options.strategy === 'simple' ? model.getSimplePaths() : model.getShortestPaths();
  const paths = raw
    .filter((p) => p.steps.length > 1)
    .map((p) => {
      const events = p.steps.slice(1).map((s) => describeEvent(s.event as Record<string, unknown>));
      const end = p.state as { value: unknown; context: { code?: string } };
      const top = topOf(end.value);
      const description = `reaches ${top}${top === 'rejected' ? ` (${end.context.code})` : ''}: ${events.join(' → ')}`;
      return { ...p, description };
    });

  async function run(path: TestPath<any, any>): Promise<string[]> {
    const problems: string[] = [];
    const clock = new ArbiterTestClock();
    const arbiter = createArbiter({
      windowMs: WINDOW_MS,
      gracePeriodMs: 0,
      maxStagedPerTarget: 2,
      retry: RETRY,
      random: () => 0.5,
      ...options.arbiter,
      whileExecuting,
      clock,
      lifecycle,
    });
    const handles: OperationHandle[] = [];
    const attempts: Array<{ resolve: (v: unknown) => void; reject: (e: unknown) => void; settled: boolean }> = [];
    let handle: OperationHandle | undefined;
    let enteredAt = 0;
    const submitOp = () => {
      const h = arbiter.submit({
        id: 'op',
        target: MODEL_TARGET,
        priority: Priority.NORMAL,
        maxRetries,
        timeoutMs: TIMEOUT_MS,
        data: options.data,
        execute: () =>
          new Promise((resolve, reject) => {
            attempts.push({ resolve, reject, settled: false });
          }),
      });
      handles.push(h);
      handle = h;
      enteredAt = clock.now();
      let last = h.status();
      h.subscribe((now) => {
        if (now !== last) {
          last = now;
          enteredAt = clock.now();
        }
      });
    };
    const runCtx: PathRun = {
      arbiter,
      clock,
      get handle() {
        return handle;
      },
      handles,
      get enteredAt() {
        return enteredAt;
      },
      rival(priority: number) {
        const h = arbiter.submit({ target: MODEL_TARGET, priority, data: rivalData, execute: hangs });
        handles.push(h);
        return h;
      },
    };
    const current = () => attempts.at(-1);
    const settleAttempt = (how: 'resolve' | 'reject', value: unknown) => {
      const a = current();
      if (!a || a.settled) throw new Error('no attempt is running: does the lifecycle still call spec.execute?');
      a.settled = true;
      a[how](value);
    };
    const delayOf = (type: string): number | undefined => {
      const snapshot = handle?.actor?.getSnapshot() as { value: unknown; context: unknown } | undefined;
      if (!snapshot) return undefined;
      const node = (lifecycle.root.states as Record<string, AnyStateNode>)[topOf(snapshot.value)];
      for (const n of node ? allNodes(node) : []) {
        for (const a of n.after as Array<{ delay: string | number }>) {
          if (elapsedEvent(a.delay) !== type) continue;
          if (typeof a.delay === 'number') return a.delay;
          const d = (lifecycle.implementations.delays as Record<string, unknown>)[a.delay];
          return typeof d === 'function' ? d({ context: snapshot.context, event: { type } }) : Number(d);
        }
      }
      return undefined;
    };
    const executors: Record<string, EventExecutor> = {
      'arbiter.admit': () => submitOp(),
      'arbiter.reject': async () => {
        if (!handle) {
          for (let i = 0; i < 2; i++) runCtx.rival(Priority.BACKGROUND);
          submitOp();
          return;
        }
        runCtx.rival(Priority.CRITICAL);
        await advance(clock, enteredAt + WINDOW_MS - clock.now());
      },
      'arbiter.win': async () => advance(clock, enteredAt + WINDOW_MS - clock.now()),
      'arbiter.preempt': async () => {
        runCtx.rival(Priority.CRITICAL);
        await advance(clock, WINDOW_MS);
      },
      'arbiter.cancel': () => {
        handle?.cancel();
      },
      'arbiter.timeout': () => {
        if (clock.fire(TIMEOUT_MS) === 0) throw new Error('the operation has no pending timeout timer');
      },
      'arbiter.shutdown': async () => {
        if (!handle) {
          await arbiter.stop();
          submitOp();
          return;
        }
        await arbiter.stop();
      },
      'execute.done': (_run, event) => settleAttempt('resolve', event['output']),
      'execute.error': (_run, event) => settleAttempt('reject', event['error']),
      ...options.executors,
    };

    // A submission after stop() is rejected at once but neither counted nor kept (events$ has
    // completed): its handle and its rejection tell its outcome.
    const finalOf = async (h: OperationHandle): Promise<{ status: string; code?: string; reason?: string }> => {
      const info = arbiter.operations.get(h.id);
      if (info) return { status: info.status, ...(info.code !== undefined ? { code: info.code } : {}), ...(info.reason !== undefined ? { reason: info.reason } : {}) };
      const status = h.status();
      if (status !== 'rejected') return { status };
      const err = (await h.result.then(() => undefined, (e: unknown) => e)) as { code?: string; reason?: string } | undefined;
      return { status, ...(err?.code !== undefined ? { code: err.code } : {}), ...(err?.reason !== undefined ? { reason: err.reason } : {}) };
    };
    const check = async (step: number, expected: { value: unknown; context: Record<string, unknown> }) => {
      const at = `step ${step}`;
      const m = arbiter.metrics();
      if (m.submitted !== m.completed + m.rejected + m.inFlight) {
        problems.push(`${at}: accounting broken: submitted ${m.submitted} ≠ completed ${m.completed} + rejected ${m.rejected} + inFlight ${m.inFlight}`);
      }
      if (whileExecuting !== 'concurrent') {
        const holders = arbiter.operations.query({ target: MODEL_TARGET }).filter((o) => o.won && o.status !== 'completed' && o.status !== 'rejected');
        if (holders.length > 1) problems.push(`${at}: ${holders.length} operations hold ${MODEL_TARGET} at once`);
      }
      const want = topOf(expected.value);
      const got = handle?.status() ?? 'pending';
      if (got !== want) problems.push(`${at}: the model is in ${want}, the operation in ${got}`);
      if (handle && (want === 'completed' || want === 'rejected')) {
        const info = await finalOf(handle);
        if (want === 'rejected' && info.code !== expected.context['code']) {
          problems.push(`${at}: rejected with ${String(info.code)}, the model says ${String(expected.context['code'])}`);
        }
      }
    };

    const steps = path.steps;
    for (let i = 1; i < steps.length; i++) {
      const step = steps[i]!;
      const event = step.event as { type: string; [key: string]: unknown };
      const exec =
        executors[event.type] ??
        (event.type.endsWith('.elapsed')
          ? async () => {
              const d = delayOf(event.type);
              if (d === undefined) throw new Error(`no pending delay for ${event.type}`);
              await advance(clock, enteredAt + d - clock.now());
            }
          : () => handle?.send(event));
      try {
        await exec(runCtx, event);
        await flush();
      } catch (err) {
        problems.push(`step ${i} (${event.type}) threw: ${(err as Error).message}`);
        break;
      }
      await check(i, step.state as { value: unknown; context: Record<string, unknown> });
      if (problems.length > 0) break;
    }
    const end = path.state as { value: unknown; context: Record<string, unknown> };
    if (problems.length === 0 && handle && topOf(end.value) === 'completed') {
      const value = await handle.result.catch((e: unknown) => e);
      if (value !== end.context['result']) problems.push(`completed with ${String(value)}, the model says ${String(end.context['result'])}`);
    }

    await arbiter.stop();
    await flush();
    const m = arbiter.metrics();
    if (m.inFlight !== 0) problems.push(`after stop: ${m.inFlight} operations without a final state`);
    if (m.submitted !== m.completed + m.rejected) problems.push(`after stop: accounting broken (${JSON.stringify(m)})`);
    const counted = Object.values(m.rejectedByCode).reduce((a, b) => a + b, 0);
    if (counted !== m.rejected) problems.push(`after stop: rejectedByCode sums to ${counted}, rejected is ${m.rejected}`);
    for (const h of handles) {
      const info = await finalOf(h);
      if (info.status !== 'completed' && info.status !== 'rejected') problems.push(`after stop: ${h.id} is ${String(info.status)}`);
      else if (info.status === 'rejected' && (!info.code || !info.reason)) problems.push(`after stop: ${h.id} was rejected without a code or a reason`);
    }
    return problems;
  }

  return { machine, model, paths, run };
}
