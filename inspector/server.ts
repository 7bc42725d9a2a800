import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import type { Arbiter } from '../src/arbiter.js';
import { ArbiterInputError } from '../src/errors.js';
import { resolveOptional } from '../src/optional.js';
import { expectFunction, expectInteger, expectNonEmptyString, expectObject } from '../src/validate.js';
import { InspectorFeed, type FeedMessage } from './feed.js';
import { MetricsSampler, type MetricsSample } from './metrics.js';

/**
 * Options of {@link attachInspector}. Every one is optional.
 *
 * @example
 * ```ts
 * await attachInspector(arbiter, { port: 4680, host: '127.0.0.1', flushMs: 100 });
 * ```
 */
export interface InspectorOptions {
  /** TCP port; `0` picks a free one (read it from the result). @default 0 */
  port?: number;
  /** Interface to bind. Anything but loopback exposes your operations' data. @default '127.0.0.1' */
  host?: string;
  /** How often buffered messages are sent to the pages, in milliseconds. @default 100 */
  flushMs?: number;
  /** Messages converted and sent per flush at most; the rest waits (or is dropped). @default 500 */
  maxBatch?: number;
  /** Inspection entries held between flushes; beyond it the oldest are dropped. @default 10000 */
  bufferSize?: number;
  /**
   * New operations whose statecharts are followed per second at most; the rest still show in the
   * event log and metrics. Bounds the cost of watching a busy arbiter. @default 200
   */
  maxOperationsPerSec?: number;
  /** Batches queued for one slow page; beyond it its oldest batches are dropped. @default 20 */
  maxClientBacklog?: number;
  /** Bytes waiting in a page's socket beyond which batches queue up for it instead. @default 1048576 */
  highWaterBytes?: number;
  /** Largest message accepted from a page, in bytes; larger ones are dropped and counted. @default 4096 */
  maxMessageBytes?: number;
  /** Metrics sampling interval, in milliseconds. @default 1000 */
  sampleMs?: number;
  /** Called with problems the server survived (a socket error, a failed send). */
  onError?: (err: unknown) => void;
}

/**
 * Counters of a running inspector.
 *
 * @example
 * ```ts
 * const { clients, dropped, malformed } = inspector.stats();
 * ```
 */
export interface InspectorStats {
  /** Pages connected now. */
  clients: number;
  /** Inspection and arbiter events recorded (only while a page is connected). */
  recorded: number;
  /** New operations not followed because of `maxOperationsPerSec`. */
  unsampled: number;
  /** Recorded events waiting to be converted and sent. */
  pending: number;
  /** Recorded events dropped because pages could not keep up (oldest first). */
  dropped: number;
  /** Batches dropped from slow pages' backlogs. */
  droppedBatches: number;
  /** Batches sent, counting each page. */
  batchesSent: number;
  /** Messages from pages that were not valid JSON commands. */
  malformed: number;
  /** Messages from pages over `maxMessageBytes` (or binary). */
  oversized: number;
}

/**
 * A running inspector.
 *
 * @example
 * ```ts
 * const inspector = await attachInspector(arbiter);
 * console.log(`inspector on ${inspector.url}`);
 * await inspector.close();
 * ```
 */
export interface InspectorServer {
  /** `http://host:port/` */
  readonly url: string;
  readonly port: number;
  readonly host: string;
  stats(): InspectorStats;
  /** Disconnects the pages, stops the server and unsubscribes from the arbiter. Idempotent. */
  close(): Promise<void>;
}

/**
 * The port was taken (or could not be bound).
 *
 * @example
 * ```ts
 * try { await attachInspector(arbiter, { port: 4680 }); }
 * catch (err) { if (err instanceof InspectorListenError) console.error(err.message); }
 * ```
 */
export class InspectorListenError extends Error {
  override readonly name = 'InspectorListenError';
  readonly code: string;
  readonly port: number;
  readonly host: string;

