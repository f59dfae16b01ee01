import type { AttachmentKey } from '@podwire/ipam-store';
import { CniCode, CniError } from '../cni/cni-error';
import { RtnlSocket } from '../rtnl/rtnl-socket';
import { findLink, sendAll } from '../rtnl/operations';
import { addAddress, addPermanentNeighbour, createOnlinkRoute, createVeth, renameLink, setLinkAliasByName, setLinkDown, setLinkUp } from '../rtnl/requests';
import { decodeLink } from '../rtnl/decode';
import type { KernelLink } from '../rtnl/kernel-objects';
import { hasErrno, isGone, reasonOf } from '../rtnl/rtnl-error';
import { RTN_UNICAST, RTPROT_BOOT, RT_SCOPE_HOST, RT_SCOPE_UNIVERSE, RT_TABLE_MAIN } from '../rtnl/kernel-objects';
import { NetnsSnapshot, takeSnapshot } from '../rtnl/snapshot';
import type { RtnlRequest } from '../rtnl/rtnl-socket';
import { Datapath, HostView, OwnedHostLink, PodAddress, PodNetworkSpec, StrayHostRoute, WiredPod } from './datapath';
import { PendingDestructions } from './pending-destructions';
import { randomMac } from './random-mac';
import { ownerAlias } from './owner-alias';
import { enableForwarding } from './ip-forwarding';
import { HostProgrammer } from './host-programmer';
import { hostVethName } from './host-veth-name';
import { NetnsOpener, PodNetns } from './netns';
import { PodNetnsSockets } from './pod-netns-sockets';
import { hostSideProblems, podSideProblems, strayPodRoutes } from './routed-veth-check';
import { HOST_GATEWAY_PREFIX, POD_GATEWAY, POD_PREFIX, familiesOf, podRoutes, podStepFailure, resultIps, resultRoutes } from './routed-veth-layout';

/** How long an ADD waits for a detached pair that still holds its pod interface name. */
const DESTRUCTION_WAIT_MS = 3_000;
/**
 * At most one reaper round per this many ms: a round holds the RTNL lock for an RCU grace
 * period, so back-to-back rounds under churn would keep ADDs waiting for the lock.
 */
const REAP_INTERVAL_MS = 200;
/** How long shutdown waits for detached pairs to be destroyed (the next start removes the rest). */
const DESTRUCTION_DRAIN_MS = 2_000;

/** The name a detached host end gets: unique (by index), and not a name any ADD derives ("pw…"). */
export function detachedName(index: number): string {
  return `pz${index.toString(16)}`;
}

/** createPair's outcome: the pair made (with this end as the kernel echoed it), or a name in the way. */
type CreatedPair = { ok: true; host?: KernelLink; aliasError?: unknown } | { ok: false; error: unknown };

/** Runs undo steps in reverse; collects (does not throw) their failures for the error details. */
async function rollBack(undo: Array<() => Promise<void>>): Promise<string[]> {
  const failures: string[] = [];
  for (const step of undo.reverse()) {
    try {
      await step();
    } catch (err) {
      failures.push(reasonOf(err));
    }
  }
  return failures;
}

/** The sockets the routed veth datapath works through, each owned by its creator (RtnlSockets). */
export interface RoutedVethSockets {
  /** Requests in the host netns (never a dump: replies stay short). */
  host: RtnlSocket;
  /** Dumps of the host netns (one at a time). */
  dumps: RtnlSocket;
}

/**
 * The routed veth datapath (as Calico, Cilium and the reference ptp plugin do it): the pod end
 * is created directly inside the pod netns under CNI_IFNAME and gets IP/32, a static
 * neighbour entry and an on-link /32 route for the link-local gateway 169.254.1.1 (the host
 * end's MAC), and a default route via it (IPv6: /128, fe80::1). The host end stays in the
 * host netns, up, holding the gateway address itself (so it also answers ARP/NDP for it), with
 * a /32 (/128) route to the pod. No bridge, no L2 domain shared between pods.
 */
export class RoutedVethDatapath implements Datapath {
  private ipv6Forwarding = false;
  private readonly alias: string;
  private readonly host: RtnlSocket;
  private readonly dumps: RtnlSocket;
  /** Sockets inside pod netns, open only while a call uses them (none pins a netns). */
  private readonly pods: PodNetnsSockets;
  private readonly destructions: PendingDestructions;

