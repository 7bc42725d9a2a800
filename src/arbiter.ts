import { createActor, type AnyActorRef, type AnyStateMachine, type InspectionEvent, type Observer } from 'xstate';
import { CircuitBreaker, type BreakerControl } from '../actors/breaker.js';
import { FinalRecords } from '../actors/cleanup.js';
import { HealthMonitor, type HealthReport } from '../actors/health.js';
import { Ledger } from '../actors/ledger.js';
import { MetricsCollector, type ArbiterMetrics } from '../actors/metrics.js';
import { observersMachine, type EventObserver, type ObserversActorRef } from '../actors/observers.js';
import { Supervisor } from '../actors/supervisor.js';
import { eventsOf, rejectionCodesOf, type Lifecycle, type LifecycleEvents } from '../machines/lifecycle.js';
import { operationMachine, type OperationInput } from '../machines/operation.machine.js';
import { Admission, inheritPriority, readSpec, type SpecSnapshot } from './admission.js';
import type { ArbiterBackend } from './backend/types.js';
import { ArbiterInputError } from './errors.js';
import { EventBus, type ArbiterEvent, type IsolatedObservable } from './events.js';
import { newId } from './ids.js';
import { InspectionHub, inspectionTypes } from './inspection.js';
import { log, type Logger } from './logger.js';
import { resolveArbiterOptions, type ArbiterConfig, type ArbiterOptions, type ResolvedArbiterOptions } from './options.js';
import { defaultMaxRetries, Priority } from './priority.js';
import { Handle, OperationRecord, type OperationInfo, type OperationQuery, type OperationsView } from './records.js';
import { SubmitRetrier, type SubmitRetryOptions } from './retry.js';
import { Settlement } from './settlement.js';
import { createPromotion, type Promotion } from './store/promotion.js';
import type { EntityStore } from './store/types.js';
import { createTimers, type Timers } from './timers.js';
import { REJECTION_CODES, type OperationHandle, type OperationSpec, type RejectionCode } from './types.js';
import { optionKeys, readOptions } from './keys.js';
import { expectFunction, expectObject } from './validate.js';

export type { OperationInfo, OperationQuery, OperationsView } from './records.js';
export type { ResolvedArbiterOptions } from './options.js';

/**
 * Options of `arbiter.inspect`.
 *
 * @example
 * ```ts
 * // Inspect about one operation in ten (coordinators always), steps and events only.
 * arbiter.inspect(observer, { sampleOperation: () => Math.random() < 0.1, types: ['@xstate.snapshot', '@xstate.event'] });
 * ```
 */
export interface InspectOptions {
  /**
   * Asked once per new operation: whether its actor is inspected. Inspecting an actor makes XState
   * report every step it takes, so an inspector under load can bound its cost by sampling.
   * Coordinators and the operations live when `inspect` is called are always inspected.
   * @default every operation
   */
  sampleOperation?: () => boolean;
  /**
   * The inspection event types the observer gets, e.g. `['@xstate.actor', '@xstate.snapshot',
   * '@xstate.event']`: when no observer wants the others (microsteps and actions are about half of
   * what a coordinator reports), they are dropped before XState copies them for its observers.
   * @default every type
   */
  types?: readonly InspectionEvent['type'][];
}

/**
 * An arbiter: submit operations, watch `events$`, read `metrics()`, `drain()` and `stop()`.
 *
 * @example
 * ```ts
 * const arbiter = createArbiter();
 * const h = arbiter.submit({ target: 'a', execute: async () => 42 });
 * await h.result; // 42
 * await arbiter.stop();
 * ```
 */
