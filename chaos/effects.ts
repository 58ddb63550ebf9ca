import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { EVENT_SOURCE } from '../domain/kernel/events.ts';
import { WEBHOOK_EVENT_TYPES, webhookTypeOf } from '../domain/webhooks/model.ts';
import { localSecretVariable } from '../functions/adapters/secrets.ts';
import { DynamoStore, documentClient } from '../functions/adapters/dynamo-store.ts';
import { LOCAL_REGION, localCredentials } from '../local/dynamodb.ts';
import type { LocalStack } from '../local/stack.ts';
import { startGitServer, type GitServer } from '../test/support/git-server.ts';
import { startGitHubStandin, type GitHubStandin } from '../test/support/github-standin.ts';
import { pushImage, startProxy, startRegistry, type LocalRegistry } from '../test/support/registry.ts';
import {
  checkEffects,
  type EffectInputs,
  type ExpectedWebhook,
  type HistoryEntry,
  type SeenCommit,
  type SeenGateCall,
  type SeenManifestPut,
  type SeenNotification,
  type SeenWebhook,
  type Violation,
} from './effects/checks.ts';

export type { Violation, HistoryEntry, SeenGateCall, EffectInputs } from './effects/checks.ts';

/**
 * The receivers of a chaos run's outside effects ("effects once"): a real git server (commit and
 * pull-request targets, with the GitHub stand-in for pull requests), a real OCI registry behind a recording proxy
 * (registry sync and tag moves), a webhook receiver that verifies every delivery with the standardwebhooks library,
 * and the local outbox (Slack, email). `gather` reads what they hold as plain data (`EffectInputs`, what a history on
 * disk keeps as effects.json), `checkEffects` (chaos/effects/checks.ts) says over it which effect happened twice (or,
 * for webhooks, never): git-once, registry-once, webhook-once, notify-once; `check` is both.
 *
 * What it reads is what a user could read: the repositories' history, the pull requests, the registry's answers,
 * the deliveries and the inbox; it knows the model (a promotion applies once per target, an event is one webhook-id),
 * not the implementation.
 */

/** What the checker gives every check: the stack, its tenants, the workload's history, the seed, the promotions made. */
export interface CheckContext {
  stack: LocalStack;
  tenants: string[];
  history: HistoryEntry[];
  seed: number;
  promotions: { tenant: string; id: string; kind: string; environment: string }[];
}

/** The API as a workload calls it (test/support/stack.ts TestStack satisfies it). */
export interface Api {
  /** the gateway's base URL */
  url: string;
  call(method: string, path: string, opts?: { token?: string; body?: unknown }): Promise<{ status: number; body: any }>;
}

export interface EffectsRegistry {
  /** the registry as a tenant's environment names it ({ name, url }): the recording proxy in front of the real one */
  name: string;
  url: string;
  credentials: null;
}

/** The effect receivers of one tenant, set up through the API as a user would. */
export interface TenantEffects {
  /** a repository on the git server and the environment's git target on it (PUT /environments/{env}/git-target) */
  gitTarget(environment: string, mode: 'commit' | 'pull-request'): Promise<{ repository: string; fullName: string }>;
  /** the environments' registries: `source` (where versions are published) or `target` (where promotions sync them) */
  registries(roles: Record<string, 'source' | 'target'>): Promise<void>;
  /** pushes a new image into the source registry and publishes it as `artifact@version`: its digest */
  publish(artifact: string, version: string, token?: string): Promise<string>;
  /** a webhook subscription to every promotion event, delivered to the receiver */
  webhooks(): Promise<{ id: string; secret: string }>;
  /** the tenant's notifications: Slack to the gateway's stand-in, email to ops@<tenant>.test (both land in stack.outbox) */
  notifications(): Promise<void>;
  /** merges the open pull requests Stageline opened in this tenant's repositories (as a reviewer pressing Merge): how many */
  mergePulls(): Promise<number>;
  /**
   * The tenant's metric source (a web endpoint its analyses read, on the tenant host): `PUT /analysis-templates/{name}`
   * of a template reading `<hostUrl>/metrics/<tenant>/{{target.name}}`, judged `result > 150` (each measurement
   * at 1 s, `count` of them). Every target answers 100 (±2 %) until `metric` says otherwise.
   */
  analysisTemplate(name: string, count: number): Promise<void>;
  /** what the tenant's metric source answers for `target` from now on (about: a fixed noise of ±2 % is added per read) */
  metric(target: string, value: number): void;
  /** a webhook gate on `environment` (PATCH its webhookGates) calling the tenant host's gate receiver, which answers `gate` says */
  webhookGate(environment: string): Promise<void>;
  /** what the gate receiver answers this tenant's gate calls from now on */
  gate(verdict: 'PASS' | 'FAIL'): void;
}

