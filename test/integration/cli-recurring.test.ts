import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recurringScheduleName } from '../../domain/promotion/request/recurring.ts';
import { cliWith, outcome } from '../support/cli.ts';
import { makeLine, startTestStack, type TestStack } from '../support/stack.ts';

let t: TestStack;
let tenant: string;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  t = await startTestStack();
  tenant = t.tenant();
  const u = await t.users(tenant);
  await makeLine(t, u.admin);
  env = { ...process.env, STAGELINE_URL: t.url, STAGELINE_TOKEN: u.admin, XDG_CONFIG_HOME: mkdtempSync(join(tmpdir(), 'stageline-recurring-')) };
});
afterAll(() => t.stop());

const cli = (...args: string[]) => cliWith(env, ...args);

describe('CLI: recurring promotions', () => {
  it('puts, lists, pauses, resumes and deletes one; a calendar that fires too often fails naming why', async () => {
    const put = await cli('recurring', 'put', 'train', '--from', 'staging', '--to', 'production', '--cron', '0 9 * * 1-5', '--tz', 'Europe/Berlin');
    expect(put.stdout).toMatch(/^recurring promotion train saved \(staging → production, 0 9 \* \* 1-5 Europe\/Berlin, next 20\d\d-/);
    const listed = (await cli('recurring', 'list')).stdout;
    expect(listed).toContain('train');
    expect(listed).toContain('staging → production');
    expect(listed).toContain('never ran');

    expect((await cli('recurring', 'pause', 'train')).stdout.trim()).toBe('paused train');
    expect(t.stack.scheduler.describe(recurringScheduleName(tenant, 'train'))?.recurring?.enabled).toBe(false);
    expect((await cli('recurring', 'list')).stdout).toContain('paused');
    expect((await cli('recurring', 'resume', 'train')).stdout).toMatch(/^resumed train, next 20\d\d-/);
    expect(t.stack.scheduler.describe(recurringScheduleName(tenant, 'train'))?.recurring?.enabled).toBe(true);
    const shown = JSON.parse((await cli('recurring', 'show', 'train', '--json')).stdout) as { version: number; paused: boolean };
    expect(shown).toMatchObject({ version: 3, paused: false });

    const often = await outcome(cli('recurring', 'put', 'busy', '--from', 'staging', '--to', 'production', '--cron', '* * * * *', '--tz', 'UTC'));
    expect(often.code).not.toBe(0);
    expect(often.stderr).toContain('fires more often than every 5 minutes');

    expect((await cli('recurring', 'delete', 'train')).stdout.trim()).toBe('deleted train');
    expect(t.stack.scheduler.describe(recurringScheduleName(tenant, 'train'))?.recurring).toBeUndefined();
    expect(JSON.parse((await cli('recurring', 'list', '--json')).stdout)).toEqual({ items: [] });
  });
});
