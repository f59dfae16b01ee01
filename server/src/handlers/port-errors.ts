import type { IpamStore } from '@podwire/ipam-store';
import { CniCode, CniError } from '../cni/cni-error';
import { InvalidPortMapping, PortMappingConflict, isNftError } from '../nft';
import { HostPortsUnavailable, holderKey } from './host-ports';

/** "pod default/web-1 (container abc, eth0, network podwire)", or the holder text when the store has no such attachment. */
export function describeHolder(store: IpamStore, holder: string): string {
  const key = holderKey(holder);
  if (!key) return holder;
  let pod: string | undefined;
  try {
    const a = store.get(key)?.attachment;
    if (a?.podName) pod = `${a.podNamespace ? `${a.podNamespace}/` : ''}${a.podName}`;
  } catch {
    // The store's failure is not this error's: name the attachment without the pod.
  }
  const where = `container ${key.containerId}, ${key.ifname}, network ${key.network}`;
  return pod ? `pod ${pod} (${where})` : where;
}

/** ADD's answer for a hostPort mapping that could not be programmed. */
export function portErrorToCni(err: unknown, store: IpamStore): CniError {
  if (err instanceof CniError) return err;
  if (err instanceof PortMappingConflict) {
    return new CniError(
      CniCode.HostPortInUse,
      `hostPort ${err.key} is already mapped for ${describeHolder(store, err.holder)}`,
      'one hostPort (protocol, host address, port) can be mapped for one pod of a node at a time',
    );
  }
  if (err instanceof InvalidPortMapping) return new CniError(CniCode.InvalidNetworkConfig, 'invalid "runtimeConfig.portMappings"', err.message);
  if (err instanceof HostPortsUnavailable) return new CniError(CniCode.DatapathFailure, 'hostPort mappings are not available on this node', err.reason);
  const text = isNftError(err) ? `${err.operation}: ${err.reason}` : err instanceof Error ? err.message : String(err);
  return new CniError(CniCode.DatapathFailure, 'failed to program the hostPort mappings', text);
}
