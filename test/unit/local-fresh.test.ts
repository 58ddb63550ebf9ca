import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { forgetLocalData, freshRequested } from '../../local/fresh.ts';

describe('npm start -- --fresh', () => {
  it('empties the folder npm start made (it holds tokens.env), and keeps the folder', () => {
    const dir = mkdtempSync(join(tmpdir(), 'stageline-fresh-'));
    writeFileSync(join(dir, 'tokens.env'), 'export ALICE_TOKEN=x\n');
    mkdirSync(join(dir, 'dynamodb'));
    writeFileSync(join(dir, 'dynamodb', 'shared-local-instance.db'), 'data');
    expect(forgetLocalData(dir)).toBe('forgotten');
    expect(readdirSync(dir)).toEqual([]);
  });

  it('has nothing to do for a missing or empty folder', () => {
    const dir = mkdtempSync(join(tmpdir(), 'stageline-fresh-'));
    expect(forgetLocalData(dir)).toBe('nothing-there');
    expect(forgetLocalData(join(dir, 'never-made'))).toBe('nothing-there');
  });

  it('never deletes a folder npm start did not make', () => {
    const dir = mkdtempSync(join(tmpdir(), 'stageline-fresh-'));
    writeFileSync(join(dir, 'thesis.tex'), 'years of work');
    expect(() => forgetLocalData(dir)).toThrow(/does not look like one/);
    expect(readdirSync(dir)).toEqual(['thesis.tex']);
  });

  it('is asked for with --fresh', () => {
    expect([freshRequested(['node', 'start.ts', '--fresh']), freshRequested(['node', 'start.ts', '--verbose'])]).toEqual([true, false]);
  });
});
