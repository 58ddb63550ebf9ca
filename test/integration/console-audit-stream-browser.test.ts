import { join } from 'node:path';
import type { Page, Route } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { accessibility, openConsoleAs, useConsoleStack } from '../support/console.ts';
import type { TestStack } from '../support/stack.ts';
import { auditDestinationBody } from '../../domain/audit/stream.ts';
import { auditDestinationList } from '../../functions/http/responses/audit.ts';

/**
 * Settings → Audit stream in the console (Chromium via playwright-core, against the local stack), as a security
 * engineer uses it: the destinations with their kind, state, lag, last error and dead letters; a form per kind
 * whose secret field is never filled or shown; a replay from a sequence number; a refusal said next to the form.
 * The destinations API (/api/v1/audit/destinations) is answered in the page by a stand-in held to the API's own
 * schemas (a PUT body is parsed with auditDestinationBody, every GET answer with the response schema), so the panel
 * is held to the real contract while it shows states (failing, lag, dead letters) a test cannot make the real stream
 * reach in a moment; screenshots go to test-output/.
 */
const OUT = join(process.cwd(), 'test-output');
const { t, browser } = useConsoleStack({ out: OUT });

const DD_KEY = 'dd-api-key-SECRET-0123456789';
const HEC_TOKEN = 'hec-token-SECRET-abcdef';

interface Seen {
  method: string;
  path: string;
  body: any;
}

/** The destinations API's contract, answered in the page: what it was sent, in order. */
async function destinationsApi(page: Page) {
  const seen: Seen[] = [];
  const stamp = { shippedSeq: 0, deadLetters: [], version: 1, createdAt: '2026-11-27T10:00:00.000Z', updatedAt: '2026-11-27T10:00:00.000Z', updatedBy: 'pat' };
  const destinations: any[] = [
    {
      name: 'splunk-prod',
      kind: 'splunk',
      url: 'https://splunk.acme.example:8088',
      index: 'audit',
      ack: false,
      token: '…',
      state: 'active',
      lag: { entries: 0, seconds: 0 },
      ...stamp,
    },
    {
      name: 'datadog-eu',
      kind: 'datadog',
      site: 'datadoghq.eu',
      service: 'stageline',
      tags: ['env:prod'],
      apiKey: '…',
      state: 'failing',
      lag: { entries: 1250, seconds: 540 },
      lastError: 'Datadog answered HTTP 503: Service Unavailable',
      ...stamp,
      deadLetters: [
        { fromSeq: 1, toSeq: 200, reason: 'Datadog answered HTTP 400', at: '2026-11-27T10:00:00.000Z' },
        { fromSeq: 201, toSeq: 400, reason: 'Datadog answered HTTP 400', at: '2026-11-27T10:01:00.000Z' },
      ],
    },
  ];
  await page.route('**/api/v1/audit/destinations**', async (route: Route) => {
    const req = route.request();
    const path = new URL(req.url()).pathname;
    const body = req.postData() ? JSON.parse(req.postData()!) : undefined;
    seen.push({ method: req.method(), path, body });
    const json = (status: number, b: unknown) => route.fulfill({ status, contentType: 'application/json', body: JSON.stringify(b) });
    const name = decodeURIComponent(path.split('/')[5] ?? '');
    if (req.method() === 'GET') return json(200, auditDestinationList.parse({ items: destinations }));
    if (req.method() === 'PUT') {
      // The API's own body schema: what it refuses is refused here, with the issue paths it names.
      const parsed = auditDestinationBody.safeParse(body);
      if (!parsed.success)
        return json(400, {
          error: {
            code: 'VALIDATION_FAILED',
            message: 'The request is not valid',
            issues: parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
          },
        });
      const { token: _t, apiKey: _k, version: _v, headers, ...settings } = parsed.data as Record<string, unknown>;
      const masked = {
        ...settings,
        ...(body.kind === 'splunk' ? { token: '…' } : body.kind === 'datadog' ? { apiKey: '…' } : {}),
        ...(headers ? { headers: Object.fromEntries(Object.keys(headers as object).map((h) => [h, '…'])) } : {}),
      };
      const at = destinations.findIndex((d) => d.name === name);
      const next = { name, ...masked, state: 'active', lag: { entries: 0, seconds: 0 }, ...stamp };
      if (at >= 0) destinations[at] = next;
      else destinations.push(next);
      return json(200, next);
    }
    if (req.method() === 'DELETE') {
      destinations.splice(
        destinations.findIndex((d) => d.name === name),
        1,
      );
      return route.fulfill({ status: 204 });
    }
    if (req.method() === 'POST' && path.endsWith('/replay')) {
      if (body.fromSeq > 500)
        return json(400, {
          error: {
            code: 'VALIDATION_FAILED',
            message: 'The request is not valid',
            issues: [{ path: 'body.fromSeq', message: 'there is no entry 999: the chain ends at 500' }],
          },
        });
      return json(202, { name, fromSeq: body.fromSeq });
    }
    return json(404, { error: { code: 'NOT_FOUND', message: 'no such route' } });
  });
  return { seen, destinations };
}