export interface Arbiter<TEvent extends string = string> {
  /** Submits an operation; its handle's `send` takes the events of this arbiter's lifecycle (`TEvent`). */
  submit<TResult = unknown, TData = unknown>(spec: OperationSpec<TResult, TData>): OperationHandle<TResult, TEvent>;
  /** Typed event stream (RxJS). A throwing observer is isolated. */
  readonly events$: IsolatedObservable<ArbiterEvent>;
  /** The core counters plus the metrics actor's: histograms, throughput, `unaccounted` (always 0). */
  metrics(): ArbiterMetrics;
  /**
   * The metrics in the Prometheus text exposition format, from this arbiter's own prom-client
   * `Registry`.
   *
   * @example
   * ```ts
   * app.get('/metrics', async (_req, res) => res.type('text/plain').send(await arbiter.metricsText()));
   * ```
   */
  metricsText(): Promise<string>;
  /**
   * Runs the health checks: `healthy` when all pass, `degraded` when fewer than half fail,
   * `unhealthy` otherwise. Never throws: a check that throws is reported failed.
   *
   * @example
   * ```ts
   * const { status, failed } = arbiter.health();
   * ```
   */
  health(): HealthReport;
  /**
   * Submits, and resubmits with exponential backoff on the arbiter's clock while the operation
   * is rejected with one of `retryOn` (default `staging-full` and `circuit-open`; add
   * `lost-arbitration` to retry losers; see `SubmitRetryOptions`). Invalid input throws
   * `ArbiterInputError` here; otherwise it resolves with the result or rejects with the last
   * `OperationRejectedError`.
   *
   * @example
   * ```ts
   * const value = await arbiter.submitWithRetry(spec, { attempts: 5, baseDelayMs: 100 });
   * ```
   */
  submitWithRetry<TResult = unknown, TData = unknown>(
    spec: OperationSpec<TResult, TData>,
    options?: Partial<SubmitRetryOptions>,
  ): Promise<TResult>;
  /** The circuit breaker, when the `breaker` option is set. */
  readonly breaker: BreakerControl | undefined;
  readonly operations: OperationsView;
  /**
   * Resolves when nothing is in flight: every operation submitted so far (and since) is final.
   * Named like p-queue's `onIdle()`; it removes nothing (BullMQ's `drain` deletes jobs).
   *
   * @example
   * ```ts
   * arbiter.submit(spec);
   * await arbiter.onIdle(); // every operation has completed or been rejected
   * ```
   */
  onIdle(): Promise<void>;
  /** @deprecated Since 0.2, removed in 0.3: the 0.1 name of {@link Arbiter.onIdle}. */
  drain(): Promise<void>;
  /**
   * Rejects everything not final with `shutdown`, stops every actor and timer, then closes the
   * backend (its connections: one backend per arbiter). Idempotent.
   */
  stop(): Promise<void>;
  /** The arbiter's clock, in monotonic milliseconds. */
  now(): number;
  /**
   * Every rejection code this arbiter can give: the built-in `REJECTION_CODES`, then the constant
   * codes of its lifecycle (`extendLifecycle`'s `code: 'denied'`, …). Each is in `metrics()` and the
   * Prometheus text from the start, and `submitWithRetry`'s `retryOn` accepts them.
   *
   * @example
   * ```ts
   * createArbiter({ lifecycle: approval }).rejectionCodes.includes('denied'); // true
   * ```
   */
  readonly rejectionCodes: readonly string[];
  readonly options: ResolvedArbiterOptions;
  readonly stopped: boolean;
  /** Your entity store (`options.store`), if any: the arbiter never writes to it. */
  readonly store: EntityStore | undefined;
  /**
   * Where winners' operation records are (`options.recordStore`, or a store of the arbiter's own
   * when `options.store` is given), if any.
   *
   * @example
   * ```ts
   * arbiter.recordStore?.get(arbiter.operations.get(id)!.storeId!)?.data; // { kind: 'operation', … }
   * ```
   */
  readonly recordStore: EntityStore | undefined;
  /**
   * Adds an XState inspection observer after creation: it receives the inspection events of every
   * actor the arbiter creates from now on, and of the live ones (each announced first with an
   * `@xstate.actor` event). Without any observer no actor is inspected, so this costs nothing
   * until used. A throwing observer is isolated like an `events$` observer.
   *
   * @example
   * ```ts
   * const sub = arbiter.inspect((e) => {
   *   if (e.type === '@xstate.snapshot') console.log(e.actorRef.sessionId, e.snapshot);
   * });
   * sub.unsubscribe();
   * ```
   */
  inspect(
    observer: Observer<InspectionEvent> | ((event: InspectionEvent) => void),
    options?: InspectOptions,
  ): { unsubscribe(): void };
  /**
   * Resolves once the backend is usable (at once in memory); rejects with a clear error when it
   * cannot be reached.
   *
   * @example
   * ```ts
   * await arbiter.ready();
   * ```
   */
  ready(): Promise<void>;
  /** Where windows are decided (`memory` unless the `backend` option says otherwise). */
  readonly backend: ArbiterBackend;
  /**
   * The actor of the arbiter's observers (`ledger`, `metrics`, `health`, `cleanup`, `breaker`):
   * each a child fed by `events$`.
   */
  readonly observers: AnyActorRef;
}

