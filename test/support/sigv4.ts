import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';

export interface SignOptions {
  region?: string;
  service?: string;
  /** raw bytes to send instead of JSON (e.g. a body that is not UTF-8) */
  raw?: Uint8Array;
  /** false: sign without the host header (API Gateway refuses that) */
  signHost?: boolean;
  headers?: Record<string, string>;
}

/** Sends a request signed with SigV4 (what a pipeline with IAM credentials does against API Gateway). */
export async function signedFetch(
  base: string,
  method: string,
  path: string,
  body: unknown,
  creds: { accessKeyId: string; secretAccessKey: string },
  opts: SignOptions = {},
) {
  const url = new URL(base + path);
  const payload: string | Uint8Array | undefined = opts.raw ?? (body === undefined ? undefined : JSON.stringify(body));
  const signer = new SignatureV4({
    credentials: creds,
    region: opts.region ?? 'us-east-1',
    service: opts.service ?? 'execute-api',
    sha256: Hash.bind(null, 'sha256'),
  });
  const headers: Record<string, string> = {
    ...(opts.signHost === false ? {} : { host: url.host }),
    ...(payload ? { 'content-type': 'application/json' } : {}),
    ...(opts.headers ?? {}),
  };
  const req = await signer.sign(
    new HttpRequest({
      method,
      protocol: 'http:',
      hostname: url.hostname,
      port: Number(url.port),
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers,
      body: payload,
    }),
  );
  const { host: _host, ...sent } = req.headers;
  const res = await fetch(url, { method, headers: sent, body: payload as string | undefined });
  const raw = await res.text();
  let parsed: any = raw;
  try {
    parsed = raw ? JSON.parse(raw) : undefined;
  } catch {
    /* not JSON */
  }
  return { status: res.status, body: parsed, headers: res.headers };
}
