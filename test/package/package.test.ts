// The package as users install it: the tarball `npm pack` makes, installed into new projects
// (see ./consumer.ts), imported, typechecked, run, and its `arbiter` command started; and every
// ```ts block of the README typechecked and run against it (see ./readme-blocks.ts). One file, so
// that one process packs and installs while the other test files of the suite go on.
import test from 'ava';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { bin, cleanEnv, devVersion, npm, OLDEST_TYPESCRIPT, PEER_FLOOR, packedConsumer, REPO, run, type Consumer } from './consumer.js';
import { BLOCK_TIMEOUT_MS, EXPECTED, extractBlocks, fileOf, NO_RUN, SERVICES, type Service } from './readme-blocks.js';
import { startRedisServer } from '../helpers/redis.js';

const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as {
  name: string;
  bin: Record<string, string>;
  exports: Record<string, string | Record<string, string>>;
  peerDependencies: Record<string, string>;
  peerDependenciesMeta: Record<string, { optional?: boolean }>;
  dependencies: Record<string, string>;
};
const OPTIONAL = Object.keys(pkg.peerDependenciesMeta).filter((name) => pkg.peerDependenciesMeta[name]?.optional);

/** A strict consumer of every entry, typechecked (never run) with the README blocks. */
const CONSUMER_TS = `import {
  createArbiter,
  extendLifecycle,
  OperationRejectedError,
  Priority,
  type Arbiter,
  type ArbiterEvent,
  type ConflictResolvedEvent,
  type LifecycleEvents,
  type OperationHandle,
  type RejectionCode,
  operationMachine,
} from 'xstate-arbiter';
import { checkLifecycle, createLifecycleTestModel } from 'xstate-arbiter/testing';
import { attachInspector, type InspectorServer } from 'xstate-arbiter/inspector';
import { filter } from 'rxjs';

const arbiter = createArbiter({ windowMs: 10, whileExecuting: 'queue' });
const handle: OperationHandle<number> = arbiter.submit({
  target: 'account-1',
  priority: Priority.HIGH,
  data: { amount: 5 },
  execute: async ({ signal, data }) => (signal.aborted ? 0 : data.amount),
});
const value: number = await handle.result;

// @ts-expect-error the result type is inferred from execute: a number is not a string
const wrong: string = await arbiter.submit({ target: 'a', execute: async () => 1 }).result;

// @ts-expect-error priorities are numbers
arbiter.submit({ target: 'a', priority: 'high', execute: async () => 1 });

// handle.send is typed from the lifecycle's events (the patch's \`on\` keys); the context is inferred.
const approval = extendLifecycle({
  context: { reviewers: ['ana'] as string[] },
  afterWin: {
    approval: {
      on: {
        approve: { target: 'next', guard: ({ context }) => context.reviewers.length > 0 },
        deny: { target: 'rejected', code: 'denied', reason: 'denied by a reviewer' },
      },
    },
  },
});
const reviewed = createArbiter({ lifecycle: approval });
const review: OperationHandle<string, LifecycleEvents<typeof approval>> = reviewed.submit({ target: 'doc-1', execute: async () => 'published' });
review.send({ type: 'approve', by: 'ana' });
// @ts-expect-error a misspelt event does not compile: the lifecycle knows 'approve' | 'deny'
review.send({ type: 'aprove' });
const anyArbiter: Arbiter = reviewed;

arbiter.events$
  .pipe(filter((e): e is ConflictResolvedEvent => e.type === 'conflict.resolved'))
  .subscribe((e) => console.log(e.winnerId, e.loserIds.length));
arbiter.events$.subscribe((e: ArbiterEvent) => {
  if (e.type === 'operation.rejected') {
    // A built-in code, or one of an extended lifecycle's own: comparisons with either compile.
    const code: RejectionCode | (string & {}) = e.code;
    if (code === 'lost-arbitration' || code === 'denied') console.log(code);
  }
});

try {
  await handle.result;
} catch (err) {
  if (err instanceof OperationRejectedError) console.log(err.code, err.reason, err.operationId);
}

const violations: readonly unknown[] = checkLifecycle(operationMachine);
const { paths } = createLifecycleTestModel(operationMachine);
console.log(paths.length);
const inspector: InspectorServer = await attachInspector(arbiter, { port: 0 });
console.log(value, wrong, violations, inspector.url, anyArbiter.rejectionCodes);
await inspector.close();
await arbiter.stop();
`;

