import net from 'node:net'

/**
 * Addresses a push endpoint must never reach (SSRF): the server would
 * otherwise POST to its own loopback, its private network or the cloud's
 * metadata service on behalf of whoever registered the endpoint.
 */
const IPV4_BLOCKED: ReadonlyArray<readonly [string, number]> = [
  ['0.0.0.0', 8], // "this network", unspecified
  ['10.0.0.0', 8], // private
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8], // loopback
  ['169.254.0.0', 16], // link-local (cloud metadata lives here)
  ['172.16.0.0', 12], // private
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.0.2.0', 24], // documentation
  ['192.168.0.0', 16], // private
  ['198.18.0.0', 15], // benchmarking
  ['198.51.100.0', 24], // documentation
  ['203.0.113.0', 24], // documentation
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
]

const IPV6_BLOCKED: ReadonlyArray<readonly [string, number]> = [
  ['::', 128], // unspecified
  ['::1', 128], // loopback
  ['100::', 64], // discard
  ['2001:db8::', 32], // documentation
  ['fc00::', 7], // unique-local
  ['fe80::', 10], // link-local
  ['fec0::', 10], // site-local (deprecated, still routed by some)
  ['ff00::', 8], // multicast
]

const blocked = new net.BlockList()
for (const [address, prefix] of IPV4_BLOCKED) blocked.addSubnet(address, prefix, 'ipv4')
for (const [address, prefix] of IPV6_BLOCKED) blocked.addSubnet(address, prefix, 'ipv6')

/** The 16 bytes of an IPv6 address (with `::` and a dotted-quad tail), or undefined when it is not one. */
function ipv6Bytes(address: string): number[] | undefined {
  if (net.isIPv6(address) === false) return undefined
  let text = address.split('%')[0]!.toLowerCase()
  const tail: number[] = []
  const dotted = text.match(/^(.*:)(\d+\.\d+\.\d+\.\d+)$/)
  if (dotted) {
    text = `${dotted[1]}0:0`
    tail.push(...dotted[2]!.split('.').map(Number))
  }
  const [head, rest] = text.includes('::') ? text.split('::') : [text, undefined]
  const headGroups = head ? head.split(':') : []
  const restGroups = rest === undefined ? [] : rest ? rest.split(':') : []
  const missing = 8 - headGroups.length - restGroups.length
  const groups = [...headGroups, ...Array(rest === undefined ? 0 : missing).fill('0'), ...restGroups]
  const bytes = groups.flatMap((group) => {
    const value = Number.parseInt(group, 16)
    return [value >> 8, value & 0xff]
  })
  if (tail.length === 4) bytes.splice(12, 4, ...tail)
  return bytes.length === 16 ? bytes : undefined
}

/**
 * The IPv4 address an IPv6 one carries and a host may route to it:
 * IPv4-mapped (::ffff:a.b.c.d), IPv4-compatible (::a.b.c.d, deprecated),
 * NAT64 well-known (64:ff9b::a.b.c.d) and 6to4 (2002:AABB:CCDD::).
 */
function embeddedIpv4(bytes: readonly number[]): string | undefined {
  const zeros = (from: number, to: number) => bytes.slice(from, to).every((b) => b === 0)
  const quad = (at: number) => bytes.slice(at, at + 4).join('.')
  if (zeros(0, 10) && bytes[10] === 0xff && bytes[11] === 0xff) return quad(12)
  if (zeros(0, 12) && !zeros(12, 16)) return quad(12)
  if (bytes[0] === 0x00 && bytes[1] === 0x64 && bytes[2] === 0xff && bytes[3] === 0x9b && zeros(4, 12)) return quad(12)
  if (bytes[0] === 0x20 && bytes[1] === 0x02) return quad(2)
  return undefined
}

/**
 * Whether an IP address (v4 or v6, IPv4-mapped and the other embeddings
 * included) is loopback, private, link-local, unique-local, unspecified,
 * multicast or otherwise not a public unicast address. Anything that is not
 * an IP address counts as private: refuse what cannot be judged.
 */
export function isPrivateAddress(address: string): boolean {
  if (net.isIPv4(address)) return blocked.check(address, 'ipv4')
  const bytes = ipv6Bytes(address)
  if (!bytes) return true
  const v4 = embeddedIpv4(bytes)
  if (v4 !== undefined && isPrivateAddress(v4)) return true
  return blocked.check(address.split('%')[0]!, 'ipv6')
}
