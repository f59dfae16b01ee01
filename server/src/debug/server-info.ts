import type { ServerInfoReply } from '../generated/podwire/v1/ServerInfoReply';
import { describeServerConfig } from '../config/server-config';
import { probeStore } from './component-health';
import { DebugDeps } from './debug-deps';
import { poolUsage } from './pool-usage';

/** ServerInfo: identity, uptime, readiness, configuration, component health, pool usage. */
export async function serverInfo(deps: DebugDeps): Promise<ServerInfoReply> {
  const now = deps.now();
  const store = probeStore(deps.store);
  const podCidrs = [...deps.podCidrs()];
  let pools: ServerInfoReply['pools'] = [];
  let attachments = 0;
  if (store.ok) {
    pools = poolUsage(deps.networks, deps.store, podCidrs);
    attachments = deps.store.listAttachments().length;
  }
  return {
    version: deps.version,
    startedAt: deps.startedAt.toISOString(),
    uptimeSeconds: (now.getTime() - deps.startedAt.getTime()) / 1000,
    ready: deps.readiness.done,
    configJson: JSON.stringify(describeServerConfig(deps.config)),
    store,
    netlink: await deps.probeNetlink(),
    pools,
    attachments,
    nodeName: deps.config.node.name,
    podCidrs,
    nodeVersion: process.version,
  };
}