  /**
   * `ownerTag` marks every host end this server creates (in its interface alias, visible in
   * `ip link`), so reconcile removes only its own debris, never another server's links.
   */
  constructor(
    sockets: RoutedVethSockets,
    private readonly programmer: HostProgrammer,
    private readonly netns: NetnsOpener,
    ownerTag: string,
  ) {
    this.host = sockets.host;
    this.dumps = sockets.dumps;
    this.alias = ownerAlias(ownerTag);
    this.destructions = new PendingDestructions((indexes) => programmer.deleteLinks(indexes), REAP_INTERVAL_MS);
    this.pods = new PodNetnsSockets(netns);
  }

  /** Netlink sockets open inside pod netns now (calls running in them; metrics). */
  netnsSocketCacheSize(): number {
    return this.pods.size;
  }

  hostIfname(key: AttachmentKey): string {
    return hostVethName(key.network, key.containerId, key.ifname);
  }

  async setUp(spec: PodNetworkSpec): Promise<WiredPod> {
    if (!this.ipv6Forwarding && spec.addresses.some((a) => a.family === 6)) {
      enableForwarding(6);
      this.ipv6Forwarding = true;
    }
    return this.pods.use(spec.netnsPath, async ({ ns, sock: pod }) => {
      const undo: Array<() => Promise<void>> = [];
      try {
        return await this.wire(spec, ns, pod, undo);
      } catch (err) {
        const failures = await rollBack(undo);
        const base = err instanceof CniError ? err : new CniError(CniCode.DatapathFailure, 'failed to wire the pod network', reasonOf(err));
        if (failures.length === 0) throw base;
        throw new CniError(base.code, base.message, `${base.details}; rollback also failed: ${failures.join('; ')}`);
      }
    });
  }

  /**
   * Two round trips when nothing is in the way: (1) one write creating the pair (host end up,
   * both MACs podwire's, NLM_F_ECHO) and marking the host end as ours by its name, (2) both
   * ends' programming, each end's requests in one write on its socket, the host routes through
   * the programmer at the same time. A name in the way (EEXIST) costs the lookups that tell
   * why, and one more try when it was debris.
   */
  private async wire(spec: PodNetworkSpec, ns: PodNetns, pod: RtnlSocket, undo: Array<() => Promise<void>>): Promise<WiredPod> {
    const podMac = spec.podMac ?? randomMac();
    let created = await this.createPair(spec, ns, podMac);
    if (!created.ok) {
      await this.clearTheWay(spec, pod, created.error);
      created = await this.createPair(spec, ns, podMac);
      if (!created.ok) throw this.interfaceExists(spec, created.error);
    }
    // The pair exists from here on: undo deletes it (by name if the kernel did not echo it).
    const echoed = created.host;
    undo.push(async () => {
      const index = echoed?.index ?? (await findLink(this.host, spec.hostIfname))?.index;
      if (index !== undefined) await this.programmer.deleteLink(index);
    });
    if (created.aliasError) throw created.aliasError;
    // A kernel without NLM_F_ECHO for links (before 5.19) answers with the acknowledgement only.
    const hostLink = echoed ?? (await findLink(this.host, spec.hostIfname));
    if (!hostLink) throw new Error(`host veth ${spec.hostIfname} vanished right after creation`);
    const podIndex = echoed?.peerIndex || (await findLink(pod, spec.podIfname))?.index;
    if (!podIndex) throw new Error(`pod veth ${spec.podIfname} not found in ${spec.netnsPath} after creation`);

    // Both ends are programmed at once, each end's requests pipelined on its socket: the
    // kernel handles one socket's requests in the order they were sent, so each end still
    // sees its steps in order (link up before the routes through it), but nobody waits for a
    // reply before sending the next request. On any failure the caller's rollback deletes the
    // host end, which takes everything with it. (The host end is up since its creation, before
    // the programmer sends the routes through it.)
    const podSteps = sendAll(pod, podRequests(podIndex, hostLink.mac, spec)).catch((err: unknown) => {
      throw podStepFailure(err, spec);
    });
    const hostSteps = sendAll(this.host, hostRequests(hostLink.index, spec));
    const hostRoutes = this.programmer.addPodRoutes(spec.addresses, hostLink.index);
    const outcomes = await Promise.allSettled([podSteps, hostSteps, hostRoutes]);
    const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
    if (failed) throw failed.reason;

    if (!this.netns.stillNamedBy(ns, spec.netnsPath)) throw new Error(`${spec.netnsPath} was replaced by another namespace while it was being wired`);
    return {
      interfaces: [
        { name: spec.hostIfname, mac: hostLink.mac, mtu: spec.mtu },
        { name: spec.podIfname, mac: podMac, mtu: spec.mtu, sandbox: spec.netnsPath },
      ],
      ips: resultIps(spec.addresses),
      routes: resultRoutes(spec),
    };
  }

