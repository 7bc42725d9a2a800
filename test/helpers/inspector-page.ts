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

/**
 * Clicks an operation's row until it is the selected one. The tree is virtual: its row elements
 * are rebound to other rows as the tree changes (a coordinator stopping moves every row under
 * it), so a click that lands just after a rebind selects the neighbour, as it would for a user.
 */
export async function selectOperation(page: Page, id: string): Promise<void> {
  const row = `#tree .node[data-op=${JSON.stringify(id)}]`;
  for (let attempt = 1; ; attempt++) {
    await page.click(row);
    try {
      await page.waitForSelector(`${row}.selected`, { timeout: 1000 });
      return;
    } catch (err) {
      if (attempt === 5) throw err;
    }
  }
}

/** What {@link probeFrameRate} measured. */
export interface FrameRate {
  /** Animation frames per second over the probe. */
  fps: number;
  frames: number;
  elapsedMs: number;
  /** 95th percentile time between two frames. */
  p95FrameMs: number;
  /** Main-thread tasks over 50 ms (Chromium's long-task timing), in total and how many. */
  longTaskMs: number;
  longTasks: number;
}

// Runs in the page as written: a string, so the TypeScript transform of the tests cannot add
// helpers to it that the page does not have.
const PROBE = `async (ms) => {
  const longTasks = [];
  const observer = new PerformanceObserver((list) => { for (const e of list.getEntries()) longTasks.push(e.duration); });
  try { observer.observe({ type: 'longtask', buffered: false }); } catch { /* no long-task timing: none reported */ }
  const gaps = [];
  const t0 = performance.now();
  let last = t0;
  let frames = 0;
  await new Promise((resolve) => {
    const tick = (now) => {
      frames++;
      gaps.push(now - last);
      last = now;
      if (now - t0 < ms) requestAnimationFrame(tick); else resolve();
    };
    requestAnimationFrame(tick);
  });
  observer.disconnect();
  const elapsed = performance.now() - t0;
  gaps.sort((a, b) => a - b);
  return {
    fps: (frames / elapsed) * 1000,
    frames,
    elapsedMs: elapsed,
    p95FrameMs: gaps[Math.floor(gaps.length * 0.95)] || 0,
    longTaskMs: longTasks.reduce((a, b) => a + b, 0),
    longTasks: longTasks.length,
  };
}`;

/** Counts the page's animation frames for `ms` milliseconds (a requestAnimationFrame probe). */
export async function probeFrameRate(page: Page, ms: number): Promise<FrameRate> {
  return (await page.evaluate(`(${PROBE})(${Math.max(100, Math.round(ms))})`)) as FrameRate;
}
