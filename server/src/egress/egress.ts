import type { Logger } from 'pino';
import { type MasqueradeConfig, masqueradeEnabled } from '../config/masquerade-config';
import { type HostPorts, HostPortsUnavailable } from '../handlers/host-ports';
import {
  ConntrackCleaner,
  type HeldPortMapping,
  type MasqueradeState,
  NftTables,
  type PodPortMapping,
  type ProgrammedSummary,
  type TableExtension,
  enableRouteLocalnet,
  portKeyOf,
  summaryOf,
} from '../nft';
import type { NftCommand } from '../nft/nft-json';
import { familyOf } from '../nft/port-mappings';
import type { NodePodCidrSource } from '../peers/node-pod-cidrs';

export interface EgressOptions {
  /** podwired's owner tag (early-start.ts): its table is `inet podwire-<ownerTag>`. */
  ownerTag: string;
  masquerade: MasqueradeConfig;
  /** This node's pod CIDRs (configured or learnt): masquerade sources, cluster members, and whether masquerade is on by default. */
  node: NodePodCidrSource;
  log: Logger;
  /** Opens the table and the conntrack socket (tests inject fakes); podwired's netns by default. */
  open?: (ownerTag: string) => { tables: NftTables; conntrack: ConntrackCleaner };
  /** route_localnet on a pod's host interface (IPv4 hostPorts from 127.0.0.1). */
  routeLocalnet?: (hostIfname: string) => unknown;
}

/** What podwired's table is rebuilt from at start: the store's mappings and the ranges its leases came from. */
export interface EgressStartState {
  portMappings: readonly HeldPortMapping[];
  /** CIDRs of the ranges of every network served here (from leases at start). */
  servedCidrs: readonly string[];
  /** Every peer's pod CIDRs known so far. */
  peerCidrs: readonly string[];
}

/** For `podwirectl status` and Debug.ServerInfo. */
export interface EgressStatus {
  /** "" when programming; otherwise why nftables is not used (then no masquerade, no hostPorts). */
  unavailable: string;
  table: string;
  masquerade: boolean;
  summary?: ProgrammedSummary;
  /** The last failure to program the table, if the latest attempt failed. */
  lastError: string;
}

/**
 * podwired's egress masquerade and hostPort mappings: its NftTables, kept in step with the
 * store (mappings, through the handlers), the configuration and the peers (the masquerade
 * sets). When nftables cannot be opened, podwired serves without both: every ADD asking for
 * hostPorts fails with the reason, and status and Debug say so.
 */
