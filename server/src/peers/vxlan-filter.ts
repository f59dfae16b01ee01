/**
 * VXLAN from known peers only: an nftables table of the overlay's own
 * (`inet podwire-vxlan-<ownerTag>`, beside the pods' `podwire-<ownerTag>`) whose input chain
 * drops UDP to the overlay's port carrying the overlay's VNI unless the sender is a known peer
 * node address. Other VXLAN users are not disturbed: a packet to another port, or with another
 * VNI in its VXLAN header (`@th,96,24`: the 24 bits after the UDP header and the VXLAN flags),
 * is never matched.
 *
 * Rebuilt whole in one transaction (the table added, deleted and added again: packets see the
 * old table or the new one) whenever the peer addresses differ from what the kernel holds,
 * which covers a start, a peer set change and a table flushed or deleted behind podwired's back.
 */
import type { NftContext } from '../nft/nft-context';
import { type NftCommand, type NftExpr, type NftObject, match, meta, payload, setRef } from '../nft/nft-json';
import { familyOf } from './peer';

const FAMILY = 'inet';

export function vxlanFilterTableName(ownerTag: string): string {
  return `podwire-vxlan-${ownerTag}`;
}

const SETS = { 4: 'peers-v4', 6: 'peers-v6' } as const;

export interface VxlanFilterOptions {
  context: NftContext;
  ownerTag: string;
  vni: number;
  port: number;
}

export class VxlanFilter {
  readonly table: string;

  constructor(private readonly opts: VxlanFilterOptions) {
    this.table = vxlanFilterTableName(opts.ownerTag);
  }

  /** The rules of the input chain: one per family. */
  private rules(): NftExpr[][] {
    const vni: NftExpr = { payload: { base: 'th', offset: 96, len: 24 } };
    return ([4, 6] as const).map((f) => [
      match(meta('nfproto'), '==', f === 4 ? 'ipv4' : 'ipv6'),
      match(meta('l4proto'), '==', 'udp'),
      match(payload('th', 'dport'), '==', this.opts.port),
      match(vni, '==', this.opts.vni),
      match(payload(f === 4 ? 'ip' : 'ip6', 'saddr'), '!=', setRef(SETS[f])),
      { counter: null },
      { drop: null },
    ]);
  }

  /** The whole table for `peers` (peer node addresses, both families). */
  private commands(peers: readonly string[]): NftCommand[] {
    const t = { family: FAMILY, name: this.table };
    const cmds: NftCommand[] = [{ add: { table: t } }, { delete: { table: t } }, { add: { table: t } }];
    for (const f of [4, 6] as const) {
      cmds.push({ add: { set: { family: FAMILY, table: this.table, name: SETS[f], type: f === 4 ? 'ipv4_addr' : 'ipv6_addr' } } });
      const elem = peers.filter((p) => familyOf(p) === f);
      if (elem.length > 0) cmds.push({ add: { element: { family: FAMILY, table: this.table, name: SETS[f], elem } } });
    }
    cmds.push({ add: { chain: { family: FAMILY, table: this.table, name: 'input', type: 'filter', hook: 'input', prio: 0, policy: 'accept' } } });
    for (const expr of this.rules()) cmds.push({ add: { rule: { family: FAMILY, table: this.table, chain: 'input', expr } } });
    return cmds;
  }

  /** The peer addresses the kernel's sets hold now, sorted; undefined when the table or a set is missing. */
  programmed(): string[] | undefined {
    const out: string[] = [];
    for (const f of [4, 6] as const) {
      let objs: NftObject[];
      try {
        objs = this.opts.context.list('read the VXLAN filter', { list: { set: { family: FAMILY, table: this.table, name: SETS[f] } } });
      } catch {
        return undefined;
      }
      const set = objs.find((o) => o.set)?.set as { elem?: unknown[] } | undefined;
      if (!set) return undefined;
      for (const e of set.elem ?? []) if (typeof e === 'string') out.push(e);
    }
    return out.sort();
  }

  /** Makes the table accept VXLAN from exactly `peers`; true when it had to be (re)built. */
  sync(peers: readonly string[]): boolean {
    const want = [...new Set(peers)].sort();
    const have = this.programmed();
    if (have && have.length === want.length && have.every((a, i) => a === want[i]) && this.rulesPresent()) return false;
    this.opts.context.run('rebuild the VXLAN filter', this.commands(want));
    return true;
  }

  private rulesPresent(): boolean {
    try {
      const objs = this.opts.context.list('read the VXLAN filter chain', { list: { chain: { family: FAMILY, table: this.table, name: 'input' } } });
      return objs.filter((o) => o.rule).length === 2;
    } catch {
      return false;
    }
  }

  /** Removes the table (encapsulation turned off); fine when it is absent. */
  remove(): void {
    const t = { family: FAMILY, name: this.table };
    this.opts.context.run('remove the VXLAN filter', [{ add: { table: t } }, { delete: { table: t } }]);
  }
}
