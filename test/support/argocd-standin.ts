import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { contractAjv, errorsOf } from './contract-ajv.ts';

/**
 * An Argo CD API server stand-in: `GET /api/v1/applications/{name}` answers the application whose state a test sets
 * (sync status and revision, health), with a bearer token checked. Every request is matched to the operation in
 * Argo CD's own Swagger (test/contracts/argo-cd.swagger.json: its path and documented query parameters), and every
 * answer it gives is validated against the documented schema (`v1alpha1Application` for 200, `runtimeError`
 * otherwise) before it is sent; what does not match is recorded in `violations` (a test asserts there are none).
 */
type Json = Record<string, any>;

const DOC: Json = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'contracts', 'argo-cd.swagger.json'), 'utf8'));
const OP = DOC.paths['/api/v1/applications/{name}'].get as Json;
let validators: { app: any; error: any } | undefined;
function validate() {
  if (!validators) {
    const ajv = contractAjv();
    ajv.addSchema({ definitions: DOC.definitions, $id: 'argocd' });
    validators = { app: ajv.compile({ $ref: 'argocd#/definitions/v1alpha1Application' }), error: ajv.compile({ $ref: 'argocd#/definitions/runtimeError' }) };
  }
  return validators;
}

/** What Argo CD's Swagger says is wrong with an answer of GET /api/v1/applications/{name} (empty: nothing). */
export function applicationViolations(status: number, body: unknown): string[] {
  const v = status === 200 ? validate().app : validate().error;
  return v(body) ? [] : [`GET /api/v1/applications/{name} → ${status}: ${errorsOf(v)}`];
}

export interface ArgoAppState {
  sync: 'Synced' | 'OutOfSync' | 'Unknown';
  revision: string;
  health: 'Healthy' | 'Progressing' | 'Degraded' | 'Suspended' | 'Missing' | 'Unknown';
  message?: string;
  project?: string;
}

export interface ArgoCdStandIn {
  url: string;
  token: string;
  /** sets (or replaces) an application's state */
  set(name: string, state: ArgoAppState): void;
  /** reads per application name */
  reads: Map<string, number>;
  /** requests with a missing or wrong bearer token */
  unauthorized: number;
  violations: string[];
  close(): Promise<void>;
}

export async function startArgoCd(token: string): Promise<ArgoCdStandIn> {
  validate();
  const apps = new Map<string, ArgoAppState>();
  const self: Omit<ArgoCdStandIn, 'url' | 'close'> = { token, set: (n, s) => void apps.set(n, s), reads: new Map(), unauthorized: 0, violations: [] };
  const send = (res: import('node:http').ServerResponse, status: number, body: Json, where: string) => {
    self.violations.push(...applicationViolations(status, body).map((x) => x.replace('GET /api/v1/applications/{name}', where)));
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  };
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const m = /^\/api\/v1\/applications\/([^/]+)$/.exec(url.pathname);
    const where = `${req.method} ${url.pathname}`;
    if (req.method !== 'GET' || !m) {
      self.violations.push(`${where}: no such operation is used (only GET /api/v1/applications/{name})`);
      return send(res, 404, { code: 5, error: 'Not Found', message: 'Not Found' }, where);
    }
    const documented = new Set((OP.parameters as Json[]).filter((p) => p.in === 'query').map((p) => p.name as string));
    for (const q of url.searchParams.keys()) if (!documented.has(q)) self.violations.push(`${where}: query parameter '${q}' is not documented`);
    if (req.headers.authorization !== `Bearer ${token}`) {
      self.unauthorized++;
      return send(
        res,
        401,
        { code: 16, error: 'invalid session: token is missing or invalid', message: 'invalid session: token is missing or invalid' },
        where,
      );
    }
    const name = decodeURIComponent(m[1]!);
    self.reads.set(name, (self.reads.get(name) ?? 0) + 1);
    const s = apps.get(name);
    const project = url.searchParams.get('project');
    if (!s || (project && (s.project ?? 'default') !== project)) {
      const message = `applications.argoproj.io "${name}" not found`;
      return send(res, 404, { code: 5, error: message, message }, where);
    }
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const source = { repoURL: 'https://git.example.com/platform/deploy.git', path: `envs/${name}`, targetRevision: 'HEAD' };
    const destination = { server: 'https://kubernetes.default.svc', namespace: 'platform' };
    send(
      res,
      200,
      {
        metadata: { name, namespace: 'argocd', uid: `uid-${name}`, resourceVersion: '1', generation: 3, creationTimestamp: now },
        spec: { project: s.project ?? 'default', source, destination, syncPolicy: { automated: { prune: true, selfHeal: true } } },
        status: {
          sync: { status: s.sync, revision: s.revision, comparedTo: { source, destination } },
          health: { status: s.health, ...(s.message ? { message: s.message } : {}), lastTransitionTime: now },
          operationState: {
            operation: { sync: { revision: s.revision } },
            phase: s.health === 'Degraded' ? 'Failed' : 'Succeeded',
            message: s.message ?? 'successfully synced (all tasks run)',
            startedAt: now,
            finishedAt: now,
          },
          reconciledAt: now,
          sourceType: 'Directory',
        },
      },
      where,
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return Object.assign(self, {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  });
}
