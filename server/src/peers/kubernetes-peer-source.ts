import type { Logger } from 'pino';
import { type NodeObject, nodeInternalIPs, nodePodCidrs, peerFromNode } from './kubernetes-node-peer';
import type { Peer, PeerSnapshot } from './peer';
import type { PeerSource } from './peer-source';

export interface KubernetesPeerSourceOptions {
  /** A kubeconfig file; absent: in-cluster service account credentials. */
  kubeconfig?: string;
  /** This node's Node object name: it is not a peer, its spec.podCIDRs are this node's pod CIDRs. */
  nodeName: string;
  log: Logger;
  /** Wait before re-listing/re-watching after an error (doubles up to 30 s while errors repeat). */
  retryMs?: number;
}

/** The @kubernetes/client-node informer as this source uses it. */
interface NodeInformer {
  on(verb: 'add' | 'update' | 'delete', cb: (obj: NodeObject) => void): void;
  on(verb: 'error' | 'connect', cb: (err?: unknown) => void): void;
  list(): NodeObject[];
  start(): Promise<void>;
  stop(): Promise<void>;
}

const MAX_RETRY_MS = 30_000;

function describe(err: unknown): string {
  if (err instanceof Error) return err.message;
  const e = err as { statusCode?: number; code?: number; body?: unknown };
  return e?.statusCode ? `HTTP ${e.statusCode}` : String(err);
}

/**
 * Peers from the cluster's Node objects: list + watch on /api/v1/nodes (an informer: list,
 * then watch from the list's resourceVersion, re-listing when the watch says 410 Gone),
 * restarting after errors with a backoff. Every node but this one is a peer (its
 * spec.podCIDRs, routed via its InternalIP of the matching family). Snapshots are delivered
 * only when the peer set or this node's pod CIDRs actually change, not on every status
 * heartbeat. Needs only get/list/watch on nodes.
 */
export class KubernetesPeerSource implements PeerSource {
  readonly kind = 'kubernetes' as const;
  private onSnapshot: ((snapshot: PeerSnapshot) => void) | undefined;
  private listed = false;
  private lastEmitted = '';
  private pending: NodeJS.Immediate | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryMs: number;
  private stopped = false;

  private constructor(
    private readonly informer: NodeInformer,
    private readonly opts: KubernetesPeerSourceOptions,
  ) {
    this.retryMs = opts.retryMs ?? 1000;
  }

  /** Loads the kubeconfig (or in-cluster credentials) and prepares the node informer; start() connects. */
  static async create(opts: KubernetesPeerSourceOptions): Promise<KubernetesPeerSource> {
    // ESM-only package: loaded with a real dynamic import from this CommonJS build.
    const k8s = await import('@kubernetes/client-node');
    const kc = new k8s.KubeConfig();
    if (opts.kubeconfig) kc.loadFromFile(opts.kubeconfig);
    else kc.loadFromCluster();
    const api = kc.makeApiClient(k8s.CoreV1Api);
    let source: KubernetesPeerSource | undefined;
    const informer = k8s.makeInformer(kc, '/api/v1/nodes', async () => {
      const list = await api.listNode();
      // The informer stores the items and calls back for each right after this resolves.
      setImmediate(() => source?.markListed());
      return list;
    });
    source = new KubernetesPeerSource(informer as unknown as NodeInformer, opts);
    return source;
  }

  start(onSnapshot: (snapshot: PeerSnapshot) => void): void {
    this.onSnapshot = onSnapshot;
    const changed = () => this.schedule();
    this.informer.on('add', changed);
    this.informer.on('update', changed);
    this.informer.on('delete', changed);
    this.informer.on('connect', () => this.opts.log.debug('peers: watching Kubernetes nodes'));
    this.informer.on('error', (err) => this.retry(err));
    void this.connect();
  }

  private async connect(): Promise<void> {
    try {
      await this.informer.start();
    } catch (err) {
      this.retry(err);
    }
  }

  private retry(err: unknown): void {
    if (this.stopped || this.retryTimer) return;
    this.opts.log.warn({ err: describe(err), retryInMs: this.retryMs }, 'peers: Kubernetes node list/watch failed; retrying');
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.connect();
    }, this.retryMs);
    this.retryTimer.unref();
    this.retryMs = Math.min(this.retryMs * 2, MAX_RETRY_MS);
  }

  private markListed(): void {
    this.listed = true;
    this.retryMs = this.opts.retryMs ?? 1000;
    this.schedule();
  }

  /** Coalesces the callbacks of one list or one burst of watch events into one snapshot. */
  private schedule(): void {
    if (!this.listed || this.pending || this.stopped) return;
    this.pending = setImmediate(() => {
      this.pending = undefined;
      this.emit();
    });
  }

  private emit(): void {
    const nodes = this.informer.list();
    const self = nodes.find((n) => n.metadata?.name === this.opts.nodeName);
    const peers = nodes
      .filter((n) => n.metadata?.name !== this.opts.nodeName)
      .map(peerFromNode)
      .filter((p): p is Peer => p !== undefined)
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const snapshot: PeerSnapshot = { peers };
    if (self) {
      snapshot.selfPodCIDRs = nodePodCidrs(self);
      // This node's underlay addresses (the VXLAN device's local address when node.nodeIPs is not set).
      const own = nodeInternalIPs(self);
      if (own.length > 0) snapshot.selfNodeIPs = own;
    }
    const key = JSON.stringify(snapshot);
    if (key === this.lastEmitted) return;
    this.lastEmitted = key;
    if (!self) this.opts.log.warn({ nodeName: this.opts.nodeName }, 'peers: this node has no Node object (check --node-name)');
    this.onSnapshot?.(snapshot);
  }

  stop(): void {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.pending) clearImmediate(this.pending);
    this.onSnapshot = undefined;
    void this.informer.stop();
  }
}
