/**
 * Plain data an entity can hold: JSON-like values plus `bigint` and `undefined`. Maps, sets,
 * dates, class instances and functions are refused, because a frozen snapshot could not protect
 * their contents (a frozen `Map` still accepts `set`).
 *
 * @example
 * ```ts
 * const data: EntityData = { sku: 'A-1', stock: 10, tags: ['new'], price: 1999n };
 * ```
 */
export type EntityData =
  | string
  | number
  | boolean
  | bigint
  | null
  | undefined
  | readonly EntityData[]
  | { readonly [key: string]: EntityData };

/**
 * An immutable snapshot of one version of an entity. Every change produces a new snapshot with
 * `version + 1` and a later `lastModified`; the old one stays valid (and in `history`).
 *
 * @example
 * ```ts
 * const item = store.create({ stock: 10 });
 * item.version;      // 0
 * item.rootId;       // item.id: a new entity is the root of its own tree
 * ```
 */
export interface Entity<TData = unknown> {
  /** A uuid v7, or the `id` given to `create`. Never changes. */
  readonly id: string;
  /** 0 at creation, +1 on every change (data, parent or root). */
  readonly version: number;
  /** Monotonic nanoseconds of the change that produced this version; strictly increasing per store. */
  readonly lastModified: bigint;
  /** Deep-frozen. */
  readonly data: TData;
  /** The entity this one is attached to, if any. */
  readonly parentId: string | undefined;
  /** The root of the tree this entity belongs to (its own id when it is a root). */
  readonly rootId: string;
}

/**
 * The compare-and-set condition of a write: when given, the write throws `OccConflictError`
 * (and changes nothing) unless the entity's current version equals `expectedVersion`.
 *
 * @example
 * ```ts
 * store.update<{ stock: number }>(id, (d) => ({ ...d, stock: d.stock - 1 }), { expectedVersion: snapshot.version });
 * ```
 */
export interface WriteOptions {
  expectedVersion?: number;
}

/**
 * Options of `store.create`.
 *
 * @example
 * ```ts
 * const wheel = store.create({ size: 17 }, { parentId: car.id });
 * ```
 */
export interface CreateOptions {
  /** Your own id: non-empty, without `.`, `@` or whitespace (it must fit in an address). @default a uuid v7 */
  id?: string;
  /** Attach the new entity to this one. */
  parentId?: string;
}

/**
 * The entity store: a registry of versioned entities. Every method is synchronous and atomic: a
 * method that throws has changed nothing.
 *
 * Reads return frozen snapshots; writes copy what they are given, keeping every key as own data
 * (`__proto__`, `constructor` and `prototype` included). Unknown ids, malformed addresses, unknown
 * fields and unknown option keys throw `ArbiterInputError`; a stale `expectedVersion` throws
 * `OccConflictError`. Options objects are read once per field.
 *
 * @example
 * ```ts
 * import { createStore } from 'xstate-arbiter';
 * const store = createStore();
 * type Account = { balance: number };
 * const a = store.create<Account>({ balance: 100 });
 * store.update<Account>(a.id, (d) => ({ balance: d.balance - 10 }), { expectedVersion: a.version });
 * store.put(`@${a.id}.balance`, 50);
 * store.history<Account>(a.id).map((v) => v.data.balance); // [100, 90, 50]
 * ```
 * @see createStore
 */
