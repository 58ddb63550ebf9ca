import { createHash } from 'node:crypto';
import { ValidationFailed, type Issue } from './errors.ts';
import { readAddress } from './ip-ranges.ts';
import * as z from './zod.ts';

/**
 * The save-time policy for every URL a tenant configures (webhook gates, registries, Slack
 * webhooks, delivery targets): refused when it is saved, with the reason, rather than when a
 * promotion first calls it. The call-time guard (functions/adapters/outbound.ts) applies the same
 * rules again after DNS, so a name that later resolves to a private address still cannot be called.
 *
 * - https only; plain http only for a loopback host in local mode;
 * - no credentials in the URL;
 * - a literal address in any notation the WHATWG parser accepts (decimal, hex, octal, short forms
 *   like 0x7f.1, IPv4-mapped IPv6, [::1]) must be a public unicast address: loopback (local mode
 *   excepted), private, link-local (169.254.169.254, the metadata service), CGNAT, unique-local,
 *   unspecified, multicast, NAT64/6to4/Teredo and reserved ranges are refused, and IPv6 outside
 *   global unicast (2000::/3: the IPv4-compatible ::a.b.c.d among them);
 * - internal names (localhost, *.localhost, *.internal, *.local, single-label names) are refused
 *   (`localhost` itself is loopback: allowed in local mode).
 */

/**
 * Local mode (`npm start`, tests) allows loopback targets: a use case passes `allowLoopback` from its
 * deps' tunables (allowLoopbackOutbound); the call-time guard reads the same setting of the deployment.
 */

const RANGE_NAMES: Record<string, string> = {
  loopback: 'loopback',
  private: 'private (RFC 1918)',
  linkLocal: 'link-local',
  carrierGradeNat: 'carrier-grade NAT (100.64.0.0/10)',
  uniqueLocal: 'unique-local (fc00::/7)',
  unspecified: 'unspecified',
  multicast: 'multicast',
  broadcast: 'broadcast',
  reserved: 'reserved',
};

/** Why an IP address may not be called, or null when it is a public unicast address. */
export function addressRefusal(address: string, allowLoopback: boolean): string | null {
  const ip = readAddress(address);
  if (!ip) return 'not an IP address';
  // IPv6 is allowed only in global unicast (2000::/3): what the table leaves as 'unicast' also holds the
  // deprecated IPv4-compatible ::a.b.c.d (::/96, e.g. [::169.254.169.254]), which some stacks route to IPv4.
  if (ip.range === 'unicast' && ip.family === 'ipv6' && !ip.globalUnicast) return 'non-global IPv6 (outside 2000::/3, e.g. IPv4-compatible ::a.b.c.d)';
  if (ip.range === 'unicast') return null;
  if (ip.range === 'loopback' && allowLoopback) return null;
  if (ip.range === 'linkLocal' && ip.family === 'ipv4') return 'link-local (cloud metadata range)';
  return RANGE_NAMES[ip.range] ?? ip.range;
}

const INTERNAL_NAME = /^(localhost|.*\.localhost|.*\.internal|.*\.local|.*\.localdomain|.*\.home\.arpa)$/i;

/**
 * Checks a URL a tenant is about to save. Returns null when it may be saved, otherwise the reason
 * (a sentence a user can act on; it never repeats the URL, which may carry a secret path).
 */
export function checkTenantUrl(url: string, opts: { allowLoopback: boolean }): string | null {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return 'is not a valid URL';
  }
  // Stryker disable next-line Regex: a URL's protocol is its scheme and one colon, the last character, so the first colon is the last
  if (u.protocol !== 'https:' && u.protocol !== 'http:') return `uses ${u.protocol.replace(/:$/, '')}: only https URLs may be configured`;
  if (u.username || u.password) return 'carries credentials (user:password@); put secrets in the configured secret instead';
  // The WHATWG parser has already turned 2130706433, 0x7f.1, 0177.0.0.1 into 127.0.0.1 and [::ffff:127.0.0.1] into [::ffff:7f00:1].
  // Stryker disable next-line Regex: a hostname holds brackets only around an IPv6 address, '[' first and ']' last, so anchoring either end changes nothing
  const unbracketed = u.hostname.replace(/^\[|\]$/g, '');
  const host = unbracketed.replace(/\.$/, '');
  if (!host) return 'has no host';
  let loopback = false;
  const ip = readAddress(host);
  if (ip) {
    const why = addressRefusal(host, opts.allowLoopback);
    if (why) return `points at ${host}, a ${why} address: only public addresses may be called`;
    loopback = ip.range === 'loopback';
  } else if (/^localhost$/i.test(host)) {
    if (!opts.allowLoopback) return 'points at localhost: only public hosts may be called';
    loopback = true;
  } else if (INTERNAL_NAME.test(host)) {
    return `points at ${host}, an internal name: only public hosts may be called`;
  } else if (!host.includes('.')) {
    return `points at ${host}, a single-label (internal) name: use a fully qualified public host name`;
  }
  if (u.protocol === 'http:' && !(opts.allowLoopback && loopback)) return 'uses plain http: use https';
  return null;
}

