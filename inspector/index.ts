// Public entry of `xstate-arbiter/inspector`: the live inspector server (Node only; the core stays browser-safe).

// Server
export { attachInspector, InspectorListenError } from './server.js';
export type { InspectorOptions, InspectorServer, InspectorStats } from './server.js';

// Data path, for custom transports and tests
export { InspectorFeed } from './feed.js';
export type { ArbiterEventMessage, FeedMessage, InspectorFeedOptions, LiveMessage, MachineMessage } from './feed.js';
export { MetricsSampler } from './metrics.js';
export type { MetricsSample } from './metrics.js';
export { toJsonSafe } from './safe-json.js';
export type { JsonSafeLimits } from './safe-json.js';

// Statecharts
export { activeStateIds, statechartOf } from './graph.js';
export type { Statechart, StatechartEdge, StatechartNode } from './graph.js';

// Live scenario (`npm run inspect`, `arbiter inspect`)
export { runLiveScenario } from './scenario.js';
export type { LiveScenarioOptions, LiveScenarioResult } from './scenario.js';
