import test from 'ava';
import { SimulatedClock } from 'xstate';
import { createArbiter, memoryBackend, type Arbiter } from '../../src/index.js';
import { advance } from '../helpers/index.js';
import { backendSuite } from './suite.js';

backendSuite(test, 'memory', async () => {
  const clock = new SimulatedClock();
  const arbiters: Arbiter[] = [];
  return {
    arbiter: async (options = {}) => {
      const arbiter = createArbiter({ clock, random: () => 0.5, backend: memoryBackend(), ...options });
      await arbiter.ready();
      arbiters.push(arbiter);
      return arbiter;
    },
    advance: (ms) => advance(clock, ms),
    dispose: async () => {
      for (const a of arbiters) await a.stop();
    },
  };
});

test('memoryBackend() - decides in this process, is ready at once, and is shared by every arbiter', async (t) => {
  const backend = memoryBackend();
  t.is(backend.kind, 'memory');
  t.true(backend.decidesLocally);
  await t.notThrowsAsync(backend.ready());
  t.is(memoryBackend(), backend);
  const arbiter = createArbiter();
  t.is(arbiter.backend, backend, 'the default');
  await arbiter.ready();
  await arbiter.stop();
});

test('createArbiter({ backend }) - a backend that does not decide here refuses a custom selectWinner', (t) => {
  const shared = { ...memoryBackend(), kind: 'shared', decidesLocally: false };
  const err = t.throws(() => createArbiter({ backend: shared, selectWinner: (cs) => cs[0] ?? null }));
  t.regex(err?.message ?? '', /the shared backend decides them where every process sees them/);
  t.throws(() => createArbiter({ backend: { kind: 'x' } as never }), { message: /backend\.ready/ });
});
