import type { SecretResolver } from '#domain/kernel/ports';
import type { GitOpsRead, GitOpsStatus } from '#domain/promotion/ports';
import { GITOPS_SECRET_PURPOSE } from '#domain/kernel/target-schemas';
import { guardedApiFetch } from './git-hosts.ts';
import { checkUrl, guardedFetch, OutboundRefused, readLimited } from './outbound.ts';
import { secretsFromEnv } from './secrets.ts';

/** Largest answer read from a controller's API (an application lists its resources). */
const READ_MAX = 4 * 1024 * 1024;
const TIMEOUT_MS = 10_000;

const failed = (err: unknown): GitOpsRead => ({
  ok: false,
  status: null,
  error: err instanceof OutboundRefused ? `refused: ${err.message}` : (err as Error).message.slice(0, 300),
});

/** The message of an error answer (Argo CD's runtimeError, Kubernetes' Status), never more than a line of it. */
function messageOf(text: string): string {
  try {
    const j = JSON.parse(text) as { message?: unknown; error?: unknown };
    const m = typeof j.message === 'string' ? j.message : typeof j.error === 'string' ? j.error : '';
    return m ? `: ${m.slice(0, 200)}` : '';
  } catch {
    return '';
  }
}

/**
 * A target's GitOps controller read for its confirmation (modes argocd and flux), with the tenant's bearer token
 * (secret purpose gitops-health, so no other secret of the tenant is ever sent to a URL the tenant configured).
 *
 * - Argo CD: GET {server}/api/v1/applications/{name} through the guarded outbound client (guardedApiFetch: public
 *   addresses only, checked at connect; no redirects; transient answers retried; a bounded answer).
 * - Flux: the Kustomization through the Kubernetes API with @kubernetes/client-node (CustomObjectsApi). The client's
 *   own HTTP library (undici's fetch, with a dispatcher of its own) would connect without our checks, so the client
 *   is given an HTTP library that sends every request through `guardedFetch`: the same DNS lookup that refuses a
 *   non-public answer runs in the connection itself (the address checked is the address connected to, so a
 *   rebinding answer cannot pass), redirects are not followed, the answer is bounded. A private CA (caSecret) is
 *   handed to that same request (`ca`). Checking the host up front and then letting the client connect on its own
 *   would leave the gap between check and connect open; this does not. The client is loaded on first use.
 */
export class GuardedGitOpsStatus implements GitOpsStatus {
  constructor(private readonly secrets: SecretResolver = secretsFromEnv()) {}

  private async secret(tenant: string, name: string, what: string): Promise<string> {
    const value = await this.secrets.resolve(tenant, name, GITOPS_SECRET_PURPOSE);
    if (!value) throw new Error(`the ${what} secret '${name}' does not exist for this tenant (purpose ${GITOPS_SECRET_PURPOSE})`);
    return value.trim();
  }

  async argocdApplication(req: { tenant: string; server: string; name: string; tokenSecret: string; project?: string }): Promise<GitOpsRead> {
    try {
      const token = await this.secret(req.tenant, req.tokenSecret, 'token');
      const url = new URL(`api/v1/applications/${encodeURIComponent(req.name)}`, req.server.endsWith('/') ? req.server : `${req.server}/`);
      if (req.project) url.searchParams.append('project', req.project);
      const res = await guardedApiFetch(url, { headers: { authorization: `Bearer ${token}`, accept: 'application/json', 'user-agent': 'stageline-confirm' } });
      const text = await res.text();
      if (res.status !== 200) return { ok: false, status: res.status, error: `HTTP ${res.status}${messageOf(text)}` };
      return { ok: true, body: JSON.parse(text) as unknown };
    } catch (err) {
      return failed(err);
    }
  }

  async fluxKustomization(req: {
    tenant: string;
    apiServer: string;
    namespace: string;
    name: string;
    tokenSecret: string;
    caSecret?: string;
  }): Promise<GitOpsRead> {
    try {
      const token = await this.secret(req.tenant, req.tokenSecret, 'token');
      const ca = req.caSecret ? await this.secret(req.tenant, req.caSecret, 'CA') : undefined;
      checkUrl(req.apiServer);
      const k8s = await import('@kubernetes/client-node');
      const httpApi = k8s.wrapHttpLibrary({
        async send(r) {
          const body = r.getBody();
          const res = await guardedFetch(r.getUrl(), {
            method: r.getHttpMethod(),
            headers: r.getHeaders(),
            ...(typeof body === 'string' ? { body } : {}),
            timeoutMs: TIMEOUT_MS,
            ...(ca ? { ca } : {}),
          });
          const text = await readLimited(res, READ_MAX);
          const headers: Record<string, string> = {};
          res.headers.forEach((v, k) => (headers[k] = v));
          return new k8s.ResponseContext(res.status, headers, { text: async () => text, binary: async () => Buffer.from(text), stream: () => null });
        },
      });
      const configuration = k8s.createConfiguration({
        baseServer: new k8s.ServerConfiguration(req.apiServer.replace(/\/+$/, ''), {}),
        httpApi,
        authMethods: { BearerToken: `Bearer ${token}` },
      });
      const api = new k8s.CustomObjectsApi(configuration);
      try {
        const body = (await api.getNamespacedCustomObject({
          group: 'kustomize.toolkit.fluxcd.io',
          version: 'v1',
          namespace: req.namespace,
          plural: 'kustomizations',
          name: req.name,
        })) as unknown;
        return { ok: true, body };
      } catch (err) {
        if (err instanceof k8s.ApiException) return { ok: false, status: err.code, error: `HTTP ${err.code}${messageOf(String(err.body ?? ''))}` };
        throw err;
      }
    } catch (err) {
      return failed(err);
    }
  }
}
