// The behaviour of the backend seam, written once: every backend runs these tests (the in-memory
// one on a simulated clock, a shared one on real time). They assert outcomes, never timings.
import type { ExecutionContext, TestFn } from 'ava';
import { Priority, type Arbiter, type ArbiterOptions, type OperationHandle } from '../../src/index.js';

/** One backend under test. */
export interface BackendEnv {
  /** Creates an arbiter on this backend (each call in a namespace of its own). */
  arbiter(options?: ArbiterOptions): Promise<Arbiter>;
  /** Lets `ms` of the arbiter's time pass, and the promises it settles run. */
  advance(ms: number): Promise<void>;
  /** Releases what `arbiter()` created (stopping each arbiter is the test's job). */
  dispose(): Promise<void>;
}

const WINDOW = 100;

async function outcomeOf(h: OperationHandle): Promise<string> {
  try {
    return `completed:${String(await h.result)}`;
  } catch (err) {
    return `rejected:${(err as { code: string }).code}`;
  }
}

/** An `execute` that runs until released (or aborted), and records its signal. */
function gate() {
  let release!: (v: string) => void;
  let aborted = false;
  const promise = new Promise<string>((resolve) => (release = resolve));
  return {
    execute: ({ signal }: { signal: AbortSignal }) => {
      signal.addEventListener('abort', () => (aborted = true));
      return promise;
    },
    release: (v = 'released') => release(v),
    get aborted() {
      return aborted;
    },
  };
}

/**
 * Registers the seam's behaviour tests for one backend.
 *
 * @example
 * ```ts
 * backendSuite(test, 'memory', async () => memoryEnv());
 * ```
 */
