// The seam's behaviour suite on the Redis backend: real Redis, real time (advance() waits), a key
// prefix of its own for every arbiter. Outcomes only, never timings.
import test from 'ava';
import { createArbiter, type Arbiter } from '../../src/index.js';
import { redisBackend } from '../../src/redis/index.js';
import { backendSuite } from '../backend/suite.js';
import { uniquePrefix, useRedisServer } from '../helpers/redis.js';

const redis = useRedisServer(test);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

backendSuite(test, 'redis', async () => {
  const arbiters: Arbiter[] = [];
  return {
    arbiter: async (options = {}) => {
      const backend = redisBackend({ url: redis().url, keyPrefix: uniquePrefix('suite'), leaseMs: 2000 });
      const arbiter = createArbiter({ random: () => 0.5, backend, ...options });
      await arbiter.ready();
      arbiters.push(arbiter);
      return arbiter;
    },
    // Real time: the window closes at Redis time, the decision then travels back. A little more
    // than asked (a loaded machine delays timers), so that what the memory backend does within `ms`
    // has happened here too.
    advance: async (ms) => void (await sleep(ms * 1.5 + 150)),
    dispose: async () => {
      for (const a of arbiters) await a.stop();
    },
  };
});
