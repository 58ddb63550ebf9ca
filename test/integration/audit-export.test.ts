import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyExport } from '../../domain/audit-export.ts';
import { waitFor } from '../support/promotions.ts';
import { makeLine, startTestStack, type TestStack } from '../support/stack.ts';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..', '..');
let t: TestStack;
beforeAll(async () => {
  t = await startTestStack();
});
afterAll(() => t.stop());

/** Some history: environments, configs, a promotion with approval (seed 003's record shape), all linked. */
async function history() {
  const tenant = t.tenant();
  const u = await t.users(tenant);
  await makeLine(t, u.admin);
  await t.call('POST', '/api/v1/environments/dev/items/batch', { token: u.deployer, body: { set: [{ key: 'a', value: 1 }, { key: 'b', value: 2 }] } });
  const toStaging = await t.call('POST', '/api/v1/promotions', { token: u.deployer, body: { sourceEnvironment: 'dev', targetEnvironment: 'staging' } });
  await waitFor(t, u.viewer, toStaging.body.id, ['COMPLETED']);
  const toProd = await t.call('POST', '/api/v1/promotions', { token: u.deployer, body: { sourceEnvironment: 'staging', targetEnvironment: 'production' } });
  await waitFor(t, u.viewer, toProd.body.id, ['AWAITING_APPROVAL']);
  expect((await t.call('POST', `/api/v1/promotions/${toProd.body.id}/approve`, { token: u.approver, body: { comment: 'ok' } })).status).toBe(200);
  await waitFor(t, u.viewer, toProd.body.id, ['COMPLETED']);
  await t.stack.stream.idle();
  return { tenant, u, promotion: toProd.body.id as string };
}

const lines = (text: string) => text.trimEnd().split('\n').map((l) => JSON.parse(l));

