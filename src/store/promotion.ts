import { ArbiterInputError } from '../errors.js';
import type { OperationStatus, RejectionCode } from '../types.js';
import type { EntityStore } from './types.js';

/**
 * The data of the record a winning operation gets in the store.
 *
 * @example
 * ```ts
 * const zombies = store.query<OperationRecordData>((e) => e.data.kind === 'operation' && e.data.status === 'rejected');
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
 * Winner-only promotion: registers an operation record in the store when (and only when) an
 * operation wins, records its final status, and counts zombies (promoted, then rejected).
 *
 * A store that throws never stops an operation: a failed `promote` leaves the operation without a
 * `storeId` (it still executes and reaches its final state), a failed `settle` leaves the record's
 * last status; both are counted in `errors` and reported to `onError`.
 *
 * @example
 * ```ts
 * const promotion = new Promotion(createStore());
 * const storeId = promotion.promote({ id: 'op-1', target: 'a', type: 'write', priority: 5 });
 * promotion.settle(storeId, 'rejected', 'preempted');
 * promotion.zombies; // 1
 * ```
 */
export class Promotion {
  /** Operation records that entered the store. */
  promoted = 0;
  /** Promoted operations that ended rejected. */
  zombies = 0;
  /** Store calls that threw. */
  errors = 0;

  constructor(
    readonly store: EntityStore,
    private readonly onError?: ((err: unknown, phase: PromotionPhase, operationId: string) => void) | undefined,
  ) {}

  /** Registers the winner; returns its store id, or `undefined` when the store failed. */
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
      const id = this.store.create(data).id;
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
      if (!this.store.has(storeId)) return;
      this.store.update<OperationRecordData>(storeId, (d) => ({ ...d, status, ...(code !== undefined ? { code } : {}) }));
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
 * Validates the `store` option of `createArbiter` and builds its {@link Promotion}, or returns
 * `undefined` without a store.
 *
 * @example
 * ```ts
 * const promotion = createPromotion(options.store, options.onStoreError);
 * ```
 */
export function createPromotion(
  store: EntityStore | undefined,
  onError?: ((err: unknown, phase: PromotionPhase, operationId: string) => void) | undefined,
): Promotion | undefined {
  if (store === undefined) return undefined;
  const s = store as unknown as Record<string, unknown> | null;
  if (!s || typeof s !== 'object' || ['create', 'update', 'has'].some((m) => typeof s[m] !== 'function')) {
    throw new ArbiterInputError('store', 'Expected `store` to be an EntityStore (see createStore), got ' + (s === null ? 'null' : typeof s));
  }
  if (onError !== undefined && typeof onError !== 'function') {
    throw new ArbiterInputError('onStoreError', `Expected \`onStoreError\` to be a function, got ${typeof onError}`);
  }
  return new Promotion(store, onError);
}
