import { ArbiterInputError, OccConflictError } from '../errors.js';
import { newId } from '../ids.js';
import { isAddressableId, parseAddress, parsePath, readPath, writePath } from '../store/address.js';
import type { AsyncEntityStore, CreateOptions, Entity, WriteOptions } from '../store/types.js';
import { expectFunction, expectInteger, expectNonEmptyString, expectObject, kindOf } from '../validate.js';
import type { RedisClient } from './batcher.js';
import { decodeData, encodeData } from './codec.js';
import { openClient, waitUntilReady, type RedisConnectionOptions } from './connection.js';
import { StaleFenceError, type StaleFenceReason } from './errors.js';
import { checkKeyPrefix, encodeTarget, targetKeys } from './keys.js';
import { STORE_CREATE_LUA, STORE_DELETE_LUA, STORE_MOVE_LUA, STORE_READ_LUA, STORE_WRITE_LUA } from './lua/store.js';
import { RedisReplyError } from './records.js';

/**
 * The fencing token of a winning operation on its target: writes that carry it are refused once
 * the operation has lost its lease.
 *
 * @example
 * ```ts
 * await store.update(id, fn, { fence: { target: 'account-7', token: 1750000000123456 } });
 * ```
 */
export interface Fence {
  readonly target: string;
  readonly token: number;
}

/**
 * Write options of the Redis store: compare-and-set on `expectedVersion`, and the writer's
 * `fence` (a write with a token that no longer holds its target throws `StaleFenceError` and
 * changes nothing).
 *
 * @example
 * ```ts
 * await store.put(`@${id}.stock`, 9, { expectedVersion: 3, fence });
 * ```
 */
export interface RedisWriteOptions extends WriteOptions {
  fence?: Fence;
}

/**
 * Options of {@link createRedisStore}.
 *
 * @example
 * ```ts
 * createRedisStore({ url: 'redis://127.0.0.1:6379', keyPrefix: 'shop:', name: 'inventory' });
 * ```
 */
export interface RedisStoreOptions extends RedisConnectionOptions {
  /** Prefix of every key; the same as the Redis backend's, so that fences find their leases. @default 'arbiter:' */
  keyPrefix?: string;
  /** Several stores can share a Redis and a prefix under different names. @default 'default' */
  name?: string;
  /** Versions kept per entity (the current one included). @default Infinity (every version) */
  maxHistory?: number;
  /**
   * How many times `update`, `put` and `borrow` without `expectedVersion` read again and re-run
   * when another writer got in between, before giving up with `OccConflictError`. @default 20
   */
  maxAttempts?: number;
  /** Time in microseconds instead of Redis `TIME`. Tests only. */
  clock?: () => number;
}

/**
 * The entity store in Redis: the {@link AsyncEntityStore} contract (the in-memory store's rules,
 * asynchronously), shared by every process, with fenced writes.
 *
 * @example
 * ```ts
 * const store = createRedisStore({ url: 'redis://127.0.0.1:6379', keyPrefix: 'shop:' });
 * await store.ready();
 * ```
 */
export interface RedisEntityStore extends AsyncEntityStore {
  create<TData>(data: TData, options?: CreateOptions & { fence?: Fence }): Promise<Entity<TData>>;
  update<TData = any>(id: string, fn: (draft: TData, current: Entity<TData>) => TData | void, options?: RedisWriteOptions): Promise<Entity<TData>>;
  put(address: string, value: unknown, options?: RedisWriteOptions): Promise<Entity>;
  borrow(targetId: string, sourceId: string, sourceField: string, targetField: string, options?: RedisWriteOptions): Promise<Entity>;
  version(id: string, options?: RedisWriteOptions): Promise<Entity>;
  promoteToRoot(id: string, options?: RedisWriteOptions): Promise<Entity>;
  attach(childId: string, parentId: string, options?: RedisWriteOptions): Promise<Entity>;
  detach(id: string, options?: RedisWriteOptions): Promise<Entity>;
  delete(id: string, options?: RedisWriteOptions): Promise<boolean>;
  /** Resolves once Redis answers; rejects with a clear error if it cannot within the connect timeout. */
  ready(): Promise<void>;
  /** Closes the connection if the store opened it (a `client` you passed stays open). */
  close(): Promise<void>;
}

