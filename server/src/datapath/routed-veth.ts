import type { AttachmentKey } from '@podwire/ipam-store';
import { CniCode, CniError } from '../cni/cni-error';
import type { RtnlSocket } from '../rtnl/rtnl-socket';
import { findLink, sendAll } from '../rtnl/operations';
import { addAddress, addPermanentNeighbour, createOnlinkRoute, createVeth, renameLink, setLinkAlias, setLinkDown, setLinkUp } from '../rtnl/requests';
import { decodeLink } from '../rtnl/decode';
import type { KernelLink } from '../rtnl/kernel-objects';
import { hasErrno, isGone, reasonOf } from '../rtnl/rtnl-error';
import { RTN_UNICAST, RTPROT_BOOT, RT_SCOPE_HOST, RT_SCOPE_UNIVERSE, RT_TABLE_MAIN, routeProtocolName } from '../rtnl/kernel-objects';
import { type NetnsSnapshot, takeSnapshot } from '../rtnl/snapshot';
import type { RtnlRequest } from '../rtnl/rtnl-socket';
import type { Datapath, HostView, OwnedHostLink, PodAddress, PodNetworkSpec, StrayHostRoute, WiredPod } from './datapath';
import { PendingDestructions } from './pending-destructions';
import { enableForwarding } from './ip-forwarding';
import type { HostProgrammer } from './host-programmer';
import { type LinkOwner, detachedName, hostVethName, isDetachedName, linkOwner, ownedBy, randomMac } from './link-identity';
import type { NetnsOpener, PodNetns } from './netns';
import { PodNetnsSockets } from './pod-netns-sockets';
import { hostSideProblems, podSideProblems, sameAddress, strayPodRoutes } from './routed-veth-check';
import { type PodRouteChange, RTPROT_PODWIRE, hostRouteRequest } from './host-routes';
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

/** The pair could not be created: the pod interface name is taken (EEXIST; the kernel made nothing). */
class PodNameTaken extends Error {
  constructor(readonly cause: unknown) {
    super(reasonOf(cause));
  }
}

