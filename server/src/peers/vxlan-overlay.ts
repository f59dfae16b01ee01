/**
 * The VXLAN overlay as a kernel layer of its own: one device (`pwvx<vni>`, tagged with the
 * owner alias), and on it one permanent neighbour per VXLAN peer route (VTEP address → VTEP
 * MAC) and one FDB entry per VXLAN peer (VTEP MAC → its node address). Every pass reads the
 * kernel again and sends the difference, so a restart, a device deleted behind podwired's back
 * or an entry removed or added by hand all converge the same way; it never touches a link it
 * did not create (a `pwvx<vni>` without podwire's alias is left alone and reported).
 *
 * The layer runs on the event loop with a host socket of its own: its changes are rare (peer
 * set changes and the periodic resync) and small. The routes themselves stay with the peer
 * router and its batched programmer.
 */
import * as ipaddr from 'ipaddr.js';
import type { Logger } from 'pino';
import { type OverlayConfig, vxlanDeviceName } from '../config/overlay-config';
import { RTPROT_PODWIRE, RTPROT_PODWIRE_PEER } from '../datapath/host-routes';
import { familyOfText } from '../rtnl/addresses';
import { type KernelLink, type KernelNeighbour, type KernelRoute, RTN_UNICAST, RT_SCOPE_LINK, RT_TABLE_MAIN } from '../rtnl/kernel-objects';
import { addPermanentNeighbour, deleteLink, setLinkAliasByName, setLinkUp } from '../rtnl/requests';
import { isGone, reasonOf } from '../rtnl/rtnl-error';
import type { RtnlRequest, RtnlSocket } from '../rtnl/rtnl-socket';
import { takeSnapshot } from '../rtnl/snapshot';
import { decodeAll, decodeLink } from '../rtnl/decode';
import { type KernelVxlan, addFdb, createVxlan, decodeFdb, decodeVxlan, deleteFdb, deleteNeighbour, dumpFdb, getLinkByIndex, setLinkMtu } from '../rtnl/vxlan';
import { getLinkByName } from '../rtnl/requests';
import { type DesiredPeerRoute, type Peer, familyOf } from './peer';
import { vtepAddress, vtepMac } from './vtep';
import type { VxlanFilter } from './vxlan-filter';
import { type ProbeSender, probePathMtus } from './path-mtu-probe';

/**
 * The VXLAN device's alias: podwired's owner tag, under a prefix of its own. Not the pods'
 * owner alias (`podwire:<tag>`): the start-up reconcile removes every link with that alias no
 * attachment accounts for, and took the device with them.
 */
export function vxlanOwnerAlias(ownerTag: string): string {
  return `podwire-vxlan:${ownerTag}`;
}

/**
 * Deletes the VXLAN devices podwired (this owner tag) left from another configuration:
 * every link with the overlay's alias except `keep` (the device the current configuration
 * uses; none when encapsulation is off). Returns the names deleted.
 */
export async function removeVxlanLeftovers(opts: { sock: RtnlSocket; ownerTag: string; links: readonly KernelLink[]; keep?: string }): Promise<string[]> {
  const alias = vxlanOwnerAlias(opts.ownerTag);
  const stale = opts.links.filter((l) => l.alias === alias && l.name !== opts.keep);
  if (stale.length === 0) return [];
  const outcomes = await opts.sock.exchange(stale.map((l) => deleteLink(l.index)));
  const failed = outcomes.find((o) => o.error && !isGone(o.error));
  if (failed?.error) throw failed.error;
  return stale.map((l) => l.name);
}

/** Bytes VXLAN adds to every packet: outer IPv4 (20) or IPv6 (40) + UDP (8) + VXLAN (8) + inner Ethernet (14). */
export function vxlanOverhead(underlayFamily: 4 | 6): number {
  return underlayFamily === 6 ? 70 : 50;
}

/** How a peer route is programmed: via the peer's node address, or through the VXLAN device. */
export interface PlannedRoute {
  gateway: string;
  /** The VXLAN device (the route is `onlink` there). */
  oif?: number;
  onlink?: boolean;
  mode: 'direct' | 'vxlan';
}