  /**
   * One write: the pair (host end up, the kernel echoing it) and the owner tag on the host end.
   * The kernel handles both messages of one sendmsg(2) inside that call, so no crash of
   * podwired can leave the pair without its tag (reconcile removes tagged ends no ready
   * attachment accounts for).
   */
  private async createPair(spec: PodNetworkSpec, ns: PodNetns, podMac: string): Promise<CreatedPair> {
    const [create, alias] = await this.host.exchange([
      createVeth({ name: spec.hostIfname, mtu: spec.mtu, up: true, peer: { name: spec.podIfname, netnsFd: ns.fd, mtu: spec.mtu, mac: podMac } }),
      setLinkAliasByName(spec.hostIfname, this.alias),
    ]);
    if (!create || create.error) {
      const error = create?.error ?? new Error('no outcome for the veth creation');
      if (hasErrno(error, 'EEXIST')) return { ok: false, error };
      throw error;
    }
    const host = create.messages.map(decodeLink).find((l) => l?.name === spec.hostIfname);
    return { ok: true, ...(host ? { host } : {}), ...(alias?.error ? { aliasError: alias.error } : {}) };
  }

  /**
   * A name was in the way. The pod end's may still be held by a pair a DEL detached (the
   * same key, DEL then ADD at once): wait for its destruction. A host end with our derived
   * name but no attachment is debris of a crashed ADD of this same key: remove it. Anything
   * else is the caller's interface: refuse.
   */
  private async clearTheWay(spec: PodNetworkSpec, pod: RtnlSocket, cause: unknown): Promise<void> {
    const [inPod, stale] = await Promise.all([findLink(pod, spec.podIfname), findLink(this.host, spec.hostIfname)]);
    let existing = inPod;
    if (existing && this.destructions.involves(existing.peerIndex)) {
      this.destructions.flush(); // its round now, not at the next tick of the reaper
      await this.destructions.wait(existing.peerIndex, DESTRUCTION_WAIT_MS);
      existing = await findLink(pod, spec.podIfname);
    }
    if (existing) throw this.interfaceExists(spec, cause);
    if (stale) await this.programmer.deleteLink(stale.index);
  }

  private interfaceExists(spec: PodNetworkSpec, cause: unknown): CniError {
    return new CniError(CniCode.InterfaceExists, `interface ${spec.podIfname} already exists in ${spec.netnsPath}`, `CNI ADD must not reuse an existing interface; DEL the attachment first (${reasonOf(cause)})`);
  }

  async tearDown(hostIfname: string): Promise<void> {
    // Deleting the host end destroys the pair, and the kernel flushes every route through
    // either end: the host /32 and /128 routes, and everything podwire put in the pod.
    const link = await findLink(this.host, hostIfname);
    if (link) await this.programmer.deleteLink(link.index);
  }

  async detach(hostIfname: string, addresses: readonly PodAddress[]): Promise<void> {
    const link = await findLink(this.host, hostIfname);
    if (!link) return;
    try {
      // Down (its IPv4 routes go with that), then renamed: an ADD of the same key creates its
      // own host end at once. The alias stays: a SIGKILL before the destruction leaves an
      // owned orphan, which the next start removes.
      await sendAll(this.host, [setLinkDown(link.index), renameLink(link.index, detachedName(link.index))]);
    } catch (err) {
      if (isGone(err)) return;
      // Cannot detach it (a name clash, an old kernel): destroy it now, as tearDown does.
      await this.programmer.deleteLink(link.index);
      return;
    }
    // The pod routes go explicitly (IPv6 keeps routes through a down link), all at once.
    await this.programmer.delPodRoutes(addresses, link.index);
    // Destroyed by the reaper's next round (one group delete for all pairs detached since the
    // last round, in the programmer's worker): not awaited.
    this.destructions.reap(link.index);
  }

  pendingDestructions(): number {
    return this.destructions.size;
  }

  async check(spec: PodNetworkSpec): Promise<void> {
    const [link, host] = await Promise.all([findLink(this.host, spec.hostIfname), takeSnapshot(this.dumps, ['addresses', 'routes'])]);
    const problems = [...hostSideProblems(host, link, spec), ...(await this.podSide(spec, link?.mac))];
    if (problems.length > 0) throw new CniError(CniCode.CheckFailed, `pod network of ${spec.podIfname} is not as ADD left it`, problems.join('; '));
  }

