import { type CidrList, cidrElement, normaliseCidrs } from './cidr-sets';
import { type MasqueradeSets, type MasqueradeState, masqueradeRule } from './masquerade-rules';
import { type NftCommand, type NftExpr, match, meta } from './nft-json';
import { dnatRules, hairpinElement, localnetGuardRule, mappedMasqueradeRules, mappingElements } from './port-mapping-rules';
import type { PodPortMapping } from './port-mappings';
import { CHAINS, type Family, HAIRPIN_SETS, HOSTPORT_MAPS, KUBE_MASQ_MARK, MASQ_SETS, TABLE_FAMILY } from './table-layout';

/** Everything podwired's table holds. */
export interface TableState {
  masquerade: MasqueradeState;
  portMappings: readonly PodPortMapping[];
}

const FAMILIES: readonly Family[] = [4, 6];

export function masqueradeSetsOf(m: MasqueradeState): MasqueradeSets {
  return { podSources: normaliseCidrs(m.podSources), cluster: normaliseCidrs(m.cluster), nonMasquerade: normaliseCidrs(m.nonMasquerade) };
}

/** An {"add"|"delete": {"element": ...}} command for a set or map of `table`; undefined for no elements. */
export function elementCommand(verb: 'add' | 'delete', table: string, set: string, elem: NftExpr[]): NftCommand | undefined {
  if (elem.length === 0) return undefined;
  return { [verb]: { element: { family: TABLE_FAMILY, table, name: set, elem } } };
}

/**
 * The whole table as one transaction: the table is added (so deleting it cannot fail when it
 * is absent), deleted and added again with every set, map, chain, rule and element. The
 * kernel applies the batch at once: packets see the old table or the new one, never none.
 * Only `table` is named: nothing else in the ruleset is read or touched.
 */
export function wholeTableCommands(table: string, state: TableState): NftCommand[] {
  const t = { family: TABLE_FAMILY, name: table };
  const cmds: NftCommand[] = [{ add: { table: t } }, { delete: { table: t } }, { add: { table: t } }];
  const obj = (kind: string, body: Record<string, unknown>): NftCommand => ({ add: { [kind]: { family: TABLE_FAMILY, table, ...body } } });

  const sets = masqueradeSetsOf(state.masquerade);
  for (const kind of Object.keys(MASQ_SETS) as Array<keyof typeof MASQ_SETS>) {
    for (const f of FAMILIES) {
      cmds.push(obj('set', { name: MASQ_SETS[kind][f], type: addrType(f), flags: ['interval'] }));
    }
  }
  for (const f of FAMILIES) {
    for (const [maps, key] of [
      [HOSTPORT_MAPS.any[f], ['inet_proto', 'inet_service']],
      [HOSTPORT_MAPS.ip[f], ['inet_proto', addrType(f), 'inet_service']],
    ] as const) {
      cmds.push(obj('map', { name: maps.addr, type: key, map: addrType(f) }));
      cmds.push(obj('map', { name: maps.port, type: key, map: 'inet_service' }));
    }
    cmds.push(obj('set', { name: HAIRPIN_SETS[f], type: [addrType(f), addrType(f)] }));
  }

  const chain = (name: string, hook?: { type: string; hook: string; prio: number }): NftCommand =>
    obj('chain', hook ? { name, ...hook, policy: 'accept' } : { name });
  cmds.push(chain(CHAINS.prerouting, { type: 'nat', hook: 'prerouting', prio: -100 }));
  cmds.push(chain(CHAINS.output, { type: 'nat', hook: 'output', prio: -100 }));
  cmds.push(chain(CHAINS.hostports));
  cmds.push(chain(CHAINS.postrouting, { type: 'nat', hook: 'postrouting', prio: 100 }));
  cmds.push(chain(CHAINS.localnetGuard, { type: 'filter', hook: 'prerouting', prio: -300 }));

  const rule = (chainName: string, expr: NftExpr[]): NftCommand => obj('rule', { chain: chainName, expr });
  for (const rules of chainRules(state.masquerade.enabled)) for (const expr of rules.exprs) cmds.push(rule(rules.chain, expr));

  for (const kind of Object.keys(MASQ_SETS) as Array<keyof typeof MASQ_SETS>) {
    for (const f of FAMILIES) push(cmds, elementCommand('add', table, MASQ_SETS[kind][f], sets[kind][f].map(cidrElement)));
  }
  for (const c of mappingCommands('add', table, state.portMappings, new Set(state.portMappings.map((m) => m.podIP)))) cmds.push(c);
  return cmds;
}

/** Every chain's rules, in order. */
export function chainRules(masquerade: boolean): Array<{ chain: string; exprs: NftExpr[][] }> {
  const localJump = [match({ fib: { result: 'type', flags: ['daddr'] } }, '==', 'local'), { jump: { target: CHAINS.hostports } }];
  const post: NftExpr[][] = [[match({ '&': [meta('mark'), KUBE_MASQ_MARK] }, '==', KUBE_MASQ_MARK), { return: null }]];
  for (const f of FAMILIES) post.push(...mappedMasqueradeRules(f));
  if (masquerade) for (const f of FAMILIES) post.push(masqueradeRule(f));
  return [
    { chain: CHAINS.prerouting, exprs: [localJump] },
    { chain: CHAINS.output, exprs: [localJump] },
    { chain: CHAINS.hostports, exprs: [...dnatRules(4), ...dnatRules(6)] },
    { chain: CHAINS.postrouting, exprs: post },
    { chain: CHAINS.localnetGuard, exprs: [localnetGuardRule()] },
  ];
}

/**
 * The element commands for `mappings` (one per map touched) and the hairpin elements of
 * `hairpinPods` (the pod addresses whose hairpin element appears or goes with them).
 */
export function mappingCommands(verb: 'add' | 'delete', table: string, mappings: readonly PodPortMapping[], hairpinPods: ReadonlySet<string>): NftCommand[] {
  const byMap = new Map<string, NftExpr[]>();
  const add = (name: string, e: NftExpr) => {
    const list = byMap.get(name) ?? [];
    list.push(e);
    byMap.set(name, list);
  };
  for (const m of mappings) for (const el of mappingElements(m)) add(el.set, el.elem);
  for (const ip of hairpinPods) {
    const h = hairpinElement(ip);
    add(h.set, h.elem);
  }
  const cmds: NftCommand[] = [];
  for (const [name, elems] of byMap) push(cmds, elementCommand(verb, table, name, elems));
  return cmds;
}

/** The interval-set element commands turning one family's `from` into `to` (deletes first). */
export function cidrSetCommands(table: string, set: string, remove: CidrList, add: CidrList): NftCommand[] {
  const cmds: NftCommand[] = [];
  push(cmds, elementCommand('delete', table, set, remove.map(cidrElement)));
  push(cmds, elementCommand('add', table, set, add.map(cidrElement)));
  return cmds;
}

function addrType(f: Family): string {
  return f === 4 ? 'ipv4_addr' : 'ipv6_addr';
}

function push(cmds: NftCommand[], c: NftCommand | undefined): void {
  if (c) cmds.push(c);
}

/** One set's contents replaced: flushed and refilled with `cidrs` (in one transaction with the rest). */
export function refillSetCommands(table: string, set: string, cidrs: CidrList): NftCommand[] {
  const cmds: NftCommand[] = [{ flush: { set: { family: TABLE_FAMILY, table, name: set } } }];
  push(cmds, elementCommand('add', table, set, cidrs.map(cidrElement)));
  return cmds;
}