const QUERY_KEYS = optionKeys<OperationQuery>({ status: true, target: true, code: true });

function filterMatch(r: OperationRecord | OperationInfo, f: OperationQuery): boolean {
  return (
    (f.status === undefined || r.status === f.status) &&
    (f.target === undefined || r.target === f.target) &&
    (f.code === undefined || r.code === f.code)
  );
}

/** The observers of one arbiter, each fed by `events$` from its own actor. */
interface Observers {
  readonly ledger: Ledger;
  readonly metrics: MetricsCollector;
  readonly health: HealthMonitor;
  readonly cleanup: FinalRecords<OperationRecord, OperationInfo>;
  readonly breaker: CircuitBreaker | undefined;
}

/** `createArbiter`'s engine: a class whose parts and methods have names. @internal */
class ArbiterImpl implements Arbiter {
  readonly options: ResolvedArbiterOptions;
  readonly backend: ArbiterBackend;
  readonly store: EntityStore | undefined;
  readonly recordStore: EntityStore | undefined;
  readonly events$: IsolatedObservable<ArbiterEvent>;
  readonly breaker: BreakerControl | undefined;
  readonly observers: ObserversActorRef;
  readonly operations: OperationsView;
  readonly rejectionCodes: readonly string[];
  private readonly timers: Timers;
  private readonly bus: EventBus;
  private readonly hub: InspectionHub;
  private readonly live = new Map<string, OperationRecord>();
  private readonly supervisor: Supervisor;
  private readonly settlement: Settlement;
  private readonly admission: Admission;
  private readonly promotion: Promotion | undefined;
  private readonly parts: Observers;
  private readonly retrier: SubmitRetrier;
  private readonly lifecycle: AnyStateMachine;
  private readonly random: () => number;
  private readonly logger: Logger | undefined;
  private readonly clockOption: ArbiterConfig['clock'];
  private readonly healthRecheckMs: number;
  private observerErrors = 0;
  private isStopped = false;
  /** Submissions so far: the last tie-breaker between candidates. */
  private seq = 0;

