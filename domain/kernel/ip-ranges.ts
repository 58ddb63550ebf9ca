import { BlockList, isIP } from 'node:net';

/**
 * The special-purpose IP address ranges (IANA's IPv4 and IPv6 special-purpose registries, RFC 6890), by
 * category, first match wins: what the URL policy (url-policy.ts) refuses a tenant's URL by. The table is
 * ipaddr.js's (its `SpecialRanges`, the names it gives them, in its order), matched by Node's own BlockList, so
 * no address library is loaded by the functions that check a URL. test/unit/ip-ranges.test.ts holds the
 * table equal to the installed ipaddr.js's, and `readAddress` equal to its `range()` on random addresses of
 * every range: an ipaddr.js that adds a range fails that test until the range is added here.
 */
const V4 = [
  ['unspecified', ['0.0.0.0/8']],
  ['broadcast', ['255.255.255.255/32']],
  ['multicast', ['224.0.0.0/4']],
  ['linkLocal', ['169.254.0.0/16']],
  ['loopback', ['127.0.0.0/8']],
  ['carrierGradeNat', ['100.64.0.0/10']],
  ['private', ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16']],
  ['reserved', ['192.0.0.0/24', '192.0.2.0/24', '192.88.99.0/24', '198.18.0.0/15', '198.51.100.0/24', '203.0.113.0/24', '240.0.0.0/4']],
  ['as112', ['192.175.48.0/24', '192.31.196.0/24']],
  ['amt', ['192.52.193.0/24']],
] as const;

const V6 = [
  ['unspecified', ['::/128']],
  ['linkLocal', ['fe80::/10']],
  ['multicast', ['ff00::/8']],
  ['loopback', ['::1/128']],
  ['uniqueLocal', ['fc00::/7']],
  ['ipv4Mapped', ['::ffff:0:0/96']],
  ['deprecatedSiteLocal', ['fec0::/10']],
  ['discard', ['100::/64']],
  ['rfc6145', ['::ffff:0:0:0/96']],
  ['rfc6052', ['64:ff9b::/96', '64:ff9b:1::/48']],
  ['6to4', ['2002::/16']],
  ['teredo', ['2001::/32']],
  ['benchmarking', ['2001:2::/48']],
  ['amt', ['2001:3::/32']],
  ['as112v6', ['2001:4:112::/48', '2620:4f:8000::/48']],
  ['deprecatedOrchid', ['2001:10::/28']],
  ['orchid2', ['2001:20::/28']],
  ['droneRemoteIdProtocolEntityTags', ['2001:30::/28']],
  ['segmentRouting', ['5f00::/16']],
  ['reserved', ['2001::/23', '2001:db8::/32', '3fff::/20']],
] as const;

/** The tables as written, for the test that holds them equal to ipaddr.js's. */
export const SPECIAL_RANGES = { ipv4: V4, ipv6: V6 } as const;

type Family = 'ipv4' | 'ipv6';
type Lists = readonly (readonly [string, BlockList])[];

function blockList(cidrs: readonly string[], family: Family): BlockList {
  const list = new BlockList();
  for (const cidr of cidrs) {
    const [network, prefix] = cidr.split('/');
    list.addSubnet(network!, Number(prefix), family);
  }
  return list;
}

const blockLists = (table: readonly (readonly [string, readonly string[]])[], family: Family): Lists =>
  table.map(([name, cidrs]) => [name, blockList(cidrs, family)] as const);

// Built the first time an address is read, not when a function loads.
let built: { v4: Lists; v6: Lists; mapped: BlockList; globalUnicast: BlockList } | undefined;
const lists = () =>
  (built ??= {
    v4: blockLists(V4, 'ipv4'),
    v6: blockLists(V6, 'ipv6'),
    mapped: blockList(['::ffff:0:0/96'], 'ipv6'),
    globalUnicast: blockList(['2000::/3'], 'ipv6'),
  });

const firstMatch = (table: Lists, address: string, family: Family): string => table.find(([, list]) => list.check(address, family))?.[0] ?? 'unicast';

/**
 * An IP address as the policy reads it: its family, and its range (the category of the table above it is in,
 * 'unicast' when none). An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is read as the IPv4 address it holds.
 * A zone (fe80::1%eth0) does not change the range (BlockList reads past it). Null when the text is not an IP
 * address in the notation Node's `net.isIP` takes (what a URL's host and a DNS answer are written in).
 *
 * Each check names the address's family. Node 24 reads it from the address when the family given is not one
 * (so a mutant that empties it changes nothing there); Node 20 answers false, so it is given.
 */
export function readAddress(address: string): { family: Family; range: string; globalUnicast: boolean } | null {
  const version = isIP(address);
  if (version === 0) return null;
  const { v4, v6, mapped, globalUnicast } = lists();
  // BlockList reads a mapped address against IPv4 rules itself: the IPv4 table answers for it.
  // Stryker disable next-line StringLiteral: the family, which Node 24 reads from the address (above)
  if (version === 4 || mapped.check(address, 'ipv6')) {
    // Stryker disable next-line StringLiteral: the family, which Node 24 reads from the address (above)
    const range = firstMatch(v4, address, version === 4 ? 'ipv4' : 'ipv6');
    return { family: 'ipv4', range, globalUnicast: false };
  }
  // Stryker disable next-line StringLiteral: the family, which Node 24 reads from the address (above)
  const range = firstMatch(v6, address, 'ipv6');
  // Stryker disable next-line StringLiteral: the family, which Node 24 reads from the address (above)
  const inGlobalUnicast = globalUnicast.check(address, 'ipv6');
  return { family: 'ipv6', range, globalUnicast: inGlobalUnicast };
}
