import type { LinkState__Output as LinkState } from '../generated/podwire/v1/LinkState';
import type { RouteState__Output as RouteState } from '../generated/podwire/v1/RouteState';
import type { NetnsOpener, PodNetns } from '../datapath/netns';
import type { RtnlSocket } from '../rtnl/rtnl-socket';
import { type NetnsSnapshot, takeSnapshot } from '../rtnl/snapshot';
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
}

function message(err: unknown): string {
  if (err instanceof Error) {
    const details = (err as { details?: unknown }).details;
    return typeof details === 'string' && details !== '' ? `${err.message}: ${details}` : err.message;
  }
  return String(err);
}

function viewOf(snapshot: NetnsSnapshot, ifname: string): LinkView {
  const link = snapshot.link(ifname);
  if (!link) return { link: absentLink(ifname, 'no such link'), routes: [] };
  return { link: linkState(link, snapshot.addressesOf(link.index)), routes: routesThrough(snapshot.routesVia(link.index), link) };
}

/**
 * Reads a link, its addresses and routes from a snapshot (rtnl/snapshot.ts): on the host's
 * dump socket (dumps there run one at a time), and inside a pod's netns through a socket
 * opened there for the one read. A state it cannot read is reported in `detail`.
 */
export class SnapshotKernelInspector implements KernelInspector {
  constructor(
    private readonly hostDumps: RtnlSocket,
    private readonly netns: NetnsOpener,
  ) {}

  async hostSide(ifname: string): Promise<LinkView> {
    try {
      return viewOf(await takeSnapshot(this.hostDumps, ['links', 'addresses', 'routes']), ifname);
    } catch (err) {
      return { link: absentLink(ifname, `cannot read the host link: ${message(err)}`), routes: [] };
    }
  }

  async podSide(netnsPath: string, ifname: string): Promise<LinkView> {
    let ns: PodNetns;
    try {
      ns = this.netns.openPod(netnsPath);
    } catch (err) {
      return { link: absentLink(ifname, `cannot enter the pod netns: ${message(err)}`), routes: [] };
    }
    try {
      const sock = this.netns.rtnetlinkIn(ns);
      try {
        return viewOf(await takeSnapshot(sock, ['links', 'addresses', 'routes']), ifname);
      } finally {
        sock.close();
      }
    } catch (err) {
      return { link: absentLink(ifname, `cannot read the pod link: ${message(err)}`), routes: [] };
    } finally {
      this.netns.close(ns);
    }
  }
}
