import { arbitrate, type ArbitrationDecision } from '../arbitration.js';
import type { ArbiterBackend, DecisionRequest, TargetChannel } from './types.js';

// In one process the coordinator's own maps are the whole truth: staging, withdrawing and
// releasing need no bookkeeping here, and a window is decided on the spot by the pure rules.
const channel: TargetChannel = {
  stage() {},
  withdraw() {},
  decide(request: DecisionRequest): ArbitrationDecision {
    return arbitrate(request.candidates, request.holders, request.policy, request.ctx);
  },
  release() {},
  dispose() {},
};

const backend: ArbiterBackend = Object.freeze({
  kind: 'memory',
  decidesLocally: true,
  ready: () => Promise.resolve(),
  open: () => channel,
  close: () => Promise.resolve(),
});

/**
 * The in-process backend, the default: every window is decided in this process by
 * `arbitrate()`, synchronously, when its coordinator's timer fires. Stateless, so one instance
 * serves every arbiter.
 *
 * @example
 * ```ts
 * import { createArbiter, memoryBackend } from 'xstate-arbiter';
 * const arbiter = createArbiter({ backend: memoryBackend() }); // same as createArbiter()
 * ```
 */
export function memoryBackend(): ArbiterBackend {
  return backend;
}