const COMMANDS = {
  create: { name: 'arbiterStoreCreate', lua: STORE_CREATE_LUA },
  write: { name: 'arbiterStoreWrite', lua: STORE_WRITE_LUA },
  move: { name: 'arbiterStoreMove', lua: STORE_MOVE_LUA },
  delete: { name: 'arbiterStoreDelete', lua: STORE_DELETE_LUA },
  read: { name: 'arbiterStoreRead', lua: STORE_READ_LUA },
} as const;

type Script = (...args: (string | number)[]) => Promise<unknown>;

const wellFormed = (s: string): boolean => !/\p{Surrogate}/u.test(s);

interface StoredEntry {
  readonly id: string;
  readonly version: number;
  readonly lastModified: bigint;
  readonly parentId: string | undefined;
  readonly rootId: string;
  /** The encoded data (decoded on demand: a snapshot, or a draft). */
  readonly data: string;
}

function parseEntry(json: string): StoredEntry {
  const e = JSON.parse(json) as Record<string, string>;
  return {
    id: String(e['id']),
    version: Number(e['v']),
    lastModified: BigInt(String(e['t'])) * 1000n,
    parentId: e['p'] === '' || e['p'] === undefined ? undefined : String(e['p']),
    rootId: String(e['r']),
    data: String(e['d']),
  };
}

function snapshot<TData>(e: StoredEntry): Entity<TData> {
  return Object.freeze({
    id: e.id,
    version: e.version,
    lastModified: e.lastModified,
    data: decodeData(e.data, true) as TData,
    parentId: e.parentId,
    rootId: e.rootId,
  });
}

