import ipaddr from 'ipaddr.js';

/**
 * The save-time check of a URL a tenant configures (a webhook subscription, a git remote): why it
 * may not be saved, or null when it may. The call-time guard (functions/adapters/outbound.ts) checks
 * the resolved addresses again at connect time; this check refuses what is wrong in the URL itself.
 */
export function checkTenantUrl(raw: string, opts: { allowLoopback: boolean }): string | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'is not a valid URL';
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return `${url.protocol} URLs are not allowed; use https`;
  if (url.username || url.password) return 'must not carry credentials (user:password@)';
  const host = url.hostname.replace(/^\[|\]$/g, '');
  let loopback = false;
  if (ipaddr.isValid(host)) {
    let ip = ipaddr.parse(host);
    if (ip.kind() === 'ipv6' && (ip as ipaddr.IPv6).isIPv4MappedAddress()) ip = (ip as ipaddr.IPv6).toIPv4Address();
    const range = ip.range();
    loopback = range === 'loopback';
    if (range !== 'unicast' && !(loopback && opts.allowLoopback)) return `${host} is a ${range} address; only public addresses may be called`;
  } else {
    loopback = /^localhost$/i.test(host);
    if (/^(localhost|.*\.localhost|.*\.internal|.*\.local)$/i.test(host) && !(opts.allowLoopback && loopback)) return `${host} is an internal name; only public hosts may be called`;
  }
  if (url.protocol === 'http:' && !(opts.allowLoopback && loopback)) return 'plain http is not allowed; use https';
  return null;
}
