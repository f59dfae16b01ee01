import { findLink } from '../rtnl/operations';
import type { RtnlSocket } from '../rtnl/rtnl-socket';
import type { PodNetworkSpec, WiredPod } from './datapath';
import type { HostProgrammer } from './host-programmer';

/**
 * Undoes a routed veth setUp that finished after its caller was told it failed (the ADD
 * released its leases): deletes the host end it created (the kernel takes the pod end and
 * every route through either end with it), if the link of that name is still the one setUp
 * reported (same MAC). A DEL and a new ADD of the same key may have come meanwhile: their
 * host end carries another MAC and is left alone.
 */
export async function undoLateSetUp(host: RtnlSocket, programmer: HostProgrammer, spec: PodNetworkSpec, wired: WiredPod): Promise<void> {
  const reported = wired.interfaces.find((i) => i.name === spec.hostIfname && i.sandbox === undefined);
  if (!reported) return;
  const link = await findLink(host, spec.hostIfname);
  if (link && link.mac === reported.mac) await programmer.deleteLink(link.index);
}
