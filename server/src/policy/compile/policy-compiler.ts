/**
 * The policy model compiled to nftables JSON commands for podwired's table, and kept there
 * at churn speed. The compiler holds the world (namespaces, pods, policies), the pods wired
 * here and what it last emitted; every mutation returns the commands of ONE transaction that
 * brings the kernel from the previous state to the new one:
 *
 *   build()                the policy objects whole (append to the table's own rebuild)
 *   setLocal / removeLocal a pod wired here (ADD: every podwire interface it has) or gone
 *                          (DEL): its elements only
 *   setPod / deletePod     a pod anywhere changed (labels, addresses): its elements only
 *   setNamespace           a namespace relabelled: the elements of its pods
 *   setPolicy / deletePolicy  that policy's chains and sets, the dispatch rules, and the
 *                          elements of the pods it selects or admits
 *
 * The caller runs the commands (NftContext.run) and, if the kernel refuses them, calls build()
 * on a freshly made table: the compiler's idea of the kernel is then right again.
 */
import type { NftCommand, NftExpr } from '../../nft/nft-json';
import { elementCommand } from '../../nft/table-build';
import { TABLE_FAMILY } from '../../nft/table-layout';
import { type Namespace, type NetworkPolicy, type Pod, podKey, policyKey } from '../model';
import { PolicyError } from '../policy-error';
import { PolicyWorld } from '../policy-world';
import { policySelects } from '../selection';
import { type ElementMap, type LocalEndpoint, baseElements, endpointIps, policyElements } from './pod-elements';
import { type CompiledPolicy, type SharedNamer, compilePolicy } from './policy-program';
import { type SharedEntry, sharedElements, sharedKey, sharedSetDecls } from './shared-sets';
import { POLICY_CHAINS, POLICY_SETS } from './policy-layout';
import { match, meta, payload, concat, setRef } from '../../nft/nft-json';

export interface PolicyCompilerOptions {
  /** podwired's table (nft/table-layout.ts tableNameOf). */
  table: string;
  world?: PolicyWorld;
}

export class PolicyCompiler {
  readonly table: string;
  readonly world: PolicyWorld;
  /** Pod key -> every podwire interface it has here (non-empty). */
  private readonly locals = new Map<string, LocalEndpoint[]>();
  /** Pods wired here whose Pod object left the world before their DEL: kept as last seen. */
  private readonly retained = new Map<string, Pod>();
  private readonly compiled = new Map<string, CompiledPolicy>();
  private readonly emitted = new Map<string, ElementMap>();
  private nextId = 1;
  private readonly shared = new Map<string, SharedEntry>();
  private nextShared = 1;
  private readonly namer: SharedNamer = (spec) => {
    const key = sharedKey(spec);
    let e = this.shared.get(key);
    if (!e) {
      const base = `${spec.kind}-${this.nextShared++}`;
      e = { spec, names: { 4: `${base}-v4`, 6: `${base}-v6` }, refs: 0, live: false };
      this.shared.set(key, e);
    }
    return { key, names: e.names };
  };

  constructor(opts: PolicyCompilerOptions) {
    this.table = opts.table;
    this.world = opts.world ?? new PolicyWorld();
  }