  async podProblems(spec: PodNetworkSpec): Promise<string[]> {
    const link = await findLink(this.host, spec.hostIfname);
    return this.podSide(spec, link?.mac);
  }

  private podSide(spec: PodNetworkSpec, hostMac: string | undefined): Promise<string[]> {
    return this.pods.use(spec.netnsPath, async ({ sock }) => podSideProblems(await takeSnapshot(sock), spec, hostMac));
  }

  async readHost(): Promise<HostView> {
    return routedVethHostView(await this.snapshotHost(), this.alias);
  }

  /** What readHost() reads: the host's links, addresses and routes (one dump each). */
  snapshotHost(): Promise<NetnsSnapshot> {
    return takeSnapshot(this.dumps, ['links', 'addresses', 'routes']);
  }

  async removeStrayRoutes(routes: readonly StrayHostRoute[]): Promise<Array<{ route: StrayHostRoute; error: string }>> {
    const outcomes = await this.programmer.applyRouteChanges(routes.map((r) => ({ op: 'delete', podRoute: { address: r.address, family: r.family, oif: r.hostIndex } })));
    return outcomes.flatMap((o, i) => (o.error !== undefined && routes[i] ? [{ route: routes[i], error: o.error }] : []));
  }

  async close(): Promise<void> {
    this.pods.close();
    await this.destructions.drain(DESTRUCTION_DRAIN_MS);
  }
}

/** The host's view for reconcile: owned links by alias, their problems and stray routes, all from one snapshot. */
export function routedVethHostView(host: NetnsSnapshot, alias: string): HostView {
  const owned = host.links.filter((l) => l.alias === alias && l.name !== '');
  return {
    ownedLinks: (): OwnedHostLink[] => owned.map((l) => ({ name: l.name, index: l.index })),
    hostProblems: (spec) => hostSideProblems(host, host.link(spec.hostIfname), spec),
    strayRoutes: (ready) => {
      const keep = new Map<string, Set<string>>(ready.map((s) => [s.hostIfname, new Set(s.addresses.map((a) => a.address))]));
      return owned.flatMap((link) => {
        const held = keep.get(link.name);
        // An owned link no attachment accounts for is removed whole, its routes with it.
        if (!held) return [];
        return strayPodRoutes(host, link, held).map((r) => ({ ...r, hostIfname: link.name, hostIndex: link.index }));
      });
    },
  };
}

/**
 * The pod end, in order: its addresses, up, per family the gateway's permanent neighbour
 * entry, then its routes (podRoutes(): the config's `ipam.routes`, else a default route per
 * family), each `onlink` through this interface so the gateway needs no route of its own and
 * a second interface in the same netns never collides with this one's.
 */
function podRequests(podIndex: number, hostMac: string, spec: PodNetworkSpec): RtnlRequest[] {
  const routes = podRoutes(spec);
  const requests: RtnlRequest[] = spec.addresses.map((addr) =>
    // IPv6: no duplicate address detection, so the address is usable at once.
    addAddress({ index: podIndex, family: addr.family, address: addr.address, prefixLen: POD_PREFIX[addr.family], nodad: addr.family === 6 }, 'create'),
  );
  requests.push(setLinkUp(podIndex));
  for (const family of familiesOf(spec.addresses)) {
    requests.push(addPermanentNeighbour({ index: podIndex, family, dst: POD_GATEWAY[family], lladdr: hostMac }));
  }
  for (const r of routes) {
    requests.push(
      createOnlinkRoute({ family: r.family, dst: r.dst, dstLen: r.dstLen, gateway: r.gw, oif: podIndex, table: RT_TABLE_MAIN, protocol: RTPROT_BOOT, scope: RT_SCOPE_UNIVERSE, type: RTN_UNICAST }),
    );
  }
  return requests;
}

/**
 * The host end (up since its creation, tagged in the same write): the gateway address per
 * family (the routes to the pod go through the batched programmer). The host end owns the
 * gateway address, so it answers ARP/NDP for it whenever the pod's static neighbour entry is
 * flushed (a chained plugin changing the pod's MAC does that). IPv4: scope host, so the host
 * never picks it as the source of its own traffic. (No undo of their own: deleting the host
 * end flushes them.)
 */
function hostRequests(hostIndex: number, spec: PodNetworkSpec): RtnlRequest[] {
  return familiesOf(spec.addresses).map((family) =>
    addAddress(
      { index: hostIndex, family, address: POD_GATEWAY[family], prefixLen: HOST_GATEWAY_PREFIX[family], ...(family === 4 ? { scope: RT_SCOPE_HOST } : { nodad: true }) },
      'replace',
    ),
  );
}