  constructor(config: ArbiterConfig) {
    this.options = config.resolved;
    this.backend = config.backend;
    this.store = config.store;
    this.lifecycle = config.lifecycle ?? operationMachine;
    this.rejectionCodes = Object.freeze([...new Set<string>([...REJECTION_CODES, ...rejectionCodesOf(this.lifecycle)])]);
    this.random = config.random;
    this.logger = config.logger;
    this.clockOption = config.clock;
    this.timers = createTimers(config.clock);
    this.healthRecheckMs = config.health.recheckMs;
    const onObserverError = (err: unknown) => this.observerFailed(err, config.onObserverError);
    this.hub = new InspectionHub(onObserverError);
    if (config.inspect) this.hub.add(config.inspect);
    this.bus = new EventBus(() => this.timers.now(), onObserverError);
    this.events$ = this.bus.events$;
    this.promotion = createPromotion({
      ...(config.store !== undefined ? { store: config.store } : {}),
      ...(config.recordStore !== undefined ? { recordStore: config.recordStore } : {}),
      ...(config.onStoreError !== undefined ? { onStoreError: config.onStoreError } : {}),
    });
    this.recordStore = this.promotion?.records;
    this.supervisor = this.createSupervisor(config);
    this.settlement = new Settlement({
      bus: this.bus,
      timers: this.timers,
      supervisor: () => this.supervisor,
      promotion: this.promotion,
      live: this.live,
      isFailure: config.isFailure,
      events: eventsOf(this.lifecycle),
    });
    this.parts = this.createObservers(config);
    this.breaker = this.parts.breaker;
    this.observers = this.startObservers();
    this.admission = new Admission(
      {
        stopped: () => this.isStopped,
        ...(this.parts.breaker
          ? { breakerAllows: (id: string) => this.parts.breaker!.allow(id), breakerReason: () => this.parts.breaker!.reason() }
          : {}),
        ...(config.health.refuseWhenUnhealthy ? { unhealthy: () => this.healthGate() } : {}),
        undecided: () => this.supervisor.totalUndecided,
        undecidedOn: (target) => this.supervisor.undecidedOn(target),
      },
      this.options.maxStaged,
      this.options.maxStagedPerTarget,
    );
    this.retrier = new SubmitRetrier({
      submit: (spec) => this.submit(spec),
      setTimer: (fn, ms) => this.timers.set(fn, ms),
      clearTimer: (h) => this.timers.clear(h),
      random: this.random,
      logger: this.logger,
      codes: this.rejectionCodes,
    });
    this.operations = this.createOperationsView();
  }

  get stopped(): boolean {
    return this.isStopped;
  }

  now(): number {
    return this.timers.now();
  }

  ready(): Promise<void> {
    return this.backend.ready();
  }

  submit<TResult, TData>(spec: OperationSpec<TResult, TData>): OperationHandle<TResult> {
    const s = readSpec(spec);
    const record = this.register(s);
    const handle = new Handle<TResult>(record);
    this.bus.emit({
      type: 'operation.submitted',
      target: record.target,
      operationId: record.id,
      operationType: record.type,
      priority: record.priority,
      effectivePriority: record.effectivePriority,
      ...(record.parentId !== undefined ? { parentId: record.parentId } : {}),
    });
    if (s.timeoutMs !== undefined) this.armTimeout(record, s.timeoutMs);
    const refusal = this.admission.refusal(record.id, record.target);
    if (refusal) this.refuse(record, refusal.code, refusal.reason);
    else this.route(record);
    return handle;
  }

  submitWithRetry<TResult, TData>(spec: OperationSpec<TResult, TData>, options?: Partial<SubmitRetryOptions>): Promise<TResult> {
    // Read once: every resubmission uses this copy, never the caller's object again.
    const s = readSpec(spec);
    return this.retrier.run({ ...s } as OperationSpec<TResult, TData>, options);
  }

  metrics(): ArbiterMetrics {
    return this.parts.metrics.snapshot();
  }

  metricsText(): Promise<string> {
    return this.parts.metrics.text();
  }

  health(): HealthReport {
    return this.parts.health.check();
  }

  onIdle(): Promise<void> {
    return this.settlement.drained();
  }

  drain(): Promise<void> {
    return this.settlement.drained();
  }

  async stop(): Promise<void> {
    if (this.isStopped) return;
    this.isStopped = true;
    this.retrier.stop();
    for (const record of [...this.live.values()]) {
      record.deliver({ type: 'arbiter.shutdown' });
    }
    // Coordinators end what is left (an operation whose lifecycle ignores shutdown is stopped).
    this.supervisor.stop();
    for (const record of [...this.live.values()]) {
      if (record.actor !== undefined && record.actor.getSnapshot().status === 'active' && !(record.actor as { _parent?: unknown })._parent) record.actor.stop();
      this.settlement.refuse(record, 'shutdown', 'the arbiter was stopped');
    }
    this.parts.breaker?.stop();
    this.observers.stop();
    this.bus.complete();
    // The arbiter owns its backend: its connections and timers end with it (memory: nothing to do).
    try {
      await this.backend.close();
    } catch (err) {
      log(this.logger, 'warn', { err }, `arbiter could not close its ${String(this.backend.kind)} backend cleanly`);
    }
  }

