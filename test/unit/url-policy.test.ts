import { describe, expect, it } from 'vitest';
import { addressRefusal, checkTenantUrl } from '../../domain/kernel/url-policy.ts';

describe('the save-time URL policy', () => {
  it('refuses private, loopback, link-local, metadata, unique-local, unspecified and CGNAT literals in any notation, and plain http', () => {
    const refused: [string, RegExp][] = [
      ['http://169.254.169.254/latest/meta-data/', /metadata/],
      ['https://169.254.169.254/latest/meta-data/', /metadata/],
      ['https://127.0.0.1:8443/', /loopback/],
      ['https://[::1]/', /loopback/],
      ['https://0x7f.1/', /127\.0\.0\.1, a loopback/],
      ['https://2130706433/', /127\.0\.0\.1/],
      ['https://0177.0.0.1/', /127\.0\.0\.1/],
      ['https://127.1/', /loopback/],
      ['https://0xa9.0xfe.0xa9.0xfe/', /metadata/],
      ['https://[::ffff:169.254.169.254]/', /metadata/],
      ['https://[::ffff:7f00:1]/', /loopback/],
      ['https://10.0.0.5/x', /private/],
      ['https://172.16.5.4/', /private/],
      ['https://192.168.1.1/', /private/],
      ['https://100.64.0.1/', /carrier-grade NAT/],
      ['https://[fd00:ec2::254]/', /unique-local/],
      ['https://[fe80::1]/', /link-local/],
      ['https://0.0.0.0/', /unspecified/],
      ['https://[::]/', /unspecified/],
      ['https://[64:ff9b::a9fe:a9fe]/', /rfc6052/],
      // IPv4-compatible (::/96, deprecated): some stacks route it to the IPv4 address it holds.
      ['https://[::169.254.169.254]/', /non-global IPv6/],
      ['https://[::a00:1]/', /non-global IPv6/],
      ['https://[::1.2.3.4]/', /non-global IPv6/],
      ['https://224.0.0.1/', /multicast/],
      ['https://metadata.google.internal/', /internal name/],
      ['https://intranet/', /single-label/],
      ['http://hooks.example.com/', /plain http/],
      ['http://', /not a valid URL/],
      ['ftp://example.com/', /only https/],
      ['https://u:p@example.com/', /credentials/],
    ];
    for (const [url, why] of refused) expect(checkTenantUrl(url, { allowLoopback: false }), url).toMatch(why);
    for (const url of ['https://hooks.example.com/x', 'https://8.8.8.8/', 'https://[2606:4700:4700::1111]/'])
      expect(checkTenantUrl(url, { allowLoopback: false }), url).toBeNull();
  });

  it('allows loopback (also over http) only in local mode; nothing else loosens', () => {
    for (const url of ['http://127.0.0.1:8080/hook', 'http://[::1]:9/', 'http://0x7f.1/', 'http://localhost:3000/']) {
      expect(checkTenantUrl(url, { allowLoopback: true }), url).toBeNull();
      expect(checkTenantUrl(url, { allowLoopback: false }), url).not.toBeNull();
    }
    for (const url of ['http://169.254.169.254/', 'https://10.0.0.5/', 'http://hooks.example.com/', 'https://[::169.254.169.254]/'])
      expect(checkTenantUrl(url, { allowLoopback: true }), url).not.toBeNull();
  });

  it('the call-time guard (the address DNS gave) refuses IPv6 outside global unicast too, in both modes', () => {
    for (const address of ['::a9fe:a9fe', '::a00:1', '::7f00:1', '100::1']) {
      expect(addressRefusal(address, false), address).not.toBeNull();
      expect(addressRefusal(address, true), address).not.toBeNull();
    }
    for (const address of ['2606:4700:4700::1111', '8.8.8.8', '::ffff:8.8.8.8']) expect(addressRefusal(address, false), address).toBeNull();
  });
});
