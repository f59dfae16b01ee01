import type { Attachment, Lease } from '@podwire/ipam-store';
import type { Logger } from 'pino';
import type { CniResult } from '../cni/cni-result';
import { portHolder } from '../handlers/host-ports';
import { networkCidrText } from '../ip-text';
import type { HeldPortMapping } from '../nft';
import type { EgressStartState } from './egress';

/**
 * What podwired's table is rebuilt from at start, from the store as reconcile left it (its
 * ready attachments and leases, as reconcile read them: not read again): the hostPort mappings
 * in every ready attachment's stored result, and the subnets of every lease (the ranges of the
 * networks served here, before any ADD records them again).
 */
export function egressStartState(
  stored: { ready: ReadonlyArray<{ attachment: Attachment }>; leases: readonly Lease[] },
  peerCidrs: readonly string[],
  log: Logger,
): EgressStartState {
  const portMappings: HeldPortMapping[] = [];
  for (const { attachment: a } of stored.ready) {
    if (!a.result) continue;
    let result: CniResult;
    try {
      result = JSON.parse(a.result) as CniResult;
    } catch {
      log.warn(
        { network: a.network, containerId: a.containerId, ifname: a.ifname },
        'egress: a stored result is not JSON; its hostPorts (if any) are not restored',
      );
      continue;
    }
    for (const m of result.portMappings ?? []) portMappings.push({ ...m, holder: portHolder(a) });
  }
  // Each lease's subnet (the network of its address), once per subnet: what an ADD of that
  // network reports again (NetworkRegistry's subnets) is then known, and changes nothing.
  const servedCidrs = [...new Set(stored.leases.map((l) => networkCidrText(l.address, l.prefixLength)))];
  return { portMappings, servedCidrs, peerCidrs };
}
