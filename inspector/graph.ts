import type { AnyStateMachine } from 'xstate';
import { toDirectedGraph, type DirectedGraphNode } from 'xstate/graph';

/** A state of a {@link Statechart}. `parent` is the id of the enclosing compound state, if any. */
export interface StatechartNode {
  readonly id: string;
  readonly key: string;
  readonly parent: string | null;
  readonly type: 'atomic' | 'compound' | 'parallel' | 'final' | 'history' | 'any';
  /** Whether it is its parent's initial state. */
  readonly initial: boolean;
}

/** A transition of a {@link Statechart}. */
export interface StatechartEdge {
  readonly id: string;
  readonly source: string;
  readonly target: string;
  /** The raw event type (`arbiter.win`, `xstate.after.window.coordinator.collecting`, or `''` for eventless). */
  readonly event: string;
  /** A short human label: `arbiter.win`, `after window`, `done: execute`, `always [hasStaged]`. */
  readonly label: string;
  /** A transition without a target: handled in its state without leaving it (drawn inside the state). */
  readonly internal?: boolean;
}

/**
 * A machine definition as a plain, JSON-safe graph the inspector page lays out and draws.
 * Transitions declared on the machine's root (e.g. `arbiter.cancel` from any state) start from
 * a pseudo-state of type `any` (key `*`); targetless root transitions are listed in `handles`.
 */
export interface Statechart {
  /** The machine's id (the root state's id: state ids are `<rootId>.<key>…`). */
  readonly rootId: string;
  readonly nodes: readonly StatechartNode[];
  readonly edges: readonly StatechartEdge[];
  /** Events handled on the root without changing state. */
  readonly handles: readonly string[];
}

function prettyEvent(event: string, guard: string | undefined): string {
  let label = event;
  const after = /^xstate\.after\.([^.]+)\./.exec(event);
  if (after) label = /^\d+$/.test(after[1]!) ? `after ${after[1]} ms` : `after ${after[1]}`;
  else if (event.startsWith('xstate.done.actor.')) label = 'done: execute';
  else if (event.startsWith('xstate.error.actor.')) label = 'error';
  else if (event === '') label = 'always';
  if (label === 'done: execute' || label === 'error') {
    const invoke = /^xstate\.(?:done|error)\.actor\.(?:\d+\.)?(.*)$/.exec(event)?.[1];
    if (invoke && !invoke.includes('.')) label = `${label.startsWith('done') ? 'done' : 'error'}: ${invoke}`;
  }
  return guard ? `${label} [${guard}]` : label;
}

const GUARD_SOURCE_MAX = 48;

// An inline guard has no name; its expression is the best description of it
// (`({ context }) => context.holders.size === 0` → `context.holders.size === 0`).
function guardSource(fn: (...args: never[]) => unknown): string | undefined {
  let source: string;
  try {
    source = Function.prototype.toString.call(fn);
  } catch {
    return undefined;
  }
  const arrow = /=>\s*([\s\S]+)$/.exec(source)?.[1]?.trim();
  let body = arrow;
  if (body?.startsWith('{')) body = /^\{\s*return\s+([\s\S]+?);?\s*\}$/.exec(body)?.[1];
  if (!body) body = /^function[^(]*\([^)]*\)\s*\{\s*return\s+([\s\S]+?);?\s*\}$/.exec(source)?.[1];
  if (!body) return undefined;
  body = body.replace(/\s+/g, ' ');
  return body.length <= GUARD_SOURCE_MAX ? body : undefined;
}

function isTargetless(transition: { target?: unknown }): boolean {
  return !Array.isArray(transition.target) || transition.target.length === 0;
}

