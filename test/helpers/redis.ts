// Starts a private redis-server for a test file: 127.0.0.1, a free port, no persistence, a scratch
// directory. The server runs under a small shell watchdog that reads commands from our stdin pipe,
// so it also dies when the test process dies without calling dispose() (a crash, a timeout kill):
// the pipe closes, the watchdog kills the server. No stray processes either way.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestFn } from 'ava';
import { executable, onPath } from './executables.js';

const HOST = '127.0.0.1';


/**
 * The redis-server binary: ARBITER_REDIS_SERVER, else PATH (and /usr/bin, /usr/sbin). Throws
 * with the command that installs it: `npm test` runs scripts/ensure-redis.mjs first, but a single
 * test file run with `npx ava` does not.
 */
export function redisServerPath(): string {
  const explicit = process.env['ARBITER_REDIS_SERVER'];
  if (explicit !== undefined && explicit !== '') {
    if (executable(explicit)) return explicit;
    throw new Error(`ARBITER_REDIS_SERVER=${explicit} is not an executable file`);
  }
  // Debian's apt puts redis-server in /usr/bin; sbin directories are often missing from a PATH.
  const found = onPath('redis-server', ['/usr/bin', '/usr/local/bin', '/usr/sbin']);
  if (found !== undefined) return found;
  throw new Error('redis-server is not installed: run `node scripts/ensure-redis.mjs` (it installs it as root with apt, else prints the command)');
}

/** A port nobody listens on right now (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, HOST, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Sends PING over a raw socket; resolves true on +PONG, false on anything else or an error. */
export function ping(port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: HOST, port });
    let reply = '';
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString('latin1');
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
    socket.on('error', () => done(false));
  });
}

// The watchdog: runs redis-server in the background, then obeys lines on fd 3 (our stdin pipe):
// KILL, STOP, CONT, TERM send that signal; end of input (our process died) sends TERM.
const WATCHDOG = `
exec 3<&0
"$@" </dev/null &
pid=$!
echo "redis-pid $pid" >&2
( while IFS= read -r cmd <&3; do kill -s "$cmd" "$pid" 2>/dev/null; done; kill -s TERM "$pid" 2>/dev/null ) &
watcher=$!
wait "$pid"
status=$?
kill "$watcher" 2>/dev/null
exit "$status"
`;

/**
 * A redis-server started for tests.
 *
 * @example
 * ```ts
 * const redis = await startRedisServer();
 * const client = new Redis(redis.url);
 * await redis.dispose();
 * ```
 */
export interface TestRedisServer {
  readonly host: string;
  readonly port: number;
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  /** Whether the server process is running (it may be paused). */
  readonly running: boolean;
  /** Stops the server (SIGTERM, SIGKILL after 5 s) and waits for it to exit; {@link start} brings it back. */
  stop(): Promise<void>;
  /** Starts it again on the same port, empty (no persistence), and waits until it answers PING. */
  start(): Promise<void>;
  /** SIGKILL: the server vanishes without closing anything cleanly. Waits for the exit. */
  kill(): Promise<void>;
  /** SIGSTOP: the server stops answering but keeps its connections open. */
  pause(): void;
  /** SIGCONT after {@link pause}. */
  resume(): void;
  /** Stops the server for good and removes its scratch directory. Idempotent. */
  dispose(): Promise<void>;
  /** What the server printed (warnings and above), for failure messages. */
  log(): string;
}

interface Running {
  child: ChildProcess;
  exited: Promise<number | null>;
  /** The redis-server's own pid, once the watchdog has printed it. */
  pid: Promise<number>;
}

