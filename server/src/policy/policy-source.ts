/**
 * Where the model comes from (config "policy.source"): a file (file-policy-source.ts) or the
 * API server (kubernetes-policy-source.ts). A source delivers whole snapshots (the first
 * sync, a file re-read, a re-list) and, when it can, single changes (watch events); the
 * caller applies either to the compiler (apply-snapshot.ts) and runs the commands as one
 * transaction.
 */
import type { Namespace, NetworkPolicy, Pod } from './model';

export interface PolicySnapshot {
  namespaces: Namespace[];
  pods: Pod[];
  policies: NetworkPolicy[];
}

export type PolicyChange =
  | { kind: 'Namespace'; op: 'set'; value: Namespace }
  | { kind: 'Namespace'; op: 'delete'; name: string }
  | { kind: 'Pod'; op: 'set'; value: Pod }
  | { kind: 'Pod'; op: 'delete'; key: string }
  | { kind: 'NetworkPolicy'; op: 'set'; value: NetworkPolicy }
  | { kind: 'NetworkPolicy'; op: 'delete'; key: string };

export interface PolicySourceHandlers {
  onSnapshot(snapshot: PolicySnapshot): void;
  onChange(change: PolicyChange): void;
  /** A problem the source survives (a bad object left out, a failed re-read, a lost watch). */
  onProblem?(message: string, err?: unknown): void;
}

export interface PolicySource {
  readonly kind: 'file' | 'kubernetes';
  /** Starts delivering; resolves after the first snapshot was delivered. */
  start(handlers: PolicySourceHandlers): Promise<void>;
  /**
   * The Pod `namespace/name` straight from the source (ADD of a pod whose labels are not known
   * yet), within `deadlineMs`. Undefined when the source says it does not exist; throws when
   * the source cannot answer in time.
   */
  fetchPod(namespace: string, name: string, deadlineMs: number): Promise<Pod | undefined>;
  stop(): void;
}
