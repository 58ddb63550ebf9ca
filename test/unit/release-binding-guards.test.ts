import { describe, expect, it } from 'vitest';
import { createEnvironment } from '../../domain/config/environments.ts';
import { createItem } from '../../domain/config/items.ts';
import { freezeOver as freeze } from '../support/store-contract/fixtures.ts';
import { EnvironmentNotFound, RuleViolation } from '../../domain/kernel/errors.ts';
import type { Promotion } from '../../domain/kernel/promotion-model.ts';
import { publishArtifact } from '../../domain/artifacts/artifacts.ts';
import { createBundle } from '../../domain/artifacts/bundles.ts';
import { createBundleBody, createPromotion as promotionSchema, publishArtifact as publishSchema } from '../../domain/kernel/promotion-schemas.ts';
import { createEnvironment as envSchema, createItem as itemSchema } from '../../domain/kernel/schemas.ts';
import type { Ctx } from '../../domain/ports.ts';
import { evidenceOwners, memberEvidenceOwner } from '../../domain/promotion/aggregate.ts';
import { rebasePromotion } from '../../domain/promotion/request/rebase.ts';
import { createPromotion } from '../../domain/promotion/request/request.ts';
import { decideStep } from '../../domain/promotion/step/steps.ts';
import { memoryDeps, sealedForTest, userCtx } from '../support/memory-deps.ts';
import { awaitingApproval, refusal } from '../support/memory-promotions.ts';
import { digest } from '../support/promotions.ts';

/**
 * The release a promotion is bound to: where the evidence its gates read is kept (on the promotion, on
 * its release, on a bundle member's version), and a rebase onto new content (what it records, the gates
 * it runs again, what it refuses).
 */

const admin = userCtx('acme', 'alice', 'admin');
const bob = userCtx('acme', 'bob', 'deployer', 'approver');
const dave = userCtx('acme', 'dave', 'deployer', 'approver');

/** dev → prod with one config in dev, bob's promotion of it waiting for approval (the flow's token stored), and a newer config in dev. */
async function rebasable() {
  const m = memoryDeps();
  const id = await awaitingApproval(m);
  await createItem(m.deps, bob, 'config', 'dev', itemSchema.parse({ key: 'query.retries', value: 3 }));
  const read = async () => (await m.store.getPromotion('acme', id))!;
  /** rewrites the stored promotion (a state the API does not reach by itself) */
  const rewrite = async (patch: Partial<Promotion>) => {
    const cur = await read();
    await m.store.commit('acme', [{ kind: 'promotion', promotion: { ...cur, ...patch, version: cur.version + 1 }, expectedVersion: cur.version }]);
  };
  /** gives prod a blocking (or not) webhook gate that answers `verdict` */
  const hook = async (verdict: 'PASS' | 'FAIL', blocking = true) => {
    const env = (await m.store.getEnvironment('acme', 'prod'))!;
    const gate = { name: 'scan', url: 'https://gates.example.com/scan', timeoutMs: 5000, blocking, secret: sealedForTest('s'.repeat(16)) };
    await m.store.commit('acme', [{ kind: 'environment', env: { ...env, webhookGates: [gate], version: env.version + 1 }, expectedVersion: env.version }]);
    m.deps.gates = { call: async (h) => ({ name: h.name, verdict, reason: verdict === 'FAIL' ? 'two critical findings' : 'clean' }) };
  };
  const failures: { token: string; error: string; cause?: string }[] = [];
  m.deps.workflow = { ...m.deps.workflow, sendTaskFailure: async (token, error, cause) => (failures.push({ token, error, cause }), true) };
  return { ...m, id, read, first: await read(), rewrite, hook, failures };
}

describe('evidence owners', () => {
  it('a promotion’s gates read its own evidence and its release’s: the artifact version, the bundle digest or the source snapshot', () => {
    const artifact = { type: 'artifact', name: 'api', version: '1.4.2' };
    const bundle = { type: 'bundle', name: 'web', digest: 'sha256:b1' };
    const config = { type: 'config', sourceSnapshot: { seq: 7, digest: 'c1' } };
    const owners = (subject: object) => evidenceOwners({ id: 'prm_1', sourceEnvironment: 'staging', subject } as never);
    expect(owners(artifact)).toEqual(['promotion:prm_1', 'artifact:api@1.4.2']);
    expect(owners(bundle)).toEqual(['promotion:prm_1', 'bundle:web@sha256:b1']);
    expect(owners(config)).toEqual(['promotion:prm_1', 'snapshot:staging@7']);
  });

  it('a bundle member’s own evidence is on its artifact version', () => {
    expect(memberEvidenceOwner({ name: 'api', version: '1.4.2' })).toBe('artifact:api@1.4.2');
  });
});

