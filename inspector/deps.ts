import { createRequire } from 'node:module';

/** The package users import the inspector from (named in install hints). */
export const INSPECTOR_ENTRY = 'xstate-arbiter/inspector';

/**
 * A package the inspector needs is not installed (`ws`, `@dagrejs/dagre`). The core never needs
 * them; the inspector loads them when it starts.
 *
 * @example
 * ```ts
 * try { await attachInspector(arbiter); }
 * catch (err) { if (err instanceof InspectorDependencyError) console.error(err.message); } // install ws to use xstate-arbiter/inspector …
 * ```
 */
export class InspectorDependencyError extends Error {
  override readonly name = 'InspectorDependencyError';
  readonly code = 'ERR_ARBITER_INSPECTOR_DEPENDENCY' as const;
  /** The missing package. */
  readonly dependency: string;

  constructor(dependency: string, cause: unknown) {
    super(`install ${dependency} to use ${INSPECTOR_ENTRY}: npm install ${dependency}`, { cause });
    this.dependency = dependency;
  }
}

function isMissing(err: unknown, name: string): boolean {
  const e = err as { code?: unknown; message?: unknown } | null;
  if (!e || (e.code !== 'ERR_MODULE_NOT_FOUND' && e.code !== 'MODULE_NOT_FOUND')) return false;
  // Only this package missing, not something it imports itself.
  return typeof e.message === 'string' && (e.message.includes(`'${name}'`) || e.message.includes(`'${name}/`) || e.message.includes(`"${name}"`));
}

/**
 * Runs `load` (an `import()` or `require.resolve` of `name`), turning "module not found" for that
 * package into an {@link InspectorDependencyError} with the install command.
 *
 * @example
 * ```ts
 * const { WebSocketServer } = await loadDependency('ws', () => import('ws'));
 * ```
 */
export async function loadDependency<T>(name: string, load: () => T | Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (err) {
    if (isMissing(err, name)) throw new InspectorDependencyError(name, err);
    throw err;
  }
}

/** `require.resolve` relative to the inspector, for files served from a package (dagre). */
export const requireHere = createRequire(import.meta.url);