export interface EntityStore {
  /** Number of entities. */
  readonly size: number;
  /** Creates an entity at version 0. `data` (plain data, see {@link EntityData}) is copied and frozen. */
  create<TData>(data: TData, options?: CreateOptions): Entity<TData>;
  /**
   * The current snapshot, or `undefined` for an unknown id. The data is `unknown` unless you name
   * its type (`get<Account>(id)`): the store does not check it against your type.
   */
  get<TData = unknown>(id: string): Entity<TData> | undefined;
  has(id: string): boolean;
  /**
   * Compare-and-set. `fn` receives a private, mutable copy of the current data: modify it and
   * return nothing, or return the next data. If `fn` throws, the entity is unchanged; if `fn`
   * itself writes this entity, the update throws `OccConflictError` instead of overwriting that write.
   */
  update<TData = unknown>(
    id: string,
    fn: (draft: TData, current: Entity<TData>) => TData | void,
    options?: WriteOptions,
  ): Entity<TData>;
  /** Sets one existing field, addressed as `@<id>.<field>` (`.` separates nested fields and array indices). */
  put(address: string, value: unknown, options?: WriteOptions): Entity;
  /** Copies `sourceField` of `sourceId` into the existing `targetField` of `targetId` (dotted paths). */
  borrow(targetId: string, sourceId: string, sourceField: string, targetField: string, options?: WriteOptions): Entity;
  /** Records a new version without changing the data (forced versioning). */
  version(id: string, options?: WriteOptions): Entity;
  /** Every kept version, oldest first (all of them unless `maxHistory` bounds it). */
  history<TData = unknown>(id: string): readonly Entity<TData>[];
  /** Makes the entity the root of its own tree (its subtree comes along). A no-op on a root. */
  promoteToRoot(id: string, options?: WriteOptions): Entity;
  /** Attaches `childId` (and its subtree) under `parentId`, moving it if attached elsewhere. */
  attach(childId: string, parentId: string, options?: WriteOptions): Entity;
  /** Takes an attached entity (and its subtree) out of its parent's tree. Throws on a root. */
  detach(id: string, options?: WriteOptions): Entity;
  /** Removes the entity and its history; its children become roots. Returns whether it existed. */
  delete(id: string, options?: WriteOptions): boolean;
  /** Ids of the entities attached directly to `id`. */
  children(id: string): readonly string[];
  /**
   * Current snapshots for which `predicate` returns true, in creation order. Entities created
   * while it runs (by the predicate) are not visited.
   */
  query<TData = unknown>(predicate?: (entity: Entity<TData>) => boolean): Entity<TData>[];
}

/**
 * The {@link EntityStore} contract over a network: the same methods, rules and errors, each
 * returning a promise (a store in Redis cannot answer synchronously), and `size()` as a method.
 * A method whose promise rejects has changed nothing.
 *
 * @example
 * ```ts
 * import { createRedisStore } from 'xstate-arbiter/redis';
 * const store: AsyncEntityStore = createRedisStore({ url: 'redis://127.0.0.1:6379' });
 * const a = await store.create({ balance: 100 });
 * await store.update(a.id, (d) => ({ balance: d.balance - 10 }), { expectedVersion: a.version });
 * ```
 * @see EntityStore
 */
export interface AsyncEntityStore {
  /** Number of entities. */
  size(): Promise<number>;
  create<TData>(data: TData, options?: CreateOptions): Promise<Entity<TData>>;
  get<TData = any>(id: string): Promise<Entity<TData> | undefined>;
  has(id: string): Promise<boolean>;
  /** `fn` must be synchronous; it may run more than once when other writers race (no `expectedVersion`). */
  update<TData = any>(
    id: string,
    fn: (draft: TData, current: Entity<TData>) => TData | void,
    options?: WriteOptions,
  ): Promise<Entity<TData>>;
  put(address: string, value: unknown, options?: WriteOptions): Promise<Entity>;
  borrow(targetId: string, sourceId: string, sourceField: string, targetField: string, options?: WriteOptions): Promise<Entity>;
  version(id: string, options?: WriteOptions): Promise<Entity>;
  history<TData = any>(id: string): Promise<readonly Entity<TData>[]>;
  promoteToRoot(id: string, options?: WriteOptions): Promise<Entity>;
  attach(childId: string, parentId: string, options?: WriteOptions): Promise<Entity>;
  detach(id: string, options?: WriteOptions): Promise<Entity>;
  delete(id: string, options?: WriteOptions): Promise<boolean>;
  children(id: string): Promise<readonly string[]>;
  query<TData = any>(predicate?: (entity: Entity<TData>) => boolean): Promise<Entity<TData>[]>;
}