describe('the audit stream in the console settings', () => {
  let u: Awaited<ReturnType<TestStack['users']>>;
  beforeAll(async () => {
    u = await t.users(t.tenant());
  }, 60_000);

  it('lists each destination with kind, state, lag, last error and dead letters; adds a Datadog destination with its key in a secret field never shown again', async () => {
    const { page: p, errors } = await openConsoleAs(browser, t.url, u.admin, '#/');
    const api = await destinationsApi(p);
    await p.goto(`${t.url}/dashboard#/settings/audit-stream`);
    await p.getByRole('heading', { name: 'Audit stream' }).waitFor();
    const rows = p.locator('table.destinations tbody tr');
    await rows.first().waitFor();
    expect(await rows.count()).toBe(2);
    expect((await rows.nth(0).innerText()).replace(/\s+/g, ' ')).toContain('splunk-prod Splunk HTTP Event Collector active up to date none');
    const failing = (await rows.nth(1).innerText()).replace(/\s+/g, ' ');
    expect(failing).toContain('datadog-eu Datadog logs failing 2 dead letters 1,250 entries, 9 min behind Datadog answered HTTP 503: Service Unavailable');
    await p.screenshot({ path: join(OUT, 'audit-stream-list.png'), fullPage: true });

    await p.getByRole('button', { name: 'Add a destination' }).click();
    await p.getByLabel('Name').fill('datadog-us');
    await p.getByLabel('Kind').selectOption('datadog');
    await p.getByLabel('Datadog site').selectOption('us5.datadoghq.com');
    // A tag Datadog does not take: the API's refusal is said, nothing is saved.
    await p.getByLabel('Tags').fill('Env:Prod');
    const key = p.getByLabel('API key');
    expect(await key.getAttribute('type')).toBe('password');
    await key.fill(DD_KEY);
    await p.getByRole('button', { name: 'Save destination' }).click();
    await p.getByText(/Not saved: The request is not valid \(tags\.0: must be a Datadog tag such as env:prod/).waitFor();
    // The key is not kept in the field after a refusal: it is typed again.
    expect(await key.inputValue()).toBe('');
    await p.getByLabel('Tags').fill('env:prod, team:platform');
    await key.fill(DD_KEY);
    await p.screenshot({ path: join(OUT, 'audit-stream-form.png'), fullPage: true });
    await p.getByRole('button', { name: 'Save destination' }).click();
    await p.getByText('Saved datadog-us: entries are shipped there from now on.').waitFor();
    const put = api.seen.filter((s) => s.method === 'PUT').at(-1)!;
    expect(put).toEqual({
      method: 'PUT',
      path: '/api/v1/audit/destinations/datadog-us',
      body: { kind: 'datadog', site: 'us5.datadoghq.com', tags: ['env:prod', 'team:platform'], apiKey: DD_KEY },
    });
    await p.locator('table.destinations tbody tr', { hasText: 'datadog-us' }).waitFor();
    expect(await p.content()).not.toContain(DD_KEY);

    // Editing keeps the stored secret unless a new one is typed: the field starts empty, and the PUT carries none.
    await p.getByRole('button', { name: 'Edit splunk-prod' }).click();
    const token = p.getByLabel('HEC token');
    expect(await token.inputValue()).toBe('');
    expect(await p.getByLabel('Name').isDisabled()).toBe(true);
    expect(await p.getByLabel('HEC URL').inputValue()).toBe('https://splunk.acme.example:8088');
    await p.getByLabel('Index', { exact: true }).fill('security');
    await p.getByRole('button', { name: 'Save destination' }).click();
    await p.getByText('Saved splunk-prod: entries are shipped there from now on.').waitFor();
    expect(api.seen.filter((s) => s.method === 'PUT').at(-1)!.body).toEqual({
      kind: 'splunk',
      url: 'https://splunk.acme.example:8088',
      index: 'security',
      ack: false,
      token: '…',
    });
    // A new token is sent once, never shown.
    await p.getByRole('button', { name: 'Edit splunk-prod' }).click();
    await p.getByLabel('HEC token').fill(HEC_TOKEN);
    await p.getByRole('button', { name: 'Save destination' }).click();
    await p.getByText('Saved splunk-prod: entries are shipped there from now on.').first().waitFor();
    expect(api.seen.filter((s) => s.method === 'PUT').at(-1)!.body.token).toBe(HEC_TOKEN);
    expect(await p.content()).not.toContain(HEC_TOKEN);

    // S3: the role, no secret field.
    await p.getByRole('button', { name: 'Add a destination' }).click();
    await p.getByLabel('Kind').selectOption('s3');
    expect(await p.getByLabel('API key').count()).toBe(0);
    expect(await p.getByLabel('Role ARN').count()).toBe(1);
    await p.getByRole('button', { name: 'Cancel' }).click();

    expect(await accessibility(p)).toEqual([]);
    expect(errors).toEqual([]);
    await p.close();
  });

  it('replays a destination from a sequence number; a number that is not there is refused plainly; removing one asks the API', async () => {
    const { page: p, errors } = await openConsoleAs(browser, t.url, u.admin, '#/');
    const api = await destinationsApi(p);
    await p.goto(`${t.url}/dashboard#/settings/audit-stream`);
    await p.getByRole('heading', { name: 'Replay' }).waitFor();
    await p.getByLabel('Destination').selectOption('datadog-eu');
    await p.getByLabel('From sequence number').fill('abc');
    await p.getByRole('button', { name: 'Replay' }).click();
    await p.getByText('Give the sequence number to replay from: a whole number, 1 or more.').waitFor();
    await p.getByLabel('From sequence number').fill('999');
    await p.getByRole('button', { name: 'Replay' }).click();
    await p.getByText('Not replayed: The request is not valid (body.fromSeq: there is no entry 999: the chain ends at 500)').waitFor();
    await p.getByLabel('From sequence number').fill('42');
    await p.getByRole('button', { name: 'Replay' }).click();
    await p.getByText('Replaying datadog-eu from entry 42.').waitFor();
    expect(api.seen.filter((s) => s.method === 'POST')).toEqual([
      { method: 'POST', path: '/api/v1/audit/destinations/datadog-eu/replay', body: { fromSeq: 999 } },
      { method: 'POST', path: '/api/v1/audit/destinations/datadog-eu/replay', body: { fromSeq: 42 } },
    ]);
    await p.screenshot({ path: join(OUT, 'audit-stream-replay.png'), fullPage: true });
    await p.getByRole('button', { name: 'Remove splunk-prod' }).click();
    await p.getByText('Removed splunk-prod: nothing more is shipped there.').waitFor();
    expect(api.seen.filter((s) => s.method === 'DELETE').map((s) => s.path)).toEqual(['/api/v1/audit/destinations/splunk-prod']);
    await p.setViewportSize({ width: 390, height: 844 });
    await p.screenshot({ path: join(OUT, 'audit-stream-phone.png'), fullPage: true });
    expect(await accessibility(p)).toEqual([]);
    expect(errors).toEqual([]);
    await p.close();
  });

  it('a viewer sees that only an admin sets where the audit log is streamed, and no control', async () => {
    const { page: p } = await openConsoleAs(browser, t.url, u.viewer, '#/settings/audit-stream');
    await p.getByText(/Only an admin sees and changes where the audit log is streamed/).waitFor();
    expect(await p.getByRole('button', { name: 'Add a destination' }).count()).toBe(0);
    expect(await p.getByRole('link', { name: 'Audit stream' }).count()).toBe(0);
    await p.close();
  });
});