export interface Effects {
  /** the git URL of a repository `name` on the git server */
  gitUrl(repo: string): string;
  /** the token the git server takes (each tenant set up holds it as its GITOPS_TOKEN secret) */
  gitToken: string;
  /** the source registry and the target registry (each behind a recording proxy) */
  registry: { source: EffectsRegistry; target: EffectsRegistry };
  /** the webhook receiver's base URL (a tenant's deliveries go to <webhookUrl>/<tenant>) */
  webhookUrl: string;
  git: GitServer;
  github: GitHubStandin;
  /** the tenant host's base URL: metric reads (`/metrics/<tenant>/<target>`) and webhook gates (`/gate/<tenant>`) */
  hostUrl: string;
  /** what the receivers recorded so far */
  seen: { webhooks: SeenWebhook[]; manifestPuts: SeenManifestPut[]; gates: SeenGateCall[] };
  setup(tenant: string, api: Api, adminToken: string): TenantEffects;
  /** what the receivers hold for the run's tenants, as plain data (waits first, up to `waitMs`, for webhooks still on their way) */
  gather(ctx: CheckContext, opts?: { waitMs?: number }): Promise<EffectInputs>;
  /** gather, then checkEffects over it */
  check(ctx: CheckContext, opts?: { waitMs?: number }): Promise<Violation[]>;
  stop(): Promise<void>;
}

const GIT_TOKEN = `chaos-git-${randomBytes(8).toString('hex')}`;
const GH_TOKEN = `ghp_chaos${randomBytes(8).toString('hex')}`;
const HOOK_SECRET = `chaos-hook-${randomBytes(8).toString('hex')}`;
const VALUES =
  '# values (set by Stageline)\nimage:\n  repository: registry.example.com/app\n  tag: v0.0.0\nreplicas: 2\napi:\n  image:\n    tag: v0.0.0\nworker:\n  image:\n    tag: v0.0.0\n';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** how many times a build pushes an image before it gives up (each push is several requests, each may meet a fault) */
const PUSH_TRIES = 20;

function fail(what: string, r: { status: number; body: unknown }): never {
  throw new Error(`${what}: ${r.status} ${JSON.stringify(r.body)}`);
}

