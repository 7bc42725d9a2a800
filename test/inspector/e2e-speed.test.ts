// Point 9: the page's frame rate under load, measured by a requestAnimationFrame probe in the page
// while 60 targets take 200 operations per second and a coordinator is selected. The test reports
// the figure (and writes test/artifacts/fps.json); the ≥ 45 fps target is the benchmark's to hold
// (BENCHMARKS.md), not an assertion: the machine is shared. INSPECTOR_FPS_MS sets the probe length.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import type { Browser } from 'playwright-core';
import { runLiveScenario } from '../../inspector/index.js';
import { launchBrowser } from '../helpers/browser.js';
import { ARTIFACTS, openInspector, probeFrameRate } from '../helpers/inspector-page.js';

let browser: Browser;
test.before(async () => {
  browser = await launchBrowser();
});
test.after.always(async () => {
  await browser?.close();
});

const PROBE_MS = Number(process.env['INSPECTOR_FPS_MS'] ?? 5000);



test.serial('9. speed: frame rate with 60 targets at 200 ops/s and a coordinator selected (reported, not asserted)', async (t) => {
  const live = await runLiveScenario({ durationMs: 0, targets: 60, ratePerSec: 200, log: () => undefined });
  const p = await openInspector(browser, live.url);
  try {
    // Warm up, then select a coordinator as a user would (the busiest one is selected already; pick another).
    // Once every target is there (rows no longer move as new targets sort in).
    await p.page.waitForFunction(() => /^60 targets/.test(document.getElementById('tree-count')?.textContent ?? ''), undefined, { timeout: 30_000 });
    await p.page.click('#tree .node[data-kind="target"][data-target="account-7"]');
    await p.page.waitForSelector('#chart svg g.sc-node.active');
    await p.page.waitForTimeout(2000);
    const receivedBefore = await p.page.textContent('#log-count');
    const probe = await probeFrameRate(p.page, PROBE_MS);
    const metrics = live.arbiter.metrics();
    const stats = live.inspector.stats();
    const report = {
      ...probe,
      fps: Math.round(probe.fps * 10) / 10,
      targets: 60,
      offeredOpsPerSec: 200,
      submitted: metrics.submitted,
      dropped: stats.dropped,
      unsampled: stats.unsampled,
      selected: await p.page.textContent('#chart-title'),
      viewport: '1400x900',
      at: new Date().toISOString(),
    };
    writeFileSync(join(ARTIFACTS, 'fps.json'), `${JSON.stringify(report, null, 2)}\n`);
    t.log(`frame rate ${report.fps} fps over ${Math.round(probe.elapsedMs)} ms (p95 frame ${probe.p95FrameMs.toFixed(1)} ms, ${probe.longTasks} long tasks = ${Math.round(probe.longTaskMs)} ms); ${metrics.submitted} submitted, ${stats.dropped} dropped`);
    await p.shot('inspector-60-targets');
    // What the test holds: the page kept rendering, followed the selected coordinator live, and broke nothing.
    t.true(probe.frames > 0);
    t.regex(report.selected ?? '', /^coordinator of account-7/);
    t.not(await p.page.textContent('#log-count'), receivedBefore, 'events kept arriving during the probe');
    t.deepEqual(p.errors, []);
  } finally {
    await p.close();
    await live.stop();
  }
});
