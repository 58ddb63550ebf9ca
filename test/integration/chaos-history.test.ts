import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FILES, HISTORY_FORMAT } from '../../chaos/history.ts';
import { failed, runChaos, type ChaosReport } from '../../chaos/run.ts';
import { FAULT_KINDS } from '../../local/faults.ts';
import { finalStateFromFiles, jsonLines as rows } from '../support/chaos-histories.ts';

/**
 * A chaos run's history on disk, checked from outside (docs/architecture/guarantees.md, "A history anyone can check"):
 * a small run writes it with `--out`; the files alone, read as the page's Python reader reads them (here in
 * TypeScript: test/support/chaos-histories.ts), give final-state; `npm run chaos -- --check DIR` prints the report the
 * run printed; and each finds the promotion an edit of the files leaves unended.
 */
const root = join(import.meta.dirname, '..', '..');
const dirs: string[] = [];
let dir: string;
let report: ChaosReport;
const logged: string[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'chaos-history-'));
  dirs.push(dir);
  report = await runChaos({
    seed: 8080,
    rate: 0.05,
    promotions: 8,
    kinds: ['config-staging', 'config-production', 'git-commit', 'artifact'],
    out: dir,
    log: (l) => logged.push(l),
  });
}, 900_000);
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A copy of the history to edit. */
function copy(): string {
  const d = mkdtempSync(join(tmpdir(), 'chaos-history-edit-'));
  dirs.push(d);
  cpSync(dir, d, { recursive: true });
  return d;
}

/** `npm run chaos -- --check d` (the command itself, run by the project's tsx). */
function checkCommand(d: string): { status: number | null; out: string } {
  const r = spawnSync(join(root, 'node_modules', '.bin', 'tsx'), [join(root, 'chaos', 'run.ts'), '--check', d], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, STAGELINE_ACCESS_LOG: 'off', POWERTOOLS_METRICS_DISABLED: 'true' },
  });
  return { status: r.status, out: r.stdout };
}

describe('a chaos history anyone can check', () => {
  it('writes every file of the format, each part as the run had it', () => {
    if (logged.length) console.log(logged.join('\n'));
    console.log(report.text);
    expect(report.violations).toEqual([]);
    const run = JSON.parse(readFileSync(join(dir, FILES.run), 'utf8'));
    expect(run).toMatchObject({ format: HISTORY_FORMAT, seed: 8080, rate: 0.05, promotions: 8, effects: true, faults: report.faults });
    expect(run.kinds).toEqual(['config-staging', 'config-production', 'git-commit', 'artifact']);
    const promotions = rows(dir, FILES.promotions);
    expect(promotions).toHaveLength(report.promotions);
    for (const p of promotions) expect(Object.keys(p)).toEqual(expect.arrayContaining(['tenant', 'id', 'kind', 'environment', 'requestedAt']));
    const requests = rows(dir, FILES.requests);
    expect(requests.length).toBeGreaterThan(promotions.length);
    expect(requests.filter((r) => r.method === 'POST' && r.status === 201 && /promotions$/.test(r.path)).length).toBeGreaterThanOrEqual(1);
    // Every fault injected is in the log, with where it was.
    const faults = rows(dir, FILES.faults);
    expect(faults).toHaveLength(FAULT_KINDS.reduce((n, k) => n + report.faults[k].injected, 0));
    expect(faults.length).toBeGreaterThan(0);
    for (const f of faults) expect(f.where, JSON.stringify(f)).not.toBe('');
    // The table: every promotion requested is an item, its record readable as plain JSON.
    const table = rows(dir, FILES.table);
    const items = new Map(table.filter((i) => i.entity === 'Promotion' && i.sk === 'P').map((i) => [i.pk as string, i]));
    for (const p of promotions) {
      const item = items.get(`T#${p.tenant}#PROMO#${p.id}`);
      expect(item, p.id).toBeDefined();
      expect(item!.doc.$json).toMatchObject({ id: p.id, tenant: p.tenant, transitions: expect.any(Array) });
    }
    // What the effect receivers held: the git kind's commit, the artifacts' tag moves, the webhook deliveries.
    const effects = JSON.parse(readFileSync(join(dir, FILES.effects), 'utf8'));
    expect(Object.keys(effects).sort()).toEqual(
      ['expectedWebhooks', 'gatedPromotions', 'gates', 'lost', 'manifestPuts', 'notifications', 'promotions', 'repositories', 'webhooks'].sort(),
    );
    expect(effects.webhooks.length).toBe(report.exercised['webhook-once']?.deliveries ?? 0);
  });

  it('the files alone, read as the reader of guarantees.md reads them, give final-state from promotions.jsonl and table.jsonl, and name a promotion an edit leaves EXECUTING', () => {
    const ok = finalStateFromFiles(dir);
    expect(ok.summary).toBe(`final-state: ${report.promotions} promotions requested (seed 8080), ${report.promotions} ended, 0 did not`);
    expect(ok.unended).toEqual([]);

    const broken = copy();
    const table = rows(broken, FILES.table);
    const victim = table.find((i) => i.entity === 'Promotion' && i.sk === 'P')!;
    victim.status = 'EXECUTING';
    writeFileSync(join(broken, FILES.table), table.map((i) => `${JSON.stringify(i)}\n`).join(''));
    const [, tenant, , id] = (victim.pk as string).split('#');
    const found = finalStateFromFiles(broken);
    expect(found.unended).toEqual([expect.objectContaining({ tenant, id, status: 'EXECUTING' })]);
    expect(found.summary).toContain(`${report.promotions - 1} ended, 1 did not`);
  });

  it('--check DIR prints the report the run printed, and fails the history once an edit leaves a promotion EXECUTING', () => {
    const again = checkCommand(dir);
    expect(again.out).toBe(`${report.text}\n`);
    expect(again.status).toBe(failed(report) ? 1 : 0);

    const broken = copy();
    const observed = JSON.parse(readFileSync(join(broken, FILES.observed), 'utf8'));
    const tenant = observed.tenants.find((t: any) => t.promotions.length);
    const x = tenant.promotions[0].promotion;
    x.status = 'EXECUTING';
    writeFileSync(join(broken, FILES.observed), JSON.stringify(observed));
    const found = checkCommand(broken);
    expect(found.out).toContain(`VIOLATION final-state: tenant ${tenant.tenant}, promotion ${x.id}`);
    expect(found.out).toContain(`still EXECUTING after the workload ended`);
    expect(found.status).toBe(1);
  });
});

/** The command refuses a folder that holds no history (exit 2, saying so). */
describe('--check on something else', () => {
  it('says the folder holds no history', () => {
    const empty = mkdtempSync(join(tmpdir(), 'chaos-history-empty-'));
    dirs.push(empty);
    const r = spawnSync(join(root, 'node_modules', '.bin', 'tsx'), [join(root, 'chaos', 'run.ts'), '--check', empty], { cwd: root, encoding: 'utf8' });
    expect(r.stderr).toContain('holds no run.json');
    expect(r.status).toBe(2);
  });
});
