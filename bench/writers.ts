import { performance } from 'node:perf_hooks';
import { fmt, heading, quantile } from './common.ts';
import { table } from '../scripts/build.ts';
import { startDynamo } from '../local/dynamodb.ts';
import { startLocalStack, type LocalStack } from '../local/stack.ts';

/**
 * Concurrent writers through the local gateway (the real handlers, DynamoDB Local, the stream
 * consumer running beside them), and the notification path: time from a state change to the
 * notification leaving, events and notifier invocations per promotion.
 */
const WRITERS = [1, 5, 20, 50];
const WRITES_PER_WRITER = 4;

type Shape = 'one environment' | '5 environments, one tenant' | '5 tenants';

async function users(stack: LocalStack, tenant: string) {
  const sign = (name: string, groups: string[]) => stack.issuer.sign({ sub: `${name}-${tenant}`, email: `${name}@${tenant}.bench`, tenant, groups });
  return {
    admin: await sign('admin', ['admin']),
    deployer: await sign('deployer', ['deployer']),
    viewer: await sign('viewer', ['viewer']),
    approver: await sign('approver', ['approver']),
  };
}

async function call(stack: LocalStack, method: string, path: string, token: string, body?: unknown): Promise<{ status: number; body: any }> {
  const r = await fetch(stack.gateway.url + path, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : undefined };
}

async function line(stack: LocalStack, token: string, names: string[]) {
  for (const [position, name] of names.entries()) await call(stack, 'POST', '/api/v1/environments', token, { name, position });
}

