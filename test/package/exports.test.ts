// The package.json `exports` map, checked without packing (the packed tarball is checked in
// ./package.test.ts).
import test from 'ava';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from './consumer.js';

const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as {
  exports: Record<string, string | Record<string, string>>;
  scripts: Record<string, string>;
  files: string[];
};

/** Each public entry, the source it is built from, and its compiled file. */
const ENTRIES: Record<string, string> = {
  '.': 'src/index.ts',
  './testing': 'src/testing.ts',
  './inspector': 'inspector/index.ts',
  // Added to `exports` once src/redis/index.ts exists (the Redis backend).
  './redis': 'src/redis/index.ts',
};

test('exports - every entry whose source exists is exported: types first, then import, then the ESM-only require', (t) => {
  for (const [entry, source] of Object.entries(ENTRIES)) {
    const exported = pkg.exports[entry];
    if (!existsSync(join(REPO, source))) {
      t.is(exported, undefined, `${entry}: no source (${source}), so no export yet`);
      continue;
    }
    t.truthy(exported, `${entry} is exported (its source ${source} exists)`);
    const conditions = exported as Record<string, string>;
    const built = `./dist/${source.replace(/\.ts$/, '')}`;
    t.deepEqual(Object.keys(conditions), ['types', 'import', 'require'], entry);
    t.is(conditions['types'], `${built}.d.ts`, entry);
    t.is(conditions['import'], `${built}.js`, entry);
    t.is(conditions['require'], './cjs/esm-only.cjs', entry);
  }
  const unknown = Object.keys(pkg.exports).filter((e) => e !== './package.json' && !(e in ENTRIES));
  t.deepEqual(unknown, [], 'add new entries to ENTRIES');
});

test('exports - prepack builds dist/ from a clean directory', (t) => {
  t.is(pkg.scripts['prepack'], 'npm run build');
  t.regex(pkg.scripts['build'] ?? '', /rmSync\('dist'.*tsc -p tsconfig\.build\.json.*cpSync\('inspector\/page', 'dist\/inspector\/page'/);
  const build = JSON.parse(readFileSync(join(REPO, 'tsconfig.build.json'), 'utf8')) as { compilerOptions: Record<string, unknown> };
  t.is(build.compilerOptions['sourceMap'], false, 'no source maps: the sources they would point to are not shipped');
  t.not(build.compilerOptions['declarationMap'], true);
});

test('cjs/esm-only.cjs - throws ERR_REQUIRE_ESM with the import to use', async (t) => {
  const { createRequire } = await import('node:module');
  const require = createRequire(import.meta.url);
  const err = t.throws(() => require(join(REPO, 'cjs', 'esm-only.cjs'))) as Error & { code?: string };
  t.is(err.code, 'ERR_REQUIRE_ESM');
  t.regex(err.message, /^xstate-arbiter is ESM only: use import, not require\(\)\./);
});
