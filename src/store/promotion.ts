import { ArbiterInputError } from '../errors.js';
import { optionKeys, readOptions } from '../keys.js';
import type { OperationStatus, RejectionCode } from '../types.js';
import { kindOf } from '../validate.js';
import { createStore } from './memory.js';
import type { EntityStore } from './types.js';

/**
 * The data of the record a winning operation gets in the record store (`arbiter.recordStore`).
 *
 * @example
 * ```ts
 * const zombies = arbiter.recordStore!.query<OperationRecordData>((e) => e.data.status === 'rejected');
 * ```
 */
export interface OperationRecordData {
  readonly kind: 'operation';
  readonly operationId: string;
  readonly target: string;
  readonly type: string;
  readonly priority: number;
  /** `'executing'` from promotion until the operation is final, then `'completed'` or `'rejected'`. */
  readonly status: OperationStatus;
  /** Set when the operation ended rejected. */
  readonly code?: RejectionCode;
}

/**
 * What promotion reads from an operation.
 *
 * @example
 * ```ts
 * promotion.promote({ id: handle.id, target: handle.target, type: 'withdraw', priority: 5 });
 * ```
 */
export interface PromotableOperation {
  readonly id: string;
  readonly target: string;
  readonly type: string;
  readonly priority: number;
}

/**
 * Where a store failure happened: registering the winner, or recording its final status.
 *
 * @example
 * ```ts
 * createArbiter({ store, onStoreError: (err, phase: PromotionPhase, id) => log.warn({ err, phase, id }) });
 * ```
 */
export type PromotionPhase = 'promote' | 'settle';

/**
 * Reports a store failure during promotion; see `createArbiter({ onStoreError })`.
 *
 * @example
 * ```ts
 * const onStoreError: PromotionErrorHandler = (err, phase, id) => log.warn({ err, phase, id });
 * ```
 */
export type PromotionErrorHandler = (err: unknown, phase: PromotionPhase, operationId: string) => void;

/**
 * Winner-only promotion: registers an operation record in the record store when (and only when)
 * an operation wins, records its final status, and counts zombies (promoted, then rejected).
 *
 * A store that throws never stops an operation: a failed `promote` leaves the operation without a
 * `storeId` (it still executes and reaches its final state), a failed `settle` leaves the record's
 * last status; both are counted in `errors` and reported to `onError`.
 *
 * @example
 * ```ts
 * const promotion = new Promotion(createStore());
 * const storeId = promotion.promote({ id: 'op-1', target: 'a', type: 'write', priority: 5 });
 * promotion.settle(storeId!, 'op-1', 'rejected', 'preempted');
 * promotion.zombies; // 1
 * ```
 */
export class Promotion {
  /** Operation records that entered the record store. */
  promoted = 0;
  /** Promoted operations that ended rejected. */
  zombies = 0;
  /** Record store calls that threw. */
  errors = 0;

  /**
   * @param records where the operation records go (see {@link createPromotion} for the default)
   * @param onError told about every record store failure; its own failure is contained
   * @param owned whether `records` was created for the arbiter (no one else holds it)
   */
  constructor(
    readonly records: EntityStore,
    private readonly onError?: PromotionErrorHandler | undefined,
    readonly owned = false,
  ) {}

  /** @deprecated Since 0.2, removed in 0.3: the record store is {@link Promotion.records}. */
  get store(): EntityStore {
    return this.records;
  }

  /** Registers the winner; returns its record id, or `undefined` when the record store failed. */
  promote(op: PromotableOperation): string | undefined {
    const data: OperationRecordData = {
      kind: 'operation',
      operationId: op.id,
      target: op.target,
      type: op.type,
      priority: op.priority,
      status: 'executing',
    };
    try {
      const id = this.records.create(data).id;
      this.promoted++;
      return id;
    } catch (err) {
      this.fail(err, 'promote', op.id);
      return undefined;
    }
  }

  /** Records the final status of a promoted operation. */
  settle(storeId: string, operationId: string, status: 'completed' | 'rejected', code?: RejectionCode): void {
    if (status === 'rejected') this.zombies++;
    try {
      // The record may already be gone (a cleanup removed it): nothing to record then.
      if (!this.records.has(storeId)) return;
      this.records.update<OperationRecordData>(storeId, (d) => ({ ...d, status, ...(code !== undefined ? { code } : {}) }));
    } catch (err) {
      this.fail(err, 'settle', operationId);
    }
  }

