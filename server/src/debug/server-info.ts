import type { ServerInfoReply } from '../generated/podwire/v1/ServerInfoReply';
import type { StartupReport as StartupReportMessage } from '../generated/podwire/v1/StartupReport';
import { describeServerConfig } from '../config/server-config';
import type { StartupReport } from '../startup/startup-report';
import type { NftStatus } from '../generated/podwire/v1/NftStatus';
import type { EgressStatus } from '../egress/egress';
import { probeStore } from './component-health';
import type { DebugDeps } from './debug-deps';
import { poolUsage } from './pool-usage';
import { verificationStateEnum } from './wire-enums';

/** The start-up report as ServerInfo sends it (field for field; the state as its enum). */
export function startupMessage(r: StartupReport): StartupReportMessage {
  const v = r.verification;
  return {
    reconcile: { ...r.reconcile },
    phases: { ...r.phases },
    verification: {
      state: verificationStateEnum(v.state),
      total: v.total,
      verified: v.verified,
      failed: v.failed,
      netnsGone: v.netnsGone,
      problems: v.problems.map((p) => ({ network: p.network, containerId: p.containerId, ifname: p.ifname, problem: p.problem })),
      durationMs: v.durationMs,
    },
  };
}

/** ServerInfo: identity, uptime, readiness, configuration, component health, pool usage, start-up. */
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
    startup: startupMessage(deps.startup()),
    pendingLinkDestructions: deps.datapath.pendingDestructions(),
    ...(deps.egress ? { nft: nftMessage(deps.egress()) } : {}),
    ...(deps.policyStats ? { policy: deps.policyStats() } : {}),
  };
}

/** The egress status as ServerInfo's NftStatus. */
export function nftMessage(s: EgressStatus): NftStatus {
  const sum = s.summary;
  return {
    table: sum?.table ?? (s.table ? `inet ${s.table}` : ''),
    available: s.unavailable === '',
    error: s.unavailable || s.lastError,
    present: sum?.present ?? false,
    masquerade: s.masquerade,
    podSources: sum?.podSources ?? 0,
    cluster: sum?.cluster ?? 0,
    nonMasquerade: sum?.nonMasquerade ?? 0,
    portMappings: sum?.portMappings ?? 0,
    rules: sum?.rules ?? 0,
  };
}
