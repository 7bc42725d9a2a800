import { request } from 'node:http';
import { networkInterfaces } from 'node:os';
import test from 'ava';
import WebSocket from 'ws';
import { allowedHostnames, attachInspector, checkRequest, startInspector, type InspectorServer } from '../../inspector/index.js';
import { hostnameOf, originHostname } from '../../inspector/security.js';
import { ArbiterInputError } from '../../src/index.js';
import { harness } from '../helpers/index.js';

/** A raw GET with the headers a browser (or an attacker) would send. */
function get(server: InspectorServer, headers: Record<string, string>, path = '/'): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: server.host, port: server.port, path, headers, setHost: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

/** A WebSocket upgrade with the given headers: `open`, or the HTTP status it was refused with. */
function upgrade(server: InspectorServer, headers: Record<string, string>, path = '/ws'): Promise<'open' | number> {
  const host = server.host.includes(':') ? `[${server.host}]` : server.host;
  const ws = new WebSocket(`ws://${host}:${server.port}${path}`, { headers });
  return new Promise((resolve, reject) => {
    ws.once('open', () => {
      ws.close();
      resolve('open');
    });
    ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.once('error', (err) => {
      if (!/Unexpected server response/.test(String(err))) reject(err);
    });
  });
}

async function withServer(options: Parameters<typeof attachInspector>[1], run: (server: InspectorServer) => Promise<void>) {
  const { arbiter } = harness();
  const server = await attachInspector(arbiter, options);
  try {
    await run(server);
  } finally {
    await server.close();
    await arbiter.stop();
  }
}

test('hostnameOf(), originHostname() - canonical names; userinfo, paths and junk are not hosts', (t) => {
  t.is(hostnameOf('LocalHost:4680'), 'localhost');
  t.is(hostnameOf('[0:0:0:0:0:0:0:1]:4680'), '[::1]');
  t.is(hostnameOf('127.1'), '127.0.0.1');
  t.is(hostnameOf('evil.example@127.0.0.1'), undefined);
  t.is(hostnameOf('127.0.0.1/x'), undefined);
  t.is(hostnameOf(''), undefined);
  t.is(hostnameOf(undefined), undefined);
  t.is(originHostname('http://LOCALHOST:5173'), 'localhost');
  t.is(originHostname('null'), undefined);
  t.is(originHostname('file:///etc/passwd'), undefined);
  t.is(originHostname('http://user:pw@127.0.0.1'), undefined);
});

test('checkRequest() - the Host must be allowed, and the Origin too when there is one', (t) => {
  const allowed = allowedHostnames('127.0.0.1', ['devbox.local']);
  t.is(checkRequest({ host: '127.0.0.1:4680' }, allowed), undefined);
  t.is(checkRequest({ host: 'attacker.example:4680', origin: 'http://attacker.example:4680' }, allowed), 'host');
  t.is(checkRequest({ host: 'localhost:4680', origin: 'http://attacker.example:4680' }, allowed), 'origin');
  t.is(checkRequest({ host: 'devbox.local', origin: 'http://devbox.local:4680' }, allowed), undefined);
  t.is(checkRequest({ host: undefined }, allowed), 'host');
  t.is(checkRequest({ host: 'localhost.', origin: undefined }, allowed), 'host');
  t.is(checkRequest({ host: 'localhost:4680', origin: 'null' }, allowed), 'origin');
});

test('attachInspector() - DNS rebinding: a Host naming another site is refused over HTTP, whatever the Origin', async (t) => {
  await withServer({}, async (server) => {
    const port = server.port;
    t.is(await get(server, { Host: `attacker.example:${port}` }), 403);
    t.is(await get(server, { Host: `attacker.example:${port}`, Origin: `http://attacker.example:${port}` }), 403);
    t.is(await get(server, { Host: `attacker.example:${port}` }, '/app.js'), 403);
    t.is(await get(server, { Host: `127.0.0.1.nip.io:${port}` }), 403);
    t.is(await get(server, { Host: `localhost.attacker.example:${port}` }), 403);
    t.is(await get(server, {}), 400, 'no Host at all: Node refuses it before the inspector sees it');
    t.is(await get(server, { Host: `127.0.0.1:${port}` }), 200);
    t.deepEqual(server.stats().refused, { host: 5, origin: 0 });
  });
});

test('attachInspector() - DNS rebinding: a WebSocket upgrade with a foreign Host is refused before it opens', async (t) => {
  await withServer({}, async (server) => {
    const port = server.port;
    t.is(await upgrade(server, { Host: `attacker.example:${port}`, Origin: `http://attacker.example:${port}` }), 403);
    t.is(await upgrade(server, { Host: `attacker.example:${port}` }), 403, 'without an Origin too');
    t.is(await upgrade(server, { Host: `attacker.example:${port}` }, '/'), 403, 'the app endpoint too');
    t.is(server.stats().clients, 0);
  });
});