  /** The commands creating every policy object with its elements, in a table without them. */
  build(): NftCommand[] {
    this.compiled.clear();
    this.emitted.clear();
    this.shared.clear();
    this.nextId = 1;
    this.nextShared = 1;
    const cmds: NftCommand[] = [];
    const add = (kind: string, body: Record<string, unknown>) => cmds.push({ add: { [kind]: { family: TABLE_FAMILY, table: this.table, ...body } } });
    add('set', { name: POLICY_SETS.podIf, type: 'ifname' });
    add('set', { name: POLICY_SETS.podAddr[4], type: ['ifname', 'ipv4_addr'] });
    add('set', { name: POLICY_SETS.podAddr[6], type: ['ifname', 'ipv6_addr'] });
    add('set', { name: POLICY_SETS.ingressIsolated, type: 'ifname' });
    add('set', { name: POLICY_SETS.egressIsolated, type: 'ifname' });
    add('chain', { name: POLICY_CHAINS.forward, type: 'filter', hook: 'forward', prio: 0, policy: 'accept' });
    for (const c of [POLICY_CHAINS.egressGate, POLICY_CHAINS.egress, POLICY_CHAINS.ingressGate, POLICY_CHAINS.ingress]) add('chain', { name: c });
    const rule = (chain: string, expr: NftExpr[]) => add('rule', { chain, expr });
    rule(POLICY_CHAINS.forward, [match({ ct: { key: 'state' } }, 'in', ['established', 'related']), { accept: null }]);
    rule(POLICY_CHAINS.forward, [
      match(meta('iifname'), '==', setRef(POLICY_SETS.podIf)),
      match(concat(meta('iifname'), payload('ip', 'saddr')), '!=', setRef(POLICY_SETS.podAddr[4])),
      { drop: null },
    ]);
    rule(POLICY_CHAINS.forward, [
      match(meta('iifname'), '==', setRef(POLICY_SETS.podIf)),
      match(concat(meta('iifname'), payload('ip6', 'saddr')), '!=', setRef(POLICY_SETS.podAddr[6])),
      { drop: null },
    ]);
    rule(POLICY_CHAINS.forward, [match(meta('iifname'), '==', setRef(POLICY_SETS.egressIsolated)), { jump: { target: POLICY_CHAINS.egressGate } }]);
    rule(POLICY_CHAINS.forward, [{ goto: { target: POLICY_CHAINS.ingressGate } }]);
    rule(POLICY_CHAINS.egressGate, [{ jump: { target: POLICY_CHAINS.egress } }]);
    rule(POLICY_CHAINS.egressGate, [{ drop: null }]);
    rule(POLICY_CHAINS.ingressGate, [match(meta('oifname'), '!=', setRef(POLICY_SETS.ingressIsolated)), { accept: null }]);
    rule(POLICY_CHAINS.ingressGate, [{ jump: { target: POLICY_CHAINS.ingress } }]);
    rule(POLICY_CHAINS.ingressGate, [{ drop: null }]);

    const all = this.sortedPolicies().map((p) => compilePolicy(p, `p${this.nextId++}`, this.namer));
    for (const c of all) {
      this.compiled.set(c.key, c);
      for (const k of c.shared) this.shared.get(k)!.refs++;
    }
    for (const e of this.shared.values()) {
      e.live = true;
      for (const d of sharedSetDecls(e)) add('set', d);
    }
    for (const c of all) cmds.push(...this.policyObjectCommands(c));
    cmds.push(...this.dispatchCommands());
    const elems: ElementMap = new Map();
    for (const key of this.podKeys()) {
      const e = this.elementsOf(key);
      this.emitted.set(key, e);
      for (const [set, m] of e) for (const [k, v] of m) addTo(elems, set, k, v);
    }
    for (const [set, m] of elems) push(cmds, elementCommand('add', this.table, set, [...m.values()]));
    return cmds;
  }

  /**
   * ADD: the pod `key` (in the world) is wired here on `endpoints`, ALL of its podwire
   * interfaces (they replace what was registered; none is removeLocal). Throws PolicyError
   * when its Pod is unknown.
   */
  setLocal(key: string, endpoints: readonly LocalEndpoint[]): NftCommand[] {
    if (endpoints.length === 0) return this.removeLocal(key);
    if (!this.world.pods.has(key) && !this.retained.has(key))
      throw new PolicyError(`Pod ${key}`, 'not known to the policy source: its labels are needed before it is wired');
    this.locals.set(
      key,
      endpoints.map((e) => ({ ifname: e.ifname, ips: [...e.ips] })),
    );
    return this.refreshPods([key]);
  }

  /** DEL: the pod `key` is no longer wired here. */
  removeLocal(key: string): NftCommand[] {
    if (!this.locals.delete(key)) return [];
    this.retained.delete(key);
    return this.refreshPods([key]);
  }

  isLocal(key: string): boolean {
    return this.locals.has(key);
  }

  /** The interfaces of a pod wired here ([] when it is not). */
  localsOf(key: string): LocalEndpoint[] {
    return (this.locals.get(key) ?? []).map((e) => ({ ifname: e.ifname, ips: [...e.ips] }));
  }

  /** How many pods wired here the compiler holds. */
  get localCount(): number {
    return this.locals.size;
  }

  setPod(pod: Pod): NftCommand[] {
    const key = podKey(pod);
    this.world.pods.set(key, pod);
    this.retained.delete(key);
    return this.refreshPods([key]);
  }

  deletePod(key: string): NftCommand[] {
    const pod = this.world.pods.get(key);
    if (!pod) return [];
    this.world.pods.delete(key);
    // A pod wired here keeps its isolation until its DEL: the API object may go first.
    if (this.locals.has(key)) this.retained.set(key, pod);
    return this.refreshPods([key]);
  }

  setNamespace(ns: Namespace): NftCommand[] {
    this.world.namespaces.set(ns.name, ns);
    return this.refreshPods(this.podKeys().filter((k) => k.startsWith(`${ns.name}/`)));
  }

  deleteNamespace(name: string): NftCommand[] {
    if (!this.world.namespaces.delete(name)) return [];
    return this.refreshPods(this.podKeys().filter((k) => k.startsWith(`${name}/`)));
  }

