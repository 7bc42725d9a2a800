// xstate-arbiter/redis: arbitration across processes on Redis (ioredis, an optional peer loaded
// through loadOptional: without it, importing this entry throws OptionalDependencyError with the
// `npm install ioredis` command). Node only.

// The backend
export { redisBackend, RedisBackend, RedisUnavailableError } from './backend.js';
export type { RedisBackendOptions, RedisCandidate } from './backend.js';
export type { WindowPolicy } from './node.js';

// Entity store
export { createRedisStore } from './store.js';
export type { Fence, RedisEntityStore, RedisStoreOptions, RedisWriteOptions } from './store.js';
export type { AsyncEntityStore } from '../store/types.js';
export { StaleFenceError } from './errors.js';
export type { StaleFenceReason } from './errors.js';

// This process on Redis: windows, decisions, leases
export { RedisNode, RedisTargetChannel } from './node.js';
export { RedisClock } from './clock.js';
export type { RedisNodeOptions, RedisTargetPort } from './node.js';
export type { PreemptMessage, RedisDecision, RedisLoser, RedisPreempted } from './messages.js';
export { lostReasonOf, preemptReasonOf } from './messages.js';

// Primitives (the target scripts behind typed, batched calls)
export { RedisTargets, TARGET_COMMANDS } from './targets.js';
export type { RedisTargetsOptions, StageCandidate, TargetState, WindowSettings } from './targets.js';
export type {
  CandidateOutcome,
  CloseResult,
  IdState,
  LeaseState,
  RedisCandidateRecord,
  RedisHolderRecord,
  RenewResult,
  StageResult,
  WindowDecision,
  WithdrawState,
} from './records.js';
export { RedisReplyError } from './records.js';
export { CommandBatcher } from './batcher.js';
export type { BatchStats, RedisClient } from './batcher.js';
export { openClient, redactUrl, waitUntilReady } from './connection.js';
export type { RedisConnectionOptions } from './connection.js';

// Keys
export { checkKeyPrefix, decodeTarget, encodeTarget, processChannel, targetKeys } from './keys.js';
export type { TargetKeys } from './keys.js';
