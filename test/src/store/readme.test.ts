import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = fileURLToPath(new URL('../../..', import.meta.url));

/** The first ```ts block after a README heading, importing the sources instead of the package. */
function readmeBlock(heading: string): string {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const at = readme.indexOf(heading);
  if (at < 0) throw new Error(`README has no heading ${heading}`);
  const match = /```ts\n([\s\S]*?)```/.exec(readme.slice(at));
  if (!match?.[1]) throw new Error(`no ts block after ${heading}`);
  return match[1].replace(/from 'arbiter'/g, `from '${join(root, 'src/index.js')}'`);
}

test('README - the store section example typechecks (data is unknown unless typed) and runs', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'arbiter-readme-store-'));
  try {
    const file = join(dir, 'store.mts');
    writeFileSync(file, `${readmeBlock('## Store, OCC and withConflictResolution')}\nconsole.log(JSON.stringify(store.history<Product>(item.id).map((v) => v.data.stock)));\nawait arbiter.stop();\n`);
    const program = ts.createProgram([file], {
      strict: true,
      noUncheckedIndexedAccess: true,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      lib: ['lib.es2022.d.ts', 'lib.dom.d.ts'],
      types: ['node'],
      typeRoots: [join(root, 'node_modules/@types')],
      skipLibCheck: true,
      noEmit: true,
    });
    const errors = ts
      .getPreEmitDiagnostics(program)
      .filter((d) => d.file?.fileName === file)
      .map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    t.deepEqual(errors, []);
    const run = spawnSync(process.execPath, ['--import', 'tsx', file], { cwd: root, encoding: 'utf8', timeout: 60_000 });
    t.is(run.status, 0, run.stderr);
    t.is(run.stdout.trim(), '[3,2,10,8]', 'the history the comment shows, then the purchase');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
