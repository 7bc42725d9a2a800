import { randomUUID } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { Duplex } from 'node:stream';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RawData, WebSocket, WebSocketServer } from 'ws';
import type { Arbiter } from '../src/arbiter.js';
import { ArbiterInputError } from '../src/errors.js';
import { optionKeys, readOptions } from '../src/keys.js';
import { resolveOptional } from '../src/optional.js';
import { expectDelay } from '../src/timers.js';
import { expectFunction, expectInteger, expectNonEmptyString } from '../src/validate.js';
import { AppHub, type AppConnection } from './apps.js';
import { InspectorFeed, type FeedMessage } from './feed.js';
import { MetricsSampler, type MetricsSample } from './metrics.js';
import { toJsonSafe } from './safe-json.js';
import { allowedHostnames, checkRequest, hostnameOf, type Refusal } from './security.js';

/**
 * Options of {@link attachInspector} and {@link startInspector}. Every one is optional; an unknown
 * key is an `ArbiterInputError` naming it.
 *
 * @example
 * ```ts
 * await attachInspector(arbiter, { port: 4680, host: '127.0.0.1', allowedHosts: ['devbox.local'] });
 * ```
 */
export interface InspectorOptions {
  /** TCP port; `0` picks a free one (read it from the result). @default 0 */
  port?: number;
  /** Interface to bind. Anything but loopback exposes your operations' data to the network. @default '127.0.0.1' */
  host?: string;
  /**
   * Host names the page may be opened by besides `localhost`, the loopback addresses and the bound
   * address (e.g. `['devbox.local']` behind a reverse proxy). Requests naming any other host, and
   * pages from other origins, are refused: that is what stops DNS-rebinding pages. @default []
   */
  allowedHosts?: readonly string[];
  /** How often buffered messages are sent to the pages, in milliseconds. @default 100 */
  flushMs?: number;
  /** Messages converted and sent per flush at most; the rest waits (or is dropped). @default 500 */
  maxBatch?: number;
  /** Inspection entries held between flushes; beyond it the oldest are dropped (a small buffer keeps
   * the page current under overload and costs the arbiter less: what is held cannot be collected). @default 2000 */
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
  /** Largest message accepted from a connected app, in bytes (over it, that app is disconnected). @default 1048576 */
  maxAppMessageBytes?: number;
  /** Apps connected at once at most; more are refused until one leaves. @default 20 */
  maxApps?: number;
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
 * const { clients, dropped, refused } = inspector.stats();
 * ```
 */
export interface InspectorStats {
  /** Pages connected now. */
  clients: number;
  /** Apps connected now (`createWebSocketInspector`). */
  apps: number;
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
  /** Messages from pages (or apps) that were not valid. */
  malformed: number;
  /** Messages from pages over `maxMessageBytes` (or binary). */
  oversized: number;
  /** Requests and upgrades refused, by reason: `Host` not allowed, or a foreign `Origin`. */
  refused: { host: number; origin: number };
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
  /** The page: `http://host:port/` */
  readonly url: string;
  /** Where apps connect with `createWebSocketInspector({ url })`: `ws://host:port/` */
  readonly appUrl: string;
  readonly port: number;
  readonly host: string;
  /** A new id per server: a page that reconnects to another run resets itself. */
  readonly runId: string;
  stats(): InspectorStats;
  /** Disconnects the pages and apps, stops the server and unsubscribes from the arbiter. Idempotent. */
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
// The inspector's optional peer dependency, found when this module loads: importing the inspector
// without it fails at once with an OptionalDependencyError naming the npm install command.
const DAGRE_DIR = dirname(resolveOptional(createRequire(import.meta.url).resolve, '@dagrejs/dagre/package.json', 'inspector'));
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};
// Everything comes from this server; no inline script, no eval, no other origin, no framing.
const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
const BASE_HEADERS = { 'X-Content-Type-Options': 'nosniff', 'Referrer-Policy': 'no-referrer', 'Cache-Control': 'no-store', 'Content-Security-Policy': CSP };
const OPTION_KEYS = optionKeys<InspectorOptions>({
  port: true,
  host: true,
  allowedHosts: true,
  flushMs: true,
  maxBatch: true,
  bufferSize: true,
  maxOperationsPerSec: true,
  maxClientBacklog: true,
  highWaterBytes: true,
  maxMessageBytes: true,
  maxAppMessageBytes: true,
  maxApps: true,
  sampleMs: true,
  onError: true,
});

