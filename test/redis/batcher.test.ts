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

test('CommandBatcher - commands of one turn share a pipeline; while it is on its way, later ones wait and go together', async (t) => {
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
  t.is(pipelines.length, 1, 'nothing more is sent while the first pipeline waits for its replies');
  pipelines[0]!.answer.resolve([[null, 'A'], [new Error('boom'), null]]);
  t.is(await a, 'A');
  await t.throwsAsync(b, { message: 'boom' });
  await turn();
  t.deepEqual(pipelines.map((p) => p.commands), [['a', 'b'], ['c', 'd']]);
  pipelines[1]!.answer.reject(new Error('connection lost'));
  await t.throwsAsync(c, { message: 'connection lost' });
  await t.throwsAsync(d, { message: 'connection lost' });
  t.deepEqual(batcher.stats, { commands: 4, roundTrips: 2 });
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
