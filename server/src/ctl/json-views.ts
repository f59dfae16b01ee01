/**
 * podwirectl's `-o json` shapes. They are built field by field here (not dumped from the
 * generated types) so the output stays stable when the proto grows: new fields are only ever
 * added. Counters arrive as decimal strings (uint64) and are printed as JSON numbers; enums
 * as podwired's own words ("ready", "ADD", "ok", "kubernetes"; enum-words.ts).
 */
import type { Attachment__Output } from '../generated/podwire/v1/Attachment';
import type { CniEvent__Output } from '../generated/podwire/v1/CniEvent';
import type { GetAttachmentReply__Output } from '../generated/podwire/v1/GetAttachmentReply';
import type { Lease__Output } from '../generated/podwire/v1/Lease';
import type { LinkState__Output } from '../generated/podwire/v1/LinkState';
import type { ListPeersReply__Output } from '../generated/podwire/v1/ListPeersReply';
import type { PoolUsage__Output } from '../generated/podwire/v1/PoolUsage';
import type { RouteState__Output } from '../generated/podwire/v1/RouteState';
import type { ServerInfoReply__Output } from '../generated/podwire/v1/ServerInfoReply';
import { attachmentStateWord, outcomeWord, peerSourceWord, verbWord } from './enum-words';

/** A JSON text that may be empty or broken: parsed, or null, or the text itself when not JSON. */
export function parseEmbeddedJson(text: string): unknown {
  if (text === '') return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

export function poolView(p: PoolUsage__Output) {
  return { network: p.network, rangeSet: p.rangeSet, used: Number(p.used), size: Number(p.size), free: Number(p.free) };
}

export interface HealthView {
  status: string;
  /** Why the health check could not be made, when it could not. */
  error?: string;
}

export function statusView(info: ServerInfoReply__Output, health: HealthView) {
  return {
    server: {
      version: info.version,
      nodeVersion: info.nodeVersion,
      nodeName: info.nodeName,
      podCIDRs: [...info.podCidrs],
      startedAt: info.startedAt,
      uptimeSeconds: info.uptimeSeconds,
      ready: info.ready,
      attachments: info.attachments,
      pendingLinkDestructions: info.pendingLinkDestructions,
      nft: info.nft ? { ...info.nft } : null,
      policy: info.policy ? { ...info.policy, transactions: Number(info.policy.transactions), failures: Number(info.policy.failures) } : null,
      store: { ok: info.store?.ok ?? false, detail: info.store?.detail ?? '' },
      netlink: { ok: info.netlink?.ok ?? false, detail: info.netlink?.detail ?? '' },
      config: parseEmbeddedJson(info.configJson),
    },
    pools: info.pools.map(poolView),
    health,
  };
}

export function attachmentView(a: Attachment__Output) {
  return {
    network: a.network,
    containerId: a.containerId,
    ifname: a.ifname,
    netns: a.netns,
    hostIfname: a.hostIfname,
    state: attachmentStateWord(a.state),
    podNamespace: a.podNamespace,
    podName: a.podName,
    podUid: a.podUid,
    createdAt: a.createdAt,
    addresses: [...a.addresses],
  };
}

function linkView(l: LinkState__Output | null) {
  if (!l) return null;
  return { present: l.present, name: l.name, index: l.index, mac: l.mac, mtu: l.mtu, operState: l.operState, addresses: [...l.addresses], detail: l.detail };
}

function routeView(r: RouteState__Output) {
  return { destination: r.destination, gateway: r.gateway, device: r.device, protocol: r.protocol };
}

export function podView(p: GetAttachmentReply__Output) {
  return {
    attachment: p.attachment ? attachmentView(p.attachment) : null,
    result: parseEmbeddedJson(p.resultJson),
    hostLink: linkView(p.hostLink),
    podLink: linkView(p.podLink),
    hostRoutes: p.hostRoutes.map(routeView),
    podRoutes: p.podRoutes.map(routeView),
    problems: [...p.problems],
  };
}

export function leaseView(l: Lease__Output) {
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

export function peersView(r: ListPeersReply__Output) {
  return {
    source: peerSourceWord(r.source),
    nodeName: r.nodeName,
    podCIDRs: [...r.podCidrs],
    peers: r.peers.map((p) => ({
      name: p.name,
      nodeIP: p.nodeIp,
      podCIDRs: [...p.podCidrs],
      mode: p.mode,
      vtepMac: p.vtepMac,
      vtepUnderlay: p.vtepUnderlay,
      pathMtu: p.pathMtu,
      pathMtuWarning: p.pathMtuWarning,
      routes: p.routes.map((rt) => ({ destination: rt.destination, gateway: rt.gateway, programmed: rt.programmed, error: rt.error, mode: rt.mode })),
    })),
  };
}

export function eventView(e: CniEvent__Output) {
  return {
    requestId: e.requestId,
    time: e.time,
    verb: verbWord(e.verb),
    containerId: e.containerId,
    ifname: e.ifname,
    network: e.network,
    podNamespace: e.podNamespace,
    podName: e.podName,
    durationMs: e.durationMs,
    outcome: outcomeWord(e.outcome),
    errorCode: e.errorCode,
    errorMsg: e.errorMsg,
  };
}
