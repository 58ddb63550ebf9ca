import { LocalWorkflow } from '../local/workflow.ts';
import { api, ctxOf, expectStatus } from '../local/measure/api.ts';
import { newInvocation } from '../local/measure/attribution.ts';
import { openHarness, finished, type Harness } from '../local/measure/harness.ts';
import { makeLine, usersOf } from '../local/measure/tenants.ts';
import { startDynamo } from '../local/dynamodb.ts';
import { putChangeControl } from '../domain/change/service.ts';
import { fireSchedule } from '../domain/promotion/step/fire.ts';
import { sealer } from '../functions/adapters/secret-box.ts';
import { startServiceNowStandin, type ServiceNowStandin } from '../test/support/servicenow-standin.ts';
import { table } from '../scripts/build.ts';
import { fmt, heading } from './common.ts';

/**
 * A change-controlled promotion (domain/promotion/run/change-hold.ts): staging → production under a ServiceNow change-control rule
 * (the Table API stand-in), gated, one approver, measured as the other flows are (the real handlers and ASL, every
 * DynamoDB request counted), beside the same promotion into production without change control. While it waits for
 * the change board the flow is parked: LOOKS looks of its schedule (schedule-fire) read the request and write the
 * promotion, and add no state transition. Goal: ≤ 4 transitions while waiting, however long the board takes.
 */

const LOOKS = 5;

interface Window {
  transitions: number;
  waitingTransitions: number;
  wru: number;
  lookWru: number;
  invocations: number;
}

async function flow(b: Harness, sn: ServiceNowStandin | null, tenant: string): Promise<Window> {
  const u = usersOf(tenant);
  await makeLine(b, u.admin);
  if (sn) {
    const deps = { ...b.deps, sealer: sealer(), tunables: { ...b.deps.tunables, allowLoopbackOutbound: true } };
    await putChangeControl(deps, ctxOf(u.admin), 'production', {
      provider: 'servicenow',
      instanceUrl: sn.url,
      credentials: { basic: { user: 'bench', password: 'bench' } },
    });
  }
  expectStatus(await api(b, u.deployer, 'POST', '/api/v1/environments/dev/configs', { key: 'checkout.queue', value: 'orders-v2' }, 'setup'), 201, 'config');
  const toStaging = await api(b, u.deployer, 'POST', '/api/v1/promotions', { sourceEnvironment: 'dev', targetEnvironment: 'staging' }, 'setup');
  expectStatus(toStaging, 201, 'dev → staging');
  await finished(b, tenant, String(toStaging.body.id), 'COMPLETED');
  await b.stream.idle();
  b.counter.reset();
  b.calls.length = 0;

  const created = await api(
    b,
    u.deployer,
    'POST',
    '/api/v1/promotions',
    { sourceEnvironment: 'staging', targetEnvironment: 'production', autoStart: false },
    'request',
  );
  expectStatus(created, 201, 'staging → production');
  const id = String(created.body.id);
  for (const [type, payload] of [
    ['test_results', { passed: 412, failed: 0, skipped: 3, suite: 'ci' }],
    ['security_scan', { critical: 0, high: 0, medium: 2, low: 5, scanner: 'trivy', signatureVerified: true }],
    ['cost_estimate', { monthlyDelta: 12.5, currency: 'USD', budget: 100 }],
  ] as const)
    expectStatus(await api(b, u.deployer, 'POST', `/api/v1/promotions/${id}/evidence`, { type, payload }, `evidence ${type}`), 201, type);
  expectStatus(await api(b, u.deployer, 'POST', `/api/v1/promotions/${id}/validate`, {}, 'validate'), 202, 'validate');
  await b.signals.wait(`${id}:decide`);
  expectStatus(await api(b, u.approver, 'POST', `/api/v1/promotions/${id}/approve`, { comment: 'lgtm' }, 'approve'), 200, 'approve');
  const execution = LocalWorkflow.executionId({ tenant, promotionId: id });
  let waitingTransitions = 0;
  let lookWru = 0;
  if (sn) {
    // Parked: held for its change request, its flow in the go task.
    for (let i = 0; i < 400; i++) {
      const p = await b.deps.store.getPromotion(tenant, id);
      if (p?.status === 'SCHEDULED' && p.taskToken) break;
      await new Promise((r) => setTimeout(r, 25));
    }
    waitingTransitions = b.workflow.transitions(execution);
    const look = async (label: string) => {
      const inv = newInvocation('schedule-fire', label, 'event');
      const t0 = performance.now();
      try {
        await b.attribution.run(inv, () => fireSchedule(b.deps, tenant, id));
      } finally {
        inv.ms = performance.now() - t0;
        b.calls.push(inv);
      }
      return inv.wru;
    };
    for (let i = 0; i < LOOKS; i++) lookWru += await look(`look ${i + 1}: not approved yet`);
    if (b.workflow.transitions(execution) !== waitingTransitions) throw new Error('bench: a look woke the flow');
    sn.approve(sn.byPromotion(id)[0]!.number);
    await look('look: approved');
  }
  await finished(b, tenant, id, 'COMPLETED');
  await b.stream.idle();
  return {
    transitions: b.workflow.transitions(execution),
    waitingTransitions,
    wru: b.calls.reduce((n, c) => n + c.wru, 0),
    lookWru: lookWru / (sn ? LOOKS : 1),
    invocations: b.calls.length,
  };
}

export async function benchChangeRequest(): Promise<{ controlled: Window; plain: Window }> {
  heading('A change-controlled promotion: staging → production waiting for its ServiceNow change request');
  const loopback = process.env.STAGELINE_ALLOW_LOOPBACK_OUTBOUND;
  // The stand-in listens on loopback, which only local mode may call (the outbound rules).
  process.env.STAGELINE_ALLOW_LOOPBACK_OUTBOUND = 'true';
  const dynamo = await startDynamo({});
  const sn = await startServiceNowStandin({ user: 'bench', password: 'bench' });
  try {
    const { b, close } = await openHarness(dynamo.endpoint);
    try {
      await flow(b, sn, 'cr-warmup');
      const controlled = await flow(b, sn, 'cr-cost');
      const plain = await flow(b, null, 'cr-plain');
      console.log(
        table(
          ['promotion', 'transitions', 'while waiting', 'WRU', `WRU per look (${LOOKS} looks)`, 'invocations'],
          [
            ['without change control', plain.transitions, '-', fmt(plain.wru, 0), '-', plain.invocations],
            [
              'change-controlled',
              controlled.transitions,
              controlled.waitingTransitions,
              fmt(controlled.wru, 0),
              fmt(controlled.lookWru, 1),
              controlled.invocations,
            ],
          ],
        ),
      );
      console.log(
        `goal: ≤ 4 transitions while waiting, however long the board takes: ${controlled.waitingTransitions <= 4 ? 'met' : 'NOT met'} ` +
          `(${controlled.waitingTransitions}, unchanged by ${LOOKS} looks); a change-controlled promotion costs ${controlled.transitions - plain.transitions} transition(s) and ` +
          `${fmt(controlled.wru - plain.wru, 0)} WRU more than an ordinary one with ${LOOKS} looks (each look ${fmt(controlled.lookWru, 1)} WRU: the promotion's state as read).`,
      );
      return { controlled, plain };
    } finally {
      await close();
    }
  } finally {
    await sn.stop();
    await dynamo.stop();
    if (loopback === undefined) delete process.env.STAGELINE_ALLOW_LOOPBACK_OUTBOUND;
    else process.env.STAGELINE_ALLOW_LOOPBACK_OUTBOUND = loopback;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await benchChangeRequest();
