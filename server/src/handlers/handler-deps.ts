import type { IpamStore, AttachmentKey } from '@podwire/ipam-store';
import type { Datapath } from '../datapath/datapath';
import type { KeyedMutex } from '../keyed-mutex';
import type { NetworkRegistry } from '../pools/network-registry';
import type { CniCall } from '../cni/cni-call';
import type { NodePodCidrSource } from '../peers/node-pod-cidrs';
import type { EncapsulationMtu } from '../peers/pod-mtu';
import type { HostPorts } from './host-ports';
import type { PodPolicyGate } from './pod-policy-gate';

/** Everything a verb handler touches, injected so handlers can be tested without globals. */
export interface HandlerDeps {
  store: IpamStore;
  datapath: Datapath;
  /** Serialises calls per (network, container id, ifname). */
  locks: KeyedMutex;
  /** The ranges of every network served since start (pool usage for Debug and metrics). */
  networks: NetworkRegistry;
  /** This node's pod CIDRs: ranges for configurations without any, and the bounds for those with. Absent: none. */
  node?: NodePodCidrSource;
  /** The cross-node encapsulation's MTU limit (pods' default MTU, the largest allowed). Absent: none. */
  encapsulationMtu?: EncapsulationMtu;
  /** hostPort mappings (podwired: its nftables table). Absent: an ADD with runtimeConfig.portMappings fails (103). */
  ports?: HostPorts;
  /** NetworkPolicy (podwired with a policy source). Absent: no policy, nothing isolated. */
  policy?: PodPolicyGate;
}

/** What a handler knows of the call beyond its content. */
export interface CallContext {
  /** True once the caller has given up (its deadline passed or it went away): nobody reads the answer. */
  abandoned(): boolean;
}

export const NOT_ABANDONED: CallContext = { abandoned: () => false };

/** A verb handler: returns what the shim prints on stdout ('' for nothing), or throws CniError. */
export type VerbHandler = (deps: HandlerDeps, call: CniCall, ctx: CallContext) => Promise<string>;

export function attachmentKey(call: CniCall): AttachmentKey {
  return { network: call.conf.name, containerId: call.inv.containerId, ifname: call.inv.ifname };
}

export function lockName(key: AttachmentKey): string {
  return `${key.network}\0${key.containerId}\0${key.ifname}`;
}