/** A readable name for a transition's guard: its name, `and(a, b)`, `not(a)`, or an inline guard's expression. */
export function guardName(guard: unknown): string | undefined {
  if (typeof guard === 'string') return guard || undefined;
  if (guard && typeof guard === 'object') {
    const type = (guard as { type?: unknown }).type;
    return typeof type === 'string' && type ? type : 'guard';
  }
  if (typeof guard !== 'function') return undefined;
  const composite = (guard as { guards?: unknown }).guards;
  if (Array.isArray(composite) && ['and', 'or', 'not'].includes(guard.name)) {
    return `${guard.name}(${composite.map((g) => guardName(g) ?? 'guard').join(', ')})`;
  }
  if (guard.name === 'stateIn') return 'in state';
  // A function named after the transition's `guard` key was written inline.
  if (guard.name && guard.name !== 'guard') return guard.name;
  return guardSource(guard as never) ?? 'guard';
}

/**
 * Builds the drawable graph of a machine definition with `toDirectedGraph` from `xstate/graph`,
 * adding the eventless (`always`) transitions it leaves out.
 *
 * @example
 * ```ts
 * import { operationMachine } from 'xstate-arbiter';
 * import { statechartOf } from 'xstate-arbiter/inspector';
 * const chart = statechartOf(operationMachine);
 * chart.nodes.map((n) => n.key); // ['*', 'pending', 'staged', 'executing', 'retrying', 'completed', 'rejected']
 * ```
 */
export function statechartOf(machine: AnyStateMachine): Statechart {
  const root = toDirectedGraph(machine);
  const nodes: StatechartNode[] = [];
  const edges: StatechartEdge[] = [];
  const handles: string[] = [];
  const anyId = `${root.id}.*`;
  let anyUsed = false;

  const visit = (n: DirectedGraphNode, parent: string | null) => {
    const isRoot = n === root;
    if (!isRoot) {
      const sn = n.stateNode;
      const initialTarget = sn.parent?.initial?.target?.[0];
      nodes.push({
        id: n.id,
        key: sn.key,
        parent,
        type: sn.type,
        initial: initialTarget === sn,
      });
    }
    for (const e of n.edges) {
      const event = e.transition.eventType;
      const guard = guardName(e.transition.guard);
      if (isRoot) {
        if (e.target.id === root.id) {
          handles.push(event);
          continue;
        }
        anyUsed = true;
      }
      edges.push({
        id: `${e.id}`,
        source: isRoot ? anyId : e.source.id,
        target: e.target.id,
        event,
        label: prettyEvent(event, guard),
        ...(isTargetless(e.transition) ? { internal: true } : {}),
      });
    }
    const always = n.stateNode.always ?? [];
    always.forEach((t, i) => {
      const target = t.target?.[0];
      if (!target) return;
      edges.push({
        id: `${n.id}:always:${i}`,
        source: isRoot ? anyId : n.id,
        target: target.id,
        event: '',
        label: prettyEvent('', guardName(t.guard)),
      });
    });
    for (const child of n.children) visit(child, isRoot ? null : n.id);
  };
  visit(root, null);
  if (anyUsed) nodes.unshift({ id: anyId, key: '*', parent: null, type: 'any', initial: false });
  return { rootId: root.id, nodes, edges, handles };
}

/**
 * The ids of the active state nodes for a snapshot `value` (`'staged'`, `{ a: 'b' }`, …).
 *
 * @example
 * ```ts
 * activeStateIds('operation', 'staged'); // ['operation.staged']
 * activeStateIds('m', { a: 'b' });       // ['m.a', 'm.a.b']
 * ```
 */
export function activeStateIds(rootId: string, value: unknown): string[] {
  const out: string[] = [];
  const walk = (prefix: string, v: unknown) => {
    if (typeof v === 'string') {
      out.push(`${prefix}.${v}`);
    } else if (v && typeof v === 'object') {
      for (const [k, sub] of Object.entries(v)) {
        out.push(`${prefix}.${k}`);
        walk(`${prefix}.${k}`, sub);
      }
    }
  };
  walk(rootId, value);
  return out;
}
