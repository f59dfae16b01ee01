/**
 * Path MTU to each VXLAN peer, measured: one UDP datagram as large as the underlay link
 * allows, sent to the peer's VXLAN port (Linux sets DF on UDP by default, and the peer's VXLAN
 * socket drops a datagram that is not VXLAN), then `ip route get <peer>`: a router on the way
 * whose next link is smaller answers "fragmentation needed" / "packet too big", which the
 * kernel keeps as the path MTU of that destination (RTAX_MTU). A path that drops large
 * packets without saying so (an ICMP black hole) is not detected.
 */
import * as dgram from 'node:dgram';
import { decodeRouteLookup, getRouteTo } from '../rtnl/route-lookup';
import type { RtnlSocket } from '../rtnl/rtnl-socket';
import { familyOf } from './peer';

/** IPv4 (20) or IPv6 (40) header + UDP (8). */
const udpOverhead = (address: string) => (familyOf(address) === 6 ? 48 : 28);

/** Sends one datagram of `size` bytes of payload to address:port (errors, e.g. EMSGSIZE once the path MTU is known, are ignored). */
export type ProbeSender = (address: string, port: number, size: number) => Promise<void>;

export const udpProbeSender: ProbeSender = (address, port, size) =>
  new Promise((resolve) => {
    const s = dgram.createSocket(familyOf(address) === 6 ? 'udp6' : 'udp4');
    s.on('error', () => undefined);
    s.send(Buffer.alloc(size), port, address, () => {
      s.close();
      resolve();
    });
  });

export interface PathMtuProbeOptions {
  sock: RtnlSocket;
  /** The peers' VXLAN port. */
  port: number;
  send?: ProbeSender;
  /** How long to wait for a router's answer before reading the route. */
  waitMs?: number;
}

/**
 * Probes several destinations at once: every datagram sent, one wait, then one route lookup
 * each (pipelined). Resolves with each address's path MTU: the learnt one, else `linkMtu`.
 */
export async function probePathMtus(opts: PathMtuProbeOptions, addresses: readonly string[], linkMtu: number): Promise<Map<string, number>> {
  const send = opts.send ?? udpProbeSender;
  await Promise.all(addresses.map((a) => send(a, opts.port, linkMtu - udpOverhead(a))));
  await new Promise((r) => setTimeout(r, opts.waitMs ?? 300));
  const outcomes = await opts.sock.exchange(addresses.map(getRouteTo));
  const found = new Map<string, number>();
  addresses.forEach((a, i) => {
    const msg = outcomes[i]?.messages?.[0];
    const lookup = msg ? decodeRouteLookup(msg) : undefined;
    if (lookup) found.set(a, Math.min(lookup.mtu ?? linkMtu, linkMtu));
  });
  return found;
}
