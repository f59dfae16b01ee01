import { FlagsNew, RtNetlinkSocket } from 'netlink';
import { AF_INET, AF_INET6, RT_TABLE_MAIN, RTPROT_PODWIRE, addressBytes } from './netlink-codec';
import { NL_OPTS } from './netlink-timeout';
import { isGone } from './netlink-errors';
import { PodAddress } from './datapath';
import { deleteLinksAsGroup } from './link-group-delete';

/**
 * Changes to the host's routing and links on behalf of pods, through the server's one warm
 * host rtnetlink socket. Kept behind this seam so a batching implementation can replace the
 * direct one without touching the datapath.
 */
export interface HostProgrammer {
  /** Route `address/32` (or /128) to the host end of the pod's veth. Replaces a stale route. */
  addPodRoute(addr: PodAddress, hostIndex: number): Promise<void>;
  /** Removes the pod route; fine when it is already gone. */
  delPodRoute(addr: PodAddress, hostIndex: number | undefined): Promise<void>;
  /** Deletes a link by index; fine when it is already gone. Index 0 is refused (it means "all"). */
  deleteLink(index: number): Promise<void>;
}

function podRoute(addr: PodAddress) {
  const family = addr.family === 6 ? AF_INET6 : AF_INET;
  return {
    family,
    dstLen: addr.family === 6 ? 128 : 32,
    table: RT_TABLE_MAIN,
    protocol: RTPROT_PODWIRE,
    // IPv6 routes have no scope; IPv4 host routes to a device are link-scoped.
    scope: addr.family === 6 ? ('UNIVERSE' as const) : ('LINK' as const),
    type: 'UNICAST' as const,
  };
}

export class DirectHostProgrammer implements HostProgrammer {
  constructor(private readonly host: RtNetlinkSocket) {}

  async addPodRoute(addr: PodAddress, hostIndex: number): Promise<void> {
    await this.host.newRoute(
      podRoute(addr),
      { dst: addressBytes(addr.address), oif: hostIndex },
      { ...NL_OPTS, flags: FlagsNew.CREATE | FlagsNew.REPLACE },
    );
  }

  async delPodRoute(addr: PodAddress, hostIndex: number | undefined): Promise<void> {
    try {
      await this.host.delRoute(podRoute(addr), {
        dst: addressBytes(addr.address),
        ...(hostIndex ? { oif: hostIndex } : {}),
      }, NL_OPTS);
    } catch (err) {
      if (!isGone(err)) throw err;
    }
  }

  async deleteLink(index: number): Promise<void> {
    // A batch of one: the same checks and "already gone is fine" as every batched delete.
    const [outcome] = await deleteLinksAsGroup(this.host, 0, [index]);
    if (outcome?.error !== undefined) throw new Error(outcome.error);
  }
}
