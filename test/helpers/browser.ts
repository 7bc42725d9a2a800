// Finds a Chromium for the browser tests without any install step: an explicit path, else a Chrome
// or Chromium installed on the machine, else the headless Chromium shipped inside the
// `@sparticuz/chromium` dev dependency (npm is all a fresh machine has). Never downloads anything.
import { existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type LaunchOptions } from 'playwright-core';
import { executable, onPath } from './executables.js';

/** Environment variables that name a browser executable, the first set one wins. */
export const BROWSER_ENV = ['ARBITER_BROWSER', 'CHROME_PATH', 'PLAYWRIGHT_CHROMIUM_EXECUTABLE_PATH'] as const;

/** Flags for a headless run on a closed network (no background connections, no sandbox as root). */
export const BROWSER_ARGS = [
  '--headless',
  '--no-sandbox',
  '--no-zygote',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-quic',
  '--no-first-run',
  '--disable-component-update',
  '--disable-sync',
];

const INSTALLED = [
  'chromium',
  'chromium-browser',
  'google-chrome',
  'google-chrome-stable',
  'chrome',
];
const INSTALLED_PATHS = [
  '/opt/google/chrome/chrome',
  '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome',
  '/Applications/Chromium.app/Contents/MacOS/Chromium',
];

/** Where the browser came from, for test logs. */
export interface FoundBrowser {
  readonly executablePath: string;
  readonly source: 'env' | 'installed' | 'npm';
}



function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// Test files run in parallel processes; the npm Chromium unpacks into the temp dir once, so the
// first process takes a directory lock and the others wait for it rather than race the unpacking.
async function npmChromium(): Promise<string> {
  let mod: { default: { executablePath(): Promise<string> } };
  try {
    mod = (await import('@sparticuz/chromium')) as never;
  } catch (err) {
    throw new Error(
      `no browser found: set ${BROWSER_ENV[0]}=/path/to/chrome, install Chrome or Chromium, or run npm install (the @sparticuz/chromium dev dependency ships one): ${String(err)}`,
    );
  }
  const lock = join(tmpdir(), 'arbiter-chromium.lock');
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      // A lock older than two minutes belongs to a process that died while unpacking.
      try {
        if (Date.now() - statSync(lock).mtimeMs > 120_000) rmSync(lock, { recursive: true, force: true });
      } catch {
        // Released meanwhile.
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${lock}`);
      await sleep(100);
    }
  }
  try {
    return await mod.default.executablePath();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/**
 * The browser the tests use: `$ARBITER_BROWSER` (or `$CHROME_PATH`,
 * `$PLAYWRIGHT_CHROMIUM_EXECUTABLE_PATH`), else an installed Chrome/Chromium, else the one in
 * `@sparticuz/chromium` (Linux x64).
 */
export async function findBrowser(): Promise<FoundBrowser> {
  for (const name of BROWSER_ENV) {
    const path = process.env[name];
    if (path === undefined || path === '') continue;
    if (!executable(path)) throw new Error(`$${name} is ${JSON.stringify(path)}, which is not an executable file`);
    return { executablePath: path, source: 'env' };
  }
  for (const name of INSTALLED) {
    const path = onPath(name);
    if (path) return { executablePath: path, source: 'installed' };
  }
  for (const path of INSTALLED_PATHS) if (existsSync(path) && executable(path)) return { executablePath: path, source: 'installed' };
  return { executablePath: await npmChromium(), source: 'npm' };
}

/**
 * Launches the browser {@link findBrowser} finds, headless.
 *
 * @example
 * ```ts
 * const browser = await launchBrowser();
 * const page = await browser.newPage();
 * ```
 */
export async function launchBrowser(options: LaunchOptions = {}): Promise<Browser> {
  const { executablePath } = await findBrowser();
  return chromium.launch({ ...options, executablePath, args: [...BROWSER_ARGS, ...(options.args ?? [])] });
}
