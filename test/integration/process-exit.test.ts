import test from 'ava';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

function runScript(code: string, timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string; timedOut: boolean }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { cwd: root });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('exit', (exitCode) => {
      clearTimeout(timer);
      resolve({ code: exitCode, stdout, stderr, timedOut });
    });
  });
}

test('arbiter.stop() - real clock: the process exits on its own, with no timer left', async (t) => {
  const script = `
    import { createArbiter } from './src/index.ts';
    const arbiter = createArbiter({ windowMs: 20, idleCoordinatorMs: 60_000 });
    const slow = arbiter.submit({ target: 'a', timeoutMs: 60_000, execute: ({ signal }) => new Promise((r) => signal.addEventListener('abort', r)) });
    for (let i = 0; i < 50; i++) arbiter.submit({ target: 't' + (i % 5), timeoutMs: 60_000, execute: async () => i });
    await new Promise((r) => setTimeout(r, 60));
    await arbiter.stop();
    const m = arbiter.metrics();
    console.log(JSON.stringify({ submitted: m.submitted, completed: m.completed, rejected: m.rejected, inFlight: m.inFlight, slow: await slow.result.catch((e) => e.code) }));
  `;
  const result = await runScript(script, 20_000);
  t.false(result.timedOut, 'the process must not hang on a leftover timer');
  t.is(result.code, 0, result.stderr);
  const summary = JSON.parse(result.stdout.trim().split('\n').at(-1)!);
  t.is(summary.submitted, 51);
  t.is(summary.inFlight, 0);
  t.is(summary.completed + summary.rejected, 51);
  t.is(summary.slow, 'shutdown');
});

test('npm start demo - runs a real conflict storm and prints who won and why', async (t) => {
  const result = await runScript(`await import('./examples/demo.ts');`, 60_000);
  t.is(result.code, 0, result.stderr);
  t.regex(result.stdout, /candidates → winner/);
  t.regex(result.stdout, /submitted (\d+) = completed (\d+) \+ rejected (\d+) \+ in flight 0/);
  const [, s, c, r] = /submitted (\d+) = completed (\d+) \+ rejected (\d+)/.exec(result.stdout)!;
  t.is(Number(s), Number(c) + Number(r));
});
