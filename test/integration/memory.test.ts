import test from 'ava';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const runner = fileURLToPath(new URL('./memory-run.ts', import.meta.url));
const OPERATIONS = 1_000_000;

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

// ava's nodeArguments apply to every test file, so --expose-gc runs in a child process. A larger
// young generation only makes the scavenger cheaper; it does not hide growth of the old generation.
test("cleanup: 'immediate' - 1,000,000 operations leave the heap where it started", async (t) => {
  t.timeout(240_000);
  const { code, stdout, stderr } = await run(['--expose-gc', '--max-semi-space-size=64', '--import', 'tsx', runner, String(OPERATIONS)]);
  t.is(code, 0, stderr);
  const r = JSON.parse(stdout.trim().split('\n').pop()!) as Record<string, number>;
  t.log(`${r['operations']} operations in ${r['runMs']} ms (${r['opsPerSec']} ops/s, ${r['cpuMs']} ms CPU); heap ${r['heapBeforeMb']!.toFixed(2)} → ${r['heapAfterMb']!.toFixed(2)} MB`);
  // 20,000 warm-up operations, then the measured million: every one accounted for, none retained.
  t.is(r['submitted'], OPERATIONS + 20_000);
  t.is(r['completed']! + r['rejected']!, r['submitted']!);
  t.is(r['unaccounted'], 0);
  t.is(r['inFlight'], 0);
  t.is(r['retained'], 0);
  t.is(r['coordinators'], 0);
  t.true(Math.abs(r['deltaMb']!) < 4, `heap moved by ${r['deltaMb']} MB`);
});
