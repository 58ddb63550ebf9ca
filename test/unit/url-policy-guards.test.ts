import { describe, expect, it } from 'vitest';
import { ValidationFailed } from '../../domain/kernel/errors.ts';
import * as z from '../../domain/kernel/zod.ts';
import {
  addressRefusal,
  assertTenantUrls,
  checkTenantUrl,
  isRedactedUrl,
  redactedMatches,
  redactUrl,
  tenantUrl,
  TENANT_URL_FORMAT,
  tenantUrlIssue,
} from '../../domain/kernel/url-policy.ts';

/** The URL policy as a tenant meets it: the exact reasons given, the 400 naming each field, and URLs shown redacted. */

const strict = { allowLoopback: false };
const local = { allowLoopback: true };

describe('why a URL is refused', () => {
  it('names the reason in words a tenant can act on', () => {
    expect(checkTenantUrl('https://localhost/', strict)).toBe('points at localhost: only public hosts may be called');
    expect(checkTenantUrl('https://LOCALHOST./', strict)).toBe('points at localhost: only public hosts may be called');
    expect(checkTenantUrl('https://10.0.0.5/', strict)).toBe('points at 10.0.0.5, a private (RFC 1918) address: only public addresses may be called');
    expect(checkTenantUrl('https://169.254.169.254/', local)).toBe(
      'points at 169.254.169.254, a link-local (cloud metadata range) address: only public addresses may be called',
    );
    expect(checkTenantUrl('https://[fe80::1]/', strict)).toMatch(/^points at fe80::1, a link-local address/);
    expect(checkTenantUrl('https://build.internal/', strict)).toBe('points at build.internal, an internal name: only public hosts may be called');
    expect(checkTenantUrl('https://intranet/', strict)).toBe('points at intranet, a single-label (internal) name: use a fully qualified public host name');
    expect(checkTenantUrl('ftp://example.com/', strict)).toBe('uses ftp: only https URLs may be configured');
    expect(checkTenantUrl('https://:secret@example.com/', strict)).toMatch(/^carries credentials/);
    expect(checkTenantUrl('https://user@example.com/', strict)).toMatch(/^carries credentials/);
    expect(checkTenantUrl('http://example.com/', local)).toBe('uses plain http: use https');
    expect(checkTenantUrl('not a url', strict)).toBe('is not a valid URL');
    // A host of nothing but the root dot is no host at all.
    expect(checkTenantUrl('https://./', strict)).toBe('has no host');
  });

  it('refuses internal names of every kind, in any case, and lets a public name with a trailing dot through', () => {
    for (const host of ['app.localhost', 'printer.local', 'nas.localdomain', 'router.home.arpa', 'DB.INTERNAL'])
      expect(checkTenantUrl(`https://${host}/`, local), host).toMatch(/an internal name/);
    for (const host of ['internal.example.com', 'local.example.com', 'example.com.', 'localhost.example.com'])
      expect(checkTenantUrl(`https://${host}/`, strict), host).toBeNull();
  });

  it('plain http passes only to loopback and only in local mode', () => {
    expect(checkTenantUrl('http://127.0.0.1/', local)).toBeNull();
    expect(checkTenantUrl('http://[::ffff:127.0.0.1]/', local)).toBeNull();
    expect(checkTenantUrl('http://8.8.8.8/', local)).toBe('uses plain http: use https');
    expect(checkTenantUrl('https://127.0.0.1/', strict)).toMatch(/a loopback address/);
    expect(checkTenantUrl('https://127.0.0.1/', local)).toBeNull();
  });

  it('the call-time guard names what is not an address and the range of one that is refused', () => {
    expect(addressRefusal('example.com', false)).toBe('not an IP address');
    expect(addressRefusal('127.0.0.1', false)).toBe('loopback');
    expect(addressRefusal('127.0.0.1', true)).toBeNull();
    expect(addressRefusal('::1', true)).toBeNull();
    expect(addressRefusal('169.254.1.1', true)).toBe('link-local (cloud metadata range)');
    expect(addressRefusal('fe80::1', true)).toBe('link-local');
    expect(addressRefusal('::ffff:10.0.0.1', false)).toBe('private (RFC 1918)');
    expect(addressRefusal('255.255.255.255', false)).toBe('broadcast');
    expect(addressRefusal('240.0.0.1', false)).toBe('reserved');
    expect(addressRefusal('2001:db8::1', false)).toBe('reserved');
  });
});

