// The packed package as users get it: `npm pack` of this repository (which builds `dist/` on
// `prepack`), installed from the tarball into two new projects under the system temp dir:
//
// - `core/`: what `npm install xstate-arbiter xstate rxjs` gives (the peers at the versions this
//   repository develops with, i.e. the top of the supported range), nothing else;
// - `full/`: the peers at the BOTTOM of the supported range (`PEER_FLOOR`), every optional peer, the
//   oldest TypeScript we support, `@types/node`, and ava + tsx configured as the README says.
//
// Packing and installing take a minute or more on 2 cores, so the result is shared: by every test
// file of a run (the first one builds it under a lock, the others wait and reuse it) and by later
// runs, keyed by a hash of everything that goes into the tarball or the projects. Change a source
// file and the next run packs again; change nothing and it reuses the same install.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const REPO = fileURLToPath(new URL('../..', import.meta.url));

const repoPackage = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  peerDependencies: Record<string, string>;
  peerDependenciesMeta: Record<string, { optional?: boolean }>;
  devDependencies: Record<string, string>;
};

/** The installed version of a dev dependency of this repository. */
export function devVersion(name: string): string {
  return (JSON.parse(readFileSync(join(REPO, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
}

/**
 * The lowest versions of the required peers that the package supports (and `full/` installs).
 * xstate: the shipped declarations of the machines are emitted against xstate 5.33's
 * `StateMachine` (14 type parameters); with 5.32 or older a consumer's typecheck fails (TS2314),
 * although the code itself runs from 5.20 (the first with `xstate/graph`).
 */
export const PEER_FLOOR = { xstate: '5.33.0', rxjs: '7.8.0' } as const;

/** The oldest TypeScript the shipped types are checked with. */
export const OLDEST_TYPESCRIPT = '5.4';

/** The ava configuration the README tells users to add for TypeScript test files. */
export const USER_AVA_CONFIG = {
  extensions: { ts: 'module' },
  nodeArguments: ['--import=tsx'],
  workerThreads: false,
} as const;

/** One file of `npm pack --json`. */
export interface PackedFile {
  readonly path: string;
  readonly size: number;
}

/** What {@link packedConsumer} resolves with. */
export interface Consumer {
  /** The shared directory holding the tarball and both projects. */
  readonly root: string;
  readonly tarball: string;
  /** `npm pack --json`'s file list. */
  readonly files: readonly PackedFile[];
  /** What `npm pack` printed on stderr (warnings would be there). */
  readonly packStderr: string;
  /** The core-only project. */
  readonly core: string;
  /** The project with every optional peer and the test tooling. */
  readonly full: string;
}

export interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command; never rejects (the exit code, or null when killed, is in the result). */
export function run(
  command: string,
  args: readonly string[],
  options: { cwd: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = { cwd: REPO },
): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(
      command,
      args,
      { cwd: options.cwd, env: options.env ?? cleanEnv(), timeout: options.timeoutMs ?? 300_000, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/**
 * The environment without what `npm test` sets for its own lifecycle (`npm_config_*`,
 * `npm_package_*`, …), so the npm and node processes started here behave as in a user's shell.
 */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^npm_/i.test(key) || key === 'INIT_CWD' || key === 'NODE_OPTIONS') continue;
    env[key] = value;
  }
  return { ...env, ...extra };
}

const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';

/** Runs npm; rejects with its output when it fails. */
export async function npm(args: readonly string[], cwd: string, timeoutMs = 600_000): Promise<RunResult> {
  const result = await run(NPM, args, { cwd, timeoutMs });
  if (result.code !== 0) throw new Error(`npm ${args.join(' ')} (in ${cwd}) exited ${result.code}:\n${result.stderr}\n${result.stdout}`);
  return result;
}

// Everything that goes into the tarball or decides how the projects are installed.
const INPUTS = ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'README.md', 'LICENSE', 'CHANGELOG.md'];
const INPUT_DIRS = ['src', 'machines', 'actors', 'inspector', 'bin', 'tools', 'cjs'];

function* walk(dir: string): Generator<string> {
  if (!existsSync(dir)) return;
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* walk(path);
    else if (entry.isFile()) yield path;
  }
}

function inputsHash(): string {
  const hash = createHash('sha256');
  hash.update(process.version);
  hash.update(readFileSync(fileURLToPath(import.meta.url)));
  const files = [...INPUTS.map((f) => join(REPO, f)).filter(existsSync), ...INPUT_DIRS.flatMap((d) => [...walk(join(REPO, d))])];
  for (const file of files) {
    hash.update(relative(REPO, file));
    hash.update('\0');
    hash.update(readFileSync(file));
    hash.update('\0');
  }
  return hash.digest('hex').slice(0, 16);
}

const PREFIX = 'xstate-arbiter-consumer-';
const STALE_LOCK_MS = 15 * 60_000;
const KEEP_MS = 24 * 3_600_000;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function withLock<T>(lock: string, fn: () => Promise<T>): Promise<T> {
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      try {
        // A lock this old belongs to a run that was killed while packing.
        if (Date.now() - statSync(lock).mtimeMs > STALE_LOCK_MS) rmSync(lock, { recursive: true, force: true });
      } catch {
        // Released meanwhile.
      }
      await sleep(250);
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/** Consumer projects of earlier source versions, unused for a day, are removed. */
function prune(keep: string): void {
  for (const name of readdirSync(tmpdir())) {
    if (!name.startsWith(PREFIX) || name.endsWith('.lock')) continue;
    const dir = join(tmpdir(), name);
    if (dir === keep || existsSync(`${dir}.lock`)) continue;
    try {
      if (Date.now() - statSync(dir).mtimeMs > KEEP_MS) rmSync(dir, { recursive: true, force: true });
    } catch {
      // Another run removed it.
    }
  }
}

function writeProject(dir: string, pkg: Record<string, unknown>): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify({ private: true, type: 'module', ...pkg }, null, 2)}\n`);
}

async function build(root: string): Promise<Consumer> {
  rmSync(root, { recursive: true, force: true });
  mkdirSync(root, { recursive: true });
  // Runs `prepack`, which builds dist/ from the sources.
  const pack = await npm(['pack', '--json', '--pack-destination', root], REPO);
  const json = pack.stdout.slice(pack.stdout.indexOf('['));
  const [packed] = JSON.parse(json) as Array<{ filename: string; files: PackedFile[] }>;
  if (!packed) throw new Error(`npm pack printed no package:\n${pack.stdout}`);
  const tarball = join(root, packed.filename);
  const spec = `file:../${packed.filename}`;

  const core = join(root, 'core');
  writeProject(core, {
    name: 'core-consumer',
    dependencies: { [repoPackage.name]: spec, xstate: devVersion('xstate'), rxjs: devVersion('rxjs') },
  });
  const optional = Object.keys(repoPackage.peerDependenciesMeta).filter((name) => repoPackage.peerDependenciesMeta[name]?.optional);
  const full = join(root, 'full');
  writeProject(full, {
    name: 'full-consumer',
    dependencies: {
      [repoPackage.name]: spec,
      xstate: PEER_FLOOR.xstate,
      rxjs: PEER_FLOOR.rxjs,
      ...Object.fromEntries(optional.map((name) => [name, devVersion(name)])),
    },
    devDependencies: {
      typescript: `~${OLDEST_TYPESCRIPT}.0`,
      '@types/node': devVersion('@types/node'),
      ava: devVersion('ava'),
      tsx: devVersion('tsx'),
    },
    ava: USER_AVA_CONFIG,
  });
  const install = ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'];
  await Promise.all([npm(install, core), npm(install, full)]);

  const consumer: Consumer = { root, tarball, files: packed.files, packStderr: pack.stderr, core, full };
  writeFileSync(join(root, 'ready.json'), JSON.stringify(consumer, null, 2));
  return consumer;
}

let shared: Promise<Consumer> | undefined;

/**
 * The packed package installed into new projects (see the top of this file). Built once per
 * source version; concurrent callers (other test files) wait for the first.
 */
export function packedConsumer(): Promise<Consumer> {
  shared ??= (async () => {
    const root = join(tmpdir(), `${PREFIX}${inputsHash()}`);
    const consumer = await withLock(`${root}.lock`, async () => {
      const ready = join(root, 'ready.json');
      if (existsSync(ready)) return JSON.parse(readFileSync(ready, 'utf8')) as Consumer;
      return build(root);
    });
    const now = new Date();
    utimesSync(root, now, now);
    prune(root);
    return consumer;
  })();
  return shared;
}

/** `node_modules/.bin/<name>` of a project. */
export function bin(project: string, name: string): string {
  return join(project, 'node_modules', '.bin', name);
}
