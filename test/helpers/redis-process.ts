// One arbiter process on Redis, driven over IPC by a test (child_process.fork): the multi-process
// and failover tests start several of these on one redis-server. Facts that must hold across
// processes (who executed when, how many at once) are recorded in Redis itself, with Redis time.
//
// Parent → child: init, burst, load, hold, write, take, stop (see Command). Child → parent: one
// reply per command (`type` echoes it), plus `executing` when a held operation starts.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { createArbiter, type Arbiter, type OperationHandle, type WhileExecuting } from '../../src/index.js';
import { createRedisStore, redisBackend, type Fence, type RedisEntityStore } from '../../src/redis/index.js';

export type Command =
  | { type: 'init'; url: string; keyPrefix: string; processId: string; windowMs: number; whileExecuting: WhileExecuting; gracePeriodMs: number; leaseMs: number }
  /** Waits until wall-clock `at` (ms since the epoch), then submits every op at once. */
  | { type: 'burst'; at: number; ops: { key: string; target: string; priority: number }[] }
  /** `rate` ops/s for `durationMs` on `targets`; each execution is recorded in Redis (see ENTER). */
  | { type: 'load'; durationMs: number; rate: number; targets: string[]; workMs: [number, number]; seed: number }
  /** One operation that holds `target` until told to `write` (it ignores its AbortSignal, like a zombie). */
  | { type: 'hold'; target: string; priority: number; entity: string }
  /** The held operation writes `entity` with its fence now. */
  | { type: 'write' }
  /** One operation on `target` that writes `entity` with its fence and ends. */
  | { type: 'take'; target: string; priority: number; entity: string }
  | { type: 'stop' };

/** One execution's start and end in Redis time (ms), with its fencing token. */
export interface Execution {
  readonly processId: string;
  readonly id: string;
  readonly token: number;
  readonly startedAt: number;
  readonly endedAt: number;
}

export interface Totals {
  submitted: number;
  completed: number;
  rejected: number;
  inFlight: number;
  rejectedByCode: Record<string, number>;
}

/**
 * ENTER/LEAVE: a target's executions in Redis. ENTER counts one more executing on the target,
 * keeps the highest count ever seen and counts executions; LEAVE counts one less.
 * KEYS: 1 active count, 2 highest count, 3 executions.
 */
export const ENTER = `
local n = redis.call('INCR', KEYS[1])
if n > tonumber(redis.call('GET', KEYS[2]) or '0') then redis.call('SET', KEYS[2], n) end
redis.call('INCR', KEYS[3])
return n`;

/** The Redis keys (a hash tag per target) of the ENTER/LEAVE records. */
export const recordKeys = (keyPrefix: string, target: string): [string, string, string] => [
  `${keyPrefix}test:{${target}}:active`,
  `${keyPrefix}test:{${target}}:max`,
  `${keyPrefix}test:{${target}}:executions`,
];