  inspect(
    observer: Observer<InspectionEvent> | ((event: InspectionEvent) => void),
    options?: InspectOptions,
  ): { unsubscribe(): void } {
    if (typeof observer !== 'function') expectObject(observer, 'observer');
    let sample: (() => boolean) | undefined;
    let types: string[] | undefined;
    if (options !== undefined) {
      const o = readOptions(options, ['sampleOperation', 'types'] as const);
      if (o.sampleOperation !== undefined) {
        expectFunction(o.sampleOperation, 'options.sampleOperation');
        const wanted = o.sampleOperation as () => unknown;
        sample = () => wanted() === true;
      }
      if (o.types !== undefined) types = inspectionTypes(o.types);
    }
    const o: Observer<InspectionEvent> =
      typeof observer === 'function' ? { next: observer } : { next: (e) => (observer as Observer<InspectionEvent>).next?.(e) };
    const remove = this.hub.add(o, sample, types);
    this.hub.attach(this.observers);
    this.hub.announce(o, this.observers, this.observers);
    const children = (this.observers.getSnapshot() as { children?: Record<string, AnyActorRef | undefined> }).children ?? {};
    for (const child of Object.values(children)) if (child) this.hub.announce(o, child, this.observers);
    for (const root of this.supervisor.systems()) {
      this.hub.attach(root);
      this.hub.announce(o, root, root);
    }
    for (const c of this.supervisor.values()) this.hub.announce(o, c, rootOf(c));
    for (const record of this.live.values()) {
      const actor = record.actor;
      if (actor === undefined) continue;
      const root = rootOf(actor);
      this.hub.attach(root);
      this.hub.announce(o, actor, root);
      const kids = (actor.getSnapshot() as { children?: Record<string, AnyActorRef | undefined> }).children;
      for (const child of Object.values(kids ?? {})) if (child) this.hub.announce(o, child, root);
    }
    return { unsubscribe: remove };
  }

  // --- parts ---------------------------------------------------------------------------------

  private createSupervisor(config: ArbiterConfig): Supervisor {
    const o = this.options;
    return new Supervisor({
      coordinator: {
        windowMs: o.windowMs,
        gracePeriodMs: o.gracePeriodMs,
        whileExecuting: o.whileExecuting,
        idleMs: o.idleCoordinatorMs,
        // Admission already bounds each target; the coordinator's own bound is a backstop.
        maxStagedPerTarget: Number.MAX_SAFE_INTEGER,
        selectWinner: o.selectWinner,
        lifecycle: this.lifecycle,
        retry: o.retry,
        random: this.random,
        port: {
          now: () => this.timers.now(),
          conflict: (r) => this.settlement.conflict(r),
          won: (w) => this.settlement.won(w),
          preempted: (h, by, reason) => this.settlement.preempted(h, by, reason),
          requeued: (l, w, n) => this.settlement.requeued(l, w, n),
          protected: (h, by, age, grace) => this.settlement.protected(h, by, age, grace),
          timedOut: (t, cs, timeout, d) => this.settlement.timedOut(t, cs, timeout, d),
        },
        arbitrationTimeoutMs: config.arbitrationTimeoutMs,
        backend: config.backend,
      },
      clock: config.clock,
      inspect: () => (this.hub.active ? this.hub : undefined),
      onCoordinatorStarted: (target) => this.bus.emit({ type: 'coordinator.started', target }),
      onCoordinatorStopped: (target, reason) => this.bus.emit({ type: 'coordinator.stopped', target, reason }),
      onCoordinatorFailed: (target, error, ended) => {
        log(this.logger, 'error', { target, err: error }, 'arbiter coordinator failed; its staged operations were rejected');
        this.bus.emit({ type: 'coordinator.failed', target, reason: error, rejected: ended });
      },
    });
  }

