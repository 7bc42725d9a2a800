// Live progress of the load tools: per-target status beside the bar on a terminal, plain periodic
// lines elsewhere. Streams are fakes; nothing here waits on time.
import test from 'ava';
import type { Progress } from '../../tools/common.js';
import { formatProgressLine, formatTargetStatus, progressReporter } from '../../tools/progress.js';

const progress = (fraction: number, targets = 3): Progress => ({
  fraction,
  submitted: 200,
  completed: 30,
  rejected: 150,
  targets: Array.from({ length: targets }, (_, i) => ({ label: `#${i}`, staged: i + 1, executing: i % 2, winners: 7 * (i + 1) })),
});

function fakeStream(isTTY: boolean) {
  const chunks: string[] = [];
  return {
    chunks,
    stream: {
      isTTY,
      columns: 160,
      rows: 40,
      write(chunk: string) {
        chunks.push(chunk);
        return true;
      },
      on() {
        return this;
      },
      removeListener() {
        return this;
      },
    },
  };
}

test('formatTargetStatus() and formatProgressLine() - staged, executing and winners per target', (t) => {
  t.is(formatTargetStatus({ label: '#2', staged: 3, executing: 1, winners: 7 }), '#2 staged 3, executing 1, winners 7');
  t.is(
    formatProgressLine('pre-staging', progress(0.4)),
    'pre-staging: 40% submitted 200 | completed 30 | rejected 150 | targets #0 staged 1, executing 0, winners 7; #1 staged 2, executing 1, winners 14; #2 staged 3, executing 0, winners 21',
  );
  // Past maxTargets, the rest is summed up.
  t.is(
    formatProgressLine('brutality', { ...progress(1, 4), retrying: 5 }, 2),
    'brutality: 100% submitted 200 | completed 30 | rejected 150 | still retrying 5 | targets #0 staged 1, executing 0, winners 7; #1 staged 2, executing 1, winners 14; 2 more: staged 7, executing 1, winners 49',
  );
});

test('progressReporter() - not a terminal: one plain line per interval, with the targets', (t) => {
  const { stream, chunks } = fakeStream(false);
  let now = 0;
  const reporter = progressReporter('pre-staging', { enabled: true, stream, intervalMs: 1000, now: () => now });
  for (const at of [0, 100, 900, 1000, 1500, 2100]) {
    now = at;
    reporter.update(progress(at / 3000));
  }
  reporter.stop();
  t.is(chunks.length, 3, 'at 0, 1000 and 2100 ms');
  t.true(chunks.every((c) => c.endsWith('\n') && c.includes('#2 staged 3, executing 0, winners 21')));
  t.true(chunks[1]!.startsWith('pre-staging: 33% submitted 200'));
});

test('progressReporter() - on a terminal: the bar and one status line per target', (t) => {
  const { stream, chunks } = fakeStream(true);
  const reporter = progressReporter('pre-staging', { enabled: true, stream, maxTargets: 2 });
  reporter.update(progress(0.5, 3));
  reporter.stop();
  const out = chunks.join('');
  t.regex(out, /pre-staging \[[█░]+\] +50% \| submitted 200 \| completed 30 \| rejected 150/);
  t.true(out.includes('#0 staged 1, executing 0, winners 7'));
  t.true(out.includes('#1 staged 2, executing 1, winners 14'));
  t.true(out.includes('1 more: staged 3, executing 0, winners 21'));
  t.false(out.includes('#2 staged'), 'only maxTargets lines');
});

test('progressReporter() - disabled: nothing written', (t) => {
  const { stream, chunks } = fakeStream(false);
  const reporter = progressReporter('x', { enabled: false, stream });
  reporter.update(progress(0.5));
  reporter.stop();
  t.is(chunks.length, 0);
});
