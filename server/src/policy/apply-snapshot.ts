/**
 * A source's snapshot or change applied to the compiler: the commands of one transaction
 * that turn the kernel's policy objects from the compiler's current world into the new one
 * (only what differs: an unchanged policy or pod costs nothing).
 */
import type { NftCommand } from '../nft/nft-json';
import type { PolicyCompiler } from './compile/policy-compiler';
import { podKey, policyKey } from './model';
import type { PolicyChange, PolicySnapshot } from './policy-source';

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

export function applySnapshot(compiler: PolicyCompiler, snap: PolicySnapshot): NftCommand[] {
  const w = compiler.world;
  const cmds: NftCommand[] = [];
  const nsNames = new Set(snap.namespaces.map((n) => n.name));
  for (const n of snap.namespaces) if (!same(w.namespaces.get(n.name), n)) cmds.push(...compiler.setNamespace(n));
  for (const name of [...w.namespaces.keys()]) if (!nsNames.has(name)) cmds.push(...compiler.deleteNamespace(name));
  const podKeys = new Set(snap.pods.map(podKey));
  for (const p of snap.pods) if (!same(w.pods.get(podKey(p)), p)) cmds.push(...compiler.setPod(p));
  for (const key of [...w.pods.keys()]) if (!podKeys.has(key)) cmds.push(...compiler.deletePod(key));
  const polKeys = new Set(snap.policies.map(policyKey));
  for (const p of snap.policies) if (!same(w.policies.get(policyKey(p)), p)) cmds.push(...compiler.setPolicy(p));
  for (const key of [...w.policies.keys()]) if (!polKeys.has(key)) cmds.push(...compiler.deletePolicy(key));
  return cmds;
}

export function applyChange(compiler: PolicyCompiler, c: PolicyChange): NftCommand[] {
  const w = compiler.world;
  switch (c.kind) {
    case 'Namespace':
      return c.op === 'set' ? (same(w.namespaces.get(c.value.name), c.value) ? [] : compiler.setNamespace(c.value)) : compiler.deleteNamespace(c.name);
    case 'Pod':
      return c.op === 'set' ? (same(w.pods.get(podKey(c.value)), c.value) ? [] : compiler.setPod(c.value)) : compiler.deletePod(c.key);
    case 'NetworkPolicy':
      return c.op === 'set' ? (same(w.policies.get(policyKey(c.value)), c.value) ? [] : compiler.setPolicy(c.value)) : compiler.deletePolicy(c.key);
  }
}
