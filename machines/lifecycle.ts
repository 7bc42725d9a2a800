import {
  and,
  assign,
  createMachine,
  type AnyActorLogic,
  type AnyStateMachine,
  type AnyStateNode,
  type AnyTransitionDefinition,
} from 'xstate';
import { ArbiterInputError, LifecycleError, type LifecycleViolation } from '../src/errors.js';
import { expectKnownKeys, optionKeys } from '../src/keys.js';
import { defineData } from '../src/store/data.js';
import { expectDelay } from '../src/timers.js';
import { expectFunction, expectObject, kindOf } from '../src/validate.js';
import { operationMachine, type OperationContext, type OperationInput } from './operation.machine.js';

// Like expectObject, without narrowing the declared type of the checked value.
function mustBeObject(value: unknown, field: string): void {
  expectObject(value, field);
}

/**
 * The context a patch's functions see: the operation's own fields ({@link OperationContext}: `id`,
 * `target`, `priority`, `attempt`, `data` …) and the patch's own context fields (`TContext`, inferred
 * from `patch.context`; without it, any other field reads as `unknown`). It is a frozen copy: every
 * field is read-only.
 *
 * @example
 * ```ts
 * const late = ({ context }: LifecycleArgs<{ deadline: number }>) => context.submittedAt > context.deadline;
 * ```
 */
export type LifecycleContext<TContext extends object = Record<string, unknown>> = Readonly<OperationContext> & Readonly<TContext>;

/**
 * What lifecycle actions, guards, delays and assigners receive.
 *
 * @example
 * ```ts
 * const urgent = ({ context, event }: LifecycleArgs) => context.priority >= 8 && event.type === 'approve';
 * ```
 */
export interface LifecycleArgs<TContext extends object = Record<string, unknown>> {
  readonly context: LifecycleContext<TContext>;
  readonly event: { readonly type: string; readonly [key: string]: unknown };
}

/** A guard: the name of one in `patch.guards` (or the base machine's), or an inline function. */
export type LifecycleGuard<TContext extends object = Record<string, unknown>> = string | ((args: LifecycleArgs<TContext>) => boolean);

/** Actions: a name in `patch.actions` (or the base machine's), an inline function or an XState action. */
export type LifecycleAction<TContext extends object = Record<string, unknown>> =
  | string
  | ((args: LifecycleArgs<TContext>) => void)
  | { readonly type: string };

/**
 * One transition of a step. `target` is `'next'` (the following step, or the state the steps
 * were inserted before), `'rejected'` (then `code` is required), another step of the same group,
 * or omitted to stay.
 *
 * @example
 * ```ts
 * const deny: StepTransition = { target: 'rejected', code: 'denied', reason: ({ event }) => `denied by ${event.by}` };
 * ```
 */
export interface StepTransition<TContext extends object = Record<string, unknown>> {
  target?: string;
  guard?: LifecycleGuard<TContext>;
  actions?: LifecycleAction<TContext> | readonly LifecycleAction<TContext>[];
  /** The rejection code when `target` is `'rejected'`. Custom codes are allowed. */
  code?: string | ((args: LifecycleArgs<TContext>) => string);
  /** The human reason when `target` is `'rejected'`. @default "rejected in <step>" */
  reason?: string | ((args: LifecycleArgs<TContext>) => string);
}

/** A transition, a list tried in order (first passing guard wins), or a target shorthand. */
export type StepTransitions<TContext extends object = Record<string, unknown>> =
  | string
  | StepTransition<TContext>
  | readonly StepTransition<TContext>[];

/**
 * A state inserted into the lifecycle, declared as a plain object.
 *
 * @example
 * ```ts
 * const approval: LifecycleStep = {
 *   on: { approve: 'next', deny: { target: 'rejected', code: 'denied', reason: 'denied by a reviewer' } },
 *   after: { approvalTimeout: { target: 'rejected', code: 'approval-timeout', reason: 'nobody approved in time' } },
 * };
 * ```
 */
export interface LifecycleStep<TContext extends object = Record<string, unknown>, TEvent extends string = string> {
  description?: string;
  entry?: LifecycleAction<TContext> | readonly LifecycleAction<TContext>[];
  exit?: LifecycleAction<TContext> | readonly LifecycleAction<TContext>[];
  /**
   * Your own events, sent with `handle.send(event)`. `arbiter.*` and `xstate.*` are reserved. Their
   * names type `handle.send` (see {@link Lifecycle}).
   */
  on?: { [K in TEvent]?: StepTransitions<TContext> };
  /** Keyed by milliseconds (at most `MAX_TIMER_DELAY_MS`) or by a delay name (from `patch.delays`). */
  after?: Record<string, StepTransitions<TContext>>;
  /** Eventless transitions, taken as soon as their guard passes. */
  always?: StepTransitions<TContext>;
  /** An actor (by name, from `patch.actors`) run while in the step. */
  invoke?: {
    src: string;
    input?: (args: LifecycleArgs<TContext>) => unknown;
    onDone?: StepTransitions<TContext>;
    onError?: StepTransitions<TContext>;
  };
}

/**
 * Additions to a state the base lifecycle already has.
 *
 * @example
 * ```ts
 * const audited: StatePatch = {
 *   entry: 'audit',
 *   enterIf: { guard: 'hasQuota', code: 'quota-exceeded', reason: 'the tenant ran out of quota' },
 * };
 * ```
 */
export interface StatePatch<TContext extends object = Record<string, unknown>, TEvent extends string = string> {
  entry?: LifecycleAction<TContext> | readonly LifecycleAction<TContext>[];
  exit?: LifecycleAction<TContext> | readonly LifecycleAction<TContext>[];
  /** Targetless handlers of your own events (they run actions, they never change state). */
  on?: { [K in TEvent]?: { guard?: LifecycleGuard<TContext>; actions: LifecycleAction<TContext> | readonly LifecycleAction<TContext>[] } };
  /** The state is entered only when `guard` passes; otherwise the operation is rejected with `code`. */
  enterIf?: { guard: LifecycleGuard<TContext>; code: string; reason?: string | ((args: LifecycleArgs<TContext>) => string) };
}

/**
 * A declarative change to the operation lifecycle. `TEvent` is the union of the event names its
 * steps' and states' `on` declare: {@link extendLifecycle} infers it from the keys you write.
 *
 * @example
 * ```ts
 * const patch: LifecyclePatch = {
 *   afterWin: { approval: { on: { approve: 'next' }, after: { 60_000: { target: 'rejected', code: 'approval-timeout' } } } },
 *   delays: { backoff: 50 },
 * };
 * ```
 */
