import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { judge } from '../../chaos/checker.ts';
import { checkHistory, FILES, HISTORY_FORMAT, readHistory, writeHistory, type HistoryParts } from '../../chaos/history.ts';
import { failed, parseArgs } from '../../chaos/run.ts';
import { compress } from '../../functions/adapters/store/base.ts';
import { FAULT_KINDS } from '../../local/faults.ts';
import { at, completed, digest, entry, finalStateFromFiles, jsonLines, observed, TENANT } from '../support/chaos-histories.ts';
import { fencedBlocks } from '../support/markdown.ts';

/**
 * A chaos run's history on disk (chaos/history.ts): what `--out DIR` writes reads back as it was, the project's checks
 * over it say what they said in memory, and an edit that breaks an invariant is reported.
 */
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'chaos-history-'));
  dirs.push(d);
  return d;
};

/**
 * A history of one completed staging promotion that exercised every invariant such a promotion should: its gate
 * verdict, its audit, its attestation, the webhook delivered for its end and an email about it.
 */
function parts(): HistoryParts {
  const p = completed('p-1', {
    gates: [{ gate: 'tests', verdict: 'PASS', blocking: true, reason: 'green', evidenceRefs: [] }],
  });
  const statement = {
    predicate: { stageline: { tenant: TENANT, promotionId: 'p-1', status: 'COMPLETED', releaseDigest: digest('r') }, verificationResult: 'PASSED' },
  };
  const o = observed(
    [{ promotion: p, targets: [], approvals: [], attestation: { status: 200, body: { verified: true, statement } } }],
    [entry('p-1', 'promotion.create', 0), entry('p-1', 'promotion.complete', 9)],
    [{ name: 'staging', snapshot: { seq: 2, digest: digest('n') }, targets: [] }],
  );
  o.history.push({ at: at(0), tenant: TENANT, promotionId: 'p-1', method: 'POST', path: '/api/v1/promotions', status: 201, note: 'config-staging' });
  const faults = Object.fromEntries(FAULT_KINDS.map((k) => [k, { injected: 0, chances: 3 }])) as HistoryParts['run']['faults'];
  faults['step.twice'] = { injected: 1, chances: 3 };
  return {
    run: {
      format: HISTORY_FORMAT,
      seed: 7,
      rate: 0.05,
      rates: { 'dynamo.conflict': 0.0125 },
      promotions: 1,
      kinds: ['config-staging'],
      effects: true,
      check: {},
      faults,
      elapsedMs: 12_000,
      phases: { workload: 9000 },
      tableName: 'chaos-t',
    },
    observed: o,
    promotions: o.requested,
    effects: {
      repositories: [],
      manifestPuts: [],
      webhooks: [
        { tenant: TENANT, webhookId: 'msg_1', type: 'promotion.completed', eventId: 'e1', promotionId: 'p-1', verified: true, at: at(10), body: '{}' },
      ],
      expectedWebhooks: [{ tenant: TENANT, type: 'promotion.completed', eventId: 'e1', promotionId: 'p-1' }],
      gates: [],
      gatedPromotions: [],
      notifications: [{ tenant: TENANT, channel: 'email', recipient: 'ops@acme.test', title: 'p-1 is live', promotionId: 'p-1', at: at(10) }],
      lost: [],
      promotions: [{ tenant: TENANT, id: 'p-1', environment: 'staging' }],
    },
    faults: [{ at: at(4), kind: 'step.twice', where: `step apply ${TENANT}/p-1` }],
  };
}