/** What the overlay knows of one peer after a pass. */
export interface PeerPath {
  mode: 'direct' | 'vxlan' | 'mixed';
  vtepMac: string;
  /** The node address its VXLAN packets go to ('' when direct). */
  underlay: string;
}

/** What the last probe found on the way to a VXLAN peer. */
export interface PathMtuFinding {
  pathMtu: number;
  /** Set when the path is smaller than the pods' MTU plus the VXLAN overhead. */
  warning: string;
}

export interface OverlayPlan {
  /** The routes to program, by destination; a desired route missing here has its reason in `errors`. */
  routes: Map<string, PlannedRoute>;
  errors: Map<string, string>;
  paths: Map<string, PeerPath>;
}

/** Decides how each peer route is programmed, and programs what the VXLAN routes need beyond the route. */
export interface PeerOverlay {
  plan(peers: readonly Peer[], desired: readonly DesiredPeerRoute[]): Promise<OverlayPlan>;
  /** The last path MTU probe to a VXLAN peer's node address, when one ran. */
  pathMtuOf?(underlay: string): PathMtuFinding | undefined;
}

/** Direct routes for everything (`peers.encapsulation: none`). */
export const NO_OVERLAY_PLAN: PeerOverlay = {
  plan: async (_peers, desired) => {
    const routes = new Map<string, PlannedRoute>();
    for (const r of desired) if (r.error === undefined) routes.set(r.dst, { gateway: r.gateway, mode: 'direct' });
    return { routes, errors: new Map(), paths: new Map() };
  },
};

export interface VxlanOverlayOptions {
  /** A host socket for this layer's requests and dumps. */
  sock: RtnlSocket;
  config: OverlayConfig;
  /** podwired's owner tag (the device's alias is `podwire-vxlan:<tag>`). */
  ownerTag: string;
  /** This node's underlay addresses (node.nodeIPs, or learnt); the first is the device's local address. */
  localIPs: () => readonly string[];
  /** This node's pod CIDRs (for its own VTEP MAC on an IPv6 underlay). */
  ownPodCIDRs: () => readonly string[];
  /** Accepts VXLAN from known peer addresses only (absent: no filter). */
  filter?: VxlanFilter;
  /**
   * Probes the path MTU to every VXLAN peer after each pass (path-mtu-probe.ts; the probe
   * datagrams leave from the calling thread's netns, so only podwired turns it on). Absent: no probes.
   */
  probe?: { send?: ProbeSender; waitMs?: number };
  log: Logger;
}

interface Wanted {
  neighbours: Map<string, { family: 4 | 6; dst: string; mac: string; dsts: string[] }>;
  fdb: Map<string, { mac: string; dst: string; dsts: string[] }>;
}

export class VxlanOverlay implements PeerOverlay {
  readonly deviceName: string;
  private underlayMtu: number | undefined;
  private readonly probed = new Map<string, PathMtuFinding>();
  private probing = false;

  constructor(private readonly opts: VxlanOverlayOptions) {
    this.deviceName = vxlanDeviceName(opts.config.vxlan.vni);
  }

  get encapsulation(): OverlayConfig['encapsulation'] {
    return this.opts.config.encapsulation;
  }

  /** The overlay settings this device was made for (a SIGHUP cannot change them). */
  get config(): Readonly<OverlayConfig> {
    return this.opts.config;
  }

  /** The underlay's family (the local address's), 4 until it is known. */
  private underlayFamily(): 4 | 6 {
    const local = this.opts.localIPs()[0];
    return local === undefined ? 4 : familyOf(local);
  }

  /** The largest pod MTU the overlay carries: the underlay link's MTU minus the overhead (1500 assumed until it was read). */
  maxPodMtu(): number {
    return (this.underlayMtu ?? 1500) - vxlanOverhead(this.underlayFamily());
  }

  /** Reads the underlay link's MTU now (podwired calls it at start, before serving ADD). */
  async readUnderlay(): Promise<void> {
    const local = this.opts.localIPs()[0];
    if (local === undefined) return;
    const snap = await takeSnapshot(this.opts.sock, ['addresses']);
    const holder = snap.addresses.find((a) => a.address === ipaddr.parse(local).toString());
    if (!holder) return;
    const [msg] = await this.opts.sock.request(getLinkByIndex(holder.index));
    const link = msg ? decodeLink(msg) : undefined;
    if (link && link.mtu > 0) this.underlayMtu = link.mtu;
  }

