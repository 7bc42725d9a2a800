import test from 'ava';
import { readFile } from 'node:fs/promises';

// The README shows test/readme/approval.model.test.ts verbatim, with package imports in place of
// the relative ones the repository needs.
const PACKAGE_IMPORTS: Array<[string, string]> = [
  ["'../../src/index.js'", "'xstate-arbiter'"],
  ["'../../src/testing.js'", "'xstate-arbiter/testing'"],
];

test('README - the lifecycle section shows the user test file verbatim', async (t) => {
  const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8');
  const section = readme.slice(readme.indexOf('## Extending the lifecycle and model-based testing'));
  t.true(section.length > 0);
  const anchor = section.indexOf('test/readme/approval.model.test.ts');
  const block = /```ts ava\n([\s\S]*?)```/.exec(section.slice(anchor));
  t.truthy(block);
  let file = await readFile(new URL('./approval.model.test.ts', import.meta.url), 'utf8');
  for (const [local, pkg] of PACKAGE_IMPORTS) file = file.replace(local, pkg);
  t.is(block![1], file);
  t.true(file.split('\n').filter(Boolean).length < 30);
});