async function loadAssets(): Promise<Map<string, { type: string; body: Buffer }>> {
  const dagreDir = DAGRE_DIR;
  const page = join(HERE, 'page');
  const out = new Map<string, { type: string; body: Buffer }>();
  for (const name of await readdir(page)) {
    const type = TYPES[extname(name)];
    if (!type || name.endsWith('.d.ts')) continue;
    out.set(name === 'index.html' ? '/' : `/${name}`, { type, body: await readFile(join(page, name)) });
  }
  // Served offline: no source map to fetch.
  const dagre = (await readFile(join(dagreDir, 'dist', 'dagre.min.js'), 'utf8')).replace(/\n\/\/# sourceMappingURL=.*\s*$/, '\n');
  out.set('/vendor/dagre.min.js', { type: TYPES['.js']!, body: Buffer.from(dagre) });
  return out;
}

function resolveOptions(options: unknown) {
  const o = readOptions(options, OPTION_KEYS);
  if (o.port !== undefined) expectInteger(o.port, 'port', 0, 65535);
  if (o.host !== undefined) expectNonEmptyString(o.host, 'host');
  let allowedHosts: string[] = [];
  if (o.allowedHosts !== undefined) {
    if (!Array.isArray(o.allowedHosts)) throw new ArbiterInputError('allowedHosts', 'Expected `allowedHosts` to be an array of host names');
    allowedHosts = [...(o.allowedHosts as unknown[])].map((h, i) => {
      if (typeof h !== 'string' || hostnameOf(h) === undefined || h.includes(':') !== h.startsWith('[')) {
        throw new ArbiterInputError(`allowedHosts[${i}]`, `Expected \`allowedHosts[${i}]\` to be a host name such as 'devbox.local' (no scheme, port or path), got ${JSON.stringify(String(h)).slice(0, 80)}`);
      }
      return h;
    });
  }
  // Both become timer intervals: refused past the longest delay a timer can have.
  if (o.flushMs !== undefined) expectDelay(o.flushMs, 'flushMs', 1);
  if (o.maxBatch !== undefined) expectInteger(o.maxBatch, 'maxBatch', 1);
  if (o.bufferSize !== undefined) expectInteger(o.bufferSize, 'bufferSize', 1, 10_000_000);
  if (o.maxOperationsPerSec !== undefined && o.maxOperationsPerSec !== Infinity) expectInteger(o.maxOperationsPerSec, 'maxOperationsPerSec', 1);
  if (o.maxClientBacklog !== undefined) expectInteger(o.maxClientBacklog, 'maxClientBacklog', 1);
  if (o.highWaterBytes !== undefined) expectInteger(o.highWaterBytes, 'highWaterBytes', 0);
  if (o.maxMessageBytes !== undefined) expectInteger(o.maxMessageBytes, 'maxMessageBytes', 16);
  if (o.maxAppMessageBytes !== undefined) expectInteger(o.maxAppMessageBytes, 'maxAppMessageBytes', 1024, 64 * 1024 * 1024);
  if (o.maxApps !== undefined) expectInteger(o.maxApps, 'maxApps', 0, 1000);
  if (o.sampleMs !== undefined) expectDelay(o.sampleMs, 'sampleMs', 10);
  if (o.onError !== undefined) expectFunction(o.onError, 'onError');
  return {
    port: (o.port as number | undefined) ?? 0,
    host: (o.host as string | undefined) ?? '127.0.0.1',
    allowedHosts,
    flushMs: (o.flushMs as number | undefined) ?? 100,
    maxBatch: (o.maxBatch as number | undefined) ?? 500,
    bufferSize: (o.bufferSize as number | undefined) ?? 2000,
    maxOperationsPerSec: (o.maxOperationsPerSec as number | undefined) ?? 200,
    maxClientBacklog: (o.maxClientBacklog as number | undefined) ?? 20,
    maxMessageBytes: (o.maxMessageBytes as number | undefined) ?? 4096,
    maxAppMessageBytes: (o.maxAppMessageBytes as number | undefined) ?? 1 << 20,
    maxApps: (o.maxApps as number | undefined) ?? 20,
    highWaterBytes: (o.highWaterBytes as number | undefined) ?? 1 << 20,
    sampleMs: (o.sampleMs as number | undefined) ?? 1000,
    onError: o.onError as ((err: unknown) => void) | undefined,
  };
}

// Credentials never reach the page: `redis://user:secret@host` becomes `redis://host`.
function redact(value: unknown): unknown {
  if (typeof value !== 'string' || !/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) return value;
  try {
    const url = new URL(value);
    url.username = '';
    url.password = '';
    return url.toString();
  } catch {
    return value;
  }
}

// What a shared backend may say about itself, shown when present (a backend is the user's code:
// each field is read once, alone, and only scalars are kept).
const BACKEND_FIELDS = ['processId', 'url', 'keyPrefix', 'leaseMs'] as const;

/**
 * Which backend the arbiter runs on, for the page's header: its `kind` (`memory`, `redis`, …), and
 * when the backend has them, this process's id on it (`processId`: the page tells the operations of
 * other processes by it), `url`, `keyPrefix` and `leaseMs`, plus the scalar fields of a
 * `describe()`; URLs without credentials.
 */
function describeBackend(arbiter: Arbiter): Record<string, unknown> {
  let backend: Record<string, unknown> | undefined;
  try {
    const b = (arbiter as unknown as { backend?: unknown }).backend;
    backend = b !== null && typeof b === 'object' ? (b as Record<string, unknown>) : undefined;
  } catch {
    return { kind: 'unknown' };
  }
  if (!backend) return { kind: 'memory' };
  const read = (key: string): unknown => {
    try {
      return backend[key];
    } catch {
      return undefined;
    }
  };
  const scalar = (v: unknown) => typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v)) || typeof v === 'boolean';
  const kind = read('kind');
  const out: Record<string, unknown> = { kind: typeof kind === 'string' && kind !== '' ? kind : 'custom' };
  for (const key of BACKEND_FIELDS) {
    const v = read(key);
    if (scalar(v)) out[key] = redact(v);
  }
  const describe = read('describe');
  if (typeof describe === 'function') {
    try {
      const described: unknown = describe.call(backend);
      if (described !== null && typeof described === 'object') {
        for (const [k, v] of Object.entries(described).slice(0, 20)) if (k !== 'kind' && !(k in out) && scalar(v)) out[k] = redact(v);
      }
    } catch {
      // A describe() that throws tells nothing more.
    }
  }
  return toJsonSafe(out, { depth: 2, maxString: 200, maxItems: 30 }) as Record<string, unknown>;
}

