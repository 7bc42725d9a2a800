/**
 * One process of `arbiter stress --redis … --processes N` (forked by `tools/stress-redis.ts`):
 * runs the stress workload on an arbiter with its own `redisBackend()`, records each execution in
 * Redis (Redis time, fencing token) for the checks across processes, and sends its report back.
 */
import { redisBackend } from '../src/redis/index.js';
import { Redis } from 'ioredis';
import { END_LUA, executionKeys, START_LUA, type StressWorkerInput } from './stress-redis.js';
import { runStress } from './stress.js';

async function main(input: StressWorkerInput): Promise<void> {
  const client = new Redis(input.url, { maxRetriesPerRequest: 3 });
  client.on('error', () => undefined);
  const backend = redisBackend({ url: input.url, keyPrefix: input.keyPrefix, processId: input.processId });
  try {
    const report = await runStress(
      {
        ...input.options,
        onProgress: (p) => process.send?.({ type: 'progress', progress: p }),
      },
      {
        backend,
        targetIds: input.targetIds,
        async started(target, operationId, token) {
          const k = executionKeys(input.keyPrefix, target);
          const fence = String(token ?? `none-${operationId}`);
          await client.eval(START_LUA, 2, k.starts, k.shared, fence, operationId, input.processId);
          return async (aborted) => {
            await client.eval(END_LUA, 1, k.ends, fence, aborted ? '1' : '0');
          };
        },
      },
    );
    process.send?.({ type: 'report', report });
  } finally {
    client.disconnect();
  }
}

process.once('message', (input: StressWorkerInput) => {
  main(input).then(
    () => process.disconnect(),
    (err: unknown) => {
      process.send?.({ type: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
      process.disconnect();
    },
  );
});
