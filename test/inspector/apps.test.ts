import test from 'ava';
import { createWebSocketInspector } from '@statelyai/inspect';
import WebSocket from 'ws';
import { assign, createActor, createMachine, fromPromise, setup } from 'xstate';
import { AppHub, startInspector, type FeedMessage } from '../../inspector/index.js';
import { flush } from '../helpers/index.js';

type Msg = Record<string, any>;
const msgs = (ms: FeedMessage[]) => ms as unknown as Msg[];

const light = createMachine({
  id: 'light',
  initial: 'green',
  context: { changes: 0 },
  states: {
    green: { on: { next: { target: 'yellow', actions: assign({ changes: ({ context }) => context.changes + 1 }) } } },
    yellow: { on: { next: 'red' } },
    red: { on: { next: 'green' } },
  },
});

test('AppHub - app session ids are prefixed, definitions become statecharts, later pages get the current state', (t) => {
  const hub = new AppHub({ wallClock: () => 1_000_000 });
  hub.recording = true;
  const a = hub.connect('shop');
  const b = hub.connect();
  const definition = JSON.stringify(light.config);
  for (const app of [a, b]) {
    app.receive(JSON.stringify({ type: '@xstate.actor', sessionId: 'x:0', rootId: 'x:0', name: 'light', definition, snapshot: { status: 'active', value: 'green', context: { changes: 0 } }, createdAt: '999000', _version: '0.7.2' }));
  }
  a.receive(JSON.stringify({ type: '@xstate.event', sessionId: 'x:0', rootId: 'x:0', event: { type: 'next' }, createdAt: '999500' }));
  a.receive(JSON.stringify({ type: '@xstate.snapshot', sessionId: 'x:0', rootId: 'x:0', event: { type: 'next' }, snapshot: { status: 'active', value: 'yellow', context: { changes: 1 } }, createdAt: 'soon' }));
  const out = msgs(hub.drain(100));
  const actors = out.filter((m) => m.type === '@xstate.actor');
  t.deepEqual(actors.map((m) => [m.sessionId, m.rootId, m.app]), [['app1:x:0', 'app1:x:0', 'app1'], ['app2:x:0', 'app2:x:0', 'app2']]);
  const machines = out.filter((m) => m.type === 'arbiter.machine');
  t.is(machines.length, 1, 'one chart per distinct definition');
  t.is(actors[0]!.machine, machines[0]!.key);
  t.deepEqual(machines[0]!.chart.nodes.map((n: { key: string }) => n.key), ['green', 'yellow', 'red']);
  t.true(out.findIndex((m) => m.type === 'arbiter.machine') < out.findIndex((m) => m.type === '@xstate.actor'));
  const snapshot = out.find((m) => m.type === '@xstate.snapshot')!;
  t.is(snapshot.sessionId, 'app1:x:0');
  t.is(snapshot.createdAt, '1000000', 'an implausible time is replaced by the arrival time');
  t.is(out.find((m) => m.type === '@xstate.event')!.createdAt, '999500');
  // The second app, unnamed, is named after its root actor.
  t.deepEqual(hub.list().map((x) => x.name), ['shop', 'light']);
  // A page that joins now sees the latest snapshot.
  const described = msgs(hub.describe());
  t.is(described.find((m) => m.sessionId === 'app1:x:0')!.snapshot.value, 'yellow');
  a.close();
  t.false(hub.list()[0]!.connected);
});

test('AppHub - hostile input is counted and bounded, never thrown', (t) => {
  const hub = new AppHub();
  hub.recording = true;
  const app = hub.connect();
  const frames = [
    'not json',
    '[]',
    'null',
    '{"type":"@xstate.actor"}',
    '{"type":"other","sessionId":"x"}',
    JSON.stringify({ type: '@xstate.actor', sessionId: 'x'.repeat(1000) }),
    JSON.stringify({ type: '@xstate.actor', sessionId: 'x:1', definition: '{"states": {"a": {"on": {"e": "#nowhere"}}}}', snapshot: null }),
    JSON.stringify({ type: '@xstate.actor', sessionId: 'x:2', definition: '{not json', snapshot: 'weird' }),
    '{"type":"@xstate.snapshot","sessionId":"x:1","snapshot":{"__proto__":{"polluted":true},"value":"a","context":{"__proto__":{"polluted":true},"huge":"' + 'y'.repeat(5000) + '"}}}',
  ];
  for (const f of frames) t.notThrows(() => app.receive(f));
  t.is(hub.malformed, 6);
  const out = msgs(hub.drain(100));
  t.deepEqual(out.filter((m) => m.type === '@xstate.actor').map((m) => m.machine), [undefined, undefined]);
  const snap = out.find((m) => m.type === '@xstate.snapshot')!;
  t.true(Object.prototype.hasOwnProperty.call(snap.snapshot.context, '__proto__'), '__proto__ stays data');
  t.is(({} as { polluted?: boolean }).polluted, undefined);
  t.true(snap.snapshot.context.huge.length < 600);
});

