/**
 * The objects the policies are computed from: namespaces, pods, policies, keyed by name
 * (`ns/name` for pods and policies). Sources fill it; the compiler and `why` read it.
 */
import { type Namespace, type NetworkPolicy, type Pod, podKey, policyKey } from './model';

export class PolicyWorld {
  readonly namespaces = new Map<string, Namespace>();
  readonly pods = new Map<string, Pod>();
  readonly policies = new Map<string, NetworkPolicy>();

  static of(objs: { namespaces?: Namespace[]; pods?: Pod[]; policies?: NetworkPolicy[] }): PolicyWorld {
    const w = new PolicyWorld();
    for (const n of objs.namespaces ?? []) w.namespaces.set(n.name, n);
    for (const p of objs.pods ?? []) w.pods.set(podKey(p), p);
    for (const p of objs.policies ?? []) w.policies.set(policyKey(p), p);
    return w;
  }

  /** A namespace's labels; a namespace with no object has only its name label. */
  namespaceLabels(name: string): Readonly<Record<string, string>> {
    return this.namespaces.get(name)?.labels ?? { 'kubernetes.io/metadata.name': name };
  }

  /** The pod whose podIPs hold `ip` (hostNetwork pods left out). */
  podByIP(ip: string): Pod | undefined {
    for (const p of this.pods.values()) if (!p.hostNetwork && p.podIPs.includes(ip)) return p;
    return undefined;
  }
}
