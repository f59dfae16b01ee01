import { cidrDelta, normaliseCidrs } from './cidr-sets';
import type { MasqueradeState } from './masquerade-rules';
import { type NetnsEnter, NftContext } from './nft-context';
import { isNftError } from './nft-error';
import type { NftCommand } from './nft-json';
import { type HeldPortMapping, InvalidPortMapping, type PodPortMapping, canonicalMapping, portKeyOf } from './port-mappings';
import { hairpinElement, mappingElements } from './port-mapping-rules';
import { type NftProgrammed, driftOf, elementText, programmedOf, programmedOfCommands } from './read-back';
import { cidrSetCommands, mappingCommands, refillSetCommands, wholeTableCommands } from './table-build';
import type { TableExtension } from './table-extension';
import { MASQ_SETS, type MasqSetKind, TABLE_FAMILY, tableNameOf } from './table-layout';

/** What podwired's table is rebuilt from: its store (mappings) and its config and peers (masquerade). */
export interface NftDesiredState {
  masquerade: MasqueradeState;
  portMappings: readonly HeldPortMapping[];
}

/** A hostPort another attachment holds: the second claim is refused, naming the holder. */
export class PortMappingConflict extends Error {
  constructor(
    /** portKeyOf(): "tcp 0.0.0.0:8080". */
    readonly key: string,
    /** Who holds it. */
    readonly holder: string,
  ) {
    super(`hostPort ${key} is already mapped for ${holder}`);
    this.name = 'PortMappingConflict';
  }
}

export interface NftTablesOptions {
  /** podwired's owner tag (early-start.ts): the table is `podwire-<ownerTag>`. */
  ownerTag: string;
  /** The libnftables context to program through (NftContext.open()). */
  context: NftContext;
  /** Told when an incremental change failed and the table was rebuilt whole instead. */
  onRepair?: (operation: string, err: unknown) => void;
}

/**
 * libnftables 1.0.6 deletes interval elements at a cost growing with the set (measured in a
 * 501-CIDR set: 1 delete 1.5 ms, 10 deletes 3 ms, 500 deletes 52 ms), while flushing the set
 * and adding back all 501 in one transaction took 3.6 ms. Past this many deletes in one set
 * the delta is a flush and refill (still one transaction, still no rule touched).
 */
const REFILL_ABOVE_REMOVALS = 16;

/** Masquerade off, nothing in its sets: the state before the first rebuild. */
const EMPTY_MASQUERADE: MasqueradeState = { enabled: false, podSources: [], cluster: [], nonMasquerade: [] };

/**
 * podwired's nftables table (`inet podwire-<ownerTag>`): the egress masquerade and the hostPort
 * mappings. It keeps the desired state and changes the kernel only in single transactions:
 * rebuild() writes the whole table from it (at start, and whenever a check finds drift: an
 * operator's flush, a crash between store and kernel); the incremental changes (mappings,
 * the masquerade sets following peers) send only the elements that change, and when the
 * kernel refuses such a delta because its table drifted they rebuild whole instead. Only
 * this table is ever named: other tables, podwired's of another owner tag included, are
 * never read, listed or deleted.
 */
export class NftTables {
  readonly table: string;
  private masquerade: MasqueradeState = EMPTY_MASQUERADE;
  private readonly byKey = new Map<string, HeldPortMapping>();
  private built = false;
  private extension: TableExtension | undefined;
  /** An extension delta and the whole write after it both failed: the kernel lags the extension until a write succeeds. */
  private extensionStale = false;

  constructor(private readonly options: NftTablesOptions) {
    this.table = tableNameOf(options.ownerTag);
  }

  /** An owner with its own context in the netns `enter` runs in (podwired's own when omitted). */
  static open(ownerTag: string, enter?: NetnsEnter): NftTables {
    return new NftTables({ ownerTag, context: NftContext.open(enter ? { enter } : {}) });
  }

  /** Transactions sent so far. */
  get transactions(): number {
    return this.options.context.transactions;
  }

