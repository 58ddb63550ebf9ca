import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliOf, outcome } from '../support/cli.ts';
import { productionLine } from '../support/line.ts';
import { approveIfAsked } from '../support/promotions.ts';
import { startTestStack, type TestStack } from '../support/stack.ts';

let t: TestStack;
beforeAll(async () => {
  t = await startTestStack();
});
afterAll(() => t.stop());

const cli = (token: string, ...args: string[]) => cliOf(t)(token, ...args);

/** 1,000 cells in 10 waves of 100. */
const fleet = Array.from({ length: 1000 }, (_, i) => ({ name: `cell-${String(i + 1).padStart(5, '0')}`, wave: Math.floor(i / 100) + 1 }));

describe('CLI: a rollout through 1,000 targets', () => {
  it('promotions show says it wave by wave (a progress line each), never a line per target; --targets pages through them, filtered by state, wave and name; a bad filter exits 2 naming the flag', async () => {
    // Waves 1 and 2 roll out (immediate confirmation, no bake); the rollout halts before wave 3, as planned.
    const { u } = await productionLine(t, { bakeSeconds: 0, targets: fleet, rollout: { maxParallel: 40, waves: [{ wave: 3, pause: true }] } });
    await t.call('POST', '/api/v1/environments/dev/configs', { token: u.deployer, body: { key: 'feature.x', value: true } });
    const p = await t.call('POST', '/api/v1/promotions', { token: u.deployer, body: { sourceEnvironment: 'dev', targetEnvironment: 'production' } });
    const id = p.body.id as string;
    await approveIfAsked(t, u, id, ['EXECUTING']);
    await expect
      .poll(async () => (await t.call('GET', `/api/v1/promotions/${id}`, { token: u.viewer })).body.rollout?.phase, { timeout: 300_000, interval: 1000 })
      .toBe('HALTED');

    const shown = await cli(u.viewer, 'promotions', 'show', id);
    const lines = shown.stdout.trimEnd().split('\n');
    // The promotion's own lines, the rollout's, a line per wave and where the targets are: bounded, whatever the fleet.
    expect(lines.length).toBeLessThanOrEqual(30);
    expect(lines.filter((l) => /cell-\d+/.test(l))).toEqual([]);
    expect(lines).toContain('  wave 1/10  100 targets  100 applied  0 confirming  0 failed  (bake 0 seconds)');
    expect(lines).toContain('  wave 2/10  100 targets  100 applied  0 confirming  0 failed  (bake 0 seconds)');
    expect(lines).toContain('  wave 3/10  100 targets  0 applied  0 confirming  0 failed  (bake 0 seconds)');
    expect(lines.filter((l) => /^ {2}wave \d+\/10 {2}100 targets/.test(l))).toHaveLength(10);
    expect(shown.stdout).toContain(`targets one by one: stageline promotions show ${id} --targets`);

    // A page of targets, one line each, walking the waves that hold one in the state asked for, and where the next page starts.
    const first = (await cli(u.viewer, 'promotions', 'show', id, '--targets', '--state', 'pending')).stdout.trimEnd().split('\n');
    expect(first).toHaveLength(52);
    expect(first[0]).toBe('wave 3  cell-00201 pending');
    expect(first[49]).toBe('wave 3  cell-00250 pending');
    expect(first[50]).toBe('targets 1–50 of 800 matching');
    const cursor = /--cursor (\S+)$/.exec(first[51]!)?.[1];
    expect(first[51]).toBe(`next page: stageline promotions show ${id} --targets --state pending --limit 50 --cursor ${cursor}`);
    const second = (await cli(u.viewer, 'promotions', 'show', id, '--targets', '--state', 'pending', '--cursor', cursor!)).stdout.trimEnd().split('\n');
    expect(second[0]).toBe('wave 3  cell-00251 pending');
    expect(second[49]).toBe('wave 3  cell-00300 pending');
    expect(second[50]).toBe('targets 51–100 of 800 matching');
    // A page that crosses a wave's end goes on into the next wave.
    const crossing = (await cli(u.viewer, 'promotions', 'show', id, '--targets', '--state', 'pending', '--limit', '120')).stdout.trimEnd().split('\n');
    expect(crossing[99]).toBe('wave 3  cell-00300 pending');
    expect(crossing[100]).toBe('wave 4  cell-00301 pending');
    expect(crossing[120]).toBe('targets 1–120 of 800 matching');
    const named = (await cli(u.viewer, 'status', id, '--targets', '--name', 'cell-0019*', '--wave', '2', '--limit', '100')).stdout.trimEnd().split('\n');
    expect(named).toEqual([...Array.from({ length: 10 }, (_, i) => `wave 2  cell-0019${i} done`), 'targets 1–10 matching']);
    const badCursor = await outcome(cli(u.viewer, 'promotions', 'show', id, '--targets', '--cursor', 'x y'));
    expect(badCursor.code).toBe(2);
    expect(badCursor.stderr).toContain('--cursor must be the one the previous page printed');

    const bad = await outcome(cli(u.viewer, 'promotions', 'show', id, '--targets', '--state', 'finished'));
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--state must be one of pending, confirming, baking, done, failed, rolled-back, skipped');
    const limit = await outcome(cli(u.viewer, 'promotions', 'show', id, '--targets', '--limit', '5000'));
    expect(limit.code).toBe(2);
    expect(limit.stderr).toContain('--limit must be between 1 and 1000');
  }, 420_000);
});