/** Redis time in milliseconds. */
export async function redisNow(client: Redis): Promise<number> {
  const [s, us] = await client.time();
  return Number(s) * 1000 + Number(us) / 1000;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function totals(arbiter: Arbiter): Totals {
  const m = arbiter.metrics();
  const rejectedByCode = Object.fromEntries(Object.entries(m.rejectedByCode).filter(([, n]) => n > 0));
  return { submitted: m.submitted, completed: m.completed, rejected: m.rejected, inFlight: m.inFlight, rejectedByCode };
}

async function outcome(h: OperationHandle): Promise<string> {
  try {
    return `completed:${String(await h.result)}`;
  } catch (err) {
    return `rejected:${(err as { code?: string }).code ?? String(err)}`;
  }
}

function send(message: Record<string, unknown>): void {
  process.send?.(message);
}

// --- the child ----------------------------------------------------------------------------------

let arbiter: Arbiter | undefined;
let redis: Redis | undefined;
let store: RedisEntityStore | undefined;
let keyPrefix = '';
let processId = '';
let writeNow: (() => void) | undefined;

async function handle(c: Command): Promise<void> {
  switch (c.type) {
    case 'init': {
      keyPrefix = c.keyPrefix;
      processId = c.processId;
      redis = new Redis(c.url);
      store = createRedisStore({ url: c.url, keyPrefix });
      arbiter = createArbiter({
        windowMs: c.windowMs,
        whileExecuting: c.whileExecuting,
        gracePeriodMs: c.gracePeriodMs,
        backend: redisBackend({ url: c.url, keyPrefix, leaseMs: c.leaseMs, processId }),
      });
      await arbiter.ready();
      await store.ready();
      send({ type: 'init', pid: process.pid });
      return;
    }
    case 'burst': {
      const a = arbiter!;
      await sleep(Math.max(0, c.at - Date.now()));
      const handles = c.ops.map((op) => ({ op, h: a.submit({ target: op.target, priority: op.priority, execute: async () => op.key }) }));
      const results = await Promise.all(handles.map(async ({ op, h }) => ({ ...op, id: h.id, outcome: await outcome(h) })));
      send({ type: 'burst', results, totals: totals(a) });
      return;
    }
    case 'load': {
      const a = arbiter!;
      const client = redis!;
      let seed = c.seed;
      const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
      const handles: Promise<string>[] = [];
      const t0 = performance.now();
      let submitted = 0;
      while (performance.now() - t0 < c.durationMs) {
        const due = Math.floor(((performance.now() - t0) * c.rate) / 1000);
        for (; submitted < due; submitted++) {
          const target = c.targets[Math.floor(random() * c.targets.length)]!;
          const work = c.workMs[0] + random() * (c.workMs[1] - c.workMs[0]);
          const keys = recordKeys(keyPrefix, target);
          const h = a.submit({
            target,
            priority: 1 + Math.floor(random() * 10),
            execute: async () => {
              await client.eval(ENTER, 3, ...keys);
              try {
                await sleep(work);
              } finally {
                await client.decr(keys[0]);
              }
              return 'done';
            },
          });
          handles.push(outcome(h));
        }
        await sleep(5);
      }
      await Promise.all(handles);
      send({ type: 'load', totals: totals(a) });
      return;
    }
    case 'hold': {
      const a = arbiter!;
      const client = redis!;
      const s = store!;
      const h = a.submit({
        target: c.target,
        priority: c.priority,
        execute: async ({ fence }) => {
          const startedAt = await redisNow(client);
          const written = new Promise<void>((resolve) => (writeNow = resolve));
          send({ type: 'executing', id: h.id, fence, startedAt });
          // A zombie: it goes on whatever its AbortSignal says, and writes when told to.
          await written;
          try {
            await s.update<{ writers: string[] }>(c.entity, (d) => void d.writers.push(processId), fence ? { fence } : {});
            send({ type: 'write', ok: true });
          } catch (err) {
            send({ type: 'write', ok: false, name: (err as Error).name, reason: (err as { reason?: string }).reason, message: (err as Error).message });
          }
          return 'held';
        },
      });
      send({ type: 'hold', id: h.id, outcome: await outcome(h), totals: totals(a) });
      return;
    }
    case 'write': {
      writeNow?.();
      return;
    }
    case 'take': {
      const a = arbiter!;
      const client = redis!;
      const s = store!;
      let execution: Omit<Execution, 'processId' | 'id'> | undefined;
      const h = a.submit({
        target: c.target,
        priority: c.priority,
        execute: async ({ fence }) => {
          const startedAt = await redisNow(client);
          await s.update<{ writers: string[] }>(c.entity, (d) => void d.writers.push(processId), fence ? { fence } : {});
          execution = { token: fence?.token ?? -1, startedAt, endedAt: await redisNow(client) };
          return 'taken';
        },
      });
      const result = await outcome(h);
      send({ type: 'take', outcome: result, execution: execution ? { processId, id: h.id, ...execution } : undefined, totals: totals(a) });
      return;
    }
    case 'stop': {
      await arbiter?.stop();
      await store?.close();
      redis?.disconnect();
      send({ type: 'stop' });
      process.disconnect();
      return;
    }
  }
}

export type { Fence };

// --- the parent ---------------------------------------------------------------------------------

/**
 * A forked arbiter process, as the test sees it.
 *
 * @example
 * ```ts
 * const p = await startArbiterProcess({ type: 'init', url, keyPrefix, processId: 'p1', windowMs: 100, whileExecuting: 'preempt', gracePeriodMs: 200, leaseMs: 1000 });
 * const done = await p.request({ type: 'take', target: 't', priority: 5, entity: 'e' });
 * await p.stop();
 * ```
 */
export interface ArbiterProcess {
  readonly pid: number;
  readonly child: ChildProcess;
  /** Sends a command and resolves with its reply (`type` echoes it). */
  request<T = Record<string, unknown>>(command: Command): Promise<T>;
  /** Sends a command that has no reply of its own. */
  tell(command: Command): void;
  /** The next message of `type` (one already received and not yet taken comes first). */
  next<T = Record<string, unknown>>(type: string): Promise<T>;
  /** Resolves with the signal or code the process exited with. */
  readonly exited: Promise<string>;
  /** Stops the arbiter and waits for the exit; kills the process if it does not exit in time. */
  stop(): Promise<void>;
}

/** Forks a process running this file, sends it `init` and waits for its reply. */
export async function startArbiterProcess(init: Extract<Command, { type: 'init' }>): Promise<ArbiterProcess> {
  const child = fork(fileURLToPath(import.meta.url), ['--arbiter-test-process'], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const received = new Map<string, Record<string, unknown>[]>();
  const waiting = new Map<string, ((m: Record<string, unknown>) => void)[]>();
  let failure: Error | undefined;
  const exited = new Promise<string>((resolve) => child.once('exit', (code, signal) => resolve(signal ?? String(code))));
  child.on('message', (raw) => {
    const m = raw as Record<string, unknown>;
    const type = String(m['type']);
    if (type === 'error') {
      failure = new Error(`process ${init.processId} failed on ${String(m['command'])}: ${String(m['message'])}`);
      for (const list of waiting.values()) for (const w of list.splice(0)) w(m);
      return;
    }
    const w = waiting.get(type)?.shift();
    if (w) w(m);
    else received.set(type, [...(received.get(type) ?? []), m]);
  });
  const next = <T>(type: string): Promise<T> => {
    const queued = received.get(type)?.shift();
    if (queued) return Promise.resolve(queued as T);
    return new Promise<T>((resolve, reject) => {
      const list = waiting.get(type) ?? [];
      list.push((m) => (m['type'] === 'error' ? reject(failure) : resolve(m as T)));
      waiting.set(type, list);
      void exited.then((how) => reject(new Error(`process ${init.processId} exited (${how}) before its ${type} reply`)));
    });
  };
  const p: ArbiterProcess = {
    pid: child.pid!,
    child,
    exited,
    next,
    tell: (command) => void child.send(command),
    request<T>(command: Command) {
      const reply = next<T>(command.type);
      child.send(command);
      return reply;
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise((resolve) => (timer = setTimeout(resolve, 30_000)));
      await Promise.race([p.request({ type: 'stop' }).then(() => exited), exited, late]).catch(() => undefined);
      clearTimeout(timer);
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exited;
      }
    },
  };
  await p.request(init);
  return p;
}

// Only as a forked child (imported by a test for its types and keys, it does nothing).
if (process.send !== undefined && process.argv.includes('--arbiter-test-process')) {
  process.on('message', (c: Command) => {
    handle(c).catch((err: unknown) => send({ type: 'error', command: c.type, message: err instanceof Error ? (err.stack ?? err.message) : String(err) }));
  });
}