  private fail(err: unknown, phase: PromotionPhase, operationId: string): void {
    this.errors++;
    try {
      this.onError?.(err, phase, operationId);
    } catch {
      // The error reporter itself failed; the operation must go on regardless.
    }
  }
}

/**
 * The store options of `createArbiter` that promotion reads.
 *
 * @example
 * ```ts
 * createPromotion({ store, recordStore: auditStore, onStoreError: (err) => log.warn(err) });
 * ```
 */
export interface PromotionOptions {
  /**
   * Your entity store (`createArbiter({ store })`, exposed as `arbiter.store`). Promotion never
   * writes to it unless you pass it as `recordStore` too; giving it turns records on.
   */
  store?: EntityStore;
  /**
   * Where operation records go (exposed as `arbiter.recordStore`):
   * - omitted: a new in-memory store of the arbiter's own when `store` is given, else no records;
   * - an `EntityStore`: that one (records on, with or without `store`); pass the same store as
   *   `store` to keep records beside your entities, as 0.1 did;
   * - `false`: no records at all, even with `store` (`metrics().promoted` stays 0).
   */
  recordStore?: EntityStore | false;
  /** Told when the record store throws; the operation goes on without a record. */
  onStoreError?: PromotionErrorHandler;
}

const PROMOTION_OPTION_KEYS = optionKeys<PromotionOptions>({ store: true, recordStore: true, onStoreError: true });
const STORE_METHODS = ['create', 'get', 'has', 'update', 'delete'] as const;

function expectStore(value: unknown, field: string): asserts value is EntityStore {
  const s = value as Record<string, unknown> | null;
  const missing = typeof s === 'object' && s !== null ? STORE_METHODS.filter((m) => typeof s[m] !== 'function') : STORE_METHODS;
  if (missing.length > 0) {
    throw new ArbiterInputError(
      field,
      `Expected \`${field}\` to be an EntityStore (see createStore), got ${typeof s === 'object' && s !== null ? `an object without ${missing.join(', ')}` : kindOf(value)}`,
    );
  }
}


/**
 * Validates the store options of `createArbiter` and builds its {@link Promotion}, or returns
 * `undefined` when there are no records to keep. The records go to `recordStore`, by default a
 * new in-memory store when `store` is given, so your entity store holds only your entities
 * (see {@link PromotionOptions}).
 *
 * The positional form `createPromotion(store, onStoreError)` is the 0.1 behaviour, records in
 * `store` itself; it is deprecated and goes in 0.3.
 *
 * @example
 * ```ts
 * const promotion = createPromotion({ store: options.store, recordStore: options.recordStore, onStoreError: options.onStoreError });
 * promotion?.records; // arbiter.recordStore
 * ```
 */
export function createPromotion(options: PromotionOptions): Promotion | undefined;
/** @deprecated Since 0.2, removed in 0.3: records go into `store` itself. Use `createPromotion({ store, recordStore })`. */
export function createPromotion(store: EntityStore | undefined, onError?: PromotionErrorHandler | undefined): Promotion | undefined;
export function createPromotion(
  ...args: [PromotionOptions] | [EntityStore | undefined, (PromotionErrorHandler | undefined)?]
): Promotion | undefined {
  const [first, legacyOnError] = args;
  // The 0.1 form passes a store (which has `create`) or two arguments; the options form, one object.
  const legacy =
    args.length >= 2 ||
    first === undefined ||
    (typeof first === 'object' && first !== null && typeof (first as { create?: unknown }).create === 'function');
  if (legacy) {
    // 0.1: the records share the user's store.
    if (first === undefined) return undefined;
    expectStore(first, 'store');
    if (legacyOnError !== undefined && typeof legacyOnError !== 'function') {
      throw new ArbiterInputError('onStoreError', `Expected \`onStoreError\` to be a function, got ${kindOf(legacyOnError)}`);
    }
    return new Promotion(first, legacyOnError);
  }
  const { store, recordStore, onStoreError } = readOptions(first, PROMOTION_OPTION_KEYS);
  if (store !== undefined) expectStore(store, 'store');
  if (recordStore !== undefined && recordStore !== false) expectStore(recordStore, 'recordStore');
  if (onStoreError !== undefined && typeof onStoreError !== 'function') {
    throw new ArbiterInputError('onStoreError', `Expected \`onStoreError\` to be a function, got ${kindOf(onStoreError)}`);
  }
  const onError = onStoreError as PromotionErrorHandler | undefined;
  if (recordStore === false) return undefined;
  if (recordStore !== undefined) return new Promotion(recordStore as EntityStore, onError);
  if (store === undefined) return undefined;
  return new Promotion(createStore(), onError, true);
}