describe('rebasing onto new content', () => {
  it('records the next version and where it moved from (audited), and announces that it awaits approval again, with what the policy needs', async () => {
    const { deps, store, id, first, failures } = await rebasable();
    const rebased = await rebasePromotion(deps, dave, id);
    const dev = (await store.getEnvironment('acme', 'dev'))!;
    expect(rebased).toMatchObject({ status: 'AWAITING_APPROVAL', version: first.version + 1 });
    expect(rebased.notes).toBe(
      `Rebased by dave@acme.test onto dev@${dev.head.seq}: 2 added, 0 modified, 0 removed. The notes bob@acme.test wrote were for an earlier release.`,
    );
    const audit = (await store.queryAudit('acme', { limit: 1, entityType: 'promotion' })).items[0];
    expect(audit).toMatchObject({
      action: 'promotion.rebase',
      reason: `source dev@${first.subject.type === 'config' && first.subject.sourceSnapshot.seq} → @${dev.head.seq}`,
    });
    expect(store.outbox('acme').at(-1)).toMatchObject({
      type: 'Approval Required',
      detail: { promotionId: id, actor: 'dave@acme.test', approvalsNeeded: 1, approverGroups: ['approver', 'admin'], releaseDigest: rebased.releaseDigest },
    });
    expect(failures).toEqual([]);
  });

  it('cuts its notes to 2,000 characters', async () => {
    const { deps, id } = await rebasable();
    const longNamed = userCtx('acme', 'd'.repeat(2100), 'deployer');
    const rebased = await rebasePromotion(deps, longNamed, id);
    expect(rebased.notes).toHaveLength(2000);
    expect(rebased.notes).toBe(`Rebased by ${'d'.repeat(2100)}@acme.test`.slice(0, 2000));
  });

  it('ends the promotion as VALIDATION_FAILED when a blocking gate now fails: the failure named, announced, and the waiting flow cancelled', async () => {
    const { deps, store, id, hook, failures } = await rebasable();
    await hook('FAIL');
    const failed = await rebasePromotion(deps, dave, id);
    expect(failed).toMatchObject({
      status: 'VALIDATION_FAILED',
      taskToken: null,
      error: { code: 'GATES_FAILED', message: expect.stringContaining('two critical findings') },
    });
    expect(failed.gates).toContainEqual(expect.objectContaining({ gate: 'webhook:scan', verdict: 'FAIL', blocking: true }));
    expect(store.outbox('acme').at(-1)).toMatchObject({ type: 'Promotion Failed', detail: { actor: 'dave@acme.test', reason: failed.error!.message } });
    expect(failures).toEqual([{ token: 'token-1', error: 'Cancelled', cause: 'gates failed after rebase' }]);
  });

  it('a failing gate that does not block (a warning, stored with the new gates), or a passing one, leaves it awaiting approval; without a waiting flow nothing is cancelled', async () => {
    const nonBlocking = await rebasable();
    await nonBlocking.hook('FAIL', false);
    const warned = await rebasePromotion(nonBlocking.deps, dave, nonBlocking.id);
    expect(warned.status).toBe('AWAITING_APPROVAL');
    // The gates as they ran on the new release are stored with it.
    expect(warned.gates).toContainEqual(expect.objectContaining({ gate: 'webhook:scan', verdict: 'WARN', blocking: false }));
    expect(await nonBlocking.read()).toMatchObject({ gates: warned.gates });
    const passing = await rebasable();
    await passing.hook('PASS');
    expect((await rebasePromotion(passing.deps, dave, passing.id)).status).toBe('AWAITING_APPROVAL');
    expect([...nonBlocking.failures, ...passing.failures]).toEqual([]);

    const tokenless = await rebasable();
    await tokenless.hook('FAIL');
    await tokenless.rewrite({ taskToken: null });
    expect((await rebasePromotion(tokenless.deps, dave, tokenless.id)).status).toBe('VALIDATION_FAILED');
    expect(tokenless.failures).toEqual([]);
  });

  it('an admin rebasing with a break-glass reason breaks glass past the freeze for the new release, audited as the rebase’s break-glass', async () => {
    const { deps, store, id } = await rebasable();
    await store.commit('acme', [{ kind: 'freezeWindow', window: freeze('prod') }]);
    const rebased = await rebasePromotion(deps, { ...admin, breakGlassReason: 'hotfix' } as Ctx, id);
    expect(rebased.freezeOverride).toMatchObject({
      guard: 'freeze-window',
      action: 'promotion.rebase',
      reason: 'hotfix',
      releaseDigest: rebased.releaseDigest,
    });
    const audit = (await store.queryAudit('acme', { limit: 1, entityType: 'promotion' })).items[0];
    expect(audit).toMatchObject({ action: 'breakglass.promotion.rebase', reason: 'break-glass (freeze-window): hotfix' });
  });

  it('refuses an artifact promotion (versions are immutable), a promotion whose source or target is gone, and one whose target already has the content', async () => {
    const artifact = await rebasable();
    await artifact.rewrite({ subject: { type: 'artifact', name: 'api', version: '1.0.0', digest: 'sha256:a' } as Promotion['subject'] });
    const e = await refusal(rebasePromotion(artifact.deps, dave, artifact.id));
    expect(e).toBeInstanceOf(RuleViolation);
    expect(e.message).toBe('Artifact versions are immutable: request a new promotion for another version');

    for (const gone of [{ sourceEnvironment: 'qa' }, { targetEnvironment: 'qa' }]) {
      const orphan = await rebasable();
      await orphan.rewrite(gone);
      const missing = await refusal(rebasePromotion(orphan.deps, dave, orphan.id));
      expect(missing).toBeInstanceOf(EnvironmentNotFound);
      expect(missing.message).toBe("Environment 'qa' does not exist");
    }

    const landed = await rebasable();
    const glass = { ...admin, breakGlassReason: 'seed prod' } as Ctx;
    await createItem(landed.deps, glass, 'config', 'prod', itemSchema.parse({ key: 'query.timeout', value: '30s' }));
    await createItem(landed.deps, glass, 'config', 'prod', itemSchema.parse({ key: 'query.retries', value: 3 }));
    const nothing = await refusal(rebasePromotion(landed.deps, dave, landed.id));
    expect(nothing).toBeInstanceOf(RuleViolation);
    expect(nothing.message).toBe("Nothing to promote any more: 'prod' already has it; cancel the promotion");
  });
});

