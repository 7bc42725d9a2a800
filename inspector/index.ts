// Public entry of `xstate-arbiter/inspector`: the live inspector server (Node only; the core stays
// browser-safe). Without the optional peer `@dagrejs/dagre`, importing it throws an
// `OptionalDependencyError` (exported by the core) with the install command; `ws` is loaded when a
// server starts.

// Server
export { attachInspector, InspectorListenError, startInspector } from './server.js';
export type { InspectorOptions, InspectorServer, InspectorStats } from './server.js';

// Data path, for custom transports and tests
export { InspectorFeed, INSPECT_PROTOCOL_VERSION } from './feed.js';
export type {
  ActorMessage,
  AppInfo,
  AppMessage,
  ArbiterEventMessage,
  EventMessage,
  FeedMessage,
  InspectionMessage,
  InspectorFeedOptions,
  JsonSnapshot,
  LiveMessage,
  MachineMessage,
  SnapshotMessage,
} from './feed.js';
export { AppHub } from './apps.js';
export type { AppConnection, AppHubOptions } from './apps.js';
export { MetricsSampler } from './metrics.js';
export type { MetricsSample } from './metrics.js';
export { toJsonSafe } from './safe-json.js';
export type { JsonSafeLimits } from './safe-json.js';
export { allowedHostnames, checkRequest } from './security.js';

// Statecharts
export { activeStateIds, statechartOf } from './graph.js';
export type { Statechart, StatechartEdge, StatechartNode } from './graph.js';

// Live scenario (`npm run inspect`, `arbiter inspect`)
export { runLiveScenario } from './scenario.js';
export type { LiveScenarioOptions, LiveScenarioResult } from './scenario.js';