export function backendSuite(test: TestFn, name: string, makeEnv: () => Promise<BackendEnv>): void {
  const run = (title: string, body: (env: BackendEnv, t: ExecutionContext) => Promise<void>) =>
    test.serial(`backend ${name} - ${title}`, async (t) => {
      const env = await makeEnv();
      try {
        await body(env, t);
      } finally {
        await env.dispose();
      }
    });

  run('one window per target: the highest effective priority wins, every other candidate loses', async (env, t) => {
    const arbiter = await env.arbiter({ windowMs: WINDOW });
    const handles = [Priority.LOW, Priority.CRITICAL, Priority.NORMAL, Priority.HIGH].map((priority) =>
      arbiter.submit({ target: 'acct', priority, execute: async () => priority }),
    );
    await env.advance(WINDOW);
    await env.advance(WINDOW);
    const outcomes = await Promise.all(handles.map(outcomeOf));
    t.deepEqual(outcomes, ['rejected:lost-arbitration', `completed:${Priority.CRITICAL}`, 'rejected:lost-arbitration', 'rejected:lost-arbitration']);
    await arbiter.stop();
  });

  run('equal priorities: the earliest submission wins', async (env, t) => {
    const arbiter = await env.arbiter({ windowMs: WINDOW });
    const handles = ['first', 'second', 'third'].map((v) => arbiter.submit({ target: 'acct', execute: async () => v }));
    await env.advance(WINDOW);
    await env.advance(WINDOW);
    t.deepEqual(await Promise.all(handles.map(outcomeOf)), ['completed:first', 'rejected:lost-arbitration', 'rejected:lost-arbitration']);
    await arbiter.stop();
  });

  run('different targets never conflict; a parent lends its priority', async (env, t) => {
    const arbiter = await env.arbiter({ windowMs: WINDOW });
    const parent = arbiter.submit({ target: 'other', id: 'parent', priority: Priority.CRITICAL, execute: () => new Promise(() => {}) });
    const child = arbiter.submit({ target: 'acct', priority: Priority.BACKGROUND, parentId: parent.id, execute: async () => 'child' });
    const rival = arbiter.submit({ target: 'acct', priority: Priority.HIGH, execute: async () => 'rival' });
    const alone = arbiter.submit({ target: 'elsewhere', execute: async () => 'alone' });
    await env.advance(WINDOW);
    await env.advance(WINDOW);
    t.deepEqual(await Promise.all([child, rival, alone].map(outcomeOf)), ['completed:child', 'rejected:lost-arbitration', 'completed:alone']);
    await arbiter.stop();
  });

  run('a candidate staged after the window closed competes in the next window', async (env, t) => {
    const arbiter = await env.arbiter({ windowMs: WINDOW, whileExecuting: 'queue' });
    const first = gate();
    const a = arbiter.submit({ target: 'acct', priority: Priority.LOW, execute: first.execute });
    await env.advance(WINDOW);
    await env.advance(WINDOW / 2);
    const b = arbiter.submit({ target: 'acct', priority: Priority.CRITICAL, execute: async () => 'b' });
    await env.advance(WINDOW);
    t.deepEqual(a.status(), 'executing');
    t.deepEqual(b.status(), 'staged');
    first.release('a');
    await env.advance(WINDOW);
    await env.advance(WINDOW);
    t.deepEqual(await Promise.all([a, b].map(outcomeOf)), ['completed:a', 'completed:b']);
    await arbiter.stop();
  });

  run("preempt: a holder past its grace period with a lower priority is aborted and rejected 'preempted'", async (env, t) => {
    const arbiter = await env.arbiter({ windowMs: WINDOW, gracePeriodMs: WINDOW });
    const holder = gate();
    const low = arbiter.submit({ target: 'acct', priority: Priority.LOW, execute: holder.execute });
    await env.advance(WINDOW);
    await env.advance(WINDOW * 2); // past the grace period
    const high = arbiter.submit({ target: 'acct', priority: Priority.CRITICAL, execute: async () => 'high' });
    await env.advance(WINDOW);
    await env.advance(WINDOW);
    t.deepEqual(await Promise.all([low, high].map(outcomeOf)), ['rejected:preempted', 'completed:high']);
    t.deepEqual(holder.aborted, true);
    await arbiter.stop();
  });

  run('preempt: inside its grace period the holder keeps the target; the winner waits and runs after it', async (env, t) => {
    const arbiter = await env.arbiter({ windowMs: WINDOW, gracePeriodMs: 60_000 });
    const holder = gate();
    const low = arbiter.submit({ target: 'acct', priority: Priority.LOW, execute: holder.execute });
    await env.advance(WINDOW);
    const high = arbiter.submit({ target: 'acct', priority: Priority.CRITICAL, execute: async () => 'high' });
    await env.advance(WINDOW);
    await env.advance(WINDOW);
    t.deepEqual([low.status(), high.status()], ['executing', 'staged']);
    holder.release('low');
    await env.advance(WINDOW);
    await env.advance(WINDOW);
    t.deepEqual(await Promise.all([low, high].map(outcomeOf)), ['completed:low', 'completed:high']);
    t.deepEqual(holder.aborted, false);
    await arbiter.stop();
  });

  run('queue never preempts; concurrent runs the winner alongside the holder', async (env, t) => {
    for (const whileExecuting of ['queue', 'concurrent'] as const) {
      const arbiter = await env.arbiter({ windowMs: WINDOW, gracePeriodMs: 0, whileExecuting });
      const holder = gate();
      const low = arbiter.submit({ target: 'acct', priority: Priority.LOW, execute: holder.execute });
      await env.advance(WINDOW);
      await env.advance(WINDOW);
      const high = arbiter.submit({ target: 'acct', priority: Priority.CRITICAL, execute: async () => 'high' });
      await env.advance(WINDOW);
      await env.advance(WINDOW);
      t.deepEqual(high.status(), whileExecuting === 'queue' ? 'staged' : 'completed');
      t.deepEqual(arbiter.metrics().executing, 1);
      holder.release('low');
      await env.advance(WINDOW);
      await env.advance(WINDOW);
      t.deepEqual(await Promise.all([low, high].map(outcomeOf)), ['completed:low', 'completed:high']);
      await arbiter.stop();
    }
  });

  run('at most one execution per target at any event (preempt and queue), and the accounting holds at every event', async (env, t) => {
    for (const whileExecuting of ['preempt', 'queue'] as const) {
      const arbiter = await env.arbiter({ windowMs: WINDOW, gracePeriodMs: WINDOW, whileExecuting, maxStagedPerTarget: 100 });
      const problems: string[] = [];
      const running = new Map<string, number>();
      arbiter.events$.subscribe((e) => {
        const m = arbiter.metrics();
        if (m.submitted !== m.completed + m.rejected + m.inFlight) problems.push(`accounting at ${e.type}`);
        if (e.type === 'operation.started') running.set(e.target, (running.get(e.target) ?? 0) + 1);
        if ((e.type === 'operation.completed' || (e.type === 'operation.rejected' && e.won)) && running.get(e.target)) running.set(e.target, running.get(e.target)! - 1);
        for (const [target, n] of running) if (n > 1) problems.push(`${n} running on ${target}`);
      });
      const handles: OperationHandle[] = [];
      for (let round = 0; round < 4; round++) {
        for (let i = 0; i < 6; i++) {
          const priority = [Priority.LOW, Priority.NORMAL, Priority.HIGH, Priority.CRITICAL][(round + i) % 4]!;
          handles.push(arbiter.submit({ target: `t${i % 2}`, priority, execute: async () => i }));
        }
        await env.advance(WINDOW);
      }
      for (let i = 0; i < 6; i++) await env.advance(WINDOW);
      await arbiter.onIdle();
      const outcomes = await Promise.all(handles.map(outcomeOf));
      const m = arbiter.metrics();
      t.deepEqual(problems, []);
      t.deepEqual(m.submitted, handles.length);
      t.deepEqual(m.completed, outcomes.filter((o) => o.startsWith('completed')).length);
      t.deepEqual(m.inFlight, 0);
      await arbiter.stop();
    }
  });

  run('stop(): everything not final ends shutdown, and nothing is left in flight', async (env, t) => {
    const arbiter = await env.arbiter({ windowMs: WINDOW });
    const holder = gate();
    const running = arbiter.submit({ target: 'acct', execute: holder.execute });
    await env.advance(WINDOW);
    const staged = arbiter.submit({ target: 'acct', execute: async () => 'never' });
    await arbiter.stop();
    t.deepEqual(await Promise.all([running, staged].map(outcomeOf)), ['rejected:shutdown', 'rejected:shutdown']);
    t.deepEqual(holder.aborted, true);
    t.deepEqual(arbiter.metrics().inFlight, 0);
  });
}