  async plan(peers: readonly Peer[], desired: readonly DesiredPeerRoute[]): Promise<OverlayPlan> {
    const routes = new Map<string, PlannedRoute>();
    const errors = new Map<string, string>();
    const paths = new Map<string, PeerPath>();
    const encapsulation = this.opts.config.encapsulation;
    const local = this.opts.localIPs()[0];
    await this.readUnderlay().catch((err: unknown) => this.opts.log.warn({ err: reasonOf(err) }, 'vxlan: could not read the underlay link'));
    const snap = await takeSnapshot(this.opts.sock, ['routes', 'neighbours']);
    let device: KernelVxlan | undefined;
    let deviceError: string | undefined;
    if (local === undefined) deviceError = "this node's underlay address is not known (node.nodeIPs)";
    else {
      try {
        device = await this.ensureDevice(local);
      } catch (err) {
        deviceError = `the VXLAN device ${this.deviceName}: ${reasonOf(err)}`;
      }
    }
    const ownMac = local === undefined ? undefined : vtepMac(local, this.opts.ownPodCIDRs());
    const connected = snap.routes.filter((r) => isConnected(r) && r.oif !== device?.link.index);
    const macOwners = new Map<string, string>();
    const byName = new Map(peers.map((p) => [p.name, p]));
    const wanted: Wanted = { neighbours: new Map(), fdb: new Map() };
    for (const r of desired) {
      if (r.error !== undefined) continue;
      const peer = byName.get(r.peer);
      if (!peer) continue;
      const direct = encapsulation === 'vxlan-cross-subnet' && connected.some((c) => covers(c, r.gateway));
      const path = paths.get(peer.name);
      if (direct) {
        routes.set(r.dst, { gateway: r.gateway, mode: 'direct' });
        paths.set(peer.name, { mode: path && path.mode !== 'direct' ? 'mixed' : 'direct', vtepMac: path?.vtepMac ?? '', underlay: path?.underlay ?? '' });
        continue;
      }
      const underlay = local === undefined ? undefined : peer.nodeIPs.find((ip) => familyOf(ip) === familyOf(local));
      const mac = underlay === undefined ? undefined : vtepMac(underlay, peer.podCIDRs);
      let error: string | undefined;
      if (deviceError !== undefined || !device) error = deviceError ?? 'no VXLAN device';
      else if (underlay === undefined) error = `peer ${peer.name} has no IPv${local ? familyOf(local) : 4} node address for the VXLAN underlay`;
      else if (mac === undefined) error = `peer ${peer.name} has no pod CIDR to derive its VTEP MAC from`;
      else if (mac === ownMac) error = `peer ${peer.name}'s VTEP MAC ${mac} is this node's own`;
      else if ((macOwners.get(mac) ?? peer.name) !== peer.name) error = `peer ${peer.name}'s VTEP MAC ${mac} is peer ${macOwners.get(mac) ?? ''}'s too`;
      if (error !== undefined || !device || underlay === undefined || mac === undefined) {
        errors.set(r.dst, error ?? 'not routable');
        continue;
      }
      macOwners.set(mac, peer.name);
      const vtep = vtepAddress(r.dst);
      routes.set(r.dst, { gateway: vtep, oif: device.link.index, onlink: true, mode: 'vxlan' });
      paths.set(peer.name, { mode: path && path.mode !== 'vxlan' ? 'mixed' : 'vxlan', vtepMac: mac, underlay });
      wanted.neighbours.set(vtep, { family: familyOfText(vtep), dst: vtep, mac, dsts: [...(wanted.neighbours.get(vtep)?.dsts ?? []), r.dst] });
      wanted.fdb.set(mac, { mac, dst: underlay, dsts: [...(wanted.fdb.get(mac)?.dsts ?? []), r.dst] });
    }
    if (device) {
      for (const [dst, why] of await this.syncEntries(device.link.index, snap.neighbours, wanted)) {
        routes.delete(dst);
        errors.set(dst, why);
      }
    }
    this.syncFilter(peers);
    this.startProbe([...new Set([...paths.values()].filter((p) => p.underlay !== '').map((p) => p.underlay))]);
    return { routes, errors, paths };
  }

