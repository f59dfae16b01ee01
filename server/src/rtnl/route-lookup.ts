/**
 * `ip route get DST`: the kernel's route to one address, with the path MTU it learnt for it
 * (a router's "fragmentation needed" / "packet too big" lands in the route exception cache,
 * reported as RTAX_MTU in RTA_METRICS).
 */
import { AttrStream, rt } from './netlink-parts';
import { addressBytes, afOf, familyOfText } from './addresses';
import { eachAttr } from './decode';
import type { NetlinkMessage } from './netlink-parts';
import type { RtnlRequest } from './rtnl-socket';

const RTA_OIF = 4;
const RTA_METRICS = 8;
const RTAX_MTU = 2;
const RTM_NEWROUTE = 24;

export function getRouteTo(address: string): RtnlRequest {
  const family = familyOfText(address);
  const out = new AttrStream();
  rt.formatRouteMessage(
    { kind: 'route', data: { family: afOf(family), dstLen: family === 6 ? 128 : 32 } as rt.Route, attrs: { dst: addressBytes(address) } },
    out,
  );
  return { type: rt.MessageType.GETROUTE, flags: 0, payload: out.bufs, expect: 'answer', what: `RTM_GETROUTE ${address}` };
}

export interface RouteLookup {
  /** The output link. */
  oif: number;
  /** The MTU the route carries (a learnt path MTU, or one set on the route); undefined: the link's. */
  mtu: number | undefined;
}

export function decodeRouteLookup(msg: NetlinkMessage): RouteLookup | undefined {
  if (msg.type !== RTM_NEWROUTE || msg.data.length < 12) return undefined;
  const buf = msg.data;
  const found: RouteLookup = { oif: 0, mtu: undefined };
  eachAttr(buf, 12, (type, start, end) => {
    if (type === RTA_OIF && end - start >= 4) found.oif = buf.readUInt32LE(start);
    else if (type === RTA_METRICS) {
      eachAttr(buf.subarray(0, end), start, (t, s, e) => {
        if (t === RTAX_MTU && e - s >= 4) found.mtu = buf.readUInt32LE(s);
      });
    }
  });
  return found;
}
