import { readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import WebSocket from 'ws';
import { AppHub, attachInspector, InspectorFeed, InspectorListenError, runLiveScenario, type InspectorServer } from '../../inspector/index.js';
import { ArbiterInputError, type Arbiter } from '../../src/index.js';
import { advance, flush, harness } from '../helpers/index.js';

interface Batch {
  type: 'arbiter.batch';
  dropped: number;
  droppedBatches: number;
  hello?: { options: Record<string, unknown>; metrics: unknown[] };
  pong?: boolean;
  metrics?: unknown[];
  messages: Array<{ type: string; [k: string]: any }>;
}

/** A page stand-in: collects batches, resolves `until(predicate)` when one arrives that satisfies it. */
function client(server: InspectorServer, headers: Record<string, string> = {}) {
  const ws = new WebSocket(`ws://127.0.0.1:${server.port}/ws`, { headers });
  const batches: Batch[] = [];
  const waiters: Array<{ test: () => boolean; resolve: () => void }> = [];
  ws.on('message', (data) => {
    batches.push(JSON.parse(String(data)) as Batch);
    for (const w of [...waiters]) {
      if (w.test()) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  });
  const opened = new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
  });
  return {
    ws,
    batches,
    opened,
    messages: () => batches.flatMap((b) => b.messages),
    until(test: () => boolean): Promise<void> {
      if (test()) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ test, resolve }));
    },
    close: () => new Promise<void>((resolve) => {
      if (ws.readyState === ws.CLOSED) return resolve();
      ws.once('close', () => resolve());
      ws.close();
    }),
  };
}

/** Lets the event loop turn (no fixed sleep) until `test()` holds. */
async function until(test: () => boolean): Promise<void> {
  for (let i = 0; i < 100_000 && !test(); i++) await flush();
}

async function setup(options: Parameters<typeof attachInspector>[1] = {}) {
  const h = harness({ windowMs: 10, maxStagedPerTarget: 100_000, maxStaged: 100_000 });
  const server = await attachInspector(h.arbiter, { flushMs: 5, ...options });
  return { ...h, server };
}

async function teardown(server: InspectorServer, arbiter: Arbiter) {
  await server.close();
  await arbiter.stop();
}

test('attachInspector() - bad input throws ArbiterInputError and starts nothing', async (t) => {
  const { arbiter } = harness();
  for (const [options, field] of [
    [{ port: -1 }, 'port'],
    [{ port: 70000 }, 'port'],
    [{ port: 1.5 }, 'port'],
    [{ host: '' }, 'host'],
    [{ flushMs: 0 }, 'flushMs'],
    [{ maxBatch: 0 }, 'maxBatch'],
    [{ onError: 'x' }, 'onError'],
  ] as const) {
    const err = await t.throwsAsync(attachInspector(arbiter, options as never), { instanceOf: ArbiterInputError });
    t.is(err?.field, field);
  }
  await t.throwsAsync(attachInspector({} as Arbiter), { instanceOf: ArbiterInputError, message: /createArbiter/ });
  await t.throwsAsync(attachInspector(arbiter, null as never), { instanceOf: ArbiterInputError });
  await arbiter.stop();
});

test('attachInspector(), InspectorFeed, AppHub, runLiveScenario() - options are read once; typos and timer delays past the limit are refused by name', async (t) => {
  const { arbiter } = harness();
  for (const [options, field, message] of [
    [{ flushMS: 5 }, 'flushMS', /did you mean `flushMs`/],
    [{ alowedHosts: ['a.local'] }, 'alowedHosts', /did you mean `allowedHosts`/],
    [{ flushMs: 2 ** 31 }, 'flushMs', /2147483647/],
    [{ sampleMs: 2 ** 31 }, 'sampleMs', /2147483647/],
    [{ sampleMs: 5 }, 'sampleMs', /from 10/],
  ] as const) {
    const err = await t.throwsAsync(attachInspector(arbiter, options as never), { instanceOf: ArbiterInputError });
    t.is(err?.field, field);
    t.regex(err!.message, message);
  }
  // A getter that answers validation and then throws is read once: its first answer counts.
  let reads = 0;
  const once = {
    get port() {
      if (reads++ > 0) throw new Error('read twice');
      return 0;
    },
  };
  const server = await attachInspector(arbiter, once as never);
  t.is(reads, 1);
  await server.close();

  t.throws(() => new InspectorFeed(arbiter, { bufferSise: 10 } as never), { instanceOf: ArbiterInputError, message: /did you mean `bufferSize`/ });
  t.throws(() => new InspectorFeed(arbiter, { maxOperationsPerSec: 0 }), { instanceOf: ArbiterInputError, message: /maxOperationsPerSec/ });
  t.throws(() => new AppHub({ maxMachine: 10 } as never), { instanceOf: ArbiterInputError, message: /did you mean `maxMachines`/ });
  t.throws(() => new AppHub({ bufferSize: -1 }), { instanceOf: ArbiterInputError, message: /bufferSize/ });
  const bad = await t.throwsAsync(runLiveScenario({ ratePerSecond: 5 } as never), { instanceOf: ArbiterInputError });
  t.regex(bad!.message, /did you mean `ratePerSec`/);
  // A bad inspector option: the scenario's own arbiter is stopped, nothing keeps running.
  await t.throwsAsync(runLiveScenario({ inspector: { flushMs: -1 }, log: () => undefined }), { instanceOf: ArbiterInputError, message: /flushMs/ });
  await arbiter.stop();
});