function arbiterOptions(arbiter: Arbiter): Record<string, unknown> {
  try {
    const o = arbiter.options as unknown as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const k of ['windowMs', 'gracePeriodMs', 'whileExecuting', 'maxStagedPerTarget', 'maxStaged', 'idleCoordinatorMs']) {
      if (typeof o[k] === 'number' || typeof o[k] === 'string') out[k] = o[k];
    }
    out['selectWinner'] = o['selectWinner'] ? 'custom' : 'default';
    return out;
  } catch {
    return {};
  }
}

function refuse(socket: Duplex, why: Refusal): void {
  socket.on('error', () => undefined);
  socket.end(`HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Type: text/plain\r\n\r\narbiter inspector: ${why === 'host' ? 'this Host is not allowed (see the allowedHosts option)' : 'this Origin is not allowed'}\n`);
}

/**
 * Serves the live inspector page for `arbiter` on `http://host:port/` (loopback by default) and
 * streams it the arbiter's actors, statecharts, events and metrics over a WebSocket. Other XState
 * apps can connect too (`createWebSocketInspector({ url: inspector.appUrl })` from
 * `@statelyai/inspect`) and are shown beside the arbiter.
 *
 * Nothing is recorded while no page is connected (the arbiter runs uninspected); with pages,
 * events are recorded by reference, converted and sent in batches every `flushMs`, at most
 * `maxBatch` at a time; when the pages cannot keep up, the oldest are dropped and the page shows
 * how many. Only requests whose `Host` (and `Origin`, when sent) name this machine or an
 * `allowedHosts` entry are served. The server does not keep the process alive by itself. Bad
 * options throw `ArbiterInputError`; a taken port rejects with {@link InspectorListenError}; a
 * missing `@dagrejs/dagre` (an optional peer dependency) makes importing the inspector throw
 * `OptionalDependencyError`.
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
  return serve(arbiter, options, false);
}

/**
 * Starts the inspector without an arbiter: it serves the page and waits for XState v5 apps to
 * connect with `@statelyai/inspect`'s `createWebSocketInspector({ url: inspector.appUrl })`
 * (what `npx arbiter inspect --listen` runs). Each app's actors appear with their statecharts,
 * snapshots, events and history. Unlike {@link attachInspector}, it keeps the process alive until
 * `close()`.
 *
 * @example
 * ```ts
 * import { startInspector } from 'xstate-arbiter/inspector';
 * const inspector = await startInspector({ port: 4680 });
 * console.log(`open ${inspector.url}; apps connect to ${inspector.appUrl}`);
 * // in the app: createActor(machine, { inspect: createWebSocketInspector({ url: 'ws://127.0.0.1:4680' }).inspect })
 * ```
 */
