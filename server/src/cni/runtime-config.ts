import * as ipaddr from 'ipaddr.js';
import { CniCode, CniError } from './cni-error';
import { type PortMapping, parsePortMappings } from './port-mappings';

/** The runtimeConfig capabilities podwire uses; any other capability is ignored, as the spec says. */
export interface RuntimeConfig {
  /** `ips` capability: requested addresses (CIDR or plain), reduced to plain addresses. */
  ips: string[];
  /** `mac` capability: the pod interface's MAC, lower-case "aa:bb:cc:dd:ee:ff". */
  mac?: string;
  /** `portMappings` capability (hostPorts), checked and de-duplicated; empty when absent. */
  portMappings: PortMapping[];
}

const MAC = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/;

function invalid(msg: string, value: unknown): CniError {
  return new CniError(CniCode.InvalidNetworkConfig, msg, `got ${JSON.stringify(value)}`);
}

export function parseRuntimeConfig(v: unknown): RuntimeConfig {
  const out: RuntimeConfig = { ips: [], portMappings: [] };
  if (v === undefined || v === null) return out;
  if (typeof v !== 'object' || Array.isArray(v)) throw invalid('"runtimeConfig" must be an object', v);
  const rc = v as Record<string, unknown>;
  if (rc.ips !== undefined) {
    if (!Array.isArray(rc.ips)) throw invalid('"runtimeConfig.ips" must be a list of addresses', rc.ips);
    for (const ip of rc.ips) {
      if (typeof ip !== 'string') throw invalid('"runtimeConfig.ips" must be a list of addresses', ip);
      const plain = ip.split('/')[0] ?? '';
      if (!ipaddr.isValid(plain) || (ip.includes('/') && !ipaddr.isValidCIDR(ip))) throw invalid(`invalid requested address in "runtimeConfig.ips"`, ip);
      out.ips.push(ipaddr.parse(plain).toString());
    }
  }
  if (rc.mac !== undefined) {
    if (typeof rc.mac !== 'string' || !MAC.test(rc.mac)) throw invalid('"runtimeConfig.mac" must be a MAC address like "0a:58:0a:f4:00:05"', rc.mac);
    const first = parseInt(rc.mac.slice(0, 2), 16);
    if (first & 1) throw invalid('"runtimeConfig.mac" must be a unicast address (the low bit of its first byte must be 0)', rc.mac);
    out.mac = rc.mac.toLowerCase();
  }
  out.portMappings = parsePortMappings(rc.portMappings);
  return out;
}
