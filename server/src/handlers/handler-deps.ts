import { IpamStore, AttachmentKey } from '@podwire/ipam-store';
import { Datapath } from '../datapath/datapath';
import { KeyedMutex } from '../keyed-mutex';
import { NetworkRegistry } from '../pools/network-registry';
import { CniInvocation } from '../cni/cni-invocation';
import { NetConf } from '../cni/net-conf';
import { NodePodCidrSource } from '../peers/node-pod-cidrs';

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
}

/** A verb handler: returns what the shim prints on stdout ('' for nothing), or throws CniError. */
export type VerbHandler = (deps: HandlerDeps, inv: CniInvocation, conf: NetConf) => Promise<string>;

export function attachmentKey(conf: NetConf, inv: CniInvocation): AttachmentKey {
  return { network: conf.name, containerId: inv.containerId, ifname: inv.ifname };
}

export function lockName(key: AttachmentKey): string {
  return `${key.network}\0${key.containerId}\0${key.ifname}`;
}
