import ipaddr from 'ipaddr.js'

/**
 * The key a per-client budget counts under: an IPv4 address as it is, an IPv6 address by its /64. One
 * IPv6 host (a home line, a cloud VM) is routinely given a whole /64, so keying on the full address
 * would hand it 2^64 fresh budgets. IPv4-mapped IPv6 (::ffff:192.0.2.1) counts as the IPv4 address.
 * Parsing is ipaddr.js's (already Fastify's, through proxy-addr), not ours.
 */
export function clientAddressKey(ip: string): string {
  if (!ipaddr.isValid(ip)) return ip
  const address = ipaddr.process(ip)
  if (address.kind() === 'ipv4') return address.toString()
  const prefix = (address as ipaddr.IPv6).parts.slice(0, 4)
  return `${new ipaddr.IPv6([...prefix, 0, 0, 0, 0]).toString()}/64`
}
