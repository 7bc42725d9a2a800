/**
 * A small HTTP service on Fastify whose routes submit operations to an arbiter on Redis. Start it
 * twice on one Redis and both processes arbitrate together: withdrawals from one account that
 * reach either process in the same window have one winner between them.
 *
 *   REDIS_URL=redis://127.0.0.1:6379 PORT=3001 npx tsx examples/redis-service/server.ts
 *   REDIS_URL=redis://127.0.0.1:6379 PORT=3002 npx tsx examples/redis-service/server.ts
 *
 * Routes:
 *   PUT  /accounts/:id            { balance }                open an account (its balance in Redis)
 *   POST /accounts/:id/withdraw   { amount, priority? }      submit a withdrawal; answers when it is final
 *   GET  /accounts/:id                                       the account as the Redis store has it
 *
 * A withdrawal answers 200 `{ status: 'completed', balance, processId }` when it won its window and
 * was written with its fencing token, 409 `{ status: 'rejected', code, reason, processId }` when it
 * lost (or could not be paid), 503 when Redis could not be reached.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { createArbiter, ExpectedError, OperationRejectedError, type Arbiter } from '../../src/index.js';
import { createRedisStore, redisBackend, type RedisEntityStore } from '../../src/redis/index.js';
import { isMain } from '../support.js';

export interface ServiceOptions {
  readonly redisUrl: string;
  /** Every process of the service shares it. @default 'redis-service:' */
  readonly keyPrefix?: string;
  /** @default `<hostname>:<pid>:<random>` */
  readonly processId?: string;
  /** @default 200 */
  readonly windowMs?: number;
}

export interface Service {
  readonly app: FastifyInstance;
  readonly arbiter: Arbiter;
  readonly store: RedisEntityStore;
  readonly processId: string;
  close(): Promise<void>;
}

interface Account {
  balance: number;
}

/** Builds the service (not listening yet): its arbiter and store on Redis, and its routes. */
export async function createService(options: ServiceOptions): Promise<Service> {
  const keyPrefix = options.keyPrefix ?? 'redis-service:';
  const backend = redisBackend({ url: options.redisUrl, keyPrefix, ...(options.processId ? { processId: options.processId } : {}) });
  const arbiter = createArbiter({ windowMs: options.windowMs ?? 200, backend });
  // The same key prefix: the store checks each write's fencing token against the arbiter's leases.
  const store = createRedisStore({ url: options.redisUrl, keyPrefix });
  await Promise.all([arbiter.ready(), store.ready()]);
  const processId = backend.processId;
  const app = Fastify({ logger: false });

  app.put<{ Params: { id: string }; Body: { balance: number } }>('/accounts/:id', async (req) => {
    const existing = await store.get<Account>(req.params.id);
    const account = existing
      ? await store.update<Account>(req.params.id, (d) => void (d.balance = req.body.balance))
      : await store.create<Account>({ balance: req.body.balance }, { id: req.params.id });
    return { id: account.id, balance: account.data.balance, version: account.version };
  });

  app.get<{ Params: { id: string } }>('/accounts/:id', async (req, reply) => {
    const account = await store.get<Account>(req.params.id);
    if (!account) return reply.code(404).send({ error: 'no such account' });
    return { id: account.id, balance: account.data.balance, version: account.version };
  });

  app.post<{ Params: { id: string }; Body: { amount: number; priority?: number } }>('/accounts/:id/withdraw', async (req, reply) => {
    const { id } = req.params;
    const handle = arbiter.submit({
      target: id,
      type: 'withdraw',
      priority: req.body.priority ?? 5,
      execute: async ({ fence }) => {
        const after = await store.update<Account>(
          id,
          (d) => {
            if (d.balance < req.body.amount) throw new ExpectedError('insufficient funds');
            d.balance -= req.body.amount;
          },
          fence ? { fence } : {},
        );
        return after.data.balance;
      },
    });
    try {
      const balance = await handle.result;
      return { status: 'completed', operationId: handle.id, balance, processId };
    } catch (err) {
      if (!(err instanceof OperationRejectedError)) throw err;
      return reply.code(err.code === 'backend-unavailable' ? 503 : 409).send({ status: 'rejected', operationId: handle.id, code: err.code, reason: err.reason, processId });
    }
  });

  return {
    app,
    arbiter,
    store,
    processId,
    async close() {
      await app.close();
      await arbiter.stop();
      await store.close();
    },
  };
}

if (isMain(import.meta.url)) {
  const service = await createService({
    redisUrl: process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379',
    ...(process.env['PROCESS_ID'] ? { processId: process.env['PROCESS_ID'] } : {}),
    ...(process.env['WINDOW_MS'] ? { windowMs: Number(process.env['WINDOW_MS']) } : {}),
  });
  const address = await service.app.listen({ port: Number(process.env['PORT'] ?? 3000), host: '127.0.0.1' });
  // The demo script reads this line to find the port.
  console.log(`listening ${address} as ${service.processId}`);
  const stop = () => void service.close().then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