  constructor(host: string, port: number, cause: NodeJS.ErrnoException) {
    super(
      cause.code === 'EADDRINUSE'
        ? `arbiter inspector: port ${port} on ${host} is already in use; pass another \`port\`, or \`port: 0\` for a free one`
        : `arbiter inspector: cannot listen on ${host}:${port} (${cause.code ?? cause.message})`,
      { cause },
    );
    this.code = cause.code ?? 'ELISTEN';
    this.port = port;
    this.host = host;
  }
}

interface Client {
  readonly ws: WebSocket;
  readonly queue: { payload: string; count: number }[];
  dropped: number;
  /** `dropped` when the page was last told which actors are alive. */
  droppedSeen: number;
  ready: boolean;
}

const HERE = dirname(fileURLToPath(import.meta.url));

async function loadAssets(): Promise<Map<string, { type: string; body: Buffer }>> {
  const require = createRequire(import.meta.url);
  const dagreDir = dirname(resolveOptional(require.resolve, '@dagrejs/dagre/package.json', 'inspector'));
  const page = join(HERE, 'page');
  const files: [string, string, string][] = [
    ['/', join(page, 'index.html'), 'text/html; charset=utf-8'],
    ['/app.js', join(page, 'app.js'), 'text/javascript; charset=utf-8'],
    ['/style.css', join(page, 'style.css'), 'text/css; charset=utf-8'],
    ['/vendor/dagre.min.js', join(dagreDir, 'dist', 'dagre.min.js'), 'text/javascript; charset=utf-8'],
  ];
  const out = new Map<string, { type: string; body: Buffer }>();
  for (const [path, file, type] of files) {
    let body = await readFile(file);
    // The page is served offline: no source map to fetch.
    if (path.startsWith('/vendor/')) body = Buffer.from(body.toString('utf8').replace(/\n\/\/# sourceMappingURL=.*\s*$/, '\n'));
    out.set(path, { type, body });
  }
  return out;
}

function resolveOptions(options: InspectorOptions) {
  expectObject(options, 'options');
  const o = options;
  if (o.port !== undefined) expectInteger(o.port, 'port', 0, 65535);
  if (o.host !== undefined) expectNonEmptyString(o.host, 'host');
  if (o.flushMs !== undefined) expectInteger(o.flushMs, 'flushMs', 1);
  if (o.maxBatch !== undefined) expectInteger(o.maxBatch, 'maxBatch', 1);
  if (o.bufferSize !== undefined) expectInteger(o.bufferSize, 'bufferSize', 1);
  if (o.maxOperationsPerSec !== undefined && o.maxOperationsPerSec !== Infinity) expectInteger(o.maxOperationsPerSec, 'maxOperationsPerSec', 1);
  if (o.maxClientBacklog !== undefined) expectInteger(o.maxClientBacklog, 'maxClientBacklog', 1);
  if (o.highWaterBytes !== undefined) expectInteger(o.highWaterBytes, 'highWaterBytes', 0);
  if (o.maxMessageBytes !== undefined) expectInteger(o.maxMessageBytes, 'maxMessageBytes', 16);
  if (o.sampleMs !== undefined) expectInteger(o.sampleMs, 'sampleMs', 10);
  if (o.onError !== undefined) expectFunction(o.onError, 'onError');
  return {
    port: o.port ?? 0,
    host: o.host ?? '127.0.0.1',
    flushMs: o.flushMs ?? 100,
    maxBatch: o.maxBatch ?? 500,
    bufferSize: o.bufferSize ?? 10_000,
    maxOperationsPerSec: o.maxOperationsPerSec ?? 200,
    maxClientBacklog: o.maxClientBacklog ?? 20,
    maxMessageBytes: o.maxMessageBytes ?? 4096,
    highWaterBytes: o.highWaterBytes ?? 1 << 20,
    sampleMs: o.sampleMs ?? 1000,
    onError: o.onError,
  };
}

/**
 * Serves the live inspector page for `arbiter` on `http://host:port/` (loopback by default) and
 * streams it the arbiter's actors, statecharts, events and metrics over a WebSocket.
 *
 * Nothing is recorded while no page is connected (the arbiter runs uninspected); with pages,
 * events are recorded by reference, converted and sent in batches every `flushMs`, at most
 * `maxBatch` at a time; when the pages cannot keep up, the oldest are dropped and the page shows
 * how many. Bad options throw `ArbiterInputError`; a taken port rejects with
 * {@link InspectorListenError} naming the port.
 *
 * @example
 * ```ts
 * import { createArbiter } from 'xstate-arbiter';
 * import { attachInspector } from 'xstate-arbiter/inspector';
 * const arbiter = createArbiter();
 * const inspector = await attachInspector(arbiter, { port: 4680 });
 * console.log(`open ${inspector.url}`);
 * // … later
 * await inspector.close();
 * ```
 */
export async function attachInspector(arbiter: Arbiter, options: InspectorOptions = {}): Promise<InspectorServer> {
  if (!arbiter || typeof arbiter !== 'object' || typeof (arbiter as Arbiter).inspect !== 'function') {
    throw new ArbiterInputError('arbiter', 'Expected `arbiter` to be an arbiter from createArbiter()');
  }
  const o = resolveOptions(options);
  const assets = await loadAssets();
  const report = (err: unknown) => {
    try {
      o.onError?.(err);
    } catch {
      // The reporter failed too; the server keeps going.
    }
  };

  const feed = new InspectorFeed(arbiter, { bufferSize: o.bufferSize, maxOperationsPerSec: o.maxOperationsPerSec });
  const sampler = new MetricsSampler(arbiter);
  const clients = new Set<Client>();
  const stats = { droppedBatches: 0, batchesSent: 0, malformed: 0, oversized: 0 };
  let pendingSamples: MetricsSample[] = [];
  let lastFeedDropped = 0;
  let closed = false;
  // Conversions run one at a time so each one's output stays together.
  let chain: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const next = chain.then(fn, fn);
    chain = next.catch(() => undefined);
    return next;
  };

  const server: Server = createServer((req, res) => serve(req, res));
  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });

  function serve(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const asset = assets.get(path === '/index.html' ? '/' : path);
    const headers = {
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
      'Cache-Control': 'no-store',
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { ...headers, Allow: 'GET, HEAD' }).end();
      return;
    }
    if (!asset) {
      res.writeHead(404, { ...headers, 'Content-Type': 'text/plain; charset=utf-8' }).end('not found');
      return;
    }
    res.writeHead(200, {
      ...headers,
      'Content-Type': asset.type,
      'Content-Length': asset.body.length,
      // Everything comes from this server; no inline script, no eval, no other origin.
      'Content-Security-Policy':
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    });
    res.end(req.method === 'HEAD' ? undefined : asset.body);
  }

  server.on('upgrade', (req, socket, head) => {
    const path = (req.url ?? '').split('?')[0];
    const origin = req.headers.origin;
    // A page from another origin (DNS rebinding, a hostile tab) may not read the stream.
    if (path !== '/ws' || (origin !== undefined && origin !== `http://${req.headers.host}`)) {
      socket.on('error', () => undefined);
      socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => accept(ws));
  });

  function send(client: Client, messages: readonly FeedMessage[], extra: Record<string, unknown> = {}): void {
    const dropped = feed.dropped + client.dropped;
    const payload = JSON.stringify({ type: 'arbiter.batch', dropped, droppedBatches: client.dropped, ...extra, messages });
    client.queue.push({ payload, count: messages.length });
    while (client.queue.length > o.maxClientBacklog) {
      const lost = client.queue.shift()!;
      client.dropped += lost.count;
      stats.droppedBatches++;
    }
    pump(client);
  }

  function pump(client: Client): void {
    const { ws } = client;
    while (client.queue.length > 0 && ws.readyState === ws.OPEN && ws.bufferedAmount <= o.highWaterBytes) {
      const { payload } = client.queue.shift()!;
      stats.batchesSent++;
      ws.send(payload, (err) => {
        if (err) report(err);
      });
    }
  }

  // `describe`: list the live actors. Not for the first page: connecting the feed just recorded them.
  async function greet(client: Client, describe: boolean): Promise<void> {
    const live = describe ? await serial(() => feed.describeLive()) : [];
    if (client.ws.readyState !== client.ws.OPEN) return;
    const machines = feed.machineMessages();
    send(client, [...machines, ...live.filter((m) => m.type !== 'arbiter.machine')], {
      hello: {
        options: { ...arbiter.options, selectWinner: arbiter.options.selectWinner ? 'custom' : 'default' },
        metrics: sampler.history,
        flushMs: o.flushMs,
      },
    });
    client.ready = true;
  }

  function onMessage(client: Client, data: RawData, isBinary: boolean): void {
    const size = Array.isArray(data) ? data.reduce((n, b) => n + b.length, 0) : (data as Buffer | ArrayBuffer).byteLength;
    if (isBinary || size > o.maxMessageBytes) {
      stats.oversized++;
      return;
    }
    let msg: unknown;
    try {
      msg = JSON.parse(String(Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as Buffer)));
    } catch {
      stats.malformed++;
      return;
    }
    const type = msg && typeof msg === 'object' ? (msg as { type?: unknown }).type : undefined;
    if (type === 'resync') void greet(client, true).catch(report);
    else if (type === 'ping') send(client, [], { pong: true });
    else stats.malformed++;
  }

  function accept(ws: WebSocket): void {
    if (closed) {
      ws.close(1001, 'closing');
      return;
    }
    const client: Client = { ws, queue: [], dropped: 0, droppedSeen: 0, ready: false };
    clients.add(client);
    const first = clients.size === 1;
    if (first) feed.connect();
    ws.on('message', (data, isBinary) => onMessage(client, data, isBinary));
    ws.on('error', (err: Error & { code?: string }) => {
      if (err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') stats.oversized++;
      else report(err);
    });
    ws.on('close', () => {
      clients.delete(client);
      if (clients.size === 0) feed.disconnect();
    });
    void greet(client, !first).catch(report);
  }

  let flushing = false;
  async function flush(): Promise<void> {
    if (flushing || clients.size === 0) return;
    flushing = true;
    try {
      const messages = await serial(() => feed.drain(o.maxBatch));
      const lostNow = feed.dropped > lastFeedDropped;
      lastFeedDropped = feed.dropped;
      const samples = pendingSamples;
      pendingSamples = [];
      for (const client of clients) {
        if (!client.ready) continue;
        // After drops the page may have missed actors ending: tell it which are still alive.
        const extra: FeedMessage[] = lostNow || client.dropped > client.droppedSeen ? [feed.liveMessage()] : [];
        client.droppedSeen = client.dropped;
        if (messages.length === 0 && samples.length === 0 && extra.length === 0) {
          pump(client);
          continue;
        }
        send(client, [...messages, ...extra], samples.length ? { metrics: samples } : {});
      }
    } catch (err) {
      report(err);
    } finally {
      flushing = false;
    }
  }

  const flushTimer = setInterval(() => void flush(), o.flushMs);
  flushTimer.unref();
  let lastSample = Date.now();
  const sampleTimer = setInterval(() => {
    const t = Date.now();
    pendingSamples.push(sampler.sample(t - lastSample, t));
    lastSample = t;
    if (pendingSamples.length > 10) pendingSamples.shift();
  }, o.sampleMs);
  sampleTimer.unref();

  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      clearInterval(flushTimer);
      clearInterval(sampleTimer);
      reject(new InspectorListenError(o.host, o.port, err));
    };
    server.once('error', onError);
    server.listen(o.port, o.host, () => {
      server.off('error', onError);
      server.on('error', report);
      resolve();
    });
  });
  // A server that only serves the inspector must not keep the process alive on its own.
  server.unref();
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : o.port;
  const hostInUrl = o.host.includes(':') ? `[${o.host}]` : o.host;

  return {
    url: `http://${hostInUrl}:${port}/`,
    port,
    host: o.host,
    stats: () => ({
      clients: clients.size,
      recorded: feed.total,
      unsampled: feed.unsampled,
      pending: feed.pending,
      dropped: feed.dropped,
      droppedBatches: stats.droppedBatches,
      batchesSent: stats.batchesSent,
      malformed: stats.malformed,
      oversized: stats.oversized,
    }),
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(flushTimer);
      clearInterval(sampleTimer);
      for (const c of clients) c.ws.terminate();
      clients.clear();
      feed.disconnect();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
