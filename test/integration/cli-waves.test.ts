import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliOf } from '../support/cli.ts';
import { productionLine } from '../support/line.ts';
import { approveIfAsked } from '../support/promotions.ts';
import { startTestStack, type TestStack } from '../support/stack.ts';

let t: TestStack;
beforeAll(async () => {
  t = await startTestStack();
});
afterAll(() => t.stop());

const cli = (token: string, ...args: string[]) => cliOf(t)(token, ...args);

describe('CLI: a rollout through targets', () => {
  it('shows it wave by wave, target by target; halt, confirm and resume; watch follows it to the end', async () => {
    const { u } = await productionLine(t, {
      bakeSeconds: 1,
      targets: [
        { name: 'canary', wave: 1, confirm: { mode: 'callback', timeoutSeconds: 600 } },
        { name: 'eu-west-1', wave: 2 },
        { name: 'us-east-1', wave: 2 },
      ],
    });
    await t.call('POST', '/api/v1/environments/dev/configs', { token: u.deployer, body: { key: 'feature.x', value: true } });
    const p = await t.call('POST', '/api/v1/promotions', { token: u.deployer, body: { sourceEnvironment: 'dev', targetEnvironment: 'production' } });
    const id = p.body.id as string;
    await approveIfAsked(t, u, id, ['EXECUTING']);
    for (let i = 0; i < 100; i++) {
      const d = (await t.call('GET', `/api/v1/promotions/${id}`, { token: u.viewer })).body;
      if (d.rollout?.waves[0]?.targets[0]?.state === 'CONFIRMING') break;
      await new Promise((r) => setTimeout(r, 100));
    }

    const shown = await cli(u.viewer, 'promotions', 'show', id);
    expect(shown.stdout).toContain('rollout: rolling out');
    expect(shown.stdout).toMatch(/wave 1 \(bake 1 second\): canary waits for its deployer \(\d+ minutes left\)/);
    expect(shown.stdout).toContain('wave 2 (bake 1 second): eu-west-1 pending, us-east-1 pending');

    const halted = await cli(u.deployer, 'halt', id, '--reason', 'checking the canary by hand');
    expect(halted.stdout).toContain('rollout: halted by deployer@');
    const watch = cli(u.viewer, 'promotions', 'watch', id, '--timeout', '60');
    expect((await cli(u.deployer, 'confirm', id, 'canary', '--reason', 'dashboards green')).stdout).toMatch(/Confirmed canary of prm_\w+ as deployer@/);
    await expect(cli(u.deployer, 'confirm', id, 'canary')).rejects.toThrow(/does not wait for a confirmation/);
    for (let i = 0; i < 100; i++) {
      const d = (await t.call('GET', `/api/v1/promotions/${id}`, { token: u.viewer })).body;
      if (d.rollout?.waves[0]?.targets[0]?.state === 'DONE') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect((await cli(u.deployer, 'resume', id)).stdout).toContain('rollout: rolling out');
    const watched = await watch;
    expect(watched.stderr).toMatch(/halted by deployer@\S+ before wave 2 \(checking the canary by hand\); to go on: stageline resume/);
    expect(watched.stdout).toContain('COMPLETED');
    expect(watched.stdout).toContain('wave 2 (bake 1 second): eu-west-1 done, us-east-1 done');
  }, 120_000);
});
