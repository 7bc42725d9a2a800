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
  if (after) label = `after ${after[1]}`;
  else if (event.startsWith('xstate.done.actor.')) label = 'done: execute';
  else if (event.startsWith('xstate.error.actor.')) label = 'error';
  else if (event === '') label = 'always';
  if (label === 'done: execute' || label === 'error') {
    const invoke = /^xstate\.(?:done|error)\.actor\.(?:\d+\.)?(.*)$/.exec(event)?.[1];
    if (invoke && !invoke.includes('.')) label = `${label.startsWith('done') ? 'done' : 'error'}: ${invoke}`;
  }
  return guard ? `${label} [${guard}]` : label;
}

function guardName(guard: unknown): string | undefined {
  if (typeof guard === 'string') return guard;
  if (guard && typeof guard === 'object' && typeof (guard as { type?: unknown }).type === 'string') return (guard as { type: string }).type;
  if (typeof guard === 'function') return guard.name || 'guard';
  return undefined;
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
        label: prettyEvent('', guardName(t.guard) ?? (typeof t.guard === 'undefined' ? undefined : 'guard')),
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