describe('a chaos history on disk', () => {
  it('writes each part in its file (the table as plain JSON: a compressed document as the JSON it holds) and reads back what was written', async () => {
    const dir = tmp();
    const x = parts();
    const table = [
      { pk: `T#${TENANT}#PROMO#p-1`, sk: 'P', entity: 'Promotion', status: 'COMPLETED', doc: compress(JSON.stringify({ id: 'p-1', notes: 'é' })) },
      { pk: `T#${TENANT}#KEY`, sk: 'K', hash: new Uint8Array([1, 2, 255]), tags: new Set(['a', 'b']) },
    ];
    await writeHistory(dir, x, table);
    const lines = (f: string) =>
      readFileSync(join(dir, f), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l));
    expect(lines(FILES.table)).toEqual([
      { pk: `T#${TENANT}#PROMO#p-1`, sk: 'P', entity: 'Promotion', status: 'COMPLETED', doc: { $json: { id: 'p-1', notes: 'é' } } },
      { pk: `T#${TENANT}#KEY`, sk: 'K', hash: { $binary: Buffer.from([1, 2, 255]).toString('base64') }, tags: ['a', 'b'] },
    ]);
    expect(lines(FILES.requests)).toEqual(x.observed.history);
    expect(lines(FILES.promotions)).toEqual(x.promotions);
    expect(lines(FILES.faults)).toEqual(x.faults);
    expect(JSON.parse(readFileSync(join(dir, FILES.run), 'utf8'))).toEqual(x.run);
    // observed.json holds Observed but its history and requested promotions (requests.jsonl, promotions.jsonl).
    expect(Object.keys(JSON.parse(readFileSync(join(dir, FILES.observed), 'utf8'))).sort()).toEqual(['events', 'seed', 'tenants']);
    const back = readHistory(dir);
    expect(back.observed).toEqual(JSON.parse(JSON.stringify(x.observed)));
    expect(back.effects).toEqual(x.effects);
    expect(back.faults).toEqual(x.faults);
  });

  it('--check over it says what the checks said in memory; edited to leave the promotion EXECUTING, it reports final-state', async () => {
    const dir = tmp();
    const x = parts();
    await writeHistory(dir, x, []);
    const live = judge(x.observed, x.effects, x.run.check);
    const report = checkHistory(dir);
    expect(report.violations).toEqual(live.violations);
    expect(report.exercised).toEqual(live.exercised);
    expect(report.vacuous).toEqual(live.vacuous);
    expect(report.violations).toEqual([]);
    expect(report.vacuous).toEqual([]);
    expect(failed(report)).toBe(false);
    // The report prints what each invariant examined.
    expect(report.exercised['notify-once']).toEqual({ notifications: 1 });
    const lines = report.text.split('\n');
    expect(lines).toContain('invariants exercised (what each examined):');
    expect(lines).toContain(`  ${'final-state'.padEnd(20)} 1 promotions`);
    expect(lines).toContain(`  ${'webhook-once'.padEnd(20)} 1 deliveries, 1 events published`);
    expect(lines).toContain(`  ${'rollback-order'.padEnd(20)} 0`);
    expect(lines.at(-1)).toBe('0 violations');

    const o = JSON.parse(readFileSync(join(dir, FILES.observed), 'utf8'));
    o.tenants[0].promotions[0].promotion.status = 'EXECUTING';
    writeFileSync(join(dir, FILES.observed), JSON.stringify(o));
    const broken = checkHistory(dir);
    expect(broken.violations.map((v) => `${v.invariant} ${v.promotionId}`)).toContain('final-state p-1');
    expect(broken.text).toContain(`VIOLATION final-state: tenant ${TENANT}, promotion p-1`);
  });

  it('a history whose git-commit promotion completed with no commit and no tag move fails, naming git-once and registry-once; with them, it passes', async () => {
    const dir = tmp();
    const x = parts();
    x.observed.requested = x.observed.requested.map((r) => ({ ...r, kind: 'git-commit' }));
    x.promotions = x.observed.requested;
    x.run.kinds = ['git-commit'];
    await writeHistory(dir, x, []);
    const vacuousRun = checkHistory(dir);
    expect(vacuousRun.violations).toEqual([]);
    expect(vacuousRun.vacuous.map((v) => `${v.invariant} ${v.measure}`)).toEqual(['git-once commits', 'registry-once tag moves']);
    expect(failed(vacuousRun)).toBe(true);
    expect(vacuousRun.text).toContain('NOT EXERCISED git-once: it examined no commits, though 1 git-commit promotion completed');
    expect(vacuousRun.text.split('\n').at(-1)).toBe('0 violations, 2 invariants not exercised');

    // The same history with the commit applying the promotion and its tag move: nothing vacuous.
    x.effects!.repositories = [
      { tenant: TENANT, repository: 'values', mode: 'commit', commits: [{ sha: 'a1', message: 'Promote app\n\nStageline-Promotion: p-1\n' }], pulls: [] },
    ];
    x.effects!.manifestPuts = [{ tenant: TENANT, registry: 'east', repository: 'app', reference: 'latest-staging', digest: digest('n'), at: at(5) }];
    const full = tmp();
    await writeHistory(full, x, []);
    const exercised = checkHistory(full);
    expect(exercised.exercised['git-once']).toEqual({ commits: 1 });
    expect(exercised.exercised['registry-once']).toEqual({ 'tag moves': 1 });
    expect(exercised.vacuous).toEqual([]);
  });

  it('the documented format read in TypeScript as the Python reader of guarantees.md reads it: final-state from promotions.jsonl and table.jsonl', async () => {
    const dir = tmp();
    const x = parts();
    const item = (status: string) => ({ pk: `T#${TENANT}#PROMO#p-1`, sk: 'P', entity: 'Promotion', status, doc: compress(JSON.stringify({ id: 'p-1' })) });
    await writeHistory(dir, x, [item('COMPLETED'), { pk: `T#${TENANT}#ENV#staging`, sk: 'E', entity: 'Environment' }]);
    expect(finalStateFromFiles(dir)).toEqual({ unended: [], summary: 'final-state: 1 promotions requested (seed 7), 1 ended, 0 did not' });

    const left = tmp();
    await writeHistory(left, x, [item('EXECUTING')]);
    expect(finalStateFromFiles(left)).toEqual({
      unended: [{ tenant: TENANT, id: 'p-1', kind: 'test', status: 'EXECUTING' }],
      summary: 'final-state: 1 promotions requested (seed 7), 0 ended, 1 did not',
    });
    const gone = tmp();
    await writeHistory(gone, x, []);
    expect(finalStateFromFiles(gone).unended).toEqual([{ tenant: TENANT, id: 'p-1', kind: 'test', status: 'not in the table' }]);

    // The page's reader (Python, the standard library only) reads those files and fields, and no other.
    const doc = readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'architecture', 'guarantees.md'), 'utf8');
    const [python, ...more] = fencedBlocks(doc, 'python');
    expect(more).toEqual([]);
    const imports = [...python!.matchAll(/^(?:import|from) (\w+)/gm)].map((m) => m[1]);
    expect(imports.sort()).toEqual(['json', 'pathlib', 'sys']);
    for (const f of [FILES.run, FILES.promotions, FILES.table]) expect(python).toContain(`"${f}"`);
    for (const field of ['format', 'seed', 'entity', 'sk', 'pk', 'status', 'tenant', 'id', 'kind']) expect(python).toMatch(new RegExp(`["']${field}["']`));
    expect(jsonLines(dir, FILES.promotions).map((p) => Object.keys(p))).toEqual([expect.arrayContaining(['tenant', 'id', 'kind'])]);
  });

  it('refuses a folder that holds no history, and a format it does not read, saying which', async () => {
    expect(() => readHistory(tmp())).toThrow(/holds no run\.json/);
    const dir = tmp();
    await writeHistory(dir, parts(), []);
    const run = JSON.parse(readFileSync(join(dir, FILES.run), 'utf8'));
    writeFileSync(join(dir, FILES.run), JSON.stringify({ ...run, format: 2 }));
    expect(() => readHistory(dir)).toThrow(/format 2, this checker reads format 1/);
    writeFileSync(join(dir, FILES.run), JSON.stringify(run));
    rmSync(join(dir, FILES.effects));
    expect(() => readHistory(dir)).toThrow(/no effects\.json/);
  });
});

describe('npm run chaos options', () => {
  it('--out DIR writes the history of the run; --check DIR checks one and takes no other option but --record', () => {
    expect(parseArgs(['--seed', '5', '--promotions', '12', '--out', 'h'], 0)).toMatchObject({ seed: 5, promotions: 12, out: 'h' });
    expect(parseArgs(['--check', 'h'], 0)).toMatchObject({ checkDir: 'h', record: false });
    // A long run's history, checked again and recorded in bench/RESULTS.md as the run it was.
    expect(parseArgs(['--check', 'h', '--record'], 0)).toMatchObject({ checkDir: 'h', record: true });
    expect(parseArgs(['--seed', '5'], 0)).not.toHaveProperty('out');
    expect(() => parseArgs(['--out'], 0)).toThrow(/--out takes a folder/);
    expect(() => parseArgs(['--out', '--seed', '5'], 0)).toThrow(/--out takes a folder/);
    expect(() => parseArgs(['--check', 'h', '--seed', '5'], 0)).toThrow(/--check DIR checks a history on disk and takes no other option/);
  });
});
