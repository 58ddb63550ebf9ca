import { createHash, createHmac } from 'node:crypto';

/** AWS credentials as a CI job has them after assuming a role (aws-actions/configure-aws-credentials, or the STS exchange in run.ts). */
export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

const sha256 = (data: string) => createHash('sha256').update(data, 'utf8').digest('hex');
const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data, 'utf8').digest();
// RFC 3986 unreserved characters only, as SigV4 wants (encodeURIComponent leaves !'()* alone).
const escape = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/**
 * Signs a request for API Gateway (`execute-api`) with Signature Version 4, using node:crypto only so the
 * CI entry runs on plain Node without installing anything. Signs the host, the date, the payload's hash,
 * the session token and the content type; the path is encoded once more, segment by segment, as SigV4 asks of every service but S3.
 * Returns the headers to send (fetch sets Host itself, from the same URL).
 */
export function signRequest(
  input: { method: string; url: string; body?: string; headers?: Record<string, string> },
  creds: AwsCredentials,
  region: string,
  now = new Date(),
  service = 'execute-api',
): Record<string, string> {
  const url = new URL(input.url);
  const amzDate = now.toISOString().replace(/[:-]|\.\d{3}/g, '');
  const day = amzDate.slice(0, 8);
  const headers: Record<string, string> = {
    ...Object.fromEntries(Object.entries(input.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v])),
    host: url.host,
    // The payload's hash, signed and sent as the AWS SDKs do.
    'x-amz-content-sha256': sha256(input.body ?? ''),
    'x-amz-date': amzDate,
    ...(creds.sessionToken ? { 'x-amz-security-token': creds.sessionToken } : {}),
  };
  const names = Object.keys(headers).sort();
  const canonicalHeaders = names.map((n) => `${n}:${headers[n]!.trim().replace(/\s+/g, ' ')}\n`).join('');
  const signedHeaders = names.join(';');
  const path = url.pathname
    .split('/')
    .map((segment) => escape(segment))
    .join('/');
  const query = [...url.searchParams.entries()]
    .map(([k, v]) => [escape(k), escape(v)])
    .sort(([a, x], [b, y]) => (a === b ? (x! < y! ? -1 : 1) : a! < b! ? -1 : 1))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  const canonical = [input.method.toUpperCase(), path || '/', query, canonicalHeaders, signedHeaders, headers['x-amz-content-sha256']].join('\n');
  const scope = `${day}/${region}/${service}/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonical)].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${creds.secretAccessKey}`, day), region), service), 'aws4_request');
  const signature = createHmac('sha256', key).update(toSign, 'utf8').digest('hex');
  const { host: _host, ...send } = headers;
  return { ...send, authorization: `AWS4-HMAC-SHA256 Credential=${creds.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}` };
}
