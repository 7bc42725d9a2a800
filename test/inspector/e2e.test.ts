import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import type { Browser } from 'playwright-core';
import { attachInspector } from '../../inspector/index.js';
import { createArbiter, Priority } from '../../src/index.js';
import { launchBrowser } from '../helpers/browser.js';

const ARTIFACTS = join(dirname(fileURLToPath(import.meta.url)), '..', 'artifacts');
const TARGETS = ['account-1', 'account-2', 'account-3'];

// Real time on purpose: a browser renders what a real conflict storm does. The window and the
// executions are long enough for every state to be on screen for a while; nothing asserts timing.
const WINDOW_MS = 1500;
const EXECUTE_MS = 1500;

let browser: Browser | undefined;

test.before(async () => {
  browser = await launchBrowser();
});

test.after.always(async () => {
  await browser?.close();
});

test('inspector page: coordinators appear, the selected operation statechart follows staged → executing → completed', async (t) => {
  const arbiter = createArbiter({ windowMs: WINDOW_MS, gracePeriodMs: 10_000 });
  const inspector = await attachInspector(arbiter, { flushMs: 50 });
  const page = await browser!.newPage({ viewport: { width: 1440, height: 900 } });
  const pageErrors: string[] = [];
  const offsite: string[] = [];
  page.on('pageerror', (err) => pageErrors.push(err.message));
  page.on('request', (req) => {
    if (!req.url().startsWith(inspector.url) && !req.url().startsWith(inspector.url.replace('http', 'ws'))) offsite.push(req.url());
  });
  try {
    await page.goto(inspector.url);
    await page.waitForSelector('#conn[data-state="open"]');

    const sleep = (ms: number, signal: AbortSignal) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(resolve, ms);
        signal.addEventListener('abort', () => {
          clearTimeout(timer);
          reject(new Error('aborted'));
        });
      });
    const handles = [];
    for (const target of TARGETS) {
      for (const [i, priority] of [Priority.LOW, Priority.NORMAL, Priority.CRITICAL, Priority.BACKGROUND].entries()) {
        handles.push(
          arbiter.submit({
            target,
            id: priority === Priority.CRITICAL ? `winner-${target}` : `op-${target}-${i}`,
            type: priority === Priority.CRITICAL ? 'freeze' : 'withdraw',
            priority,
            // A payload full of markup must show up as text, never as HTML.
            data: { note: '<img src=x onerror="window.__pwned=1">' },
            execute: async ({ signal }) => {
              await sleep(EXECUTE_MS, signal);
              return 'ok';
            },
          }),
        );
      }
    }

    // 1. Every target's coordinator shows up in the actor tree, with its operations under it.
    for (const target of TARGETS) {
      await page.waitForSelector(`.node.coord[data-target="${target}"][data-sid]`);
      await page.waitForSelector(`li[data-target="${target}"] .node.op[data-op="winner-${target}"]`);
    }
    t.is(await page.locator('.node.coord[data-sid]').count(), TARGETS.length);
    t.is(await page.locator('.node.op').count(), TARGETS.length * 4);

    // 2. Selecting an operation draws its statechart with the current state highlighted.
    await page.click('.node.op[data-op="winner-account-2"]');
    await page.waitForSelector('#chart svg g.sc-node[data-state-id="operation.staged"].active');
    t.is(await page.locator('#chart svg g.sc-node').count(), 7); // any-state + 6 states
    t.is(await page.locator('#chart svg g.sc-node.active').count(), 1);
    t.regex((await page.textContent('#chart-title')) ?? '', /winner-account-2 on account-2/);
    await page.screenshot({ path: join(ARTIFACTS, 'inspector-staged.png') });

    // 3. The highlight moves as the operation goes on, and the last transition is marked.
    await page.waitForSelector('#chart svg g.sc-node[data-state-id="operation.executing"].active');
    await page.waitForSelector('#chart svg g.sc-edge.last[data-event="arbiter.win"]');
    await page.screenshot({ path: join(ARTIFACTS, 'inspector-executing.png') });
    await page.waitForSelector('#chart svg g.sc-node[data-state-id="operation.completed"].active', { timeout: 20_000 });
    t.is(await page.locator('#chart svg g.sc-node.active').count(), 1);
    const trail = (await page.getAttribute('#chart', 'data-trail')) ?? '';
    t.deepEqual(trail.split(' '), ['pending', 'staged', 'executing', 'completed']);

    // A loser shows its rejection; the event log has the conflicts and lets one select an actor.
    await Promise.allSettled(handles.map((h) => h.result));
    await page.waitForSelector('.node.op[data-op="op-account-1-0"][data-state="rejected"]');
    await page.waitForSelector('#log-body tr[data-type="conflict.resolved"][data-target="account-3"]');
    await page.click('#log-body tr[data-type="operation.rejected"][data-op="op-account-3-1"]');
    await page.waitForSelector('#chart svg g.sc-node[data-state-id="operation.rejected"].active');
    t.regex((await page.textContent('#details')) ?? '', /lost-arbitration/);

    // Received markup stayed text; the page made no request anywhere else; the metrics arrived.
    t.regex((await page.textContent('#details')) ?? '', /<img src=x/);
    t.is(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned), undefined);
    t.deepEqual(offsite, []);
    await page.waitForFunction(() => (document.querySelector('#totals')?.textContent ?? '').includes('completed 3'), undefined, { timeout: 5000 });
    await page.screenshot({ path: join(ARTIFACTS, 'inspector.png') });
    t.deepEqual(pageErrors, []);
    t.is(inspector.stats().malformed, 0);
  } finally {
    await page.close();
    await inspector.close();
    await arbiter.stop();
  }
});

mkdirSync(ARTIFACTS, { recursive: true });
