import { spawn, type ChildProcess } from 'node:child_process';
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import { CloudWatchClient, PutMetricAlarmCommand, SetAlarmStateCommand } from '@aws-sdk/client-cloudwatch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CloudWatchAlarms } from '../../functions/adapters/cloudwatch-alarms.ts';
import { waitFor } from '../support/promotions.ts';
import { makeLine, startTestStack, type TestStack } from '../support/stack.ts';

let t: TestStack;
beforeAll(async () => {
  t = await startTestStack();
});
afterAll(() => t.stop());

// The local stack's deployment: account 000000000000, region us-east-1 (local/stack.ts).
const arn = (name: string, region = 'us-east-1', account = '000000000000') => `arn:aws:cloudwatch:${region}:${account}:alarm:${name}`;
const alarmEvent = (alarm: string, state: 'ALARM' | 'OK', reason = 'Threshold Crossed: 1 datapoint [9.0] was greater than the threshold (5.0)') => ({
  source: 'aws.cloudwatch',
  'detail-type': 'CloudWatch Alarm State Change',
  account: '000000000000',
  region: 'us-east-1',
  time: '2026-11-23T10:00:00Z',
  resources: [alarm],
  detail: { alarmName: alarm.split(':alarm:')[1], state: { value: state, reason, timestamp: '2026-11-23T10:00:00.000+0000' }, previousState: { value: 'OK' } },
});
const put = (event: unknown) => t.call('POST', '/dev/events', { body: event });

/** A tenant whose staging bakes and lists its own alarms (named <tenant>/<name>); the users and the alarms' ARNs. */
async function line(bakeSeconds: number, names: string[]) {
  const tenant = t.tenant();
  const u = await t.users(tenant);
  await makeLine(t, u.admin);
  const monitors = names.map((n) => arn(`${tenant}/${n}`));
  const r = await t.call('PATCH', '/api/v1/environments/staging', { token: u.admin, body: { version: 1, bakeSeconds, monitors } });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  await t.call('POST', '/api/v1/environments/dev/configs', { token: u.deployer, body: { key: 'feature.x', value: true } });
  return { u, monitors, alarm: monitors[0]! };
}

