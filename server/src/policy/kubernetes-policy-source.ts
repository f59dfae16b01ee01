/**
 * The model from the API server: informers (list, then watch from the list's
 * resourceVersion; a 410 Gone re-lists) on Pods, Namespaces and NetworkPolicies of every
 * namespace, each restarted with a backoff after any other error (the client's informer stops
 * for good on those), as the Node watch of peers/kubernetes-peer-source.ts. The first snapshot
 * is delivered once all three have listed; after that every watch event is one change.
 * fetchPod() is one GET of a Pod, for an ADD that comes before its watch event. Needs get,
 * list and watch on pods, namespaces and networking.k8s.io networkpolicies.
 */
import type { Namespace, NetworkPolicy, Pod } from './model';
import { parseNamespace, parseNetworkPolicyFailClosed, parsePod } from './parse';
import type { PolicyChange, PolicySnapshot, PolicySource, PolicySourceHandlers } from './policy-source';

export interface KubernetesPolicySourceOptions {
  /** A kubeconfig file; absent: in-cluster service account credentials. */
  kubeconfig?: string;
  /** Wait before restarting a failed list/watch (doubles up to 30 s while errors repeat). */
  retryMs?: number;
}

type ApiObject = { metadata?: { name?: string; namespace?: string } };

/** The @kubernetes/client-node informer as used here. */
interface Informer {
  on(verb: 'add' | 'update' | 'delete', cb: (obj: ApiObject) => void): void;
  on(verb: 'error' | 'connect', cb: (err?: unknown) => void): void;
  list(): ApiObject[];
  start(): Promise<void>;
  stop(): Promise<void>;
}

const MAX_RETRY_MS = 30_000;
const KINDS = ['Namespace', 'Pod', 'NetworkPolicy'] as const;
type Kind = (typeof KINDS)[number];

function describe(err: unknown): string {
  if (err instanceof Error) return err.message;
  const e = err as { statusCode?: number; code?: number };
  return e?.statusCode ? `HTTP ${e.statusCode}` : e?.code ? `HTTP ${e.code}` : String(err);
}

/** One informer restarted after errors with a backoff; `listed` after each successful list. */
class RestartingInformer {
  private timer: NodeJS.Timeout | undefined;
  private retryMs: number;
  private stopped = false;

  constructor(
    readonly informer: Informer,
    private readonly baseRetryMs: number,
    private readonly onProblem: (message: string, err: unknown) => void,
    readonly what: string,
  ) {
    this.retryMs = baseRetryMs;
    informer.on('error', (err) => this.retry(err));
  }

  listedOk(): void {
    this.retryMs = this.baseRetryMs;
  }

  async connect(): Promise<void> {
    try {
      await this.informer.start();
    } catch (err) {
      this.retry(err);
    }
  }

  private retry(err: unknown): void {
    if (this.stopped || this.timer) return;
    this.onProblem(`policy: Kubernetes ${this.what} list/watch failed (${describe(err)}); retrying in ${this.retryMs} ms`, err);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.connect();
    }, this.retryMs);
    this.timer.unref();
    this.retryMs = Math.min(this.retryMs * 2, MAX_RETRY_MS);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    void this.informer.stop();
  }
}

/**
 * A NetworkPolicy in the API's wire shape. A list goes through the client's typed
 * deserializer, which renames an ingress rule's `from` to `_from` (a reserved word in its
 * generated models); watch events are plain JSON. Read as it came, a listed policy's `from`
 * would be absent, i.e. "every peer": fail-open. Both shapes give `from` here.
 */
export function wireNetworkPolicy(o: ApiObject): object {
  const spec = (o as { spec?: { ingress?: unknown } }).spec;
  if (!spec || !Array.isArray(spec.ingress)) return o;
  const ingress = spec.ingress.map((r: unknown) => {
    if (!r || typeof r !== 'object' || !('_from' in r)) return r;
    const { _from, ...rest } = r as { _from?: unknown; from?: unknown };
    return rest.from === undefined && _from !== undefined ? { ...rest, from: _from } : rest;
  });
  return { ...o, spec: { ...spec, ingress } };
}

export class KubernetesPolicySource implements PolicySource {
  readonly kind = 'kubernetes' as const;
  private readonly informers = new Map<Kind, RestartingInformer>();
  private readonly listed = new Set<Kind>();
  private handlers: PolicySourceHandlers | undefined;
  private synced = false;
  private firstSync: (() => void) | undefined;
  private pending: NodeJS.Immediate | undefined;

  private constructor(private readonly readPod: (namespace: string, name: string) => Promise<unknown>) {}

