// Point 10: any XState v5 app, not only arbiter. `npx arbiter inspect --listen` serves the page;
// a plain XState app in another process connects with @statelyai/inspect's
// createWebSocketInspector({ url }) and its statechart moves live. Plus DNS rebinding, tried in a
// browser whose resolver maps attacker.example to 127.0.0.1.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import type { Browser } from 'playwright-core';
import { attachInspector } from '../../inspector/index.js';
import { createArbiter } from '../../src/index.js';
import { launchBrowser } from '../helpers/browser.js';
import { openInspector } from '../helpers/inspector-page.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
let browser: Browser;
test.before(async () => {
  browser = await launchBrowser();
});
test.after.always(async () => {
  await browser?.close();
});

/** Everything a child prints on stdout, and a way to wait for a pattern in it. */
function output(child: ChildProcess) {
  let out = '';
  const waiters: Array<() => void> = [];
  child.stdout?.on('data', (chunk: Buffer) => {
    out += String(chunk);
    for (const w of waiters.splice(0)) w();
  });
  return {
    until(pattern: RegExp): Promise<RegExpExecArray> {
      return new Promise((resolve, reject) => {
        const check = () => {
          const m = pattern.exec(out);
          if (m) resolve(m);
          else if (child.exitCode !== null) reject(new Error(`exited with ${child.exitCode} before printing ${pattern}: ${out}`));
          else waiters.push(check);
        };
        child.once('exit', check);
        check();
      });
    },
  };
}

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) resolve(child.exitCode);
    else child.once('exit', (code) => resolve(code));
  });
}

test.serial('10. any XState app: `arbiter inspect --listen` waits for apps; a plain XState app in another process shows its statechart moving live', async (t) => {
  const cli = spawn(process.execPath, [join(ROOT, 'bin', 'arbiter.js'), 'inspect', '--listen', '--port', '0'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  let app: ChildProcess | undefined;
  try {
    const printed = output(cli);
    const [, pageUrl] = await printed.until(/arbiter inspector: (http:\/\/\S+)/);
    const [, appUrl] = await printed.until(/createWebSocketInspector\(\{ url: '(ws:\/\/\S+)' \}\)/);
    const p = await openInspector(browser, pageUrl!);
    t.regex(await p.page.textContent('#legend') ?? '', /createWebSocketInspector\(\{ url: 'ws:\/\/127\.0\.0\.1:\d+\/' \}\)/);
    t.regex(await p.page.textContent('#run') ?? '', /no arbiter: waiting for XState apps/);

    // The app: plain JavaScript, xstate and @statelyai/inspect, no arbiter anywhere.
    app = spawn(process.execPath, [join(ROOT, 'test', 'inspector', 'fixtures', 'traffic-app.mjs'), `${appUrl}?name=traffic`], { cwd: ROOT, stdio: 'inherit' });
    await p.page.waitForSelector('#tree .node[data-kind="app"][data-state="connected"]');
    t.regex(await p.page.textContent('#tree .node[data-kind="app"] .name') ?? '', /^traffic$/);
    // Nobody clicked: the app's machine is selected; its child (the light) is in the tree under it.
    await p.page.waitForSelector('#chart svg g.sc-node.active');
    t.regex(await p.page.textContent('#chart-title') ?? '', /^controller · traffic$/);
    await p.page.click('#tree .node[data-kind="actor"] >> text=light');
    await p.page.waitForFunction(() => /^light/.test(document.getElementById('chart-title')?.textContent ?? ''));

    // The light's statechart moves: green → yellow → red.walk → red.hurry → green …
    const seen = new Set<string>();
    for (let i = 0; i < 200 && seen.size < 4; i++) {
      seen.add((await p.page.getAttribute('#chart', 'data-state')) ?? '');
      await p.page.waitForTimeout(50);
    }
    t.true(['green', 'yellow', 'red.walk', 'red.hurry'].every((s) => seen.has(s)), [...seen].join(', '));
    t.is(await p.page.locator('#chart g.sc-node[data-state-id="light.red.walk"]').count(), 1, 'nested states are drawn');
    t.true(((await p.page.textContent('#chart .sc-labels')) ?? '').includes('tick [rushHour]'), 'named guards of the app');

    // Its context, history and events, as for the arbiter's own actors.
    await p.page.waitForFunction(() => /cycles: [1-9]/.test(document.getElementById('details')?.textContent ?? ''), undefined, { timeout: 20_000 });
    t.true((await p.page.locator('#details .history-row').count()) >= 4);
    await p.page.click('#tab-seq');
    await p.page.waitForSelector('#seq .step[data-label="tick"]');
    const step = p.page.locator('#seq .step[data-label="tick"]').first();
    t.is(await step.getAttribute('data-from'), 'controller');
    t.is(await step.getAttribute('data-to'), 'light');
    await p.shot('inspector-app');

    // The app stops: it stays on the page, marked disconnected.
    app.kill('SIGTERM');
    await exited(app);
    await p.page.waitForSelector('#tree .node[data-kind="app"][data-state="closed"]');
    t.deepEqual(p.errors, []);
    t.deepEqual(p.offsite, []);
    await p.close();
  } finally {
    if (app && app.exitCode === null) app.kill('SIGKILL');
    cli.kill('SIGINT');
    t.is(await exited(cli), 0, 'Ctrl-C ends `arbiter inspect --listen` cleanly');
  }
});

test.serial('DNS rebinding in a browser: a page on attacker.example (resolving to 127.0.0.1) can neither load the inspector nor open its stream', async (t) => {
  const rebinding = await launchBrowser({ args: ['--host-resolver-rules=MAP attacker.example 127.0.0.1'] });
  const arbiter = createArbiter();
  const inspector = await attachInspector(arbiter);
  // The attacker's own page, served from another port of "attacker.example".
  const hostile = createServer((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html' });
    res.end(`<!doctype html><title>pending</title><script>
      const ws = new WebSocket('ws://127.0.0.1:${inspector.port}/ws');
      ws.onopen = () => { document.title = 'stream opened'; };
      ws.onmessage = () => { document.title = 'stream read'; };
      ws.onclose = () => { if (document.title === 'pending') document.title = 'refused'; };
    </script>`);
  });
  await new Promise<void>((resolve) => hostile.listen(0, '127.0.0.1', resolve));
  const hostilePort = (hostile.address() as { port: number }).port;
  const page = await rebinding.newPage();
  try {
    // Rebinding the inspector's own port to the attacker's name: refused by Host.
    const res = await page.goto(`http://attacker.example:${inspector.port}/`);
    t.is(res?.status(), 403);
    t.regex((await page.textContent('body')) ?? '', /this Host is not allowed/);
    // A script on the attacker's site cannot open the stream: refused by Origin.
    await page.goto(`http://attacker.example:${hostilePort}/`);
    await page.waitForFunction(() => document.title !== 'pending');
    t.is(await page.title(), 'refused');
    t.deepEqual(inspector.stats().refused, { host: 1, origin: 1 });
    // The same browser on the real address is served.
    const ok = await page.goto(inspector.url);
    t.is(ok?.status(), 200);
  } finally {
    await page.close();
    await rebinding.close();
    await new Promise<void>((resolve) => hostile.close(() => resolve()));
    await inspector.close();
    await arbiter.stop();
  }
});
