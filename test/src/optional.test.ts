import test from 'ava';
import { isMissing, loadOptional, OPTIONAL_FEATURES, OptionalDependencyError, packageOf, resolveOptional } from '../../src/optional.js';
import { readFile } from 'node:fs/promises';

test('packageOf() - the package of a specifier, scoped or not', (t) => {
  t.is(packageOf('prom-client'), 'prom-client');
  t.is(packageOf('xstate/graph'), 'xstate');
  t.is(packageOf('@dagrejs/dagre/package.json'), '@dagrejs/dagre');
  t.is(packageOf('@statelyai/inspect'), '@statelyai/inspect');
});

test('loadOptional() - a package that is not installed: OptionalDependencyError with the npm install command of the feature', async (t) => {
  const err = await t.throwsAsync(loadOptional('xstate-arbiter-no-such-package', 'inspector'), { instanceOf: OptionalDependencyError });
  t.is(err.code, 'ERR_ARBITER_OPTIONAL_DEPENDENCY');
  t.is(err.dependency, 'xstate-arbiter-no-such-package');
  t.is(err.feature, 'inspector');
  t.is(err.install, 'npm install @statelyai/inspect @dagrejs/dagre');
  t.is(
    err.message,
    'the inspector (xstate-arbiter/inspector) needs xstate-arbiter-no-such-package, an optional peer dependency of xstate-arbiter that is not installed: run `npm install @statelyai/inspect @dagrejs/dagre`',
  );
  t.is((err.cause as { code?: string }).code, 'ERR_MODULE_NOT_FOUND');
});

test('loadOptional() - an installed package is returned as imported', async (t) => {
  const rxjs = await loadOptional<typeof import('rxjs')>('rxjs', 'metricsText');
  t.is(typeof rxjs.Observable, 'function');
});

test('loadOptional() - any other failure (the package itself throws while loading) is rethrown unchanged', async (t) => {
  const err = await t.throwsAsync(loadOptional('data:text/javascript,throw new RangeError("broken inside")', 'metricsText'));
  t.true(err instanceof RangeError);
  t.is(err?.message, 'broken inside');
});

test('isMissing() - only a not-found error for that very package (not one of its own imports)', (t) => {
  const notFound = (message: string, code = 'ERR_MODULE_NOT_FOUND') => Object.assign(new Error(message), { code });
  t.true(isMissing(notFound("Cannot find package 'prom-client' imported from /app/x.js"), 'prom-client'));
  t.true(isMissing(notFound("Cannot find module '@dagrejs/dagre/package.json'", 'MODULE_NOT_FOUND'), '@dagrejs/dagre'));
  t.false(isMissing(notFound("Cannot find package 'superjson' imported from /app/node_modules/@statelyai/inspect/dist/index.js"), '@statelyai/inspect'));
  t.false(isMissing(new Error("Cannot find package 'prom-client'"), 'prom-client'), 'no code');
  t.false(isMissing('prom-client', 'prom-client'));
  t.false(isMissing(null, 'prom-client'));
});

test('resolveOptional() - resolves with the given resolver, or names the npm install command', (t) => {
  t.is(resolveOptional((s) => `/x/${s}`, '@dagrejs/dagre/package.json', 'inspector'), '/x/@dagrejs/dagre/package.json');
  const missing = () => {
    throw Object.assign(new Error("Cannot find module '@dagrejs/dagre/package.json'"), { code: 'MODULE_NOT_FOUND' });
  };
  const err = t.throws(() => resolveOptional(missing, '@dagrejs/dagre/package.json', 'inspector'), { instanceOf: OptionalDependencyError });
  t.is(err.dependency, '@dagrejs/dagre');
  const other = new Error('EACCES');
  t.is(t.throws(() => resolveOptional(() => { throw other; }, 'x', 'inspector')), other);
});

test('OPTIONAL_FEATURES - lists exactly the optional peer dependencies of package.json', async (t) => {
  const pkg = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as {
    peerDependencies: Record<string, string>;
    peerDependenciesMeta: Record<string, { optional?: boolean }>;
  };
  const optional = Object.keys(pkg.peerDependenciesMeta).filter((name) => pkg.peerDependenciesMeta[name]?.optional);
  const listed = Object.values(OPTIONAL_FEATURES).flatMap((f) => f.packages);
  t.deepEqual([...new Set(listed)].sort(), optional.sort());
  for (const name of optional) t.truthy(pkg.peerDependencies[name], `${name} has a version range`);
});
