/**
 * The cross-node part of the server configuration: this node's pod CIDRs and where the
 * other nodes (peers) are learnt from.
 */
import * as os from 'node:os';
import * as ipaddr from 'ipaddr.js';
import { parseCidrText } from '../ip-text';
import { ConfigError, isObject, optionalString, rejectUnknownKeys, requireString } from './config-errors';
import { NO_OVERLAY, type OverlayConfig, parseOverlay } from './overlay-config';

export interface NodeConfig {
  /** This node's name (default: the host name); the Kubernetes Node object it reads. */
  name: string;
  /** At most one pod CIDR per family, canonical ("10.244.1.0/24"). Empty: taken from Kubernetes, or not set. */
  podCIDRs: string[];
  /** This node's underlay addresses, at most one per family (canonical). Empty: not configured. */
  nodeIPs: string[];
}

export interface StaticPeer {
  name: string;
  /** The address pod traffic for this peer is routed via. */
  nodeIP: string;
  /** Present when the config gives "nodeIPs": the node's addresses, one per family (dual-stack), nodeIP being the first. */
  nodeIPs?: string[];
  podCIDRs: string[];
}

export type PeerSourceConfig =
  | { source: 'none' }
  | { source: 'static'; peers: StaticPeer[] }
  /** kubeconfig absent: in-cluster (service account) credentials. */
  | { source: 'kubernetes'; kubeconfig?: string };

export interface ClusterConfig {
  node: NodeConfig;
  peers: PeerSourceConfig;
  /** How pod traffic reaches the peers (`peers.encapsulation`, `peers.vxlan`). */
  overlay: OverlayConfig;
}

/** Canonical network text of a CIDR; the address must be the network address itself. */
export function parseCidr(text: unknown, field: string): { cidr: string; family: 4 | 6 } {
  if (typeof text !== 'string') throw new ConfigError(`"${field}" must be a CIDR string, got ${JSON.stringify(text)}`);
  let parsed: [ipaddr.IPv4 | ipaddr.IPv6, number];
  try {
    parsed = parseCidrText(text);
  } catch {
    throw new ConfigError(`"${field}": ${JSON.stringify(text)} is not a CIDR`);
  }
  const [addr, bits] = parsed;
  const family = addr.kind() === 'ipv4' ? 4 : 6;
  const network = family === 4 ? ipaddr.IPv4.networkAddressFromCIDR(text) : ipaddr.IPv6.networkAddressFromCIDR(text);
  if (network.toString() !== addr.toString()) {
    throw new ConfigError(`"${field}": ${text} has host bits set (the network is ${network.toString()}/${bits})`);
  }
  return { cidr: `${network.toString()}/${bits}`, family };
}

/** At most one CIDR per family. */
export function parsePodCidrs(v: unknown, field: string): string[] {
  if (!Array.isArray(v)) throw new ConfigError(`"${field}" must be a list of CIDRs, got ${JSON.stringify(v)}`);
  const seen = new Set<number>();
  return v.map((item, i) => {
    const { cidr, family } = parseCidr(item, `${field}[${i}]`);
    if (seen.has(family)) throw new ConfigError(`"${field}" has more than one IPv${family} CIDR`);
    seen.add(family);
    return cidr;
  });
}

function parseNode(v: unknown, nameOverride: string | undefined): NodeConfig {
  if (v === undefined) return { name: nameOverride ?? os.hostname(), podCIDRs: [], nodeIPs: [] };
  if (!isObject(v)) throw new ConfigError(`"node" must be an object, got ${JSON.stringify(v)}`);
  rejectUnknownKeys(v, ['name', 'podCIDRs', 'nodeIPs'], '"node"');
  return {
    name: nameOverride ?? optionalString(v.name, 'node.name') ?? os.hostname(),
    podCIDRs: v.podCIDRs === undefined ? [] : parsePodCidrs(v.podCIDRs, 'node.podCIDRs'),
    nodeIPs: v.nodeIPs === undefined ? [] : parseNodeIPs(v.nodeIPs, 'node.nodeIPs'),
  };
}

/** At most one address per family. */
function parseNodeIPs(v: unknown, field: string): string[] {
  if (!Array.isArray(v)) throw new ConfigError(`"${field}" must be a list of IP addresses, got ${JSON.stringify(v)}`);
  const ips = v.map((ip, j) => parseNodeIP(ip, `${field}[${j}]`));
  if (ips.some((ip, j) => ips.findIndex((o) => o.includes(':') === ip.includes(':')) !== j))
    throw new ConfigError(`"${field}" has more than one address of a family`);
  return ips;
}