  /**
   * Replaces the desired state and writes the whole table in one transaction (an absent table
   * is created). Mappings a store should never hold are left out and returned rather than
   * failing the whole start: `conflicts` claim a key an earlier mapping of another holder
   * claimed, `invalid` cannot be programmed (canonicalMapping refused them).
   */
  rebuild(state: NftDesiredState): { conflicts: HeldPortMapping[]; invalid: HeldPortMapping[] } {
    const byKey = new Map<string, HeldPortMapping>();
    const conflicts: HeldPortMapping[] = [];
    const invalid: HeldPortMapping[] = [];
    for (const given of state.portMappings) {
      let m: HeldPortMapping;
      try {
        m = { ...canonicalMapping(given), holder: given.holder };
      } catch (err) {
        if (!(err instanceof InvalidPortMapping)) throw err;
        invalid.push(given);
        continue;
      }
      const key = portKeyOf(m);
      const held = byKey.get(key);
      if (held && held.holder !== m.holder) conflicts.push(m);
      else byKey.set(key, m);
    }
    this.write('rebuild', state.masquerade, byKey);
    return { conflicts, invalid };
  }

  /**
   * Keeps `extension`'s objects in this table: every whole-table write from now on appends
   * its build(). Set it before the first rebuild (a table already written gets them at the
   * next write: call repair()).
   */
  setExtension(extension: TableExtension): void {
    this.extension = extension;
  }

  /**
   * Runs one delta transaction of the extension (its element or policy changes). Before the
   * first write nothing is sent (that write builds the extension whole); when the kernel
   * refuses the delta, the whole table is written instead (the extension's build() then
   * describes its current state). Throws NftError when even that is refused.
   */
  runExtension(operation: string, commands: NftCommand[]): void {
    if (!this.built) return;
    if (!this.extensionStale) {
      if (commands.length === 0) return;
      try {
        this.options.context.run(`${operation} in ${TABLE_FAMILY} ${this.table}`, commands);
        return;
      } catch (err) {
        this.options.onRepair?.(operation, err);
      }
    }
    this.extensionStale = true;
    this.write(operation, this.masquerade, this.byKey);
  }

  /** Writes the whole table again from the desired state (what a resync does on drift). */
  repair(): void {
    this.write('repair', this.masquerade, this.byKey);
  }

  /**
   * Maps `mappings` for `holder` in one transaction. Idempotent for mappings the holder already
   * has; a key the holder maps elsewhere is moved. Throws PortMappingConflict (nothing
   * changed) when another holder has one of the keys, InvalidPortMapping when `mappings`
   * itself maps one key to two targets, NftError when the kernel refuses even a rebuild.
   */
  addPortMappings(holder: string, mappings: readonly PodPortMapping[]): void {
    const next = new Map<string, HeldPortMapping>();
    for (const given of mappings) {
      const m = canonicalMapping(given);
      const key = portKeyOf(m);
      const held = this.byKey.get(key);
      if (held && held.holder !== holder) throw new PortMappingConflict(key, held.holder);
      const twin = next.get(key);
      if (twin && (twin.podIP !== m.podIP || twin.containerPort !== m.containerPort))
        throw new InvalidPortMapping(`hostPort ${key} is mapped twice in one request`);
      next.set(key, { ...m, holder });
    }
    const replaced: HeldPortMapping[] = [];
    const added: HeldPortMapping[] = [];
    for (const [key, m] of next) {
      const held = this.byKey.get(key);
      if (held && held.podIP === m.podIP && held.containerPort === m.containerPort) continue;
      if (held) replaced.push(held);
      added.push(m);
    }
    if (added.length === 0) return;
    const after = new Map(this.byKey);
    for (const m of added) after.set(portKeyOf(m), m);
    this.applyMappingDelta(`map ports for ${holder}`, replaced, added, after);
  }

  /** Unmaps every mapping of `holder` in one transaction; returns them (for conntrack clean-up). */
  removePortMappings(holder: string): HeldPortMapping[] {
    const removed = [...this.byKey.values()].filter((m) => m.holder === holder);
    if (removed.length === 0) return [];
    const after = new Map(this.byKey);
    for (const m of removed) after.delete(portKeyOf(m));
    this.applyMappingDelta(`unmap ports of ${holder}`, removed, [], after);
    return removed;
  }

