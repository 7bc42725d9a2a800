import test from 'ava';
import { readFileSync } from 'node:fs';
import { DOCUMENTS, figure, formatValue, readResults, renderFigures, type BenchResults } from '../../bench/figures.js';

const results = readResults();

const sample: BenchResults = {
  command: 'npm run bench',
  date: '2026-01-01T00:00:00.000Z',
  node: 'v20.0.0',
  cpus: 2,
  cpuModel: 'CPU',
  figures: [
    { group: 'floor', name: 'bare XState floor, 30,000 operation actors', value: 12345.6, unit: 'ops/s', command: 'npm run bench' },
    { group: 'inspector', name: 'inspector overhead with a client', value: 9.87, unit: '%', target: '< 25%', met: true, command: 'npm run bench' },
  ],
};

for (const path of DOCUMENTS) {
  const name = path.split('/').pop()!;
  test(`${name} - its benchmark figures are the ones in bench/results.json (npm run docs:figures)`, (t) => {
    const text = readFileSync(path, 'utf8');
    t.true(/<!-- fig(ures)?:/.test(text), `${name} has marked figures`);
    t.is(renderFigures(text, results), text, `${name} disagrees with bench/results.json: run npm run docs:figures`);
  });
}

test('renderFigures() - rewrites inline figures from the results, whatever they said before', (t) => {
  const doc = 'floor <!-- fig:floor -->1 ops/s<!-- /fig --> and <!-- fig:inspectorOverhead --><!-- /fig -->.';
  t.is(renderFigures(doc, sample), 'floor <!-- fig:floor -->12,346 ops/s<!-- /fig --> and <!-- fig:inspectorOverhead -->9.9 %<!-- /fig -->.');
});

test('renderFigures() - a README figure that results.json lacks, or an unknown key, is an error', (t) => {
  t.throws(() => renderFigures('<!-- fig:heapGrowth --><!-- /fig -->', sample), { message: /no figure named "heap growth after 1,000,000 operations"/ });
  t.throws(() => renderFigures('<!-- fig:nope --><!-- /fig -->', sample), { message: /unknown figure key "nope"/ });
  t.throws(() => renderFigures('<!-- figures:nope -->\n<!-- /figures -->', sample), { message: /unknown figures region "nope"/ });
});

test('figure() / formatValue() - each unit is shown the same way in every document', (t) => {
  t.is(formatValue(figure(sample, 'floor')), '12,346 ops/s');
  t.is(formatValue({ value: 1.8713, unit: '×' }), '1.87 ×');
  t.is(formatValue({ value: 115.62, unit: 'ms' }), '115.6 ms');
  t.is(formatValue({ value: 6.65, unit: 'MB' }), '6.7 MB');
});

test('the README and BENCHMARKS.md state no throughput or overhead figure outside the generated ones', (t) => {
  for (const path of DOCUMENTS) {
    const outside = readFileSync(path, 'utf8')
      .replace(/<!-- figures:[\w-]+ -->[\s\S]*?<!-- \/figures -->/g, '')
      .replace(/<!-- fig:\w+ -->[^<]*<!-- \/fig -->/g, '');
    // A measured rate or overhead written by hand would be a second source for a figure.
    t.deepEqual(outside.match(/\b\d{1,3}(,\d{3})+ (decided )?ops\/s\b|\b\d+(\.\d+)?\s?% (slower|overhead)\b/g) ?? [], [], path);
  }
});
