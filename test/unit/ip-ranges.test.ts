import fc from 'fast-check';
import ipaddr from 'ipaddr.js';
import { describe, expect, it } from 'vitest';
import { readAddress, SPECIAL_RANGES } from '../../domain/kernel/ip-ranges.ts';
import { addressRefusal, checkTenantUrl } from '../../domain/kernel/url-policy.ts';

/**
 * The URL policy reads addresses with Node's BlockList and the special-purpose table of domain/kernel/ip-ranges.ts,
 * which is ipaddr.js's (a dev dependency here, the table's source): the table must be the installed ipaddr.js's,
 * and every address must read as ipaddr.js reads it.
 */

type Cidr = [ipaddr.IPv4 | ipaddr.IPv6, number];

/** ipaddr.js's table of a family (on the class's prototype; its type declarations leave it out). */
const specialRanges = (cls: { prototype: object }) => (cls.prototype as { SpecialRanges: Record<string, Cidr | Cidr[]> }).SpecialRanges;

/** ipaddr.js's table, as ip-ranges.ts writes one: [name, ['network/prefix', …]] in its order. */
function ipaddrTable(ranges: Record<string, Cidr | Cidr[]>): [string, string[]][] {
  return Object.entries(ranges).map(([name, r]) => {
    const list = (Array.isArray(r[0]) ? r : [r]) as Cidr[];
    return [name, list.map(([address, prefix]) => `${address.toString()}/${prefix}`)];
  });
}

/**
 * An address as the policy is given it: a URL's host (the URL parser writes an IPv6 one out, compressed, and its
 * IPv4 tail in hex) or a DNS answer (written the same way).
 */
const written = (address: string) => (address.includes(':') ? new URL(`https://[${address}]/`).hostname.slice(1, -1) : address);

/**
 * How the policy read an address with ipaddr.js (the URL policy's code before ip-ranges.ts), given it as it is
 * written out: ipaddr.js reads the IPv4-compatible ::1.2.3.4 as if it were IPv4-mapped (::ffff:1.2.3.4), a
 * notation no URL host or DNS answer is in.
 */
function oracle(raw: string): { family: string; range: string; globalUnicast: boolean } {
  let ip = ipaddr.parse(written(raw));
  if (ip.kind() === 'ipv6' && (ip as ipaddr.IPv6).isIPv4MappedAddress()) ip = (ip as ipaddr.IPv6).toIPv4Address();
  return {
    family: ip.kind(),
    range: ip.range(),
    globalUnicast: ip.kind() === 'ipv6' && (ip as ipaddr.IPv6).match(ipaddr.parseCIDR('2000::/3') as [ipaddr.IPv6, number]),
  };
}

/** An address inside `network/prefix`, its host bits drawn at random. */
const inside = (cidr: string) =>
  fc.uint8Array({ minLength: 16, maxLength: 16 }).map((random) => {
    const [network, prefix] = ipaddr.parseCIDR(cidr);
    const bytes = network.toByteArray();
    for (let bit = prefix; bit < bytes.length * 8; bit++) {
      const mask = 0x80 >> (bit % 8);
      bytes[bit >> 3] = (bytes[bit >> 3]! & ~mask) | (random[bit >> 3]! & mask);
    }
    return ipaddr.fromByteArray(bytes).toString();
  });

/** Every network of ipaddr.js's tables (the oracle's, so a range missing from ours is drawn from too). */
const V4_CIDRS = ipaddrTable(specialRanges(ipaddr.IPv4)).flatMap(([, cidrs]) => cidrs);
const ALL_CIDRS = [...V4_CIDRS, ...ipaddrTable(specialRanges(ipaddr.IPv6)).flatMap(([, cidrs]) => cidrs)];