describe('audit export (JSON Lines) and offline verification', () => {
  it('exports the chain in order with hashes, checkpoints and seed 003 records; verifies offline; finds tampering by line', async () => {
    const { tenant, u, promotion } = await history();
    const r = await t.call('GET', '/api/v1/audit/export', { token: u.viewer });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('application/x-ndjson');
    const text = r.body as string;
    const rows = lines(text);
    expect(rows[0]).toMatchObject({ type: 'header', format: 'stageline-audit-export/v1', tenant });
    const entries = rows.filter((l) => l.type === 'entry');
    expect(entries.map((e) => e.seq)).toEqual(entries.map((_e, i) => i + 1));
    expect(rows.filter((l) => l.type === 'checkpoint').length).toBeGreaterThan(0);
    expect(rows.at(-1)).toMatchObject({ type: 'trailer', count: entries.length, firstSeq: 1, lastSeq: entries.length, next: null });
    // Seed 003's audit record, readable as is.
    const record = entries.find((e) => e.entry.entityId === promotion && e.entry.action === 'promotion.complete').record;
    expect(record).toEqual({
      promotion_id: promotion,
      artifact: expect.stringMatching(/^config@/),
      source_env: 'staging',
      target_env: 'production',
      promoted_by: `deployer@${tenant}.test`,
      approval: { required: true, approvers: [`approver@${tenant}.test`] },
      validation_gates: expect.objectContaining({ policy_compliance: 'PASS' }),
      result: 'COMPLETED',
    });
    expect(verifyExport(text)).toMatchObject({ ok: true, checked: entries.length, firstSeq: 1, tenant, problems: [] });

    // Tampering, each found by its line.
    const raw = text.trimEnd().split('\n');
    const at = (seq: number) => raw.findIndex((l) => l.includes(`"type":"entry","seq":${seq},`));
    const altered = [...raw];
    altered[at(3)] = altered[at(3)]!.replace(/"actorName":"[^"]+"/, '"actorName":"mallory"');
    expect(verifyExport(altered.join('\n')).problems).toEqual([{ line: at(3) + 1, seq: 3, what: 'the entry does not match its entryHash (it was altered)' }]);
    const dropped = raw.filter((_l, i) => i !== at(4));
    expect(verifyExport(dropped.join('\n')).problems[0]).toMatchObject({ line: at(4) + 1, seq: 5, what: expect.stringMatching(/expected link 4, found 5/) });
    const swapped = [...raw];
    [swapped[at(2)], swapped[at(5)]] = [swapped[at(5)]!, swapped[at(2)]!];
    expect(verifyExport(swapped.join('\n')).ok).toBe(false);
    const forged = raw.map((l) => (l.startsWith('{"type":"checkpoint"') ? l.replace(/"hash":"[0-9a-f]{4}/, '"hash":"ffff') : l));
    expect(verifyExport(forged.join('\n')).problems.some((p) => /disagrees with this signed checkpoint/.test(p.what))).toBe(true);
    expect(verifyExport(raw.slice(0, -1).join('\n')).problems.at(-1)!.what).toMatch(/no trailer line/);
  });

  it('pages with fromSeq (x-next-cursor); the pages together verify like one export; time ranges; isolation, roles and bad input', async () => {
    const { tenant, u } = await history();
    const whole = (await t.call('GET', '/api/v1/audit/export', { token: u.viewer })).body as string;
    const total = lines(whole).filter((l) => l.type === 'entry').length;
    let fromSeq: string | null = null;
    const pages: string[] = [];
    do {
      const r: { body: unknown; headers: Headers } = await t.call('GET', `/api/v1/audit/export?limit=3${fromSeq ? `&fromSeq=${fromSeq}` : ''}`, { token: u.viewer });
      pages.push(r.body as string);
      fromSeq = r.headers.get('x-next-cursor');
    } while (fromSeq);
    expect(pages.length).toBe(Math.ceil(total / 3));
    expect(verifyExport(pages.join(''))).toMatchObject({ ok: true, checked: total, firstSeq: 1, lastSeq: total });

    // A time range picks a run of the chain; it verifies on its own.
    const all = lines(whole).filter((l) => l.type === 'entry');
    const mid = all[Math.floor(total / 2)].entry.at as string;
    const ranged = (await t.call('GET', `/api/v1/audit/export?from=${encodeURIComponent(mid)}`, { token: u.viewer })).body as string;
    const rangedEntries = lines(ranged).filter((l) => l.type === 'entry');
    expect(rangedEntries.every((e) => e.entry.at >= mid)).toBe(true);
    expect(rangedEntries.length).toBeLessThan(total);
    expect(verifyExport(ranged).ok).toBe(true);

    // Another tenant's admin sees only its own chain; no token is 401; bad input names the field.
    const other = await t.users(t.tenant());
    const theirs = (await t.call('GET', '/api/v1/audit/export', { token: other.admin })).body as string;
    expect(theirs).not.toContain(tenant);
    expect(lines(theirs).at(-1)).toMatchObject({ type: 'trailer', count: 0 });
    expect((await t.call('GET', '/api/v1/audit/export')).status).toBe(401);
    const bad = await t.call('GET', '/api/v1/audit/export?from=yesterday', { token: u.viewer });
    expect(bad.status).toBe(400);
    expect(bad.body.error.issues[0].path).toBe('query.from');
    expect((await t.call('GET', '/api/v1/audit/export?fromSeq=0', { token: u.viewer })).status).toBe(400);
  });

  it('CLI: audit export writes every page to a file; audit verify --file checks it offline (exit 1 and the line when tampered)', async () => {
    const { u } = await history();
    const env = { ...process.env, STAGELINE_URL: t.url, STAGELINE_TOKEN: u.viewer };
    const cli = (...args: string[]) => run(join(root, 'node_modules', '.bin', 'tsx'), [join(root, 'cli', 'stageline.ts'), ...args], { env, cwd: root });
    const dir = mkdtempSync(join(tmpdir(), 'stageline-export-'));
    const file = join(dir, 'export.jsonl');
    await cli('audit', 'export', '--output', file);
    const ok = await cli('audit', 'verify', '--file', file);
    expect(ok.stdout).toMatch(/export intact: \d+ entries \(links 1\.\.\d+\)/);
    const tampered = readFileSync(file, 'utf8').replace(/"action":"environment\.create"/, '"action":"environment.delete"');
    writeFileSync(file, tampered);
    const err = await cli('audit', 'verify', '--file', file).catch((e: { code: number; stdout: string }) => e);
    expect((err as { code: number }).code).toBe(1);
    expect((err as { stdout: string }).stdout).toMatch(/^line \d+ \(link \d+\): the entry does not match its entryHash/m);
  });
});
