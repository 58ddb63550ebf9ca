import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { handler as promotionStep } from '../functions/handlers/promotion-step.ts';
import { deps, resetDeps, type AllDeps } from '../functions/http/deps.ts';
import type { Deps } from '../domain/ports.ts';
import { ChangeToolsAdapter } from '../functions/adapters/change/providers.ts';
import { HttpGateProvider } from '../functions/adapters/webhook-gates.ts';
import { ConfiguredRegistrySync } from '../functions/adapters/registry-credentials.ts';
import { IsomorphicGitWriter } from '../functions/adapters/git-writer.ts';
import { secretsFromEnv } from '../functions/adapters/secrets.ts';
import { CloudWatchAlarms } from '../functions/adapters/cloudwatch-alarms.ts';
import { GuardedHealthProbe } from '../functions/adapters/health-probe.ts';
import { ProviderMetrics } from '../functions/adapters/metrics/index.ts';
import { GuardedGitOpsStatus } from '../functions/adapters/gitops-status.ts';
import { type BusDelivery, LocalEventBus } from './event-bus.ts';
import { LocalWorkflow, localMachineArn, WAVE_MACHINE } from './workflow.ts';
import { LocalScheduler } from './scheduler.ts';
import { LocalClock } from './clock.ts';
import { handler as scheduleFire } from '../functions/handlers/schedule-fire.ts';
import { handler as autoPromote } from '../functions/handlers/auto-promote.ts';
import { AUTO_PROMOTION_TRIGGERS, EVENT_SOURCE } from '../domain/kernel/events.ts';
import { ensureTable, startDynamo, type LocalDynamo } from './dynamodb.ts';
import { resetSecretBox, sealer } from '../functions/adapters/secret-box.ts';
import { startGateway, type Gateway, type LocalIamCredential } from './gateway.ts';
import { LocalIssuer } from './issuer.ts';
import { localOAuth } from './oauth.ts';
import { registerJwtVerifier } from '../functions/http/app-read.ts';
import { FileAnchor } from './file-anchor.ts';
import { LocalStreamPoller } from './stream.ts';
import { handler as streamConsumer } from '../functions/handlers/stream.ts';
import { AUDIT_DRAIN_MINUTES, handler as auditShipper, SHIP_FILTER } from '../functions/handlers/audit-ship.ts';
import { auditSenders } from '../functions/adapters/siem/senders.ts';
import { tmpdir } from 'node:os';
import { LocalOutbox } from './outbox.ts';
import { LocalDirectory } from './directory.ts';
import { localIdentityProviders } from '../functions/adapters/federation.ts';
import { DeploymentHostCalls } from '../functions/adapters/deployment-hosts.ts';
import { CiRunCalls } from '../functions/adapters/ci-runs.ts';
import { handler as notifier } from '../functions/handlers/notifier.ts';
import { NOTIFY_ON } from '../domain/notify/notifier.ts';
import { postToSealedSlack, postToSealedTeams } from '../functions/adapters/channels.ts';
import { localWebhooks } from './webhooks.ts';
import { handler as alarmState } from '../functions/handlers/alarm-state.ts';
import { handler as waveStatus } from '../functions/handlers/wave-status.ts';
import { CAUGHT_STATUSES } from '#domain/promotion/rollout/wave-run';
import { LocalAlarms, LOCAL_AWS_EVENTS, LOCAL_ECR_EVENTS, putAwsEvent } from './alarms.ts';
import { handler as registryPush } from '../functions/handlers/registry-push.ts';
import { setVerbose } from './terminal.ts';
import * as env from '../functions/configuration.ts';
import { localDefaults, overrideConfig, type ConfigValues } from '../functions/configuration-overrides.ts';
import { toFaultPlan, type FaultPlan, type FaultPlanSpec } from './faults.ts';
import { faultyDelivery, faultyDynamo, faultyOutbound, faultyStep } from './fault-seams.ts';
import { setSeams } from '../functions/adapters/seams.ts';
import { crashGateDynamo, crashGateOutbound, Epoch, gateDeps, inEpoch } from './crash.ts';

