import { DeleteItemCommand, GetItemCommand, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keys } from '../../functions/adapters/keys.ts';
import { localClient } from '../../local/dynamodb.ts';
import { approveIfAsked, waitFor } from '../support/promotions.ts';
import { makeLine, startTestStack, type TestStack } from '../support/stack.ts';

/**
 * An environment that requires a signed verification summary from another (`requireAttestationFrom`):
 * through the API on DynamoDB Local, with the stream consumer signing each ended promotion's attestation.
 * A release that carries a verifying, passing VSA from the environment named goes on; one without (never
 * promoted there, not attested yet, a changed attestation, a config snapshot nobody promoted) fails
 * validation naming the environment, and nothing changes.
 */
let t: TestStack;
beforeAll(async () => {
  t = await startTestStack();
});
afterAll(() => t.stop());

const digest = (c: string) => `sha256:${c.repeat(64).slice(0, 64)}`;
const db = () => localClient(t.stack.dynamo.endpoint);

async function line() {
  const tenant = t.tenant();
  const u = await t.users(tenant);
  await makeLine(t, u.admin);
  const prod = (await t.call('GET', '/api/v1/environments/production', { token: u.viewer })).body;
  const set = await t.call('PATCH', '/api/v1/environments/production', {
    token: u.admin,
    body: { version: prod.version, requireAttestationFrom: ['staging'] },
  });
  expect(set.status, JSON.stringify(set.body)).toBe(200);
  expect(set.body.requireAttestationFrom).toEqual(['staging']);
  return { tenant, u };
}

async function promote(u: Awaited<ReturnType<TestStack['users']>>, body: Record<string, unknown>) {
  const r = await t.call('POST', '/api/v1/promotions', { token: u.deployer, body });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return r.body.id as string;
}

const policyGate = async (token: string, id: string) =>
  ((await t.call('GET', `/api/v1/promotions/${id}`, { token })).body.gates ?? []).find((g: { gate: string }) => g.gate === 'policy_compliance');

