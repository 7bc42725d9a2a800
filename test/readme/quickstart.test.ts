import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** The first ```ts block after a README heading. */
function readmeBlock(heading: string): string {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const at = readme.indexOf(heading);
  if (at < 0) throw new Error(`README has no heading ${heading}`);
  const match = /```ts\n([\s\S]*?)```/.exec(readme.slice(at));
  if (!match?.[1]) throw new Error(`no ts block after ${heading}`);
  return match[1];
}

test('README - the quick start runs as printed and does what its comments say', (t) => {
  const code = readmeBlock('## Quick start').replace(/from 'arbiter'/g, `from '${join(root, 'src/index.ts')}'`);
  const dir = mkdtempSync(join(tmpdir(), 'arbiter-readme-'));
  try {
    const file = join(dir, 'quickstart.mts');
    writeFileSync(file, code);
    const run = spawnSync(process.execPath, ['--import', 'tsx', file], { cwd: root, encoding: 'utf8', timeout: 30_000 });
    t.is(run.status, 0, run.stderr);
    const lines = run.stdout.trim().split('\n');
    t.is(lines[0], 'frozen');
    t.regex(lines[1] ?? '', /^lost-arbitration - lost arbitration to [0-9a-f-]{36} \(freeze, priority 8 vs 2\)$/);
    t.is(lines[2], '100');
    t.is(lines[3], '1');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