export interface LifecyclePatch<TContext extends object = Record<string, unknown>, TEvent extends string = string> {
  /** Steps run after admission, before the operation is staged (capacity is already counted). */
  beforeStaged?: Record<string, LifecycleStep<TContext, TEvent>>;
  /** Steps run after winning, before `executing`; the operation holds its target meanwhile. */
  afterWin?: Record<string, LifecycleStep<TContext, TEvent>>;
  /** Entry/exit actions, event handlers and entry guards for existing states. */
  states?: Record<string, StatePatch<TContext, TEvent>>;
  /**
   * Extra context fields: their initial values (copied for each operation), or a function of the
   * operation's input (a frozen copy). Their type is what the patch's functions see besides the
   * operation's own fields.
   */
  context?: TContext | ((args: { readonly input: Readonly<OperationInput> }) => TContext);
  actions?: Record<string, unknown>;
  guards?: Record<string, (args: LifecycleArgs<TContext>) => boolean>;
  /** Delays by name, in ms (at most `MAX_TIMER_DELAY_MS`) or computed from the context. `backoff` replaces the retry backoff. */
  delays?: Record<string, number | ((args: LifecycleArgs<TContext>) => number)>;
  /** Actors by name; `execute` replaces how an attempt runs. */
  actors?: Record<string, AnyActorLogic>;
}

// Type-level only: no lifecycle has this property at run time; it carries the event names.
declare const lifecycleEvents: unique symbol;

/**
 * An operation lifecycle (an XState machine, as `createArbiter({ lifecycle })` takes) that carries
 * the types of the events of your own it accepts: what {@link extendLifecycle} returns. An arbiter
 * created with it types `handle.send` with them, so a misspelt event does not compile. Any other
 * machine counts as accepting any event type (`handle.send` then refuses unknown ones at run time);
 * you can declare the events of a machine of your own with a cast.
 *
 * @example
 * ```ts
 * const approval: Lifecycle<'approve' | 'deny'> = extendLifecycle({
 *   afterWin: { approval: { on: { approve: 'next', deny: { target: 'rejected', code: 'denied' } } } },
 * });
 * const mine = createMachine({ id: 'payment', initial: 'pending', states: { ... } }) as Lifecycle<'pay'>;
 * ```
 */
export type Lifecycle<TEvent extends string = string> = AnyStateMachine & { readonly [lifecycleEvents]: readonly [TEvent] };

/**
 * The event types `handle.send` takes for a lifecycle: those a {@link Lifecycle} carries, `string`
 * for any other machine.
 *
 * @example
 * ```ts
 * type Approval = LifecycleEvents<typeof approval>; // 'approve' | 'deny'
 * type Anything = LifecycleEvents<AnyStateMachine>; // string
 * ```
 */
export type LifecycleEvents<TLifecycle> = TLifecycle extends { readonly [lifecycleEvents]: readonly [infer E extends string] } ? E : string;

/**
 * The event types `on` keys accept: a name as is, a wildcard `prefix.*` as every `prefix.…`.
 *
 * @example
 * ```ts
 * type T = EventTypeOf<'approve' | 'review.*'>; // 'approve' | `review.${string}`
 * ```
 */
export type EventTypeOf<TKey extends string> = TKey extends `${infer P}.*` ? `${P}.${string}` : TKey;

/**
 * The rules every arbiter lifecycle must keep, checked by {@link checkLifecycle}.
 *
 * @example
 * ```ts
 * for (const [rule, text] of Object.entries(LIFECYCLE_RULES)) console.log(rule, text);
 * ```
 */
export const LIFECYCLE_RULES = {
  'required-states':
    'the arbiter drives the top-level states pending (initial), staged, executing, completed and rejected',
  'final-states': 'the only top-level final states are completed and rejected',
  'reach-final': 'every state can reach completed or rejected without being cancelled, timed out, shut down or preempted',
  'executing-after-win': 'executing is entered only after arbiter.win',
  'win-once': 'after winning the operation never returns to pending or staged',
  preemptible: 'every state after winning turns arbiter.preempt into a rejection',
  abortable: 'every state that is not final turns arbiter.cancel, arbiter.timeout, arbiter.shutdown and arbiter.abort into a rejection',
  'rejection-code': 'every transition into rejected assigns a code (assign({ code, reason }))',
} as const;

/** One of the {@link LIFECYCLE_RULES}. */
export type LifecycleRule = keyof typeof LIFECYCLE_RULES;

const REQUIRED = ['pending', 'staged', 'executing', 'completed', 'rejected'] as const;
const ABORTS = ['arbiter.cancel', 'arbiter.timeout', 'arbiter.shutdown', 'arbiter.abort'] as const;
// Events only an outside party sends: a state that waits for them alone is stuck.
const EXTERNAL = new Set<string>([...ABORTS, 'arbiter.preempt']);
const STEP_NAME = /^[A-Za-z][\w-]*$/;

// The fields of each object of a patch: an unknown one (`onn`, `taget`, `gaurd`) is refused naming
// its path with a suggestion, instead of being ignored (or surfacing as a broken guarantee).
const PATCH_KEYS = optionKeys<LifecyclePatch>({
  beforeStaged: true, afterWin: true, states: true, context: true, actions: true, guards: true, delays: true, actors: true,
});
const STEP_KEYS = optionKeys<LifecycleStep>({ description: true, entry: true, exit: true, on: true, after: true, always: true, invoke: true });
const INVOKE_KEYS = optionKeys<NonNullable<LifecycleStep['invoke']>>({ src: true, input: true, onDone: true, onError: true });
const TRANSITION_KEYS = optionKeys<StepTransition>({ target: true, guard: true, actions: true, code: true, reason: true });
const STATE_PATCH_KEYS = optionKeys<StatePatch>({ entry: true, exit: true, on: true, enterIf: true });
// One handler of `StatePatch.on` (the mapped type makes each key optional, hence NonNullable).
type StateHandler = NonNullable<NonNullable<StatePatch['on']>[string]>;
const HANDLER_KEYS = optionKeys<StateHandler>({ guard: true, actions: true });
const ENTER_IF_KEYS = optionKeys<NonNullable<StatePatch['enterIf']>>({ guard: true, code: true, reason: true });

/* ------------------------------------------------------------------------------------------ */
/* The checker: a static analysis of the machine's state nodes, so it needs no input to run.  */
/* ------------------------------------------------------------------------------------------ */

