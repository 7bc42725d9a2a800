// The inspector in headless Chromium, driven as a user would: points 5–8 (statecharts, the tree,
// the charts, the event log). Real time; nothing asserts timing.
import test from 'ava';
import type { Browser, Page } from 'playwright-core';
import { attachInspector, runLiveScenario, statechartOf, type InspectorOptions, type InspectorServer } from '../../inspector/index.js';
import { coordinatorMachine, createArbiter, Priority, type Arbiter, type ArbiterOptions } from '../../src/index.js';
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

async function withArbiter(options: ArbiterOptions, inspectorOptions: InspectorOptions, run: (arbiter: Arbiter, inspector: InspectorServer) => Promise<void>) {
  const arbiter = createArbiter(options);
  const inspector = await attachInspector(arbiter, { flushMs: 50, ...inspectorOptions });
  try {
    await run(arbiter, inspector);
  } finally {
    await inspector.close();
    await arbiter.stop();
  }
}

/** Every statechart text's size on screen, and the overlapping pairs among labels and states. */
function measureChart(page: Page) {
  return page.evaluate(() => {
    const texts = Array.from(document.querySelectorAll('#chart svg text')) as SVGTextElement[];
    const sizes = texts.map((t) => parseFloat(getComputedStyle(t).fontSize) * (t.getScreenCTM()?.a ?? 0));
    const boxes = [
      ...Array.from(document.querySelectorAll('#chart .sc-label rect')).map((r) => ({ kind: 'label', text: r.parentElement?.textContent ?? '', box: r.getBoundingClientRect() })),
      ...Array.from(document.querySelectorAll('#chart .sc-node:not(.compound) > rect')).map((r) => ({ kind: 'state', text: r.parentElement?.querySelector('text')?.textContent ?? '', box: r.getBoundingClientRect() })),
    ];
    const overlaps: string[] = [];
    for (let i = 0; i < boxes.length; i++) {
      for (let j = i + 1; j < boxes.length; j++) {
        const a = boxes[i]!.box, b = boxes[j]!.box;
        const w = Math.min(a.right, b.right) - Math.max(a.left, b.left);
        const h = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
        if (w > 1 && h > 1) overlaps.push(`${boxes[i]!.kind} "${boxes[i]!.text}" × ${boxes[j]!.kind} "${boxes[j]!.text}"`);
      }
    }
    const labels = Array.from(document.querySelectorAll('#chart .sc-label')).map((g) => Array.from(g.querySelectorAll('text')).map((t) => t.textContent).join(' / '));
    return { min: Math.min(...sizes), count: texts.length, overlaps, labels };
  });
}

