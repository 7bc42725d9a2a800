// The README's code, checked against the PACKED package (./consumer.ts) by ./package.test.ts, so
// the README cannot drift from what users install.
//
// How it works: each block becomes its own file in the `full/` consumer project (every optional
// peer installed, the peers at the bottom of their range). All of them are typechecked together
// with this repository's TypeScript (which also compiles them) and with the oldest supported one.
// Then each block runs, by its info string:
//
//   ```ts                a program: the compiled file runs with Node, must exit 0 within BLOCK_TIMEOUT_MS
//   ```ts ava            an ava test file: run by the consumer's ava with the configuration the
//                        README documents (extensions, nodeArguments: --import=tsx, workerThreads: false)
//   ```ts no-run         typechecked only; NO_RUN below must hold the reason (keep it rare)
//   ```ts service=NAME   a program that needs a service: SERVICES[NAME] starts it before the
//                        block runs and gives the block its address through environment variables
//
// Services: a block that needs, say, Redis reads its address from the environment the way a user's
// program would (`process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'`) and is marked
// ```ts service=redis. SERVICES.redis then starts a throwaway server (e.g. `redis-server --port 0`
// or a free port, `--save '' --appendonly no`), resolves with `{ env: { REDIS_URL }, stop }`, and
// the harness stops it after the block. A block naming a service that SERVICES does not have fails
// its test (with what to add), rather than being skipped.
//
// Output: a block whose comments promise output (`console.log(x); // 'frozen'`) gets its promise
// checked in EXPECTED below, so the comments stay true.
import type { ExecutionContext } from 'ava';
import { startRedisServer } from '../helpers/redis.js';

/** How long a README program may run. */
export const BLOCK_TIMEOUT_MS = 60_000;

/** A ```ts block of the README. */
export interface ReadmeBlock {
  /** `NN-heading-slug`, unique, in README order. */
  readonly id: string;
  /** The heading (## or ###) the block sits under. */
  readonly heading: string;
  /** 1-based line of the opening fence in README.md. */
  readonly line: number;
  readonly mode: 'run' | 'ava' | 'no-run';
  readonly service?: string;
  readonly code: string;
}

/** Why a block is not run; each `no-run` block must match exactly one entry, and each entry one block. */
export const NO_RUN: ReadonlyArray<{ contains: string; reason: string }> = [
  {
    contains: 'createSkyInspector',
    reason: "streams to Stately's hosted inspector over the internet (and to a relay on localhost:8080 that does not exist here)",
  },
];

/** A running service for one block. */
export interface Service {
  readonly env: Readonly<Record<string, string>>;
  stop(): Promise<void>;
}

/** Services blocks can ask for with `service=NAME` (see the top of this file). */
export const SERVICES: Readonly<Record<string, () => Promise<Service>>> = {
  // The test harness's redis-server: 127.0.0.1, a free port, no persistence.
  redis: async () => {
    const server = await startRedisServer();
    return { env: { REDIS_URL: server.url }, stop: () => server.dispose() };
  },
};

/** Checks of what a block prints, by a string only that block contains. */
export const EXPECTED: ReadonlyArray<{ contains: string; check: (t: ExecutionContext, lines: string[]) => void }> = [
  {
    // Quick start
    contains: "type: 'freeze'",
    check: (t, lines) => {
      t.is(lines[0], 'frozen');
      t.regex(lines[1] ?? '', /^lost-arbitration - lost arbitration to [0-9a-f-]{36} \(freeze, priority 8 vs 2\)$/);
      t.is(lines[2], '100');
      t.is(lines[3], '1');
    },
  },
  {
    // How do I … retry the operations that lose: staying staged
    contains: "onLose: 'retry', maxLosses: 5",
    check: (t, lines) => t.deepEqual(lines, ['a b c 0']),
  },
  {
    // How do I … tell business errors from failures
    contains: "throw new ExpectedError('insufficient funds')",
    check: (t, lines) => t.deepEqual(lines, ['execution-failed true', 'closed']),
  },
  {
    // How do I … wait for a step of my lifecycle
    contains: "execute: async () => 'published'",
    check: (t, lines) => t.deepEqual(lines, ['ArbiterInputError', 'published']),
  },
  {
    // withConflictResolution: the handle of a wrapped call
    contains: 'const h = withdraw.handle(account, 500);',
    check: (t, lines) => t.deepEqual(lines, ['staged', '500']),
  },
  {
    // Embedding: a coordinator alone
    contains: "createActor(coordinatorMachine, { input: { target: 'account-42', windowMs: 20 } })",
    check: (t, lines) => t.deepEqual(lines, ['withdraw rejected lost-arbitration', 'freeze completed freeze done']),
  },
  {
    // How do I … retry the operations that lose
    contains: "retryOn: ['lost-arbitration']",
    check: (t, lines) => t.deepEqual(lines, ['100', '10 45']),
  },
  {
    // How do I … run several processes on one Redis
    contains: "execute: async () => 'withdrawn'",
    check: (t, lines) => t.deepEqual(lines, ['withdrawn']),
  },
  {
    // Scale out on Redis
    contains: "keyPrefix: 'shop:', leaseMs: 2000",
    check: (t, lines) => t.deepEqual(lines, ['high lost-arbitration']),
  },
  {
    // Events
    contains: 'e is ConflictResolvedEvent',
    check: (t, lines) => {
      t.is(lines.length, 1);
      t.regex(lines[0] ?? '', /^doc-1 [0-9a-f-]{36} 1$/);
    },
  },
];

const slug = (s: string) =>
  s
    .toLowerCase()
    .replace(/[^\w\s-]/g, '')
    .trim()
    .replace(/\s+/g, '-')
    .slice(0, 40);

/** The ```ts blocks of a Markdown text, with their heading and mode. Throws on a malformed info string. */
export function extractBlocks(markdown: string): ReadmeBlock[] {
  const lines = markdown.split('\n');
  const blocks: ReadmeBlock[] = [];
  let heading = '';
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const h = /^#{1,6}\s+(.*)$/.exec(line);
    if (h) heading = h[1]!;
    const fence = /^```(\S*)\s*(.*)$/.exec(line);
    if (!fence) continue;
    const [, lang = '', info = ''] = fence;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !/^```\s*$/.test(lines[i]!); i++) body.push(lines[i]!);
    if (i >= lines.length) throw new Error(`README.md:${start + 1}: unclosed code block`);
    if (lang === 'typescript' || lang === 'tsx' || lang === 'js' || lang === 'javascript' || lang === 'mjs') {
      throw new Error(`README.md:${start + 1}: code in a \`\`\`${lang} block is not checked; use \`\`\`ts`);
    }
    if (lang !== 'ts') continue;
    const flags = info.split(/\s+/).filter(Boolean);
    let mode: ReadmeBlock['mode'] = 'run';
    let service: string | undefined;
    for (const flag of flags) {
      if (flag === 'ava' || flag === 'no-run') mode = flag;
      else if (flag.startsWith('service=') && flag.length > 'service='.length) service = flag.slice('service='.length);
      else throw new Error(`README.md:${start + 1}: unknown info string flag ${JSON.stringify(flag)} (ava, no-run, service=NAME)`);
    }
    const id = `${String(blocks.length + 1).padStart(2, '0')}-${slug(heading) || 'top'}`;
    blocks.push({ id, heading, line: start + 1, mode, ...(service ? { service } : {}), code: `${body.join('\n')}\n` });
  }
  return blocks;
}

/** The file a block is written to in the consumer project. */
export function fileOf(b: ReadmeBlock): string {
  return b.mode === 'ava' ? `${b.id}.test.ts` : `${b.id}.ts`;
}