async function writerRound(stack: LocalStack, shape: Shape, writers: number, round: number) {
  // Fresh tenants per round, so earlier rounds' history does not weigh on later ones.
  const tenants = shape === '5 tenants' ? [0, 1, 2, 3, 4].map((i) => `w${round}t${i}`) : [`w${round}t0`];
  const tokens = new Map<string, string>();
  for (const t of tenants) {
    const u = await users(stack, t);
    tokens.set(t, u.deployer);
    await line(stack, u.admin, ['e0', 'e1', 'e2', 'e3', 'e4', 'last']);
  }
  const latencies: number[] = [];
  let ok = 0;
  let failed = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: writers }, async (_, w) => {
      const tenant = tenants[w % tenants.length]!;
      const env = shape === 'one environment' ? 'e0' : shape === '5 environments, one tenant' ? `e${w % 5}` : 'e0';
      for (let i = 0; i < WRITES_PER_WRITER; i++) {
        const s = performance.now();
        const r = await call(stack, 'POST', `/api/v1/environments/${env}/configs`, tokens.get(tenant)!, { key: `k${w}-${i}`, value: i });
        latencies.push(performance.now() - s);
        if (r.status === 201) ok++;
        else failed++;
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  return { ok, failed, perSecond: ok / seconds, p50: quantile(latencies, 0.5), p99: quantile(latencies, 0.99) };
}

async function notificationsFigures(stack: LocalStack) {
  const tenant = 'notify';
  const u = await users(stack, tenant);
  await line(stack, u.admin, ['dev', 'staging', 'production']);
  await call(stack, 'PUT', '/api/v1/notifications', u.admin, {
    slack: { webhook: `${stack.gateway.url}/dev/slack/bench`, channels: ['#ops'] },
    email: { recipients: ['ops@notify.bench'], approvers: true },
  });
  const N = 10;
  const leave: number[] = [];
  let events = 0;
  let notifyEvents = 0;
  let deliveries = 0;
  for (let i = 0; i < N; i++) {
    await call(stack, 'POST', '/api/v1/environments/staging/configs', u.admin, { key: `k${i}`, value: i });
    const p = await call(stack, 'POST', '/api/v1/promotions', u.deployer, { sourceEnvironment: 'staging', targetEnvironment: 'production' });
    const id = p.body.id as string;
    // Waiting for approval: the Approval Required notifications leave; then approve and let it complete.
    let waiting: any;
    for (let k = 0; k < 400; k++) {
      waiting = (await call(stack, 'GET', `/api/v1/promotions/${id}`, u.viewer)).body;
      if (waiting.notifications?.some((n: any) => n.kind === 'approval-required')) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    const changedAt = Date.parse(waiting.transitions.find((x: any) => x.status === 'AWAITING_APPROVAL').at);
    for (const n of waiting.notifications.filter((x: any) => x.kind === 'approval-required')) leave.push(Date.parse(n.at) - changedAt);
    await call(stack, 'POST', `/api/v1/promotions/${id}/approve`, u.approver, {});
    for (let k = 0; k < 400; k++) {
      const cur = (await call(stack, 'GET', `/api/v1/promotions/${id}`, u.viewer)).body;
      if (cur.status === 'COMPLETED' && cur.notifications.some((n: any) => n.kind === 'completed')) {
        deliveries += cur.notifications.length;
        break;
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    await stack.stream.idle();
    const published = stack.bus.published.filter((e) => e.detail.promotionId === id);
    events += published.length;
    notifyEvents += published.filter((e) => ['Approval Required', 'Promotion Approved', 'Promotion Completed'].includes(e['detail-type'])).length;
  }
  return { N, leave, eventsPer: events / N, notifierInvocationsPer: notifyEvents / N, deliveriesPer: deliveries / N };
}

export async function benchWriters(): Promise<{ fiftyOneEnv: { success: number; perSecond: number }; notificationsUsdPer1000: number; sesUsdPer1000: number }> {
  heading('Concurrent writers (through the gateway; the stream consumer links the audit chain beside them) and notifications');
  const dynamo = await startDynamo({});
  const stack = await startLocalStack({ dynamoEndpoint: dynamo.endpoint, tableName: `bench-writers-${Date.now().toString(36)}` });
  const logOn = stack.configure({ STAGELINE_ACCESS_LOG: 'off' });
  try {
    const rows: string[][] = [];
    let fifty = { success: 0, perSecond: 0 };
    let round = 0;
    for (const shape of ['one environment', '5 environments, one tenant', '5 tenants'] as Shape[]) {
      for (const writers of WRITERS) {
        const r = await writerRound(stack, shape, writers, round++);
        rows.push([shape, String(writers), `${fmt((100 * r.ok) / (r.ok + r.failed))}%`, fmt(r.perSecond), fmt(r.p50), fmt(r.p99)]);
        if (shape === 'one environment' && writers === 50) fifty = { success: (100 * r.ok) / (r.ok + r.failed), perSecond: r.perSecond };
      }
    }
    console.log(table(['writers on', 'writers', 'success', 'writes/s', 'p50 ms', 'p99 ms'], rows));
    console.log(
      `Each writer sends ${WRITES_PER_WRITER} config writes (one snapshot each). Goal: 100% at every level; writes to one environment serialise on its head by design.`,
    );
    await stack.stream.idle();

    const n = await notificationsFigures(stack);
    const sorted = [...n.leave].sort((a, b) => a - b);
    console.log(`\nNotifications (${n.N} promotions needing one approval; Slack + ops + eligible approvers by email):`);
    console.log(
      table(
        ['figure', 'value'],
        [
          ['state change → notification sent, p50 ms', fmt(quantile(sorted, 0.5))],
          ['state change → notification sent, max ms', fmt(sorted.at(-1) ?? 0)],
          ['events per promotion (outbox → bus)', fmt(n.eventsPer)],
          ['notifier invocations per promotion', fmt(n.notifierInvocationsPer)],
          ['deliveries per promotion (Slack + emails)', fmt(n.deliveriesPer)],
        ],
      ),
    );
    // us-east-1 list prices: Lambda $0.20/M requests + $0.0000166667/GB-s (128 MB, ~200 ms each), EventBridge $1/M
    // events, SES $0.10/1,000 emails, DynamoDB on-demand $0.625/M WRU (the promotion cost's price; one delivery record +
    // once-claim each: 2 WRU).
    const emails = Math.max(0, n.deliveriesPer - n.notifierInvocationsPer); // one Slack post per event, the rest are emails
    const lambda = n.notifierInvocationsPer * (0.2e-6 + 0.0000166667 * 0.125 * 0.2);
    const platform = lambda + n.eventsPer * 1e-6 + n.deliveriesPer * 2 * 0.625e-6;
    const perPromotion = platform + emails * 0.0001;
    console.log(
      `Notifications add ≈ $${(perPromotion * 1000).toFixed(3)} per 1,000 promotions: $${(emails * 0.1).toFixed(3)} is SES (${fmt(emails)} emails/promotion, $0.10 per 1,000, ` +
        `the recipients this tenant chose), $${(platform * 1000).toFixed(3)} the notifier Lambda, events and delivery records (a Slack-only tenant pays about that).`,
    );
    return { fiftyOneEnv: fifty, notificationsUsdPer1000: perPromotion * 1000, sesUsdPer1000: emails * 0.1 };
  } finally {
    logOn();
    await stack.stop();
    await dynamo.stop();
  }
}
