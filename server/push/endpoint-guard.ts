import dns from 'node:dns'
import type { LookupFunction } from 'node:net'
import net from 'node:net'
import { isPrivateAddress } from './private-addresses.ts'

/** Why an endpoint is refused, for the person registering it (never a stack or a resolver's internals). */
export class EndpointRefused extends Error {
  override name = 'EndpointRefused'
}

/** URL.hostname keeps the brackets of an IPv6 literal. */
const bareHost = (hostname: string) => hostname.replace(/^\[(.*)\]$/, '$1')

/**
 * The endpoint as a URL when it may be posted to: `https:` (also `http:` when
 * private endpoints are allowed, for tests), no credentials in it, and a host
 * that is not, and does not resolve to, a private address. Throws
 * EndpointRefused otherwise. The send re-checks every connection's address
 * (guardedLookup), because DNS can answer differently later.
 */
export async function checkEndpoint(endpoint: string, allowPrivate: boolean): Promise<URL> {
  let url: URL
  try {
    url = new URL(endpoint)
  } catch {
    throw new EndpointRefused('endpoint must be an absolute https: URL')
  }
  if (url.protocol !== 'https:' && !(allowPrivate && url.protocol === 'http:')) {
    throw new EndpointRefused('endpoint must be an https: URL')
  }
  if (url.username || url.password) throw new EndpointRefused('endpoint must not carry credentials')
  if (allowPrivate) return url
  const host = bareHost(url.hostname)
  if (net.isIP(host)) {
    if (isPrivateAddress(host)) throw new EndpointRefused('endpoint must not be a private or loopback address')
    return url
  }
  let addresses: dns.LookupAddress[]
  try {
    addresses = await dns.promises.lookup(host, { all: true, verbatim: true })
  } catch {
    throw new EndpointRefused('endpoint host does not resolve')
  }
  if (addresses.length === 0) throw new EndpointRefused('endpoint host does not resolve')
  if (addresses.some((a) => isPrivateAddress(a.address))) {
    throw new EndpointRefused('endpoint host resolves to a private or loopback address')
  }
  return url
}

/** A connection's address, refused at send time when it is private (an IP-literal host is never looked up). */
export function refusedLiteral(url: URL, allowPrivate: boolean): boolean {
  const host = bareHost(url.hostname)
  return !allowPrivate && net.isIP(host) !== 0 && isPrivateAddress(host)
}

/**
 * `lookup` for the push requests' sockets: resolves as usual and refuses the
 * connection when any answer is a private address (unless allowed), so a
 * host that resolved to a public address at registration and to 127.0.0.1
 * now is not reached.
 */
export function guardedLookup(allowPrivate: boolean): LookupFunction {
  return (hostname, options, callback) => {
    dns.lookup(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) return callback(error, '', 4)
      const list = addresses as dns.LookupAddress[]
      if (!allowPrivate && list.some((a) => isPrivateAddress(a.address))) {
        const refused = Object.assign(new Error(`push endpoint host resolves to a private address`), {
          code: 'EPUSHPRIVATE',
        })
        return callback(refused, '', 4)
      }
      if (list.length === 0) return callback(Object.assign(new Error('no address'), { code: 'ENOTFOUND' }), '', 4)
      if (options.all) return (callback as unknown as (e: null, a: dns.LookupAddress[]) => void)(null, list)
      callback(null, list[0]!.address, list[0]!.family)
    })
  }
}