  /** A policy added or changed: its objects replaced under a new id, in one transaction. */
  setPolicy(policy: NetworkPolicy): NftCommand[] {
    const key = policyKey(policy);
    this.world.policies.set(key, policy);
    return this.replacePolicy(key, policy);
  }

  deletePolicy(key: string): NftCommand[] {
    if (!this.world.policies.delete(key)) return [];
    return this.replacePolicy(key, undefined);
  }

  /** The compiled policies (for `why`, status and tests): key -> id. */
  policyIds(): Map<string, string> {
    return new Map([...this.compiled].map(([k, c]) => [k, c.id]));
  }

  /**
   * What the kernel should hold of the policy objects now (drift checks): every chain with
   * its number of rules, every set with its elements and whether it is an interval set.
   */
  expectedObjects(): { chains: Map<string, number>; sets: Map<string, { interval: boolean; elements: Map<string, NftExpr> }> } {
    const chains = new Map<string, number>([
      [POLICY_CHAINS.forward, 5],
      [POLICY_CHAINS.egressGate, 2],
      [POLICY_CHAINS.ingressGate, 3],
      [POLICY_CHAINS.ingress, 0],
      [POLICY_CHAINS.egress, 0],
    ]);
    const sets = new Map<string, { interval: boolean; elements: Map<string, NftExpr> }>();
    const set = (name: string, interval = false) => {
      let s = sets.get(name);
      if (!s) {
        s = { interval, elements: new Map() };
        sets.set(name, s);
      }
      return s;
    };
    for (const name of [POLICY_SETS.podIf, POLICY_SETS.podAddr[4], POLICY_SETS.podAddr[6], POLICY_SETS.ingressIsolated, POLICY_SETS.egressIsolated]) set(name);
    for (const c of this.compiled.values()) {
      for (const ch of c.chains) chains.set(ch.name, ch.rules.length);
      for (const d of c.dispatch) chains.set(d.chain, (chains.get(d.chain) ?? 0) + 1);
      for (const decl of c.sets) {
        const s = set(decl.name, (decl.flags ?? []).includes('interval'));
        for (const e of decl.elements) s.elements.set(JSON.stringify(e), e);
      }
    }
    for (const e of this.shared.values()) if (e.live) for (const d of sharedSetDecls(e)) set(d.name);
    for (const m of this.emitted.values()) for (const [name, elems] of m) for (const [k, v] of elems) set(name).elements.set(k, v);
    return { chains, sets };
  }

  private replacePolicy(key: string, policy: NetworkPolicy | undefined): NftCommand[] {
    const old = this.compiled.get(key);
    const next = policy ? compilePolicy(policy, `p${this.nextId++}`, this.namer) : undefined;
    for (const k of next?.shared ?? []) this.shared.get(k)!.refs++;
    for (const k of old?.shared ?? []) this.shared.get(k)!.refs--;
    const cmds: NftCommand[] = [];
    const flush = (chain: string) => cmds.push({ flush: { chain: { family: TABLE_FAMILY, table: this.table, name: chain } } });
    flush(POLICY_CHAINS.ingress);
    flush(POLICY_CHAINS.egress);
    if (old) {
      for (const ch of old.chains) {
        flush(ch.name);
        cmds.push({ delete: { chain: { family: TABLE_FAMILY, table: this.table, name: ch.name } } });
      }
      for (const s of old.sets) cmds.push({ delete: { set: { family: TABLE_FAMILY, table: this.table, name: s.name } } });
      this.compiled.delete(key);
    }
    // Shared sets no policy uses any more go; those first used now come, with every pod's elements.
    const dead: string[] = [];
    const born: SharedEntry[] = [];
    for (const [k, e] of this.shared) {
      if (e.refs > 0 && !e.live) born.push(e);
      if (e.refs > 0) continue;
      if (e.live) {
        for (const d of sharedSetDecls(e)) {
          cmds.push({ delete: { set: { family: TABLE_FAMILY, table: this.table, name: d.name } } });
          dead.push(d.name);
        }
      }
      this.shared.delete(k);
    }
    for (const e of born) {
      e.live = true;
      for (const d of sharedSetDecls(e)) cmds.push({ add: { set: { family: TABLE_FAMILY, table: this.table, ...d } } });
    }
    if (next) {
      this.compiled.set(key, next);
      cmds.push(...this.policyObjectCommands(next));
    }
    cmds.push(...this.dispatchCommands());
    // The pods whose isolation may change: those either version selects here.
    const affected: string[] = [];
    const newElems: ElementMap = new Map();
    for (const k of this.podKeys()) {
      const pod = this.podOf(k)!;
      const local = this.locals.get(k) ?? [];
      const prev = this.emitted.get(k) ?? new Map();
      if (old) for (const s of old.sets) prev.delete(s.name);
      for (const name of dead) prev.delete(name);
      this.emitted.set(k, prev);
      const e: ElementMap = new Map();
      for (const b of born)
        sharedElements(b, pod, local.length > 0 ? endpointIps(local) : pod.podIPs, this.world, (set, elem) => addTo(e, set, JSON.stringify(elem), elem));
      if (next) policyElements(pod, local, next, e);
      for (const [set, m] of e) {
        for (const [ek, v] of m) {
          addTo(prev, set, ek, v);
          addTo(newElems, set, ek, v);
        }
      }
      if (local.length > 0 && ((old && policySelects(old.policy, pod)) || (next && policySelects(next.policy, pod)))) affected.push(k);
    }
    for (const [set, m] of newElems) push(cmds, elementCommand('add', this.table, set, [...m.values()]));
    cmds.push(...this.refreshPods(affected));
    return cmds;
  }