export async function startEffects(): Promise<Effects> {
  const git = await startGitServer(GIT_TOKEN);
  const github = await startGitHubStandin(git);
  const [sourceUp, targetUp] = await Promise.all([startRegistry({ name: 'chaos-source' }), startRegistry({ name: 'chaos-target' })]);

  const manifestPuts: SeenManifestPut[] = [];
  const repoTenant = new Map<string, string>();
  const recorder = (registry: string) => (r: { method: string; path: string; status: number; digest: string | null }) => {
    if (r.method !== 'PUT' || r.status < 200 || r.status >= 300) return;
    const m = /^\/v2\/(.+)\/manifests\/([^/?]+)/.exec(r.path);
    if (!m || !r.digest) return;
    const repository = m[1]!;
    manifestPuts.push({
      tenant: repoTenant.get(repository) ?? '(unknown)',
      registry,
      repository,
      reference: decodeURIComponent(m[2]!),
      digest: r.digest,
      at: new Date().toISOString(),
    });
  };
  const proxies: LocalRegistry[] = [
    await startProxy(sourceUp.url, 'chaos-source', { record: recorder('chaos-source') }),
    await startProxy(targetUp.url, 'chaos-target', { record: recorder('chaos-target') }),
  ];
  const [source, target] = proxies.map((p) => ({ name: p.name, url: p.url, credentials: null })) as [EffectsRegistry, EffectsRegistry];

  // The webhook receiver: every delivery verified with the subscription's secret, recorded, answered 200.
  const webhooks: SeenWebhook[] = [];
  const secrets = new Map<string, string>();
  const subscribedAt = new Map<string, string>();
  const receiver: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const tenant = decodeURIComponent((req.url ?? '').split('/').pop() ?? '');
      const h = (k: string) => String(req.headers[k] ?? '');
      let verified = false;
      let payload: { type?: string; eventId?: string; data?: { promotionId?: string } } = {};
      try {
        const secret = secrets.get(tenant);
        if (secret) {
          payload = new Webhook(secret).verify(body, {
            'webhook-id': h('webhook-id'),
            'webhook-timestamp': h('webhook-timestamp'),
            'webhook-signature': h('webhook-signature'),
          }) as typeof payload;
          verified = true;
        }
      } catch {
        try {
          payload = JSON.parse(body) as typeof payload;
        } catch {
          /* recorded as it came */
        }
      }
      webhooks.push({
        tenant,
        webhookId: h('webhook-id'),
        type: String(payload.type ?? ''),
        eventId: String(payload.eventId ?? ''),
        ...(typeof payload.data?.promotionId === 'string' ? { promotionId: payload.data.promotionId } : {}),
        verified,
        at: new Date().toISOString(),
        body,
      });
      res.writeHead(verified ? 200 : 401, { 'content-type': 'text/plain' }).end(verified ? 'ok' : 'signature does not verify');
    });
  });
  receiver.listen(0, '127.0.0.1');
  await once(receiver, 'listening');
  const webhookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;

  // The tenant host: a metric source (per tenant and target, a value with a fixed noise, as analysis.test.ts reads
  // one) and a webhook gate answering the verdict the workload set for the tenant (seeded), each call recorded.
  const metrics = new Map<string, number>();
  const verdicts = new Map<string, 'PASS' | 'FAIL'>();
  const gates: SeenGateCall[] = [];
  const noise = [0, 0.012, -0.015, 0.007, -0.004, 0.018, -0.011, 0.003, -0.019, 0.009];
  let reads = 0;
  const host: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const [, what, tenant = '', target = ''] = (req.url ?? '')
        .split('?')[0]!
        .split('/')
        .map((x) => decodeURIComponent(x));
      if (what === 'metrics') {
        const v = (metrics.get(`${tenant}\n${target}`) ?? 100) * (1 + noise[reads++ % noise.length]!);
        return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ data: { value: v } }));
      }
      if (what === 'gate') {
        let body: { promotionId?: unknown; promotion?: { id?: unknown } } = {};
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as typeof body;
        } catch {
          /* recorded without its promotion */
        }
        const verdict = verdicts.get(tenant) ?? 'PASS';
        const id = typeof body.promotionId === 'string' ? body.promotionId : typeof body.promotion?.id === 'string' ? body.promotion.id : undefined;
        gates.push({ tenant, ...(id ? { promotionId: id } : {}), verdict, at: new Date().toISOString() });
        return void res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ verdict, reason: verdict === 'PASS' ? 'chaos: the board says yes' : 'chaos: the board says no' }));
      }
      res.writeHead(404).end();
    });
  });
  host.listen(0, '127.0.0.1');
  await once(host, 'listening');
  const hostUrl = `http://127.0.0.1:${(host.address() as AddressInfo).port}`;

  const repos: { tenant: string; fullName: string; repository: string; mode: 'commit' | 'pull-request' }[] = [];
  const recipients = new Map<string, { tenant: string; channel: 'email' | 'slack' }>();

  /** Every commit in every branch of a bare repository (merge commits are the host's, not Stageline's). */
  const commitsOf = (fullName: string): SeenCommit[] =>
    git
      .git(`${git.root}/${fullName}.git`, 'log', '--all', '--no-merges', '--format=%H%x1f%B%x1e')
      .split('\x1e')
      .map((s) => s.trim())
      .filter(Boolean)
      .map((s) => {
        const [sha, message] = s.split('\x1f') as [string, string];
        return { sha, message: message ?? '' };
      });

  const setup = (tenant: string, api: Api, adminToken: string): TenantEffects => {
    // The tenant's secrets, as the local stack resolves them (STAGELINE_SECRET_<TENANT>__<PURPOSE>__<NAME>).
    const secret = (purpose: Parameters<typeof localSecretVariable>[1], name: string, value: string) => {
      const v = localSecretVariable(tenant, purpose, name);
      if (!v) throw new Error(`tenant ${tenant} has no local secret variable (no '_' in a tenant id)`);
      process.env[v] = value;
    };
    secret('git-token', 'GITOPS_TOKEN', GIT_TOKEN);
    secret('github-token', 'GITHUB_TOKEN', GH_TOKEN);
    secret('git-webhook', 'GITHUB_HOOK', HOOK_SECRET);
    const mine = () => repos.filter((r) => r.tenant === tenant);
    return {
      async gitTarget(environment, mode) {
        const fullName = `chaos-${tenant}/${environment}-${mode}`;
        const file = `envs/${environment}/values.yaml`;
        const repository = git.repo(fullName, { [file]: VALUES });
        const pullRequest =
          mode === 'pull-request' ? { pullRequest: { host: 'github', apiUrl: github.url, tokenSecret: 'GITHUB_TOKEN', webhookSecret: 'GITHUB_HOOK' } } : {};
        if (mode === 'pull-request') {
          github.allow(GH_TOKEN, fullName);
          github.hook(fullName, `${api.url}/api/v1/gitops/hooks/${tenant}/${environment}`, HOOK_SECRET);
        }
        // A PUT sent again after its answer was lost (503) may find its own write and answer 409 ("changed meanwhile;
        // read it again"): what the environment holds then is read back and taken when it is what was asked, else the
        // PUT is sent again (three times in all), as the answer says.
        for (let attempt = 1; ; attempt++) {
          const put = await api.call('PUT', `/api/v1/environments/${environment}/git-target`, {
            token: adminToken,
            // The bundle kind's members each have their place (a bundle is one commit, and is refused when a member has none).
            body: {
              repository,
              branch: 'main',
              file,
              path: 'image.tag',
              tokenSecret: 'GITOPS_TOKEN',
              paths: { [`${tenant}-api`]: { path: 'api.image.tag' }, [`${tenant}-worker`]: { path: 'worker.image.tag' } },
              ...pullRequest,
            },
          });
          if (put.status === 200) break;
          if (put.status !== 409 || attempt >= 3) fail(`git target of ${environment}`, put);
          const got = await api.call('GET', `/api/v1/environments/${environment}/git-target`, { token: adminToken });
          if (got.status === 200 && got.body?.repository === repository && got.body?.file === file) break;
        }
        repos.push({ tenant, fullName, repository, mode });
        return { repository, fullName };
      },
      async registries(roles) {
        for (const [environment, role] of Object.entries(roles)) {
          const r = role === 'source' ? source : target;
          const env = await api.call('GET', `/api/v1/environments/${environment}`, { token: adminToken });
          if (env.status !== 200) fail(`environment ${environment}`, env);
          const patched = await api.call('PATCH', `/api/v1/environments/${environment}`, {
            token: adminToken,
            body: { version: env.body.version, registries: [{ name: r.name, url: r.url }] },
          });
          if (patched.status !== 200) fail(`registries of ${environment}`, patched);
        }
      },
      async publish(artifact, version, token = adminToken) {
        repoTenant.set(artifact, tenant);
        // The build's push goes through the same registry client as Stageline's own calls, so under a fault plan it
        // meets the outbound faults too: a build pushes again (blobs and the manifest are put by digest: the same
        // image each time, nothing moved twice).
        const image = { configBytes: Buffer.from(JSON.stringify({ artifact, version, tenant })), layers: [randomBytes(256)] };
        let digest = '';
        for (let attempt = 1; !digest; attempt++) {
          try {
            digest = await pushImage(source, artifact, image);
          } catch (err) {
            if (attempt >= PUSH_TRIES) throw err;
            await sleep(20 * attempt);
          }
        }
        const r = await api.call('POST', `/api/v1/artifacts/${artifact}/versions`, { token, body: { version, digest } });
        // Sent again after a lost answer, the publish may find its own version (409 naming the digest it holds): published.
        const own = r.status === 409 && JSON.stringify(r.body ?? '').includes(digest);
        if (r.status !== 201 && !own) fail(`publish ${artifact} ${version}`, r);
        return digest;
      },
      async webhooks() {
        const at = new Date().toISOString();
        const r = await api.call('POST', '/api/v1/webhooks', {
          token: adminToken,
          body: {
            url: `${webhookUrl}/${encodeURIComponent(tenant)}`,
            events: WEBHOOK_EVENT_TYPES.filter((e) => e.startsWith('promotion.')),
            description: 'chaos receiver',
          },
        });
        if (r.status !== 201) fail('webhook subscription', r);
        secrets.set(tenant, r.body.secret);
        subscribedAt.set(tenant, at);
        return { id: r.body.id, secret: r.body.secret };
      },
      async notifications() {
        const hook = `h-${tenant}`;
        const to = `ops@${tenant}.test`;
        const r = await api.call('PUT', '/api/v1/notifications', {
          token: adminToken,
          body: { slack: { webhook: `${api.url}/dev/slack/${hook}`, channels: ['#deploys'] }, email: { recipients: [to] } },
        });
        if (r.status !== 200) fail('notifications', r);
        recipients.set(`email:${to}`, { tenant, channel: 'email' });
        recipients.set(`slack:${hook}`, { tenant, channel: 'slack' });
      },
      async mergePulls() {
        let merged = 0;
        for (const r of mine().filter((x) => x.mode === 'pull-request')) {
          for (const p of github.pulls(r.fullName)) {
            if (p.state !== 'open' || (p.author && p.author !== 'stageline-bot')) continue;
            await github.merge(r.fullName, p.number);
            merged++;
          }
        }
        return merged;
      },
      async analysisTemplate(name, count) {
        const r = await api.call('PUT', `/api/v1/analysis-templates/${name}`, {
          token: adminToken,
          body: {
            provider: { type: 'web', url: `${hostUrl}/metrics/${encodeURIComponent(tenant)}/{{target.name}}`, jsonPath: '$.data.value' },
            intervalSeconds: 1,
            count,
            failureCondition: 'result > 150',
          },
        });
        if (r.status >= 300) fail(`analysis template ${name}`, r);
      },
      metric(target, value) {
        metrics.set(`${tenant}\n${target}`, value);
      },
      async webhookGate(environment) {
        const url = `${hostUrl}/gate/${encodeURIComponent(tenant)}`;
        // As the API's VERSION_CONFLICT says: read it again and reapply. A change whose answer was lost (the stack
        // crashed under it) was saved, and its retry meets the version it wrote: read again, it is there.
        for (let attempt = 1; ; attempt++) {
          const env = await api.call('GET', `/api/v1/environments/${environment}`, { token: adminToken });
          if (env.status !== 200) fail(`environment ${environment}`, env);
          if ((env.body.webhookGates ?? []).some((g: { name: string; url: string }) => g.name === 'change-board' && g.url === url)) return;
          const patched = await api.call('PATCH', `/api/v1/environments/${environment}`, {
            token: adminToken,
            body: { version: env.body.version, webhookGates: [{ name: 'change-board', url, secret: HOOK_SECRET, timeoutMs: 2000 }] },
          });
          if (patched.status === 200) return;
          if (patched.status !== 409 || patched.body?.error?.code !== 'VERSION_CONFLICT' || attempt >= 3) fail(`webhook gate of ${environment}`, patched);
        }
      },
      gate(verdict) {
        verdicts.set(tenant, verdict);
      },
    };
  };

  /** The promotion events the stack published for subscribed tenants since they subscribed (each event once). */
  const expectedWebhooks = (stack: LocalStack) => {
    const out = new Map<string, ExpectedWebhook>();
    for (const e of stack.bus.published) {
      if (e.source !== EVENT_SOURCE) continue;
      const type = webhookTypeOf(e['detail-type']);
      const tenant = String(e.detail.tenant ?? '');
      const since = subscribedAt.get(tenant);
      if (!type?.startsWith('promotion.') || !since || e.time < since) continue;
      const eventId = String(e.detail.eventId ?? '');
      const promotionId = typeof e.detail.promotionId === 'string' ? e.detail.promotionId : undefined;
      out.set(`${tenant}\n${eventId}`, { tenant, type, eventId, ...(promotionId ? { promotionId } : {}) });
    }
    return [...out.values()];
  };

  const notificationsSeen = (ctx: CheckContext): SeenNotification[] => {
    const idIn = (tenant: string, text: string) => ctx.promotions.find((p) => p.tenant === tenant && text.includes(p.id))?.id;
    const out: SeenNotification[] = [];
    for (const m of ctx.stack.outbox.mails) {
      const who = recipients.get(`email:${m.to}`);
      if (!who) continue;
      const promotionId = idIn(who.tenant, `${m.subject}\n${m.text}`);
      out.push({ tenant: who.tenant, channel: 'email', recipient: m.to, title: m.subject, at: m.at, ...(promotionId ? { promotionId } : {}) });
    }
    for (const s of ctx.stack.outbox.slack) {
      const who = recipients.get(`slack:${s.hook}`);
      if (!who) continue;
      const promotionId = idIn(who.tenant, JSON.stringify(s.message));
      const recipient = `${s.hook} ${s.message.channel ?? '(webhook default)'}`;
      out.push({ tenant: who.tenant, channel: 'slack', recipient, title: s.message.text ?? '', at: s.at, ...(promotionId ? { promotionId } : {}) });
    }
    return out;
  };

  const effects: Effects = {
    gitUrl: (repo) => `${git.url}/${repo}.git`,
    gitToken: GIT_TOKEN,
    registry: { source, target },
    webhookUrl,
    hostUrl,
    git,
    github,
    seen: { webhooks, manifestPuts, gates },
    setup,
    async gather(ctx, opts = {}) {
      // Deliveries still on their way (retries on the webhook scheduler, the stream's relay) get their time. A delivery
      // that met the outbound faults five times in a row waits about a minute for its next attempt (×3 a retry,
      // domain/webhooks/deliveries.ts RETRY, from the stack's shorter first wait): the bound covers that.
      await ctx.stack.stream.idle();
      const until = Date.now() + (opts.waitMs ?? 180_000);
      for (;;) {
        const got = new Set(webhooks.filter((w) => w.verified).map((w) => `${w.tenant}\n${w.eventId}`));
        if (expectedWebhooks(ctx.stack).every((e) => got.has(`${e.tenant}\n${e.eventId}`)) || Date.now() > until) break;
        await sleep(50);
      }
      const wanted = (tenant: string) => ctx.tenants.length === 0 || ctx.tenants.includes(tenant);
      // The promotions the gate receiver was asked about, as the table has them (their webhook gate and whether they ran).
      const store = new DynamoStore(
        documentClient({ endpoint: ctx.stack.dynamo.endpoint, region: LOCAL_REGION, credentials: localCredentials }),
        ctx.stack.tableName,
      );
      const gated = [...new Set(gates.filter((g) => wanted(g.tenant) && g.promotionId).map((g) => `${g.tenant}\n${g.promotionId}`))];
      const gatedPromotions = (
        await Promise.all(
          gated.map(async (k) => {
            const [tenant, id] = k.split('\n') as [string, string];
            const p = await store.getPromotion(tenant, id);
            const gate = p?.gates?.find((g) => g.gate === 'webhook:change-board');
            return p ? [{ tenant, id, gate: gate ? { verdict: gate.verdict } : null, executed: p.transitions.some((x) => x.status === 'EXECUTING') }] : [];
          }),
        )
      ).flat();
      return {
        repositories: repos
          .filter((r) => wanted(r.tenant))
          .map((r) => ({
            tenant: r.tenant,
            repository: r.repository,
            mode: r.mode,
            commits: commitsOf(r.fullName),
            pulls:
              r.mode === 'pull-request'
                ? github.pulls(r.fullName).map((p) => ({
                    number: p.number,
                    head: p.head,
                    base: p.base,
                    state: p.state,
                    merged: p.merged,
                    ...(p.author ? { author: p.author } : {}),
                  }))
                : [],
          })),
        manifestPuts: manifestPuts.filter((p) => wanted(p.tenant)),
        webhooks: webhooks.filter((w) => wanted(w.tenant)),
        expectedWebhooks: expectedWebhooks(ctx.stack).filter((e) => wanted(e.tenant)),
        gates: gates.filter((g) => wanted(g.tenant)),
        gatedPromotions,
        notifications: notificationsSeen(ctx).filter((n) => wanted(n.tenant)),
        lost: [...(ctx.stack.faults?.lost ?? [])],
        promotions: ctx.promotions.filter((p) => wanted(p.tenant)).map((p) => ({ tenant: p.tenant, id: p.id, environment: p.environment })),
      };
    },
    async check(ctx, opts = {}) {
      return checkEffects(await effects.gather(ctx, opts), ctx.history);
    },
    async stop() {
      receiver.closeAllConnections();
      receiver.close();
      host.closeAllConnections();
      host.close();
      await Promise.all([...proxies.map((p) => p.stop()), sourceUp.stop(), targetUp.stop(), github.stop()]);
      await git.close();
    },
  };
  return effects;
}