function launch(binary: string, port: number, dir: string, output: string[], cluster: boolean): Running {
  const args = [
    '--port', String(port),
    '--bind', HOST,
    '--save', '',
    '--appendonly', 'no',
    '--dir', dir,
    '--daemonize', 'no',
    '--loglevel', 'warning',
    '--logfile', '',
    ...(cluster ? ['--cluster-enabled', 'yes', '--cluster-config-file', join(dir, `nodes-${port}.conf`), '--cluster-announce-ip', HOST] : []),
  ];
  const child = spawn('sh', ['-c', WATCHDOG, 'redis-watchdog', binary, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  child.stdout?.on('data', (c: Buffer) => output.push(c.toString()));
  let foundPid: (pid: number) => void = () => undefined;
  const pid = new Promise<number>((resolve) => {
    foundPid = resolve;
  });
  let err = '';
  child.stderr?.on('data', (c: Buffer) => {
    const text = c.toString();
    err += text;
    const m = /redis-pid (\d+)/.exec(err);
    if (m) foundPid(Number(m[1]));
    output.push(text.replace(/redis-pid \d+\n?/, ''));
  });
  // Our pipe may already be closed by the time the watchdog exits; that is fine.
  child.stdin?.on('error', () => undefined);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, exited, pid };
}

async function waitUntilReady(port: number, running: Running, output: string[], timeoutMs: number): Promise<void> {
  let exited = false;
  void running.exited.then(() => {
    exited = true;
  });
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (exited) throw new Error(`redis-server exited at start:\n${output.join('')}`);
    if (await ping(port)) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`redis-server did not answer PING on port ${port} within ${timeoutMs} ms:\n${output.join('')}`);
}

// A one-node Redis Cluster: the node takes every slot, then we wait for cluster_state:ok. Scripts
// then run under the cluster's rules (CROSSSLOT for declared keys in different slots).
async function ownAllSlots(port: number, timeoutMs: number): Promise<void> {
  const { Redis } = await import('ioredis');
  const client = new Redis({ host: HOST, port, lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await client.connect();
    try {
      await client.call('CLUSTER', 'ADDSLOTSRANGE', '0', '16383');
    } catch (err) {
      // Restarted on its own nodes file: it owns the slots already.
      if (!String(err).includes('busy')) throw err;
    }
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const info = String(await client.call('CLUSTER', 'INFO'));
      if (info.includes('cluster_state:ok')) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`the one-node cluster on port ${port} did not reach cluster_state:ok within ${timeoutMs} ms`);
  } finally {
    client.disconnect();
  }
}

/**
 * Starts a private redis-server on 127.0.0.1 at a free port with no persistence
 * (`--save '' --appendonly no`) and resolves once it answers PING. Retries on another port if the
 * chosen one was taken in between. With `cluster: true` it is a one-node Redis Cluster that owns
 * every slot.
 *
 * @example
 * ```ts
 * const redis = await startRedisServer();
 * try { … } finally { await redis.dispose(); }
 * ```
 */
export async function startRedisServer(options: { readyTimeoutMs?: number; cluster?: boolean } = {}): Promise<TestRedisServer> {
  const binary = redisServerPath();
  const readyTimeoutMs = options.readyTimeoutMs ?? 15_000;
  const dir = mkdtempSync(join(tmpdir(), 'arbiter-redis-'));
  const output: string[] = [];
  let port = 0;
  let current: Running | undefined;

  const boot = async (fixedPort: number | undefined): Promise<void> => {
    let lastError: unknown;
    for (let attempt = 0; attempt < 5; attempt++) {
      port = fixedPort ?? (await freePort());
      const running = launch(binary, port, dir, output, options.cluster === true);
      try {
        await waitUntilReady(port, running, output, readyTimeoutMs);
        pid = await running.pid;
        if (options.cluster) await ownAllSlots(port, readyTimeoutMs);
        current = running;
        return;
      } catch (err) {
        lastError = err;
        running.child.stdin?.end();
        await running.exited;
        if (fixedPort !== undefined && attempt >= 2) break;
      }
    }
    throw lastError;
  };

  const halt = async (signal: 'TERM' | 'KILL'): Promise<void> => {
    const running = current;
    if (!running) return;
    current = undefined;
    const stdin = running.child.stdin;
    // A paused server ignores TERM until it is continued.
    stdin?.write(signal === 'KILL' ? 'KILL\nCONT\n' : 'CONT\nTERM\n');
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), 5000);
    });
    if ((await Promise.race([running.exited, late])) === 'late') stdin?.write('KILL\n');
    clearTimeout(timer);
    await running.exited;
    stdin?.end();
  };

  // Sent straight to the server's pid, so the signal has landed when the call returns.
  let pid = 0;
  const signal = (name: 'SIGSTOP' | 'SIGCONT'): void => {
    if (!current || pid === 0) throw new Error('redis-server is not running');
    process.kill(pid, name);
  };

  await boot(undefined);
  let disposed = false;
  return {
    host: HOST,
    get port() {
      return port;
    },
    get url() {
      return `redis://${HOST}:${port}`;
    },
    get running() {
      return current !== undefined;
    },
    stop: () => halt('TERM'),
    async start() {
      if (current) return;
      if (disposed) throw new Error('this redis-server was disposed; start a new one');
      await boot(port);
    },
    kill: () => halt('KILL'),
    pause: () => signal('SIGSTOP'),
    resume: () => signal('SIGCONT'),
    async dispose() {
      await halt('TERM');
      if (!disposed) {
        disposed = true;
        rmSync(dir, { recursive: true, force: true });
      }
    },
    log: () => output.join(''),
  };
}