describe('monitors (CloudWatch alarms on an environment)', () => {
  it('are refused at save when not an alarm ARN, or of another account or region (400 naming the field)', async () => {
    const tenant = t.tenant();
    const u = await t.users(tenant);
    await makeLine(t, u.admin, ['dev']);
    for (const [monitors, says] of [
      [['arn:aws:sns:us-east-1:000000000000:topic'], 'CloudWatch alarm ARN'],
      [[arn(`${tenant}/p99`, 'eu-west-1')], 'region eu-west-1'],
      [[arn(`${tenant}/p99`, 'us-east-1', '111122223333')], 'account 111122223333'],
    ] as const) {
      const r = await t.call('PATCH', '/api/v1/environments/dev', { token: u.admin, body: { version: 1, monitors } });
      expect(r.status, JSON.stringify(r.body)).toBe(400);
      expect(JSON.stringify(r.body)).toContain('monitors');
      expect(JSON.stringify(r.body)).toContain(says);
    }
    const ok = await t.call('PATCH', '/api/v1/environments/dev', { token: u.admin, body: { version: 1, monitors: [arn(`${tenant}/p99`)] } });
    expect(ok.status).toBe(200);
    expect(ok.body.monitors).toEqual([arn(`${tenant}/p99`)]);
  });

  it("another tenant's alarm (or one outside the tenant's namespace) is refused at save, so its state and reason never reach this tenant", async () => {
    // Tenant A's alarm fires; its reason is A's business.
    const a = await line(0, ['payments-p99']);
    expect((await put(alarmEvent(a.alarm, 'ALARM', 'p99 1912 ms > 800 ms (card processor degraded)'))).status).toBe(202);
    // Tenant B lists it (or an alarm named outside any namespace) as a monitor of its own environment: refused, through the API and a manifest.
    const other = t.tenant();
    const b = await t.users(other);
    await makeLine(t, b.admin);
    for (const alarm of [a.alarm, arn('platform-dlq-depth')]) {
      const r = await t.call('PATCH', '/api/v1/environments/staging', { token: b.admin, body: { version: 1, monitors: [alarm] } });
      expect(r.status, JSON.stringify(r.body)).toBe(400);
      expect(r.body.error.issues).toEqual([expect.objectContaining({ path: 'monitors.0', message: expect.stringContaining(`${other}/<name>`) })]);
      const created = await t.call('POST', '/api/v1/environments', { token: b.admin, body: { name: 'qa', position: 5, monitors: [alarm] } });
      expect(created.status, JSON.stringify(created.body)).toBe(400);
      const document = JSON.stringify({ artifacts: { promotion: { environment_settings: { staging: { monitors: [alarm] } } } } });
      const applied = await t.call('POST', '/api/v1/manifest/apply', { token: b.admin, body: { document } });
      expect(applied.status, JSON.stringify(applied.body)).toBe(400);
      expect(applied.body.error.issues.map((i: { path: string }) => i.path)).toContain('document.artifacts.promotion.environment_settings.staging.monitors.0');
    }
    expect((await t.call('GET', '/api/v1/environments/staging', { token: b.viewer })).body.monitors).toEqual([]);
  });

  it('a monitor in ALARM blocks the execution with an error naming it', async () => {
    const { u, alarm } = await line(0, ['errors']);
    expect((await put(alarmEvent(alarm, 'ALARM'))).status).toBe(202);
    const before = await t.call('GET', '/api/v1/environments/staging', { token: u.viewer });
    const p = await t.call('POST', '/api/v1/promotions', { token: u.deployer, body: { sourceEnvironment: 'dev', targetEnvironment: 'staging' } });
    const done = await waitFor(t, u.viewer, p.body.id, ['FAILED', 'COMPLETED']);
    expect(done.status).toBe('FAILED');
    expect(done.error.message).toContain(`monitor '${alarm.split(':alarm:')[1]}' is in ALARM`);
    expect((await t.call('GET', '/api/v1/environments/staging', { token: u.viewer })).body.snapshot).toEqual(before.body.snapshot);
    // The decision record says why it was refused: blocked by the monitors, the alarm named with its reason.
    const record = await t.call('GET', `/api/v1/promotions/${p.body.id}/decision`, { token: u.viewer });
    expect(record.status).toBe(200);
    expect(record.body.outcome).toBe('BLOCKED_BY_MONITORS');
    expect(record.body.monitorBlock.alarms).toEqual([
      expect.objectContaining({ arn: alarm, name: alarm.split(':alarm:')[1], reason: expect.stringContaining('Threshold Crossed') }),
    ]);
    expect(done.monitorBlock.alarms.map((a: { name: string }) => a.name)).toEqual([alarm.split(':alarm:')[1]]);
    const audit = await t.call('GET', `/api/v1/audit?entityType=promotion&entityId=${p.body.id}`, { token: u.viewer });
    expect(audit.body.items.find((e: any) => e.action === 'promotion.monitors.block')?.reason).toContain('is in ALARM');
  });

  it('an alarm going to ALARM while a promotion bakes rolls it back (ROLLED_BACK, promotion.rolled_back to webhooks, counted as a rollback), with the alarm in the decision record and the audit trail; other alarms and tenants change nothing', async () => {
    const { u, alarm: mine } = await line(60, ['latency']);
    // A webhook subscriber to promotion.rolled_back (a real receiver).
    const hits: { type: string; data: { promotionId: string; status: string; reason?: string } }[] = [];
    const receiver = createHttpServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        hits.push(JSON.parse(body));
        res.writeHead(200).end('ok');
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', () => r()));
    const hook = await t.call('POST', '/api/v1/webhooks', {
      token: u.admin,
      body: { url: `http://127.0.0.1:${(receiver.address() as { port: number }).port}/hooks`, events: ['promotion.rolled_back'] },
    });
    expect(hook.status, JSON.stringify(hook.body)).toBe(201);
    // Another tenant monitors its own alarm.
    const { alarm: theirs } = await line(60, ['latency']);
    const before = await t.call('GET', '/api/v1/environments/staging', { token: u.viewer });
    const p = await t.call('POST', '/api/v1/promotions', { token: u.deployer, body: { sourceEnvironment: 'dev', targetEnvironment: 'staging' } });
    await waitFor(t, u.viewer, p.body.id, ['EXECUTING']);
    for (let i = 0; i < 50 && !(await t.call('GET', `/api/v1/promotions/${p.body.id}`, { token: u.viewer })).body.result; i++)
      await new Promise((r) => setTimeout(r, 100));
    // Unmonitored, another tenant's, not ALARM, malformed: nothing changes.
    for (const e of [alarmEvent(arn('nobody-watches'), 'ALARM'), alarmEvent(theirs, 'ALARM'), alarmEvent(mine, 'OK')]) expect((await put(e)).status).toBe(202);
    expect((await put({ source: 'aws.cloudwatch', 'detail-type': 'CloudWatch Alarm State Change', detail: {} })).status).toBe(400);
    expect((await t.call('GET', `/api/v1/promotions/${p.body.id}`, { token: u.viewer })).body.status).toBe('EXECUTING');

    expect((await put(alarmEvent(mine, 'ALARM', 'p99 > 800 ms'))).status).toBe(202);
    const done = await waitFor(t, u.viewer, p.body.id, ['FAILED', 'COMPLETED', 'ROLLED_BACK']);
    expect(done.status).toBe('ROLLED_BACK');
    expect(done.transitions.map((x: { status: string }) => x.status).slice(-2)).toEqual(['EXECUTING', 'ROLLED_BACK']);
    expect(done.error.message).toContain(`monitor '${mine.split(':alarm:')[1]}' went to ALARM`);
    expect(done.monitorAlarm).toEqual({ arn: mine, name: mine.split(':alarm:')[1], reason: 'p99 > 800 ms', at: '2026-11-23T10:00:00.000+0000' });
    const after = await t.call('GET', '/api/v1/environments/staging', { token: u.viewer });
    expect(after.body.snapshot.digest).toBe(before.body.snapshot.digest);
    expect(after.body.autoPromotionPaused).toBe(true);
    const record = await t.call('GET', `/api/v1/promotions/${p.body.id}/decision`, { token: u.viewer });
    expect(record.body.monitorAlarm).toMatchObject({ name: mine.split(':alarm:')[1], reason: 'p99 > 800 ms' });
    const audit = await t.call('GET', `/api/v1/audit?entityType=promotion&entityId=${p.body.id}`, { token: u.viewer });
    expect(audit.body.items.find((e: any) => e.action === 'promotion.alarm')?.reason).toContain('p99 > 800 ms');
    // Notified: the rollback leaves as the event the notifier, the webhooks and the metrics listen to (not as a failure).
    await t.stack.stream.idle();
    const events = t.stack.bus.published.filter((e) => e.detail.promotionId === p.body.id).map((e) => e['detail-type']);
    expect(events).toContain('Promotion Rolled Back');
    expect(events).not.toContain('Promotion Failed');
    // The subscriber to promotion.rolled_back hears of the automatic rollback, with the alarm as the reason.
    for (let i = 0; i < 100 && !hits.some((h) => h.data.promotionId === p.body.id); i++) await new Promise((r) => setTimeout(r, 50));
    receiver.close();
    expect(hits.find((h) => h.data.promotionId === p.body.id)).toMatchObject({
      type: 'promotion.rolled_back',
      data: { status: 'ROLLED_BACK', reason: expect.stringContaining('p99 > 800 ms') },
    });
    // Counted as a rollback of staging in the deployment metrics (its rollback rate).
    const day = new Date().toISOString().slice(0, 10);
    const m = await t.call('GET', `/api/v1/platform/metrics?environment=staging&from=${day}T00:00:00Z&period=day`, { token: u.viewer });
    expect(m.body.environments[0].total).toMatchObject({ rolledBack: 1, rollbackRate: 1, failed: 1 });
    // The line's status does not show it as what staging runs, but as how staging's last promotion ended.
    const status = await t.call('GET', '/api/v1/status?env=staging', { token: u.viewer });
    expect(status.body.environments[0].lastPromotion).toBeNull();
    expect(status.body.environments[0].lastOutcome).toMatchObject({ id: p.body.id, status: 'ROLLED_BACK', reason: expect.stringContaining('p99 > 800 ms') });
  });
});