  /** Who holds a key (portKeyOf(): "tcp 0.0.0.0:8080"), if anyone. */
  holderOf(key: string): string | undefined {
    return this.byKey.get(key)?.holder;
  }

  /** The mappings programmed, of one holder or all. */
  portMappings(holder?: string): HeldPortMapping[] {
    const all = [...this.byKey.values()];
    return holder === undefined ? all : all.filter((m) => m.holder === holder);
  }

  /**
   * CHECK's question: is every mapping of `holder` in the kernel? One read of the table;
   * returns what is missing ([] when all is there, or when the holder has no mappings).
   */
  checkPortMappings(holder: string): string[] {
    const mine = this.portMappings(holder);
    if (mine.length === 0) return [];
    const back = this.readBack();
    if (!back.present) return [`table ${TABLE_FAMILY} ${this.table} is missing`];
    const sets = new Map(Object.entries(back.sets).map(([name, elems]) => [name, new Set(elems)]));
    const problems: string[] = [];
    for (const m of mine) {
      for (const el of [...mappingElements(m), hairpinElement(m.podIP)]) {
        const text = elementText(el.elem);
        if (!sets.get(el.set)?.has(text)) problems.push(`hostPort ${portKeyOf(m)}: ${el.set} lacks ${text}`);
      }
    }
    return problems;
  }

  /** The desired masquerade state. */
  masqueradeState(): MasqueradeState {
    return { ...this.masquerade };
  }

  /**
   * Sets one masquerade set's CIDRs (both families; `cluster` as peers come and go) with one
   * transaction of element deletes and adds, no rule rewritten; past REFILL_ABOVE_REMOVALS
   * deletes in a family, that set is flushed and refilled in the same transaction instead.
   * Returns how many elements changed (0: no transaction).
   */
  setMasqueradeCidrs(kind: MasqSetKind, cidrs: readonly string[]): { added: number; removed: number } {
    const next = normaliseCidrs(cidrs);
    const now = normaliseCidrs(this.masquerade[kind]);
    const commands: NftCommand[] = [];
    let added = 0;
    let removed = 0;
    for (const f of [4, 6] as const) {
      const d = cidrDelta(now[f], next[f]);
      added += d.add.length;
      removed += d.remove.length;
      const set = MASQ_SETS[kind][f];
      if (d.remove.length > REFILL_ABOVE_REMOVALS) commands.push(...refillSetCommands(this.table, set, next[f]));
      else commands.push(...cidrSetCommands(this.table, set, d.remove, d.add));
    }
    const state = { ...this.masquerade, [kind]: [...cidrs] };
    if (commands.length === 0) {
      this.masquerade = state;
      return { added, removed };
    }
    this.applyDelta(`set ${kind} CIDRs`, commands, () => (this.masquerade = state), state, this.byKey);
    return { added, removed };
  }

  /** Turns the egress masquerade rules on or off (a rule change: the table is rebuilt). */
  setMasqueradeEnabled(enabled: boolean): void {
    if (this.built && this.masquerade.enabled === enabled) return;
    this.write(enabled ? 'enable masquerade' : 'disable masquerade', { ...this.masquerade, enabled }, this.byKey);
  }

  /** What the kernel holds of this table now (one list transaction). */
  readBack(): NftProgrammed {
    try {
      const objects = this.options.context.list(`list table ${TABLE_FAMILY} ${this.table}`, { list: { table: { family: TABLE_FAMILY, name: this.table } } });
      return programmedOf(TABLE_FAMILY, this.table, objects);
    } catch (err) {
      if (isNftError(err, 'ENOENT')) return { family: TABLE_FAMILY, table: this.table, present: false, chains: [], sets: {} };
      throw err;
    }
  }