export async function startInspector(options: InspectorOptions = {}): Promise<InspectorServer> {
  return serve(undefined, options, true);
}

async function serve(arbiter: Arbiter | undefined, options: InspectorOptions, keepAlive: boolean): Promise<InspectorServer> {
  const o = resolveOptions(options);
  // Loaded here, not at import: importing the inspector entry costs nothing until a server starts.
  const { WebSocketServer: WSS } = await import('ws');
  const assets = await loadAssets();
  const report = (err: unknown) => {
    try {
      o.onError?.(err);
    } catch {
      // The reporter failed too; the server keeps going.
    }
  };

  const runId = randomUUID();
  const startedAt = Date.now();
  const feed = arbiter ? new InspectorFeed(arbiter, { bufferSize: o.bufferSize, maxOperationsPerSec: o.maxOperationsPerSec }) : undefined;
  const sampler = arbiter ? new MetricsSampler(arbiter) : undefined;
  const hub = new AppHub({ bufferSize: o.bufferSize });
  const clients = new Set<Client>();
  const appSockets = new Set<WebSocket>();
  const stats = { droppedBatches: 0, batchesSent: 0, malformed: 0, oversized: 0, refused: { host: 0, origin: 0 } };
  let pendingSamples: MetricsSample[] = [];
  // Machine descriptions first produced while greeting one page: every page gets them.
  let broadcast: FeedMessage[] = [];
  let lastFeedDropped = 0;
  let closed = false;
  const allowed = allowedHostnames(o.host, o.allowedHosts);

  const server: Server = createServer((req, res) => respond(req, res));
  const pageWss: WebSocketServer = new WSS({ noServer: true, maxPayload: 64 * 1024 });
  const appWss: WebSocketServer = new WSS({ noServer: true, maxPayload: o.maxAppMessageBytes });

  function respond(req: IncomingMessage, res: ServerResponse): void {
    const refused = checkRequest({ host: req.headers.host, origin: req.headers.origin }, allowed);
    if (refused) {
      stats.refused[refused]++;
      res.writeHead(403, { ...BASE_HEADERS, 'Content-Type': 'text/plain; charset=utf-8' });
      res.end(`arbiter inspector: ${refused === 'host' ? 'this Host is not allowed (see the allowedHosts option)' : 'this Origin is not allowed'}\n`);
      return;
    }
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const asset = assets.get(path === '/index.html' ? '/' : path);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { ...BASE_HEADERS, Allow: 'GET, HEAD' }).end();
      return;
    }
    if (!asset) {
      res.writeHead(404, { ...BASE_HEADERS, 'Content-Type': 'text/plain; charset=utf-8' }).end('not found');
      return;
    }
    res.writeHead(200, { ...BASE_HEADERS, 'Content-Type': asset.type, 'Content-Length': asset.body.length });
    res.end(req.method === 'HEAD' ? undefined : asset.body);
  }

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    try {
      const refused = checkRequest({ host: req.headers.host, origin: req.headers.origin }, allowed);
      if (refused) {
        stats.refused[refused]++;
        refuse(socket, refused);
        return;
      }
      const url = new URL(req.url ?? '/', 'http://inspector.invalid');
      if (url.pathname === '/ws') {
        pageWss.handleUpgrade(req, socket, head, (ws) => acceptPage(ws));
        return;
      }
      if (closed || appSockets.size >= o.maxApps) {
        socket.on('error', () => undefined);
        socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n\r\n');
        return;
      }
      const name = url.searchParams.get('name') ?? undefined;
      appWss.handleUpgrade(req, socket, head, (ws) => acceptApp(ws, name));
    } catch (err) {
      report(err);
      socket.destroy();
    }
  });

  function send(client: Client, messages: readonly FeedMessage[], extra: Record<string, unknown> = {}): void {
    const dropped = (feed?.dropped ?? 0) + hub.dropped + client.dropped;
    let payload: string;
    try {
      payload = JSON.stringify({ type: 'arbiter.batch', dropped, droppedBatches: client.dropped, ...extra, messages });
    } catch (err) {
      // Every value was made JSON-safe; should that ever fail, this batch alone is lost.
      report(err);
      return;
    }
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

  function hello(): Record<string, unknown> {
    return {
      runId,
      startedAt,
      pid: process.pid,
      mode: arbiter ? 'arbiter' : 'listen',
      options: arbiter ? arbiterOptions(arbiter) : null,
      backend: arbiter ? describeBackend(arbiter) : null,
      metrics: sampler?.history ?? [],
      flushMs: o.flushMs,
      appUrl,
    };
  }

  // `describe`: list the live actors. Not for the first page: connecting the feed just recorded them.
  function greet(client: Client, describe: boolean): void {
    if (client.ws.readyState !== client.ws.OPEN) return;
    let live: FeedMessage[] = [];
    if (describe && feed) {
      live = feed.describeLive();
      const fresh = live.filter((m) => m.type === 'arbiter.machine');
      if (fresh.length) broadcast.push(...fresh);
    }
    const machines = feed?.machineMessages() ?? [];
    send(client, [...machines, ...live.filter((m) => m.type !== 'arbiter.machine'), ...hub.describe()], { hello: hello() });
    client.ready = true;
  }

  function onPageMessage(client: Client, data: RawData, isBinary: boolean): void {
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
    if (type === 'resync') greet(client, true);
    else if (type === 'ping') send(client, [], { pong: true });
    else stats.malformed++;
  }

  function acceptPage(ws: WebSocket): void {
    if (closed) {
      ws.close(1001, 'closing');
      return;
    }
    const client: Client = { ws, queue: [], dropped: 0, droppedSeen: 0, ready: false };
    clients.add(client);
    const first = clients.size === 1;
    if (first) {
      feed?.connect();
      hub.recording = true;
    }
    ws.on('message', (data, isBinary) => {
      try {
        onPageMessage(client, data, isBinary);
      } catch (err) {
        report(err);
      }
    });
    ws.on('error', (err: Error & { code?: string }) => {
      if (err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') stats.oversized++;
      else report(err);
    });
    ws.on('close', () => {
      clients.delete(client);
      if (clients.size === 0) {
        feed?.disconnect();
        hub.recording = false;
        hub.drain(Number.MAX_SAFE_INTEGER);
      }
    });
    try {
      greet(client, !first);
    } catch (err) {
      report(err);
    }
  }

  function acceptApp(ws: WebSocket, name: string | undefined): void {
    if (closed) {
      ws.close(1001, 'closing');
      return;
    }
    appSockets.add(ws);
    const app: AppConnection = hub.connect(name);
    ws.on('message', (data, isBinary) => {
      if (isBinary) {
        stats.malformed++;
        return;
      }
      app.receive(String(Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as Buffer)));
    });
    ws.on('error', (err: Error & { code?: string }) => {
      if (err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') stats.oversized++;
      else report(err);
    });
    ws.on('close', () => {
      appSockets.delete(ws);
      app.close();
    });
  }

  let flushing = false;
  function flush(): void {
    if (flushing || clients.size === 0) return;
    flushing = true;
    try {
      // Overloaded (the buffer overflowed since the last flush): the pages get a sample whatever we
      // do, so convert half as much and leave the arbiter its CPU.
      const feedDropped = (feed?.dropped ?? 0) + hub.dropped;
      const lostNow = feedDropped > lastFeedDropped;
      lastFeedDropped = feedDropped;
      const budget = lostNow ? Math.ceil(o.maxBatch / 2) : o.maxBatch;
      const messages = feed ? feed.drain(budget) : [];
      if (messages.length < budget) messages.push(...hub.drain(budget - messages.length));
      if (broadcast.length) {
        messages.unshift(...broadcast);
        broadcast = [];
      }
      const samples = pendingSamples;
      pendingSamples = [];
      for (const client of clients) {
        if (!client.ready) continue;
        // After drops the page may have missed actors ending: tell it which are still alive.
        const extra: FeedMessage[] = feed && (lostNow || client.dropped > client.droppedSeen) ? [feed.liveMessage()] : [];
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

  const flushTimer = setInterval(flush, o.flushMs);
  flushTimer.unref();
  let lastSample = Date.now();
  const sampleTimer = setInterval(() => {
    if (!sampler) return;
    try {
      const t = Date.now();
      pendingSamples.push(sampler.sample(t - lastSample, t));
      lastSample = t;
      if (pendingSamples.length > 10) pendingSamples.shift();
    } catch (err) {
      report(err);
    }
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
  if (!keepAlive) server.unref();
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : o.port;
  const hostInUrl = o.host.includes(':') ? `[${o.host}]` : o.host === '0.0.0.0' ? '127.0.0.1' : o.host === '::' ? '[::1]' : o.host;
  const appUrl = `ws://${hostInUrl}:${port}/`;

  return {
    url: `http://${hostInUrl}:${port}/`,
    appUrl,
    port,
    host: o.host,
    runId,
    stats: () => ({
      clients: clients.size,
      apps: appSockets.size,
      recorded: (feed?.total ?? 0) + hub.received,
      unsampled: feed?.unsampled ?? 0,
      pending: (feed?.pending ?? 0) + hub.pending,
      dropped: (feed?.dropped ?? 0) + hub.dropped,
      droppedBatches: stats.droppedBatches,
      batchesSent: stats.batchesSent,
      malformed: stats.malformed + hub.malformed,
      oversized: stats.oversized,
      refused: { ...stats.refused },
    }),
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(flushTimer);
      clearInterval(sampleTimer);
      for (const c of clients) c.ws.terminate();
      for (const ws of appSockets) ws.terminate();
      clients.clear();
      feed?.disconnect();
      await new Promise<void>((resolve) => pageWss.close(() => resolve()));
      await new Promise<void>((resolve) => appWss.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
