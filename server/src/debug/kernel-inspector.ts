import { RtNetlinkSocket, createRtNetlink, rt } from 'netlink';
import { AF_INET, AF_INET6 } from '../datapath/netlink-codec';
import { isGone } from '../datapath/netlink-errors';
import { NL_OPTS } from '../datapath/netlink-timeout';
import { NetnsOpener } from '../datapath/netns';
import type { LinkState__Output as LinkState } from '../generated/podwire/v1/LinkState';
import type { RouteState__Output as RouteState } from '../generated/podwire/v1/RouteState';
import { KeyedMutex } from '../keyed-mutex';
import { absentLink, linkState, routesThrough } from './kernel-facts';

/** One veth end as the kernel has it now: the link, its addresses, the routes through it. */
export interface LinkView {
  link: LinkState;
  routes: RouteState[];
}

/** Reads live kernel state for GetAttachment; never changes anything. */
export interface KernelInspector {
  /** A link in podwired's own (host) network namespace. */
  hostSide(ifname: string): Promise<LinkView>;
  /** A link inside the pod network namespace at `netnsPath`. */
  podSide(netnsPath: string, ifname: string): Promise<LinkView>;
  close(): void;
}

function message(err: unknown): string {
  if (err instanceof Error) {
    const details = (err as { details?: unknown }).details;
    return typeof details === 'string' && details !== '' ? `${err.message}: ${details}` : err.message;
  }
  return String(err);
}

/** The link named `ifname` on `sock` with its addresses and main-table routes (dumps: one socket user at a time). */
async function readLink(sock: RtNetlinkSocket, ifname: string): Promise<LinkView> {
  let link: rt.LinkMessage | undefined;
  try {
    [link] = await sock.getLink({}, { ifname }, NL_OPTS);
  } catch (err) {
    if (isGone(err)) return { link: absentLink(ifname, 'no such link'), routes: [] };
    throw err;
  }
  if (!link?.data.index) return { link: absentLink(ifname, 'no such link'), routes: [] };
  const addresses: rt.AddressMessage[] = [];
  const routes: rt.RouteMessage[] = [];
  for (const family of [AF_INET, AF_INET6]) {
    addresses.push(...(await sock.getAddresses({ family }, {}, NL_OPTS)));
    routes.push(...(await sock.getRoutes({ family }, {}, NL_OPTS)));
  }
  const state = linkState(link, addresses);
  return { link: state, routes: routesThrough(routes, { index: state.index, name: state.name }) };
}

/**
 * Reads links, addresses and routes with npm netlink: on a host socket of its own (dumps on the
 * datapath's sockets would interleave with its requests), and inside a pod's netns through a
 * socket opened there for the one read. A state it cannot read is reported in `detail`.
 */
export class NetlinkKernelInspector implements KernelInspector {
  private readonly host: RtNetlinkSocket = createRtNetlink();
  private readonly serial = new KeyedMutex();

  constructor(private readonly netns: NetnsOpener) {}

  async hostSide(ifname: string): Promise<LinkView> {
    try {
      return await this.serial.run('host', () => readLink(this.host, ifname));
    } catch (err) {
      return { link: absentLink(ifname, `cannot read the host link: ${message(err)}`), routes: [] };
    }
  }

  async podSide(netnsPath: string, ifname: string): Promise<LinkView> {
    let ns;
    try {
      ns = this.netns.openPod(netnsPath);
    } catch (err) {
      return { link: absentLink(ifname, `cannot enter the pod netns: ${message(err)}`), routes: [] };
    }
    try {
      const sock = this.netns.rtnetlinkIn(ns);
      try {
        return await readLink(sock, ifname);
      } finally {
        sock.socket.close();
      }
    } catch (err) {
      return { link: absentLink(ifname, `cannot read the pod link: ${message(err)}`), routes: [] };
    } finally {
      this.netns.close(ns);
    }
  }

  close(): void {
    this.host.socket.close();
  }
}
