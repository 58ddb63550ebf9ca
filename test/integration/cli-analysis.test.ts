import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliWith, outcome } from '../support/cli.ts';
import { makeLine, startTestStack, type TestStack } from '../support/stack.ts';

let t: TestStack;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  t = await startTestStack();
  const u = await t.users(t.tenant());
  await makeLine(t, u.admin);
  env = { ...process.env, STAGELINE_URL: t.url, STAGELINE_TOKEN: u.admin, XDG_CONFIG_HOME: mkdtempSync(join(tmpdir(), 'stageline-analysis-')) };
});
afterAll(() => t.stop());

const cli = (...args: string[]) => cliWith(env, ...args);

describe('CLI: analysis templates', () => {
  it('puts a template from a file, lists, shows and deletes it; a template that does not compile fails naming the field', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'templates-'));
    const file = join(dir, 't.json');
    writeFileSync(
      file,
      JSON.stringify({
        provider: { type: 'prometheus', address: 'https://prometheus.example.com', query: 'sum(rate(errors_total[1m]))' },
        intervalSeconds: 30,
        count: 4,
        successCondition: 'result < 0.05',
      }),
    );
    expect((await cli('analysis-templates', 'put', 'errors', '--file', file)).stdout.trim()).toBe(
      'analysis template errors saved (prometheus, measures 120s (4 × 30s); templates at version 1)',
    );
    const listed = (await cli('analysis-templates', 'list')).stdout;
    expect(listed).toContain('errors');
    expect(listed).toContain('result < 0.05');
    const shown = JSON.parse((await cli('analysis-templates', 'show', 'errors', '--json')).stdout) as { name: string; count: number };
    expect(shown).toMatchObject({ name: 'errors', count: 4 });
    const bad = join(dir, 'bad.json');
    writeFileSync(
      bad,
      JSON.stringify({ provider: { type: 'prometheus', address: 'https://prometheus.example.com', query: 'x' }, successCondition: 'result <' }),
    );
    const failed = await outcome(cli('analysis-templates', 'put', 'bad', '--file', bad));
    expect(failed.code).not.toBe(0);
    expect(failed.stderr).toContain('successCondition');
    expect((await cli('analysis-templates', 'delete', 'errors')).stdout.trim()).toBe('deleted errors');
    expect(JSON.parse((await cli('analysis-templates', 'list', '--json')).stdout)).toEqual({ templates: [], version: 2 });
  });
});