/** The pair could not be created: a link already holds the host end's derived name (EEXIST; the kernel made nothing). */
class HostNameTaken extends Error {
  constructor(readonly cause: unknown) {
    super(reasonOf(cause));
  }
}

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
 * neighbour entry for the link-local gateway 169.254.1.1 (the host end's MAC), and a default
 * route via it, onlink (IPv6: /128, fe80::1; routed-veth-layout.ts). The host end stays in the
 * host netns, up, holding the gateway address itself (so it also answers ARP/NDP for it), with
 * a /32 (/128) route to the pod that no other attachment's or program's route ever replaces.
 * No bridge, no L2 domain shared between pods. The host end carries this server's owner tag
 * from its creation on (its interface group, then also its alias); a link without it is
 * never changed or removed.
 */
export class RoutedVethDatapath implements Datapath {
  private ipv6Forwarding = false;
  private readonly owner: LinkOwner;
  private readonly host: RtnlSocket;
  private readonly dumps: RtnlSocket;
  /** Sockets inside pod netns, open only while a call uses them (none pins a netns). */
  private readonly pods: PodNetnsSockets;
  private readonly destructions: PendingDestructions;
  /**
   * Pairs of an attachment (by its host name) that a failed rollback or detach left behind
   * (under its derived name or a detached one): tearDown() and detach() of that attachment, and
   * its next ADD, try again to destroy them. (A restart's reconcile removes any still left.)
   */
  private readonly leftovers = new Map<string, string>();

  /**
   * `ownerTag` marks every host end this server creates (its interface group from the
   * creating request on, then its interface alias, visible in `ip link`; link-identity.ts),
   * so reconcile removes only its own debris, never another server's links.
   */
  constructor(
    sockets: RoutedVethSockets,
    private readonly programmer: HostProgrammer,
    private readonly netns: NetnsOpener,
    ownerTag: string,
  ) {
    this.host = sockets.host;
    this.dumps = sockets.dumps;
    this.owner = linkOwner(ownerTag);
    this.destructions = new PendingDestructions((indexes) => programmer.deleteLinks(indexes), { intervalMs: REAP_INTERVAL_MS });
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
      // A name in the way is cleared (or found to be someone else's), then the ADD is tried
      // again: at most once per name (the pod's, the host end's).
      const cleared = { pod: false, host: false };
      for (;;) {
        const undo: Array<() => Promise<void>> = [];
        try {
          return await this.wire(spec, ns, pod, undo);
        } catch (err) {
          const failures = await rollBack(undo);
          if (failures.length > 0) {
            // The pair may still exist (under its derived name, tagged): tearDown() and
            // detach() of this attachment try again to destroy it, and so does its next ADD.
            this.leftovers.set(spec.hostIfname, spec.hostIfname);
            const base = err instanceof CniError ? err : new CniError(CniCode.DatapathFailure, 'failed to wire the pod network', reasonOf(err));
            throw new CniError(base.code, base.message, `${base.details}; rollback also failed: ${failures.join('; ')}`);
          }
          if (err instanceof PodNameTaken && !cleared.pod) {
            await this.waitForPodName(spec, pod, err.cause);
            cleared.pod = true;
          } else if (err instanceof HostNameTaken && !cleared.host) {
            await this.clearHostName(spec, err.cause);
            cleared.host = true;
          } else if (err instanceof PodNameTaken) {
            throw this.interfaceExists(spec, err.cause);
          } else if (err instanceof HostNameTaken) {
            throw this.hostInterfaceExists(spec, err.cause, await findLink(this.host, spec.hostIfname));
          } else {
            throw err instanceof CniError ? err : new CniError(CniCode.DatapathFailure, 'failed to wire the pod network', reasonOf(err));
          }
        }
      }
    });
  }

  /**
   * Two round trips when nothing is in the way: (1) one request creating the pair (host end
   * up under its derived name in this server's interface group, the pod end's MAC
   * podwire's, NLM_F_ECHO), (2) both ends' programming, each end's requests in one write on
   * its socket: on the host, the alias, the gateway addresses and the routes to the pod.
   * A name in the way (EEXIST) costs the lookups that tell why, and one more try when it
   * was ours to clear.
   */
  private async wire(spec: PodNetworkSpec, ns: PodNetns, pod: RtnlSocket, undo: Array<() => Promise<void>>): Promise<WiredPod> {
    const podMac = spec.podMac ?? randomMac();
    const hostLink = await this.createPair(spec, ns, podMac, undo);
    const podIndex = hostLink.peerIndex || (await findLink(pod, spec.podIfname))?.index;
    if (!podIndex) throw new Error(`pod veth ${spec.podIfname} not found in ${spec.netnsPath} after creation`);

    // Both ends are programmed at once, each end's requests pipelined on its socket: the
    // kernel handles one socket's requests in the order they were sent, so each end still
    // sees its steps in order (the host end, created named and up, gets its addresses before the routes through it), but
    // nobody waits for a reply before sending the next request. On any failure the caller's
    // rollback deletes the host end, which takes everything with it.
    const podSteps = sendAll(pod, podRequests(podIndex, hostLink.mac, spec)).catch((err: unknown) => {
      throw podStepFailure(err, spec);
    });
    const outcomes = await Promise.allSettled([podSteps, this.programHostEnd(hostLink.index, spec)]);
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
   * One request: the pair, the host end up (no request of its own for that) under its
   * derived name and in this server's interface group (the kernel echoing it). The group is set by the creating request itself,
   * so no crash of podwired can leave the pair without its tag (reconcile removes tagged ends
   * no ready attachment accounts for); the alias follows in the second write. (Created under
   * another name and renamed, the host end would cost the kernel a second registration of its
   * per-device sysctls and an RCU grace period.) EEXIST: a name is taken and the kernel made
   * nothing; a lookup of the host name tells which. Pushes the pair's undo as soon as the
   * pair may exist (a creation whose answer timed out may have been made); it deletes only a
   * link of this server's.
   */
  private async createPair(spec: PodNetworkSpec, ns: PodNetns, podMac: string, undo: Array<() => Promise<void>>): Promise<KernelLink> {
    const name = spec.hostIfname;
    const [create] = await this.host.exchange([
      createVeth({
        name,
        mtu: spec.mtu,
        up: true,
        group: this.owner.group,
        peer: { name: spec.podIfname, netnsFd: ns.fd, mtu: spec.mtu, mac: podMac },
      }),
    ]);
    if (create?.error && hasErrno(create.error, 'EEXIST')) {
      if (await findLink(this.host, name)) throw new HostNameTaken(create.error);
      throw new PodNameTaken(create.error);
    }
    let index = create?.messages?.map(decodeLink).find((l) => l?.name === name)?.index;
    undo.push(async () => {
      if (index !== undefined) return this.programmer.deleteLink(index);
      // The creation's answer was lost: the link under the name is the pair only when it is ours.
      const link = await findLink(this.host, name);
      if (link && this.owns(link)) await this.programmer.deleteLink(link.index);
    });
    if (!create || create.error) throw create?.error ?? new Error('no outcome for the veth creation');
    // A kernel without NLM_F_ECHO for links (before 5.19) answers with the acknowledgement only.
    const echoed = create.messages.map(decodeLink).find((l) => l?.name === name);
    const host = echoed ?? (await findLink(this.host, name));
    if (!host) throw new Error(`host veth ${name} vanished right after creation`);
    // Looked up by name (no echo): only a link in this server's group can be the one just made.
    if (!echoed && !this.owns(host)) throw new Error(`host veth ${name} is not the link just created (another took its name meanwhile)`);
    index = host.index;
    return host;
  }

  /**
   * The host end's second write, in order: its alias (the owner tag, readable in `ip link`),
   * the gateway addresses, and the routes to the pod, each created exclusively
   * (CREATE|EXCL): a route to a pod address that exists already is never replaced
   * (claimRoutes() says whose it is).
   */
  private async programHostEnd(index: number, spec: PodNetworkSpec): Promise<void> {
    const steps = [setLinkAlias(index, this.owner.alias), ...gatewayAddresses(index, spec)];
    const routes = spec.addresses.map((a) => hostRouteRequest({ op: 'create', podRoute: { address: a.address, family: a.family, oif: index } }));
    const outcomes = await this.host.exchange([...steps, ...routes]);
    const stepFailure = outcomes.slice(0, steps.length).find((o) => o.error)?.error;
    if (stepFailure) throw stepFailure;
    const taken: PodAddress[] = [];
    spec.addresses.forEach((addr, i) => {
      const error = outcomes[steps.length + i]?.error;
      if (!error) return;
      if (!hasErrno(error, 'EEXIST')) throw error;
      taken.push(addr);
    });
    if (taken.length > 0) await this.claimRoutes(taken, index);
  }

  /**
   * Routes to pod addresses that exist already (their creation answered EEXIST). One of
   * podwire's own through a host end a DEL detached (its route delete failed and the pair is
   * still being destroyed) is stale: deleted, and the route created again. Any other is
   * someone else's (another attachment's, another program's) and is never replaced: the ADD
   * fails naming it.
   */
  private async claimRoutes(taken: readonly PodAddress[], index: number): Promise<void> {
    const host = await takeSnapshot(this.dumps, ['links', 'routes']);
    const stale: PodRouteChange[] = [];
    const others: string[] = [];
    for (const addr of taken) {
      const route = host.routes.find(
        (r) => r.table === RT_TABLE_MAIN && r.family === addr.family && r.dstLen === POD_PREFIX[addr.family] && sameAddress(r.dst, addr.address),
      );
      if (!route) continue; // gone meanwhile: created again below
      const via = route.oif ? host.linkAt(route.oif) : undefined;
      if (route.protocol === RTPROT_PODWIRE && via && this.owns(via) && (isDetachedName(via.name) || this.destructions.involves(via.index))) {
        stale.push({ op: 'delete', podRoute: { address: addr.address, family: addr.family, oif: via.index } });
      } else {
        others.push(
          `${addr.address}/${POD_PREFIX[addr.family]}${via ? ` dev ${via.name}` : route.oif ? ` dev #${route.oif}` : ''} proto ${routeProtocolName(route.protocol)}`,
        );
      }
    }
    if (others.length > 0) {
      throw new CniError(
        CniCode.DatapathFailure,
        `a host route to the pod's address already exists: ${others.join(', ')}`,
        'podwire never replaces a host route it did not create for this pod (another attachment or another program owns it): remove that route, or give the pod another address',
      );
    }
    const failed = (await this.programmer.applyRouteChanges(stale)).find((o) => o.error !== undefined);
    if (failed) throw new Error(`could not delete a stale host route of a detached pod: ${failed.error}`);
    await sendAll(
      this.host,
      taken.map((a) => hostRouteRequest({ op: 'create', podRoute: { address: a.address, family: a.family, oif: index } })),
    );
  }

  /**
   * The pod interface name is taken. It may still be held by a pair a DEL detached (the same
   * key, DEL then ADD at once): wait for its destruction; or by a pair of this attachment whose
   * destruction failed before: destroy it now. Anything else is the caller's interface: refuse.
   */
  private async waitForPodName(spec: PodNetworkSpec, pod: RtnlSocket, cause: unknown): Promise<void> {
    await this.destroyLeftover(spec.hostIfname);
    let existing = await findLink(pod, spec.podIfname);
    if (existing && this.destructions.involves(existing.peerIndex)) {
      this.destructions.flush(); // its round now, not at the next tick of the reaper
      await this.destructions.wait(existing.peerIndex, DESTRUCTION_WAIT_MS);
      existing = await findLink(pod, spec.podIfname);
    }
    if (existing) throw this.interfaceExists(spec, cause);
  }

  /**
   * A link holds the derived host name. One of this server's (its tag) is debris of a
   * crashed ADD of this same key (an ADD of a key with an attachment never gets here):
   * removed. Any other link is not podwire's to take or remove: refuse.
   */
  private async clearHostName(spec: PodNetworkSpec, cause: unknown): Promise<void> {
    const holder = await findLink(this.host, spec.hostIfname);
    if (!holder) return; // gone meanwhile
    if (!this.owns(holder)) throw this.hostInterfaceExists(spec, cause, holder);
    await this.programmer.deleteLink(holder.index);
  }

  private interfaceExists(spec: PodNetworkSpec, cause: unknown): CniError {
    return new CniError(
      CniCode.InterfaceExists,
      `interface ${spec.podIfname} already exists in ${spec.netnsPath}`,
      `CNI ADD must not reuse an existing interface; DEL the attachment first (${reasonOf(cause)})`,
    );
  }

  private hostInterfaceExists(spec: PodNetworkSpec, cause: unknown, holder: KernelLink | undefined): CniError {
    const message = `host interface ${spec.hostIfname} already exists`;
    if (holder && !this.owns(holder)) {
      const alias = holder.alias === '' ? 'no alias' : `alias "${holder.alias}"`;
      return new CniError(
        CniCode.InterfaceExists,
        `${message} and podwire did not create it`,
        `it has ${alias} (group ${holder.group}), not this server's "${this.owner.alias}": podwire neither takes over nor removes a link it did not create; remove it, or DEL the attachment through whatever created it (${reasonOf(cause)})`,
      );
    }
    return new CniError(CniCode.InterfaceExists, message, `it was in the way again after it was cleared (${reasonOf(cause)})`);
  }

  /** True for a link this server created (it carries the owner tag: link-identity.ts ownedBy). */
  private owns(link: KernelLink): boolean {
    return ownedBy(link, this.owner);
  }

  /** Destroys a pair of this attachment a failed rollback or detach left behind, if any (fine when gone). */
  private async destroyLeftover(hostIfname: string): Promise<void> {
    const name = this.leftovers.get(hostIfname);
    if (name === undefined) return;
    const link = await findLink(this.host, name);
    if (link && this.owns(link)) await this.programmer.deleteLink(link.index);
    this.leftovers.delete(hostIfname);
  }

  async tearDown(hostIfname: string): Promise<void> {
    // Deleting the host end destroys the pair, and the kernel flushes every route through
    // either end: the host /32 and /128 routes, and everything podwire put in the pod. A link
    // under that name that this server did not create is left alone.
    await this.destroyLeftover(hostIfname);
    const link = await findLink(this.host, hostIfname);
    if (link && this.owns(link)) await this.programmer.deleteLink(link.index);
  }

  async detach(hostIfname: string, addresses: readonly PodAddress[]): Promise<void> {
    await this.destroyLeftover(hostIfname);
    const link = await findLink(this.host, hostIfname);
    if (!link || !this.owns(link)) return;
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
    try {
      // The pod routes go explicitly, all at once, and only through this host end: the kernel
      // here (6.x) flushed both families' routes through the link when it went down, and the
      // deletes find them gone (done, changeRoute's goneIsDone), but podwire does not count on
      // every kernel doing so.
      await this.programmer.delPodRoutes(addresses, link.index);
    } catch (routeErr) {
      // Destroying the pair takes every route through it: do it now, rather than leave the
      // routes (and the pair) to the reaper.
      try {
        await this.programmer.deleteLink(link.index);
      } catch (destroyErr) {
        this.leftovers.set(hostIfname, detachedName(link.index));
        throw new Error(
          `deleting the pod routes through ${detachedName(link.index)} failed (${reasonOf(routeErr)}), and so did destroying the pair (${reasonOf(destroyErr)})`,
        );
      }
      return;
    }
    // Destroyed by the reaper's next round (one group delete for all pairs detached since the
    // last round, in the programmer's worker): not awaited. A pair the reaper gives up on is
    // remembered for the attachment: its next ADD, DEL or tearDown tries again.
    this.destructions.reap(link.index, () => this.leftovers.set(hostIfname, detachedName(link.index)));
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
    return routedVethHostView(await this.snapshotHost(), this.owner);
  }

  /**
   * What readHost() reads: the host's links, addresses and routes (one dump each). A dump
   * still interrupted after every try is taken as read (the snapshot says so): on a host where
   * other programs change links all the time, a consistent read may never come, and start-up
   * acts only on what the read shows (see HostView.interrupted).
   */
  snapshotHost(): Promise<NetnsSnapshot> {
    return takeSnapshot(this.dumps, ['links', 'addresses', 'routes'], { interrupted: 'accept' });
  }

  async removeStrayRoutes(routes: readonly StrayHostRoute[]): Promise<Array<{ route: StrayHostRoute; error: string }>> {
    const outcomes = await this.programmer.applyRouteChanges(
      routes.map((r) => ({ op: 'delete', podRoute: { address: r.address, family: r.family, oif: r.hostIndex } })),
    );
    return outcomes.flatMap((o, i) => (o.error !== undefined && routes[i] ? [{ route: routes[i], error: o.error }] : []));
  }

  async close(): Promise<void> {
    this.pods.close();
    await this.destructions.drain(DESTRUCTION_DRAIN_MS);
  }
}