test('attachInspector() - a port in use is a clear error naming the port', async (t) => {
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  const port = (blocker.address() as { port: number }).port;
  const { arbiter } = harness();
  const err = await t.throwsAsync(attachInspector(arbiter, { port }), { instanceOf: InspectorListenError });
  t.is(err?.code, 'EADDRINUSE');
  t.is(err?.port, port);
  t.true(err?.message.includes(`port ${port}`));
  await new Promise<void>((resolve) => blocker.close(() => resolve()));
  // The same port works once it is free.
  const server = await attachInspector(arbiter, { port });
  t.is(server.port, port);
  t.is(server.url, `http://127.0.0.1:${port}/`);
  await teardown(server, arbiter);
});

test('attachInspector() - serves the page and dagre from this server only, with a strict CSP', async (t) => {
  const { server, arbiter } = await setup();
  t.is(server.host, '127.0.0.1');
  const page = await fetch(server.url);
  t.is(page.status, 200);
  const csp = page.headers.get('content-security-policy') ?? '';
  t.regex(csp, /script-src 'self'/);
  t.notRegex(csp, /unsafe-inline|unsafe-eval/);
  const html = await page.text();
  t.notRegex(html, /https?:\/\//, 'no CDN, no network dependency');
  // Every script of the page: received text never becomes markup or code.
  const scripts = readdirSync(fileURLToPath(new URL('../../inspector/page/', import.meta.url))).filter((f) => f.endsWith('.js'));
  t.true(scripts.length >= 8, scripts.join(' '));
  for (const name of scripts) {
    const res = await fetch(`${server.url}${name}`);
    t.is(res.status, 200, name);
    t.is(res.headers.get('content-type'), 'text/javascript; charset=utf-8');
    t.notRegex(await res.text(), /innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|new Function|setTimeout\(['"`]/, name);
  }
  t.is((await fetch(`${server.url}favicon.svg`)).headers.get('content-type'), 'image/svg+xml');
  t.is((await fetch(`${server.url}model.d.ts`)).status, 404, 'only what the page needs is served');
  const dagre = await fetch(`${server.url}vendor/dagre.min.js`);
  t.is(dagre.status, 200);
  const dagreText = await dagre.text();
  t.regex(dagreText, /var dagre=/);
  t.notRegex(dagreText, /sourceMappingURL/);
  t.is((await fetch(`${server.url}style.css`)).status, 200);
  t.is((await fetch(`${server.url}nope`)).status, 404);
  t.is((await fetch(server.url, { method: 'POST' })).status, 405);
  await teardown(server, arbiter);
});

test('attachInspector() - no page connected: nothing is recorded; a page gets hello, machines, batched events', async (t) => {
  const { server, arbiter, clock } = await setup({ maxBatch: 50 });
  arbiter.submit({ target: 'a', execute: async () => 1 });
  await advance(clock, 10);
  t.is(server.stats().recorded, 0, 'the arbiter ran uninspected');

  const page = client(server);
  await page.opened;
  await page.until(() => page.batches.some((b) => b.hello));
  const hello = page.batches.find((b) => b.hello)!;
  t.is(hello.hello!.options['windowMs'], 10);
  for (let i = 0; i < 30; i++) arbiter.submit({ target: `t${i % 3}`, priority: 1 + (i % 10), execute: async () => i });
  await advance(clock, 10);
  await page.until(() => page.messages().filter((m) => m.type === 'arbiter.event' && m.event.type === 'operation.completed').length === 3);
  const messages = page.messages();
  t.deepEqual(messages.filter((m) => m.type === 'arbiter.machine').map((m) => m.key).sort(), ['coordinator', 'observers', 'operation']);
  t.is(messages.filter((m) => m.type === 'arbiter.event' && m.event.type === 'operation.submitted').length, 30);
  t.is(new Set(messages.filter((m) => m.type === '@xstate.actor').map((m) => m.sessionId)).size, messages.filter((m) => m.type === '@xstate.actor').length);
  // Batched: far fewer frames than messages, none over maxBatch (plus machine descriptions).
  t.true(page.batches.length < messages.length / 5, `${page.batches.length} batches for ${messages.length} messages`);
  for (const b of page.batches) t.true(b.messages.filter((m) => m.type !== 'arbiter.machine').length <= 50);
  t.is(server.stats().clients, 1);
  t.true(server.stats().recorded > 0);

  // The last page leaving stops the recording.
  await page.close();
  await server.close();
  const recorded = server.stats().recorded;
  arbiter.submit({ target: 'a', execute: async () => 1 });
  await advance(clock, 10);
  t.is(server.stats().recorded, recorded);
  await arbiter.stop();
});

test('attachInspector() - malformed, binary and oversized messages are dropped and counted; the server keeps serving', async (t) => {
  const { server, arbiter } = await setup({ maxMessageBytes: 256 });
  const page = client(server);
  await page.opened;
  await page.until(() => page.batches.some((b) => b.hello));
  page.ws.send('not json {');
  page.ws.send('{"type":"unknown-command"}');
  page.ws.send('42');
  page.ws.send(Buffer.from([1, 2, 3]), { binary: true });
  page.ws.send(JSON.stringify({ type: 'ping', pad: 'x'.repeat(1000) }));
  page.ws.send('{"type":"ping"}');
  await page.until(() => page.batches.some((b) => b.pong));
  t.like(server.stats(), { malformed: 3, oversized: 2 });
  // A frame over the hard limit closes that page only.
  const closed = new Promise<number>((resolve) => page.ws.once('close', (code) => resolve(code)));
  page.ws.send('y'.repeat(70 * 1024));
  t.is(await closed, 1009);
  t.is(server.stats().oversized, 3);
  const other = client(server);
  await other.opened;
  other.ws.send('{"type":"resync"}');
  await other.until(() => other.batches.filter((b) => b.hello).length === 2);
  await other.close();
  await teardown(server, arbiter);
});

test('attachInspector() - a page from another origin is refused', async (t) => {
  const { server, arbiter } = await setup();
  const hostile = client(server, { Origin: 'http://evil.example' });
  await t.throwsAsync(hostile.opened, { message: /403/ });
  const same = client(server, { Origin: `http://127.0.0.1:${server.port}` });
  await t.notThrowsAsync(same.opened);
  await same.close();
  await teardown(server, arbiter);
});

test('attachInspector() - when the arbiter outruns the page, the oldest events are dropped with a visible count', async (t) => {
  const { server, arbiter, clock } = await setup({ bufferSize: 100, maxBatch: 40 });
  const page = client(server);
  await page.opened;
  await page.until(() => page.batches.some((b) => b.hello));
  for (let i = 0; i < 300; i++) arbiter.submit({ target: `t${i % 5}`, id: `op-${i}`, execute: async () => i });
  await advance(clock, 10);
  await page.until(() => page.batches.some((b) => b.dropped > 0));
  const withDrops = page.batches.find((b) => b.dropped > 0)!;
  t.is(withDrops.dropped, server.stats().dropped);
  t.true(withDrops.messages.some((m) => m.type === 'arbiter.live'), 'the page learns which actors are still alive');
  const submitted = page.messages().filter((m) => m.type === 'arbiter.event' && m.event.type === 'operation.submitted').map((m) => m.event.operationId);
  t.false(submitted.includes('op-0'), 'the oldest went first');
  // Overloaded, the server converts half a batch per flush: the page gets a sample either way.
  const converted = (b: Batch) => b.messages.filter((m) => m.type !== 'arbiter.machine' && m.type !== 'arbiter.live').length;
  t.true(page.batches.filter((b) => b.dropped > 0).every((b) => converted(b) <= 20), page.batches.map(converted).join(','));
  await page.close();
  await teardown(server, arbiter);
});

test('attachInspector() - a slow page loses its oldest batches, counted, and catches up', async (t) => {
  const { server, arbiter, clock } = await setup({ highWaterBytes: 0, maxClientBacklog: 2, maxBatch: 500, bufferSize: 100_000 });
  const page = client(server);
  await page.opened;
  await page.until(() => page.batches.some((b) => b.hello));
  // Stop reading: the server's socket buffer fills up, then its per-page backlog overflows.
  const socket = (page.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
  socket.pause();
  const note = 'z'.repeat(400);
  let round = 0;
  while (server.stats().droppedBatches === 0 && round < 200) {
    for (let i = 0; i < 100; i++) arbiter.submit({ target: `t${i % 10}`, data: { note, i }, execute: async () => note });
    await advance(clock, 10);
    await until(() => server.stats().pending === 0);
    round++;
  }
  t.true(server.stats().droppedBatches > 0, `dropped batches after ${round} rounds`);
  socket.resume();
  await page.until(() => page.batches.some((b) => b.droppedBatches > 0 && b.dropped > 0));
  const late = page.batches.find((b) => b.droppedBatches > 0)!;
  t.true(late.dropped >= late.droppedBatches);
  await flush();
  await page.close();
  await teardown(server, arbiter);
});

test('attachInspector() - close() is idempotent, frees the port and disconnects pages', async (t) => {
  const { server, arbiter } = await setup();
  const page = client(server);
  await page.opened;
  const closed = new Promise<void>((resolve) => page.ws.once('close', () => resolve()));
  await server.close();
  await server.close();
  await closed;
  await t.throwsAsync(fetch(server.url));
  const again = await attachInspector(arbiter, { port: server.port });
  await teardown(again, arbiter);
});
