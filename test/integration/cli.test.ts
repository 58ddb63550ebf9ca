import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeLine, startTestStack, type TestStack } from '../support/stack.ts';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..', '..');
let t: TestStack;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  t = await startTestStack();
  const u = await t.users(t.tenant());
  await makeLine(t, u.admin);
  env = { ...process.env, STAGELINE_URL: t.url, STAGELINE_TOKEN: u.admin };
});
afterAll(() => t.stop());

const cli = (...args: string[]) => run(join(root, 'node_modules', '.bin', 'tsx'), [join(root, 'cli', 'stageline.ts'), ...args], { env, cwd: root });

describe('CLI through the API', () => {
  it('sets configs, diffs two environments, lists environments and verifies the audit chain', async () => {
    await cli('config', 'set', 'query.timeout', '"180s"', '--env', 'staging');
    await cli('config', 'set', 'query.timeout', '"120s"', '--env', 'production');
    await cli('config', 'set', 'new-ui', 'true', '--env', 'staging', '--flag');
    const diff = await cli('diff', '--source', 'staging', '--target', 'production');
    expect(diff.stdout).toContain('~ config query.timeout: "120s" -> "180s"');
    expect(diff.stdout).toContain('+ flag new-ui = true');
    const envs = await cli('env', 'list');
    expect(envs.stdout).toMatch(/0\s+dev/);
    expect((await cli('audit', 'verify')).stdout).toMatch(/chain intact: 6 entries/);
  });

  it('prints the API error and exits non-zero on bad input', async () => {
    await expect(cli('config', 'set', 'bad key!', '1', '--env', 'dev')).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining('set.0.key') });
    await expect(cli('diff', '--source', 'dev')).rejects.toMatchObject({ stderr: expect.stringContaining('--target is required') });
  });
});
