import { ArbiterInputError, OccConflictError } from '../errors.js';
import { newId } from '../ids.js';
import { optionKeys, readOptions } from '../keys.js';
import { expectFunction, expectInteger, expectNonEmptyString, kindOf } from '../validate.js';
import { isAddressableId, parseAddress, parsePath, readPath, writePath } from './address.js';
import { cloneSnapshotData, copyData } from './data.js';
import { Lineage } from './lineage.js';
import { monotonicNanos } from './time.js';
import type { CreateOptions, Entity, EntityStore, WriteOptions } from './types.js';

/**
 * Options of {@link createStore}.
 *
 * @example
 * ```ts
 * createStore({ maxHistory: 100 });
 * ```
 */
export interface StoreOptions {
  /** Versions kept per entity (the current one included). @default Infinity (every version) */
  maxHistory?: number;
  /** Source of monotonic nanoseconds for `lastModified`. @default process.hrtime.bigint, or performance.now() */
  now?: () => bigint;
}

const STORE_OPTION_KEYS = optionKeys<StoreOptions>({ maxHistory: true, now: true });
const CREATE_OPTION_KEYS = optionKeys<CreateOptions>({ id: true, parentId: true });
const WRITE_OPTION_KEYS = optionKeys<WriteOptions>({ expectedVersion: true });

interface Node {
  lineage: Lineage;
  children: Set<string> | undefined;
  /** Creation order: the map iterates in it, so a query can stop before entities created after it began. */
  seq: number;
}

