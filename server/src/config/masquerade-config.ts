import { parseCidr } from './cluster-config';
import { ConfigError, isObject, rejectUnknownKeys } from './config-errors';

/**
 * Egress masquerade: pod traffic leaving for a destination outside every known pod CIDR and
 * outside `nonMasqueradeCIDRs` leaves with the node's address.
 */
export interface MasqueradeConfig {
  /** Absent: on whenever the node has pod CIDRs (configured or learnt from its Node object). */
  enabled?: boolean;
  /** Destinations that see pods' own addresses (canonical CIDRs, either family). */
  nonMasqueradeCIDRs: string[];
}

export function parseMasqueradeConfig(v: unknown): MasqueradeConfig {
  if (v === undefined) return { nonMasqueradeCIDRs: [] };
  if (!isObject(v)) throw new ConfigError(`"masquerade" must be an object, got ${JSON.stringify(v)}`);
  rejectUnknownKeys(v, ['enabled', 'nonMasqueradeCIDRs'], '"masquerade"');
  if (v.enabled !== undefined && typeof v.enabled !== 'boolean')
    throw new ConfigError(`"masquerade.enabled" must be true or false, got ${JSON.stringify(v.enabled)}`);
  const list = v.nonMasqueradeCIDRs ?? [];
  if (!Array.isArray(list)) throw new ConfigError(`"masquerade.nonMasqueradeCIDRs" must be a list of CIDRs, got ${JSON.stringify(list)}`);
  const cidrs = [...new Set(list.map((c, i) => parseCidr(c, `masquerade.nonMasqueradeCIDRs[${i}]`).cidr))];
  return v.enabled === undefined ? { nonMasqueradeCIDRs: cidrs } : { enabled: v.enabled, nonMasqueradeCIDRs: cidrs };
}

/** Whether masquerade is on for a node with these pod CIDRs (its default follows them). */
export function masqueradeEnabled(config: MasqueradeConfig, podCidrs: readonly string[]): boolean {
  return config.enabled ?? podCidrs.length > 0;
}
