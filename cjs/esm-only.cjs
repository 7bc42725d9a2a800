'use strict';
// What require('xstate-arbiter') (or a subpath) loads: the package is ESM only.
const error = new Error(
  "xstate-arbiter is ESM only: use import, not require().\n" +
    "  import { createArbiter } from 'xstate-arbiter';\n" +
    "From CommonJS, load it with a dynamic import:\n" +
    "  const { createArbiter } = await import('xstate-arbiter');",
);
error.code = 'ERR_REQUIRE_ESM';
throw error;