  /** Loads the credentials and prepares the informers; start() connects. */
  static async create(opts: KubernetesPolicySourceOptions = {}): Promise<KubernetesPolicySource> {
    // ESM-only package: loaded with a real dynamic import from this CommonJS build.
    const k8s = await import('@kubernetes/client-node');
    const kc = new k8s.KubeConfig();
    if (opts.kubeconfig) kc.loadFromFile(opts.kubeconfig);
    else kc.loadFromCluster();
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const net = kc.makeApiClient(k8s.NetworkingV1Api);
    const source = new KubernetesPolicySource((namespace, name) => core.readNamespacedPod({ namespace, name }));
    const lists: Record<Kind, { path: string; list: () => Promise<unknown> }> = {
      Namespace: { path: '/api/v1/namespaces', list: () => core.listNamespace() },
      Pod: { path: '/api/v1/pods', list: () => core.listPodForAllNamespaces() },
      NetworkPolicy: { path: '/apis/networking.k8s.io/v1/networkpolicies', list: () => net.listNetworkPolicyForAllNamespaces() },
    };
    for (const kind of KINDS) {
      const informer = k8s.makeInformer(kc, lists[kind].path, async () => {
        const list = await lists[kind].list();
        // The informer stores the items and calls back for each right after this resolves.
        setImmediate(() => source.markListed(kind));
        return list as never;
      });
      source.informers.set(
        kind,
        new RestartingInformer(
          informer as unknown as Informer,
          opts.retryMs ?? 1000,
          (m, e) => source.handlers?.onProblem?.(m, e),
          { Namespace: 'namespaces', Pod: 'pods', NetworkPolicy: 'networkpolicies' }[kind],
        ),
      );
    }
    return source;
  }

  start(handlers: PolicySourceHandlers): Promise<void> {
    this.handlers = handlers;
    const done = new Promise<void>((resolve) => (this.firstSync = resolve));
    for (const [kind, ri] of this.informers) {
      ri.informer.on('add', (o) => this.event(kind, 'set', o));
      ri.informer.on('update', (o) => this.event(kind, 'set', o));
      ri.informer.on('delete', (o) => this.event(kind, 'delete', o));
      void ri.connect();
    }
    return done;
  }

  async fetchPod(namespace: string, name: string, deadlineMs: number): Promise<Pod | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the API server did not answer for Pod ${namespace}/${name} within ${deadlineMs} ms`)), deadlineMs);
    });
    try {
      const obj = await Promise.race([this.readPod(namespace, name), deadline]);
      return parsePod({ kind: 'Pod', ...(obj as object) });
    } catch (err) {
      if ((err as { code?: number }).code === 404) return undefined;
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  stop(): void {
    for (const ri of this.informers.values()) ri.stop();
    if (this.pending) clearImmediate(this.pending);
    this.handlers = undefined;
  }

  private markListed(kind: Kind): void {
    this.informers.get(kind)?.listedOk();
    this.listed.add(kind);
    if (this.synced || this.listed.size < KINDS.length || this.pending) return;
    this.pending = setImmediate(() => {
      this.pending = undefined;
      this.synced = true;
      this.handlers?.onSnapshot(this.snapshot());
      this.firstSync?.();
    });
  }

  private snapshot(): PolicySnapshot {
    const s: PolicySnapshot = { namespaces: [], pods: [], policies: [] };
    for (const kind of KINDS) {
      for (const o of this.informers.get(kind)!.informer.list()) {
        const v = this.parse(kind, o);
        if (!v) continue;
        if (kind === 'Namespace') s.namespaces.push(v as Namespace);
        else if (kind === 'Pod') s.pods.push(v as Pod);
        else s.policies.push(v as NetworkPolicy);
      }
    }
    return s;
  }

  private parse(kind: Kind, o: ApiObject): Namespace | Pod | NetworkPolicy | undefined {
    try {
      const raw = { ...(kind === 'NetworkPolicy' ? wireNetworkPolicy(o) : (o as object)), kind };
      if (kind !== 'NetworkPolicy') return kind === 'Namespace' ? parseNamespace(raw) : parsePod(raw);
      // The API server validated it: rules this parser cannot read isolate, never open (parse.ts).
      const { policy, problem } = parseNetworkPolicyFailClosed(raw);
      if (problem !== undefined) this.handlers?.onProblem?.(`policy: ${problem}`, new Error(problem));
      return policy;
    } catch (err) {
      this.handlers?.onProblem?.(`policy: ${(err as Error).message}; left out`, err);
      return undefined;
    }
  }

  private event(kind: Kind, op: 'set' | 'delete', o: ApiObject): void {
    if (!this.synced || !this.handlers) return;
    const name = o.metadata?.name ?? '';
    const key = `${o.metadata?.namespace ?? ''}/${name}`;
    let change: PolicyChange;
    if (op === 'delete') {
      change = kind === 'Namespace' ? { kind, op, name } : kind === 'Pod' ? { kind, op, key } : { kind, op, key };
    } else {
      const v = this.parse(kind, o);
      // An update that does not parse is reported and left out: the last good version stays
      // in force (dropping it could open what the policy closed).
      if (!v) return;
      if (kind === 'Namespace') change = { kind, op, value: v as Namespace };
      else if (kind === 'Pod') change = { kind, op, value: v as Pod };
      else change = { kind, op, value: v as NetworkPolicy };
    }
    this.handlers.onChange(change);
  }
}
