/**
 * `npm run docs:figures`: writes the benchmark figures of README.md and BENCHMARKS.md from
 * `bench/results.json`, their one source (`npm run bench` writes it, then calls this).
 *
 *   npm run docs:figures              # rewrite the marked regions
 *   npm run docs:figures -- --check   # exit 1 when a document disagrees with results.json
 *
 * Marked regions in the Markdown (HTML comments, invisible when rendered):
 *
 *   <!-- figures:readme-table -->…<!-- /figures -->       the README's summary table
 *   <!-- figures:benchmarks-table -->…<!-- /figures -->   BENCHMARKS.md's machine and full table
 *   <!-- fig:KEY -->value<!-- /fig -->                    one figure inline, KEY from FIGURES below
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** One measured figure, as `bench/index.ts` writes it. */
export interface Figure {
  readonly group: string;
  readonly name: string;
  readonly value: number;
  readonly unit: string;
  readonly target?: string;
  readonly met?: boolean;
  readonly note?: string;
  readonly command: string;
  /** When it was measured, when that is not the run's date (a group rerun with `--only`). */
  readonly date?: string;
}

/** `bench/results.json`. */
export interface BenchResults {
  readonly command: string;
  readonly date: string;
  readonly node: string;
  readonly cpus: number;
  readonly cpuModel?: string;
  readonly totalMemGb?: number;
  readonly platform?: string;
  readonly release?: string;
  readonly figures: readonly Figure[];
}

/** Short keys for the figures the prose cites inline, and the figure each one is. */
export const FIGURES = {
  throughput: 'decided ops/s, 30,000 ops / 3 targets / 100 ms window',
  throughputManyTargets: 'decided ops/s, 100,000 ops / 1,000 targets / 100 ms window',
  floor: 'bare XState floor, 30,000 operation actors',
  overhead: 'overhead ratio (floor ops/s ÷ arbiter decided ops/s)',
  p99At10k: 'p99 submit→final at 10,000 ops/s offered',
  heapGrowth: 'heap growth after 1,000,000 operations',
  cost1: 'cost per operation, 1 targets',
  cost100: 'cost per operation, 100 targets',
  cost10k: 'cost per operation, 10,000 targets',
  cost100k: 'cost per operation, 100,000 targets',
  costSpread: 'cost per op, most ÷ least expensive target count',
  freshBusy: 'cost per operation, 10,000 ops on 100 busy targets',
  freshFresh: 'cost per operation, 10,000 ops each on a fresh target',
  freshRatio: 'fresh-target cost ÷ busy-target cost, 10,000 ops',
  freshAlone: 'cost per operation, 10,000 ops each alone in its window on a running coordinator',
  freshAloneRatio: 'alone-in-window cost ÷ busy-target cost, 10,000 ops',
  heapPerOperation: 'heap per staged operation (50,000 on 100 targets)',
  heapPerTarget: 'heap per active target with one staged operation (50,000 targets)',
  inspectorNone: 'inspector: none (decided ops/s)',
  inspectorAttached: 'inspector: attached, no page',
  inspectorClient: 'inspector: connected client',
  inspectorOverhead: 'inspector overhead with a client',
  inspectorFps: 'inspector page frame rate, 60 targets at 200 ops/s, coordinator selected',
  redis1: 'Redis: decided ops/s, 1 process on one Redis',
  redis2: 'Redis: decided ops/s, 2 processes on one Redis',
  redis4: 'Redis: decided ops/s, 4 processes on one Redis',
  redisCommands: 'Redis: commands sent per 1,000 operations (2 processes, burst)',
  redisRoundTrips: 'Redis: round trips per 1,000 operations (2 processes, burst)',
  redisInside: 'Redis: commands run inside Redis per operation (2 processes, burst)',
  redisP50: 'Redis: p50 submit→final at 2,000 ops/s across 2 processes',
  redisP99: 'Redis: p99 submit→final at 2,000 ops/s across 2 processes',
} as const;

export type FigureKey = keyof typeof FIGURES;

/**
 * The README's summary table: a label per row, the figures it shows, and the figure whose target
 * it shows (the first one unless `targetOf` says otherwise).
 */
const README_ROWS: ReadonlyArray<{ label: string; keys: readonly FigureKey[]; targetOf?: FigureKey }> = [
  { label: 'decided ops/s, 30,000 ops / 3 targets / 100 ms window (batches of 3–8 per target)', keys: ['throughput'] },
  { label: 'decided ops/s, 100,000 ops / 1,000 targets', keys: ['throughputManyTargets'] },
  { label: 'bare XState floor (one `operationMachine` actor per operation, no arbitration)', keys: ['floor'] },
  { label: 'overhead vs the floor', keys: ['overhead'] },
  { label: 'p99 submit → final at 10,000 ops/s offered (100 ms window)', keys: ['p99At10k'] },
  { label: 'heap growth after 1,000,000 operations (`immediate` cleanup)', keys: ['heapGrowth'] },
  { label: 'cost per operation at 1 / 100 / 10,000 / 100,000 targets', keys: ['cost1', 'cost100', 'cost10k', 'cost100k'], targetOf: 'costSpread' },
  {
    label: 'cost per operation on 100 busy targets / each on a fresh target / each alone in its window on a running coordinator (10,000 ops)',
    keys: ['freshBusy', 'freshFresh', 'freshAlone'],
    targetOf: 'freshRatio',
  },
  { label: 'heap per staged operation', keys: ['heapPerOperation'] },
  { label: 'heap per active target with one staged operation', keys: ['heapPerTarget'] },
  { label: 'inspector overhead with a connected client', keys: ['inspectorOverhead'] },
  { label: 'inspector page frame rate, 60 targets at 200 ops/s, a coordinator selected', keys: ['inspectorFps'] },
];

