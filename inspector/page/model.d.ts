// Types of the page's model (model.js), for the tests that run it in Node.
/* eslint-disable @typescript-eslint/no-explicit-any */

export function naturalCompare(a: string, b: string): number;
export function topState(value: unknown): string;
export function stateLabel(value: unknown): string;
export function activeIds(rootId: string, value: unknown): string[];
export function detailOf(event: Record<string, any>): string;

export interface SequenceRow {
  seq: number;
  t: number;
  from: string;
  to: string;
  label: string;
  cls: string;
  event: any;
}
export function sequenceRows(
  events: readonly Record<string, any>[],
  options?: { maxLanes?: number; windowSeq?: number; last?: number; processOf?: (operationId: string) => string | undefined },
): { lanes: string[]; rows: SequenceRow[]; remote: Map<string, string> };
export function eventSequence(
  events: readonly { seq: number; t: number; from: string; to: string; type: string; payload: unknown }[],
  names: (sid: string) => string,
  options?: { maxLanes?: number; last?: number },
): { lanes: string[]; rows: (SequenceRow & { fromIndex: number; toIndex: number })[] };

export interface LogRow {
  seq: number;
  t: number;
  type: string;
  target: string;
  op: string;
  sid: string | null;
  detail: string;
  xstate: boolean;
  payload: unknown;
  app: string | null;
  dead?: boolean;
}
export class LogModel {
  constructor(limit?: number);
  rows: LogRow[];
  received: number;
  trimmed: number;
  version: number;
  add(row: Omit<LogRow, 'seq'>): void;
  clear(): void;
}
export function rowMatches(row: LogRow, filters: { target?: string; op?: string; type?: string; xstate?: boolean }): boolean;

export interface StoreLimits {
  opsPerTarget?: number;
  historyLimit?: number;
  logLimit?: number;
  targetEvents?: number;
  appEvents?: number;
  finalKeepMs?: number;
}
export class Store {
  constructor(limits?: StoreLimits);
  limits: Required<StoreLimits>;
  actors: Map<string, any>;
  targets: Map<string, any>;
  apps: Map<string, any>;
  machines: Map<string, { chart: any }>;
  opIndex: Map<string, string>;
  system: Set<string>;
  pinned: Set<string>;
  run: any;
  structure: number;
  log: LogModel;
  appEvents: Map<string, any[]>;
  /** Payloads of the last `@xstate.event` messages, by their `eventId`. */
  eventPayloads: Map<number, any>;
  submitted: number;
  /** Operation id → the process that staged it, as a shared backend's decisions name it. */
  processes: Map<string, string>;
  reset(): void;
  isRemote(processId: string | null | undefined): boolean;
  processOf(operationId: string): string | undefined;
  hello(hello: Record<string, any>): 'first' | 'same' | 'new';
  apply(message: Record<string, any>, now?: number): string | null;
  sweep(now: number): void;
  coordinatorOf(target: string): any;
  busiestTarget(): string | null;
  remove(actor: any, hidden?: boolean): void;
}

export interface TreeRow {
  id: string;
  kind: string;
  level: number;
  sid?: string;
  actor?: any;
  target?: string;
  t?: any;
  app?: any;
  label?: string;
  count?: number;
  opCount?: number;
  expandable?: boolean;
  collapsed?: boolean;
}
export function flattenTree(
  store: Store,
  options?: { query?: string; collapsed?: Set<string>; expanded?: Set<string>; keep?: string | null; expandedByDefault?: boolean },
): TreeRow[];
