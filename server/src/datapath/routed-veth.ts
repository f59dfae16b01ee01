import { FlagsNew, RtNetlinkSocket, createRtNetlink, ifla, rt } from 'netlink';
import { CniCode, CniError } from '../cni/cni-error';
import { KeyedMutex } from '../keyed-mutex';
import { Datapath, OwnedHostLink, PodAddress, PodNetworkSpec, POD_GATEWAY, POD_PREFIX, WiredPod } from './datapath';
import { enableForwarding } from './ip-forwarding';
import { HostProgrammer } from './host-programmer';
import { AF_INET, AF_INET6, RT_TABLE_MAIN, RTPROT_PODWIRE, addressBytes, bytesToAddress, encodeStream, macBytes, macToString } from './netlink-codec';
import { isGone, isNetlinkErrno } from './netlink-errors';
import { NL_OPTS } from './netlink-timeout';
import { NetnsOpener, PodNetns } from './netns';
import { PodSocketCache } from './pod-socket-cache';

const CREATE_EXCL = { ...NL_OPTS, flags: FlagsNew.CREATE | FlagsNew.EXCL };
const CREATE_REPLACE = { ...NL_OPTS, flags: FlagsNew.CREATE | FlagsNew.REPLACE };
const RT_SCOPE_HOST = 254;
const SWEEP_INTERVAL_MS = 30_000;

interface LinkFacts {
  index: number;
  mac: string;
  up: boolean;
}

async function findLink(sock: RtNetlinkSocket, ifname: string): Promise<LinkFacts | undefined> {
  try {
    const [msg] = await sock.getLink({}, { ifname }, NL_OPTS);
    if (!msg?.data.index) return undefined;
    return { index: msg.data.index, mac: macToString(msg.attrs.address), up: Boolean(msg.data.flags?.up) };
  } catch (err) {
    if (isGone(err)) return undefined;
    throw err;
  }
}

async function setLinkUp(sock: RtNetlinkSocket, index: number): Promise<void> {
  if (index <= 0) throw new Error(`refusing to change link index ${index}`);
  await sock.setLink({ index, flags: { up: true }, change: { up: true } }, {}, NL_OPTS);
}

function familyCode(addr: PodAddress): number {
  return addr.family === 6 ? AF_INET6 : AF_INET;
}

function familiesOf(addresses: PodAddress[]): Array<4 | 6> {
  return [...new Set(addresses.map((a) => a.family))].sort();
}

/** Waits for every step; throws the first failure (in step order) once all have settled. */
async function settleAll(steps: Array<Promise<unknown>>): Promise<void> {
  const outcomes = await Promise.allSettled(steps);
  const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
  if (failed) throw failed.reason;
}

