import { afterEach, describe, expect, it, vi } from 'vitest';
import { assertSameOrigin, checkUrl, guardedFetch, OutboundRefused, refusedRange } from '../../functions/adapters/outbound.ts';
import { overrideConfig } from '../../functions/configuration-overrides.ts';

// A name that resolves to a private address (as an internal DNS name would); every other name as usual.
vi.mock('node:dns', async (original) => {
  const dns = await original<typeof import('node:dns')>();
  const lookup = ((host: string, opts: unknown, cb: (...a: unknown[]) => void) =>
    host === 'internal.example.test'
      ? cb(null, [{ address: '10.0.3.4', family: 4 }])
      : (dns.lookup as (...a: unknown[]) => void)(host, opts, cb)) as typeof dns.lookup;
  return { ...dns, default: { ...dns, lookup }, lookup };
});

// As deployed (whatever the shell running the tests sets); a test turns local mode on through the configuration.
let undo = overrideConfig({ STAGELINE_ALLOW_LOOPBACK_OUTBOUND: 'false' });
afterEach(() => {
  undo();
  undo = overrideConfig({ STAGELINE_ALLOW_LOOPBACK_OUTBOUND: 'false' });
});

describe('the outbound (SSRF) guard', () => {
  it('lets only public unicast addresses through', () => {
    for (const a of [
      '127.0.0.1',
      '::1',
      '10.0.0.1',
      '172.16.5.4',
      '192.168.1.1',
      '169.254.169.254',
      '100.64.0.1',
      '0.0.0.0',
      'fc00::1',
      'fe80::1',
      '::ffff:169.254.169.254',
      '::ffff:10.0.0.1',
      '224.0.0.1',
    ]) {
      expect(refusedRange(a, false), a).not.toBeNull();
    }
    for (const a of ['8.8.8.8', '1.1.1.1', '2606:4700:4700::1111']) expect(refusedRange(a, false), a).toBeNull();
    expect(refusedRange('169.254.169.254', true)).toMatch(/metadata/);
    expect(refusedRange('127.0.0.1', true)).toBeNull();
  });

  it('refuses numeric tricks, internal names, credentials in URLs and plain http', () => {
    for (const u of [
      'http://0x7f000001/',
      'http://2130706433/',
      'http://0177.0.0.1/',
      'https://169.254.169.254/',
      'https://[::1]/',
      'https://metadata.google.internal/',
      'https://localhost/',
      'https://u:p@example.com/',
      'http://example.com/',
      'file:///etc/passwd',
      'gopher://x',
    ]) {
      expect(() => checkUrl(u), u).toThrow(OutboundRefused);
    }
    expect(checkUrl('https://hooks.example.com/x').hostname).toBe('hooks.example.com');
    overrideConfig({ STAGELINE_ALLOW_LOOPBACK_OUTBOUND: 'true' });
    expect(checkUrl('http://127.0.0.1:8080/hook').port).toBe('8080');
    expect(() => checkUrl('http://169.254.169.254/')).toThrow(/metadata/);
    expect(() => checkUrl('http://10.0.0.1/')).toThrow(OutboundRefused);
  });

  it('keeps Locations on their origin', () => {
    expect(assertSameOrigin('/v2/x/blobs/uploads/1', 'https://r.example.com/')).toBe('https://r.example.com/v2/x/blobs/uploads/1');
    expect(() => assertSameOrigin('https://evil.example.com/steal', 'https://r.example.com/')).toThrow(OutboundRefused);
  });

  it('refuses a name that resolves to a private address at connect, without saying the address (viewers read these messages)', async () => {
    const err = await guardedFetch('https://internal.example.test/hook').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OutboundRefused);
    expect((err as Error).message).toBe('internal.example.test resolves to a private (RFC 1918) address; only public addresses may be called');
    expect((err as Error).message).not.toContain('10.0.3.4');
  });
});