test.serial('5. readable statecharts: labels on a background, ≥ 12 px at 1400 px, no overlaps, named guards, zoom, pan, fit, the trail, exact-case ids', async (t) => {
  await withArbiter({ windowMs: 300, gracePeriodMs: 60_000 }, {}, async (arbiter, inspector) => {
    const p = await openInspector(browser, inspector.url);
    try {
      const h = arbiter.submit({ target: 'Acct-MixedCase', id: 'Op-CamelCase', priority: Priority.HIGH, execute: slow(300, 1) });
      arbiter.submit({ target: 'Acct-MixedCase', id: 'rival', priority: Priority.LOW, execute: slow(10, 2) }).result.catch(() => undefined);
      await h.result;
      await search(p.page, 'Op-CamelCase');
      await selectOperation(p.page, 'Op-CamelCase');
      await p.page.waitForSelector('#chart svg g.sc-node.active[data-state-id="operation.completed"]');
      t.is(await text(p.page, '#chart-title'), 'operation Op-CamelCase on Acct-MixedCase');
      t.is(await p.page.$eval('#chart-title', (e) => getComputedStyle(e).textTransform), 'none');
      t.is(await p.page.$eval('#chart-h', (e) => getComputedStyle(e).textTransform), 'none');

      const op = await measureChart(p.page);
      t.true(op.min >= 12, `smallest statechart text: ${op.min.toFixed(2)} px`);
      t.deepEqual(op.overlaps, []);
      t.true(op.labels.includes('error [canRetry]'), op.labels.join(' | '));
      t.is(await p.page.locator('#chart .sc-label rect').count(), await p.page.locator('#chart .sc-label').count(), 'every label has its background');
      t.regex(await text(p.page, '#chart .from-any'), /from any state: arbiter\.cancel, arbiter\.timeout, arbiter\.shutdown, arbiter\.abort → rejected/);

      // The trail: where it went, in order, and the transition that got it here.
      t.is(await p.page.getAttribute('#chart', 'data-trail'), 'pending staged executing completed');
      for (const s of ['pending', 'staged', 'executing']) t.is(await p.page.locator(`#chart g.sc-node.visited[data-state-id="operation.${s}"]`).count(), 1, s);
      t.is(await text(p.page, '#chart g.sc-node[data-state-id="operation.staged"] .sc-badge text'), '2');
      t.regex((await p.page.getAttribute('#chart g.sc-edge.last', 'data-event')) ?? '', /^xstate\.done\.actor\./);

      // Zoom, pan, fit.
      const transform = () => p.page.getAttribute('#chart g.viewport', 'transform').then((s) => s ?? '');
      const before = await transform();
      const zoomBefore = await text(p.page, '#chart-tools .zoom-label');
      await p.page.click('#chart-tools button[title="zoom in"]');
      t.not(await text(p.page, '#chart-tools .zoom-label'), zoomBefore);
      const box = (await p.page.locator('#chart').boundingBox())!;
      await p.page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
      await p.page.mouse.down();
      await p.page.mouse.move(box.x + box.width / 2 - 120, box.y + box.height / 2 - 60, { steps: 5 });
      await p.page.mouse.up();
      t.not(await transform(), before);
      await p.page.click('#chart-tools button[title="actual size"]');
      t.is(await text(p.page, '#chart-tools .zoom-label'), '100%');
      await p.page.click('#chart-tools button[title="fit the whole chart in the panel"]');
      const fitted = await p.page.evaluate(() => {
        const b = document.querySelector('#chart g.viewport')!.getBoundingClientRect();
        const c = document.querySelector('#chart svg')!.getBoundingClientRect();
        return b.left >= c.left - 1 && b.right <= c.right + 1 && b.top >= c.top - 1 && b.bottom <= c.bottom + 1;
      });
      t.true(fitted, 'fit shows the whole chart');

      // The coordinator: named guards, an inline guard shown by its condition, readable as well.
      await search(p.page, '');
      await p.page.click('#tree .node[data-kind="target"][data-target="Acct-MixedCase"]');
      await p.page.waitForSelector('#chart svg g.sc-node[data-state-id^="coordinator."]');
      const coord = await measureChart(p.page);
      t.true(coord.min >= 12, `smallest statechart text: ${coord.min.toFixed(2)} px`);
      t.deepEqual(coord.overlaps, []);
      // Every guarded transition between two states is drawn with its guard's name (named by the
      // machine, whatever its states are called).
      const guarded = statechartOf(coordinatorMachine).edges.filter((e) => !e.internal && !e.source.endsWith('.*') && / \[.+\]$/.test(e.label));
      t.true(guarded.length > 0);
      const drawn = coord.labels.join(' | ');
      for (const e of guarded) t.true(drawn.includes(e.label), `${e.label} in ${drawn}`);
      t.false(coord.labels.some((l) => /\[guard\]/.test(l)), 'every guard is named');
      t.regex(await text(p.page, '#chart .from-any'), /handled in any state: operation\.submit/, 'transitions without a target on the root are listed');
      await p.shot('inspector-statechart');
      t.deepEqual(p.errors, []);
    } finally {
      await p.close();
    }
  });
});