/** Runs undo steps in reverse; collects (does not throw) their failures for the error details. */
async function rollBack(undo: Array<() => Promise<void>>): Promise<string[]> {
  const failures: string[] = [];
  for (const step of undo.reverse()) {
    try {
      await step();
    } catch (err) {
      failures.push(err instanceof Error ? err.message : String(err));
    }
  }
  return failures;
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
  /**
   * Dumps (multi-part replies) go through a socket of their own, one at a time: npm netlink
   * cannot tell the parts of a dump from a reply to another request that arrives in between,
   * so a dump on the shared host socket could break concurrent calls.
   */
  private readonly dumper: RtNetlinkSocket = createRtNetlink();
  private readonly dumps = new KeyedMutex();
  /** Warm sockets inside pod netns (CHECK, a netns's second interface). */
  private readonly pods: PodSocketCache;
  private readonly sweeper: NodeJS.Timeout;

  /**
   * `ownerTag` marks every host end this server creates (in its interface alias, visible in
   * `ip link`), so reconcile removes only its own debris, never another server's links.
   */
  constructor(
    private readonly host: RtNetlinkSocket,
    private readonly programmer: HostProgrammer,
    private readonly netns: NetnsOpener,
    ownerTag: string,
  ) {
    this.alias = `podwire:${ownerTag}`;
    this.pods = new PodSocketCache(netns);
    // Entries of netns the runtime removed without a DEL reaching us are closed here.
    this.sweeper = setInterval(() => this.pods.sweep(), SWEEP_INTERVAL_MS);
    this.sweeper.unref();
  }

  /** Open netlink sockets inside pod netns (the cache's size, for metrics). */
  netnsSocketCacheSize(): number {
    return this.pods.size;
  }

  async setUp(spec: PodNetworkSpec): Promise<WiredPod> {
    if (!this.ipv6Forwarding && spec.addresses.some((a) => a.family === 6)) {
      enableForwarding(6);
      this.ipv6Forwarding = true;
    }
    return this.pods.use(spec.netnsPath, spec.hostIfname, async ({ ns, sock: pod }) => {
      const undo: Array<() => Promise<void>> = [];
      try {
        return await this.wire(spec, ns, pod, undo);
      } catch (err) {
        const failures = await rollBack(undo);
        const base =
          err instanceof CniError
            ? err
            : new CniError(CniCode.DatapathFailure, 'failed to wire the pod network', err instanceof Error ? err.message : String(err));
        if (failures.length === 0) throw base;
        throw new CniError(base.code, base.message, `${base.details}; rollback also failed: ${failures.join('; ')}`);
      }
    });
  }

  private async wire(
    spec: PodNetworkSpec,
    ns: PodNetns,
    pod: RtNetlinkSocket,
    undo: Array<() => Promise<void>>,
  ): Promise<WiredPod> {
    const [existing, stale] = await Promise.all([findLink(pod, spec.podIfname), findLink(this.host, spec.hostIfname)]);
    if (existing) {
      throw new CniError(
        CniCode.InterfaceExists,
        `interface ${spec.podIfname} already exists in ${spec.netnsPath}`,
        'CNI ADD must not reuse an existing interface; DEL the attachment first',
      );
    }
    // A host end with our derived name but no attachment is debris of a crashed ADD of
    // this same key: remove it rather than fail forever.
    if (stale) await this.programmer.deleteLink(stale.index);

    const peer = Buffer.concat([
      rt.formatLink({}),
      encodeStream(
        ifla.formatLinkAttrs({
          ifname: spec.podIfname,
          netNsFd: ns.fd,
          mtu: spec.mtu,
          ...(spec.podMac ? { address: macBytes(spec.podMac) } : {}),
        }),
      ),
    ]);
    const linkinfo = encodeStream(ifla.formatInfo({ kind: 'veth', data: encodeStream(ifla.formatVethInfo({ peer })) }));
    try {
      await this.host.newLink({}, { ifname: spec.hostIfname, mtu: spec.mtu, linkinfo, ifalias: this.alias }, CREATE_EXCL);
    } catch (err) {
      if (isNetlinkErrno(err, 'EEXIST')) {
        throw new CniError(CniCode.InterfaceExists, `interface ${spec.podIfname} already exists in ${spec.netnsPath}`, String(err));
      }
      throw err;
    }
    // The pair exists from here on: undo deletes it by name even if the lookups below fail.
    let hostIndex: number | undefined;
    undo.push(async () => {
      const index = hostIndex ?? (await findLink(this.host, spec.hostIfname))?.index;
      if (index !== undefined) await this.programmer.deleteLink(index);
    });
    const [hostFound, podFound] = await Promise.allSettled([findLink(this.host, spec.hostIfname), findLink(pod, spec.podIfname)]);
    if (hostFound.status === 'rejected') throw hostFound.reason;
    if (podFound.status === 'rejected') throw podFound.reason;
    const hostLink = hostFound.value;
    const podLink = podFound.value;
    if (!hostLink) throw new Error(`host veth ${spec.hostIfname} vanished right after creation`);
    hostIndex = hostLink.index;
    if (!podLink) throw new Error(`pod veth ${spec.podIfname} not found in ${spec.netnsPath} after creation`);

    // Both ends are programmed at once, each end's requests pipelined on its socket: the
    // kernel handles one socket's requests in the order they were sent, so each end still
    // sees its steps in order (link up before the routes through it), but nobody waits for a
    // reply before sending the next request. Every request's error is collected; on any
    // failure the caller's rollback deletes the host end, which takes everything with it.
    await settleAll([...this.programPod(pod, podLink.index, hostLink.mac, spec), ...this.programHost(hostLink.index, spec)]);

    if (!this.netns.stillNamedBy(ns, spec.netnsPath)) {
      throw new Error(`${spec.netnsPath} was replaced by another namespace while it was being wired`);
    }
    return {
      hostIfname: spec.hostIfname,
      hostIndex: hostLink.index,
      hostMac: hostLink.mac,
      podIfname: spec.podIfname,
      podIndex: podLink.index,
      podMac: podLink.mac,
    };
  }

  /** The pod end, in order: its addresses, up, then per family the gateway neighbour and routes. */
  private programPod(pod: RtNetlinkSocket, podIndex: number, hostMacText: string, spec: PodNetworkSpec): Array<Promise<unknown>> {
    const steps: Array<Promise<unknown>> = [];
    for (const addr of spec.addresses) {
      const bytes = addressBytes(addr.address);
      steps.push(
        pod.newAddress(
          // IPv6: no duplicate address detection, so the address is usable at once.
          { family: familyCode(addr), prefixlen: POD_PREFIX[addr.family], index: podIndex, flags: addr.family === 6 ? { nodad: true } : {} },
          addr.family === 6 ? { address: bytes } : { local: bytes, address: bytes },
          CREATE_EXCL,
        ),
      );
    }
    steps.push(setLinkUp(pod, podIndex));
    const hostMac = macBytes(hostMacText);
    for (const family of familiesOf(spec.addresses)) {
      const gw = addressBytes(POD_GATEWAY[family]);
      const af = family === 6 ? AF_INET6 : AF_INET;
      steps.push(pod.newNeighbor({ family: af, ifindex: podIndex, state: { permanent: true } }, { dst: gw, lladdr: hostMac }, CREATE_REPLACE));
      if (family === 4) {
        // IPv4 needs the gateway on-link explicitly; fe80::/64 is on-link by definition.
        steps.push(
          pod.newRoute(
            { family: af, dstLen: 32, table: RT_TABLE_MAIN, protocol: 'BOOT', scope: 'LINK', type: 'UNICAST' },
            { dst: gw, oif: podIndex },
            CREATE_EXCL,
          ),
        );
      }
      steps.push(
        pod.newRoute(
          { family: af, dstLen: 0, table: RT_TABLE_MAIN, protocol: 'BOOT', scope: 'UNIVERSE', type: 'UNICAST' },
          { gateway: gw, oif: podIndex },
          CREATE_EXCL,
        ),
      );
    }
    return steps;
  }

  /** The host end, in order: up, the gateway address per family, then the routes to the pod. */
  private programHost(hostIndex: number, spec: PodNetworkSpec): Array<Promise<unknown>> {
    const steps: Array<Promise<unknown>> = [setLinkUp(this.host, hostIndex)];
    for (const family of familiesOf(spec.addresses)) {
      // The host end also owns the gateway address, so it answers ARP/NDP for it whenever the
      // pod's static neighbour entry is flushed (a chained plugin changing the pod's MAC does
      // that). IPv4: scope host, so the host never picks it as the source of its own traffic.
      const gw = addressBytes(POD_GATEWAY[family]);
      steps.push(
        this.host.newAddress(
          family === 6
            ? { family: AF_INET6, prefixlen: 64, index: hostIndex, flags: { nodad: true } }
            : { family: AF_INET, prefixlen: 32, index: hostIndex, scope: RT_SCOPE_HOST },
          family === 6 ? { address: gw } : { local: gw, address: gw },
          CREATE_REPLACE,
        ),
      );
    }
    // (No undo of their own: deleting the host end, the first undo step, flushes them.)
    for (const addr of spec.addresses) steps.push(this.programmer.addPodRoute(addr, hostIndex));
    return steps;
  }

  async tearDown(hostIfname: string): Promise<void> {
    // Deleting the host end destroys the pair, and the kernel flushes every route through
    // either end: the host /32 and /128 routes, and everything podwire put in the pod.
    this.pods.release(hostIfname);
    const link = await findLink(this.host, hostIfname);
    if (link) await this.programmer.deleteLink(link.index);
  }

  async check(spec: PodNetworkSpec): Promise<void> {
    const problems: string[] = [];
    const hostLink = await findLink(this.host, spec.hostIfname);
    if (!hostLink) problems.push(`host veth ${spec.hostIfname} is missing`);
    else if (!hostLink.up) problems.push(`host veth ${spec.hostIfname} is down`);

    if (hostLink) {
      for (const family of familiesOf(spec.addresses)) {
        const hostAddrs = await this.hostDump((dumper) => dumper.getAddresses({ family: family === 6 ? AF_INET6 : AF_INET }, {}, NL_OPTS));
        const gw = POD_GATEWAY[family];
        const holdsGateway = hostAddrs.some((a) => {
          const bytes = a.attrs.local ?? a.attrs.address;
          return a.data.index === hostLink.index && bytes !== undefined && bytesToAddress(bytes) === gw;
        });
        if (!holdsGateway) problems.push(`host veth ${spec.hostIfname} does not hold the gateway address ${gw}`);
        const routes = await this.hostDump((dumper) => dumper.getRoutes({ family: family === 6 ? AF_INET6 : AF_INET }, {}, NL_OPTS));
        for (const addr of spec.addresses.filter((a) => a.family === family)) {
          const found = routes.some(
            (r) =>
              r.data.dstLen === POD_PREFIX[family] &&
              r.attrs.oif === hostLink.index &&
              r.attrs.dst !== undefined &&
              bytesToAddress(r.attrs.dst) === addr.address,
          );
          if (!found) problems.push(`host route ${addr.address}/${POD_PREFIX[family]} dev ${spec.hostIfname} is missing`);
        }
      }
    }

    await this.pods.use(spec.netnsPath, spec.hostIfname, async ({ sock: pod }) => {
      const podLink = await findLink(pod, spec.podIfname);
      if (!podLink) problems.push(`interface ${spec.podIfname} is missing in ${spec.netnsPath}`);
      else {
        if (!podLink.up) problems.push(`interface ${spec.podIfname} is down`);
        for (const family of familiesOf(spec.addresses)) {
          problems.push(...(await this.checkPodFamily(pod, podLink.index, spec, family)));
        }
      }
    });
    if (problems.length > 0) {
      throw new CniError(CniCode.CheckFailed, `pod network of ${spec.podIfname} is not as ADD left it`, problems.join('; '));
    }
  }

  private async checkPodFamily(pod: RtNetlinkSocket, podIndex: number, spec: PodNetworkSpec, family: 4 | 6): Promise<string[]> {
    const problems: string[] = [];
    const af = family === 6 ? AF_INET6 : AF_INET;
    const gw = POD_GATEWAY[family];
    const addrs = await pod.getAddresses({ family: af }, {}, NL_OPTS);
    for (const addr of spec.addresses.filter((a) => a.family === family)) {
      const found = addrs.some((a) => {
        const bytes = a.attrs.local ?? a.attrs.address;
        return a.data.index === podIndex && a.data.prefixlen === POD_PREFIX[family] && bytes !== undefined && bytesToAddress(bytes) === addr.address;
      });
      if (!found) problems.push(`address ${addr.address}/${POD_PREFIX[family]} is missing on ${spec.podIfname}`);
    }
    const routes = await pod.getRoutes({ family: af }, {}, NL_OPTS);
    const hasDefault = routes.some(
      (r) =>
        r.data.dstLen === 0 &&
        r.data.table === RT_TABLE_MAIN &&
        r.attrs.oif === podIndex &&
        r.attrs.gateway !== undefined &&
        bytesToAddress(r.attrs.gateway) === gw,
    );
    if (!hasDefault) problems.push(`default route via ${gw} dev ${spec.podIfname} is missing`);
    if (family === 4) {
      const hasGwRoute = routes.some(
        (r) => r.data.dstLen === 32 && r.attrs.oif === podIndex && r.attrs.dst !== undefined && bytesToAddress(r.attrs.dst) === gw,
      );
      if (!hasGwRoute) problems.push(`on-link route to ${gw} dev ${spec.podIfname} is missing`);
    }
    return problems;
  }

  private hostDump<T>(dump: (dumper: RtNetlinkSocket) => Promise<T>): Promise<T> {
    return this.dumps.run('host', () => dump(this.dumper));
  }

  async listOwnedHostLinks(): Promise<OwnedHostLink[]> {
    const links = await this.hostDump((dumper) => dumper.getLinks({}, {}, NL_OPTS));
    return links
      .filter((l) => l.attrs.ifalias === this.alias && l.attrs.ifname !== undefined && l.data.index)
      .map((l) => ({ name: l.attrs.ifname ?? '', index: l.data.index ?? 0 }));
  }

  async pruneHostRoutes(hostIfname: string, keep: PodAddress[]): Promise<string[]> {
    const link = await findLink(this.host, hostIfname);
    if (!link) return [];
    const pruned: string[] = [];
    for (const family of [4, 6] as const) {
      const routes = await this.hostDump((dumper) => dumper.getRoutes({ family: family === 6 ? AF_INET6 : AF_INET }, {}, NL_OPTS));
      for (const r of routes) {
        // npm netlink reports protocols it has no name for (such as ours) as plain numbers.
        if ((r.data.protocol as unknown) !== RTPROT_PODWIRE || r.attrs.oif !== link.index || !r.attrs.dst) continue;
        const address = bytesToAddress(r.attrs.dst);
        if (keep.some((k) => k.address === address)) continue;
        await this.programmer.delPodRoute({ address, family }, link.index);
        pruned.push(`${address}/${r.data.dstLen ?? POD_PREFIX[family]}`);
      }
    }
    return pruned;
  }

  close(): void {
    clearInterval(this.sweeper);
    this.pods.close();
    this.dumper.socket.close();
    this.host.socket.close();
  }
}