  /** How the kernel's table differs from the desired state ([] when it agrees). */
  drift(): string[] {
    const expected = programmedOfCommands(
      TABLE_FAMILY,
      this.table,
      wholeTableCommands(this.table, { masquerade: this.masquerade, portMappings: [...this.byKey.values()] }),
    );
    const actual = this.readBack();
    const ext = this.extension;
    if (!ext) return driftOf(expected, actual);
    if (!actual.present) return driftOf(expected, actual);
    const base: NftProgrammed = {
      ...actual,
      chains: actual.chains.filter((c) => !ext.owns(c.name)),
      sets: Object.fromEntries(Object.entries(actual.sets).filter(([name]) => !ext.owns(name))),
    };
    const out = [...driftOf(expected, base), ...ext.drift(actual)];
    if (this.extensionStale) out.push('the last policy change was not written');
    return out;
  }

  /** The periodic check: rebuilds whole when the kernel drifted. Returns the drift found. */
  resync(): string[] {
    const d = this.drift();
    if (d.length > 0) this.repair();
    return d;
  }

  /** Deletes this owner's table (nothing else); fine when it is absent. Forgets the desired state. */
  deleteTable(): void {
    const t = { family: TABLE_FAMILY, name: this.table };
    this.options.context.run(`delete table ${TABLE_FAMILY} ${this.table}`, [{ add: { table: t } }, { delete: { table: t } }]);
    this.masquerade = EMPTY_MASQUERADE;
    this.byKey.clear();
    this.built = false;
  }

  /** Frees the libnftables context; the table stays in the kernel. */
  close(): void {
    this.options.context.close();
  }

  private applyMappingDelta(
    operation: string,
    removed: readonly HeldPortMapping[],
    added: readonly HeldPortMapping[],
    after: Map<string, HeldPortMapping>,
  ): void {
    const before = podAddresses(this.byKey.values());
    const now = podAddresses(after.values());
    const hairpinGone = new Set([...before].filter((ip) => !now.has(ip)));
    const hairpinNew = new Set([...now].filter((ip) => !before.has(ip)));
    const commands = [...mappingCommands('delete', this.table, removed, hairpinGone), ...mappingCommands('add', this.table, added, hairpinNew)];
    this.applyDelta(operation, commands, () => replaceMap(this.byKey, after), this.masquerade, after);
  }

  /**
   * Sends one delta transaction and commits the desired state; before the first rebuild, or
   * when the kernel refuses the delta (its table drifted: flushed, deleted, edited), writes
   * the whole table from the new state instead. If that fails too the old state stays and
   * the error is thrown.
   */
  private applyDelta(operation: string, commands: NftCommand[], commit: () => void, masquerade: MasqueradeState, byKey: Map<string, HeldPortMapping>): void {
    if (this.built) {
      try {
        this.options.context.run(`${operation} in ${TABLE_FAMILY} ${this.table}`, commands);
        commit();
        return;
      } catch (err) {
        this.options.onRepair?.(operation, err);
      }
    }
    this.write(operation, masquerade, byKey);
  }

  /** One whole-table transaction; on success the desired state becomes what was written. */
  private write(operation: string, masquerade: MasqueradeState, byKey: Map<string, HeldPortMapping>): void {
    const commands = wholeTableCommands(this.table, { masquerade, portMappings: [...byKey.values()] });
    if (this.extension) commands.push(...this.extension.build());
    try {
      this.options.context.run(`${operation}: table ${TABLE_FAMILY} ${this.table}`, commands);
    } catch (err) {
      // The extension's build() already took the unwritten state as the kernel's.
      if (this.extension) this.extensionStale = true;
      throw err;
    }
    this.masquerade = { ...masquerade };
    if (byKey !== this.byKey) replaceMap(this.byKey, byKey);
    this.built = true;
    this.extensionStale = false;
  }
}

function podAddresses(mappings: Iterable<HeldPortMapping>): Set<string> {
  const out = new Set<string>();
  for (const m of mappings) out.add(m.podIP);
  return out;
}

function replaceMap<K, V>(target: Map<K, V>, source: Map<K, V>): void {
  const entries = [...source];
  target.clear();
  for (const [k, v] of entries) target.set(k, v);
}
