// Help texts, reports and the tools' comments speak to users: no names of the internal design
// documents ("seeds", "seed 002", DESIGN.md). A random seed (`--seed`) is fine.
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import test from 'ava';

const INSIDER = /\bseeds\b|seed[ -]0\d\d|DESIGN\.md/i;
const root = fileURLToPath(new URL('../../', import.meta.url));

test('tools/ and bin/arbiter.ts never cite the internal design documents', (t) => {
  const files = [...readdirSync(`${root}tools`).filter((f) => f.endsWith('.ts')).map((f) => `tools/${f}`), 'bin/arbiter.ts'];
  t.true(files.length >= 8);
  const cited: string[] = [];
  for (const file of files) {
    const lines = readFileSync(`${root}${file}`, 'utf8').split('\n');
    lines.forEach((line, i) => {
      if (INSIDER.test(line)) cited.push(`${file}:${i + 1}: ${line.trim()}`);
    });
  }
  t.deepEqual(cited, []);
});
