import type { Attachment, Lease } from '@podwire/ipam-store';
import { POD_PREFIX } from '../datapath/routed-veth-layout';
import type { Attachment__Output as AttachmentMessage } from '../generated/podwire/v1/Attachment';
import type { Lease__Output as LeaseMessage } from '../generated/podwire/v1/Lease';
import type { ListAttachmentsRequest__Output } from '../generated/podwire/v1/ListAttachmentsRequest';
import { attachmentStateEnum } from './wire-enums';

export function keyText(k: { network: string; containerId: string; ifname: string }): string {
  return `${k.network}\0${k.containerId}\0${k.ifname}`;
}

/** Leases grouped by attachment. */
export function leasesByAttachment(leases: readonly Lease[]): Map<string, Lease[]> {
  const byKey = new Map<string, Lease[]>();
  for (const l of leases) {
    const list = byKey.get(keyText(l)) ?? [];
    list.push(l);
    byKey.set(keyText(l), list);
  }
  return byKey;
}

/** An attachment as the Debug service shows it; addresses as the pod holds them ("10.0.0.7/32"). */
export function attachmentMessage(att: Attachment, leases: readonly Lease[]): AttachmentMessage {
  return {
    network: att.network,
    containerId: att.containerId,
    ifname: att.ifname,
    netns: att.netns,
    hostIfname: att.hostIfname,
    state: attachmentStateEnum(att.state),
    podNamespace: att.podNamespace ?? '',
    podName: att.podName ?? '',
    podUid: att.podUid ?? '',
    createdAt: new Date(att.createdAt).toISOString(),
    addresses: [...leases].sort((a, b) => a.setIndex - b.setIndex).map((l) => `${l.address}/${POD_PREFIX[l.family]}`),
  };
}

export function leaseMessage(l: Lease): LeaseMessage {
  return {
    network: l.network,
    address: l.address,
    family: l.family,
    prefixLength: l.prefixLength,
    containerId: l.containerId,
    ifname: l.ifname,
    setIndex: l.setIndex,
  };
}

/** ListAttachments' filters: an empty field does not filter. */
export function matchesFilter(att: Attachment, f: Partial<ListAttachmentsRequest__Output>): boolean {
  return (
    (!f.podNamespace || att.podNamespace === f.podNamespace) &&
    (!f.podName || att.podName === f.podName) &&
    (!f.containerId || att.containerId === f.containerId) &&
    (!f.network || att.network === f.network)
  );
}