function parseStaticPeer(v: unknown, i: number): StaticPeer {
  const where = `peers.static[${i}]`;
  if (!isObject(v)) throw new ConfigError(`"${where}" must be an object, got ${JSON.stringify(v)}`);
  rejectUnknownKeys(v, ['name', 'nodeIP', 'nodeIPs', 'podCIDRs'], `"${where}"`);
  const name = requireString(v.name, `${where}.name`);
  const podCIDRs = parsePodCidrs(v.podCIDRs, `${where}.podCIDRs`);
  if (v.nodeIPs === undefined) return { name, nodeIP: parseNodeIP(v.nodeIP, `${where}.nodeIP`), podCIDRs };
  if (!Array.isArray(v.nodeIPs) || v.nodeIPs.length === 0)
    throw new ConfigError(`"${where}.nodeIPs" must be a non-empty list of IP addresses, got ${JSON.stringify(v.nodeIPs)}`);
  const nodeIPs = parseNodeIPs(v.nodeIPs, `${where}.nodeIPs`);
  const nodeIP = v.nodeIP === undefined ? (nodeIPs[0] ?? '') : parseNodeIP(v.nodeIP, `${where}.nodeIP`);
  if (!nodeIPs.includes(nodeIP)) throw new ConfigError(`"${where}.nodeIP" ${nodeIP} is not one of "nodeIPs"`);
  return { name, nodeIP, nodeIPs, podCIDRs };
}

function parseNodeIP(v: unknown, field: string): string {
  const text = requireString(v, field);
  if (!ipaddr.isValid(text)) throw new ConfigError(`"${field}": ${JSON.stringify(text)} is not an IP address`);
  return ipaddr.parse(text).toString();
}

function parsePeers(v: unknown): PeerSourceConfig {
  if (v === undefined) return { source: 'none' };
  if (!isObject(v)) throw new ConfigError(`"peers" must be an object, got ${JSON.stringify(v)}`);
  rejectUnknownKeys(v, ['source', 'static', 'kubeconfig', 'encapsulation', 'vxlan'], '"peers"');
  switch (v.source) {
    case 'none':
      return { source: 'none' };
    case 'static': {
      if (!Array.isArray(v.static)) throw new ConfigError('"peers.static" must be a list of peers when "peers.source" is "static"');
      const peers = v.static.map(parseStaticPeer);
      const names = new Set<string>();
      for (const p of peers) {
        if (names.has(p.name)) throw new ConfigError(`"peers.static" names peer ${JSON.stringify(p.name)} twice`);
        names.add(p.name);
      }
      return { source: 'static', peers };
    }
    case 'kubernetes': {
      const kubeconfig = optionalString(v.kubeconfig, 'peers.kubeconfig');
      return kubeconfig === undefined ? { source: 'kubernetes' } : { source: 'kubernetes', kubeconfig };
    }
    default:
      throw new ConfigError(`"peers.source" must be "none", "static" or "kubernetes", got ${JSON.stringify(v.source)}`);
  }
}

/** `nodeName` (the --node-name flag) overrides node.name. */
export function parseClusterConfig(node: unknown, peers: unknown, nodeName?: string): ClusterConfig {
  const overlay = isObject(peers) ? parseOverlay(peers.encapsulation, peers.vxlan) : { ...NO_OVERLAY, vxlan: { ...NO_OVERLAY.vxlan } };
  const cluster = { node: parseNode(node, nodeName), peers: parsePeers(peers), overlay };
  if (overlay.encapsulation !== 'none' && cluster.peers.source === 'static' && cluster.node.nodeIPs.length === 0) {
    throw new ConfigError(
      `"peers.encapsulation" ${JSON.stringify(overlay.encapsulation)} needs "node.nodeIPs" (the VXLAN device's local address) with static peers`,
    );
  }
  if (cluster.peers.source === 'static') {
    for (const p of cluster.peers.peers) {
      if (p.name === cluster.node.name) throw new ConfigError(`"peers.static" lists this node (${JSON.stringify(p.name)}) as its own peer`);
    }
  }
  return cluster;
}