// The AWS adapter against a CloudWatch-protocol server (moto), where one is installed.
const moto = await new Promise<boolean>((resolve) => {
  const c = spawn('moto_server', ['--help'], { stdio: 'ignore' });
  c.on('error', () => resolve(false));
  c.on('exit', (code) => resolve(code === 0));
});
describe.skipIf(!moto)('DescribeAlarms adapter (against moto_server)', () => {
  let server: ChildProcess;
  let endpoint: string;
  beforeAll(async () => {
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    server = spawn('moto_server', ['-p', String(port)], { stdio: 'ignore' });
    endpoint = `http://127.0.0.1:${port}`;
    for (let i = 0; i < 100; i++) {
      if (
        await fetch(endpoint).then(
          () => true,
          () => false,
        )
      )
        break;
      await new Promise((r) => setTimeout(r, 100));
    }
  });
  afterAll(() => server?.kill());

  it("reads each alarm by ARN in its own region (a target's alarms in eu-west-1), leaves out a missing one", async () => {
    const clientOf = (region: string) => new CloudWatchClient({ endpoint, region, credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
    const alarm = async (region: string, name: string, state: 'ALARM' | 'OK', reason: string) => {
      await clientOf(region).send(
        new PutMetricAlarmCommand({
          AlarmName: name,
          MetricName: 'Latency',
          Namespace: 'App',
          Statistic: 'Average',
          Period: 60,
          EvaluationPeriods: 1,
          Threshold: 5,
          ComparisonOperator: 'GreaterThanThreshold',
        }),
      );
      await clientOf(region).send(new SetAlarmStateCommand({ AlarmName: name, StateValue: state, StateReason: reason }));
    };
    await alarm('us-east-1', 'p99', 'ALARM', 'p99 > 800 ms');
    // The same name in another region is another alarm: each is read where it is.
    await alarm('eu-west-1', 'p99', 'OK', 'fine in Ireland');
    await alarm('eu-west-1', 'eu-5xx', 'ALARM', '5xx > 1%');
    const asked: string[] = [];
    const reader = new CloudWatchAlarms((region) => (asked.push(region), clientOf(region)));
    const states = await reader.states([
      arn('p99', 'us-east-1', '123456789012'),
      arn('gone', 'us-east-1', '123456789012'),
      arn('p99', 'eu-west-1', '123456789012'),
      arn('eu-5xx', 'eu-west-1', '123456789012'),
    ]);
    expect(states.map((x) => [x.arn, x.state, x.reason]).sort()).toEqual(
      [
        [arn('p99', 'us-east-1', '123456789012'), 'ALARM', 'p99 > 800 ms'],
        [arn('p99', 'eu-west-1', '123456789012'), 'OK', 'fine in Ireland'],
        [arn('eu-5xx', 'eu-west-1', '123456789012'), 'ALARM', '5xx > 1%'],
      ].sort(),
    );
    // One client per region, made once.
    await reader.states([arn('eu-5xx', 'eu-west-1', '123456789012')]);
    expect(asked.sort()).toEqual(['eu-west-1', 'us-east-1']);
  });

  it('monitors set by a manifest are watched as those set through the API: an alarm while baking rolls the promotion back', async () => {
    const tenant = t.tenant();
    const mine = arn(`${tenant}/manifest`);
    const u = await t.users(tenant);
    await makeLine(t, u.admin);
    const document = JSON.stringify({ artifacts: { promotion: { environment_settings: { staging: { bake_seconds: 60, monitors: [mine] } } } } });
    const applied = await t.call('POST', '/api/v1/manifest/apply', { token: u.admin, body: { document } });
    expect(applied.status, JSON.stringify(applied.body)).toBe(200);
    expect((await t.call('GET', '/api/v1/environments/staging', { token: u.viewer })).body.monitors).toEqual([mine]);
    await t.call('POST', '/api/v1/environments/dev/configs', { token: u.deployer, body: { key: 'feature.x', value: true } });
    const p = await t.call('POST', '/api/v1/promotions', { token: u.deployer, body: { sourceEnvironment: 'dev', targetEnvironment: 'staging' } });
    await waitFor(t, u.viewer, p.body.id, ['EXECUTING']);
    for (let i = 0; i < 50 && !(await t.call('GET', `/api/v1/promotions/${p.body.id}`, { token: u.viewer })).body.result; i++)
      await new Promise((r) => setTimeout(r, 100));
    expect((await put(alarmEvent(mine, 'ALARM', 'error rate'))).status).toBe(202);
    const done = await waitFor(t, u.viewer, p.body.id, ['FAILED', 'COMPLETED', 'ROLLED_BACK']);
    expect(done.status).toBe('ROLLED_BACK');
    expect(done.error.message).toContain(`monitor '${mine.split(':alarm:')[1]}' went to ALARM`);
  });
});