  pathMtuOf(underlay: string): PathMtuFinding | undefined {
    return this.probed.get(underlay);
  }

  /** Probes in the background (a pass never waits for it); one probe round at a time. */
  private startProbe(underlays: readonly string[]): void {
    for (const a of [...this.probed.keys()]) if (!underlays.includes(a)) this.probed.delete(a);
    const probe = this.opts.probe;
    if (!probe || this.probing || underlays.length === 0 || this.underlayMtu === undefined) return;
    this.probing = true;
    const linkMtu = this.underlayMtu;
    const needed = this.maxPodMtu() + vxlanOverhead(this.underlayFamily());
    void probePathMtus({ sock: this.opts.sock, port: this.opts.config.vxlan.port, ...probe }, underlays, linkMtu)
      .then((found) => {
        for (const [address, pathMtu] of found) {
          const warning =
            pathMtu < needed
              ? `the path MTU to ${address} is ${pathMtu}, smaller than the ${needed} the pods' MTU ${this.maxPodMtu()} needs over VXLAN: large packets to this peer are lost`
              : '';
          if (warning && this.probed.get(address)?.pathMtu !== pathMtu)
            this.opts.log.warn({ peer: address, pathMtu, needed }, "vxlan: a peer's path MTU is smaller than the pods' MTU needs");
          this.probed.set(address, { pathMtu, warning });
        }
      })
      .catch((err: unknown) => this.opts.log.warn({ err: reasonOf(err) }, 'vxlan: path MTU probe failed'))
      .finally(() => (this.probing = false));
  }

  /** VXLAN accepted from every known peer's node addresses (a peer may see this node as routed when this node sees it on-link). */
  private syncFilter(peers: readonly Peer[]): void {
    if (!this.opts.filter) return;
    try {
      if (this.opts.filter.sync(peers.flatMap((p) => p.nodeIPs)))
        this.opts.log.info({ table: this.opts.filter.table, peers: peers.length }, 'vxlan: filter for the VXLAN port rebuilt (known peers only)');
    } catch (err) {
      this.opts.log.warn({ err: reasonOf(err) }, 'vxlan: could not program the filter for the VXLAN port');
    }
  }

  /** The device as configured, up, with the right MTU: created when missing, recreated when podwire's has other settings. */
  private async ensureDevice(local: string): Promise<KernelVxlan> {
    const { vni, port } = this.opts.config.vxlan;
    const mac = vtepMac(local, this.opts.ownPodCIDRs());
    if (mac === undefined) throw new Error("no pod CIDR yet to derive this node's VTEP MAC from (IPv6 underlay)");
    const mtu = this.maxPodMtu();
    const alias = vxlanOwnerAlias(this.opts.ownerTag);
    let dev = await this.read();
    if (dev && dev.link.alias !== alias)
      throw new Error(`a link named ${this.deviceName} that podwire did not create is in the way (alias ${JSON.stringify(dev.link.alias)}); left alone`);
    if (dev && (dev.vni !== vni || dev.port !== port || dev.local !== ipaddr.parse(local).toString() || dev.learning || dev.link.mac !== mac)) {
      this.opts.log.warn(
        { device: this.deviceName, found: { vni: dev.vni, port: dev.port, local: dev.local, learning: dev.learning, mac: dev.link.mac } },
        'vxlan: the device has other settings; recreating it',
      );
      await this.send([deleteLink(dev.link.index)]);
      dev = undefined;
    }
    if (!dev) {
      await this.send([createVxlan({ name: this.deviceName, vni, port, local, mtu, mac }), setLinkAliasByName(this.deviceName, alias)]);
      this.opts.log.info({ device: this.deviceName, vni, port, local, mac, mtu }, 'vxlan: device created');
      dev = await this.read();
      if (!dev) throw new Error('created, but not found afterwards');
      return dev;
    }
    const fixes: RtnlRequest[] = [];
    if (dev.link.mtu !== mtu) fixes.push(setLinkMtu(dev.link.index, mtu));
    if (!dev.link.up) fixes.push(setLinkUp(dev.link.index));
    if (fixes.length > 0) {
      this.opts.log.warn({ device: this.deviceName, mtu: dev.link.mtu, wantedMtu: mtu, up: dev.link.up }, 'vxlan: device repaired (MTU, up)');
      await this.send(fixes);
    }
    return dev;
  }

