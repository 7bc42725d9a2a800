import { ArbiterInputError } from '../errors.js';
import { expectInteger, kindOf } from '../validate.js';
import type { RedisClient } from './batcher.js';
import { Redis } from './ioredis.js';

/**
 * How to reach Redis: a URL (the connection is opened and closed by arbiter) or a client of your
 * own (`ioredis` `Redis` or `Cluster`; arbiter defines its scripts on it and never closes it).
 *
 * @example
 * ```ts
 * const a: RedisConnectionOptions = { url: 'redis://127.0.0.1:6379' };
 * const b: RedisConnectionOptions = { client: new Redis(process.env.REDIS_URL!) };
 * ```
 */
export interface RedisConnectionOptions {
  /** `redis://[user:password@]host[:port][/db]` or `rediss://…` (TLS). */
  url?: string;
  /** A connected or connecting ioredis client. */
  client?: RedisClient;
  /** How long to wait for a connection. @default 5000 */
  connectTimeoutMs?: number;
}

/** An opened connection: the client, and whether arbiter opened it (and so closes it). */
export interface OpenedClient {
  readonly client: RedisClient;
  readonly owned: boolean;
  readonly connectTimeoutMs: number;
}

function isClient(value: unknown): value is RedisClient {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { defineCommand?: unknown }).defineCommand === 'function' &&
    typeof (value as { pipeline?: unknown }).pipeline === 'function'
  );
}

/**
 * Reads `url` or `client` (exactly one) and returns the client to use. Bad input throws
 * `ArbiterInputError` naming the field; nothing is opened then.
 *
 * @example
 * ```ts
 * const { client, owned } = openClient({ url: 'redis://127.0.0.1:6379' });
 * ```
 */
export function openClient(options: RedisConnectionOptions): OpenedClient {
  const { url, client, connectTimeoutMs = 5000 } = options;
  expectInteger(connectTimeoutMs, 'connectTimeoutMs', 1);
  if ((url === undefined) === (client === undefined)) {
    throw new ArbiterInputError('url', 'Expected exactly one of `url` and `client`, got ' + (url === undefined ? 'neither' : 'both'));
  }
  if (client !== undefined) {
    if (!isClient(client)) throw new ArbiterInputError('client', `Expected \`client\` to be an ioredis Redis or Cluster client, got ${kindOf(client)}`);
    const prefix = (client.options as { keyPrefix?: unknown } | undefined)?.keyPrefix;
    if (typeof prefix === 'string' && /[{}]/.test(prefix)) {
      throw new ArbiterInputError('client', 'Expected `client` to have no "{" or "}" in its keyPrefix option (they would break the hash tag of every key)');
    }
    return { client, owned: false, connectTimeoutMs };
  }
  let parsed: URL;
  try {
    parsed = new URL(String(url));
  } catch {
    throw new ArbiterInputError('url', `Expected \`url\` to be a redis:// or rediss:// URL, got ${kindOf(url)}`);
  }
  if (typeof url !== 'string' || (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:')) {
    throw new ArbiterInputError('url', `Expected \`url\` to be a redis:// or rediss:// URL, got ${kindOf(url)}`);
  }
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: connectTimeoutMs,
    // Fail a command after a few reconnection attempts instead of queueing it for ever.
    maxRetriesPerRequest: 3,
    retryStrategy: reconnectDelay,
  });
  // Connection errors surface through the commands that fail; an unhandled 'error' event would
  // crash the process.
  redis.on('error', () => undefined);
  return { client: redis, owned: true, connectTimeoutMs };
}

/** The longest wait between two reconnection attempts of a connection the backend opened (ms). */
export const MAX_RECONNECT_DELAY_MS = 500;

/**
 * How long a connection the backend opened waits before its `times`-th reconnection attempt:
 * doubling from 50 ms up to {@link MAX_RECONNECT_DELAY_MS}, plus up to 100 ms of jitter. ioredis
 * waits up to 5 s by default, so that after an outage of a few seconds Redis could be back well
 * before the connections try again, and `ready()` give up meanwhile.
 *
 * @example
 * ```ts
 * reconnectDelay(1); // 50 to 150 ms
 * reconnectDelay(20); // 500 to 600 ms
 * ```
 */
export function reconnectDelay(times: number): number {
  return Math.min(50 * 2 ** Math.max(0, times - 1), MAX_RECONNECT_DELAY_MS) + Math.floor(Math.random() * 100);
}

/**
 * A URL fit for messages: the password (and a user name with it) replaced by `***`.
 *
 * @example
 * ```ts
 * redactUrl('redis://app:s3cret@cache:6379/2'); // 'redis://app:***@cache:6379/2'
 * ```
 */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== '') u.password = '***';
    return u.toString();
  } catch {
    return '(an invalid URL)';
  }
}

const describe = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/**
 * Resolves once `client` answers PING; rejects with a clear error naming `where`, the timeout and
 * the last connection error if it cannot within `timeoutMs` (nothing listening, wrong password,
 * TLS mismatch…). Keeps trying until then: a client that gives up on a command after a few
 * reconnection attempts does not end the wait early.
 *
 * @example
 * ```ts
 * await waitUntilReady(client, 5000, 'Redis at redis://127.0.0.1:6379');
 * ```
 */
export async function waitUntilReady(client: RedisClient, timeoutMs: number, where = 'Redis'): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  let connectionError: unknown;
  let pingError: unknown;
  const onError = (err: unknown): void => {
    connectionError = err;
  };
  client.on('error', onError);
  try {
    if (client.status === 'wait') void client.connect().catch(onError);
    for (;;) {
      const left = deadline - performance.now();
      if (left <= 0) break;
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<'late'>((resolve) => {
        timer = setTimeout(() => resolve('late'), left);
      });
      try {
        const answer = await Promise.race([client.ping(), late]);
        if (answer !== 'late') return;
      } catch (err) {
        pingError = err;
      } finally {
        clearTimeout(timer);
      }
      if (client.status === 'end') break; // closed: it will not reconnect
      await new Promise((r) => setTimeout(r, Math.max(0, Math.min(100, deadline - performance.now()))));
    }
  } finally {
    client.off('error', onError);
  }
  const cause = connectionError ?? pingError;
  throw new Error(`could not connect to ${where} within ${timeoutMs} ms${cause === undefined ? ' (no answer)' : `: ${describe(cause)}`}`, { cause });
}