  private createObservers(config: ArbiterConfig): Observers {
    const ledger = new Ledger(this.rejectionCodes);
    const logger = this.logger;
    const promotion = this.promotion;
    const cleanup = new FinalRecords<OperationRecord, OperationInfo>(config.cleanup, {
      now: () => this.timers.now(),
      setTimer: (fn, ms) => this.timers.set(fn, ms),
      clearTimer: (h) => this.timers.clear(h),
      toRecord: (r) => r.info(),
      // A zombie's record (it won, then ended rejected) leaves with its audit record; in a record
      // store of the arbiter's own, every record does (that store holds the audit trail only).
      dropZombie: (r, reason) => {
        if (promotion === undefined || r.storeId === undefined) return;
        const removed = this.removeRecord(r.id, r.target, r.storeId);
        if (removed) log(logger, 'debug', { operationId: r.id, storeId: r.storeId, reason }, 'arbiter removed a zombie operation record');
      },
      dropRecord: (r) => {
        if (promotion === undefined || !promotion.owned || r.storeId === undefined) return;
        this.removeRecord(r.id, r.target, r.storeId);
      },
      onFailure: (err, r) => {
        const error = err instanceof Error ? err.message : String(err);
        // A failed drop was already reported by removeRecord; a failed sweep has no operation.
        if (r === undefined) this.bus.emitSoon({ type: 'cleanup.failed', target: '', durationMs: 0, error });
      },
      logger,
    });
    const metrics = new MetricsCollector(
      config.metrics,
      {
        core: () => ({
          ...ledger.counts(),
          inFlight: this.live.size,
          observerErrors: this.observerErrors,
          promoted: promotion?.promoted ?? 0,
          zombies: promotion?.zombies ?? 0,
          storeErrors: promotion?.errors ?? 0,
        }),
        stagedByTarget: () => ledger.stagedByTarget(),
        retained: () => cleanup.size,
        now: () => this.timers.now(),
      },
      (err) => log(logger, 'error', { err }, 'arbiter metrics actor failed'),
    );
    const health = new HealthMonitor(config.health, {
      now: () => this.timers.now(),
      stopped: () => this.isStopped,
      staged: () => ledger.counts().staged,
      resolutionP99Ms: () => {
        const h = metrics.histogram('resolutionTimeUs');
        return h.count === 0 ? undefined : h.p99 / 1000;
      },
      executionSuccessRate: () => metrics.rates().executionSuccessRate,
      conflictLossRate: () => metrics.rates().conflictLossRate,
      zombieCount: () => cleanup.zombieCount,
      oldestZombieAt: () => cleanup.oldestZombieAt(),
      orphanedTargets: () => this.orphanedTargets(ledger),
    });
    const breaker = config.breaker ? new CircuitBreaker({ options: config.breaker, clock: config.clock, logger }) : undefined;
    return { ledger, metrics, health, cleanup, breaker };
  }

