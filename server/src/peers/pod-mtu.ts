import { CniCode, CniError } from '../cni/cni-error';
import type { NetConf } from '../cni/net-conf';

/** The largest pod MTU the cross-node encapsulation carries (PeerRouting); undefined: no encapsulation, no limit. */
export interface EncapsulationMtu {
  maxPodMtu(): number | undefined;
}

/**
 * The pod interface's MTU: the network config's `mtu` when it gives one (refused when larger
 * than the encapsulation carries: code 7, naming the largest that fits), else the largest the
 * encapsulation carries (the underlay MTU minus 50, or 70 over IPv6), else 1500.
 */
export function podMtu(conf: Pick<NetConf, 'mtu' | 'mtuGiven'>, encapsulation: EncapsulationMtu | undefined): number {
  const max = encapsulation?.maxPodMtu();
  if (max === undefined) return conf.mtu;
  if (!conf.mtuGiven) return max;
  if (conf.mtu > max) {
    throw new CniError(
      CniCode.InvalidNetworkConfig,
      `"mtu" ${conf.mtu} is too large for the VXLAN overlay`,
      `the largest MTU that fits the encapsulation on this node is ${max} (the underlay MTU minus the VXLAN overhead); use it or less, or omit "mtu"`,
    );
  }
  return conf.mtu;
}
