import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';

/** Sends a request signed with SigV4 (what a pipeline with IAM credentials does against API Gateway). */
export async function signedFetch(base: string, method: string, path: string, body: unknown, creds: { accessKeyId: string; secretAccessKey: string }) {
  const url = new URL(base + path);
  const text = body === undefined ? undefined : JSON.stringify(body);
  const signer = new SignatureV4({ credentials: creds, region: 'us-east-1', service: 'execute-api', sha256: Hash.bind(null, 'sha256') });
  const req = await signer.sign(
    new HttpRequest({
      method,
      protocol: 'http:',
      hostname: url.hostname,
      port: Number(url.port),
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: { host: url.host, ...(text ? { 'content-type': 'application/json' } : {}) },
      body: text,
    }),
  );
  const { host: _host, ...headers } = req.headers;
  const res = await fetch(url, { method, headers, body: text });
  const raw = await res.text();
  return { status: res.status, body: raw ? JSON.parse(raw) : undefined, headers: res.headers };
}