  private startObservers(): ObserversActorRef {
    const { ledger, metrics, health, cleanup, breaker } = this.parts;
    const settlement = this.settlement;
    const observers: Record<string, EventObserver> = {
      ledger,
      metrics: {
        observe: (e) => metrics.observe(e),
        summary: () => {
          const m = metrics.snapshot();
          return { started: m.started, retries: m.retries, preemptions: m.preemptions, throughput: m.throughput, metricsErrors: m.metricsErrors };
        },
      },
      // Health is computed when asked, from the other observers and what it watches itself.
      health: { observe: (e) => health.observe(e), summary: () => ({ status: health.check().status }) },
      cleanup: {
        observe(e) {
          if (e.type !== 'operation.completed' && e.type !== 'operation.rejected') return;
          const record = settlement.settling;
          if (record !== undefined && record.id === e.operationId) cleanup.add(record);
        },
        summary: () => ({ strategy: cleanup.options.strategy, retained: cleanup.size, zombies: cleanup.zombieCount, cleaned: cleanup.cleaned, failures: cleanup.failures }),
        stop: () => cleanup.stop(),
      },
    };
    if (breaker) observers['breaker'] = { observe: (e) => breaker.observe(e), summary: () => breaker.status() };
    const inspect = this.hub.active ? { inspect: this.hub } : {};
    return createActor(observersMachine, {
      input: { events$: this.bus.events$, observers },
      ...(this.clockOption ? { clock: this.clockOption as never } : {}),
      ...inspect,
    }).start();
  }

  private createOperationsView(): OperationsView {
    const live = this.live;
    const cleanup = this.parts.cleanup;
    return {
      get(id) {
        const r = live.get(id);
        return r ? r.info() : cleanup.get(id);
      },
      query(filter) {
        // Read once; a misspelt field (`stauts`) would otherwise match everything.
        const f = readOptions(filter, QUERY_KEYS, 'filter') as OperationQuery;
        const out: OperationInfo[] = [];
        for (const r of live.values()) if (filterMatch(r, f)) out.push(r.info());
        for (const r of cleanup.values()) if (filterMatch(r, f)) out.push(r);
        return out;
      },
      get size() {
        return live.size + cleanup.size;
      },
    };
  }

  // --- submission ----------------------------------------------------------------------------

  /** Builds the record of a valid spec; throws `ArbiterInputError` for an id or parent problem. */
  private register(s: SpecSnapshot): OperationRecord {
    const id = s.id ?? newId();
    if (s.id !== undefined && this.lookup(id)) {
      throw new ArbiterInputError('id', `Expected \`id\` to be unique, got ${JSON.stringify(id)} which is already known`);
    }
    const priority = s.priority ?? Priority.NORMAL;
    const effectivePriority = inheritPriority(priority, s.parentId, (pid) => this.lookup(pid));
    const input: OperationInput = {
      id,
      target: s.target,
      type: s.type ?? 'operation',
      priority,
      effectivePriority,
      seq: ++this.seq,
      submittedAt: this.timers.now(),
      maxRetries: s.maxRetries ?? defaultMaxRetries(effectivePriority),
      retry: this.options.retry,
      execute: s.execute,
      retryable: s.retryable,
      random: this.random,
      parentId: s.parentId,
      data: s.data,
      ...(s.onLose === 'retry' ? { onLose: 'retry' as const, maxLosses: s.maxLosses } : {}),
    };
    const record = new OperationRecord(input, this.settlement);
    this.live.set(id, record);
    return record;
  }

  private lookup(id: string): OperationRecord | OperationInfo | undefined {
    return this.live.get(id) ?? this.parts.cleanup.get(id);
  }

  private route(record: OperationRecord): void {
    record.admitted = true;
    this.supervisor.admit(record.target);
    if (this.hub.active && !this.hub.follows()) this.hub.withoutFollowing(() => this.supervisor.route(record.target, record));
    else this.supervisor.route(record.target, record);
  }

  /**
   * An operation refused before any coordinator (stopped, circuit open, staging full) still gets
   * its lifecycle: a root actor of its own, rejected from `pending` with the refusal's code.
   */
  private refuse(record: OperationRecord, code: RejectionCode, reason: string): void {
    const inspect = this.hub.active && this.hub.follows() ? { inspect: this.hub } : {};
    const actor = createActor(this.lifecycle, {
      input: record.input,
      ...(this.clockOption ? { clock: this.clockOption as never } : {}),
      ...inspect,
    });
    record.created(actor);
    actor.subscribe(record);
    actor.start();
    actor.send({ type: 'arbiter.reject', code, reason });
    if (record.open) {
      // A lifecycle that does not end on arbiter.reject from pending is ended here.
      actor.stop();
      this.settlement.refuse(record, code, reason);
    }
  }