test.serial('6. a tree that scales: 3,000 targets, virtual rows, natural order, search, collapse, "N hidden", keyboard and ARIA', async (t) => {
  await withArbiter(
    { windowMs: 120_000, idleCoordinatorMs: 600_000, maxStaged: 10_000 },
    { bufferSize: 200_000, maxBatch: 1000, maxOperationsPerSec: Infinity },
    async (arbiter, inspector) => {
      const p = await openInspector(browser, inspector.url);
      try {
        for (let i = 1; i <= 3000; i++) arbiter.submit({ target: `account-${i}`, id: `op-${i}`, execute: slow(1, i) });
        for (let i = 0; i < 20; i++) arbiter.submit({ target: 'crowded', id: `crowd-${i}`, execute: slow(1, i) });
        await p.page.waitForFunction(() => /^3001 targets/.test(document.getElementById('tree-count')?.textContent ?? ''), undefined, { timeout: 90_000 });
        const rendered = await p.page.locator('#tree .node:not([hidden])').count();
        t.true(rendered < 120, `${rendered} rows in the DOM for 3,001 targets`);
        t.is(await p.page.getAttribute('#tree', 'role'), 'tree');
        // Many targets start collapsed; natural order: account-2 comes before account-10.
        const firstTargets = await p.page.locator('#tree .node[data-kind="target"]').evaluateAll((ns) => ns.slice(0, 4).map((n) => (n as HTMLElement).dataset.target));
        t.deepEqual(firstTargets, ['account-1', 'account-2', 'account-3', 'account-4']);
        const target = p.page.locator('#tree .node[data-kind="target"][data-target="account-1"]');
        t.is(await target.getAttribute('role'), 'treeitem');
        t.is(await target.getAttribute('aria-level'), '2');
        t.is(await target.getAttribute('aria-expanded'), 'false');

        // Keyboard: into the tree, down to account-1, open it, select its operation.
        await p.page.focus('#tree');
        await p.page.keyboard.press('Home');
        await p.page.keyboard.press('ArrowDown');
        const active = () => p.page.evaluate(() => {
          const id = document.getElementById('tree')!.getAttribute('aria-activedescendant');
          const el = id ? document.getElementById(id) : null;
          return el ? `${el.dataset.kind}:${el.dataset.target ?? ''}:${el.dataset.op ?? ''}` : '';
        });
        t.is(await active(), 'target:account-1:');
        await p.page.keyboard.press('ArrowRight');
        await p.page.waitForSelector('#tree .node[data-kind="target"][data-target="account-1"][aria-expanded="true"]');
        await p.page.keyboard.press('ArrowDown');
        t.is(await active(), 'operation:account-1:op-1');
        await p.page.keyboard.press('Enter');
        await p.page.waitForFunction(() => document.getElementById('chart-title')?.textContent === 'operation op-1 on account-1');
        t.is(await p.page.getAttribute('#tree .node[data-op="op-1"]', 'aria-selected'), 'true');
        await p.page.keyboard.press('ArrowLeft');
        await p.page.keyboard.press('ArrowLeft');
        await p.page.waitForSelector('#tree .node[data-kind="target"][data-target="account-1"][aria-expanded="false"]');

        // The end of the list is reachable (virtual scrolling) and in natural order.
        await p.page.keyboard.press('End');
        await p.page.waitForFunction(() => {
          const id = document.getElementById('tree')!.getAttribute('aria-activedescendant');
          return !!id && document.getElementById(id)?.dataset.kind === 'group';
        });
        // The last rows: …, account-3000, crowded, then the arbiter's other actors (collapsed).
        const tail = await p.page.locator('#tree .node:not([hidden])').evaluateAll((ns) =>
          ns.sort((a, b) => Number((a as HTMLElement).dataset.index) - Number((b as HTMLElement).dataset.index)).slice(-3).map((n) => (n as HTMLElement).dataset.target ?? (n as HTMLElement).dataset.kind));
        t.deepEqual(tail, ['account-3000', 'crowded', 'group'], 'account-3000 sorts after account-999');

        // Search finds one operation among thousands.
        await search(p.page, 'op-2999');
        await p.page.waitForSelector('#tree .node[data-op="op-2999"]');
        // What matches, plus the target that holds the selection (the selection is never hidden).
        t.deepEqual(
          await p.page.locator('#tree .node:not([hidden])').evaluateAll((ns) => ns.map((n) => `${(n as HTMLElement).dataset.kind}:${(n as HTMLElement).dataset.op ?? (n as HTMLElement).dataset.target ?? ''}`)),
          ['arbiter:', 'target:account-1', 'target:account-2999', 'operation:op-2999'],
        );

        // A target with more operations than are kept says how many are hidden.
        await search(p.page, 'crowded');
        await p.page.click('#tree .node[data-kind="target"][data-target="crowded"] .twisty');
        await p.page.waitForSelector('#tree .node[data-kind="hidden"][data-target="crowded"]');
        t.is(await text(p.page, '#tree .node[data-kind="hidden"][data-target="crowded"] .name'), '8 older operations hidden');
        t.is(await p.page.locator('#tree .node[data-kind="operation"][data-target="crowded"]').count(), 12);
        await p.shot('inspector-tree');
        t.deepEqual(p.errors, []);
      } finally {
        await p.close();
      }
    },
  );
});