/** The host's view for reconcile: owned links (by owner tag), their problems and stray routes, all from one snapshot. */
export function routedVethHostView(host: NetnsSnapshot, owner: LinkOwner): HostView {
  const owned = host.links.filter((l) => ownedBy(l, owner) && l.name !== '');
  return {
    interrupted: host.interrupted,
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
      createOnlinkRoute({
        family: r.family,
        dst: r.dst,
        dstLen: r.dstLen,
        gateway: r.gw,
        oif: podIndex,
        table: RT_TABLE_MAIN,
        protocol: RTPROT_BOOT,
        scope: RT_SCOPE_UNIVERSE,
        type: RTN_UNICAST,
      }),
    );
  }
  return requests;
}

/**
 * The gateway address per family on the host end (programHostEnd() sends them after its name
 * and up, before the routes to the pod). The host end owns the
 * gateway address, so it answers ARP/NDP for it whenever the pod's static neighbour entry is
 * flushed (a chained plugin changing the pod's MAC does that). IPv4: scope host, so the host
 * never picks it as the source of its own traffic. (No undo of their own: deleting the host
 * end flushes them.)
 */
function gatewayAddresses(hostIndex: number, spec: PodNetworkSpec): RtnlRequest[] {
  return familiesOf(spec.addresses).map((family) =>
    addAddress(
      {
        index: hostIndex,
        family,
        address: POD_GATEWAY[family],
        prefixLen: HOST_GATEWAY_PREFIX[family],
        ...(family === 4 ? { scope: RT_SCOPE_HOST } : { nodad: true }),
      },
      'replace',
    ),
  );
}