test('attachInspector() - the right Host with a foreign Origin is refused (a hostile page in another tab)', async (t) => {
  await withServer({}, async (server) => {
    const port = server.port;
    const host = `127.0.0.1:${port}`;
    t.is(await upgrade(server, { Host: host, Origin: 'http://evil.example' }), 403);
    t.is(await upgrade(server, { Host: host, Origin: `http://attacker.example:${port}` }), 403);
    t.is(await upgrade(server, { Host: host, Origin: 'null' }), 403, 'sandboxed frames and file pages');
    t.is(await upgrade(server, { Host: host, Origin: 'http://evil.example' }, '/'), 403, 'apps in a browser too');
    t.is(await get(server, { Host: host, Origin: 'http://evil.example' }), 403);
    t.is(await upgrade(server, { Host: host, Origin: `http://127.0.0.1:${port}` }), 'open');
    t.is(server.stats().refused.origin, 5);
  });
});

test('attachInspector() - an upgrade without an Origin is accepted: browsers always send one, so it is not a page', async (t) => {
  await withServer({}, async (server) => {
    t.is(await upgrade(server, { Host: `127.0.0.1:${server.port}` }), 'open');
    t.is(await upgrade(server, { Host: `127.0.0.1:${server.port}` }, '/'), 'open');
  });
});

test('attachInspector() - case and port variations of an allowed host are the same host', async (t) => {
  await withServer({}, async (server) => {
    const port = server.port;
    for (const host of [`LOCALHOST:${port}`, 'localhost', `localhost:1`, `127.0.0.1`, `[::1]:${port}`, `LocalHost:${port}`]) {
      t.is(await get(server, { Host: host }), 200, host);
    }
    t.is(await upgrade(server, { Host: `LOCALHOST:${port}`, Origin: `HTTP://LocalHost:${port + 1}` }), 'open');
    t.is(await get(server, { Host: `localhost.:${port}` }), 403, 'a trailing dot is another name');
  });
});

test('attachInspector() - bound to the IPv6 loopback: [::1] and localhost are accepted', async (t) => {
  await withServer({ host: '::1' }, async (server) => {
    t.is(server.url, `http://[::1]:${server.port}/`);
    t.is(await get(server, { Host: `[::1]:${server.port}` }), 200);
    t.is(await get(server, { Host: `localhost:${server.port}` }), 200);
    t.is(await upgrade(server, { Host: `[::1]:${server.port}`, Origin: `http://[::1]:${server.port}` }), 'open');
    t.is(await get(server, { Host: `attacker.example:${server.port}` }), 403);
  });
});

test('attachInspector({ allowedHosts }) - a configured name is served; unconfigured names still are not', async (t) => {
  await withServer({ allowedHosts: ['DevBox.Local', 'inspector.internal'] }, async (server) => {
    const port = server.port;
    t.is(await get(server, { Host: `devbox.local:${port}` }), 200);
    t.is(await upgrade(server, { Host: `inspector.internal`, Origin: 'https://inspector.internal' }), 'open');
    t.is(await upgrade(server, { Host: `devbox.local:${port}`, Origin: 'http://other.local' }), 403);
    t.is(await get(server, { Host: `attacker.example:${port}` }), 403);
  });
  const { arbiter } = harness();
  for (const bad of [['http://devbox.local'], ['devbox.local:80'], ['a/b'], [''], [42], 'devbox.local']) {
    const err = await t.throwsAsync(attachInspector(arbiter, { allowedHosts: bad as never }), { instanceOf: ArbiterInputError });
    t.regex(err?.field ?? '', /^allowedHosts/);
  }
  await arbiter.stop();
});

test('startInspector() - the same rules without an arbiter', async (t) => {
  const server = await startInspector();
  try {
    t.is(await get(server, { Host: `attacker.example:${server.port}` }), 403);
    t.is(await upgrade(server, { Host: `127.0.0.1:${server.port}`, Origin: 'http://evil.example' }, '/'), 403);
    t.is(await get(server, { Host: `127.0.0.1:${server.port}` }), 200);
  } finally {
    await server.close();
  }
});

test('allowedHostnames() - bound to every interface, each local address is an allowed name; names stay refused', (t) => {
  const any = allowedHostnames('0.0.0.0');
  const addresses = Object.values(networkInterfaces()).flat().filter((a) => a && a.family === 'IPv4').map((a) => a!.address);
  t.true(addresses.length > 0);
  for (const a of addresses) t.true(any.has(a), a);
  t.is(checkRequest({ host: `${addresses[0]}:4680` }, any), undefined);
  t.is(checkRequest({ host: 'attacker.example:4680' }, any), 'host');
  t.false(allowedHostnames('127.0.0.1').has(addresses.find((a) => a !== '127.0.0.1') ?? '10.255.255.255'), 'not when bound to loopback');
});

test('attachInspector() - refusals carry the same headers as the page (CSP, nosniff), and no page content', async (t) => {
  await withServer({}, async (server) => {
    const res = await new Promise<import('node:http').IncomingMessage>((resolve, reject) => {
      const req = request({ host: server.host, port: server.port, path: '/', headers: { Host: 'attacker.example' }, setHost: false }, resolve);
      req.on('error', reject);
      req.end();
    });
    let body = '';
    for await (const chunk of res) body += String(chunk);
    t.is(res.statusCode, 403);
    t.regex(String(res.headers['content-security-policy']), /default-src 'none'/);
    t.is(res.headers['x-content-type-options'], 'nosniff');
    t.notRegex(body, /<html|<script/i);
  });
});