test.serial('7. honest charts: titles with units, axes, a time scale, hover values; completed and rejected apart', async (t) => {
  const live = await runLiveScenario({ durationMs: 0, log: () => undefined, inspector: { sampleMs: 250 } });
  const p = await openInspector(browser, live.url);
  try {
    await p.page.waitForFunction(() => document.querySelectorAll('#metrics figure.metric[data-chart="decided"] polyline').length === 2 && (document.querySelector('#metrics figure[data-chart="decided"] polyline')?.getAttribute('points') ?? '').split(' ').length >= 6, undefined, { timeout: 20_000 });
    const titles = await p.page.locator('#metrics figure .title').allTextContents();
    t.deepEqual(titles, [
      'decided, operations/s',
      'submitted, operations/s',
      'conflicts, windows with rivals/s',
      'rejections by code, operations/s',
      'p99 decision latency (submit → final), ms',
      'p99 arbitration time per window, µs',
      'operations in flight, staged, executing (count)',
    ]);
    const decided = p.page.locator('#metrics figure[data-chart="decided"]');
    t.deepEqual(await decided.locator('.legend-line span').allTextContents(), ['completed', 'rejected']);
    const axis = await decided.locator('text.axis').allTextContents();
    t.true(axis.includes('0') && axis.includes('now'), axis.join(' '));
    t.true(axis.some((a) => /^−\d+ s$/.test(a)), axis.join(' '));
    const box = (await decided.locator('svg').boundingBox())!;
    await p.page.mouse.move(box.x + box.width * 0.8, box.y + box.height / 2);
    await p.page.waitForSelector('#metrics figure[data-chart="decided"] .tip:not([hidden])');
    t.regex(await text(p.page, '#metrics figure[data-chart="decided"] .tip'), /^\d\d:\d\d:\d\d\.\d{3} · completed [\d.]+\/s · rejected [\d.]+\/s$/);
    await p.page.mouse.move(box.x + box.width * 0.8, box.y + box.height * 3.4);
    t.regex(await text(p.page, '#metrics figure[data-chart="codes"] .head'), /\/s/);
    await p.shot('inspector-metrics');
    t.deepEqual(p.errors, []);
  } finally {
    await p.close();
    await live.stop();
  }
});