describe('requireAttestationFrom: a release must carry a signed, passing verification summary from the environment named', () => {
  it('refuses unknown or self names (400), shows the requirement, exports it in the manifest, and keeps the named environment from being deleted (409)', async () => {
    const { u } = await line();
    const prod = (await t.call('GET', '/api/v1/environments/production', { token: u.viewer })).body;
    const unknown = await t.call('PATCH', '/api/v1/environments/production', {
      token: u.admin,
      body: { version: prod.version, requireAttestationFrom: ['qa'] },
    });
    expect(unknown.status).toBe(400);
    expect(JSON.stringify(unknown.body.error.issues)).toContain("'qa' is not an environment");
    const self = await t.call('PATCH', '/api/v1/environments/production', {
      token: u.admin,
      body: { version: prod.version, requireAttestationFrom: ['production'] },
    });
    expect(self.status).toBe(400);
    expect(JSON.stringify(self.body.error.issues)).toContain('cannot require an attestation from itself');
    const status = (await t.call('GET', '/api/v1/status', { token: u.viewer })).body.environments;
    expect(status.find((e: { name: string }) => e.name === 'production').requireAttestationFrom).toEqual(['staging']);
    expect(status.find((e: { name: string }) => e.name === 'staging').requireAttestationFrom).toBeUndefined();
    // A pair's rule may ask for its own; the promotion's policy carries it.
    const rule = await t.call('POST', '/api/v1/promotions/rules', {
      token: u.admin,
      body: { name: 'dev attested', sourceEnvironment: 'dev', targetEnvironment: 'staging', requireAttestationFrom: ['production'] },
    });
    expect(rule.status, JSON.stringify(rule.body)).toBe(201);
    expect(rule.body.requireAttestationFrom).toEqual(['production']);
    const exported = await t.call('GET', '/api/v1/manifest', { token: u.admin });
    expect(exported.status).toBe(200);
    expect(JSON.stringify(exported.body)).toContain('require_attestation_from');
    const staging = (await t.call('GET', '/api/v1/environments/staging', { token: u.viewer })).body;
    await t.call('PATCH', '/api/v1/environments/staging', { token: u.admin, body: { version: staging.version, protected: false } });
    const del = await t.call('DELETE', '/api/v1/environments/staging', { token: u.admin });
    expect(del.status, JSON.stringify(del.body)).toBe(409);
    expect(del.body.error.message).toContain("'production' requires an attestation from 'staging'");
  });

  it('an artifact version attested in staging passes the gate; one whose attestation was changed or is not made yet fails closed naming staging', async () => {
    const { tenant, u } = await line();
    await t.call('POST', '/api/v1/artifacts/api/versions', { token: u.deployer, body: { version: 'v1.0.0', digest: digest('a') } });
    const intoStaging = await promote(u, { sourceEnvironment: 'dev', targetEnvironment: 'staging', artifact: 'api', version: 'v1.0.0' });
    expect((await waitFor(t, u.viewer, intoStaging, ['COMPLETED', 'FAILED'])).status).toBe('COMPLETED');
    await t.stack.stream.idle();
    expect((await t.call('GET', `/api/v1/promotions/${intoStaging}/attestation`, { token: u.viewer })).body.verified).toBe(true);

    // Attested in staging: the gate passes and the promotion waits for production's approver.
    const ok = await promote(u, { sourceEnvironment: 'staging', targetEnvironment: 'production', artifact: 'api', version: 'v1.0.0' });
    await waitFor(t, u.viewer, ok, ['AWAITING_APPROVAL']);
    expect(await policyGate(u.viewer, ok)).toMatchObject({ verdict: 'PASS' });
    expect((await t.call('DELETE', `/api/v1/promotions/${ok}`, { token: u.deployer })).status).toBe(200);

    // A byte of the stored statement changed: the signature fails, the promotion fails validation, nothing moves.
    const key = keys.attestation(tenant, intoStaging);
    const Key = { pk: { S: key.pk }, sk: { S: key.sk } };
    const original = (await db().send(new GetItemCommand({ TableName: t.stack.tableName, Key }))).Item!;
    const statement = JSON.parse(Buffer.from(original.envelope!.M!.payload!.S!, 'base64').toString());
    await db().send(
      new UpdateItemCommand({
        TableName: t.stack.tableName,
        Key,
        UpdateExpression: 'SET envelope.payload = :p',
        ExpressionAttributeValues: { ':p': { S: Buffer.from(JSON.stringify({ ...statement, _changed: true })).toString('base64') } },
      }),
    );
    const held = await promote(u, { sourceEnvironment: 'staging', targetEnvironment: 'production', artifact: 'api', version: 'v1.0.0' });
    expect((await waitFor(t, u.viewer, held, ['VALIDATION_FAILED', 'AWAITING_APPROVAL'])).status).toBe('VALIDATION_FAILED');
    const failed = await policyGate(u.viewer, held);
    expect(failed).toMatchObject({ verdict: 'FAIL', blocking: true });
    expect(failed.reason).toContain(`the attestation from 'staging' (promotion ${intoStaging}) does not verify`);

    // Not attested (yet): validated again, it fails saying so.
    await db().send(new DeleteItemCommand({ TableName: t.stack.tableName, Key }));
    const again = await t.call('POST', `/api/v1/promotions/${held}/validate`, { token: u.deployer });
    expect(again.status, JSON.stringify(again.body)).toBeLessThan(300);
    await waitFor(t, u.viewer, held, ['VALIDATION_FAILED']);
    expect((await policyGate(u.viewer, held)).reason).toContain(`promotion ${intoStaging} completed there but is not attested yet`);

    // The attestation as it was signed is back: validated again, the same promotion passes.
    await db().send(new PutItemCommand({ TableName: t.stack.tableName, Item: original }));
    await t.call('POST', `/api/v1/promotions/${held}/validate`, { token: u.deployer });
    await waitFor(t, u.viewer, held, ['AWAITING_APPROVAL']);
    expect(await policyGate(u.viewer, held)).toMatchObject({ verdict: 'PASS' });

    // Production runs nothing yet: no refusal changed anything.
    const inProduction = await t.call('GET', '/api/v1/artifacts/api/resolve?constraint=%3E%3D1.0.0&environment=production', { token: u.viewer });
    expect(inProduction.status, JSON.stringify(inProduction.body)).toBe(404);
    expect((await t.call('GET', '/api/v1/artifacts/api/resolve?constraint=%3E%3D1.0.0&environment=staging', { token: u.viewer })).body).toMatchObject({
      version: 'v1.0.0',
    });
  });

  it('a config release carries the attestation of the promotion that made its staging snapshot; an edit in staging since has none', async () => {
    const { u } = await line();
    await t.call('POST', '/api/v1/environments/dev/items/batch', { token: u.deployer, body: { set: [{ key: 'greeting', value: 'hello' }] } });
    const intoStaging = await promote(u, { sourceEnvironment: 'dev', targetEnvironment: 'staging' });
    await approveIfAsked(t, u, intoStaging, ['COMPLETED']);
    await waitFor(t, u.viewer, intoStaging, ['COMPLETED']);
    await t.stack.stream.idle();
    const ok = await promote(u, { sourceEnvironment: 'staging', targetEnvironment: 'production' });
    await waitFor(t, u.viewer, ok, ['AWAITING_APPROVAL']);
    expect(await policyGate(u.viewer, ok)).toMatchObject({ verdict: 'PASS' });

    // Staging moves on by another promotion; rebased onto it, the waiting promotion leaves the attestation to the flow's validation.
    await t.call('POST', '/api/v1/environments/dev/items/batch', { token: u.deployer, body: { set: [{ key: 'greeting', value: 'hello again' }] } });
    const next = await promote(u, { sourceEnvironment: 'dev', targetEnvironment: 'staging' });
    await approveIfAsked(t, u, next, ['COMPLETED']);
    await waitFor(t, u.viewer, next, ['COMPLETED']);
    await t.stack.stream.idle();
    const rebased = await t.call('POST', `/api/v1/promotions/${ok}/rebase`, { token: u.deployer });
    expect(rebased.status, JSON.stringify(rebased.body)).toBe(200);
    expect(rebased.body.status).toBe('VALIDATION_FAILED');
    expect((await policyGate(u.viewer, ok)).reason).toContain("the release must carry attestations from 'staging': validate the promotion again");
    await t.call('POST', `/api/v1/promotions/${ok}/validate`, { token: u.deployer });
    await waitFor(t, u.viewer, ok, ['AWAITING_APPROVAL']);
    expect(await policyGate(u.viewer, ok)).toMatchObject({ verdict: 'PASS' });
    expect((await t.call('DELETE', `/api/v1/promotions/${ok}`, { token: u.deployer })).status).toBe(200);

    // An edit made in staging by hand is a snapshot no promotion verified.
    const edit = await t.call('POST', '/api/v1/environments/staging/items/batch', { token: u.deployer, body: { set: [{ key: 'greeting', value: 'hi' }] } });
    expect(edit.status, JSON.stringify(edit.body)).toBeLessThan(300);
    const edited = await promote(u, { sourceEnvironment: 'staging', targetEnvironment: 'production' });
    expect((await waitFor(t, u.viewer, edited, ['VALIDATION_FAILED', 'AWAITING_APPROVAL'])).status).toBe('VALIDATION_FAILED');
    expect((await policyGate(u.viewer, edited)).reason).toMatch(
      /no attestation from 'staging': snapshot \d+ of 'staging' was not made by a completed promotion into it/,
    );
  });

  it("fails closed on another tenant's statement put in place of its own: signed with that tenant's key, it does not verify with this tenant's", async () => {
    const [a, b] = [await line(), await line()];
    const staged: string[] = [];
    for (const who of [a, b]) {
      await t.call('POST', '/api/v1/artifacts/api/versions', { token: who.u.deployer, body: { version: 'v1.0.0', digest: digest('a') } });
      const id = await promote(who.u, { sourceEnvironment: 'dev', targetEnvironment: 'staging', artifact: 'api', version: 'v1.0.0' });
      expect((await waitFor(t, who.u.viewer, id, ['COMPLETED', 'FAILED'])).status).toBe('COMPLETED');
      staged.push(id);
    }
    await t.stack.stream.idle();
    // b's envelope (same release digest, PASSED into staging) in a's attestation item, its ids made a's: b's key signed it.
    const item = async (tenant: string, id: string) => {
      const key = keys.attestation(tenant, id);
      return { Key: { pk: { S: key.pk }, sk: { S: key.sk } } };
    };
    const theirs = (await db().send(new GetItemCommand({ TableName: t.stack.tableName, ...(await item(b.tenant, staged[1]!)) }))).Item!;
    await db().send(
      new UpdateItemCommand({
        TableName: t.stack.tableName,
        ...(await item(a.tenant, staged[0]!)),
        UpdateExpression: 'SET envelope = :e',
        ExpressionAttributeValues: { ':e': theirs.envelope! },
      }),
    );
    const held = await promote(a.u, { sourceEnvironment: 'staging', targetEnvironment: 'production', artifact: 'api', version: 'v1.0.0' });
    expect((await waitFor(t, a.u.viewer, held, ['VALIDATION_FAILED', 'AWAITING_APPROVAL'])).status).toBe('VALIDATION_FAILED');
    const failed = await policyGate(a.u.viewer, held);
    expect(failed).toMatchObject({ verdict: 'FAIL', blocking: true });
    expect(failed.reason).toContain(`the attestation from 'staging' (promotion ${staged[0]}) does not verify: signed by another key`);
  });
});
