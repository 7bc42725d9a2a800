import test from 'ava';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { USER_AVA_CONFIG } from '../package/consumer.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
function anchor(heading: string): string {
  return heading
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/ /g, '-');
}

// Headings outside code blocks, in order.
function headings(markdown: string): Array<{ level: number; text: string }> {
  const out: Array<{ level: number; text: string }> = [];
  let inCode = false;
  for (const line of markdown.split('\n')) {
    if (line.startsWith('```')) inCode = !inCode;
    const h = !inCode && /^(#{1,6})\s+(.*)$/.exec(line);
    if (h) out.push({ level: h[1]!.length, text: h[2]! });
  }
  return out;
}

const all = headings(readme);
const sections = all.filter((h) => h.level === 2).map((h) => h.text);

test('README - opens with npm install && npm start and npm test, in the first code block', (t) => {
  const first = /```(\w*)\n([\s\S]*?)```/.exec(readme);
  t.truthy(first);
  const commands = first![2]!.split('\n').filter(Boolean).map((l) => l.replace(/#.*$/, '').trim());
  t.deepEqual(commands, ['npm install && npm start', 'npm test']);
  t.true(readme.startsWith('# xstate-arbiter\n'));
});

test('README - user guide first: Contents, Install, How do I …, then Quick start; Development last', (t) => {
  t.deepEqual(sections.slice(0, 4), ['Contents', 'Install', 'How do I …', 'Quick start']);
  t.is(sections.at(-1), 'Development');
  const install = readme.slice(readme.indexOf('## Install'), readme.indexOf('## How do I'));
  t.regex(install, /npm install xstate-arbiter xstate rxjs/);
  t.regex(install, /ESM only/);
  t.regex(install, /TypeScript ≥ 5\.4/);
  t.regex(install, /Install size/);
});

test('README - the table of contents lists every section, in order, and every #link has its heading', (t) => {
  const contents = readme.slice(readme.indexOf('## Contents'), readme.indexOf('## Install'));
  const listed = [...contents.matchAll(/\]\(#([^)]+)\)/g)].map((m) => m[1]);
  t.deepEqual(listed, sections.filter((s) => s !== 'Contents').map(anchor));
  const anchors = new Set(all.map((h) => anchor(h.text)));
  const links = [...readme.matchAll(/\]\(#([^)]+)\)/g)].map((m) => m[1]!);
  t.deepEqual(links.filter((l) => !anchors.has(l)), []);
});

test('README - relative links point to files of the repository', (t) => {
  const links = [...readme.matchAll(/\]\((?!https?:|#)([^)#]+)(#[^)]*)?\)/g)].map((m) => m[1]!);
  t.true(links.includes('docs/design.md'));
  t.deepEqual(links.filter((l) => !existsSync(join(ROOT, l))), []);
});

test('README - "How do I …" answers what users ask first', (t) => {
  const howTo = all.slice(all.findIndex((h) => h.text === 'How do I …') + 1, all.findIndex((h) => h.text === 'Quick start'));
  const titles = howTo.map((h) => h.text);
  for (const wanted of [
    'Retry the operations that lose',
    'Tell business errors from failures',
    'Wait for a step of my lifecycle',
    "Keep the arbiter's records out of my store, put its metrics in my registry, refuse work while unhealthy",
    'Run it in a browser',
    'Run several processes on one Redis',
    'Test my own lifecycle with ava (TypeScript)',
  ]) {
    t.true(titles.includes(wanted), wanted);
  }
  const section = readme.slice(readme.indexOf('## How do I'), readme.indexOf('## Quick start'));
  t.regex(section, /submitWithRetry/);
  t.regex(section, /retryOn: \['lost-arbitration'\]/);
  t.regex(section, /onLose: 'retry'/);
  t.regex(section, /\]\(#scale-out-on-redis\)/);
  t.regex(section, /ExpectedError/);
  t.regex(section, /handle\.reached/);
});

test('README - the ava configuration it documents is the one the packed-package test runs the README test file with', (t) => {
  const section = readme.slice(readme.indexOf('### Test my own lifecycle with ava'));
  const json = /```json\n([\s\S]*?)```/.exec(section);
  t.truthy(json);
  t.deepEqual((JSON.parse(json![1]!) as { ava: unknown }).ava, USER_AVA_CONFIG);
});

test('docs - no "seeds", no seed numbers, no DESIGN.md: the earlier design is named once, in words', (t) => {
  const docs = ['README.md', 'BENCHMARKS.md', 'CHANGELOG.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
  for (const doc of docs) {
    const text = readFileSync(join(ROOT, doc), 'utf8');
    t.deepEqual(text.match(/\bseeds\b|\bseed[ -]?0\d\d\b/gi) ?? [], [], doc);
    t.deepEqual(text.match(/DESIGN\.md/g) ?? [], [], doc);
  }
  t.regex(readme, /pre-staging\* pattern, from an earlier Python design/);
  t.true(existsSync(join(ROOT, 'docs', 'design.md')));
});
