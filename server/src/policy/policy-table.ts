/**
 * The policy objects as an extension of podwired's table (nft/table-extension.ts): the
 * compiler's build() joins every whole-table write, and the drift check compares the kernel
 * with what the compiler last emitted.
 */
import { elementText } from '../nft/read-back';
import type { NftProgrammed } from '../nft/read-back';
import type { TableExtension } from '../nft/table-extension';
import type { PolicyCompiler } from './compile/policy-compiler';
import { POLICY_SETS } from './compile/policy-layout';

/** Names of the compiler's objects: base chains and sets, per-policy ones (np-*), shared peer and named-port sets. */
const OWNED = /^(pol-|np-|peer-\d+-v[46]$|named-\d+-v[46]$|pod-if$|pod-addr-v[46]$|ingress-isolated$|egress-isolated$)/;

/** Sets of interface names, compared element by element (the others by count: the kernel prints protocols and intervals its own way). */
const BY_TEXT = new Set<string>([POLICY_SETS.podIf, POLICY_SETS.ingressIsolated, POLICY_SETS.egressIsolated]);

export function policyTableExtension(compiler: PolicyCompiler): TableExtension {
  return {
    build: () => compiler.build(),
    owns: (name) => OWNED.test(name),
    drift: (actual) => policyDrift(compiler, actual),
  };
}

/** How the policy objects of `actual` differ from what the compiler emitted ([] when they agree). */
export function policyDrift(compiler: PolicyCompiler, actual: NftProgrammed): string[] {
  const want = compiler.expectedObjects();
  const out: string[] = [];
  const chains = new Map(actual.chains.map((c) => [c.name, c.rules]));
  for (const [name, rules] of want.chains) {
    const have = chains.get(name);
    if (have === undefined) out.push(`policy chain ${name} is missing`);
    else if (have !== rules) out.push(`policy chain ${name}: ${have} rules, expected ${rules}`);
  }
  for (const name of chains.keys()) if (OWNED.test(name) && !want.chains.has(name)) out.push(`policy chain ${name} is not expected`);
  for (const [name, s] of want.sets) {
    const have = actual.sets[name];
    if (!have) {
      out.push(`policy set ${name} is missing`);
      continue;
    }
    if (s.interval) continue;
    if (BY_TEXT.has(name)) {
      const w = new Set([...s.elements.values()].map(elementText));
      const h = new Set(have);
      const missing = [...w].filter((e) => !h.has(e)).length;
      const extra = have.filter((e) => !w.has(e)).length;
      if (missing + extra > 0) out.push(`policy set ${name}: ${missing} elements missing, ${extra} unexpected`);
    } else if (have.length !== s.elements.size) out.push(`policy set ${name}: ${have.length} elements, expected ${s.elements.size}`);
  }
  for (const name of Object.keys(actual.sets)) if (OWNED.test(name) && !want.sets.has(name)) out.push(`policy set ${name} is not expected`);
  return out;
}