describe('rebasing a bundle', () => {
  it('moves it onto the newest bundle of its name, naming the members it had and has (notes cut to 2,000 characters), and where it moved from (audited); the same bundle is no rebase', async () => {
    const m = memoryDeps();
    await createEnvironment(m.deps, admin, envSchema.parse({ name: 'dev', position: 0, reason: 'test' }));
    await createEnvironment(m.deps, admin, envSchema.parse({ name: 'prod', position: 1, reason: 'test' }));
    const publish = (name: string, version: string, c: string) => publishArtifact(m.deps, bob, name, publishSchema.parse({ version, digest: digest(c) }));
    await publish('api', 'v1.0.0', 'a');
    await publish('worker', 'v1.0.0', 'b');
    const first = (await createBundle(m.deps, bob, createBundleBody.parse({ name: 'shop', from: 'dev' }))).bundle;
    const p = await createPromotion(m.deps, bob, promotionSchema.parse({ sourceEnvironment: 'dev', targetEnvironment: 'prod', bundle: 'shop' }));
    if ('dryRun' in p) throw new Error('not a dry run');
    expect(await decideStep(m.deps, 'acme', p.id, 'token-1')).toEqual({ next: 'await-approval' });
    const waiting = (await m.store.getPromotion('acme', p.id))!;
    const unchanged = await rebasePromotion(m.deps, dave, p.id);
    expect(unchanged).toEqual(waiting);
    expect(unchanged.releaseDigest).toBe(first.digest);

    await publish('api', 'v1.1.0', 'c');
    const second = (await createBundle(m.deps, bob, createBundleBody.parse({ name: 'shop', from: 'dev' }))).bundle;
    // A newer bundle of another name is not one it moves onto.
    await createBundle(m.deps, bob, createBundleBody.parse({ name: 'tools', from: 'dev' }));
    // Rebased by someone with a long name: the notes are cut to 2,000 characters.
    const longName = 'd'.repeat(1900);
    const rebased = await rebasePromotion(m.deps, userCtx('acme', longName, 'deployer'), p.id);
    expect(rebased).toMatchObject({
      status: 'AWAITING_APPROVAL',
      releaseDigest: second.digest,
      subject: { type: 'bundle', name: 'shop', digest: second.digest, members: second.members },
      changeSummary: unchanged.changeSummary,
      rebasedBy: { id: `${longName}-id` },
      approvedBy: [],
    });
    const notes = `Rebased by ${longName}@acme.test onto shop@${second.digest.slice(0, 19)} (api@v1.1.0, worker@v1.0.0; was api@v1.0.0, worker@v1.0.0). The notes bob@acme.test wrote were for an earlier release.`;
    expect(notes.length).toBeGreaterThan(2000);
    expect(rebased.notes).toBe(notes.slice(0, 2000));
    const audit = (await m.store.queryAudit('acme', { limit: 1, entityType: 'promotion' })).items[0];
    expect(audit).toMatchObject({ action: 'promotion.rebase', reason: `bundle shop ${first.digest.slice(7, 19)} → ${second.digest.slice(7, 19)}` });
  });
});