test.serial('8. an event log that keeps its place: new rows never move what you read, times on every row, filters hide, Clear resets', async (t) => {
  await withArbiter({ windowMs: 30, maxStagedPerTarget: 1000, maxStaged: 10_000 }, {}, async (arbiter, inspector) => {
    const p = await openInspector(browser, inspector.url);
    let n = 0;
    let tick = 0;
    // Three rivals on one target per tick: every window has a winner and two lost-arbitration.
    const timer = setInterval(() => {
      const target = `t${tick++ % 4}`;
      for (let i = 0; i < 3; i++) arbiter.submit({ target, id: `op-${n++}`, priority: 1 + (n % 10), execute: slow(5, n) }).result.catch(() => undefined);
    }, 40);
    try {
      await p.page.waitForFunction(() => document.querySelectorAll('#log-scroll .log-row:not([hidden])').length > 12 && document.getElementById('log-scroll')!.scrollHeight > 3 * document.getElementById('log-scroll')!.clientHeight);
      // Scroll up to read older rows: the row under the reader stays put while new ones arrive.
      await p.page.hover('#log-scroll');
      await p.page.mouse.wheel(0, -400);
      await p.page.waitForSelector('#log-new:not([hidden])');
      const under = () => p.page.evaluate(() => {
        const s = document.getElementById('log-scroll')!.getBoundingClientRect();
        const el = document.elementFromPoint(s.left + 30, s.top + 40)?.closest('.log-row') as HTMLElement | null;
        return el ? `${el.dataset.op}|${el.dataset.type}|${el.getBoundingClientRect().top}` : '';
      });
      const reading = await under();
      const newBefore = await text(p.page, '#log-new');
      await p.page.waitForFunction((before) => document.getElementById('log-new')!.textContent !== before, newBefore);
      t.is(await under(), reading, 'the same row at the same place');
      t.regex(await text(p.page, '#log-new'), /^[\d,]+ new ↓$/);
      await p.page.click('#log-new');
      await p.page.waitForSelector('#log-new', { state: 'hidden' });
      t.true(await p.page.evaluate(() => {
        const s = document.getElementById('log-scroll')!;
        return s.scrollTop + s.clientHeight >= s.scrollHeight - 12;
      }));

      // Every row has a time, XState's own events included.
      await p.page.check('#f-xstate');
      await p.page.waitForSelector('#log-scroll .log-row.t-xstate');
      const times = await p.page.locator('#log-scroll .log-row:not([hidden]) .c-time').allTextContents();
      t.true(times.length > 5);
      for (const time of times) t.regex(time, /^\+\d+\.\d{3} s$/);
      await p.page.selectOption('#f-time', 'clock');
      for (const time of await p.page.locator('#log-scroll .log-row:not([hidden]) .c-time').allTextContents()) t.regex(time, /^\d\d:\d\d:\d\d\.\d{3}$/);
      await p.page.uncheck('#f-xstate');

      // Filters hide rows without discarding them.
      clearInterval(timer);
      await arbiter.drain();
      // Until the last events have arrived.
      let count = '';
      for (let same = 0; same < 3; ) {
        await p.page.waitForTimeout(200);
        const now = await text(p.page, '#log-count');
        same = now === count ? same + 1 : 0;
        count = now;
      }
      const shown = async () => Number(/· ([\d,]+) shown/.exec(await text(p.page, '#log-count'))![1]!.replace(/,/g, ''));
      const all = await shown();
      await p.page.selectOption('#f-type', 'operation.rejected');
      const types = await p.page.locator('#log-scroll .log-row:not([hidden])').evaluateAll((rs) => [...new Set(rs.map((r) => (r as HTMLElement).dataset.type))]);
      t.deepEqual(types, ['operation.rejected']);
      t.true((await shown()) < all);
      await p.page.selectOption('#f-type', '');
      // Every row shown before is shown again (late events, such as cleanups, may add some).
      t.true((await shown()) >= all, 'clearing the filter brings every row back');
      await p.shot('inspector-log');

      await p.page.click('#clear');
      t.regex(await text(p.page, '#log-count'), /^0 received · 0 shown/);
      t.is(await p.page.locator('#log-scroll .log-row:not([hidden])').count(), 0);
      t.deepEqual(p.errors, []);
    } finally {
      clearInterval(timer);
      await p.close();
    }
  });
});
