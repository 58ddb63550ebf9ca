import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { expect, it } from 'vitest';

/**
 * No merge left half done: no tracked text file holds a conflict marker, as git writes it or as the formatter turns
 * a `>>>>>>>` line of a Markdown file into a quotation (`> > > > > > >`). A guide once shipped with one.
 */
const root = resolve(import.meta.dirname, '../..');

it('no tracked file holds a merge conflict marker', () => {
  const files = execFileSync('git', ['ls-files', '-z'], { cwd: root, encoding: 'utf8' })
    .split('\0')
    .filter((f) => /\.(ts|tsx|js|mjs|json|md|css|yml|yaml|html|sh)$/.test(f) && !f.startsWith('node_modules/'));
  const marked: string[] = [];
  const marker = /^(<{7}( |$)|={7}$|>{7}( |$)|(> ){6}>( |$))/m;
  for (const f of files) {
    let text: string;
    try {
      text = readFileSync(resolve(root, f), 'utf8');
    } catch {
      continue;
    }
    if (marker.test(text)) marked.push(f);
  }
  expect(marked).toEqual([]);
});