describe('URLs in a request', () => {
  it('a refused URL is a 400 naming each field that holds one, and nothing for URLs that pass', () => {
    expect(tenantUrlIssue('https://hooks.example.com/', strict)).toBeNull();
    expect(tenantUrlIssue('https://10.0.0.5/', strict)).toBe(
      'must be a public https URL: it points at 10.0.0.5, a private (RFC 1918) address: only public addresses may be called',
    );
    expect(() => assertTenantUrls([{ path: 'body.url', url: 'https://hooks.example.com/' }], strict)).not.toThrow();
    const refused = (() => {
      try {
        assertTenantUrls(
          [
            { path: 'body.a', url: 'https://hooks.example.com/' },
            { path: 'body.b', url: 'https://intranet/' },
            { path: 'body.c', url: 'http://example.com/' },
          ],
          strict,
        );
      } catch (e) {
        return e as ValidationFailed;
      }
    })();
    expect(refused).toBeInstanceOf(ValidationFailed);
    expect(refused!.issues).toEqual([
      { path: 'body.b', message: 'must be a public https URL: it points at intranet, a single-label (internal) name: use a fully qualified public host name' },
      { path: 'body.c', message: 'must be a public https URL: it uses plain http: use https' },
    ]);
  });

  it('the request schema refuses what the policy refuses (loopback allowed, as in local mode) and trims what it keeps', () => {
    const schema = tenantUrl();
    expect(schema.parse('  https://hooks.example.com/x ')).toBe('https://hooks.example.com/x');
    expect(schema.parse('http://127.0.0.1:9000/')).toBe('http://127.0.0.1:9000/');
    const r = schema.safeParse('https://10.0.0.5/');
    expect(r.success).toBe(false);
    expect(r.error!.issues[0]!.message).toBe(
      'must be a public https URL: it points at 10.0.0.5, a private (RFC 1918) address: only public addresses may be called',
    );
    // The refusal is the schema's own (custom) issue on the field itself.
    expect(schema.safeParse('ftp://example.com/').error!.issues).toEqual([
      { code: 'custom', path: [], message: 'must be a public https URL: it uses ftp: only https URLs may be configured' },
    ]);
  });

  it('the request schema states the rule in its JSON Schema: a URI, https (or http to loopback), and the rest in words', () => {
    const schema = z.toJSONSchema(tenantUrl()) as Record<string, unknown>;
    expect(schema).toMatchObject({ type: 'string', maxLength: 2048, format: 'uri', pattern: TENANT_URL_FORMAT.pattern });
    expect(schema.description).toMatch(/^An https URL on a public host: no credentials in it, no private, loopback, link-local or internal address or name;/);
    expect(schema.description).toMatch(/Local mode \(npm start\) only: plain http to a loopback address/);
  });
});

describe('URLs shown redacted', () => {
  it('keeps a bare origin; hides a path, query or credentials behind an ellipsis and a fingerprint of the whole URL', () => {
    expect(redactUrl('https://hooks.example.com')).toBe('https://hooks.example.com/');
    expect(redactUrl('https://hooks.example.com/')).toBe('https://hooks.example.com/');
    const secret = redactUrl('https://hooks.example.com/T0/B1/secret');
    expect(secret).toMatch(/^https:\/\/hooks\.example\.com\/…#[0-9a-f]{8}$/);
    expect(redactUrl('https://hooks.example.com/T0/B1/other')).not.toBe(secret);
    expect(redactUrl('https://hooks.example.com/?token=1')).toMatch(/\/…#[0-9a-f]{8}$/);
    expect(redactUrl('https://u:p@hooks.example.com/')).toMatch(/^https:\/\/hooks\.example\.com\/…#/);
    expect(redactUrl('no url')).toBe('…');
    // A scheme without an origin: the scheme alone, the rest hidden (still a redacted value, never 'null/').
    expect(redactUrl('foo://host')).toMatch(/^foo:\/\/…#[0-9a-f]{8}$/);
    expect(isRedactedUrl(redactUrl('foo://host/x'))).toBe(true);
  });

  it('a redacted URL sent back keeps the stored one it stands for, and only that one', () => {
    const stored = 'https://hooks.example.com/T0/B1/secret';
    const shown = redactUrl(stored);
    expect(isRedactedUrl(shown)).toBe(true);
    expect(isRedactedUrl(shown.replace('…', '%E2%80%A6'))).toBe(true);
    expect(isRedactedUrl('https://hooks.example.com/…')).toBe(true);
    expect(isRedactedUrl(stored)).toBe(false);
    expect(isRedactedUrl(`${shown}x`)).toBe(false);
    expect(redactedMatches(shown, stored)).toBe(true);
    expect(redactedMatches(shown.replace('…', '%e2%80%a6'), stored)).toBe(true);
    expect(redactedMatches(shown, 'https://hooks.example.com/T0/B1/other')).toBe(false);
    // A URL that is not redacted never matches, even the stored URL itself.
    expect(redactedMatches(stored, stored)).toBe(false);
  });
});
