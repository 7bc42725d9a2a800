// ioredis is an optional peer dependency: the `xstate-arbiter/redis` entry loads it here, so that
// an application without it gets the `npm install ioredis` command instead of a bare
// ERR_MODULE_NOT_FOUND. Types come from `import type` (erased at run time).
import { loadOptional } from '../optional.js';

const ioredis = await loadOptional<typeof import('ioredis')>('ioredis', 'redis');

/** The ioredis client class (loaded on first import of the Redis entry). */
export const Redis: typeof import('ioredis').Redis = ioredis.Redis;