/**
 * The whole local stack in one process: DynamoDB Local, the table, the token
 * issuer and the gateway serving the real handlers. `npm start` and the
 * integration tests both use it.
 */
export interface LocalStack {
  gateway: Gateway;
  dynamo: LocalDynamo;
  issuer: LocalIssuer;
  iam: LocalIamCredential[];
  tableName: string;
  workflow: LocalWorkflow;
  bus: LocalEventBus;
  scheduler: LocalScheduler;
  /** the outbound webhooks' retries and redeliveries (a scheduler of their own, as on AWS) */
  webhookRetries: LocalScheduler;
  /**
   * The stack's clock (local/clock.ts): what the handlers read as the time, what the scheduler fires schedules
   * by and what the workflow's Wait states wait for. A test moves it forward (`clock.advance(3600_000)`) instead
   * of waiting on the wall: a soak, a freeze window's end or a re-check minutes away comes at once.
   */
  clock: LocalClock;
  /** the table's stream consumer (audit chain + event outbox); `idle()` waits until it caught up */
  stream: LocalStreamPoller;
  /** the audit stream's shipper, a second mapping of the same stream (the chain head's moves); `idle()` waits until it shipped what it could */
  auditStream: LocalStreamPoller;
  /** what the notifier sent: the mail catcher and the Slack webhook stand-in (/dev/outbox) */
  outbox: LocalOutbox;
  directory: LocalDirectory;
  /** the signing secret of this deployment's Slack app (generated; what Slack would sign requests with) */
  slackSigningSecret: string;
  /**
   * Changes configuration values (functions/configuration.ts) the stack's functions read, at once, until
   * the returned function undoes it: how a test runs requests as a deployed stack would
   * (`{ STAGELINE_ALLOW_LOOPBACK_OUTBOUND: 'false' }`) or with a shorter deadline. Nothing is written to
   * the process's environment.
   */
  configure(values: ConfigValues): () => void;
  /** the fault plan this stack applies at its seams (local/faults.ts), when one was given */
  faults?: FaultPlan;
  /**
   * Crashes the stack (`crashable` stacks; local/crash.ts): its memory is dropped at once and none of its work has an
   * effect afterwards; DynamoDB Local is SIGKILLed (its -dbPath stays). A new stack on the same dataDir takes over.
   * `atTheCrash` runs once the stack's work is cut off and before DynamoDB Local is killed: the table as the crash left it.
   */
  crash(atTheCrash?: () => Promise<void>): Promise<void>;
  stop(): Promise<void>;
}

export interface LocalStackOptions {
  /** keep data and keys here; omit for an in-memory stack (tests) */
  dataDir?: string;
  port?: number;
  dynamoPort?: number;
  tableName?: string;
  /** reuse a running DynamoDB Local (tests share one) */
  dynamoEndpoint?: string;
  /** where the local Step Functions keep their executions (defaults to dataDir/executions.json) */
  journalFile?: string;
  /** shrinks Retry intervals of the state machine (tests) */
  timeScale?: number;
  /** the folder of state machine definitions new executions start on (statemachines/; a chaos run's `--upgrade`: the previous release's) */
  statemachines?: string;
  /** false until the caller finished its own set-up (npm start: demo seed + tokens); the gateway answers 503 meanwhile */
  ready?: () => boolean;
  /** fault injection for tests: runs before each state-machine task */
  beforeStep?: (payload: unknown) => Promise<void> | void;
  /**
   * The fault plan (local/faults.ts) applied at the seams the cloud has: step tasks, the stream, the bus, the
   * functions' DynamoDB client and outbound calls. Omitted: STAGELINE_FAULTS, if set; else none.
   */
  faults?: FaultPlan | FaultPlanSpec;
  /** false: do not consume the table's stream (tests of a crash before the relay) */
  stream?: boolean;
  /** first webhook retry delay in ms (5 s; tests shrink it) */
  webhookRetryBaseMs?: number;
  /** how often the audit shipper drains what its destinations' outages left, ms (AUDIT_DRAIN_MINUTES, as on AWS; tests shrink it) */
  auditDrainMs?: number;
  /** configuration values (functions/configuration.ts) the stack's functions read instead of the environment's, e.g. `{ STAGELINE_SWEEP_GRACE_SECONDS: '4' }` (undone by stop) */
  config?: ConfigValues;
  /**
   * true: the access log, the EMF metric documents and full stack traces, as the functions write them on AWS
   * (`npm start -- --verbose`). Default: warnings and errors only, one line each (local/terminal.ts).
   */
  verbose?: boolean;
  /** true: the stack's work is cut off from every effect by `crash()` (a chaos run's crashes: local/crash.ts) */
  crashable?: boolean;
  /** deliveries a crashed stack's bus had accepted and not done (its `bus.inFlight()`): this stack's bus delivers them */
  busDeliveries?: readonly BusDelivery[];
}