interface Edge {
  readonly from: AnyStateNode;
  readonly to: AnyStateNode;
  readonly event: string;
  readonly transition: AnyTransitionDefinition;
}

function leaves(node: AnyStateNode): AnyStateNode[] {
  const children = Object.values(node.states) as AnyStateNode[];
  if (children.length === 0) return [node];
  return children.flatMap(leaves);
}

// Entering a compound node lands in its initial descendant; a parallel node in every region's.
function entryLeaves(node: AnyStateNode): AnyStateNode[] {
  const children = Object.values(node.states) as AnyStateNode[];
  if (children.length === 0) return [node];
  if (node.type === 'parallel') return children.flatMap(entryLeaves);
  const initial = node.initial?.target?.[0] as AnyStateNode | undefined;
  return initial ? entryLeaves(initial) : [];
}

function ancestry(node: AnyStateNode): AnyStateNode[] {
  const out: AnyStateNode[] = [];
  for (let n: AnyStateNode | undefined = node; n; n = n.parent) out.push(n);
  return out;
}

function transitionsOf(node: AnyStateNode): AnyTransitionDefinition[] {
  const out: AnyTransitionDefinition[] = [];
  for (const list of node.transitions.values()) out.push(...list);
  if (node.always) out.push(...node.always);
  return out;
}

function edgesFrom(leaf: AnyStateNode): Edge[] {
  const edges: Edge[] = [];
  for (const node of ancestry(leaf)) {
    for (const t of transitionsOf(node)) {
      for (const target of (t.target ?? []) as AnyStateNode[]) {
        for (const to of entryLeaves(target)) edges.push({ from: leaf, to, event: t.eventType, transition: t });
      }
    }
  }
  return edges;
}

function top(node: AnyStateNode): string {
  return node.path[0] ?? '(root)';
}

function nameOf(node: AnyStateNode): string {
  return node.path.length === 0 ? '(root)' : node.path.join('.');
}

function reachable(starts: AnyStateNode[], graph: Map<AnyStateNode, Edge[]>, skip: (e: Edge) => boolean): Set<AnyStateNode> {
  const seen = new Set<AnyStateNode>(starts);
  const queue = [...starts];
  while (queue.length > 0) {
    const n = queue.shift()!;
    for (const e of graph.get(n) ?? []) {
      if (skip(e) || seen.has(e.to)) continue;
      seen.add(e.to);
      queue.push(e.to);
    }
  }
  return seen;
}

function assignsCode(action: unknown, machine: AnyStateMachine): boolean {
  let a = action;
  if (typeof a === 'string' || (a && typeof a === 'object' && typeof (a as { type?: unknown }).type === 'string')) {
    const name = typeof a === 'string' ? a : (a as { type: string }).type;
    a = (machine.implementations.actions as Record<string, unknown>)[name];
  }
  if (typeof a !== 'function') return false;
  const assignment = (a as { assignment?: unknown }).assignment;
  return !!assignment && typeof assignment === 'object' && 'code' in assignment;
}

