#!/usr/bin/env node
// The `arbiter` command. In the repository it runs the TypeScript sources through tsx (a dev
// dependency), so it never runs a stale build; in an installed package (no sources, no tsx) it
// runs the compiled `dist/bin/arbiter.js` from `npm run build`.
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const source = fileURLToPath(new URL('./arbiter.ts', import.meta.url));
let tsx;
if (existsSync(source)) {
  try {
    tsx = await import('tsx/esm/api');
  } catch {
    tsx = undefined;
  }
}
if (tsx) {
  tsx.register();
  await import(pathToFileURL(source).href);
} else {
  await import(pathToFileURL(fileURLToPath(new URL('../dist/bin/arbiter.js', import.meta.url))).href);
}
