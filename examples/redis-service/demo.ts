/**
 * Starts the service (./server.ts) as two processes on one Redis, sends each round of
 * withdrawals from one account to both of them at once, and shows that each round (one window)
 * has one winner across the two processes: the highest priority, whichever process it reached.
 *
 *   REDIS_URL=redis://127.0.0.1:6379 npx tsx examples/redis-service/demo.ts
 *
 * Exits 1 if a round has no winner or more than one.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { isMain } from '../support.js';

interface Started {
  readonly child: ChildProcess;
  readonly url: string;
  readonly processId: string;
}

function startServer(redisUrl: string, processId: string, windowMs: number): Promise<Started> {
  const server = fileURLToPath(new URL('./server.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', server], {
    env: { ...process.env, REDIS_URL: redisUrl, PORT: '0', PROCESS_ID: processId, WINDOW_MS: String(windowMs) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /listening (\S+) as (\S+)/.exec(out);
      if (m) resolve({ child, url: m[1]!, processId: m[2]! });
    });
    child.once('exit', (code) => reject(new Error(`the ${processId} process exited (${code}) before listening`)));
  });
}

async function call(url: string, method: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(url, { method, headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

/** Runs the demo; resolves with whether every round had exactly one winner (the highest priority). */
export async function demo(redisUrl: string, log: (line: string) => void = console.log): Promise<boolean> {
  const windowMs = 500;
  const servers = await Promise.all([startServer(redisUrl, 'service-a', windowMs), startServer(redisUrl, 'service-b', windowMs)]);
  let ok = true;
  try {
    log(`two processes on ${redisUrl}: ${servers.map((s) => `${s.processId} at ${s.url}`).join(', ')}`);
    await call(`${servers[0]!.url}/accounts/acct-1`, 'PUT', { balance: 100 });
    const rounds = [
      [3, 7, 5, 9, 2, 6],
      [8, 1, 4, 6, 2, 5],
      [2, 4, 10, 3, 7, 1],
    ];
    for (const [r, priorities] of rounds.entries()) {
      // One round: every request at once, alternately to each process (one window).
      const results = await Promise.all(
        priorities.map(async (priority, i) => {
          const via = servers[i % 2]!;
          const { status, json } = await call(`${via.url}/accounts/acct-1/withdraw`, 'POST', { amount: 10, priority });
          return { priority, via: via.processId, status, json };
        }),
      );
      log(`round ${r + 1}:`);
      for (const x of results) {
        log(`  priority ${String(x.priority).padStart(2)} via ${x.via}: ${x.status} ${x.json['status']}${x.json['status'] === 'completed' ? ` (balance ${x.json['balance']})` : ` ${x.json['code']}`}`);
      }
      const winners = results.filter((x) => x.json['status'] === 'completed');
      const highest = Math.max(...priorities);
      const one = winners.length === 1 && winners[0]!.priority === highest && results.every((x) => x === winners[0] || x.json['code'] === 'lost-arbitration');
      ok &&= one;
      log(one ? `  one winner across both processes: priority ${highest} via ${winners[0]!.via}` : `  NOT one winner: ${winners.length} completed`);
    }
    const account = await call(`${servers[1]!.url}/accounts/acct-1`, 'GET');
    log(`balance after ${rounds.length} rounds: ${account.json['balance']} (100 - ${rounds.length} × 10)`);
    ok &&= account.json['balance'] === 100 - rounds.length * 10;
  } finally {
    await Promise.all(servers.map((s) => new Promise((resolve) => (s.child.exitCode !== null ? resolve(undefined) : (s.child.once('exit', resolve), s.child.kill('SIGTERM'))))));
  }
  return ok;
}

if (isMain(import.meta.url)) {
  const ok = await demo(process.env['REDIS_URL'] ?? process.argv[2] ?? 'redis://127.0.0.1:6379');
  process.exitCode = ok ? 0 : 1;
}
