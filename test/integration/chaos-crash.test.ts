import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runChaos } from '../../chaos/run.ts';
import { FINAL } from '../../chaos/workload.ts';
import { jsonLines } from '../support/chaos-histories.ts';

/**
 * Crashes of Stageline itself (chaos/crashes.ts, local/crash.ts): a small seeded run whose stack is crashed twice at
 * the seed's moments (its memory gone at once, its work cut off from any effect, DynamoDB Local SIGKILLed) and started
 * again on the same data; promotions waiting for approval and rollouts through waves among them. Every promotion
 * ends, the checker finds no violation over the whole run, and each crash is in the history's fault log.
 */
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('chaos: crashes of the stack', () => {
  it('crashes the stack twice mid-run, starts it again on its data, and every promotion ends with no violation', { timeout: 900_000 }, async () => {
    const out = mkdtempSync(join(tmpdir(), 'chaos-crash-'));
    dirs.push(out);
    const logged: string[] = [];
    const report = await runChaos({
      seed: 7,
      rate: 0.05,
      promotions: 10,
      crashes: 2,
      // Approvals (production), rollouts through waves (and one an alarm stops), a cancel and staging's.
      kinds: ['config-staging', 'config-production', 'alarm-rollback', 'cancel'],
      out,
      log: (l) => logged.push(l),
    });
    if (logged.length) console.log(logged.join('\n'));
    console.log(report.text);
    expect(report.faults.crash).toEqual({ injected: 2, chances: 2 });
    expect(logged.filter((l) => l.includes('the stack crashed'))).toHaveLength(2);
    expect(report.promotions).toBeGreaterThanOrEqual(8);
    expect(report.byKind['config-production'] ?? 0).toBeGreaterThan(0);
    // Every promotion ended (none MISSING, none left running).
    expect(Object.keys(report.byStatus).filter((s) => !(FINAL as readonly string[]).includes(s.split(' ')[0]!))).toEqual([]);
    expect(report.violations.map((v) => `${v.invariant} ${v.tenant}/${v.promotionId}: ${v.detail}`)).toEqual([]);
    expect(report.vacuous.map((v) => `${v.invariant}: no ${v.measure}`)).toEqual([]);
    // The history's fault log has each crash, where it came.
    const crashes = jsonLines(out, 'faults.jsonl').filter((f) => f.kind === 'crash');
    expect(crashes.map((f) => f.where)).toEqual([expect.stringMatching(/crash 1 of 2/), expect.stringMatching(/crash 2 of 2/)]);
  });
});
