import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import { join } from 'node:path';
import { parse } from 'yaml';
import { contractAjv, errorsOf } from './contract-ajv.ts';

/**
 * A Kubernetes API server stand-in for Flux: `GET /apis/kustomize.toolkit.fluxcd.io/v1/namespaces/{ns}/kustomizations/{name}`
 * answers the Kustomization whose state a test sets (its Ready condition, its last applied revision), with a bearer
 * token checked. Every Kustomization it answers is validated against the v1 `openAPIV3Schema` of Flux's own CRD
 * (test/contracts/flux.kustomizations.crd.yaml) before it is sent, and every request against the REST path the CRD
 * defines (group, version, plural, namespaced); what does not match is recorded in `violations`.
 */
type Json = Record<string, any>;

const CRD: Json = parse(readFileSync(join(import.meta.dirname, '..', 'contracts', 'flux.kustomizations.crd.yaml'), 'utf8'));
const V1 = (CRD.spec.versions as Json[]).find((v) => v.name === 'v1')!;
let validator: any;
const validate = () => (validator ??= contractAjv().compile(V1.schema.openAPIV3Schema));
const PATH = new RegExp(`^/apis/${CRD.spec.group.replace(/\./g, '\\.')}/v1/namespaces/([^/]+)/${CRD.spec.names.plural}/([^/]+)$`);

/** What Flux's CRD (v1 openAPIV3Schema) says is wrong with a Kustomization (empty: nothing). */
export function kustomizationViolations(body: unknown): string[] {
  const v = validate();
  return v(body) ? [] : [`Kustomization: ${errorsOf(v)}`];
}

export interface KustomizationState {
  ready: 'True' | 'False' | 'Unknown';
  reason: string;
  message?: string;
  lastAppliedRevision?: string;
  stalled?: boolean;
}

export interface FluxStandIn {
  url: string;
  token: string;
  set(namespace: string, name: string, state: KustomizationState): void;
  reads: Map<string, number>;
  unauthorized: number;
  violations: string[];
  close(): Promise<void>;
}

const status = (code: number, reason: string, message: string) => ({
  kind: 'Status',
  apiVersion: 'v1',
  metadata: {},
  status: 'Failure',
  message,
  reason,
  code,
});

/** `tls`: serve https with this key and certificate (a cluster whose CA is private), else plain http on loopback. */
export async function startFlux(token: string, tls?: { key: string; cert: string }): Promise<FluxStandIn> {
  validate();
  const objects = new Map<string, KustomizationState>();
  const self: Omit<FluxStandIn, 'url' | 'close'> = {
    token,
    set: (ns, n, s) => void objects.set(`${ns}/${n}`, s),
    reads: new Map(),
    unauthorized: 0,
    violations: [],
  };
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const m = PATH.exec(url.pathname);
    const json = (code: number, body: Json) => res.writeHead(code, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (req.method !== 'GET' || !m) {
      self.violations.push(`${req.method} ${url.pathname}: not the CRD's namespaced GET of a kustomization`);
      return json(404, status(404, 'NotFound', 'the server could not find the requested resource'));
    }
    if (req.headers.authorization !== `Bearer ${token}`) {
      self.unauthorized++;
      return json(401, status(401, 'Unauthorized', 'Unauthorized'));
    }
    const [ns, name] = [decodeURIComponent(m[1]!), decodeURIComponent(m[2]!)];
    self.reads.set(`${ns}/${name}`, (self.reads.get(`${ns}/${name}`) ?? 0) + 1);
    const s = objects.get(`${ns}/${name}`);
    if (!s) return json(404, status(404, 'NotFound', `kustomizations.kustomize.toolkit.fluxcd.io "${name}" not found`));
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const condition = (type: string, st: string, reason: string, message: string) => ({
      type,
      status: st,
      reason,
      message,
      lastTransitionTime: now,
      observedGeneration: 2,
    });
    const body = {
      apiVersion: `${CRD.spec.group}/v1`,
      kind: CRD.spec.names.kind,
      metadata: { name, namespace: ns, generation: 2, resourceVersion: '42', uid: `uid-${name}`, creationTimestamp: now },
      spec: { interval: '1m0s', path: `./envs/${name}`, prune: true, sourceRef: { kind: 'GitRepository', name: 'platform' }, wait: true, timeout: '2m0s' },
      status: {
        observedGeneration: 2,
        ...(s.lastAppliedRevision ? { lastAppliedRevision: s.lastAppliedRevision, lastAttemptedRevision: s.lastAppliedRevision } : {}),
        conditions: [
          condition('Ready', s.ready, s.reason, s.message ?? (s.ready === 'True' ? `Applied revision: ${s.lastAppliedRevision}` : s.reason)),
          ...(s.stalled ? [condition('Stalled', 'True', s.reason, s.message ?? s.reason)] : []),
        ],
      },
    };
    self.violations.push(...kustomizationViolations(body).map((x) => `GET ${url.pathname} → 200: ${x}`));
    json(200, body);
  };
  const server: Server = tls ? createTlsServer(tls, handle) : createServer(handle);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return Object.assign(self, {
    url: `${tls ? 'https' : 'http'}://127.0.0.1:${(server.address() as { port: number }).port}`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  });
}