  private async read(): Promise<KernelVxlan | undefined> {
    try {
      const [msg] = await this.opts.sock.request(getLinkByName(this.deviceName));
      if (!msg) return undefined;
      const vx = decodeVxlan(msg);
      if (vx) return vx;
      if (decodeLink(msg)) throw new Error(`a link named ${this.deviceName} that is not a VXLAN device is in the way; left alone`);
      return undefined;
    } catch (err) {
      if (isGone(err)) return undefined;
      throw err;
    }
  }

  private async send(requests: readonly RtnlRequest[]): Promise<void> {
    const outcomes = await this.opts.sock.exchange(requests);
    const failed = outcomes.find((o) => o.error);
    if (failed?.error) throw failed.error;
  }

  /** Neighbours and FDB entries on the device made equal to `wanted`; returns the routes whose entries the kernel refused. */
  private async syncEntries(index: number, neighbours: readonly KernelNeighbour[], wanted: Wanted): Promise<Map<string, string>> {
    const failed = new Map<string, string>();
    const present = neighbours.filter((n) => n.index === index && n.permanent);
    const fdb = decodeAll(await this.opts.sock.dump(dumpFdb()), decodeFdb).filter((f) => f.index === index && f.dst !== '');
    const changes: Array<{ request: RtnlRequest; dsts: string[] }> = [];
    for (const n of present) {
      if (!wanted.neighbours.has(n.dst)) changes.push({ request: deleteNeighbour({ index, family: n.family, dst: n.dst }), dsts: [] });
    }
    const presentByDst = new Map(present.map((n) => [n.dst, n]));
    for (const w of wanted.neighbours.values()) {
      const n = presentByDst.get(w.dst);
      if (!n || n.lladdr !== w.mac) changes.push({ request: addPermanentNeighbour({ index, family: w.family, dst: w.dst, lladdr: w.mac }), dsts: w.dsts });
    }
    for (const f of fdb) {
      const w = wanted.fdb.get(f.mac);
      if (!w || w.dst !== f.dst || !f.permanent) changes.push({ request: deleteFdb({ index, mac: f.mac, dst: f.dst }), dsts: [] });
    }
    const fdbKeys = new Set(fdb.filter((f) => f.permanent).map((f) => `${f.mac} ${f.dst}`));
    for (const w of wanted.fdb.values()) {
      if (!fdbKeys.has(`${w.mac} ${w.dst}`)) changes.push({ request: addFdb({ index, mac: w.mac, dst: w.dst }), dsts: w.dsts });
    }
    if (changes.length === 0) return failed;
    const outcomes = await this.opts.sock.exchange(changes.map((c) => c.request));
    let done = 0;
    changes.forEach((c, i) => {
      const error = outcomes[i]?.error;
      if (error && !(c.dsts.length === 0 && isGone(error))) {
        this.opts.log.warn({ change: c.request.what, err: error.message }, 'vxlan: the kernel refused a neighbour or FDB change');
        for (const dst of c.dsts) failed.set(dst, error.message);
      } else done++;
    });
    this.opts.log.info({ device: this.deviceName, changes: done }, 'vxlan: neighbour and FDB entries reconciled');
    return failed;
  }
}

/**
 * A connected route: main table, unicast, no gateway, a device, not podwire's (pod routes have
 * no gateway either); IPv4 ones link-scoped (IPv6 prefixes on a link are universe-scoped).
 */
function isConnected(r: KernelRoute): boolean {
  if (r.table !== RT_TABLE_MAIN || r.gateway !== '' || r.type !== RTN_UNICAST || r.dstLen === 0 || r.oif === 0) return false;
  if (r.protocol === RTPROT_PODWIRE || r.protocol === RTPROT_PODWIRE_PEER) return false;
  return r.family === 6 || r.scope === RT_SCOPE_LINK;
}

/** True when the connected route's prefix holds `address`. */
function covers(r: KernelRoute, address: string): boolean {
  if (familyOfText(address) !== r.family) return false;
  try {
    const addr = ipaddr.parse(address);
    return addr.match(ipaddr.parse(r.dst), r.dstLen);
  } catch {
    return false;
  }
}