/** Addresses of every kind: any IPv4 or IPv6, one in any special range, and IPv4 ones written IPv4-mapped (both notations). */
const anyAddress = fc.oneof(
  fc.ipV4(),
  fc.ipV6(),
  fc.constantFrom(...ALL_CIDRS).chain(inside),
  fc
    .oneof(fc.ipV4(), fc.constantFrom(...V4_CIDRS).chain(inside))
    .chain((v4) =>
      fc.constantFrom(`::ffff:${v4}`, ipaddr.IPv4.parse(v4).toIPv4MappedAddress().toString(), ipaddr.IPv4.parse(v4).toIPv4MappedAddress().toNormalizedString()),
    ),
  fc.ipV6().map((v6) => ipaddr.IPv6.parse(v6).toNormalizedString()),
);

describe('special-purpose address ranges (domain/kernel/ip-ranges.ts)', () => {
  it("are ipaddr.js's: the same categories, in the same order, with the same networks", () => {
    expect(SPECIAL_RANGES.ipv4).toEqual(ipaddrTable(specialRanges(ipaddr.IPv4)));
    expect(SPECIAL_RANGES.ipv6).toEqual(ipaddrTable(specialRanges(ipaddr.IPv6)));
  });

  it('read every address as ipaddr.js reads it: family (an IPv4-mapped one as IPv4), range, global unicast', () => {
    fc.assert(
      fc.property(anyAddress, (address) => {
        const expected = oracle(address);
        expect(readAddress(address), address).toEqual({ ...expected, globalUnicast: expected.family === 'ipv6' && expected.globalUnicast });
      }),
      { numRuns: 5000 },
    );
  });

  it('refuse what the policy refused with ipaddr.js, for the same reason, in both modes', () => {
    const names: Record<string, string> = {
      private: 'private (RFC 1918)',
      carrierGradeNat: 'carrier-grade NAT (100.64.0.0/10)',
      uniqueLocal: 'unique-local (fc00::/7)',
      linkLocal: 'link-local',
    };
    const before = (address: string, allowLoopback: boolean): string | null => {
      const { family, range, globalUnicast } = oracle(address);
      if (range === 'unicast' && family === 'ipv6' && !globalUnicast) return 'non-global IPv6 (outside 2000::/3, e.g. IPv4-compatible ::a.b.c.d)';
      if (range === 'unicast' || (range === 'loopback' && allowLoopback)) return null;
      if (range === 'linkLocal' && family === 'ipv4') return 'link-local (cloud metadata range)';
      return names[range] ?? range;
    };
    fc.assert(
      fc.property(anyAddress, fc.boolean(), (address, allowLoopback) => {
        expect(addressRefusal(address, allowLoopback), address).toBe(before(address, allowLoopback));
      }),
      { numRuns: 5000 },
    );
  });

  it('reads a zone as the address it qualifies, ::1.2.3.4 as the IPv4-compatible address it is, and nothing that is not an address in the notation of a URL host or a DNS answer', () => {
    expect(readAddress('fe80::1%eth0')).toEqual({ family: 'ipv6', range: 'linkLocal', globalUnicast: false });
    // ipaddr.js reads this one as IPv4-mapped, so as the public 1.2.3.4; it is ::102:304, outside global unicast.
    expect(readAddress('::1.2.3.4')).toEqual({ family: 'ipv6', range: 'unicast', globalUnicast: false });
    expect(addressRefusal('::1.2.3.4', true)).toMatch(/non-global IPv6/);
    expect(addressRefusal('::169.254.169.254', true)).toMatch(/non-global IPv6/);
    for (const text of ['example.com', '', '127.1', '0x7f.0.0.1', '2130706433', '1.2.3.4%eth0', '::ffff:1.2.3', '[::1]', '1.2.3.4/8'])
      expect(readAddress(text), text).toBeNull();
    // A URL's host is read after the URL parser has written it out: 0x7f.1 is 127.0.0.1 by then.
    expect(checkTenantUrl('https://0x7f.1/', { allowLoopback: false })).toMatch(/127\.0\.0\.1, a loopback/);
  });
});