export class Egress implements HostPorts {
  readonly unavailable: string | undefined;
  readonly table: string;
  private readonly tables: NftTables | undefined;
  private readonly conntrack: ConntrackCleaner | undefined;
  private masquerade: MasqueradeConfig;
  private readonly served = new Set<string>();
  private peerCidrs: readonly string[] = [];
  /** Mappings from the store not yet written (the start rebuild failed): the next resync retries with them. */
  private unbuilt: readonly HeldPortMapping[] | undefined;
  private lastError = '';
  private started = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: EgressOptions) {
    this.masquerade = options.masquerade;
    let opened: { tables: NftTables; conntrack: ConntrackCleaner } | undefined;
    try {
      opened = (options.open ?? openInPlace)(options.ownerTag);
    } catch (err) {
      this.unavailable = `nftables could not be opened: ${err instanceof Error ? err.message : String(err)}`;
      options.log.error({ err: this.unavailable }, 'egress: no egress masquerade and no hostPort mappings on this node (ADDs with portMappings fail)');
    }
    this.tables = opened?.tables;
    this.conntrack = opened?.conntrack;
    this.table = opened?.tables.table ?? '';
  }

  /** Writes the whole table from the store and the configuration (at start, after reconcile). */
  start(state: EgressStartState): void {
    for (const c of state.servedCidrs) this.served.add(c);
    this.peerCidrs = [...state.peerCidrs];
    this.unbuilt = state.portMappings;
    this.started = true;
    this.rebuild();
  }

  /**
   * NetworkPolicy's objects kept in this table (policy/node-policy.ts): set before start(),
   * whose whole write then builds them too. Throws when nftables could not be opened (policy
   * is never enforced halfway).
   */
  setPolicy(extension: TableExtension): void {
    if (!this.tables) throw new Error(`NetworkPolicy needs nftables: ${this.unavailable ?? 'nftables is not open'}`);
    this.tables.setExtension(extension);
  }

  /**
   * One policy transaction (element or policy changes). Before start() nothing is sent
   * (start's write builds every policy object); when the table was never written, it is
   * written whole now; when the kernel refuses the delta, the table is written whole.
   * Throws when the kernel refuses even that.
   */
  runPolicy(operation: string, commands: NftCommand[]): void {
    if (!this.tables) throw new Error(`NetworkPolicy needs nftables: ${this.unavailable ?? 'nftables is not open'}`);
    if (!this.started) return;
    if (this.unbuilt) {
      if (!this.rebuild()) throw new Error(`podwired's table could not be written: ${this.lastError}`);
      return;
    }
    try {
      this.tables.runExtension(operation, commands);
    } catch (err) {
      this.fail(operation, err);
      throw err;
    }
  }

  /** The ranges of a network an ADD served (NetworkRegistry): new ones join the masquerade sources. */
  serveCidrs(cidrs: readonly string[]): void {
    const fresh = cidrs.filter((c) => !this.served.has(c));
    if (fresh.length === 0) return;
    for (const c of fresh) this.served.add(c);
    this.refresh('served ranges');
  }

  /** The peers changed (or this node learnt its pod CIDRs): the cluster set follows by element updates. */
  setPeerCidrs(cidrs: readonly string[]): void {
    this.peerCidrs = [...cidrs];
    this.refresh('peers');
  }

  /** SIGHUP: a re-read masquerade section. */
  reload(masquerade: MasqueradeConfig): void {
    this.masquerade = masquerade;
    this.refresh('configuration');
  }

  /** Compares the kernel with the desired table and rewrites it whole on drift (an operator's flush). */
  resync(): string[] {
    if (!this.tables || !this.started) return [];
    if (this.unbuilt) return this.rebuild() ? ['the table was not written yet'] : [];
    try {
      const drift = this.tables.resync();
      this.lastError = '';
      if (drift.length > 0) this.options.log.warn({ table: this.table, drift }, 'egress: nftables table drifted; rewritten whole');
      return drift;
    } catch (err) {
      this.fail('resync', err);
      return [];
    }
  }

  /** Resyncs every `ms` until close(). */
  startResync(ms: number): void {
    if (!this.tables || ms <= 0) return;
    this.timer = setInterval(() => this.resync(), ms);
    this.timer.unref();
  }

  map(holder: string, mappings: readonly PodPortMapping[], hostIfname: string): void {
    if (!this.tables) throw new HostPortsUnavailable(this.unavailable ?? 'nftables is not open');
    // The start's write failed: the store's mappings go in first, or this ADD's write (the
    // whole table, since none was built) would leave them out.
    if (this.unbuilt && !this.rebuild()) throw new HostPortsUnavailable(`podwired's table could not be written: ${this.lastError}`);
    this.tables.addPortMappings(holder, mappings);
    if (mappings.some((m) => familyOf(m.podIP) === 4)) (this.options.routeLocalnet ?? enableRouteLocalnet)(hostIfname);
  }

  async unmap(holder: string): Promise<HeldPortMapping[]> {
    if (!this.tables) return [];
    // Not written yet: the holder's stored mappings must not come back with the next write.
    if (this.unbuilt) this.unbuilt = this.unbuilt.filter((m) => m.holder !== holder);
    const removed = this.tables.removePortMappings(holder);
    if (removed.length > 0 && this.conntrack) {
      try {
        await this.conntrack.clearAfterUnmap(removed);
      } catch (err) {
        this.options.log.warn(
          { holder, err: err instanceof Error ? err.message : String(err) },
          'egress: clearing UDP conntrack entries after unmapping failed; stale flows expire on their own',
        );
      }
    }
    return removed;
  }

  missing(holder: string, expected: readonly PodPortMapping[]): string[] {
    if (!this.tables) return [this.unavailable ?? 'nftables is not open'];
    const problems: string[] = [];
    for (const m of expected) {
      const key = portKeyOf(m);
      const held = this.tables.holderOf(key);
      if (held !== holder) problems.push(held === undefined ? `hostPort ${key} is not mapped` : `hostPort ${key} is mapped for ${held}`);
    }
    return [...problems, ...this.tables.checkPortMappings(holder)];
  }

  status(): EgressStatus {
    const out: EgressStatus = { unavailable: this.unavailable ?? '', table: this.table, masquerade: this.desired().enabled, lastError: this.lastError };
    if (this.tables) {
      try {
        out.summary = summaryOf(this.tables.readBack());
      } catch (err) {
        out.lastError = err instanceof Error ? err.message : String(err);
      }
    }
    return out;
  }

  /** The mappings programmed (all holders). */
  portMappings(): HeldPortMapping[] {
    return this.tables?.portMappings() ?? [];
  }

  /** Stops the resync, closes the conntrack socket and the libnftables context. The table stays: pods keep their hostPorts and egress while podwired restarts. */
  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.conntrack?.close();
    this.tables?.close();
  }

  /** The masquerade the configuration, the node, the served ranges and the peers ask for. */
  desired(): MasqueradeState {
    const node = this.options.node.podCidrs();
    return {
      enabled: masqueradeEnabled(this.masquerade, node),
      podSources: [...node, ...this.served],
      // The served ranges too: a pod of one network to a pod of another on this node is
      // forwarded through postrouting and must keep its address.
      cluster: [...node, ...this.served, ...this.peerCidrs],
      nonMasquerade: [...this.masquerade.nonMasqueradeCIDRs],
    };
  }

  private rebuild(): boolean {
    if (!this.tables || !this.unbuilt) return false;
    try {
      const { conflicts, invalid } = this.tables.rebuild({ masquerade: this.desired(), portMappings: this.unbuilt });
      this.unbuilt = undefined;
      this.lastError = '';
      if (conflicts.length + invalid.length > 0)
        this.options.log.error({ conflicts, invalid }, 'egress: stored hostPort mappings left out of the table (a port claimed twice, or unprogrammable)');
      this.options.log.info(
        { table: this.table, masquerade: this.tables.masqueradeState().enabled, portMappings: this.tables.portMappings().length },
        'egress: nftables table written',
      );
      return true;
    } catch (err) {
      this.fail('rebuild', err);
      return false;
    }
  }

  private refresh(why: string): void {
    // Before start() nothing is written: start() writes the whole table from all of it.
    if (!this.tables || !this.started) return;
    if (this.unbuilt) {
      this.rebuild();
      return;
    }
    const d = this.desired();
    try {
      this.tables.setMasqueradeCidrs('podSources', d.podSources);
      this.tables.setMasqueradeCidrs('cluster', d.cluster);
      this.tables.setMasqueradeCidrs('nonMasquerade', d.nonMasquerade);
      this.tables.setMasqueradeEnabled(d.enabled);
    } catch (err) {
      this.fail(`update masquerade (${why})`, err);
    }
  }

  private fail(what: string, err: unknown): void {
    this.lastError = `${what}: ${err instanceof Error ? err.message : String(err)}`;
    this.options.log.error({ table: this.table, err: this.lastError }, 'egress: programming the nftables table failed; the next resync retries');
  }
}

function openInPlace(ownerTag: string): { tables: NftTables; conntrack: ConntrackCleaner } {
  const tables = NftTables.open(ownerTag);
  // A read proves libnftables and the kernel's nf_tables answer before anything is promised.
  tables.readBack();
  return { tables, conntrack: new ConntrackCleaner() };
}