/**
 * Gives every test of a file one private redis-server: started before the first test, stopped
 * after the last one, also when a test fails.
 *
 * @example
 * ```ts
 * const redis = useRedisServer(test);
 * test('…', async (t) => { const client = new Redis(redis().url); … });
 * ```
 */
export function useRedisServer<T>(test: TestFn<T>, options: { cluster?: boolean } = {}): () => TestRedisServer {
  let server: TestRedisServer | undefined;
  test.before(async () => {
    server = await startRedisServer(options);
  });
  test.after.always(async () => {
    await server?.dispose();
  });
  return () => {
    if (!server) throw new Error('the redis-server has not started (useRedisServer runs in test.before)');
    return server;
  };
}

let prefixes = 0;

/**
 * A key prefix no other test in this process uses, so tests sharing one server stay apart.
 *
 * @example
 * ```ts
 * const targets = new RedisTargets({ client, keyPrefix: uniquePrefix(), owner: 'p1' });
 * ```
 */
export function uniquePrefix(name = 't'): string {
  prefixes++;
  return `${name.replace(/[{}]/g, '')}${process.pid}-${prefixes}:`;
}

/**
 * A hand-driven clock in microseconds, for the target scripts' `clock` option.
 *
 * @example
 * ```ts
 * const clock = manualClock();
 * clock.advanceMs(100);
 * ```
 */
export function manualClock(startUs = 1_700_000_000_000_000): { now: () => number; advanceMs: (ms: number) => void; setUs: (us: number) => void } {
  let us = startUs;
  return {
    now: () => us,
    advanceMs: (ms) => {
      us += ms * 1000;
    },
    setUs: (v) => {
      us = v;
    },
  };
}

/**
 * A TCP proxy in front of a Redis port whose connections can be cut (and new ones refused) to
 * play a network failure between one client and Redis, while other clients keep talking.
 *
 * @example
 * ```ts
 * const proxy = await startCuttableProxy(redis.port);
 * const client = new Redis(proxy.url);
 * proxy.cut(); … proxy.restore();
 * ```
 */
export interface CuttableProxy {
  readonly port: number;
  readonly url: string;
  /** Destroys every open connection and refuses new ones until {@link restore}. */
  cut(): void;
  /** Keeps forwarding commands to Redis but drops its replies (until cut). */
  dropReplies(): void;
  restore(): void;
  close(): Promise<void>;
}

export async function startCuttableProxy(targetPort: number): Promise<CuttableProxy> {
  const sockets = new Set<import('node:net').Socket>();
  let down = false;
  let dropping = false;
  const server = createServer((client) => {
    if (down) {
      client.destroy();
      return;
    }
    const upstream = createConnection({ host: HOST, port: targetPort });
    sockets.add(client);
    sockets.add(upstream);
    const end = (): void => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', end);
    upstream.on('error', end);
    client.on('close', end);
    upstream.on('close', end);
    client.pipe(upstream);
    upstream.on('data', (chunk: Buffer) => {
      if (!dropping) client.write(chunk);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, HOST, resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    port,
    url: `redis://${HOST}:${port}`,
    dropReplies() {
      dropping = true;
    },
    cut() {
      down = true;
      dropping = false;
      for (const s of sockets) s.destroy();
      sockets.clear();
    },
    restore() {
      down = false;
    },
    close() {
      down = true;
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
