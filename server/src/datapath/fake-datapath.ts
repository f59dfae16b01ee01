/**
 * A scripted Datapath for handler, service, Debug and reconcile tests (the real one is tested
 * in private netns and end to end): it keeps what it wired in memory, fails when told to, and
 * answers reconcile's questions from that memory.
 */
import type { AttachmentKey } from '@podwire/ipam-store';
import { CniCode, CniError } from '../cni/cni-error';
import type { Datapath, HostView, OwnedHostLink, PodAddress, PodNetworkSpec, StrayHostRoute, WiredPod } from './datapath';
import { hostVethName } from './link-identity';
import { resultIps, resultRoutes } from './routed-veth-layout';

export interface FakeDatapathOptions {
  /** Called inside setUp and tearDown (a test's logger, say). */
  onSetUp?: (spec: PodNetworkSpec) => void | Promise<void>;
  onTearDown?: (hostIfname: string) => void | Promise<void>;
}

export class FakeDatapath implements Datapath {
  /** Set to make the next setUp calls fail with it. */
  failSetUp: Error | undefined;
  /** Set to make the next tearDown calls fail with it (nothing is torn down). */
  failTearDown: Error | undefined;
  /** What check() and podProblems() report per host end (a wired pod without an entry is healthy). */
  readonly problems = new Map<string, string[]>();
  /** Host ends "in the kernel": wired ones and any a test adds (debris). */
  readonly wired = new Map<string, PodNetworkSpec>();
  /** Extra owned links and stray routes the host view reports (crash debris). */
  readonly debrisLinks: OwnedHostLink[] = [];
  readonly strayRouteList: StrayHostRoute[] = [];
  readonly tornDown: string[] = [];
  readonly removedRoutes: StrayHostRoute[] = [];
  readHostCalls = 0;
  /** readHost() rejects with these first, one per call (a busy host's interrupted dumps). */
  readonly readHostFailures: Error[] = [];
  /** What readHost()'s view says of its read: taken although every dump try was interrupted. */
  readHostInterrupted = false;
  podProblemsCalls = 0;
  closed = false;

  constructor(private readonly opts: FakeDatapathOptions = {}) {}

  hostIfname(key: AttachmentKey): string {
    return hostVethName(key.network, key.containerId, key.ifname);
  }

  async setUp(spec: PodNetworkSpec): Promise<WiredPod> {
    await this.opts.onSetUp?.(spec);
    if (this.failSetUp) throw this.failSetUp;
    this.wired.set(spec.hostIfname, spec);
    return {
      interfaces: [
        { name: spec.hostIfname, mac: '02:00:00:00:00:07', mtu: spec.mtu },
        { name: spec.podIfname, mac: '02:00:00:00:00:02', mtu: spec.mtu, sandbox: spec.netnsPath },
      ],
      ips: resultIps(spec.addresses),
      routes: resultRoutes(spec),
    };
  }

  async tearDown(hostIfname: string): Promise<void> {
    await this.opts.onTearDown?.(hostIfname);
    if (this.failTearDown) throw this.failTearDown;
    this.tornDown.push(hostIfname);
    this.wired.delete(hostIfname);
    const i = this.debrisLinks.findIndex((l) => l.name === hostIfname);
    if (i >= 0) this.debrisLinks.splice(i, 1);
  }

  /** Host ends detached (DEL, GC): gone from `wired` at once, as the real one renames them. */
  readonly detached: string[] = [];

  async detach(hostIfname: string, _addresses: readonly PodAddress[]): Promise<void> {
    await this.opts.onTearDown?.(hostIfname);
    this.detached.push(hostIfname);
    this.wired.delete(hostIfname);
  }

  pendingDestructions(): number {
    return 0;
  }

  async check(spec: PodNetworkSpec): Promise<void> {
    const problems = this.wired.has(spec.hostIfname) ? (this.problems.get(spec.hostIfname) ?? []) : [`host veth ${spec.hostIfname} is missing`];
    if (problems.length > 0) throw new CniError(CniCode.CheckFailed, `pod network of ${spec.podIfname} is not as ADD left it`, problems.join('; '));
  }

  async podProblems(spec: PodNetworkSpec): Promise<string[]> {
    this.podProblemsCalls++;
    return this.problems.get(spec.hostIfname) ?? [];
  }

  async readHost(): Promise<HostView> {
    this.readHostCalls++;
    const failure = this.readHostFailures.shift();
    if (failure) throw failure;
    const links: OwnedHostLink[] = [...[...this.wired.keys()].map((name, i) => ({ name, index: 100 + i })), ...this.debrisLinks];
    const stray = [...this.strayRouteList];
    return {
      interrupted: this.readHostInterrupted,
      ownedLinks: () => links,
      hostProblems: (spec) => (this.wired.has(spec.hostIfname) ? [] : [`host veth ${spec.hostIfname} is missing`]),
      strayRoutes: (ready) => stray.filter((r) => ready.some((s) => s.hostIfname === r.hostIfname)),
    };
  }

  async removeStrayRoutes(routes: readonly StrayHostRoute[]): Promise<Array<{ route: StrayHostRoute; error: string }>> {
    this.removedRoutes.push(...routes);
    return [];
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