  private policyObjectCommands(c: CompiledPolicy): NftCommand[] {
    const cmds: NftCommand[] = [];
    const add = (kind: string, body: Record<string, unknown>) => cmds.push({ add: { [kind]: { family: TABLE_FAMILY, table: this.table, ...body } } });
    for (const s of c.sets) {
      add('set', s.flags ? { name: s.name, type: s.type, flags: s.flags } : { name: s.name, type: s.type });
      push(cmds, elementCommand('add', this.table, s.name, s.elements));
    }
    for (const ch of c.chains) add('chain', { name: ch.name });
    for (const ch of c.chains) for (const expr of ch.rules) add('rule', { chain: ch.name, expr });
    return cmds;
  }

  /** pol-ingress and pol-egress refilled (the caller flushed them, or they are new). */
  private dispatchCommands(): NftCommand[] {
    const cmds: NftCommand[] = [];
    for (const c of [...this.compiled.values()].sort((a, b) => (a.key < b.key ? -1 : 1))) {
      for (const d of c.dispatch) cmds.push({ add: { rule: { family: TABLE_FAMILY, table: this.table, chain: d.chain, expr: d.rule } } });
    }
    return cmds;
  }

  /** The element delta of `keys` (pods whose elements may have changed). */
  private refreshPods(keys: string[]): NftCommand[] {
    const del: ElementMap = new Map();
    const add: ElementMap = new Map();
    for (const key of keys) {
      const before = this.emitted.get(key) ?? new Map<string, Map<string, NftExpr>>();
      const after = this.podOf(key) ? this.elementsOf(key) : new Map<string, Map<string, NftExpr>>();
      for (const [set, m] of before) for (const [k, v] of m) if (!after.get(set)?.has(k)) addTo(del, set, k, v);
      for (const [set, m] of after) for (const [k, v] of m) if (!before.get(set)?.has(k)) addTo(add, set, k, v);
      if (after.size > 0) this.emitted.set(key, after);
      else this.emitted.delete(key);
    }
    const cmds: NftCommand[] = [];
    for (const [set, m] of del) push(cmds, elementCommand('delete', this.table, set, [...m.values()]));
    for (const [set, m] of add) push(cmds, elementCommand('add', this.table, set, [...m.values()]));
    return cmds;
  }

  private podOf(key: string): Pod | undefined {
    return this.world.pods.get(key) ?? this.retained.get(key);
  }

  private podKeys(): string[] {
    return [...new Set([...this.world.pods.keys(), ...this.retained.keys()])];
  }

  private elementsOf(key: string): ElementMap {
    const out: ElementMap = new Map();
    const pod = this.podOf(key);
    if (!pod || pod.hostNetwork) return out;
    const local = this.locals.get(key) ?? [];
    if (local.length > 0) baseElements(pod, local, this.compiled.values(), out);
    for (const c of this.compiled.values()) policyElements(pod, local, c, out);
    const ips = local.length > 0 ? endpointIps(local) : pod.podIPs;
    for (const e of this.shared.values()) if (e.live) sharedElements(e, pod, ips, this.world, (set, elem) => addTo(out, set, JSON.stringify(elem), elem));
    return out;
  }

  private sortedPolicies(): NetworkPolicy[] {
    return [...this.world.policies.values()].sort((a, b) => (policyKey(a) < policyKey(b) ? -1 : 1));
  }
}

function addTo(m: ElementMap, set: string, key: string, elem: NftExpr): void {
  let s = m.get(set);
  if (!s) {
    s = new Map();
    m.set(set, s);
  }
  s.set(key, elem);
}

function push(cmds: NftCommand[], c: NftCommand | undefined): void {
  if (c) cmds.push(c);
}
