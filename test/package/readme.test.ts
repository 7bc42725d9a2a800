// Every ```ts block of README.md, typechecked and run against the PACKED package (./consumer.ts),
// so the README cannot drift from what users install.
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
// this test (with what to add), rather than being skipped.
//
// Output: a block whose comments promise output (`console.log(x); // 'frozen'`) gets its promise
// checked in EXPECTED below, so the comments stay true.
import test, { type ExecutionContext } from 'ava';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bin, cleanEnv, OLDEST_TYPESCRIPT, packedConsumer, REPO, run, type Consumer } from './consumer.js';

const BLOCK_TIMEOUT_MS = 60_000;

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
const NO_RUN: ReadonlyArray<{ contains: string; reason: string }> = [
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
const SERVICES: Readonly<Record<string, () => Promise<Service>>> = {};

/** Checks of what a block prints, by a string only that block contains. */
const EXPECTED: ReadonlyArray<{ contains: string; check: (t: ExecutionContext, lines: string[]) => void }> = [
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
    // How do I … retry the operations that lose
    contains: "retryOn: ['lost-arbitration']",
    check: (t, lines) => t.deepEqual(lines, ['100', '10 45']),
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

const blocks = extractBlocks(readFileSync(join(REPO, 'README.md'), 'utf8'));
const fileOf = (b: ReadmeBlock) => (b.mode === 'ava' ? `${b.id}.test.ts` : `${b.id}.ts`);

let consumer: Consumer;
let dir: string;
let compile: { code: number | null; output: string };

test.before(async (t) => {
  t.timeout(15 * 60_000, 'npm pack and install, then tsc');
  consumer = await packedConsumer();
  // No leading dot: ava does not look into hidden directories.
  dir = mkdtempSync(join(consumer.full, 'readme-'));
  for (const b of blocks) writeFileSync(join(dir, fileOf(b)), b.code);
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        strict: true,
        noUncheckedIndexedAccess: true,
        skipLibCheck: false,
        types: ['node'],
        outDir: 'out',
        rootDir: '.',
      },
      files: blocks.map(fileOf),
    }),
  );
  const tsc = join(REPO, 'node_modules', 'typescript', 'bin', 'tsc');
  const result = await run(process.execPath, [tsc, '-p', join(dir, 'tsconfig.json'), '--pretty', 'false'], { cwd: dir, timeoutMs: 300_000 });
  compile = { code: result.code, output: result.stdout + result.stderr };
});

test.after.always(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('README - extractBlocks() reads headings, info strings and refuses unknown flags or other languages', (t) => {
  const md = ['## A', '```ts', 'one', '```', '### B c', '```ts no-run', 'two', '```', '```ts service=redis', 'three', '```', '```sh', 'x', '```'].join('\n');
  t.deepEqual(
    extractBlocks(md).map((b) => [b.id, b.heading, b.mode, b.service, b.code]),
    [
      ['01-a', 'A', 'run', undefined, 'one\n'],
      ['02-b-c', 'B c', 'no-run', undefined, 'two\n'],
      ['03-b-c', 'B c', 'run', 'redis', 'three\n'],
    ],
  );
  t.throws(() => extractBlocks('```ts skip\nx\n```'), { message: /unknown info string flag "skip"/ });
  t.throws(() => extractBlocks('```typescript\nx\n```'), { message: /use ```ts/ });
  t.throws(() => extractBlocks('```ts\nx'), { message: /unclosed/ });
});

test('README - every block imports the package by its name, never the sources', (t) => {
  t.is(blocks.length, readFileSync(join(REPO, 'README.md'), 'utf8').split('\n').filter((l) => l.startsWith('```ts')).length);
  for (const b of blocks) {
    t.false(/from ['"](\.{1,2}\/|\/)/.test(b.code), `${b.id} (README.md:${b.line}) imports a relative path`);
    t.false(/from ['"]arbiter(\/|['"])/.test(b.code), `${b.id} (README.md:${b.line}) imports the old package name`);
  }
});

test('README - no-run blocks are rare and each has its reason; every reason has its block', (t) => {
  const noRun = blocks.filter((b) => b.mode === 'no-run');
  for (const b of noRun) {
    const reasons = NO_RUN.filter((r) => b.code.includes(r.contains));
    t.is(reasons.length, 1, `${b.id} (README.md:${b.line}) is no-run: add its reason to NO_RUN`);
  }
  for (const r of NO_RUN) t.is(noRun.filter((b) => b.code.includes(r.contains)).length, 1, `NO_RUN entry ${r.contains} matches no no-run block`);
  t.true(noRun.length <= 2, 'no-run is for blocks that cannot run here, not for blocks that fail');
});

test(`README - all blocks typecheck with this repository's TypeScript`, (t) => {
  t.is(compile.code, 0, compile.output);
});

test(`README - all blocks typecheck with TypeScript ${OLDEST_TYPESCRIPT}`, async (t) => {
  t.timeout(300_000);
  const tsc = join(consumer.full, 'node_modules', 'typescript', 'bin', 'tsc');
  const result = await run(process.execPath, [tsc, '-p', join(dir, 'tsconfig.json'), '--noEmit', '--pretty', 'false'], { cwd: dir, timeoutMs: 300_000 });
  t.is(result.code, 0, result.stdout + result.stderr);
});

test('README - every promised output has its block', (t) => {
  for (const e of EXPECTED) t.is(blocks.filter((b) => b.code.includes(e.contains)).length, 1, e.contains);
});

for (const block of blocks) {
  if (block.mode === 'no-run') continue;
  // Serial: a few Node processes at a time would only fight over 2 cores.
  test.serial(`README:${block.line} (${block.heading}) runs against the packed package${block.mode === 'ava' ? ' under ava' : ''}`, async (t) => {
    t.timeout(BLOCK_TIMEOUT_MS * 3);
    let service: Service | undefined;
    if (block.service) {
      const start = SERVICES[block.service];
      if (!start) {
        t.fail(`README.md:${block.line} needs service=${block.service}: add a SERVICES.${block.service} that starts it (see the top of this file)`);
        return;
      }
      service = await start();
    }
    try {
      const env = cleanEnv({ ...service?.env });
      const result =
        block.mode === 'ava'
          ? await run(bin(consumer.full, 'ava'), [join(dir, fileOf(block))], { cwd: consumer.full, timeoutMs: BLOCK_TIMEOUT_MS * 2, env })
          : await run(process.execPath, [join(dir, 'out', `${block.id}.js`)], { cwd: dir, timeoutMs: BLOCK_TIMEOUT_MS, env });
      t.is(result.code, 0, `README.md:${block.line}\n${result.stdout}\n${result.stderr}`);
      if (block.mode === 'ava') t.regex(result.stdout + result.stderr, /\d+ tests? passed/);
      const expected = EXPECTED.find((e) => block.code.includes(e.contains));
      if (expected) expected.check(t, result.stdout.trim().split('\n'));
    } finally {
      await service?.stop();
    }
  });
}
