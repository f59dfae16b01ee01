import * as ipaddr from 'ipaddr.js';
import { CniCode, CniError } from './cni-error';

export type PortProtocol = 'tcp' | 'udp' | 'sctp';

/**
 * One entry of the `portMappings` capability (kubelet's hostPort): traffic to `hostPort` on
 * the node (on `hostIP` only, when given) goes to `containerPort` of the pod.
 */
export interface PortMapping {
  hostPort: number;
  containerPort: number;
  protocol: PortProtocol;
  /** Canonical address; absent: every address of the node (kubelet's "" and 0.0.0.0 / :: mean that too). */
  hostIP?: string;
}

const PROTOCOLS: readonly PortProtocol[] = ['tcp', 'udp', 'sctp'];

function invalid(msg: string, value: unknown): CniError {
  return new CniError(CniCode.InvalidNetworkConfig, msg, `got ${JSON.stringify(value)}`);
}

function port(v: unknown, field: string, entry: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 65535)
    throw invalid(`"runtimeConfig.portMappings": ${field} must be a port number from 1 to 65535`, entry);
  return v;
}

/** The key a node can hand out once: protocol, host address (or every address) and host port. */
export function hostPortKey(m: PortMapping): string {
  return `${m.protocol}/${m.hostIP ?? '*'}/${m.hostPort}`;
}

/** "tcp 8080 -> 80" or "udp 10.0.0.1:53 -> 5353", for messages. */
export function describePortMapping(m: PortMapping): string {
  const host = m.hostIP === undefined ? `${m.hostPort}` : m.hostIP.includes(':') ? `[${m.hostIP}]:${m.hostPort}` : `${m.hostIP}:${m.hostPort}`;
  return `${m.protocol} ${host} -> ${m.containerPort}`;
}

const FIELDS = ['hostPort', 'containerPort', 'protocol', 'hostIP'] as const;

/**
 * An entry's fields as Go's encoding/json reads them into the portmap plugin's struct: the
 * exact key, else any key equal to it ignoring case. containerd's go-cni sends its PortMapping
 * without JSON tags ("HostPort", "ContainerPort", "Protocol", "HostIP"); kubelet and libcni
 * users send the lower-camel keys.
 */
function fieldsOf(e: Record<string, unknown>): Record<(typeof FIELDS)[number], unknown> {
  const out: Record<string, unknown> = {};
  for (const f of FIELDS) {
    if (f in e) out[f] = e[f];
    else {
      const k = Object.keys(e).find((key) => key.toLowerCase() === f.toLowerCase());
      if (k !== undefined) out[f] = e[k];
    }
  }
  return out as Record<(typeof FIELDS)[number], unknown>;
}

/**
 * Reads the `portMappings` capability as libcni passes it in runtimeConfig (the portmap
 * plugin's shape: hostPort, containerPort, protocol, hostIP; keys matched as Go matches them,
 * so containerd's capitalised ones read too). Protocol defaults to tcp and is
 * case-insensitive; an entry repeated exactly is kept once; one host port (per protocol and
 * host address) mapped to two container ports is an error, as is anything malformed: code 7.
 */
export function parsePortMappings(v: unknown): PortMapping[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw invalid('"runtimeConfig.portMappings" must be a list', v);
  const byKey = new Map<string, PortMapping>();
  for (const entry of v) {
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw invalid('"runtimeConfig.portMappings" entries must be objects', entry);
    const e = fieldsOf(entry as Record<string, unknown>);
    const protocolText = e.protocol === undefined || e.protocol === '' ? 'tcp' : e.protocol;
    if (typeof protocolText !== 'string' || !PROTOCOLS.includes(protocolText.toLowerCase() as PortProtocol)) {
      throw invalid('"runtimeConfig.portMappings": protocol must be "tcp", "udp" or "sctp"', entry);
    }
    const m: PortMapping = {
      hostPort: port(e.hostPort, 'hostPort', entry),
      containerPort: port(e.containerPort, 'containerPort', entry),
      protocol: protocolText.toLowerCase() as PortProtocol,
    };
    if (e.hostIP !== undefined && e.hostIP !== '') {
      if (typeof e.hostIP !== 'string' || !ipaddr.isValid(e.hostIP)) throw invalid('"runtimeConfig.portMappings": hostIP must be an IP address', entry);
      const ip = ipaddr.parse(e.hostIP);
      if (ip.range() !== 'unspecified') m.hostIP = ip.toString();
    }
    const key = hostPortKey(m);
    const before = byKey.get(key);
    if (before && before.containerPort !== m.containerPort) {
      throw invalid(
        `"runtimeConfig.portMappings" maps ${describePortMapping(before)} and ${describePortMapping(m)}: one host port cannot go to two container ports`,
        v,
      );
    }
    byKey.set(key, m);
  }
  return [...byKey.values()];
}
