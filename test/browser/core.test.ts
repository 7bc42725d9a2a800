// The core runs in browsers: src/index.ts bundled by esbuild for the browser platform (any Node
// built-in in the bundle fails the build), loaded into headless Chromium, and an arbitration run
// there.
import test from 'ava';
import { builtinModules } from 'node:module';
import { fileURLToPath } from 'node:url';
import { build, type Metafile, type Plugin } from 'esbuild';
import type { Browser } from 'playwright-core';
import { launchBrowser } from '../helpers/browser.js';

const ENTRY = fileURLToPath(new URL('../../src/index.ts', import.meta.url));
const CORE = `export * from ${JSON.stringify(ENTRY)};`;
const BUILTINS = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));

/** Fails the build on any import of a Node built-in, naming the file that imports it. */
const noNodeBuiltins: Plugin = {
  name: 'no-node-builtins',
  setup(b) {
    b.onResolve({ filter: /.*/ }, (args) =>
      BUILTINS.has(args.path) || args.path.startsWith('node:')
        ? { errors: [{ text: `${args.importer} imports the Node built-in ${JSON.stringify(args.path)}: the core must run in browsers` }] }
        : undefined,
    );
  },
};

/** Bundles a module given as source text (resolved from this directory) for the browser. */
async function bundle(source: string): Promise<{ code: string; metafile: Metafile; warnings: string[] }> {
  const result = await build({
    stdin: { contents: source, resolveDir: fileURLToPath(new URL('.', import.meta.url)), loader: 'ts' },
    bundle: true,
    platform: 'browser',
    format: 'iife',
    globalName: 'XstateArbiter',
    target: 'es2022',
    write: false,
    metafile: true,
    logLevel: 'silent',
    plugins: [noNodeBuiltins],
  });
  return {
    code: result.outputFiles[0]!.text,
    metafile: result.metafile,
    warnings: result.warnings.map((w) => `${w.location?.file ?? ''}:${w.location?.line ?? ''} ${w.text}`),
  };
}

let browser: Browser | undefined;

test.before(async () => {
  browser = await launchBrowser();
});

test.after.always(async () => {
  await browser?.close();
});

test('esbuild, platform browser - src/index.ts bundles without any Node built-in', async (t) => {
  const { code, metafile, warnings } = await bundle(CORE);
  t.deepEqual(warnings, []);
  const inputs = Object.keys(metafile.inputs);
  t.true(inputs.some((i) => i.endsWith('src/index.ts')));
  t.true(inputs.some((i) => i.includes('node_modules/xstate/')), 'xstate is bundled');
  t.false(inputs.some((i) => i.startsWith('node:') || BUILTINS.has(i)));
  t.true(code.length > 0);
});

test('esbuild, platform browser - a Node built-in anywhere in the core fails the bundle', async (t) => {
  const err = await t.throwsAsync(bundle(`import 'node:fs';\n${CORE}`));
  t.regex(err?.message ?? '', /imports the Node built-in "node:fs"/);
});

test('Chromium - an arbitration in the bundled core: the higher priority wins, the other loses lost-arbitration', async (t) => {
  const { code } = await bundle(CORE);
  const page = await browser!.newPage();
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  try {
    await page.setContent('<!doctype html><meta charset="utf-8"><title>xstate-arbiter in a browser</title>');
    await page.addScriptTag({ content: code });
    // A string, not a function: the test's own transpiler would add helpers the page does not have.
    const result = await page.evaluate(`(async () => {
      const { createArbiter, createStore, Priority, OperationRejectedError } = window.XstateArbiter;
      const store = createStore();
      const doc = store.create({ title: 'draft' });
      const arbiter = createArbiter({ windowMs: 20, store });
      const low = arbiter.submit({ target: doc.id, type: 'rename', priority: Priority.LOW,
        execute: async () => store.update(doc.id, (d) => { d.title = 'low'; }).data.title });
      const high = arbiter.submit({ target: doc.id, type: 'publish', priority: Priority.HIGH,
        execute: async () => store.update(doc.id, (d) => { d.title = 'high'; }).data.title });
      const won = await high.result;
      const lost = await low.result.then(() => 'resolved', (err) => [err instanceof OperationRejectedError, err.code]);
      const m = arbiter.metrics();
      await arbiter.stop();
      return {
        won,
        lost,
        title: store.get(doc.id).data.title,
        lastModified: typeof store.get(doc.id).lastModified,
        metrics: [m.submitted, m.completed, m.rejected, m.inFlight],
        node: typeof process !== 'undefined',
      };
    })()`);
    t.deepEqual(result, {
      won: 'high',
      lost: [true, 'lost-arbitration'],
      title: 'high',
      lastModified: 'bigint',
      metrics: [2, 1, 1, 0],
      node: false,
    });
    t.deepEqual(errors, []);
  } finally {
    await page.close();
  }
});