function isThenable(value: unknown): boolean {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

/**
 * Creates the Redis entity store: the same contract as the in-memory store (`createStore`), each
 * method asynchronous, every write one Lua script (compare-and-set on `version`, fencing token,
 * the whole change or nothing).
 *
 * - `update(id, fn)`: `fn` runs in this process on a private copy, then the result is written
 *   with compare-and-set on the version `fn` saw. With `expectedVersion`, a newer version throws
 *   `OccConflictError`; without, the store reads again and re-runs `fn` (up to `maxAttempts`).
 * - `fence`: a write carrying a token that no longer holds its target throws `StaleFenceError`
 *   and changes nothing (a paused process cannot commit after losing its lease).
 * - `lastModified` comes from Redis time (microseconds × 1000), strictly increasing per store.
 * - A write whose reply is lost with a connection and that the client sends again is applied
 *   once (the first result is replayed).
 *
 * All keys of a store share one hash tag (one Redis Cluster slot). A fenced write also reads
 * the target's lease keys, which are in the target's slot: fenced writes need a single Redis (or
 * a cluster whose store and target keys share a node's slot, which Redis Cluster does not
 * guarantee).
 *
 * @example
 * ```ts
 * import { createRedisStore } from 'xstate-arbiter/redis';
 * const store = createRedisStore({ url: 'redis://127.0.0.1:6379', keyPrefix: 'bank:' });
 * const account = await store.create({ balance: 100 });
 * await store.update(account.id, (d) => { d.balance -= 10; }, { fence: args.fence });
 * ```
 * @see AsyncEntityStore
 */
export function createRedisStore(options: RedisStoreOptions): RedisEntityStore {
  expectObject(options, 'options');
  const keyPrefix = checkKeyPrefix(options.keyPrefix ?? 'arbiter:');
  const name = options.name ?? 'default';
  expectNonEmptyString(name, 'name');
  const maxHistory = options.maxHistory ?? Infinity;
  if (maxHistory !== Infinity) expectInteger(maxHistory, 'maxHistory', 1);
  const maxAttempts = options.maxAttempts ?? 20;
  expectInteger(maxAttempts, 'maxAttempts', 1);
  if (options.clock !== undefined) expectFunction(options.clock, 'clock');
  const clock = options.clock;
  const { client, owned, connectTimeoutMs } = openClient(options);
  for (const { name: command, lua } of Object.values(COMMANDS)) {
    if (typeof (client as unknown as Record<string, unknown>)[command] !== 'function') {
      client.defineCommand(command, { numberOfKeys: 9, lua });
    }
  }
  return new RedisStore(client, owned, connectTimeoutMs, keyPrefix, `${keyPrefix}store:{${encodeTarget(name)}}:`, maxHistory, maxAttempts, clock);
}

/** Map of a script's error reply to the error the in-memory store would throw. */
function toError(reply: unknown[], fence: Fence | undefined): Error {
  const [, code, a, b, c] = reply.map((x) => (x === null || x === undefined ? undefined : String(x)));
  switch (code) {
    case 'missing':
      return new ArbiterInputError(a ?? 'id', `Expected \`${a}\` to be the id of an entity in the store, got ${kindOf(b)}`);
    case 'exists':
      return new ArbiterInputError('id', `Expected \`id\` to be unique, got ${kindOf(a)} which is already in the store`);
    case 'conflict':
      return new OccConflictError({ id: a ?? '', expected: Number(b), actual: Number(c) });
    case 'cycle':
      return new ArbiterInputError('parentId', `Expected \`parentId\` not to be ${a} or one of its descendants (a cycle), got ${kindOf(b)}`);
    case 'root':
      return new ArbiterInputError('id', `Expected \`id\` to name an attached entity, got root ${kindOf(a)}`);
    case 'stale-fence':
      return new StaleFenceError({
        target: fence?.target ?? '',
        token: fence?.token ?? 0,
        currentToken: b === undefined || b === '' ? undefined : Number(b),
        reason: a as StaleFenceReason,
      });
    default:
      return new RedisReplyError('store', reply);
  }
}

class RedisStore implements RedisEntityStore {
  constructor(
    private readonly client: RedisClient,
    private readonly owned: boolean,
    private readonly connectTimeoutMs: number,
    private readonly keyPrefix: string,
    private readonly base: string,
    private readonly maxHistory: number,
    private readonly maxAttempts: number,
    private readonly clock: (() => number) | undefined,
  ) {}

  private keys(fence: Fence | undefined): string[] {
    const b = this.base;
    const f = fence ? targetKeys(this.keyPrefix, fence.target) : undefined;
    return [`${b}m`, `${b}v`, `${b}t`, `${b}p`, `${b}r`, `${b}d`, `${b}i`, f?.holders ?? `${b}nf1`, f?.meta ?? `${b}nf2`];
  }

  private async script(command: keyof typeof COMMANDS, fence: Fence | undefined, writeId: string, args: (string | number)[]): Promise<unknown[]> {
    const fn = (this.client as unknown as Record<string, Script>)[COMMANDS[command].name]!;
    const head = [this.clock ? String(this.clock()) : '', this.base, this.maxHistory === Infinity ? 0 : this.maxHistory, fence ? String(fence.token) : '', writeId];
    let reply: unknown;
    try {
      reply = await fn.call(this.client, ...this.keys(fence), ...head, ...args);
    } catch (err) {
      if (fence && String(err).includes('CROSSSLOT')) {
        throw new Error(
          `a fenced write reads the lease of target ${fence.target} (its own hash slot) and the store's keys (another slot), ` +
            'which Redis Cluster refuses in one script: fenced writes need a single Redis (primary)',
          { cause: err },
        );
      }
      throw err;
    }
    if (!Array.isArray(reply)) throw new RedisReplyError(command, reply);
    return reply;
  }

  private async mutate(command: 'create' | 'write' | 'move' | 'delete', fence: Fence | undefined, args: (string | number)[]): Promise<unknown[]> {
    const reply = await this.script(command, fence, newId(), args);
    if (reply[0] === 'ok') return reply;
    throw toError(reply, fence);
  }

  private readOptions(options: RedisWriteOptions | undefined): { expected: number | undefined; fence: Fence | undefined } {
    if (options === undefined) return { expected: undefined, fence: undefined };
    expectObject(options, 'options');
    const expected = options.expectedVersion;
    if (expected !== undefined) expectInteger(expected, 'expectedVersion', 0);
    const fence = options.fence;
    if (fence !== undefined) {
      expectObject(fence, 'fence');
      expectNonEmptyString(fence.target, 'fence.target');
      expectInteger(fence.token, 'fence.token', 0);
      return { expected, fence: { target: fence.target, token: fence.token } };
    }
    return { expected, fence: undefined };
  }

  private async read(ids: readonly string[]): Promise<(StoredEntry | undefined)[]> {
    const reply = await this.script('read', undefined, '', [...ids]);
    return reply.map((r) => (r === '' || r === null ? undefined : parseEntry(String(r))));
  }

  private async existing(id: unknown, field: string): Promise<StoredEntry> {
    expectNonEmptyString(id, field);
    const [e] = wellFormed(id) ? await this.read([id]) : [undefined];
    if (!e) throw new ArbiterInputError(field, `Expected \`${field}\` to be the id of an entity in the store, got ${kindOf(id)}`);
    return e;
  }

  /**
   * Reads, lets `next` compute the new data from a private copy, then writes with compare-and-set
   * on the version read. On a race (someone wrote in between) reads again, unless the caller
   * pinned `expectedVersion`.
   */
  private async readModifyWrite(
    id: string,
    field: string,
    options: RedisWriteOptions | undefined,
    next: (current: StoredEntry) => Promise<{ data: string; conditions?: (string | number)[] }> | { data: string; conditions?: (string | number)[] },
  ): Promise<Entity> {
    const { expected, fence } = this.readOptions(options);
    for (let attempt = 1; ; attempt++) {
      const current = await this.existing(id, field);
      if (expected !== undefined && current.version !== expected) {
        throw new OccConflictError({ id, expected, actual: current.version });
      }
      const { data, conditions = [] } = await next(current);
      const reply = await this.script('write', fence, newId(), [id, current.version, data, ...conditions]);
      if (reply[0] === 'ok') return snapshot(parseEntry(String(reply[1])));
      const error = toError(reply, fence);
      if (!(error instanceof OccConflictError) || expected !== undefined || attempt >= this.maxAttempts) throw error;
    }
  }

  async ready(): Promise<void> {
    await waitUntilReady(this.client, this.connectTimeoutMs);
  }

  async close(): Promise<void> {
    if (!this.owned) return;
    if (this.client.status !== 'ready') {
      this.client.disconnect();
      return;
    }
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), this.connectTimeoutMs)));
    const done = await Promise.race([this.client.quit().catch(() => 'late' as const), late]);
    clearTimeout(timer);
    if (done === 'late') this.client.disconnect();
  }

  async size(): Promise<number> {
    return this.client.zcard(`${this.base}i`);
  }

  async create<TData>(data: TData, options?: CreateOptions & { fence?: Fence }): Promise<Entity<TData>> {
    if (options !== undefined) expectObject(options, 'options');
    let id = newId();
    if (options?.id !== undefined) {
      expectNonEmptyString(options.id, 'id');
      if (!isAddressableId(options.id) || !wellFormed(options.id)) {
        throw new ArbiterInputError('id', `Expected \`id\` to contain no ".", "@", whitespace or lone surrogate, got ${kindOf(options.id)}`);
      }
      id = options.id;
    }
    let parentId = '';
    if (options?.parentId !== undefined) {
      expectNonEmptyString(options.parentId, 'parentId');
      parentId = options.parentId;
    }
    const { fence } = this.readOptions(options?.fence === undefined ? undefined : { fence: options.fence as Fence });
    const encoded = encodeData(data, 'data');
    const reply = await this.mutate('create', fence, [id, parentId, encoded]);
    return snapshot<TData>(parseEntry(String(reply[1])));
  }

  async get<TData = any>(id: string): Promise<Entity<TData> | undefined> {
    if (typeof id !== 'string' || id === '' || !wellFormed(id)) return undefined;
    const [e] = await this.read([id]);
    return e ? snapshot<TData>(e) : undefined;
  }

  async has(id: string): Promise<boolean> {
    if (typeof id !== 'string' || id === '' || !wellFormed(id)) return false;
    return (await this.client.hexists(`${this.base}v`, id)) === 1;
  }

  update<TData = any>(id: string, fn: (draft: TData, current: Entity<TData>) => TData | void, options?: RedisWriteOptions): Promise<Entity<TData>> {
    return (async () => {
      expectNonEmptyString(id, 'id');
      expectFunction(fn, 'fn');
      return (await this.readModifyWrite(id, 'id', options, (current) => {
        const draft = decodeData(current.data, false) as TData;
        const returned = fn(draft, snapshot<TData>(current));
        if (isThenable(returned)) {
          throw new ArbiterInputError('fn', 'Expected `fn` to return the next data synchronously, got a promise (compute first, then update)');
        }
        return { data: encodeData(returned === undefined ? draft : returned, 'data') };
      })) as Entity<TData>;
    })();
  }

  async put(address: string, value: unknown, options?: RedisWriteOptions): Promise<Entity> {
    const { id, path } = parseAddress(address);
    const copy = decodeData(encodeData(value, 'value'), false);
    return this.readModifyWrite(id, 'address', options, (current) => {
      const draft = decodeData(current.data, false);
      if (!writePath(draft, path, copy)) {
        throw new ArbiterInputError('address', `Expected \`address\` to name an existing field of entity ${id}, got ${kindOf(address)}`);
      }
      return { data: encodeData(draft, 'data') };
    });
  }

  async borrow(targetId: string, sourceId: string, sourceField: string, targetField: string, options?: RedisWriteOptions): Promise<Entity> {
    await this.existing(targetId, 'targetId');
    await this.existing(sourceId, 'sourceId');
    const from = parsePath(sourceField, 'sourceField');
    const to = parsePath(targetField, 'targetField');
    return this.readModifyWrite(targetId, 'targetId', options, async (current) => {
      const source = await this.existing(sourceId, 'sourceId');
      const read = readPath(decodeData(source.data, false), from);
      if (!read.found) {
        throw new ArbiterInputError('sourceField', `Expected \`sourceField\` to name an existing field of entity ${sourceId}, got ${kindOf(sourceField)}`);
      }
      const draft = decodeData(current.data, false);
      if (!writePath(draft, to, read.value)) {
        throw new ArbiterInputError('targetField', `Expected \`targetField\` to name an existing field of entity ${targetId}, got ${kindOf(targetField)}`);
      }
      // The source must still be at the version read when the target is written.
      return { data: encodeData(draft, 'data'), conditions: [sourceId, source.version] };
    });
  }

  async version(id: string, options?: RedisWriteOptions): Promise<Entity> {
    expectNonEmptyString(id, 'id');
    const { expected, fence } = this.readOptions(options);
    const reply = await this.mutate('write', fence, [id, expected ?? '', '']);
    return snapshot(parseEntry(String(reply[1])));
  }

  async history<TData = any>(id: string): Promise<readonly Entity<TData>[]> {
    expectNonEmptyString(id, 'id');
    if (!wellFormed(id)) throw new ArbiterInputError('id', `Expected \`id\` to be the id of an entity in the store, got ${kindOf(id)}`);
    const [exists, entries] = (await this.client
      .pipeline()
      .hexists(`${this.base}v`, id)
      .lrange(`${this.base}h:${id}`, 0, -1)
      .exec()) as [[Error | null, number], [Error | null, string[]]];
    if (exists[0] || entries[0]) throw exists[0] ?? entries[0];
    if (exists[1] !== 1) throw new ArbiterInputError('id', `Expected \`id\` to be the id of an entity in the store, got ${kindOf(id)}`);
    return entries[1].map((e) => snapshot<TData>(parseEntry(e)));
  }

  private async move(op: 'root' | 'attach' | 'detach', id: string, parentId: string, options: RedisWriteOptions | undefined): Promise<Entity> {
    const { expected, fence } = this.readOptions(options);
    const reply = await this.mutate('move', fence, [op, id, parentId, expected ?? '']);
    return snapshot(parseEntry(String(reply[1])));
  }

  async promoteToRoot(id: string, options?: RedisWriteOptions): Promise<Entity> {
    expectNonEmptyString(id, 'id');
    return this.move('root', id, '', options);
  }

  async attach(childId: string, parentId: string, options?: RedisWriteOptions): Promise<Entity> {
    expectNonEmptyString(childId, 'childId');
    expectNonEmptyString(parentId, 'parentId');
    return this.move('attach', childId, parentId, options);
  }

  async detach(id: string, options?: RedisWriteOptions): Promise<Entity> {
    expectNonEmptyString(id, 'id');
    return this.move('detach', id, '', options);
  }

  async delete(id: string, options?: RedisWriteOptions): Promise<boolean> {
    expectNonEmptyString(id, 'id');
    if (!wellFormed(id)) return false;
    const { expected, fence } = this.readOptions(options);
    const reply = await this.mutate('delete', fence, [id, expected ?? '']);
    return String(reply[1]) === '1';
  }

  async children(id: string): Promise<readonly string[]> {
    await this.existing(id, 'id');
    return this.client.zrange(`${this.base}k:${id}`, '0', '-1');
  }

  async query<TData = any>(predicate?: (entity: Entity<TData>) => boolean): Promise<Entity<TData>[]> {
    if (predicate !== undefined) expectFunction(predicate, 'predicate');
    const ids = await this.client.zrange(`${this.base}i`, '0', '-1');
    const out: Entity<TData>[] = [];
    for (let i = 0; i < ids.length; i += 500) {
      for (const e of await this.read(ids.slice(i, i + 500))) {
        if (!e) continue; // deleted between the two reads
        const s = snapshot<TData>(e);
        if (predicate === undefined || predicate(s)) out.push(s);
      }
    }
    return out;
  }
}