function isThenable(value: unknown): boolean {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

/**
 * Creates the in-memory entity store, the default {@link EntityStore}.
 *
 * Snapshots are deep-frozen copies made once per write, so `get` costs no copy and a caller can
 * never change stored state through a snapshot. Every write is synchronous, so a compare-and-set
 * (`expectedVersion`) is atomic with respect to every other caller in the process.
 *
 * `options` (and every `create` and write options object) is read once into a snapshot; an
 * unknown key is an `ArbiterInputError` naming it, with a suggestion (`maxHistroy` → did you mean
 * `maxHistory`?).
 *
 * @example
 * ```ts
 * import { createStore, OccConflictError } from 'xstate-arbiter';
 * const store = createStore();
 * const item = store.create({ sku: 'A-1', stock: 3 });
 * store.update(item.id, (d) => { d.stock -= 1; }, { expectedVersion: 0 });
 * try {
 *   store.update(item.id, (d) => { d.stock -= 1; }, { expectedVersion: 0 }); // stale
 * } catch (err) {
 *   if (err instanceof OccConflictError) console.log(err.expected, err.actual); // 0 1
 * }
 * ```
 * @see EntityStore
 */
export function createStore(options: StoreOptions = {}): EntityStore {
  const o = readOptions(options, STORE_OPTION_KEYS);
  if (o.maxHistory !== undefined && o.maxHistory !== Infinity) expectInteger(o.maxHistory, 'maxHistory', 1);
  if (o.now !== undefined) expectFunction(o.now, 'now');
  const maxHistory = (o.maxHistory as number | undefined) ?? Infinity;
  const clock = (o.now as (() => bigint) | undefined) ?? monotonicNanos;
  const nodes = new Map<string, Node>();
  let created = 0;
  let last = -1n;

  // Strictly increasing even when the platform clock is coarse (performance.now() may be
  // clamped in browsers), so lastModified alone orders any two changes of one store. Called
  // before anything changes, so a `now` that throws or answers garbage leaves the store intact.
  function stamp(): bigint {
    const t: unknown = clock();
    if (typeof t !== 'bigint') throw new ArbiterInputError('now', `Expected \`now\` to return a bigint (nanoseconds), got ${kindOf(t)}`);
    last = t > last ? t : last + 1n;
    return last;
  }

  function node(id: unknown, field: string): Node {
    expectNonEmptyString(id, field);
    const n = nodes.get(id);
    if (!n) throw new ArbiterInputError(field, `Expected \`${field}\` to be the id of an entity in the store, got ${kindOf(id)}`);
    return n;
  }

  function check(n: Node, options: WriteOptions | undefined): void {
    const { expectedVersion } = readOptions(options, WRITE_OPTION_KEYS);
    if (expectedVersion === undefined) return;
    expectInteger(expectedVersion, 'expectedVersion', 0);
    const actual = n.lineage.current.version;
    if (expectedVersion !== actual) throw new OccConflictError({ id: n.lineage.current.id, expected: expectedVersion, actual });
  }

  // A callback (`update`'s fn) may write to the store itself: committing the draft it computed
  // from an older version would silently drop that write, so it is a conflict instead.
  function unchanged(n: Node, read: Entity, id: string): void {
    if (nodes.get(id) !== n) throw new ArbiterInputError('fn', `Expected \`fn\` not to delete entity ${id} while updating it`);
    const actual = n.lineage.current;
    if (actual !== read) throw new OccConflictError({ id, expected: read.version, actual: actual.version });
  }

  function snapshot(prev: Entity | undefined, id: string, data: unknown, parentId: string | undefined, rootId: string, t: bigint): Entity {
    return Object.freeze({ id, version: prev ? prev.version + 1 : 0, lastModified: t, data, parentId, rootId });
  }

  function commit(n: Node, data: unknown, parentId: string | undefined, rootId: string, t = stamp()): Entity {
    const prev = n.lineage.current;
    const next = snapshot(prev, prev.id, data, parentId, rootId, t);
    n.lineage.push(next);
    return next;
  }

  function isAncestor(candidate: string, of: string): boolean {
    let cur = nodes.get(of)?.lineage.current.parentId;
    while (cur !== undefined) {
      if (cur === candidate) return true;
      cur = nodes.get(cur)?.lineage.current.parentId;
    }
    return false;
  }

  // Moves `n` (and its subtree) under `parentId` (undefined: a root). Every entity whose parentId
  // or rootId changes gets a new version, all with the same timestamp: one change.
  function move(n: Node, parentId: string | undefined): Entity {
    const cur = n.lineage.current;
    const t = stamp();
    if (cur.parentId !== undefined) nodes.get(cur.parentId)?.children?.delete(cur.id);
    let rootId = cur.id;
    if (parentId !== undefined) {
      const parent = nodes.get(parentId)!;
      (parent.children ??= new Set()).add(cur.id);
      rootId = parent.lineage.current.rootId;
    }
    const moved = commit(n, cur.data, parentId, rootId, t);
    if (rootId !== cur.rootId) {
      const stack = [...(n.children ?? [])];
      while (stack.length > 0) {
        const d = nodes.get(stack.pop()!)!;
        const dc = d.lineage.current;
        commit(d, dc.data, dc.parentId, rootId, t);
        if (d.children) stack.push(...d.children);
      }
    }
    return moved;
  }

  const store: EntityStore = {
    get size() {
      return nodes.size;
    },

    create<TData>(data: TData, options?: CreateOptions): Entity<TData> {
      const o = readOptions(options, CREATE_OPTION_KEYS);
      let id = newId();
      if (o.id !== undefined) {
        expectNonEmptyString(o.id, 'id');
        if (!isAddressableId(o.id)) {
          throw new ArbiterInputError('id', `Expected \`id\` to contain no ".", "@" or whitespace, got ${kindOf(o.id)}`);
        }
        if (nodes.has(o.id)) throw new ArbiterInputError('id', `Expected \`id\` to be unique, got ${kindOf(o.id)} which is already in the store`);
        id = o.id;
      }
      const parent = o.parentId !== undefined ? node(o.parentId, 'parentId') : undefined;
      const frozen = copyData(data, 'data', true);
      const entity = snapshot(undefined, id, frozen, parent?.lineage.current.id, parent?.lineage.current.rootId ?? id, stamp());
      nodes.set(id, { lineage: new Lineage(entity, maxHistory), children: undefined, seq: created++ });
      if (parent) (parent.children ??= new Set()).add(id);
      return entity as Entity<TData>;
    },

    get<TData>(id: string): Entity<TData> | undefined {
      return nodes.get(id)?.lineage.current as Entity<TData> | undefined;
    },

    has(id: string): boolean {
      return nodes.has(id);
    },

    update<TData>(id: string, fn: (draft: TData, current: Entity<TData>) => TData | void, options?: WriteOptions): Entity<TData> {
      const n = node(id, 'id');
      expectFunction(fn, 'fn');
      check(n, options);
      const cur = n.lineage.current as Entity<TData>;
      const draft = cloneSnapshotData(cur.data);
      const returned = fn(draft, cur);
      if (isThenable(returned)) {
        throw new ArbiterInputError('fn', 'Expected `fn` to return the next data synchronously, got a promise (compute first, then update)');
      }
      const next = copyData(returned === undefined ? draft : returned, 'data', true);
      unchanged(n, cur, id);
      return commit(n, next, cur.parentId, cur.rootId) as Entity<TData>;
    },

    put(address: string, value: unknown, options?: WriteOptions): Entity {
      const { id, path } = parseAddress(address);
      const n = node(id, 'address');
      check(n, options);
      const cur = n.lineage.current;
      const copy = copyData(value, 'value', false);
      const draft = cloneSnapshotData(cur.data);
      if (!writePath(draft, path, copy)) {
        throw new ArbiterInputError('address', `Expected \`address\` to name an existing field of entity ${id}, got ${kindOf(address)}`);
      }
      return commit(n, copyData(draft, 'data', true), cur.parentId, cur.rootId);
    },

    borrow(targetId: string, sourceId: string, sourceField: string, targetField: string, options?: WriteOptions): Entity {
      const target = node(targetId, 'targetId');
      const source = node(sourceId, 'sourceId');
      const from = parsePath(sourceField, 'sourceField');
      const to = parsePath(targetField, 'targetField');
      check(target, options);
      const read = readPath(source.lineage.current.data, from);
      if (!read.found) {
        throw new ArbiterInputError('sourceField', `Expected \`sourceField\` to name an existing field of entity ${sourceId}, got ${kindOf(sourceField)}`);
      }
      const cur = target.lineage.current;
      const draft = cloneSnapshotData(cur.data);
      if (!writePath(draft, to, copyData(read.value, 'value', false))) {
        throw new ArbiterInputError('targetField', `Expected \`targetField\` to name an existing field of entity ${targetId}, got ${kindOf(targetField)}`);
      }
      return commit(target, copyData(draft, 'data', true), cur.parentId, cur.rootId);
    },

    version(id: string, options?: WriteOptions): Entity {
      const n = node(id, 'id');
      check(n, options);
      const cur = n.lineage.current;
      return commit(n, cur.data, cur.parentId, cur.rootId);
    },

    history<TData>(id: string): readonly Entity<TData>[] {
      return node(id, 'id').lineage.list() as readonly Entity<TData>[];
    },

    promoteToRoot(id: string, options?: WriteOptions): Entity {
      const n = node(id, 'id');
      check(n, options);
      if (n.lineage.current.parentId === undefined) return n.lineage.current;
      return move(n, undefined);
    },

    attach(childId: string, parentId: string, options?: WriteOptions): Entity {
      const n = node(childId, 'childId');
      node(parentId, 'parentId');
      check(n, options);
      if (parentId === childId || isAncestor(childId, parentId)) {
        throw new ArbiterInputError('parentId', `Expected \`parentId\` not to be ${childId} or one of its descendants (a cycle), got ${kindOf(parentId)}`);
      }
      if (n.lineage.current.parentId === parentId) return n.lineage.current;
      return move(n, parentId);
    },

    detach(id: string, options?: WriteOptions): Entity {
      const n = node(id, 'id');
      check(n, options);
      if (n.lineage.current.parentId === undefined) {
        throw new ArbiterInputError('id', `Expected \`id\` to name an attached entity, got root ${kindOf(id)}`);
      }
      return move(n, undefined);
    },

    delete(id: string, options?: WriteOptions): boolean {
      expectNonEmptyString(id, 'id');
      const n = nodes.get(id);
      if (!n) return false;
      check(n, options);
      const parentId = n.lineage.current.parentId;
      if (parentId !== undefined) nodes.get(parentId)?.children?.delete(id);
      for (const childId of [...(n.children ?? [])]) move(nodes.get(childId)!, undefined);
      nodes.delete(id);
      return true;
    },

    children(id: string): readonly string[] {
      return [...(node(id, 'id').children ?? [])];
    },

    query<TData>(predicate?: (entity: Entity<TData>) => boolean): Entity<TData>[] {
      if (predicate !== undefined) expectFunction(predicate, 'predicate');
      // A predicate may write to the store: entities it creates come after the ones that existed
      // when the query began (the map keeps creation order), so the loop stops there instead of
      // following them forever.
      const end = created;
      const out: Entity<TData>[] = [];
      for (const n of nodes.values()) {
        if (n.seq >= end) break;
        const e = n.lineage.current as Entity<TData>;
        if (predicate === undefined || predicate(e)) out.push(e);
      }
      return out;
    },
  };
  return store;
}
