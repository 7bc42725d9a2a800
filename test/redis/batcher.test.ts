import test from 'ava';
import type { ChainableCommander } from 'ioredis';
import { CommandBatcher, type RedisClient } from '../../src/redis/batcher.js';
import { deferred } from '../helpers/index.js';

/** A client whose pipelines record their commands and answer when the test says so. */
function fakeClient() {
  const pipelines: { commands: string[]; answer: ReturnType<typeof deferred<[Error | null, unknown][]>> }[] = [];
  const client = {
    pipeline() {
      const entry = { commands: [] as string[], answer: deferred<[Error | null, unknown][]>() };
      pipelines.push(entry);
      const p = {
        get(key: string) {
          entry.commands.push(key);
          return p;
        },
        exec: () => entry.answer.promise,
      };
      return p as unknown as ChainableCommander;
    },
  } as unknown as RedisClient;
  return { client, pipelines };
}

const turn = () => new Promise((r) => setImmediate(r));
const get = (key: string) => (p: ChainableCommander) => void p.get(key);

test('CommandBatcher - commands of one turn share a pipeline; a later turn\'s go at once in a pipeline of their own, without waiting for earlier replies', async (t) => {
  const { client, pipelines } = fakeClient();
  const batcher = new CommandBatcher(client);
  const a = batcher.add(get('a'), String);
  const b = batcher.add(get('b'), String);
  await turn();
  t.deepEqual(pipelines.map((p) => p.commands), [['a', 'b']]);
  const c = batcher.add(get('c'), String);
  await turn();
  const d = batcher.add(get('d'), String);
  await turn();
  t.deepEqual(pipelines.map((p) => p.commands), [['a', 'b'], ['c'], ['d']], 'no turn waits for the replies of an earlier pipeline');
  pipelines[1]!.answer.resolve([[null, 'C']]);
  t.is(await c, 'C');
  pipelines[0]!.answer.resolve([[null, 'A'], [new Error('boom'), null]]);
  t.is(await a, 'A');
  await t.throwsAsync(b, { message: 'boom' });
  let drained = false;
  const draining = batcher.drain().then(() => (drained = true));
  await turn();
  t.false(drained, 'drain() waits for the pipeline still on its way');
  pipelines[2]!.answer.reject(new Error('connection lost'));
  await t.throwsAsync(d, { message: 'connection lost' });
  await draining;
  t.deepEqual(batcher.stats, { commands: 4, roundTrips: 3 });
});

test('CommandBatcher - a pipeline not answered within timeoutMs fails its commands; later pipelines are not held back by it', async (t) => {
  const { client, pipelines } = fakeClient();
  const batcher = new CommandBatcher(client, 30);
  const stuck = batcher.add(get('x'), String);
  await turn();
  const next = batcher.add(get('y'), String);
  await turn();
  t.is(pipelines.length, 2);
  pipelines[1]!.answer.resolve([[null, 'Y']]);
  t.is(await next, 'Y');
  await t.throwsAsync(stuck, { message: 'Redis did not answer within 30 ms' });
  await batcher.drain();
});

test('CommandBatcher - a command that cannot be written fails alone; the others of its turn are sent', async (t) => {
  const { client, pipelines } = fakeClient();
  const batcher = new CommandBatcher(client);
  const bad = batcher.add(() => {
    throw new Error('the script is not defined');
  }, String);
  const good = batcher.add(get('z'), String);
  await turn();
  t.deepEqual(pipelines.map((p) => p.commands), [['z']]);
  pipelines[0]!.answer.resolve([[null, 'Z']]);
  await t.throwsAsync(bad, { message: 'the script is not defined' });
  t.is(await good, 'Z');
  t.deepEqual(batcher.stats, { commands: 1, roundTrips: 1 });
});

test('CommandBatcher - a parse that throws rejects only its own command', async (t) => {
  const { client, pipelines } = fakeClient();
  const batcher = new CommandBatcher(client);
  const bad = batcher.add(get('x'), () => {
    throw new Error('bad reply');
  });
  const good = batcher.add(get('y'), (r) => `ok ${String(r)}`);
  await turn();
  pipelines[0]!.answer.resolve([[null, 1], [null, 2]]);
  await t.throwsAsync(bad, { message: 'bad reply' });
  t.is(await good, 'ok 2');
});
