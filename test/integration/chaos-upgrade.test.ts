import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runChaos } from '../../chaos/run.ts';
import { FINAL } from '../../chaos/workload.ts';
import { checkHistory } from '../../chaos/history.ts';
import { jsonLines } from '../support/chaos-histories.ts';

/**
 * An upgrade of Stageline itself with promotions in flight (chaos/upgrade.ts, `--upgrade`): a small seeded run starts
 * on the previous release's state machines (test/fixtures/previous-release/) and, at the seed's moment, its stack is
 * crashed and started again on the same data with the current ones. The executions running then go on on the
 * definitions they started on, to their end; every promotion ends rightly and the checker finds no violation.
 */
describe('chaos: an upgrade of the stack', () => {
  const out = mkdtempSync(join(tmpdir(), 'chaos-upgrade-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('upgrades the stack mid-run, the executions running then end on their definitions, and no invariant breaks', { timeout: 900_000 }, async () => {
    const logged: string[] = [];
    // Approvals (production), bakes, and rollouts an alarm rolls back.
    const kinds = ['config-staging', 'config-production', 'alarm-rollback'] as const;
    const report = await runChaos({ seed: 7, rate: 0.05, promotions: 10, upgrade: true, kinds, out, log: (l) => logged.push(l) });
    if (logged.length) console.log(logged.join('\n'));
    console.log(report.text);
    expect(report.faults.upgrade).toEqual({ injected: 1, chances: 1 });
    expect(report.faults.crash).toEqual({ injected: 0, chances: 0 });
    expect(logged.filter((l) => l.includes('the stack was upgraded'))).toHaveLength(1);
    expect(report.text).toMatch(/^ {2}upgrade +1 \/ 1$/m);
    expect(report.promotions).toBeGreaterThanOrEqual(8);
    expect(report.byKind['config-production'] ?? 0).toBeGreaterThan(0);
    // Every promotion ended (none MISSING, none left running), and no invariant broke, final-state and liveness among them.
    expect(Object.keys(report.byStatus).filter((s) => !(FINAL as readonly string[]).includes(s.split(' ')[0]!))).toEqual([]);
    expect(report.violations.map((v) => `${v.invariant} ${v.tenant}/${v.promotionId}: ${v.detail}`)).toEqual([]);
    expect(report.vacuous.map((v) => `${v.invariant}: no ${v.measure}`)).toEqual([]);
    // Executions ran on the previous release at the upgrade, were resumed on its definitions and ended on them.
    const resumed = report.text.match(/executions resumed on the previous release's definitions (\d+).*, ended on them (\d+)/);
    expect(resumed, report.text).not.toBeNull();
    expect(Number(resumed![1])).toBeGreaterThanOrEqual(1);
    expect(Number(resumed![2])).toBeGreaterThanOrEqual(1);
    expect(Number(resumed![2])).toBeLessThanOrEqual(Number(resumed![1]));
    expect(report.text).toMatch(/their promotions at the upgrade: waiting for approval \d+, baking \d+, rolling back \d+, executing \d+, other \d+/);
    // The history's fault log has the upgrade, where it came; checked again from disk, it says the same.
    const upgrades = jsonLines(out, 'faults.jsonl').filter((f) => f.kind === 'upgrade');
    expect(upgrades.map((f) => f.where)).toEqual([expect.stringMatching(/^after write \d+ of the functions \(the upgrade, from write \d+\)$/)]);
    const again = checkHistory(out);
    expect(again.violations).toEqual([]);
    expect(again.vacuous).toEqual([]);
    expect(again.text).toContain(resumed![0]);
  });
});
