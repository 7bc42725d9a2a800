// The inspector in headless Chromium, driven as a user would (issue "understood in ten seconds"):
// points 1–4. Real time on purpose (a browser renders what a real arbiter does); windows and
// executions are long enough for every state to be on screen; nothing asserts timing.
import { connect, createServer, type Socket } from 'node:net';
import test from 'ava';
import type { Browser, Page } from 'playwright-core';
import { attachInspector, runLiveScenario, type InspectorServer } from '../../inspector/index.js';
import { createArbiter, Priority, type Arbiter } from '../../src/index.js';
import { launchBrowser } from '../helpers/browser.js';
import { openInspector, search, selectOperation, slow } from '../helpers/inspector-page.js';

let browser: Browser;
test.before(async () => {
  browser = await launchBrowser();
});
test.after.always(async () => {
  await browser?.close();
});

const text = (page: Page, selector: string) => page.textContent(selector).then((s) => s ?? '');
const selectedRow = (page: Page) => page.locator('#tree .node[aria-selected="true"]');

async function withArbiter(options: Parameters<typeof createArbiter>[0], run: (arbiter: Arbiter, inspector: InspectorServer) => Promise<void>) {
  const arbiter = createArbiter(options);
  const inspector = await attachInspector(arbiter, { flushMs: 50 });
  try {
    await run(arbiter, inspector);
  } finally {
    await inspector.close();
    await arbiter.stop();
  }
}

test.serial('1. first ten seconds: opens on the busiest target, its coordinator live; a legend; a favicon; a new run resets the page', async (t) => {
  // The default scenario, as `npm run inspect` runs it: what a newcomer sees after 2 s.
  const live = await runLiveScenario({ durationMs: 0, log: () => undefined });
  const first = await openInspector(browser, live.url);
  await first.page.waitForTimeout(2000);
  await first.shot('inspector-2s');
  t.regex(await text(first.page, '#chart-title'), /^coordinator of account-\d+/, 'a chart, not an empty panel');
  t.is(await first.page.locator('#chart svg g.sc-node.active').count(), 1);
  await first.close();
  await live.stop();

  await withArbiter({ windowMs: 5000, idleCoordinatorMs: 60_000 }, async (arbiter, inspector) => {
    const p = await openInspector(browser, inspector.url);
    for (const [target, n] of [['quiet-1', 1], ['busy', 6], ['quiet-2', 2]] as const) {
      for (let i = 0; i < n; i++) arbiter.submit({ target, priority: 1 + i, execute: slow(10, i) });
    }
    // Nobody clicked: the busiest target is selected and its coordinator's chart is live.
    await p.page.waitForSelector('#chart svg g.sc-node.active[data-state-id="coordinator.collecting"]');
    t.is(await text(p.page, '#chart-title'), 'coordinator of busy');
    t.is(await selectedRow(p.page).getAttribute('data-target'), 'busy');
    t.regex(await text(p.page, '#legend'), /window of 5000 ms.*highest priority wins.*lost-arbitration.*not an error/);
    const icon = await p.page.$eval('link[rel="icon"]', (el) => (el as HTMLLinkElement).href);
    const res = await fetch(icon);
    t.is(res.status, 200);
    t.is(res.headers.get('content-type'), 'image/svg+xml');
    const run1 = await text(p.page, '#run');
    t.regex(run1, /run [0-9a-f]{8} · backend memory · pid \d+/);

    // The app restarts: a new server (new run) on the same port. The page says so and starts over.
    const port = inspector.port;
    await inspector.close();
    await p.page.waitForSelector('#conn[data-state="closed"]');
    t.regex(await text(p.page, '#banner'), /server is gone: showing the last state/);
    const arbiter2 = createArbiter({ windowMs: 5000 });
    const again = await attachInspector(arbiter2, { port, flushMs: 50 });
    try {
      arbiter2.submit({ target: 'after-restart', execute: slow(10, 1) });
      await p.page.waitForSelector('#banner[data-kind="new"]', { timeout: 15_000 });
      t.regex(await text(p.page, '#banner'), /A new run started .*the page was reset/);
      await p.page.waitForSelector('#tree .node[data-target="after-restart"]');
      t.is(await p.page.locator('#tree .node[data-target="busy"]').count(), 0, 'nothing of the old run is left');
      t.not(await text(p.page, '#run'), run1);
      t.regex(await text(p.page, '#log-count'), /^\d+ received/);
      t.false((await text(p.page, '#log-scroll')).includes('quiet-1'));
      await p.page.waitForSelector('#chart svg g.sc-node.active');
      t.is(await text(p.page, '#chart-title'), 'coordinator of after-restart');
      // The browser logs each refused reconnection attempt while the server was down; nothing else.
      t.deepEqual(p.errors.filter((e) => !/WebSocket connection to .* failed: .*ERR_CONNECTION_REFUSED/.test(e)), []);
      t.deepEqual(p.offsite, []);
    } finally {
      await p.close();
      await again.close();
      await arbiter2.stop();
    }
  });
});