const blocks = extractBlocks(readFileSync(join(REPO, 'README.md'), 'utf8'));

let consumer: Consumer;
/** The consumer project's directory holding the README blocks and CONSUMER_TS, compiled. */
let dir: string;
let compiled: { code: number | null; output: string };

test.before(async (t) => {
  t.timeout(20 * 60_000, 'npm pack, two npm installs, tsc');
  consumer = await packedConsumer();
  // No leading dot: ava does not look into hidden directories.
  dir = mkdtempSync(join(consumer.full, 'readme-'));
  for (const b of blocks) writeFileSync(join(dir, fileOf(b)), b.code);
  writeFileSync(join(dir, 'consumer.ts'), CONSUMER_TS);
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        strict: true,
        noUncheckedIndexedAccess: true,
        // The shipped declarations are checked too. (Not exactOptionalPropertyTypes: xstate's own
        // declarations fail under it unless skipLibCheck is on; the README says so.)
        skipLibCheck: false,
        types: ['node'],
        outDir: 'out',
        rootDir: '.',
      },
      files: ['consumer.ts', ...blocks.map(fileOf)],
    }),
  );
  // One program for all: this repository's TypeScript checks it and compiles the blocks to run.
  const tsc = join(REPO, 'node_modules', 'typescript', 'bin', 'tsc');
  const result = await run(process.execPath, [tsc, '-p', join(dir, 'tsconfig.json'), '--pretty', 'false'], { cwd: dir, timeoutMs: 600_000 });
  compiled = { code: result.code, output: result.stdout + result.stderr };
});