/**
 * What the document states of any tenant URL field (JSON Schema): a URI with the https scheme, in any
 * case as the URL parser takes it, or plain http to a loopback address, which only the local stack
 * accepts (local mode: test receivers, a local git server or registry); a deployment refuses it.
 */
export const TENANT_URL_FORMAT = {
  format: 'uri',
  pattern: '^([Hh][Tt][Tt][Pp][Ss]://|[Hh][Tt][Tt][Pp]://(127\\.0\\.0\\.1|[Ll][Oo][Cc][Aa][Ll][Hh][Oo][Ss][Tt]|\\[::1\\])(:[0-9]{1,5})?([/?#]|$))',
} as const;

/**
 * What the document states of a receiver's URL (a webhook subscription's or gate's), which the API shows
 * redacted (redactUrl) to anyone but the admin who set it: a tenant URL, or that redacted value sent back
 * (a manifest export applied, a PATCH of what GET showed), which keeps the stored URL it stands for.
 */
export const RECEIVER_URL_FORMAT = {
  anyOf: [
    { ...TENANT_URL_FORMAT },
    {
      pattern: '^[Hh][Tt][Tt][Pp][Ss]?://[^/?#]+/(…|%[Ee]2%80%[Aa]6)(#[0-9a-f]{8})?$',
      description: 'a redacted URL as the API shows it (origin, ellipsis, fingerprint): keeps the stored URL it stands for',
    },
  ],
} as const;

/**
 * A zod string that is a URL a tenant may save (`checkTenantUrl`): every rule that holds in any
 * deployment is checked at parse time. A refused URL is an issue on its own field: "must be a public
 * https URL: <reason>". Loopback is the deployment's to allow (local mode): the use case that saves
 * the URL checks it with its deps' tunables (assertTenantUrls), with the same issue on the same field.
 * Its JSON Schema (the OpenAPI document) states the rule: a URI, https, with the rest in words.
 */
export function tenantUrl(base: z.ZodMiniString = z.string().check(z.trim(), z.maxLength(2048)), format: object = TENANT_URL_FORMAT) {
  return base.check(
    z.superRefine((value, ctx) => {
      const why = checkTenantUrl(value, { allowLoopback: true });
      if (why) ctx.addIssue({ code: 'custom', message: `must be a public https URL: it ${why}` });
    }),
    z.meta({
      ...format,
      description:
        'An https URL on a public host: no credentials in it, no private, loopback, link-local or internal address or name; another is refused with 400. Local mode (npm start) only: plain http to a loopback address (127.0.0.1, localhost, [::1]) too, for local receivers, git servers and registries',
    }),
  );
}

/** The same check for a URL that reaches the service another way (e.g. resolved from a secret reference). */
export function tenantUrlIssue(value: string, opts: { allowLoopback: boolean }): string | null {
  const why = checkTenantUrl(value, opts);
  return why ? `must be a public https URL: it ${why}` : null;
}

/**
 * The whole check of URLs a schema (`tenantUrl`) let through, now with the deployment's setting
 * (`allowLoopback`: the deps' tunables): 400 naming each refused field, as the schema names its own.
 */
export function assertTenantUrls(urls: readonly { path: string; url: string }[], opts: { allowLoopback: boolean }): void {
  const issues: Issue[] = urls.flatMap(({ path, url }) => {
    const message = tenantUrlIssue(url, opts);
    return message ? [{ path, message }] : [];
  });
  if (issues.length) throw new ValidationFailed(issues);
}

/**
 * A receiver URL as anyone but the admin who just set it sees it: its origin, and for the rest
 * (where a credential often sits: `/hooks/T000/B000/XXXX`, `?token=`) an ellipsis and a short
 * fingerprint, so two subscriptions to one host stay apart and the value, sent back, names the
 * stored URL (redactedMatches) without revealing it. A URL with nothing after its origin is shown whole.
 */
export function redactUrl(raw: string): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return '…';
  }
  const hidden = `/…#${createHash('sha256').update(raw).digest('hex').slice(0, 8)}`;
  // A scheme without an origin (not http or https: never one a tenant can store) shows only its scheme.
  if (u.origin === 'null') return `${u.protocol}/${hidden}`;
  if (u.pathname === '/' && !u.search && !u.username && !u.password) return `${u.origin}/`;
  return `${u.origin}${hidden}`;
}

/** Whether a value is a redacted URL (as redactUrl writes it), not one to call. */
export const isRedactedUrl = (value: string): boolean => /\/(…|%E2%80%A6)(#[0-9a-f]{8})?$/i.test(value);

/** Whether a redacted value stands for this stored URL. */
export const redactedMatches = (value: string, stored: string): boolean => isRedactedUrl(value) && value.replace(/%E2%80%A6/i, '…') === redactUrl(stored);