function assignedCode(action: unknown, machine: AnyStateMachine): string | undefined {
  let a = action;
  if (typeof a === 'string' || (a && typeof a === 'object' && typeof (a as { type?: unknown }).type === 'string')) {
    const name = typeof a === 'string' ? a : (a as { type: string }).type;
    a = (machine.implementations.actions as Record<string, unknown>)[name] ?? a;
  }
  if (typeof a !== 'function') return undefined;
  const assignment = (a as { assignment?: unknown }).assignment;
  if (!assignment || typeof assignment !== 'object') return undefined;
  const code = (assignment as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * The events of your own a lifecycle understands (sent with `handle.send`): every event type its
 * states react to but the arbiter's (`arbiter.*`) and XState's (`xstate.*`). A wildcard (`*` or
 * `prefix.*`) is listed as is.
 *
 * @example
 * ```ts
 * eventsOf(extendLifecycle({ afterWin: { approval: { on: { approve: 'next' } } } })); // ['approve']
 * ```
 */
export function eventsOf(machine: AnyStateMachine): string[] {
  const events = new Set<string>();
  const walk = (node: AnyStateNode): void => {
    for (const type of (node.transitions as Map<string, unknown>).keys()) {
      if (!type.startsWith('xstate.') && !type.startsWith('arbiter.')) events.add(type);
    }
    for (const child of Object.values(node.states) as AnyStateNode[]) walk(child);
  };
  walk(machine.root as AnyStateNode);
  return [...events];
}

/**
 * Every rejection code a lifecycle can assign with a constant (`code: 'denied'`), in the order
 * met: the built-in ones of the base machine and your own. Codes computed by a function are not
 * known until they happen, so they are not listed.
 *
 * @example
 * ```ts
 * rejectionCodesOf(extendLifecycle({ afterWin: { approval: { on: { deny: { target: 'rejected', code: 'denied' } } } } }));
 * // [ 'cancelled', 'timeout', 'shutdown', …, 'denied' ]
 * ```
 */
export function rejectionCodesOf(machine: AnyStateMachine): string[] {
  const codes = new Set<string>();
  const visit = (actions: unknown): void => {
    for (const a of (Array.isArray(actions) ? actions : actions === undefined ? [] : [actions]) as unknown[]) {
      const code = assignedCode(a, machine);
      if (code !== undefined) codes.add(code);
    }
  };
  const walk = (node: AnyStateNode): void => {
    visit(node.entry);
    visit(node.exit);
    for (const list of (node.transitions as Map<string, Array<{ actions: unknown }>>).values()) for (const t of list) visit(t.actions);
    for (const t of (node.always ?? []) as Array<{ actions: unknown }>) visit(t.actions);
    for (const child of Object.values(node.states) as AnyStateNode[]) walk(child);
  };
  walk(machine.root as AnyStateNode);
  return [...codes];
}

/**
 * Checks the guarantees the arbiter relies on (see {@link LIFECYCLE_RULES}) and returns every
 * broken one, naming the state and the rule; an empty array means the machine is a valid
 * lifecycle. The check is static: guards are assumed to pass either way, so a state whose only
 * exit is guarded still counts as able to leave.
 *
 * @example
 * ```ts
 * import { checkLifecycle } from 'xstate-arbiter/testing';
 * checkLifecycle(operationMachine); // []
 * ```
 * @see extendLifecycle
 */
export function checkLifecycle(machine: AnyStateMachine): LifecycleViolation[] {
  const violations: LifecycleViolation[] = [];
  const add = (state: string, rule: LifecycleRule, message: string) => {
    if (!violations.some((v) => v.state === state && v.rule === rule && v.message === message)) {
      violations.push({ state, rule, message });
    }
  };
  const root = machine.root as AnyStateNode;
  const topStates = root.states as Record<string, AnyStateNode>;
  for (const name of REQUIRED) {
    if (!topStates[name]) add(name, 'required-states', `there is no top-level \`${name}\` state (${LIFECYCLE_RULES['required-states']})`);
  }
  const initial = entryLeaves(root);
  if (topStates['pending'] && !initial.every((n) => top(n) === 'pending')) {
    add('pending', 'required-states', '`pending` must be the initial state');
  }
  for (const name of ['completed', 'rejected']) {
    const node = topStates[name];
    if (node && node.type !== 'final') add(name, 'final-states', `\`${name}\` must be a final state`);
  }
  for (const [name, node] of Object.entries(topStates)) {
    if (node.type === 'final' && name !== 'completed' && name !== 'rejected') {
      add(name, 'final-states', `\`${name}\` is final, but ${LIFECYCLE_RULES['final-states']}`);
    }
  }
  if (violations.length > 0) return violations;

  const all = leaves(root);
  const graph = new Map<AnyStateNode, Edge[]>(all.map((n) => [n, edgesFrom(n)]));
  const isFinalTop = (n: AnyStateNode) => n.parent === root && n.type === 'final';
  const isExternal = (e: Edge) => EXTERNAL.has(e.event);

  // reach-final: walk backwards from the final states, ignoring the abort events.
  const reverse = new Map<AnyStateNode, AnyStateNode[]>();
  for (const [from, edges] of graph) {
    for (const e of edges) {
      if (isExternal(e)) continue;
      const list = reverse.get(e.to) ?? [];
      list.push(from);
      reverse.set(e.to, list);
    }
  }
  const canFinish = new Set(all.filter(isFinalTop));
  const queue = [...canFinish];
  while (queue.length > 0) {
    for (const prev of reverse.get(queue.shift()!) ?? []) {
      if (!canFinish.has(prev)) {
        canFinish.add(prev);
        queue.push(prev);
      }
    }
  }
  const live = reachable(initial, graph, () => false);
  for (const n of all) {
    if (!canFinish.has(n) && live.has(n)) {
      add(nameOf(n), 'reach-final', 'no path leads from it to completed or rejected (cancel, timeout, shutdown and preempt do not count)');
    }
  }

  // executing-after-win: from the initial state, without arbiter.win, executing is unreachable.
  const beforeWin = reachable(initial, graph, (e) => e.event === 'arbiter.win' || top(e.to) === 'executing');
  for (const n of beforeWin) {
    for (const e of graph.get(n) ?? []) {
      if (e.event !== 'arbiter.win' && top(e.to) === 'executing') {
        add(nameOf(n), 'executing-after-win', `it enters executing on \`${e.event || 'always'}\` before the operation won`);
      }
    }
  }

  // After winning: never back to pending/staged, always preemptible.
  const winTargets: AnyStateNode[] = [];
  for (const n of all) for (const e of graph.get(n) ?? []) if (e.event === 'arbiter.win') winTargets.push(e.to);
  const afterWin = reachable(winTargets, graph, () => false);
  for (const n of afterWin) {
    if (isFinalTop(n)) continue;
    for (const e of graph.get(n) ?? []) {
      if (top(e.to) === 'pending' || top(e.to) === 'staged') {
        add(nameOf(n), 'win-once', `it returns to \`${top(e.to)}\` on \`${e.event}\` after the operation won`);
      }
    }
    if (!(graph.get(n) ?? []).some((e) => e.event === 'arbiter.preempt' && top(e.to) === 'rejected')) {
      add(nameOf(n), 'preemptible', 'it holds the target after winning but does not handle `arbiter.preempt` by rejecting');
    }
  }

  for (const n of all) {
    if (isFinalTop(n) || !live.has(n)) continue;
    const edges = graph.get(n) ?? [];
    const missing = ABORTS.filter((type) => !edges.some((e) => e.event === type && top(e.to) === 'rejected'));
    if (missing.length > 0) add(nameOf(n), 'abortable', `it does not turn ${missing.join(', ')} into a rejection`);
  }

  // rejection-code: every transition into rejected assigns a code (or rejected's entry does).
  const rejected = topStates['rejected']!;
  if (!(rejected.entry as unknown[]).some((a) => assignsCode(a, machine))) {
    const nodes = [root, ...Object.values(root.states as Record<string, AnyStateNode>).flatMap(function walk(n: AnyStateNode): AnyStateNode[] {
      return [n, ...(Object.values(n.states) as AnyStateNode[]).flatMap(walk)];
    })];
    for (const node of nodes) {
      for (const t of transitionsOf(node)) {
        const targets = (t.target ?? []) as AnyStateNode[];
        if (!targets.some((x) => top(x) === 'rejected')) continue;
        if (!(t.actions as unknown[]).some((a) => assignsCode(a, machine))) {
          add(nameOf(node), 'rejection-code', `its \`${t.eventType || 'always'}\` transition to rejected assigns no code`);
        }
      }
    }
  }
  return violations;
}

/* ------------------------------------------------------------------------------------------ */
/* extendLifecycle: compile a declarative patch onto the base machine's config.               */
/* ------------------------------------------------------------------------------------------ */

type Json = Record<string, any>;

function toArray<T>(v: T | readonly T[] | undefined): T[] {
  if (v === undefined) return [];
  return Array.isArray(v) ? [...(v as readonly T[])] : [v as T];
}

function isPlain(v: unknown): v is Json {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

// Copies the structure the compiler rewrites (states, transitions), sharing functions and logic.
function cloneState(state: Json): Json {
  const out: Json = { ...state };
  if (isPlain(state['states'])) {
    out['states'] = Object.fromEntries(Object.entries(state['states']).map(([k, v]) => [k, cloneState(v as Json)]));
  }
  for (const key of ['on', 'after'] as const) {
    if (isPlain(state[key])) out[key] = Object.fromEntries(Object.entries(state[key]).map(([k, v]) => [k, cloneTransitions(v)]));
  }
  if (state['always'] !== undefined) out['always'] = cloneTransitions(state['always']);
  if (state['invoke'] !== undefined) {
    out['invoke'] = toArray(state['invoke'] as Json).map((inv) => ({
      ...inv,
      ...(inv['onDone'] !== undefined ? { onDone: cloneTransitions(inv['onDone']) } : {}),
      ...(inv['onError'] !== undefined ? { onError: cloneTransitions(inv['onError']) } : {}),
    }));
  }
  return out;
}

function cloneTransitions(t: unknown): Json[] {
  return toArray(t as Json | string).map((x) => (typeof x === 'string' ? { target: x } : { ...x }));
}

// Every transition list of one state config (on, after, always, invoke done/error), in place.
function eachTransitionList(state: Json, fn: (list: Json[]) => Json[]): void {
  for (const key of ['on', 'after'] as const) {
    const map = state[key] as Json | undefined;
    if (map) for (const k of Object.keys(map)) map[k] = fn(map[k] as Json[]);
  }
  if (state['always']) state['always'] = fn(state['always'] as Json[]);
  for (const inv of (state['invoke'] as Json[] | undefined) ?? []) {
    if (inv['onDone']) inv['onDone'] = fn(inv['onDone'] as Json[]);
    if (inv['onError']) inv['onError'] = fn(inv['onError'] as Json[]);
  }
}

function targetName(target: unknown, machineId: string): string | undefined {
  const raw = toArray(target as string)[0];
  if (typeof raw !== 'string') return undefined;
  if (raw.startsWith(`#${machineId}.`)) return raw.slice(machineId.length + 2).split('.')[0];
  if (raw.startsWith('.')) return raw.slice(1).split('.')[0];
  return raw.split('.')[0];
}

function stepKind(state: Json): string | undefined {
  return (state['meta'] as Json | undefined)?.['arbiter']?.['step'];
}

function valueOrCall<T>(v: T | ((args: LifecycleArgs) => T)): (args: LifecycleArgs) => T {
  return typeof v === 'function' ? (viewing(v as (args: LifecycleArgs) => T) as (args: LifecycleArgs) => T) : () => v;
}

// The context fields the arbiter owns: the coordinator reads an operation's id, target and
// priorities from its context, settlement its attempt, result, error, code and reason, and the
// machine runs `execute` with them. A patch may neither initialise nor assign them.
const ARBITER_FIELDS = new Set(['id', 'target', 'type', 'priority', 'effectivePriority', 'seq', 'submittedAt', 'maxRetries', 'retry',
  'execute', 'retryable', 'random', 'parentId', 'data', 'attempt', 'result', 'error', 'code', 'reason', 'fence']);

/**
 * The arguments a patch's function gets: XState's, with a frozen shallow copy of the context. A
 * write to a field of the context (`context.priority = 10`, `delete context.id`) throws instead of
 * changing the operation under the arbiter; values inside the fields (your `data`, your own
 * arrays) are yours, and each operation has its own copy of the initial ones.
 */
function viewArgs(args: unknown): unknown {
  if (!args || typeof args !== 'object') return args;
  const a = args as Json;
  const context = a['context'];
  if (!context || typeof context !== 'object') return args;
  return { ...a, context: Object.freeze({ ...context }) };
}

// Wraps a function of the patch so that it sees the frozen view; XState's own action creators
// (`assign`, `raise`, … have `resolve`) and higher-order guards (`and`, `or`, `not` have `check`)
// are XState's to call and stay as they are.
function viewing<F>(fn: F): F {
  if (typeof fn !== 'function' || 'resolve' in fn || 'check' in fn) return fn;
  const f = fn as unknown as (args: unknown, params: unknown) => unknown;
  return ((args: unknown, params: unknown) => f(viewArgs(args), params)) as F;
}

// A delay computed from the context is known only when its state is entered: checked there, so a
// value past the timer limit fails the operation (naming the delay) instead of firing at once.
function checkedDelay(d: unknown, field: string): unknown {
  if (typeof d !== 'function') return d;
  const f = d as (args: unknown, params: unknown) => unknown;
  return (args: unknown, params: unknown) => {
    const ms = f(args, params);
    expectDelay(ms, field);
    return ms;
  };
}

function refuseArbiterField(key: string, field: string): never {
  throw new ArbiterInputError(
    `${field}.${key}`,
    `Expected \`${field}\` to assign fields of your own, got \`${key}\`, a field the arbiter owns (${[...ARBITER_FIELDS].join(', ')})` +
      (key === 'code' || key === 'reason' ? "; a transition to 'rejected' takes `code` and `reason` of its own" : ''),
  );
}

/**
 * A patch's action as it runs: a plain function sees the frozen view; an `assign` is rebuilt so
 * that its assigners see it too and cannot set a field the arbiter owns (refused here for an
 * object of assigners, when it runs for a function, which then fails the operation's actor: the
 * operation ends rejected and its coordinator lets it go).
 */
function userAction(a: unknown, field: string): unknown {
  if (typeof a !== 'function') return a;
  const x = a as unknown as Json;
  if (x['type'] !== 'xstate.assign' || !('assignment' in x)) return viewing(a);
  const assignment = x['assignment'];
  if (typeof assignment === 'function') {
    return assign(((args: unknown, params: unknown) => {
      const partial = (assignment as (args: unknown, params: unknown) => unknown)(viewArgs(args), params);
      for (const key of Object.keys((partial ?? {}) as object)) if (ARBITER_FIELDS.has(key)) refuseArbiterField(key, field);
      return partial;
    }) as never);
  }
  if (!isPlain(assignment)) return a;
  const out: Json = {};
  for (const [key, value] of Object.entries(assignment)) {
    if (ARBITER_FIELDS.has(key)) refuseArbiterField(key, field);
    out[key] = viewing(value);
  }
  return assign(out as never);
}

function userActions(v: unknown, field: string): unknown[] {
  return toArray(v as LifecycleAction).map((a, i) => userAction(a, Array.isArray(v) ? `${field}[${i}]` : field));
}

// Initial context values are copied for each operation: an array or object given once in
// `patch.context` would otherwise be shared by every operation, and a push by one seen by all.
function copyPlain(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(copyPlain);
  if (!isPlain(v)) return v;
  const out: Json = {};
  for (const [key, value] of Object.entries(v)) defineData(out, key, copyPlain(value));
  return out;
}

function rejectAction(code: string | ((args: LifecycleArgs) => string), reason: string | ((args: LifecycleArgs) => string)) {
  // A constant code stays a constant: `rejectionCodesOf` lists it (a function is opaque).
  return assign({ code: (typeof code === 'string' ? code : valueOrCall(code)) as never, reason: valueOrCall(reason) as never });
}

function checkEventName(type: string, field: string): void {
  if (type.startsWith('arbiter.') || type.startsWith('xstate.') || type === '*' || type === '') {
    throw new ArbiterInputError(field, `Expected \`${field}\` to be an event of your own, got ${JSON.stringify(type)} which is reserved`);
  }
}

function checkActions(v: unknown, field: string): void {
  for (const [i, a] of toArray(v as LifecycleAction).entries()) {
    if (typeof a !== 'string' && typeof a !== 'function' && !(a && typeof a === 'object' && typeof (a as Json)['type'] === 'string')) {
      throw new ArbiterInputError(`${field}[${i}]`, `Expected \`${field}[${i}]\` to be an action name, a function or an action object, got ${kindOf(a)}`);
    }
  }
}

function checkGuard(v: unknown, field: string): void {
  if (typeof v !== 'string' && typeof v !== 'function') {
    throw new ArbiterInputError(field, `Expected \`${field}\` to be a guard name or a function, got ${kindOf(v)}`);
  }
}

function compileTransitions(
  // undefined (`on: { approve: undefined }`) is refused below as a list without a transition.
  spec: StepTransitions | undefined,
  field: string,
  step: string,
  resolveTarget: (t: string) => string,
): Json[] {
  const list = typeof spec === 'string' ? [{ target: spec }] : toArray(spec as StepTransition);
  if (list.length === 0) throw new ArbiterInputError(field, `Expected \`${field}\` to have at least one transition`);
  return list.map((tr, i) => {
    const f = list.length > 1 ? `${field}[${i}]` : field;
    mustBeObject(tr, f);
    expectKnownKeys(tr, TRANSITION_KEYS, f);
    if (tr.target !== undefined && (typeof tr.target !== 'string' || tr.target === '')) {
      throw new ArbiterInputError(`${f}.target`, `Expected \`${f}.target\` to be a state name, got ${kindOf(tr.target)}`);
    }
    if (tr.guard !== undefined) checkGuard(tr.guard, `${f}.guard`);
    checkActions(tr.actions, `${f}.actions`);
    const actions: unknown[] = userActions(tr.actions, `${f}.actions`);
    if (tr.code !== undefined) {
      if (tr.target !== 'rejected') {
        throw new ArbiterInputError(`${f}.code`, `Expected \`${f}.code\` only on a transition to 'rejected', got target ${kindOf(tr.target)}`);
      }
      if (typeof tr.code !== 'function' && (typeof tr.code !== 'string' || tr.code === '')) {
        throw new ArbiterInputError(`${f}.code`, `Expected \`${f}.code\` to be a non-empty string or a function, got ${kindOf(tr.code)}`);
      }
      actions.push(rejectAction(tr.code, tr.reason ?? `rejected in ${step}`));
    }
    return {
      ...(tr.target !== undefined ? { target: resolveTarget(tr.target) } : {}),
      ...(tr.guard !== undefined ? { guard: viewing(tr.guard) } : {}),
      ...(actions.length > 0 ? { actions } : {}),
    };
  });
}

function compileStep(step: LifecycleStep, name: string, field: string, kind: string, next: string): Json {
  mustBeObject(step, field);
  expectKnownKeys(step, STEP_KEYS, field);
  const resolveTarget = (t: string) => (t === 'next' ? next : t);
  const out: Json = { meta: { arbiter: { step: kind } } };
  if (step.description !== undefined) out['description'] = step.description;
  checkActions(step.entry, `${field}.entry`);
  checkActions(step.exit, `${field}.exit`);
  if (step.entry !== undefined) out['entry'] = userActions(step.entry, `${field}.entry`);
  if (step.exit !== undefined) out['exit'] = userActions(step.exit, `${field}.exit`);
  const on: Json = {};
  if (step.on !== undefined) {
    mustBeObject(step.on, `${field}.on`);
    for (const [type, spec] of Object.entries(step.on)) {
      checkEventName(type, `${field}.on`);
      on[type] = compileTransitions(spec, `${field}.on.${type}`, name, resolveTarget);
    }
  }
  if (kind === 'afterWin') {
    // The coordinator counts a winner as holding the target; a preempted holder must let go.
    on['arbiter.preempt'] = [{ target: 'rejected', actions: [rejectAction('preempted', ({ event }) => String(event['reason']))] }];
  }
  out['on'] = on;
  if (step.after !== undefined) {
    mustBeObject(step.after, `${field}.after`);
    out['after'] = Object.fromEntries(
      Object.entries(step.after).map(([delay, spec]) => {
        // XState reads a numeric key as milliseconds (anything else names a delay): past the timer
        // limit the platform would fire it after 1 ms.
        if (delay.trim() !== '' && !Number.isNaN(Number(delay))) expectDelay(Number(delay), `${field}.after.${delay}`);
        return [delay, compileTransitions(spec, `${field}.after.${delay}`, name, resolveTarget)];
      }),
    );
  }
  if (step.always !== undefined) out['always'] = compileTransitions(step.always, `${field}.always`, name, resolveTarget);
  if (step.invoke !== undefined) {
    mustBeObject(step.invoke, `${field}.invoke`);
    expectKnownKeys(step.invoke, INVOKE_KEYS, `${field}.invoke`);
    if (typeof step.invoke.src !== 'string' || step.invoke.src === '') {
      throw new ArbiterInputError(`${field}.invoke.src`, `Expected \`${field}.invoke.src\` to be an actor name, got ${kindOf(step.invoke.src)}`);
    }
    if (step.invoke.input !== undefined) expectFunction(step.invoke.input, `${field}.invoke.input`);
    out['invoke'] = [
      {
        src: step.invoke.src,
        ...(step.invoke.input ? { input: viewing(step.invoke.input) } : {}),
        ...(step.invoke.onDone !== undefined
          ? { onDone: compileTransitions(step.invoke.onDone, `${field}.invoke.onDone`, name, resolveTarget) }
          : {}),
        ...(step.invoke.onError !== undefined
          ? { onError: compileTransitions(step.invoke.onError, `${field}.invoke.onError`, name, resolveTarget) }
          : {}),
      },
    ];
  }
  return out;
}

function checkImplementations(patch: LifecyclePatch): void {
  const kinds: Array<[keyof LifecyclePatch, (v: unknown) => boolean, string]> = [
    ['actions', (v) => typeof v === 'function' || (!!v && typeof v === 'object'), 'an action'],
    ['guards', (v) => typeof v === 'function', 'a function'],
    ['delays', (v) => typeof v === 'function' || typeof v === 'number', 'a number of milliseconds or a function'],
    ['actors', (v) => !!v && typeof v === 'object' && typeof (v as Json)['transition'] === 'function', 'actor logic (e.g. fromPromise(...))'],
  ];
  for (const [key, ok, expected] of kinds) {
    const map = patch[key];
    if (map === undefined) continue;
    mustBeObject(map, key);
    for (const [name, v] of Object.entries(map)) {
      if (!ok(v)) throw new ArbiterInputError(`${key}.${name}`, `Expected \`${key}.${name}\` to be ${expected}, got ${kindOf(v)}`);
      // Finite, ≥ 0 and at most the timer limit (past it the platform fires after 1 ms).
      if (key === 'delays' && typeof v === 'number') expectDelay(v, `delays.${name}`);
    }
  }
}

// A name nobody implements fails late and silently in XState (an unknown delay fires at once).
function checkReferences(machine: AnyStateMachine): void {
  const impl = machine.implementations as unknown as Record<'actions' | 'guards' | 'delays' | 'actors', Json>;
  const need = (kind: 'actions' | 'guards' | 'delays' | 'actors', name: unknown, where: string) => {
    if (typeof name !== 'string' || name.startsWith('xstate.') || name in impl[kind]) return;
    throw new ArbiterInputError(`${kind}.${name}`, `Expected \`${kind}.${name}\` to be implemented (used in ${where}), got undefined`);
  };
  const nameOfRef = (r: unknown) => (typeof r === 'string' ? r : r && typeof r === 'object' ? (r as Json)['type'] : undefined);
  const walk = (node: AnyStateNode) => {
    const where = nameOf(node);
    for (const a of [...(node.entry as unknown[]), ...(node.exit as unknown[])]) need('actions', nameOfRef(a), where);
    for (const t of transitionsOf(node)) {
      for (const a of t.actions as unknown[]) need('actions', nameOfRef(a), `${where} on ${t.eventType}`);
      need('guards', nameOfRef(t.guard), `${where} on ${t.eventType}`);
    }
    for (const t of node.after as Array<{ delay: unknown }>) need('delays', t.delay, where);
    for (const inv of node.invoke as Array<{ src: unknown }>) need('actors', inv.src, where);
    for (const child of Object.values(node.states) as AnyStateNode[]) walk(child);
  };
  walk(machine.root as AnyStateNode);
}

/**
 * Returns a new operation lifecycle: the base machine (by default `operationMachine`) with a
 * declarative patch applied. Give it to `createArbiter({ lifecycle })`.
 *
 * A patch inserts steps after admission and before `staged` (`beforeStaged`), or after winning and
 * before `executing` (`afterWin`; such a step holds the target and is preemptible), adds entry /
 * exit actions, event handlers and entry guards to existing states, overrides delays (`backoff`)
 * and actors (`execute`) by name, and adds context fields. In a step, `'next'` targets the
 * following step (or the state the steps were inserted before) and `'rejected'` requires a code.
 *
 * The result is checked with {@link checkLifecycle}: a patch that breaks a guarantee throws a
 * `LifecycleError` naming the state and the rule; a malformed patch throws `ArbiterInputError`.
 *
 * The result is a {@link Lifecycle} typed with the events the patch declares (every `on` key of its
 * steps and states, `prefix.*` as `` `prefix.${string}` ``) and the base's: an arbiter created with
 * it types `handle.send`, so `handle.send({ type: 'aprove' })` does not compile. Without any `on`
 * key, or with the context type given explicitly (`extendLifecycle<Review>(…)`), the events are
 * `string` unless named too (`extendLifecycle<Review, 'approve' | 'deny'>(…)`); an unknown event
 * is then refused at run time.
 *
 * @example
 * ```ts
 * import { createArbiter, extendLifecycle } from 'xstate-arbiter';
 * const lifecycle = extendLifecycle({
 *   afterWin: {
 *     approval: {
 *       on: { approve: 'next', deny: { target: 'rejected', code: 'denied', reason: 'denied by a reviewer' } },
 *       after: { 60_000: { target: 'rejected', code: 'approval-timeout', reason: 'nobody approved in time' } },
 *     },
 *   },
 * });
 * const arbiter = createArbiter({ lifecycle });
 * const handle = arbiter.submit({ target: 'doc-1', execute: publish });
 * handle.send({ type: 'approve' }); // once it has won and waits in `approval`
 * handle.send({ type: 'aprove' });  // does not compile: 'approve' | 'deny' only
 * ```
 * @see checkLifecycle
 * @see LifecyclePatch
 */
export function extendLifecycle<
  TContext extends object = Record<string, unknown>,
  TEvent extends string = string,
  TBase extends AnyStateMachine = Lifecycle<never>,
>(patchIn: LifecyclePatch<TContext, TEvent>, base?: TBase): Lifecycle<EventTypeOf<TEvent> | LifecycleEvents<TBase>> {
  // The compiler works on the untyped shape; the type parameters only type the user's functions
  // and the events of the result.
  const patch = patchIn as unknown as LifecyclePatch;
  mustBeObject(patch, 'patch');
  expectKnownKeys(patch, PATCH_KEYS);
  const b = (base === undefined ? operationMachine : base) as unknown as { config?: Json; implementations?: Json; root?: unknown };
  if (!b || !isPlain(b.config) || !b.root) {
    throw new ArbiterInputError('base', 'Expected `base` to be an XState state machine');
  }
  checkImplementations(patch);
  const machineId = String(b.config['id'] ?? '(machine)');
  const config: Json = cloneState(b.config);
  const states = config['states'] as Json;
  const existing = new Set(Object.keys(states));

  for (const [group, before, kind] of [
    ['beforeStaged', 'staged', 'beforeStaged'],
    ['afterWin', 'executing', 'afterWin'],
  ] as const) {
    const steps = patch[group];
    if (steps === undefined) continue;
    mustBeObject(steps, group);
    const names = Object.keys(steps);
    if (names.length === 0) continue;
    for (const name of names) {
      if (!STEP_NAME.test(name)) {
        throw new ArbiterInputError(`${group}.${name}`, `Expected \`${group}\` keys to be state names (letters, digits, _ and -), got ${JSON.stringify(name)}`);
      }
      if (existing.has(name)) {
        throw new ArbiterInputError(`${group}.${name}`, `Expected \`${group}.${name}\` to be a new state, got the name of an existing one`);
      }
      existing.add(name);
    }
    // Redirect the way into `before` (from the state that precedes the insertion point).
    const entryFrom = (name: string, s: Json) =>
      kind === 'beforeStaged' ? name === 'pending' || stepKind(s) === 'beforeStaged' : name === 'staged' || stepKind(s) === 'afterWin';
    for (const [name, s] of Object.entries(states)) {
      if (!entryFrom(name, s as Json)) continue;
      eachTransitionList(s as Json, (list) =>
        list.map((t) => (targetName(t['target'], machineId) === before ? { ...t, target: names[0] } : t)),
      );
    }
    names.forEach((name, i) => {
      states[name] = compileStep(steps[name]!, name, `${group}.${name}`, kind, names[i + 1] ?? before);
    });
  }

  if (patch.states !== undefined) {
    mustBeObject(patch.states, 'states');
    for (const [name, sp] of Object.entries(patch.states)) {
      const field = `states.${name}`;
      const target = states[name] as Json | undefined;
      if (!target) {
        throw new ArbiterInputError(field, `Expected \`states\` to name existing states (${Object.keys(states).join(', ')}), got ${JSON.stringify(name)}`);
      }
      mustBeObject(sp, field);
      expectKnownKeys(sp, STATE_PATCH_KEYS, field);
      checkActions(sp.entry, `${field}.entry`);
      checkActions(sp.exit, `${field}.exit`);
      if (sp.entry !== undefined) target['entry'] = [...toArray(target['entry'] as unknown), ...userActions(sp.entry, `${field}.entry`)];
      if (sp.exit !== undefined) target['exit'] = [...toArray(target['exit'] as unknown), ...userActions(sp.exit, `${field}.exit`)];
      if (sp.on !== undefined) {
        mustBeObject(sp.on, `${field}.on`);
        const on = (target['on'] ??= {}) as Json;
        for (const [type, handler] of Object.entries(sp.on)) {
          checkEventName(type, `${field}.on`);
          mustBeObject(handler, `${field}.on.${type}`);
          const h = handler as StateHandler;
          expectKnownKeys(h, HANDLER_KEYS, `${field}.on.${type}`);
          checkActions(h.actions, `${field}.on.${type}.actions`);
          if (h.guard !== undefined) checkGuard(h.guard, `${field}.on.${type}.guard`);
          on[type] = [
            ...toArray(on[type] as Json),
            { ...(h.guard !== undefined ? { guard: viewing(h.guard) } : {}), actions: userActions(h.actions, `${field}.on.${type}.actions`) },
          ];
        }
      }
      if (sp.enterIf !== undefined) {
        const g = sp.enterIf;
        mustBeObject(g, `${field}.enterIf`);
        expectKnownKeys(g, ENTER_IF_KEYS, `${field}.enterIf`);
        checkGuard(g.guard, `${field}.enterIf.guard`);
        if (typeof g.code !== 'string' || g.code === '') {
          throw new ArbiterInputError(`${field}.enterIf.code`, `Expected \`${field}.enterIf.code\` to be a non-empty string, got ${kindOf(g.code)}`);
        }
        if (name === 'pending' || name === 'completed' || name === 'rejected') {
          throw new ArbiterInputError(`${field}.enterIf`, `Expected \`enterIf\` on a state that is neither initial nor final, got ${JSON.stringify(name)}`);
        }
        const reject = rejectAction(g.code, g.reason ?? `${name} refused entry`);
        const enterGuard = viewing(g.guard);
        // Every way into the state is split: guard passes → enter; otherwise → rejected with the code.
        const split = (list: Json[]) =>
          list.flatMap((t) => {
            if (targetName(t['target'], machineId) !== name) return [t];
            const guard = t['guard'] !== undefined ? and([t['guard'], enterGuard] as never) : enterGuard;
            return [
              { ...t, guard },
              { ...(t['guard'] !== undefined ? { guard: t['guard'] } : {}), target: `#${machineId}.rejected`, actions: [reject] },
            ];
          });
        if (isPlain(config['on'])) for (const k of Object.keys(config['on'])) config['on'][k] = split(cloneTransitions(config['on'][k]));
        for (const s of Object.values(states)) eachTransitionList(s as Json, split);
      }
    }
  }

  if (patch.context !== undefined) {
    if (typeof patch.context !== 'function') mustBeObject(patch.context, 'context');
    const extra = patch.context;
    const baseContext = b.config['context'];
    const probe = typeof extra === 'function' ? undefined : extra;
    for (const key of Object.keys(probe ?? {})) {
      if (ARBITER_FIELDS.has(key)) throw new ArbiterInputError(`context.${key}`, `Expected \`context.${key}\` to be a new field, got a field the arbiter owns`);
    }
    // Read once, now: a later change to the patch's object changes no lifecycle.
    const initial = probe === undefined ? undefined : copyPlain(probe);
    config['context'] = (args: { input: unknown }) => {
      const own = typeof baseContext === 'function' ? baseContext(args) : { ...(baseContext as Json) };
      // The input is the arbiter's record of the operation: the function gets a frozen copy.
      const more =
        typeof extra === 'function'
          ? extra({ ...args, input: Object.freeze({ ...(args.input as Json) }) } as { input: any })
          : (copyPlain(initial) as Json);
      // A function may not overwrite the fields the arbiter reads either; theirs win.
      return { ...more, ...own };
    };
  }

  const impl = (b.implementations ?? {}) as Json;
  const mapOwn = (map: Record<string, unknown> | undefined, fn: (v: unknown, name: string) => unknown): Json =>
    Object.fromEntries(Object.entries(map ?? {}).map(([name, v]) => [name, fn(v, name)]));
  const implementations = {
    actors: { ...impl['actors'], ...patch.actors },
    actions: { ...impl['actions'], ...mapOwn(patch.actions, (a, name) => userAction(a, `actions.${name}`)) },
    guards: { ...impl['guards'], ...mapOwn(patch.guards, viewing) },
    delays: { ...impl['delays'], ...mapOwn(patch.delays, (d, name) => checkedDelay(viewing(d), `delays.${name}`)) },
  };
  let machine: AnyStateMachine;
  try {
    machine = createMachine(config as never, implementations as never) as unknown as AnyStateMachine;
  } catch (err) {
    // XState refuses unknown targets and malformed transitions while building the state nodes.
    throw new ArbiterInputError('patch', `Expected \`patch\` to build a valid machine, got: ${(err as Error).message}`);
  }
  checkReferences(machine);
  const violations = checkLifecycle(machine);
  if (violations.length > 0) throw new LifecycleError(violations);
  return machine as Lifecycle<EventTypeOf<TEvent> | LifecycleEvents<TBase>>;
}
