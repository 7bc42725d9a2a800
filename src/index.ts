// Public entry of xstate-arbiter: everything a user imports comes from here.

// Arbiter
export { createArbiter } from './arbiter.js';
export type {
  Arbiter,
  InspectOptions,
  OperationInfo,
  OperationQuery,
  OperationsView,
  ResolvedArbiterOptions,
} from './arbiter.js';

// Backends: where windows are decided and targets held
export { memoryBackend } from './backend/memory.js';
export type { ArbiterBackend, DecisionRequest, TargetChannel, TargetListener, TargetSettings } from './backend/types.js';
export { MAX_TIMER_DELAY_MS } from './timers.js';

// Priorities and pure logic
export { Priority, defaultMaxRetries, resolveEffectivePriority } from './priority.js';
export type { PriorityName } from './priority.js';
export { arbitrate, canPreempt, compareCandidates, defaultSelectWinner, lostReason } from './arbitration.js';
export type { ArbitrationDecision, ArbitrationPolicy } from './arbitration.js';
export { backoffDelay, DEFAULT_RETRY } from './backoff.js';

// Errors
export { ArbiterInputError, ExpectedError, isExpectedError, OccConflictError, OperationRejectedError } from './errors.js';
export type { OperationRejectedInfo } from './errors.js';
export { OPTIONAL_FEATURES, OptionalDependencyError } from './optional.js';
export type { OptionalFeature } from './optional.js';

// Events
export { ARBITER_EVENT_TYPES, IsolatedObservable } from './events.js';
export type {
  ArbiterEvent,
  ArbiterEventBase,
  ArbiterEventType,
  ConflictDetectedEvent,
  ConflictResolvedEvent,
  CoordinatorStartedEvent,
  CoordinatorStoppedEvent,
  OperationCompletedEvent,
  OperationPreemptedEvent,
  OperationRejectedEvent,
  OperationRetryingEvent,
  OperationStagedEvent,
  OperationStartedEvent,
  OperationSubmittedEvent,
  OperationWonEvent,
} from './events.js';

// Store, OCC and withConflictResolution
export { createStore } from './store/memory.js';
export type { StoreOptions } from './store/memory.js';
export type { CreateOptions, Entity, EntityData, EntityStore, WriteOptions } from './store/types.js';
export { formatAddress, parseAddress, parsePath } from './store/address.js';
export type { EntityAddress } from './store/address.js';
export { monotonicNanos } from './store/time.js';
export { Promotion } from './store/promotion.js';
export type { OperationRecordData, PromotableOperation, PromotionErrorHandler, PromotionOptions, PromotionPhase } from './store/promotion.js';
export { occ } from './occ.js';
export type { OccOptions, OccResult } from './occ.js';
export { CONFLICT_RESOLUTION_MODES, entitiesIn, isEntity, WHEN_NO_TARGET, withConflictResolution } from './wrap.js';
export type { ConflictContext, ConflictResolutionMode, ConflictResolutionOptions, ConflictResolvedFunction, WhenNoTarget } from './wrap.js';

// Types
export { REJECTION_CODES } from './types.js';
export type { ArbiterOptions } from './options.js';
export type {
  ArbiterClock,
  ArbitrationContext,
  Candidate,
  CoreMetrics,
  ExecuteArgs,
  Holder,
  OperationHandle,
  OperationSpec,
  OperationStatus,
  RejectionCode,
  RetryOptions,
  SelectWinner,
  WhileExecuting,
} from './types.js';

// Machines and actors, for embedding in your own XState machines
export { operationMachine, isRetryable } from '../machines/operation.machine.js';
export type {
  ExecuteActorInput,
  OperationActorRef,
  OperationContext,
  OperationEvent,
  OperationInput,
  OperationMachine,
  OperationSnapshot,
} from '../machines/operation.machine.js';
export { coordinatorMachine, coordinatorSettings, OPERATION_ACTOR_ID } from '../machines/coordinator.machine.js';
export type {
  CoordinatorActorRef,
  CoordinatorContext,
  CoordinatorEvent,
  CoordinatorInput,
  CoordinatorMachine,
  CoordinatorOptions,
  CoordinatorSettings,
  CoordinatorPort,
  CoordinatorSnapshot,
  HeldOperation,
  OperationSubmission,
  StagedOperation,
  WindowReport,
} from '../machines/coordinator.machine.js';
export { coordinatorGroupLogic, Supervisor } from '../actors/supervisor.js';
export type { CoordinatorGroupSnapshot, CoordinatorStopReason, SupervisorOptions } from '../actors/supervisor.js';
export { eventObserverLogic, observersMachine } from '../actors/observers.js';
export type { EventObserver, EventObserverInput, EventObserverSnapshot, ObserversActorRef, ObserversInput } from '../actors/observers.js';
export { Ledger } from '../actors/ledger.js';
export type { LedgerCounts } from '../actors/ledger.js';

// Lifecycle (declarative extension; model-based test helpers live in 'xstate-arbiter/testing')
export { eventsOf, extendLifecycle, LIFECYCLE_RULES, rejectionCodesOf } from '../machines/lifecycle.js';
export type {
  EventTypeOf,
  Lifecycle,
  LifecycleAction,
  LifecycleArgs,
  LifecycleContext,
  LifecycleEvents,
  LifecycleGuard,
  LifecyclePatch,
  LifecycleRule,
  LifecycleStep,
  StatePatch,
  StepTransition,
  StepTransitions,
} from '../machines/lifecycle.js';
export { LifecycleError } from './errors.js';
export type { LifecycleViolation } from './errors.js';

// Observability: metrics, health, circuit breaker, cleanup, retried submissions, logging
export type {
  ArbiterMetrics,
  CleanupMetrics,
  CollectorEvent,
  HistogramSnapshot,
  PriorityCounts,
  ThroughputSnapshot,
  TypeMetrics,
} from '../actors/metrics.js';
export { BUILT_IN_CHECKS, DEFAULT_HEALTH_THRESHOLDS } from '../actors/health.js';
export type { BuiltInCheck, HealthCheckResult, HealthReport, HealthStatus } from '../actors/health.js';
export { breakerMachine, DEFAULT_BREAKER, executionOutcome } from '../machines/breaker.machine.js';
export type {
  BreakerActorRef,
  BreakerContext,
  BreakerEvent,
  BreakerInput,
  BreakerMachine,
  BreakerSnapshot,
  BreakerState,
} from '../machines/breaker.machine.js';
export type { BreakerControl, BreakerStatus } from '../actors/breaker.js';
export { DEFAULT_CLEANUP, isZombie } from '../actors/cleanup.js';
export type {
  BreakerOptions,
  CleanupOptions,
  CleanupStrategy,
  HealthCheckFn,
  HealthOptions,
  HealthThresholds,
  MetricsOptions,
  MetricsRegistry,
} from './observability.js';
export type { SubmitRetryOptions } from './retry.js';
export type { Logger, LogLevel } from './logger.js';