const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

/** A figure's value with its unit, as every document shows it. */
export function formatValue(f: Pick<Figure, 'value' | 'unit'>): string {
  switch (f.unit) {
    case 'ops/s':
      return `${fmt(f.value)} ops/s`;
    case '×':
      return `${fmt(f.value, 2)} ×`;
    default:
      return `${fmt(f.value, 1)} ${f.unit}`;
  }
}

function met(f: Figure): string {
  return f.met === undefined ? '' : f.met ? 'yes' : '**no**';
}

/** The figure a key names; throws when results.json has no such figure. */
export function figure(results: BenchResults, key: string): Figure {
  const name = (FIGURES as Record<string, string>)[key];
  if (name === undefined) throw new Error(`unknown figure key ${JSON.stringify(key)}: add it to FIGURES in bench/figures.ts`);
  const f = results.figures.find((x) => x.name === name);
  if (!f) throw new Error(`bench/results.json has no figure named ${JSON.stringify(name)} (key ${key}): run npm run bench`);
  return f;
}

function readmeTable(results: BenchResults): string {
  const lines = ['| figure | measured | target | met |', '| --- | ---: | --- | --- |'];
  for (const row of README_ROWS) {
    const figs = row.keys.map((k) => figure(results, k));
    const first = figs[0]!;
    const value =
      figs.length === 1 ? formatValue(first) : `${figs.map((f) => fmt(f.value, 0)).join(' / ')} ${first.unit}`;
    const goal = row.targetOf ? figure(results, row.targetOf) : first;
    const target = row.targetOf ? `${goal.target ?? ''} (${row.targetOf === 'costSpread' ? 'spread' : 'ratio'} ${formatValue(goal)})` : (goal.target ?? '');
    lines.push(`| ${row.label} | ${value} | ${target} | ${met(goal)} |`);
  }
  return lines.join('\n');
}

function benchmarksTable(results: BenchResults): string {
  const machine = [
    `${results.cpus} × ${results.cpuModel ?? 'unknown CPU'}`,
    results.totalMemGb === undefined ? undefined : `${fmt(results.totalMemGb, 1)} GB`,
    results.platform === undefined ? undefined : `${results.platform} ${results.release ?? ''}`.trim(),
  ].filter(Boolean);
  const lines = [
    `- machine: ${machine.join(', ')}`,
    `- node ${results.node}, run through tsx (TypeScript sources, not \`dist/\`)`,
    `- date: ${results.date}`,
    `- command: \`${results.command}\``,
    '',
    '| benchmark | figure | target | met | notes | command |',
    '| --- | ---: | --- | --- | --- | --- |',
  ];
  for (const f of results.figures) {
    const when = f.date !== undefined && f.date !== results.date ? ` (measured ${f.date.slice(0, 16).replace('T', ' ')} UTC)` : '';
    lines.push(`| ${f.name} | ${formatValue(f)} | ${f.target ?? ''} | ${met(f)} | ${`${f.note ?? ''}${when}`.replaceAll('|', '\\|')} | \`${f.command}\` |`);
  }
  return lines.join('\n');
}

const REGION = /(<!-- figures:([\w-]+) -->)[\s\S]*?(<!-- \/figures -->)/g;
const INLINE = /(<!-- fig:(\w+) -->)[^<]*(<!-- \/fig -->)/g;

/** The document with every marked region and inline figure rewritten from `results`. */
export function renderFigures(markdown: string, results: BenchResults): string {
  const tables: Record<string, (r: BenchResults) => string> = { 'readme-table': readmeTable, 'benchmarks-table': benchmarksTable };
  return markdown
    .replace(REGION, (_all, open: string, name: string, close: string) => {
      const table = tables[name];
      if (!table) throw new Error(`unknown figures region ${JSON.stringify(name)}`);
      return `${open}\n${table(results)}\n${close}`;
    })
    .replace(INLINE, (_all, open: string, key: string, close: string) => `${open}${formatValue(figure(results, key))}${close}`);
}

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

/** The documents whose figures come from results.json. */
export const DOCUMENTS = [here('../README.md'), here('../BENCHMARKS.md')];
export const RESULTS = here('./results.json');

/** Reads results.json. */
export function readResults(path = RESULTS): BenchResults {
  return JSON.parse(readFileSync(path, 'utf8')) as BenchResults;
}

/** Rewrites the figures of every document; returns the documents that changed. */
export function updateDocs(results = readResults(), write = true): string[] {
  const changed: string[] = [];
  for (const path of DOCUMENTS) {
    const before = readFileSync(path, 'utf8');
    const after = renderFigures(before, results);
    if (after === before) continue;
    changed.push(path);
    if (write) writeFileSync(path, after);
  }
  return changed;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const check = process.argv.includes('--check');
  const changed = updateDocs(readResults(), !check);
  for (const path of changed) console.log(`${check ? 'out of date' : 'updated'}: ${path}`);
  if (check && changed.length > 0) {
    console.error('the figures disagree with bench/results.json: run npm run docs:figures');
    process.exitCode = 1;
  }
}