test('startInspector() - an XState app connects with createWebSocketInspector and its actors arrive at the page', async (t) => {
  const server = await startInspector({ flushMs: 10 });
  t.regex(server.appUrl, /^ws:\/\/127\.0\.0\.1:\d+\/$/);
  const page = new WebSocket(`ws://127.0.0.1:${server.port}/ws`);
  const messages: Msg[] = [];
  let hello: Record<string, unknown> | undefined;
  page.on('message', (data) => {
    const batch = JSON.parse(String(data));
    hello ??= batch.hello;
    messages.push(...batch.messages);
  });
  await new Promise((resolve) => page.once('open', resolve));
  const inspector = createWebSocketInspector({ url: `${server.appUrl}?name=lights` });
  const fetcher = setup({ actors: { load: fromPromise(async () => 42), light } }).createMachine({
    id: 'parent',
    initial: 'loading',
    invoke: { id: 'light', src: 'light' },
    states: { loading: { invoke: { src: 'load', onDone: 'done' } }, done: {} },
  });
  const actor = createActor(fetcher, { inspect: inspector.inspect }).start();
  const until = async (test: () => boolean) => {
    for (let i = 0; i < 2000 && !test(); i++) await new Promise((r) => setTimeout(r, 5));
  };
  await until(() => messages.some((m) => m.type === '@xstate.snapshot' && m.snapshot.value === 'done'));
  actor.getSnapshot().children['light']!.send({ type: 'next' });
  await until(() => messages.some((m) => m.type === '@xstate.snapshot' && m.snapshot.value === 'yellow'));
  t.is(hello?.['mode'], 'listen');
  const actors = messages.filter((m) => m.type === '@xstate.actor');
  const root = actors.find((m) => m.name === 'parent')!;
  t.is(root.app, 'app1');
  t.regex(root.sessionId, /^app1:x:\d+$/);
  const child = actors.find((m) => m.name === 'light')!;
  t.is(child.parentId, root.sessionId);
  t.truthy(child.machine);
  t.true(messages.some((m) => m.type === 'arbiter.app' && m.app.name === 'lights'));
  t.true(messages.some((m) => m.type === '@xstate.event' && m.event.type === 'next' && m.sessionId === child.sessionId));
  t.is(server.stats().apps, 1);
  inspector.stop();
  actor.stop();
  page.close();
  await flush();
  await server.close();
});

test('startInspector({ maxApps, maxAppMessageBytes }) - apps beyond the limit are refused; an oversized frame disconnects only its app', async (t) => {
  const server = await startInspector({ maxApps: 2, maxAppMessageBytes: 2048 });
  const open = (name: string) =>
    new Promise<WebSocket | number>((resolve) => {
      const ws = new WebSocket(`${server.appUrl}?name=${name}`);
      ws.once('open', () => resolve(ws));
      ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.once('error', () => undefined);
    });
  const a = await open('a');
  const b = await open('b');
  t.true(a instanceof WebSocket && b instanceof WebSocket);
  t.is(await open('c'), 503);
  t.is(server.stats().apps, 2);
  const closed = new Promise<number>((resolve) => (a as WebSocket).once('close', (code) => resolve(code)));
  (a as WebSocket).send(JSON.stringify({ type: '@xstate.event', sessionId: 'x:0', event: { type: 'big', pad: 'p'.repeat(4096) } }));
  t.is(await closed, 1009);
  for (let i = 0; i < 100 && server.stats().apps !== 1; i++) await flush();
  t.is(server.stats().apps, 1);
  t.true(server.stats().oversized >= 1);
  const c = await open('c');
  t.true(c instanceof WebSocket, 'a free slot takes the next app');
  (b as WebSocket).close();
  (c as WebSocket).close();
  await server.close();
});
