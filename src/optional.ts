// Optional peer dependencies: packages that only one entry needs (the inspector, `metricsText()`,
// the Redis backend) are not installed with the core. The entry that needs one loads it through
// these helpers, so a user who has not installed it gets the `npm install` command to run instead
// of a bare ERR_MODULE_NOT_FOUND. No Node-only API here: the core imports this file and runs in browsers.

/**
 * The features that need optional peer dependencies, and what to install for each. `package.json`
 * lists the same packages under `peerDependenciesMeta` as optional.
 */
export const OPTIONAL_FEATURES = {
  inspector: { label: 'the inspector (xstate-arbiter/inspector)', packages: ['@statelyai/inspect', '@dagrejs/dagre'] },
  metricsText: { label: 'metricsText()', packages: ['prom-client'] },
  redis: { label: 'the Redis backend (xstate-arbiter/redis)', packages: ['ioredis'] },
} as const satisfies Record<string, { label: string; packages: readonly string[] }>;

/** A feature that needs optional peer dependencies: `'inspector'`, `'metricsText'` or `'redis'`. */
export type OptionalFeature = keyof typeof OPTIONAL_FEATURES;

/**
 * Thrown when a feature needs an optional peer dependency that is not installed.
 *
 * @example
 * ```ts
 * import { OptionalDependencyError } from 'xstate-arbiter';
 *
 * try {
 *   await arbiter.metricsText();
 * } catch (err) {
 *   if (err instanceof OptionalDependencyError) console.error(err.message); // … run `npm install prom-client`
 * }
 * ```
 */
export class OptionalDependencyError extends Error {
  override readonly name = 'OptionalDependencyError';
  /** Stable machine-readable code. */
  readonly code = 'ERR_ARBITER_OPTIONAL_DEPENDENCY' as const;
  /** The missing package, e.g. `prom-client`. */
  readonly dependency: string;
  /** The command that installs it, e.g. `npm install prom-client`. */
  readonly install: string;

  /** The feature that needs it. */
  readonly feature: OptionalFeature;

  constructor(dependency: string, feature: OptionalFeature, cause?: unknown) {
    const { label, packages } = OPTIONAL_FEATURES[feature];
    const install = `npm install ${packages.join(' ')}`;
    super(`${label} needs ${dependency}, an optional peer dependency of xstate-arbiter that is not installed: run \`${install}\``, { cause });
    this.feature = feature;
    this.dependency = dependency;
    this.install = install;
  }
}

/** The package a specifier belongs to: `@scope/name/sub/path` → `@scope/name`, `name/sub` → `name`. */
export function packageOf(specifier: string): string {
  const parts = specifier.split('/');
  return (specifier.startsWith('@') ? parts.slice(0, 2) : parts.slice(0, 1)).join('/');
}

/**
 * Whether `err` says that `dependency` itself could not be found (and not, say, one of its own
 * imports or a syntax error inside it, which must surface as they are).
 */
export function isMissing(err: unknown, dependency: string): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const { code, message } = err as { code?: unknown; message?: unknown };
  if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'MODULE_NOT_FOUND') return false;
  if (typeof message !== 'string') return false;
  // Node names the package it looked for: "Cannot find package 'prom-client' imported from …",
  // "Cannot find module '@dagrejs/dagre/package.json'".
  return message.includes(`'${dependency}'`) || message.includes(`'${dependency}/`);
}

/**
 * Imports an optional peer dependency, or throws {@link OptionalDependencyError} naming the
 * `npm install` command of the whole feature when it is not installed. Other failures are rethrown unchanged.
 *
 * The specifier is a variable, so bundlers leave the import alone and the core stays bundleable.
 *
 * @example
 * ```ts
 * const { createInspector } = await loadOptional<typeof import('@statelyai/inspect')>(
 *   '@statelyai/inspect',
 *   'inspector',
 * );
 * ```
 */
export async function loadOptional<T>(specifier: string, feature: OptionalFeature): Promise<T> {
  try {
    return (await import(specifier)) as T;
  } catch (err) {
    const dependency = packageOf(specifier);
    if (isMissing(err, dependency)) throw new OptionalDependencyError(dependency, feature, err);
    throw err;
  }
}

/**
 * Resolves a file of an optional peer dependency with the given resolver (a `require.resolve`
 * from `createRequire`), or throws {@link OptionalDependencyError} when it is not installed.
 *
 * @example
 * ```ts
 * const require = createRequire(import.meta.url);
 * const dagre = resolveOptional(require.resolve, '@dagrejs/dagre/package.json', 'inspector');
 * ```
 */
export function resolveOptional(resolve: (specifier: string) => string, specifier: string, feature: OptionalFeature): string {
  try {
    return resolve(specifier);
  } catch (err) {
    const dependency = packageOf(specifier);
    if (isMissing(err, dependency)) throw new OptionalDependencyError(dependency, feature, err);
    throw err;
  }
}
