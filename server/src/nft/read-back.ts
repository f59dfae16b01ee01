import type { NftExpr, NftObject } from './nft-json';

/** What the kernel holds of podwired's table, for `podwirectl status`, Debug and drift checks. */
export interface NftProgrammed {
  family: string;
  table: string;
  /** False when the table does not exist (then chains and sets are empty). */
  present: boolean;
  chains: Array<{ name: string; hook?: string; priority?: number; rules: number }>;
  /** Every set and map by name, its elements as text ("10.0.0.0/8", "tcp . 8080 : 10.1.0.5"), sorted. */
  sets: Record<string, string[]>;
}

/** Reads a `list table` output into NftProgrammed. */
export function programmedOf(family: string, table: string, objects: readonly NftObject[]): NftProgrammed {
  const out: NftProgrammed = { family, table, present: false, chains: [], sets: {} };
  const rules = new Map<string, number>();
  for (const o of objects) {
    if ('table' in o) out.present = true;
    const set = (o.set ?? o.map) as { name?: string; elem?: NftExpr[] } | undefined;
    if (set?.name !== undefined) out.sets[set.name] = (set.elem ?? []).map(elementText).sort();
    const chain = o.chain as { name?: string; hook?: string; prio?: number } | undefined;
    if (chain?.name !== undefined) {
      const c: NftProgrammed['chains'][number] = { name: chain.name, rules: 0 };
      if (chain.hook !== undefined) c.hook = chain.hook;
      if (chain.prio !== undefined) c.priority = chain.prio;
      out.chains.push(c);
    }
    const rule = o.rule as { chain?: string } | undefined;
    if (rule?.chain !== undefined) rules.set(rule.chain, (rules.get(rule.chain) ?? 0) + 1);
  }
  for (const c of out.chains) c.rules = rules.get(c.name) ?? 0;
  return out;
}

/**
 * An element as nft prints it: a map element "key : value", a concatenation "a . b", a
 * prefix "10.0.0.0/8" (a full-length one as its bare address, which is how the kernel lists
 * a /32 or /128), a range "a-b".
 */
export function elementText(e: NftExpr): string {
  if (Array.isArray(e)) return e.map(elementText).join(' : ');
  if (typeof e !== 'object' || e === null) return String(e);
  if ('concat' in e) return (e.concat as NftExpr[]).map(elementText).join(' . ');
  if ('prefix' in e) {
    const p = e.prefix as { addr: string; len: number };
    return p.len === (p.addr.includes(':') ? 128 : 32) ? p.addr : `${p.addr}/${p.len}`;
  }
  if ('range' in e) return (e.range as NftExpr[]).map(elementText).join('-');
  if ('elem' in e) return elementText((e.elem as { val: NftExpr }).val);
  return JSON.stringify(e);
}

/**
 * What a whole-table transaction (table-build.ts wholeTableCommands) programs, in the same
 * shape as a read-back: the expected side of a drift check.
 */
export function programmedOfCommands(family: string, table: string, commands: readonly Record<string, unknown>[]): NftProgrammed {
  const objects: NftObject[] = [];
  const elements = new Map<string, NftExpr[]>();
  for (const c of commands) {
    const add = c.add as Record<string, Record<string, unknown>> | undefined;
    if (!add) continue;
    const [kind, body] = Object.entries(add)[0] ?? [];
    if (!kind || !body) continue;
    if (kind === 'element') {
      const list = elements.get(body.name as string) ?? [];
      list.push(...(body.elem as NftExpr[]));
      elements.set(body.name as string, list);
    } else objects.push({ [kind]: body });
  }
  for (const o of objects) {
    const set = (o.set ?? o.map) as { name: string; elem?: NftExpr[] } | undefined;
    if (set) set.elem = elements.get(set.name) ?? [];
  }
  return programmedOf(family, table, objects);
}

/** How `actual` differs from `expected`, one line per difference ([] when they agree). */
export function driftOf(expected: NftProgrammed, actual: NftProgrammed): string[] {
  if (!actual.present) return [`table ${expected.family} ${expected.table} is missing`];
  const out: string[] = [];
  const chainText = (c: NftProgrammed['chains'][number]) => `${c.hook ?? 'regular'} ${c.priority ?? ''} ${c.rules} rules`;
  const actualChains = new Map(actual.chains.map((c) => [c.name, c]));
  for (const c of expected.chains) {
    const a = actualChains.get(c.name);
    if (!a) out.push(`chain ${c.name} is missing`);
    else if (chainText(a) !== chainText(c)) out.push(`chain ${c.name}: ${chainText(a)}, expected ${chainText(c)}`);
  }
  for (const name of actualChains.keys()) if (!expected.chains.some((c) => c.name === name)) out.push(`chain ${name} is not podwired's`);
  for (const [name, want] of Object.entries(expected.sets)) {
    const have = actual.sets[name];
    if (!have) {
      out.push(`set ${name} is missing`);
      continue;
    }
    const h = new Set(have);
    const w = new Set(want);
    const missing = want.filter((e) => !h.has(e));
    const extra = have.filter((e) => !w.has(e));
    if (missing.length > 0 || extra.length > 0) out.push(`set ${name}: ${missing.length} elements missing, ${extra.length} unexpected`);
  }
  for (const name of Object.keys(actual.sets)) if (!(name in expected.sets)) out.push(`set ${name} is not podwired's`);
  return out;
}

/** A few numbers of a read-back, for `podwirectl status` and metrics. */
export interface ProgrammedSummary {
  /** "inet podwire-1a2b3c4d5e6f". */
  table: string;
  present: boolean;
  rules: number;
  /** hostPort mappings programmed (address map elements of both families, any and specific host address). */
  portMappings: number;
  /** Elements (CIDRs) of the masquerade sets, both families. */
  podSources: number;
  cluster: number;
  nonMasquerade: number;
}

export function summaryOf(p: NftProgrammed): ProgrammedSummary {
  const count = (re: RegExp) => Object.entries(p.sets).reduce((n, [name, e]) => (re.test(name) ? n + e.length : n), 0);
  return {
    table: `${p.family} ${p.table}`,
    present: p.present,
    rules: p.chains.reduce((n, c) => n + c.rules, 0),
    portMappings: count(/^hostports-.*-addr$/),
    podSources: count(/^pod-sources-/),
    cluster: count(/^cluster-/),
    nonMasquerade: count(/^nonmasq-/),
  };
}
