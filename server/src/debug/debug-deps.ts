import type { Logger } from 'pino';
import type { IpamStore } from '@podwire/ipam-store';
import type { ServerConfig } from '../config/server-config';
import type { Datapath } from '../datapath/datapath';
import type { CniEventBus } from '../events/cni-events';
import type { ComponentHealth__Output as ComponentHealth } from '../generated/podwire/v1/ComponentHealth';
import type { NetworkRegistry } from '../pools/network-registry';
import type { Readiness } from '../readiness';
import type { StartupReport } from '../startup/startup-report';
import type { NetnsOpener } from '../datapath/netns';
import type { RtnlSocket } from '../rtnl/rtnl-socket';
import { probeNetlink } from './component-health';
import { type KernelInspector, SnapshotKernelInspector } from './kernel-inspector';
import { serverPackageVersion } from './package-version';
import type { PeerStatusSource } from './peer-status';
import type { EgressStatus } from '../egress/egress';
import type { NodePolicyStats } from '../policy/node-policy';
import type { WhyAnswer } from '../policy/why';

/** How long ServerInfo waits for the host netlink socket before calling it unhealthy. */
export const NETLINK_PROBE_TIMEOUT_MS = 2000;

/** Everything the Debug service reads, injected so it can be tested without globals. */
export interface DebugDeps {
  store: IpamStore;
  /** GetAttachment's `problems` are what its check() says about the stored spec. */
  datapath: Datapath;
  networks: NetworkRegistry;
  readiness: Readiness;
  config: ServerConfig;
  events: CniEventBus;
  peers: PeerStatusSource;
  /** This node's pod CIDRs as podwired uses them now (from the config, or learnt from its Node object). */
  podCidrs: () => readonly string[];
  /** What start-up did so far (reconcile counts, phase times, the verification after serving started). */
  startup: () => StartupReport;
  inspector: KernelInspector;
  /** A trivial request on the host netlink socket, with a timeout. */
  probeNetlink: () => Promise<ComponentHealth>;
  log: Logger;
  /** podwired's nftables table (egress/egress.ts); absent: ServerInfo reports none. */
  egress?: () => EgressStatus;
  /** NetworkPolicy's `why` (policy/node-policy.ts); absent: no policy source configured. Throws RangeError on bad arguments. */
  policyWhy?: (args: readonly string[]) => WhyAnswer;
  /** NetworkPolicy's counts for ServerInfo; absent: no policy source configured. */
  policyStats?: () => NodePolicyStats;
  /** Resolves when podwired starts shutting down: WatchEvents streams end then. */
  stopping: Promise<void>;
  version: string;
  startedAt: Date;
  now: () => Date;
}

/**
 * The wiring podwired uses: a snapshot inspector reading the host through the host dump
 * socket and pods through sockets it opens for one read, and probes on the host request
 * socket. Owns no socket itself (their owner closes them).
 */
export function podwiredDebugDeps(
  base: Pick<
    DebugDeps,
    | 'store'
    | 'datapath'
    | 'networks'
    | 'readiness'
    | 'config'
    | 'events'
    | 'peers'
    | 'podCidrs'
    | 'startup'
    | 'log'
    | 'stopping'
    | 'egress'
    | 'policyWhy'
    | 'policyStats'
  > & {
    host: RtnlSocket;
    hostDumps: RtnlSocket;
    netns: NetnsOpener;
  },
): DebugDeps {
  const { host, hostDumps, netns, ...rest } = base;
  return {
    ...rest,
    inspector: new SnapshotKernelInspector(hostDumps, netns),
    probeNetlink: () => probeNetlink(host, NETLINK_PROBE_TIMEOUT_MS),
    version: serverPackageVersion(),
    startedAt: new Date(),
    now: () => new Date(),
  };
}