  /** Deletes an operation record from the record store, timed, with its cleanup event. */
  private removeRecord(operationId: string, target: string, storeId: string): boolean {
    const t0 = globalThis.performance.now();
    try {
      const removed = this.promotion!.records.delete(storeId);
      this.bus.emitSoon({ type: 'cleanup.completed', target, operationId, durationMs: globalThis.performance.now() - t0 });
      return removed;
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err);
      this.bus.emitSoon({ type: 'cleanup.failed', target, operationId, durationMs: globalThis.performance.now() - t0, error });
      throw err;
    }
  }

  private armTimeout(record: OperationRecord, ms: number): void {
    record.timer = this.timers.set(() => {
      record.timer = undefined;
      record.deliver({ type: 'arbiter.timeout' });
    }, ms);
  }

  /** The last health verdict while it is fresh (`health.recheckMs`), else a new one. */
  private gateVerdict: { at: number; reason: string | undefined } | undefined;

  private healthGate(): string | undefined {
    const now = this.timers.now();
    const last = this.gateVerdict;
    if (last !== undefined && now - last.at < this.healthRecheckMs) return last.reason;
    const report = this.parts.health.check();
    const reason = report.status === 'unhealthy' ? `health is unhealthy (failed: ${report.failed.join(', ')}); new submissions are refused` : undefined;
    this.gateVerdict = { at: now, reason };
    return reason;
  }

  private orphanedTargets(ledger: Ledger): string[] {
    const orphaned: string[] = [];
    for (const [target] of ledger.stagedByTarget()) {
      if (this.supervisor.get(target)?.getSnapshot().status !== 'active') orphaned.push(target);
    }
    return orphaned;
  }

  private observerFailed(err: unknown, report: ((err: unknown) => void) | undefined): void {
    this.observerErrors++;
    try {
      report?.(err);
    } catch {
      // The error reporter itself failed; there is nobody left to tell.
    }
  }
}

function noop(): void {}

/** The root actor of an actor's system (the actor itself when it is a root). */
function rootOf(actor: AnyActorRef): AnyActorRef {
  let a = actor as AnyActorRef & { _parent?: AnyActorRef };
  while (a._parent !== undefined) a = a._parent as AnyActorRef & { _parent?: AnyActorRef };
  return a;
}

/**
 * Creates an arbiter. Every option is optional; bad options throw `ArbiterInputError`.
 *
 * Each target gets a coordinator actor (`coordinatorMachine`) that creates the target's
 * operations as its own child actors (`operationMachine`, or `options.lifecycle`), collects a
 * window of candidates and has it decided (by the pure `arbitrate()` in this process, or by the
 * `backend`). Metrics, health, cleanup and the breaker are actors fed by `events$`.
 *
 * The handles' `send` is typed from `options.lifecycle` (`LifecycleEvents`): the events of a
 * lifecycle from `extendLifecycle`, none without a lifecycle, any string for an untyped machine.
 *
 * @example
 * ```ts
 * import { createArbiter, Priority } from 'xstate-arbiter';
 * const arbiter = createArbiter({ windowMs: 50 });
 * const low = arbiter.submit({ target: 'doc-1', priority: Priority.LOW, execute: async () => 'low' });
 * const high = arbiter.submit({ target: 'doc-1', priority: Priority.HIGH, execute: async () => 'high' });
 * await high.result;                         // 'high'
 * await low.result.catch((e) => e.code);      // 'lost-arbitration'
 * await arbiter.stop();
 * ```
 * @see OperationSpec
 * @see ArbiterOptions
 */
export function createArbiter<TLifecycle extends AnyStateMachine = Lifecycle<never>>(
  options: ArbiterOptions<TLifecycle> = {},
): Arbiter<LifecycleEvents<TLifecycle>> {
  return new ArbiterImpl(resolveArbiterOptions(options));
}