test.after.always(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Runs an ES module given as source text inside a project; resolves with its stdout lines. */
async function node(project: string, source: string, name = 'check.mjs', env?: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const dir = mkdtempSync(join(project, '.check-'));
  try {
    const file = join(dir, name);
    writeFileSync(file, source);
    return await run(process.execPath, [file], { cwd: project, timeoutMs: 120_000, ...(env ? { env: cleanEnv(env) } : {}) });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(join(dir, e.name)) : e.isFile() ? [join(dir, e.name)] : [],
  );
}

function duKb(dir: string): number {
  return filesUnder(dir).reduce((sum, f) => sum + Math.ceil(statSync(f).size / 4096) * 4, 0);
}

// ----------------------------------------------------------------------------------------------
// The tarball
// ----------------------------------------------------------------------------------------------

const SHIPPED = [
  /^package\.json$/,
  /^README\.md$/,
  /^LICENSE$/,
  /^CHANGELOG\.md$/,
  /^bin\/arbiter\.js$/,
  /^cjs\/esm-only\.cjs$/,
  /^dist\/(src|machines|actors|inspector)\/([\w-]+\/)*[\w.-]+\.(js|d\.ts)$/,
  /^dist\/inspector\/page\/(index\.html|app\.js|style\.css|favicon\.svg)$/,
  /^dist\/bin\/arbiter\.js$/,
  /^dist\/tools\/[\w-]+\.js$/,
];

test('npm pack - ships only what users need: the build, types, bin, license, readme, changelog', (t) => {
  const paths = consumer.files.map((f) => f.path).sort();
  const unexpected = paths.filter((p) => !SHIPPED.some((re) => re.test(p)));
  t.deepEqual(unexpected, [], 'files outside the intended set');
  t.false(paths.some((p) => p.endsWith('.map')), 'no source maps (the sources are not shipped)');
  t.false(paths.some((p) => p.endsWith('.ts') && !p.endsWith('.d.ts')), 'no TypeScript sources');
  // Every path users can reach is in the tarball.
  const targets = Object.values(pkg.exports).flatMap((e) => (typeof e === 'string' ? [e] : Object.values(e)));
  for (const target of [...targets, ...Object.values(pkg.bin)]) t.true(paths.includes(target.replace(/^\.\//, '')), `${target} is shipped`);
  for (const required of ['README.md', 'LICENSE', 'CHANGELOG.md', 'dist/bin/arbiter.js', 'dist/inspector/page/index.html']) t.true(paths.includes(required), required);
  t.false(/npm warn/i.test(consumer.packStderr), consumer.packStderr);
});

test('npm publish --dry-run - no warning about the package', async (t) => {
  t.timeout(120_000);
  // Scripts are skipped: the consumer's `npm pack` already built dist/ (when the consumer came from
  // an earlier run, dist/ may be missing here; the file list is checked on the pack above).
  const result = await npm(['publish', '--dry-run', '--ignore-scripts'], REPO, 120_000);
  const warnings = result.stderr
    .split('\n')
    .filter((line) => /npm warn/i.test(line))
    // The only environment-dependent one: nobody is logged in to the registry here.
    .filter((line) => !/requires you to be logged in/.test(line));
  t.deepEqual(warnings, []);
  t.regex(result.stderr, new RegExp(`${pkg.name}@`));
});

test('the package name is used everywhere users read it (no import from the old name)', (t) => {
  const installed = join(consumer.core, 'node_modules', pkg.name);
  const offenders: string[] = [];
  for (const file of filesUnder(installed)) {
    if (!/\.(js|d\.ts|md|json|cjs)$/.test(file)) continue;
    const text = readFileSync(file, 'utf8');
    if (/(from\s+|import\(\s*|require\(\s*)['"]arbiter(\/[^'"]*)?['"]/.test(text)) offenders.push(relative(installed, file));
  }
  t.deepEqual(offenders, []);
  t.is(pkg.name, 'xstate-arbiter');
  t.deepEqual(Object.keys(pkg.bin), ['arbiter']);
});

// ----------------------------------------------------------------------------------------------
// The core install: `npm install xstate-arbiter xstate rxjs`
// ----------------------------------------------------------------------------------------------

test('core install - xstate and rxjs are peers; no optional peer is installed', (t) => {
  t.deepEqual(Object.keys(pkg.peerDependencies).sort(), [...OPTIONAL, 'rxjs', 'xstate'].sort());
  for (const name of ['xstate', 'rxjs', ...OPTIONAL]) t.false(name in pkg.dependencies, `${name} is not a regular dependency`);
  const modules = join(consumer.core, 'node_modules');
  for (const name of [...OPTIONAL, 'superjson']) t.throws(() => statSync(join(modules, name)), undefined, `${name} is not installed`);
  const own = readdirSync(modules).flatMap((n) => (n.startsWith('@') ? readdirSync(join(modules, n)).map((m) => `${n}/${m}`) : n.startsWith('.') ? [] : [n]));
  const peers = ['xstate', 'rxjs', 'tslib'];
  const total = duKb(modules);
  const ofPeers = peers.filter((n) => own.includes(n)).reduce((sum, n) => sum + duKb(join(modules, n)), 0);
  t.log(`core install: node_modules ${(total / 1024).toFixed(1)} MB, of which xstate + rxjs (+ tslib) ${(ofPeers / 1024).toFixed(1)} MB; packages: ${own.join(', ')}`);
  // What the package itself brings beside its peers (1.8 MB when measured for the README).
  t.true(total - ofPeers < 3 * 1024, `${total - ofPeers} KB besides the peers`);
});

test('core install - import, one arbitration, xstate-arbiter/testing (peers at the top of the range)', async (t) => {
  const { code, stdout, stderr } = await node(
    consumer.core,
    `import { createArbiter, Priority, OperationRejectedError } from 'xstate-arbiter';
import { flush } from 'xstate-arbiter/testing';
const arbiter = createArbiter({ windowMs: 5 });
const low = arbiter.submit({ target: 'a', priority: Priority.LOW, execute: async () => 'low' });
const high = arbiter.submit({ target: 'a', priority: Priority.HIGH, execute: async () => 'high' });
const lost = await low.result.catch((err) => err instanceof OperationRejectedError && err.code);
console.log(JSON.stringify({ won: await high.result, lost, flush: typeof flush, m: arbiter.metrics() }));
await arbiter.stop();
`,
  );
  t.is(code, 0, stderr);
  const out = JSON.parse(stdout) as { won: string; lost: string; flush: string; m: { submitted: number; completed: number; rejected: number; inFlight: number } };
  t.is(out.won, 'high');
  t.is(out.lost, 'lost-arbitration');
  t.is(out.flush, 'function');
  t.deepEqual([out.m.submitted, out.m.completed, out.m.rejected, out.m.inFlight], [2, 1, 1, 0]);
});

test('core install - xstate-arbiter/inspector and metricsText() name the npm install command of their optional peers', async (t) => {
  const { code, stdout, stderr } = await node(
    consumer.core,
    `const out = {};
try { await import('xstate-arbiter/inspector'); out.inspector = 'loaded'; } catch (err) { out.inspector = [err.name, err.code, err.message]; }
try { await import('xstate-arbiter/redis'); out.redis = 'loaded'; } catch (err) { out.redis = [err.name, err.code, err.message]; }
const { createArbiter } = await import('xstate-arbiter');
const arbiter = createArbiter();
try { await arbiter.metricsText(); out.metrics = 'loaded'; } catch (err) { out.metrics = [err.name, err.code, err.message]; }
await arbiter.stop();
console.log(JSON.stringify(out));
`,
  );
  t.is(code, 0, stderr);
  const out = JSON.parse(stdout) as Record<string, [string, string, string]>;
  t.deepEqual(out['inspector']?.slice(0, 2), ['OptionalDependencyError', 'ERR_ARBITER_OPTIONAL_DEPENDENCY']);
  t.regex(out['inspector']![2], /the inspector \(xstate-arbiter\/inspector\) needs @dagrejs\/dagre.*run `npm install @statelyai\/inspect @dagrejs\/dagre`/);
  t.deepEqual(out['redis']?.slice(0, 2), ['OptionalDependencyError', 'ERR_ARBITER_OPTIONAL_DEPENDENCY']);
  t.regex(out['redis']![2], /the Redis backend \(xstate-arbiter\/redis\) needs ioredis.*run `npm install ioredis`/);
  t.deepEqual(out['metrics']?.slice(0, 2), ['OptionalDependencyError', 'ERR_ARBITER_OPTIONAL_DEPENDENCY']);
  t.regex(out['metrics']![2], /metricsText\(\) needs prom-client.*run `npm install prom-client`/);
});

test('core install - require() of every entry says "ESM only" and shows the import to use', async (t) => {
  const { code, stdout, stderr } = await node(
    consumer.core,
    `const out = [];
for (const id of ['xstate-arbiter', 'xstate-arbiter/testing', 'xstate-arbiter/inspector', 'xstate-arbiter/redis']) {
  try { require(id); out.push([id, 'loaded']); } catch (err) { out.push([id, err.code, err.message]); }
}
console.log(JSON.stringify(out));
`,
    'check.cjs',
  );
  t.is(code, 0, stderr);
  const out = JSON.parse(stdout) as Array<[string, string, string]>;
  t.is(out.length, 4);
  for (const [id, errCode, message] of out) {
    t.is(errCode, 'ERR_REQUIRE_ESM', id);
    t.regex(message, /^xstate-arbiter is ESM only: use import, not require\(\)\./, id);
    t.regex(message, /import \{ createArbiter \} from 'xstate-arbiter'/, id);
    t.regex(message, /await import\('xstate-arbiter'\)/, id);
  }
});

test('core install - the arbiter command: --help, and a short brutality run', async (t) => {
  t.timeout(180_000);
  const arbiter = bin(consumer.core, 'arbiter');
  const help = await run(arbiter, ['--help'], { cwd: consumer.core });
  t.is(help.code, 0, help.stderr);
  for (const command of ['stress', 'brutality', 'inspect']) t.regex(help.stdout, new RegExp(`\\n\\s+${command}\\b`));
  const brutality = await run(arbiter, ['brutality', '--ops', '300', '--ramp', '0.2', '--json', '-', '--no-progress'], { cwd: consumer.core, timeoutMs: 150_000 });
  t.is(brutality.code, 0, brutality.stderr);
  const report = JSON.parse(brutality.stdout) as { ok: boolean; lostUpdates: number; accounting: unknown };
  t.true(report.ok);
  t.is(report.lostUpdates, 0);
  // `inspect` needs the inspector's optional peers, which this project does not have.
  const inspect = await run(arbiter, ['inspect', '--port', '0', '--duration', '1'], { cwd: consumer.core, timeoutMs: 60_000 });
  t.not(inspect.code, 0);
  t.regex(inspect.stderr, /npm install @statelyai\/inspect @dagrejs\/dagre/);
});

// ----------------------------------------------------------------------------------------------
// The full install: every optional peer, the peers at the bottom of their range, TypeScript 5.4
// ----------------------------------------------------------------------------------------------

test('full install - the peers are at the bottom of the declared range', (t) => {
  for (const [name, floor] of Object.entries(PEER_FLOOR)) {
    const installed = (JSON.parse(readFileSync(join(consumer.full, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
    t.is(installed, floor, name);
    t.is(pkg.peerDependencies[name], `^${floor}`, `the ${name} range starts at the tested floor`);
  }
});

test('full install - every entry imports; the inspector serves its page; one arbitration on the oldest peers', async (t) => {
  const { code, stdout, stderr } = await node(
    consumer.full,
    `import { createArbiter, Priority } from 'xstate-arbiter';
import { createLifecycleTestModel } from 'xstate-arbiter/testing';
import { attachInspector } from 'xstate-arbiter/inspector';
import { operationMachine } from 'xstate-arbiter';
const arbiter = createArbiter({ windowMs: 5 });
const inspector = await attachInspector(arbiter, { port: 0 });
const page = await fetch(inspector.url);
const dagre = await fetch(new URL('/vendor/dagre.min.js', inspector.url));
const a = arbiter.submit({ target: 't', priority: Priority.NORMAL, execute: async () => 'first' });
const b = arbiter.submit({ target: 't', priority: Priority.CRITICAL, execute: async () => 'critical' });
const out = { won: await b.result, lost: await a.result.catch((e) => e.code), page: page.status, dagre: dagre.status,
  paths: createLifecycleTestModel(operationMachine).paths.length, metrics: /^arbiter_\\w+ \\d/m.test(await arbiter.metricsText()) };
await inspector.close();
await arbiter.stop();
console.log(JSON.stringify(out));
`,
  );
  t.is(code, 0, stderr);
  const out = JSON.parse(stdout) as Record<string, unknown>;
  t.is(out['won'], 'critical');
  t.is(out['lost'], 'lost-arbitration');
  t.is(out['page'], 200);
  t.is(out['dagre'], 200);
  t.true((out['paths'] as number) > 10);
  t.true(out['metrics']);
});

test('full install - xstate-arbiter/redis: two processes on one Redis, one winner for the window', async (t) => {
  t.timeout(180_000);
  const redis = await startRedisServer();
  try {
    const { code, stdout, stderr } = await node(
      consumer.full,
      `import { createArbiter, Priority } from 'xstate-arbiter';
import { redisBackend, RedisUnavailableError } from 'xstate-arbiter/redis';
const open = (processId) => createArbiter({ windowMs: 300, backend: redisBackend({ url: process.env.REDIS_URL, keyPrefix: 'packed:', processId }) });
const [a, b] = [open('a'), open('b')];
await Promise.all([a.ready(), b.ready()]);
const low = a.submit({ target: 'acct', priority: Priority.LOW, execute: async () => 'low' });
const high = b.submit({ target: 'acct', priority: Priority.HIGH, execute: async () => 'high' });
const out = { won: await high.result, lost: await low.result.catch((e) => e.code), error: typeof RedisUnavailableError };
await Promise.all([a.stop(), b.stop()]);
console.log(JSON.stringify(out));
`,
      'redis.mjs',
      { REDIS_URL: redis.url },
    );
    t.is(code, 0, stderr);
    t.deepEqual(JSON.parse(stdout), { won: 'high', lost: 'lost-arbitration', error: 'function' });
  } finally {
    await redis.dispose();
  }
});

test('full install - arbiter inspect runs with the optional peers installed', async (t) => {
  t.timeout(120_000);
  const inspect = await run(bin(consumer.full, 'arbiter'), ['inspect', '--port', '0', '--duration', '1', '--rate', '30'], { cwd: consumer.full, timeoutMs: 90_000 });
  t.is(inspect.code, 0, inspect.stderr);
  t.regex(inspect.stdout, /done: submitted \d+ = completed \d+ \+ rejected \d+ \+ in flight 0/);
});

// ----------------------------------------------------------------------------------------------
// The README's code blocks (./readme-blocks.ts)
// ----------------------------------------------------------------------------------------------

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

// ----------------------------------------------------------------------------------------------
// Types: a strict consumer file and the README blocks, against the shipped declarations
// ----------------------------------------------------------------------------------------------

test(`types - a strict consumer and every README block typecheck with TypeScript ${devVersion('typescript')} (this repository's)`, (t) => {
  t.is(compiled.code, 0, compiled.output);
});

test(`types - the same with TypeScript ${OLDEST_TYPESCRIPT} (the oldest supported)`, async (t) => {
  t.timeout(600_000);
  const tsc = join(consumer.full, 'node_modules', 'typescript', 'bin', 'tsc');
  const version = (JSON.parse(readFileSync(join(consumer.full, 'node_modules', 'typescript', 'package.json'), 'utf8')) as { version: string }).version;
  t.true(version.startsWith(`${OLDEST_TYPESCRIPT}.`), version);
  const result = await run(process.execPath, [tsc, '-p', join(dir, 'tsconfig.json'), '--noEmit', '--pretty', 'false'], { cwd: dir, timeoutMs: 600_000 });
  t.is(result.code, 0, result.stdout + result.stderr);
});

test('README - every promised output has its block', (t) => {
  for (const e of EXPECTED) t.is(blocks.filter((b) => b.code.includes(e.contains)).length, 1, e.contains);
});

for (const block of blocks) {
  if (block.mode === 'no-run') continue;
  // Serial: a few Node processes at a time would only fight over 2 cores.
  test.serial(`README:${block.line} (${block.heading}) runs against the packed package${block.mode === 'ava' ? ' under ava' : ''}`, async (t) => {
    t.timeout(BLOCK_TIMEOUT_MS * 4);
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
          ? // --timeout: ava's 10 s default is short for a loaded 2-core machine; the configuration is the README's.
            await run(bin(consumer.full, 'ava'), ['--timeout=2m', join(dir, fileOf(block))], { cwd: consumer.full, timeoutMs: BLOCK_TIMEOUT_MS * 3, env })
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