/** A TCP relay whose connections can be cut, to drop the page's WebSocket as a network would. */
async function relay(port: number) {
  const sockets = new Set<Socket>();
  const server = createServer((down) => {
    const up = connect(port, '127.0.0.1');
    for (const s of [down, up]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => sockets.delete(s));
    }
    down.pipe(up).pipe(down);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}/`,
    cut: () => {
      for (const s of sockets) s.destroy();
    },
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}

test.serial('2. stable selection: the selected operation is pinned; a target is followed across coordinators; pause, filters and a reconnect keep it', async (t) => {
  await withArbiter({ windowMs: 150, idleCoordinatorMs: 400, gracePeriodMs: 60_000, maxStagedPerTarget: 100 }, async (arbiter, inspector) => {
    const net = await relay(inspector.port);
    const p = await openInspector(browser, net.url);
    try {
      arbiter.submit({ target: 'acct', id: 'keep-me', priority: Priority.LOW, execute: slow(10, 'lost') });
      arbiter.submit({ target: 'acct', id: 'rival', priority: Priority.HIGH, execute: slow(10, 'won') });
      await search(p.page, 'keep-me');
      await p.page.waitForSelector('#tree .node[data-op="keep-me"][data-state="rejected"]');
      await selectOperation(p.page, 'keep-me');
      t.is(await text(p.page, '#chart-title'), 'operation keep-me on acct');
      await search(p.page, '');
      t.is(await text(p.page, '#chart-title'), 'operation keep-me on acct');
      await p.page.waitForSelector('#chart svg g.sc-node.active[data-state-id="operation.rejected"]');

      // Forty more operations on the same target: the tree keeps 12 per target, never the selected one.
      for (let round = 0; round < 4; round++) {
        for (let i = 0; i < 10; i++) arbiter.submit({ target: 'acct', id: `more-${round}-${i}`, priority: 1 + i, execute: slow(5, i) });
        await arbiter.drain();
      }
      await p.page.waitForSelector('#tree .node[data-kind="hidden"][data-target="acct"]');
      t.regex(await text(p.page, '#tree .node[data-kind="hidden"][data-target="acct"]'), /^\d+ older operations hidden/);
      t.is(await p.page.locator('#tree .node[data-op="keep-me"][aria-selected="true"]').count(), 1);

      // Pausing the log and filtering it do not touch the selection.
      await p.page.click('#pause');
      await p.page.fill('#f-target', 'nothing-matches');
      t.is(await text(p.page, '#chart-title'), 'operation keep-me on acct');
      await p.page.fill('#f-target', '');
      await p.page.click('#pause');

      // Selecting the target follows it: its coordinator stops when idle, the next one is shown.
      await p.page.click('#tree .node[data-kind="target"][data-target="acct"]');
      await p.page.waitForSelector('#chart svg g.sc-node.active');
      const firstCoordinator = await p.page.getAttribute('#chart', 'data-sid');
      await p.page.waitForSelector('#chart svg g.sc-node.active[data-state-id="coordinator.stopped"]', { timeout: 10_000 });
      arbiter.submit({ target: 'acct', id: 'wakes-it', execute: slow(10, 1) });
      await p.page.waitForFunction((sid) => {
        const c = document.getElementById('chart');
        return !!c && c.dataset.sid !== sid && !!c.querySelector('g.sc-node.active');
      }, firstCoordinator);
      t.is(await text(p.page, '#chart-title'), 'coordinator of acct');
      t.is(await selectedRow(p.page).getAttribute('data-target'), 'acct');
      await p.shot('inspector-selection');

      // The network drops; the page reconnects to the same run and keeps everything.
      net.cut();
      await p.page.waitForSelector('#banner[data-kind="same"]', { timeout: 15_000 });
      t.regex(await text(p.page, '#banner'), /Reconnected to the same run/);
      t.is(await selectedRow(p.page).getAttribute('data-target'), 'acct');
      t.regex(await text(p.page, '#chart-title'), /^coordinator of acct/);
      t.deepEqual(p.errors, []);
    } finally {
      await p.close();
      await net.close();
    }
  });
});

test.serial('3. detail pane: payload, context, history with times, and stepping back and forth moves the statechart', async (t) => {
  await withArbiter({ windowMs: 400, gracePeriodMs: 60_000 }, async (arbiter, inspector) => {
    const p = await openInspector(browser, inspector.url);
    try {
      const markup = '<img src=x onerror="window.__pwned=1">';
      const winner = arbiter.submit({ target: 'acct', id: 'winner', type: 'freeze', priority: Priority.CRITICAL, data: { note: markup, amount: 42 }, execute: slow(400, 'frozen') });
      const loser = arbiter.submit({ target: 'acct', id: 'loser', type: 'withdraw', priority: Priority.LOW, execute: slow(10, 'never') });
      await Promise.allSettled([winner.result, loser.result]);
      await search(p.page, 'winner');
      await selectOperation(p.page, 'winner');
      await p.page.waitForSelector('#chart svg g.sc-node.active[data-state-id="operation.completed"]');
      await p.page.waitForSelector('#details .history-row >> nth=3');
      const history = await p.page.locator('#details .history-row').allTextContents();
      t.true(history.length >= 4, history.join('\n'));
      for (const row of history) t.regex(row, /^\+\d+\.\d{3} s/, 'every step has its time');
      t.regex(history.join('\n'), /staged[\s\S]*executing[\s\S]*completed/);
      t.regex(await text(p.page, '#details'), /amount: 42/);
      t.regex(await text(p.page, '#details'), /<img src=x onerror/, 'markup shown as text');
      t.is(await p.page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned), undefined);

      // Back in time: the statechart shows each recorded step.
      const activeIs = (id: string) => p.page.waitForFunction((x) => document.querySelector('#chart svg g.sc-node.active')?.getAttribute('data-state-id') === x, id);
      await p.page.click('#step-back');
      await activeIs('operation.executing');
      t.not(await p.page.getAttribute('#chart', 'data-step'), 'live');
      await p.page.click('#step-back');
      await activeIs('operation.staged');
      t.regex(await text(p.page, '#details .step-label'), /^step \d+\/\d+ · \+\d+\.\d{3} s · arbiter\.admit/);
      await p.shot('inspector-details');
      await p.page.click('#step-fwd');
      await activeIs('operation.executing');
      t.regex(await text(p.page, '#details'), /event of this step[\s\S]*arbiter\.win/);
      await p.page.click('#step-live');
      await activeIs('operation.completed');
      t.is(await p.page.getAttribute('#chart', 'data-step'), 'live');

      // An event picked in the log shows its full payload.
      await p.page.fill('#f-op', 'loser');
      await p.page.click('#log-scroll .log-row[data-type="operation.rejected"]');
      await p.page.waitForFunction(() => /event operation\.rejected \(from the log\)/.test(document.getElementById('details')?.textContent ?? ''));
      const d = await text(p.page, '#details');
      t.regex(d, /code: "lost-arbitration"/);
      t.regex(d, /outcome.*lost-arbitration.*expected/);
      t.is(await text(p.page, '#chart-title'), 'operation loser on acct');
      t.deepEqual(p.errors, []);
    } finally {
      await p.close();
    }
  });
});

test.serial('4. sequence view: callers, the coordinator and each operation, live and for one window', async (t) => {
  await withArbiter({ windowMs: 300, gracePeriodMs: 60_000 }, async (arbiter, inspector) => {
    const p = await openInspector(browser, inspector.url);
    try {
      const round = (tag: string) => [Priority.LOW, Priority.NORMAL, Priority.CRITICAL].map((priority) =>
        arbiter.submit({ target: 'seq', id: `${tag}-p${priority}`, type: 'withdraw', priority, execute: slow(150, priority) }).result.catch(() => undefined),
      );
      await Promise.all(round('one'));
      await p.page.click('#tree .node[data-kind="target"][data-target="seq"]');
      await p.page.click('#tab-seq');
      await p.page.waitForSelector('#seq .step[data-label^="✓ completed"]');
      const lanesOf = () => p.page.locator('#seq .lane-head').evaluateAll((gs) => gs.map((g) => (g as SVGGElement).dataset.lane));
      const lanes = await lanesOf();
      t.deepEqual(lanes, ['callers', 'coordinator', 'one-p2', 'one-p5', 'one-p10']);
      const labels = await p.page.locator('#seq .step').evaluateAll((steps) => steps.map((s) => (s as SVGGElement).dataset.label));
      t.deepEqual(labels.filter((l) => l?.startsWith('submit')).length, 3);
      t.true(labels.includes('window closed: 3 candidates'));
      t.true(labels.includes('winner'));
      t.is(labels.filter((l) => l === 'rejected lost-arbitration').length, 2);
      t.true(labels.includes('execute (attempt 1)'));
      const winner = p.page.locator('#seq .step[data-label="winner"]');
      t.is(await winner.getAttribute('data-to'), 'one-p10');

      // Live: a second round appears as it happens.
      await Promise.all(round('two'));
      await p.page.waitForSelector('#seq .lane-head[data-lane="two-p10"]');
      await p.shot('inspector-sequence');

      // One window alone: the first round's window shows only its own candidates.
      const options = await p.page.locator('#seq-window option').allTextContents();
      t.is(options.length, 3, options.join(' | '));
      await p.page.selectOption('#seq-window', { index: 2 });
      await p.page.waitForFunction(() => !document.querySelector('#seq')?.textContent?.includes('two-p'));
      t.deepEqual(await lanesOf(), ['callers', 'coordinator', 'one-p2', 'one-p5', 'one-p10']);
      t.deepEqual(p.errors, []);
    } finally {
      await p.close();
    }
  });
});
