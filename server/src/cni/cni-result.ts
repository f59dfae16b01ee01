import { type CniVersion, compareVersions } from './cni-versions';
import type { DnsConfig } from './net-conf';
import type { PodPortMapping } from '../nft/port-mappings';

export interface ResultInterface {
  name: string;
  mac: string;
  /** 1.1.0 and later only. */
  mtu?: number;
  sandbox?: string;
}

export interface ResultIp {
  /** 0.3.x and 0.4.0 only: "4" or "6". */
  version?: '4' | '6';
  address: string;
  gateway?: string;
  interface?: number;
}

export interface ResultRoute {
  dst: string;
  gw?: string;
}

export interface CniResult {
  cniVersion: string;
  interfaces: ResultInterface[];
  ips: ResultIp[];
  routes: ResultRoute[];
  dns?: DnsConfig;
  /**
   * podwire's own, in the stored result only: the hostPort mappings ADD programmed. The
   * result printed for ADD never carries it (resultForVersion() builds the spec's shape).
   */
  portMappings?: PodPortMapping[];
}

/**
 * Rewrites a result (as podwire builds and stores it, in the newest shape) into the shape of
 * `version`: 1.1.0 carries interface mtu; 1.0.0 drops it; 0.3.x/0.4.0 also put "version" in
 * every ips entry.
 */
export function resultForVersion(result: CniResult, version: CniVersion): CniResult {
  const withMtu = compareVersions(version, '1.1.0') >= 0;
  const withIpVersion = compareVersions(version, '1.0.0') < 0;
  const out: CniResult = {
    cniVersion: version,
    interfaces: result.interfaces.map(({ mtu, ...rest }) => (withMtu && mtu !== undefined ? { ...rest, mtu } : rest)),
    ips: result.ips.map(({ version: _v, ...rest }) => (withIpVersion ? { version: rest.address.includes(':') ? '6' : '4', ...rest } : rest)),
    routes: result.routes.map((r) => ({ ...r })),
  };
  if (result.dns) out.dns = result.dns;
  return out;
}