export const PIPELINE_ARN = 'arn:aws:iam::000000000000:role/stageline-pipeline';

function localIam(dataDir?: string): LocalIamCredential[] {
  const file = dataDir ? join(dataDir, 'iam.json') : undefined;
  if (file && existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as LocalIamCredential[];
  const creds = [
    { accessKeyId: `AKIALOCAL${randomBytes(6).toString('hex').toUpperCase()}`, secretAccessKey: randomBytes(20).toString('base64url'), arn: PIPELINE_ARN },
  ];
  if (file) writeFileSync(file, JSON.stringify(creds), { mode: 0o600 });
  return creds;
}

function localSecretsKey(dataDir?: string): string {
  const file = dataDir ? join(dataDir, 'secrets.key') : undefined;
  if (file && existsSync(file)) return readFileSync(file, 'utf8').trim();
  const key = randomBytes(32).toString('base64');
  if (file) writeFileSync(file, key, { mode: 0o600 });
  return key;
}

/**
 * The local deployment's Slack app signing secret: deployment configuration, like the keys above
 * (kept in the data folder, 0600; per process in tests). On AWS it is a Secrets Manager secret.
 */
function localSlackSecret(dataDir?: string): string {
  const file = dataDir ? join(dataDir, 'slack-signing-secret') : undefined;
  if (file && existsSync(file)) return readFileSync(file, 'utf8').trim();
  const secret = randomBytes(16).toString('hex');
  if (file) writeFileSync(file, secret, { mode: 0o600 });
  return secret;
}

export async function startLocalStack(opts: LocalStackOptions = {}): Promise<LocalStack> {
  // Everything the stack starts (requests, tasks, timers, deliveries) runs in its epoch: a crash knows its work by it.
  const epoch = new Epoch();
  return inEpoch(epoch, () => start(opts, epoch));
}

async function start(opts: LocalStackOptions, epoch: Epoch): Promise<LocalStack> {
  setVerbose(opts.verbose ?? false);
  if (opts.dataDir) mkdirSync(opts.dataDir, { recursive: true });
  const tableName = opts.tableName ?? 'stageline';
  const dynamo: LocalDynamo = opts.dynamoEndpoint
    ? { endpoint: opts.dynamoEndpoint, port: Number(new URL(opts.dynamoEndpoint).port), stop: async () => {} }
    : await startDynamo({ port: opts.dynamoPort, dataDir: opts.dataDir ? join(opts.dataDir, 'dynamodb') : undefined });
  await ensureTable(dynamo.endpoint, tableName);
  // The same handlers find this table through the configuration (functions/configuration.ts), as they find
  // the stack's TABLE_NAME on AWS: handed over, never written to the process's environment.
  overrideConfig({ TABLE_NAME: tableName, DYNAMODB_ENDPOINT: dynamo.endpoint });
  const undoConfig = overrideConfig(opts.config ?? {});
  const iam = localIam(opts.dataDir);
  // Local mode: what `npm start` and the tests run with where the environment sets nothing else.
  localDefaults({
    // Webhook gates, registries and Slack stand-ins run on this machine's loopback. The CDK stack never
    // sets this (an infra test asserts it); private and metadata ranges stay refused.
    STAGELINE_ALLOW_LOOPBACK_OUTBOUND: 'true',
    // Webhook secrets are sealed with a key kept outside the table (data folder, 0600; per process in tests).
    STAGELINE_SECRETS_KEY: env.STAGELINE_SECRETS_KEY() ?? localSecretsKey(opts.dataDir),
    // One Slack app per deployment: its signing secret verifies /api/v1/slack/* (functions/adapters/slack-app.ts).
    STAGELINE_SLACK_SIGNING_SECRET: env.STAGELINE_SLACK_SIGNING_SECRET() ?? localSlackSecret(opts.dataDir),
    // The pipeline credential is bound to the demo tenant, as MACHINE_PRINCIPALS does on AWS.
    MACHINE_PRINCIPALS: JSON.stringify([{ arn: PIPELINE_ARN, tenant: 'acme', roles: ['deployer'], name: 'pipeline' }]),
    // Monitors must be alarms of this deployment's account and region: locally, the account the local
    // credentials use and a fixed region (the ARNs in README and tests use them).
    DEPLOYMENT_ACCOUNT: '000000000000',
    DEPLOYMENT_REGION: 'us-east-1',
  });
  resetSecretBox();
  resetDeps();
  const faults = toFaultPlan(opts.faults);
  // The fault plan's seams in the adapters (every DynamoDB client the functions make, every outbound call):
  // set before the first client is made, undone by stop().
  const undoSeams = opts.crashable
    ? setSeams({
        dynamoClient: (c) => (crashGateDynamo(c), faults && faultyDynamo(faults)(c)),
        outbound: crashGateOutbound(faults && faultyOutbound(faults)),
      })
    : faults
      ? setSeams({ dynamoClient: faultyDynamo(faults), outbound: faultyOutbound(faults) })
      : () => {};
  const base = deps();
  // The domain's time, the scheduler's and the workflow's Waits: one clock a test can move (refused in a Lambda).
  const clock = new LocalClock();
  // Same handlers, same ASL: the step Lambda's handler runs the state machine's tasks in-process.
  const runStep = async (payload: unknown) => {
    await opts.beforeStep?.(payload);
    return promotionStep(payload);
  };
  const workflow = new LocalWorkflow({
    invokeStep: faults ? faultyStep(faults, runStep) : runStep,
    journalFile: opts.journalFile ?? (opts.dataDir ? join(opts.dataDir, 'executions.json') : undefined),
    statemachines: opts.statemachines,
    timeScale: opts.timeScale,
    clock,
    // Every execution's end on the local bus, as Step Functions sends it to EventBridge's default bus.
    onStatusChange: (detail) =>
      void bus.put({
        source: 'aws.states',
        'detail-type': 'Step Functions Execution Status Change',
        detail: { ...detail },
        time: clock.date().toISOString(),
      }),
  });
  const busRetryMs = opts.timeScale ? Math.max(20, 60_000 * opts.timeScale) : 1000;
  const bus = new LocalEventBus(faults ? faultyDelivery(faults, 'bus.twice', 'bus.late') : (run) => run(), busRetryMs);
  // The same rule CDK deploys: auto-promotion is evaluated when its inputs change.
  bus.addRule({ source: [EVENT_SOURCE], 'detail-type': [...AUTO_PROMOTION_TRIGGERS] }, async (e) => {
    await autoPromote(e);
  });
  // Schedules fire the same schedule-fire handler EventBridge Scheduler invokes on AWS.
  const scheduler = new LocalScheduler({
    fire: (payload) => scheduleFire(payload),
    file: opts.journalFile ? opts.journalFile.replace(/\.json$/, '') + '.schedules.json' : opts.dataDir ? join(opts.dataDir, 'schedules.json') : undefined,
    retryDelayMs: opts.timeScale ? Math.max(20, 1000 * opts.timeScale) : 1000,
    clock,
  });
  // Notifications: the same notifier behind the same bus rule; email goes to the local mail catcher,
  // Slack to whatever webhook the tenant configured (the demo: the gateway's /dev/slack stand-in).
  bus.addRule({ source: [EVENT_SOURCE], 'detail-type': [...NOTIFY_ON] }, async (e) => {
    await notifier(e);
  });
  // Monitors: CloudWatch alarm state changes put on the local bus (POST /dev/events) drive the same
  // handler the default bus's rule invokes on AWS; the pre-check reads a CloudWatch-protocol server
  // when CLOUDWATCH_ENDPOINT names one, else the stand-in that remembers those events.
  const alarms = new LocalAlarms();
  bus.addRule(LOCAL_AWS_EVENTS, async (e) => {
    alarms.observe(e);
    await alarmState(e);
  });
  // A wave's child execution that failed, timed out or was stopped: the same rule CDK deploys answers its parent's token.
  bus.addRule(
    {
      source: ['aws.states'],
      'detail-type': ['Step Functions Execution Status Change'],
      detail: { status: [...CAUGHT_STATUSES], stateMachineArn: [localMachineArn(WAVE_MACHINE)] },
    },
    async (e) => {
      await waveStatus(e);
    },
  );
  // Discovery: ECR pushes put on the local bus drive the handler the default bus's rule invokes on AWS.
  bus.addRule(LOCAL_ECR_EVENTS, async (e) => {
    await registryPush(e);
  });
  const outbox = new LocalOutbox(opts.dataDir ? join(opts.dataDir, 'outbox.jsonl') : undefined);
  const directory = new LocalDirectory(opts.dataDir ? join(opts.dataDir, 'directory.json') : undefined);
  // The audit anchor: a P-256 signing key and an append-only checkpoint file outside the table
  // (audit.key: the HMAC key of checkpoints made before they were signed; only read to extend such a chain).
  const anchorDir = opts.dataDir ?? join(tmpdir(), `stageline-${tableName}`);
  mkdirSync(anchorDir, { recursive: true });
  const anchor = new FileAnchor(join(anchorDir, 'audit-signing-key.pem'), join(anchorDir, 'audit-checkpoints.jsonl'));
  // Outbound webhooks: the same delivery function behind the same bus rule, its retries on a local scheduler.
  const webhooks = localWebhooks({
    bus,
    endpoint: dynamo.endpoint,
    tableName,
    dataDir: opts.dataDir,
    journalFile: opts.journalFile,
    retryBaseMs: opts.webhookRetryBaseMs,
  });
  // Every adapter of every function, composed once for this one process (each Lambda's entry composes only its own: functions/http/deps.ts).
  const local: AllDeps = {
    ...base,
    clock: () => clock.date(),
    workflow,
    events: bus,
    scheduler,
    anchor,
    directory,
    users: directory,
    // No user pool locally: a connection is checked (through the outbound rules) and stored; the local issuer federates to it (local/federation.ts).
    identityProviders: localIdentityProviders,
    channels: { slack: postToSealedSlack, teams: postToSealedTeams, email: outbox.email },
    // Seals what a write is given (environments, manifests, notification settings), as those functions compose it.
    sealer: sealer(),
    // The audit stream's senders (Splunk HEC, OTLP), opening the destinations' sealed secrets, as the shipper composes them.
    auditSenders: auditSenders(),
    webhooks: webhooks.deps,
    // Outbound calls to tenant URLs (webhook gates, registries) and git targets: the real adapters, as the promotion step composes them.
    gates: new HttpGateProvider(),
    // Change-controlled environments' tools (ServiceNow): the real adapters, through the outbound rules.
    changes: new ChangeToolsAdapter(),
    registry: new ConfiguredRegistrySync(),
    git: new IsomorphicGitWriter(),
    // The answers to gated deploy jobs (GitHub reviews with Apps' installation tokens, GitLab approvals), through the outbound rules.
    deploymentHosts: new DeploymentHostCalls(),
    // CI gates' runs (GitHub Actions workflows, GitLab pipelines), through the outbound rules.
    ciRuns: new CiRunCalls(),
    probe: new GuardedHealthProbe(),
    gitopsStatus: new GuardedGitOpsStatus(),
    // `${NAME}` secrets of a manifest (STAGELINE_SECRET_<TENANT>__<PURPOSE>__<NAME>), as the manifest-apply function resolves them.
    secrets: secretsFromEnv(),
    alarms: env.CLOUDWATCH_ENDPOINT() ? new CloudWatchAlarms() : alarms,
    // Analysis templates' metric providers (Prometheus, CloudWatch, Datadog, web) with the tenants' `metrics` secrets.
    metrics: new ProviderMetrics(secretsFromEnv()),
  };
  resetDeps(opts.crashable ? gateDeps(local) : local);
  // The table's one stream consumer, as the event source mapping runs it on AWS.
  const stream = new LocalStreamPoller({
    endpoint: dynamo.endpoint,
    tableName,
    handler: faults
      ? (e) => {
          const deliver = faultyDelivery(faults, 'stream.twice', 'stream.late');
          const first = (e.Records[0]?.dynamodb?.NewImage as { pk?: { S?: string } } | undefined)?.pk?.S;
          return deliver(() => streamConsumer(e), `stream batch of ${e.Records.length}${first ? ` from ${first}` : ''}`);
        }
      : (e) => streamConsumer(e),
    positionFile: opts.dataDir ? join(opts.dataDir, 'stream-positions.json') : undefined,
  });
  if (opts.stream !== false) stream.start();
  // The audit stream's shipper: its own mapping of the stream (the chain head's moves), as on AWS, so a slow SIEM never delays the consumer.
  const auditStream = new LocalStreamPoller({
    endpoint: dynamo.endpoint,
    tableName,
    handler: (e) => auditShipper(e),
    filter: SHIP_FILTER,
    // The drain, as the stack's schedule invokes the shipper on AWS: what an outage left is shipped with no new entry.
    tick: () => auditShipper({ drain: true }),
    tickMs: opts.auditDrainMs ?? AUDIT_DRAIN_MINUTES * 60_000,
    positionFile: opts.dataDir ? join(opts.dataDir, 'audit-stream-positions.json') : undefined,
  });
  if (opts.stream !== false) auditStream.start();
  workflow.resume();
  scheduler.resume();
  webhooks.scheduler.resume();
  const issuer = await LocalIssuer.create({ file: opts.dataDir ? join(opts.dataDir, 'issuer.json') : undefined });
  // Routes that authenticate in the handler (app-key reads) verify people's tokens with this issuer, as with Cognito on AWS.
  registerJwtVerifier(async (token) => (await issuer.verify(token)) as Record<string, unknown>);
  // The issuer is the identity provider: whoever it signs a token for is in the directory.
  issuer.onSign = (u) => directory.add(u);
  // A federated user's groups are what the tenant's group mapping makes of their IdP groups, as the pre-token trigger does on AWS.
  issuer.groupMapping = async (tenant) => (await local.store.getGroupMapping(tenant))?.entries ?? [];
  // Cognito's managed login, locally: authorization code + PKCE, choosing a directory user.
  const oauth = localOAuth(issuer, directory, { store: local.store, secrets: local.secrets!, clock: local.clock });
  const gateway = await startGateway({
    port: opts.port,
    issuer,
    iam,
    ready: opts.ready,
    // The seed's notification goes to the Slack stand-in while npm start is still seeding (not ready).
    servesBeforeReady: (path) => path.startsWith('/dev/slack/'),
    extra: async (method, url, body, headers) => {
      // The local stand-ins act (a forged alarm, a registry push, a Slack message, a token): a web page
      // of another origin may not make a browser POST to them; curl and tools send no Origin.
      // The SAML assertion consumer service is the exception: the IdP's page posts to it by design (HTTP-POST
      // binding), and what it takes is a signed Response answering a request this stack sent, once.
      if (method !== 'GET' && url.pathname.startsWith('/dev/') && url.pathname !== '/dev/saml2/idpresponse' && crossSite(headers)) {
        return {
          status: 403,
          type: 'application/json',
          body: JSON.stringify({ message: 'Forbidden: /dev/ stand-ins take requests from this origin or from tools, not from other web pages' }),
        };
      }
      return (
        (await oauth(method, url, body, headers.host)) ??
        (await putAwsEvent(bus, method, url, body)) ??
        (await localSignIn(method, url, body, directory, issuer)) ??
        outbox.handle(method, url, body)
      );
    },
  });
  // Review links in notifications point at this gateway.
  local.publicUrl = gateway.url;
  // What EventBridge had accepted from a crashed stack is delivered still, by this one's rules (once its gateway is up).
  bus.resume(opts.busDeliveries ?? []);
  return {
    gateway,
    dynamo,
    issuer,
    iam,
    tableName,
    workflow,
    bus,
    scheduler,
    webhookRetries: webhooks.scheduler,
    clock,
    stream,
    auditStream,
    outbox,
    directory,
    slackSigningSecret: env.STAGELINE_SLACK_SIGNING_SECRET()!,
    configure: (values) => overrideConfig(values),
    faults,
    async crash(atTheCrash) {
      epoch.crashed = true;
      undoConfig();
      undoSeams();
      for (const s of [scheduler, webhooks.scheduler, stream, auditStream]) s.halt();
      // Its runs aborted at once, nothing waited for (their journal writes are its epoch's: refused).
      void workflow.stop().catch(() => undefined);
      await atTheCrash?.();
      await gateway.close();
      await dynamo.kill?.();
    },
    async stop() {
      undoConfig();
      undoSeams();
      scheduler.stop();
      webhooks.scheduler.stop();
      await workflow.stop();
      await stream.stop();
      await auditStream.stop();
      await gateway.close();
      await dynamo.stop();
    },
  };
}

/** A browser request made by a page of another origin (curl and the CLI send neither header). */
function crossSite(headers: Record<string, string | undefined>): boolean {
  if (headers['sec-fetch-site'] && !['same-origin', 'none'].includes(headers['sec-fetch-site'])) return true;
  if (!headers.origin) return false;
  try {
    return new URL(headers.origin).host !== headers.host;
  } catch {
    return true;
  }
}

/**
 * Local sign-in (what Cognito's managed login is on AWS): POST /dev/sign-in {"email"} answers an ID
 * token for a user of the local directory, a demo user or one an admin invited through the API.
 * There are no passwords locally: the local stack trusts whoever can reach it (loopback only).
 */
async function localSignIn(method: string, url: URL, body: Buffer, directory: LocalDirectory, issuer: LocalIssuer) {
  if (url.pathname !== '/dev/sign-in') return null;
  const reply = (status: number, value: unknown) => ({ status, type: 'application/json', body: JSON.stringify(value) });
  if (method !== 'POST') return reply(405, { message: 'POST {"email": "…"}' });
  let email: unknown;
  try {
    email = (JSON.parse(body.toString('utf8')) as { email?: unknown }).email;
  } catch {
    return reply(400, { message: 'send JSON: {"email": "alice@acme.example"}' });
  }
  if (typeof email !== 'string' || !email) return reply(400, { message: 'send {"email": "…"}: a demo user or one an admin invited' });
  const user = directory.signInAs(email);
  if (!user) return reply(404, { message: `no local user ${email}: a demo user (alice@acme.example, …) or one an admin invited (stageline users invite)` });
  return reply(200, { token: await issuer.sign(user), email: user.email, tenant: user.tenant, groups: await issuer.groupsOf(user) });
}
