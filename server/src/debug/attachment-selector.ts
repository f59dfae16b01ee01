import * as grpc from '@grpc/grpc-js';
import type { Attachment } from '@podwire/ipam-store';
import type { GetAttachmentRequest__Output } from '../generated/podwire/v1/GetAttachmentRequest';

export type Selection = { attachment: Attachment } | { code: grpc.status; message: string };

function describe(req: Partial<GetAttachmentRequest__Output>): string {
  const parts: string[] = [];
  if (req.containerId) parts.push(`container ${req.containerId}`);
  if (req.podNamespace || req.podName) parts.push(`pod ${req.podNamespace ?? ''}/${req.podName ?? ''}`);
  if (req.network) parts.push(`network ${req.network}`);
  if (req.ifname) parts.push(`interface ${req.ifname}`);
  return parts.join(', ');
}

/**
 * GetAttachment's choice: by container id, or by pod namespace + name (both), narrowed by
 * network and interface. INVALID_ARGUMENT without a selector, NOT_FOUND when nothing
 * matches, FAILED_PRECONDITION (naming the candidates) when several do.
 */
export function selectAttachment(all: readonly Attachment[], req: Partial<GetAttachmentRequest__Output>): Selection {
  const byPod = Boolean(req.podNamespace || req.podName);
  if (byPod && !(req.podNamespace && req.podName)) {
    return { code: grpc.status.INVALID_ARGUMENT, message: 'select a pod by both pod_namespace and pod_name' };
  }
  if (!req.containerId && !byPod) {
    return { code: grpc.status.INVALID_ARGUMENT, message: 'give container_id, or pod_namespace and pod_name' };
  }
  const matches = all.filter(
    (a) =>
      (!req.containerId || a.containerId === req.containerId) &&
      (!byPod || (a.podNamespace === req.podNamespace && a.podName === req.podName)) &&
      (!req.network || a.network === req.network) &&
      (!req.ifname || a.ifname === req.ifname),
  );
  const [only, ...rest] = matches;
  if (!only) return { code: grpc.status.NOT_FOUND, message: `no attachment for ${describe(req)}` };
  if (rest.length > 0) {
    const candidates = matches.map((a) => `${a.network}/${a.containerId}/${a.ifname}`).join(', ');
    return {
      code: grpc.status.FAILED_PRECONDITION,
      message: `${matches.length} attachments match ${describe(req)} (${candidates}): narrow it with network, ifname or container_id`,
    };
  }
  return { attachment: only };
}
