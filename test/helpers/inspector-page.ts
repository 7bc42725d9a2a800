// Shared steps of the inspector's browser tests: open the page as a user would, collect page
// errors and requests that leave the inspector, save screenshots into the git-ignored
// test/artifacts/.
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';

export const ARTIFACTS = join(dirname(fileURLToPath(import.meta.url)), '..', 'artifacts');
mkdirSync(ARTIFACTS, { recursive: true });

export interface OpenedPage {
  page: Page;
  /** Uncaught errors and console errors of the page. */
  errors: string[];
  /** Requests to anything but the inspector itself. */
  offsite: string[];
  shot(name: string): Promise<void>;
  close(): Promise<void>;
}

/** Opens the inspector at `url` in a new page of `browser` (1400 × 900 unless told otherwise). */
export async function openInspector(browser: Browser, url: string, viewport = { width: 1400, height: 900 }): Promise<OpenedPage> {
  const page = await browser.newPage({ viewport });
  const errors: string[] = [];
  const offsite: string[] = [];
  const origin = new URL(url).origin;
  page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  page.on('request', (req) => {
    const u = req.url();
    if (!u.startsWith(origin) && !u.startsWith(origin.replace(/^http/, 'ws')) && !u.startsWith('data:')) offsite.push(u);
  });
  await page.goto(url);
  await page.waitForSelector('#conn[data-state="open"]');
  return {
    page,
    errors,
    offsite,
    shot: async (name) => {
      await page.screenshot({ path: join(ARTIFACTS, `${name}.png`) });
    },
    close: () => page.close(),
  };
}

/** An `execute` that takes `ms` (aborted by the arbiter's signal). */
export function slow<T>(ms: number, value: T) {
  return ({ signal }: { signal: AbortSignal }) =>
    new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => resolve(value), ms);
      signal.addEventListener('abort', () => {
        clearTimeout(timer);
        reject(new Error('aborted'));
      });
    });
}

/** Types into the tree's search box (how a user finds one id among thousands). */
export async function search(page: Page, text: string): Promise<void> {
  await page.fill('#tree-search', text);
}
