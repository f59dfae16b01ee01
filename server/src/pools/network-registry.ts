import { type IpamStore, type RangeSet, describeRangeSet } from '@podwire/ipam-store';

/** Usage of one range set of one network, as ServerInfo and the metrics report it. */
export interface PoolUsageRow {
  network: string;
  /** The range set's canonical text, e.g. "10.244.1.0/24". */
  rangeSet: string;
  used: number;
  size: number;
  free: number;
}

/**
 * The address ranges of every network podwired has served since it started. podwired learns
 * a network's ranges only from the configurations the runtime sends, so the handlers record
 * them here and the Debug service and the metrics read pool usage from it.
 */
export class NetworkRegistry {
  private readonly networks = new Map<string, readonly RangeSet[]>();
  private readonly listeners: Array<(network: string, sets: readonly RangeSet[]) => void> = [];

  /** The ranges a call for `network` used (the latest configuration wins). */
  record(network: string, sets: readonly RangeSet[]): void {
    if (sets.length === 0) return;
    const before = this.networks.get(network);
    this.networks.set(network, sets);
    if (before && idsOf(before) === idsOf(sets)) return;
    for (const l of this.listeners) l(network, sets);
  }

  /** Told whenever a network's ranges are recorded for the first time or change (egress masquerade sources). */
  onChange(listener: (network: string, sets: readonly RangeSet[]) => void): void {
    this.listeners.push(listener);
  }

  get names(): string[] {
    return [...this.networks.keys()].sort();
  }

  /** Used/free addresses per network and range set, read from the store now. */
  usage(store: IpamStore): PoolUsageRow[] {
    const rows: PoolUsageRow[] = [];
    for (const network of this.names) {
      const sets = this.networks.get(network) ?? [];
      store.usage(network, sets).forEach((u, i) => {
        const set = sets[i];
        rows.push({ network, rangeSet: set ? describeRangeSet(set) : u.set, used: u.used, size: u.size, free: Math.max(0, u.size - u.used) });
      });
    }
    return rows;
  }
}

function idsOf(sets: readonly RangeSet[]): string {
  return sets.map((s) => s.id).join(' ');
}

/** The subnets a network's range sets draw from (canonical CIDRs). */
export function subnetsOf(sets: readonly RangeSet[]): string[] {
  return [...new Set(sets.flatMap((s) => s.ranges.map((r) => r.subnet)))];
}
