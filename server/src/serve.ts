/**
 * podwired's start-up and shutdown, once main.ts has started the datapath thread and the
 * host read for reconcile (see early-start.ts): the order of what is opened and closed.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { openIpamStore } from '@podwire/ipam-store';
import { parseCliArgs } from './cli-args';
import { type ServerConfig, loadServerConfig } from './config/server-config';
import { NetnsOpener } from './datapath/netns';
import type { EarlyStart } from './early-start';
import { RtnlSockets } from './rtnl/rtnl-sockets';
import { enableForwarding } from './datapath/ip-forwarding';
import { CniEventBus } from './events/cni-events';
import { createDebugService } from './debug/debug-service';
import { podwiredDebugDeps } from './debug/debug-deps';
import { type PeerStatusSource, peerStatusFrom } from './debug/peer-status';
import { createCniService } from './grpc/cni-service';
import { startGrpcServer } from './grpc/grpc-server';
import { ServingHealth } from './grpc/serving-health';
import { startTcpDebugServer } from './grpc/tcp-listener';
import { loadTcpTls } from './grpc/tls-credentials';
import { KeyedMutex } from './keyed-mutex';
import { createServerLogger } from './logging/server-logger';
import { NetworkRegistry, subnetsOf } from './pools/network-registry';
import { Egress } from './egress/egress';
import { egressStartState } from './egress/egress-start-state';
import { KubernetesPeerSource } from './peers/kubernetes-peer-source';
import { SnapshotPeerRouteTable } from './peers/peer-route-table';
import { PeerRouting } from './peers/peer-routing';
import { Readiness } from './readiness';
import { reconcile } from './startup/reconcile';
import { pendingVerification, verifyPods } from './startup/pod-verification';
import type { StartupReport } from './startup/startup-report';

export async function serve(opts: ServerConfig, early: EarlyStart): Promise<void> {
  const timeline = early.timeline;
  const log = createServerLogger(opts.logLevel);
  // Signals are taken from the first moment: a stop asked for while starting runs once the
  // server is up (so what start-up opened is closed in order); a SIGHUP then is logged, not fatal.
  let stop: ((signal: string) => void) | undefined;
  let stopAsked: string | undefined;
  let reload: (() => void) | undefined;
  const onStopSignal = (signal: string): void => {
    if (stop) {
      stop(signal);
      return;
    }
    if (stopAsked) return;
    stopAsked = signal;
    if (awaitingPolicySource) {
      // The policy source's first snapshot may never come (an API server that does not
      // answer): stop now instead of once started. Nothing was served and nothing of the
      // table was written yet (the previous one stays in force); what start-up did is as
      // crash-safe as a SIGKILL here. The datapath thread is ended first (bounded).
      log.warn({ signal }, "podwired: stop asked for while waiting for the policy source's first snapshot; exiting without serving");
      void Promise.race([early.datapath.then((d) => d.close()), new Promise((resolve) => setTimeout(resolve, 5_000))])
        .catch(() => undefined)
        .then(() => process.exit(0));
      return;
    }
    log.info({ signal }, 'podwired: stop asked for while starting; stopping once started');
  };
  let awaitingPolicySource = false;
  process.on('SIGTERM', () => onStopSignal('SIGTERM'));
  process.on('SIGINT', () => onStopSignal('SIGINT'));
  process.on('SIGHUP', () => (reload ? reload() : log.warn('podwired: SIGHUP while starting ignored; send it again once serving')));
  // Checked before anything is opened: an unusable TLS file stops podwired at once, naming it.
  const tcpTls = opts.tcp ? loadTcpTls(opts.tcp, (file) => fs.readFileSync(file)) : undefined;
  if (enableForwarding(4)) log.info('enabled net.ipv4.ip_forward');
  const owner = early.ownerTag;
  // Thread gone: nothing can be wired or torn down any more; exit, to be restarted and reconciled.
  early.hooks.onExit = (reason) => {
    log.fatal({ reason }, 'podwired: the datapath thread is gone; exiting');
    process.exit(1);
  };
  // What the thread reports on its own (late calls undone, link-delete worker restarts).
  early.hooks.onNotice = (message, fields) => log.warn(fields, message);
  const tStore = performance.now();
  // WAL with synchronous=NORMAL: a commit is in the OS before commit() returns, so a SIGKILL
  // of podwired loses nothing, and no fsync blocks the event loop. What a power loss may lose
  // (the last commits) was backed by pod netns and veths that the power loss destroys too
  // (docs/architecture.md, "Durability").
  const store = openIpamStore(path.join(opts.stateDir, 'ipam.db'), { synchronous: 'normal' });
  const storeMs = performance.now() - tStore;
  timeline.mark('storeOpen');
  // The event loop's own rtnetlink sockets, for reading only (the Debug inspector, the peer
  // route table), made here and closed by sockets.closeAll() at shutdown: requests on `host`,
  // dumps (serialized) on `hostDumps`, pod netns sockets through `netns`. Everything that
  // changes the kernel runs on the datapath thread, with sockets of its own.
  const sockets = new RtnlSockets();
  const host = sockets.openHost('requests');
  const hostDumps = sockets.openHost('dumps');
  const netns = new NetnsOpener(sockets);
  const networks = new NetworkRegistry();
  // The metrics read the datapath's netns socket cache only when scraped, after it exists.
  // Loaded only when configured: prom-client and what it pulls in are ~90 modules, ~20 ms of
  // every start.
  const metricsModule = opts.metrics ? (require('./metrics/podwire-metrics.js') as typeof import('./metrics/podwire-metrics.js')) : undefined;
  const metrics = metricsModule
    ? new metricsModule.PodwireMetrics({
        store,
        networks,
        netnsSocketCacheSize: (): number => datapath.netnsSocketCacheSize(),
        startup: (): StartupReport => startup,
        pendingLinkDestructions: (): number => datapath.pendingDestructions(),
        peerPathMtus: () => peerRouting.router.pathMtus(),
      })
    : undefined;
  if (metrics) early.hooks.onBatch = metrics.observeBatch;
  const datapath = await early.datapath;
  timeline.mark('datapathAwaited');
  // Reconcile from the start-up host read, begun now: its store reads run while the thread is
  // still reading the host, and the steps below (peer routing, egress, the listeners) while it
  // waits for that read. It is awaited before serving, as before.
  const tReconcile = performance.now();
  let reconcileDoneMs = 0;
  const reconciling = timeline.whenSettled(
    'reconciled',
    reconcile(store, datapath, log, early.hostRead).then((r) => {
      reconcileDoneMs = performance.now();
      return r;
    }),
  );
  // Its failure is reported where it is awaited (below), not as an unhandled rejection meanwhile.
  reconciling.catch(() => undefined);
  // Cross-node routing: this node's pod CIDRs (IPAM) and `peerPodCIDR via peerNodeIP` routes for every peer.
  const peerRouting = await PeerRouting.create(
    opts,
    datapath,
    new SnapshotPeerRouteTable(
      hostDumps,
      early.hostTables.then((t) => t.routes),
    ),
    log,
    {
      kubernetes: (kubeconfig, nodeName) => KubernetesPeerSource.create({ ...(kubeconfig ? { kubeconfig } : {}), nodeName, log }),
      // The VXLAN layer (peers.encapsulation): a host socket of its own (its changes are few and
      // small); the start-up read shows devices left from another configuration, removed.
      vxlan: { sock: sockets.openHost('vxlan'), ownerTag: owner, startupLinks: early.hostTables.then((t) => t.links), probePathMtu: true },
    },
  );
  timeline.mark('peerRoutingCreated');
  // Egress masquerade and hostPort mappings: podwired's own nftables table. Opened before
  // serving; if nftables is unusable podwired serves without both (logged, in Debug and
  // `podwirectl status`), and an ADD asking for hostPorts fails saying why.
  const egress = new Egress({ ownerTag: owner, masquerade: opts.masquerade, node: peerRouting.node, log });
  timeline.mark('egressOpened');
  // NetworkPolicy (config "policy"): its objects live in the same table, written whole with
  // it at start (below) and on every repair. Without nftables it cannot be enforced: podwired
  // refuses to start rather than serve pods unpoliced.
  // Loaded only when configured, as the metrics are (the model, its sources and js-yaml).
  const policyModule = opts.policy.source === 'none' ? undefined : (require('./policy/node-policy.js') as typeof import('./policy/node-policy.js'));
  const policy = policyModule && opts.policy.source !== 'none' ? await policyModule.NodePolicy.create(opts.policy, { ownerTag: owner, log }) : undefined;
  if (policy) {
    metrics?.observePolicy(policy);
    egress.setPolicy(policy.tableExtension());
    policy.attach((operation, commands) => egress.runPolicy(operation, commands));
  }
  networks.onChange((_network, sets) => egress.serveCidrs(subnetsOf(sets)));
  peerRouting.onPeerSet((peerCidrs) => egress.setPeerCidrs(peerCidrs));
  const locks = new KeyedMutex();
  const deps = { store, datapath, locks, networks, node: peerRouting.node, encapsulationMtu: peerRouting, ports: egress, ...(policy ? { policy } : {}) };
  const readiness = new Readiness();
  // One event per completed CNI call: Debug.WatchEvents and the metrics listen here.
  const events = new CniEventBus();
  metrics?.subscribeTo(events);
  const metricsServer =
    opts.metrics && metrics
      ? await (require('./metrics/metrics-http-server.js') as typeof import('./metrics/metrics-http-server.js')).startMetricsHttpServer(
          opts.metrics.listen,
          () => metrics.expose(),
          log,
        )
      : undefined;
  // grpc.health.v1 on every listener: NOT_SERVING until reconciled, and again once stopping.
  const health = new ServingHealth();
  const peers: PeerStatusSource = peerStatusFrom(peerRouting.status);
  const startup: StartupReport = {
    reconcile: { rolledBack: 0, orphanLinks: 0, orphanRoutes: 0, hostOk: 0, hostDegraded: 0, failed: 0 },
    phases: { storeMs, snapshotMs: 0, reconcileMs: 0, toServingMs: 0 },
    verification: pendingVerification(0),
  };
  const debugDeps = podwiredDebugDeps({
    store,
    datapath,
    networks,
    readiness,
    config: opts,
    events,
    peers,
    podCidrs: () => peerRouting.node.podCidrs(),
    startup: () => startup,
    log,
    host,
    hostDumps,
    netns,
    stopping: health.stopping,
    egress: () => egress.status(),
    ...(policy ? { policyWhy: (args: readonly string[]) => policy.why(args), policyStats: () => policy.stats() } : {}),
  });
  const debug = createDebugService(debugDeps);
  const server = await startGrpcServer(opts.socket, { cni: createCniService(deps, log, readiness, events), debug, health }, log);
  const tcpServer = opts.tcp && tcpTls ? await startTcpDebugServer(opts.tcp.listen, tcpTls, { debug, health }, log) : undefined;
  timeline.mark('listening');
  log.info({ socket: opts.socket, stateDir: opts.stateDir, owner }, 'podwired listening; reconciling before serving');
  const reconciled = await reconciling;
  startup.reconcile = reconciled.counts;
  startup.phases.snapshotMs = reconciled.snapshotMs;
  startup.phases.reconcileMs = reconcileDoneMs - tReconcile - reconciled.snapshotMs;
  startup.verification = pendingVerification(reconciled.ready.length);
  // The peer set (static: at once; Kubernetes: the first list) before serving, so pod CIDRs
  // learnt from the Node object are there for the first ADD; bounded, serving goes on without.
  const tPeers = performance.now();
  if (!(await peerRouting.ready(10_000))) log.warn({ source: peerRouting.source.kind }, 'peers: no peer set yet; serving, peer routes follow when it arrives');
  const peersMs = performance.now() - tPeers;
  timeline.mark('peersReady');
  // The whole table from the store (every ready attachment's mappings, the ranges of its
  // leases) and the configuration and peers, after reconcile removed what is not ready; then
  // a periodic resync repairs drift (an operator's `nft flush ruleset`).
  // NetworkPolicy before that write: the source's first snapshot and every pod wired here
  // (from the store) are in the compiler, so the write builds them all and policies are in
  // force before the first ADD is served (after a SIGKILL too: the old table is replaced whole).
  if (policy) {
    const tPolicy = performance.now();
    // No snapshot, no serving: pods must not be wired unpoliced, and the table written now
    // would lose the policy state of the pods already here. Meanwhile the previous table
    // (with its policies) stays in force; STATUS answers 50 and the other verbs wait.
    const waiting = setInterval(
      () =>
        log.warn(
          { source: policy.source.kind, waitedMs: Math.round(performance.now() - tPolicy) },
          "policy: waiting for the policy source's first snapshot before serving",
        ),
      10_000,
    );
    awaitingPolicySource = true;
    try {
      await policy.start((require('./policy/stored-local-pods.js') as typeof import('./policy/stored-local-pods.js')).storedLocalPods(store));
    } finally {
      awaitingPolicySource = false;
      clearInterval(waiting);
    }
    log.info({ ...policy.stats(), ms: Math.round((performance.now() - tPolicy) * 10) / 10 }, 'policy: source synced, local pods registered');
  }
  // From reconcile's reads of the store: nothing has changed it since (no CNI call is served yet).
  egress.start(egressStartState(reconciled, peerRouting.peerPodCidrs(), log));
  timeline.mark('tableWritten');
  egress.startResync(NFT_RESYNC_MS);
  readiness.markReady();
  health.markServing();
  startup.phases.toServingMs = performance.now();
  timeline.mark('serving');
  log.info(
    {
      reconcile: startup.reconcile,
      phases: { ...roundPhases(startup.phases), peersMs: Math.round(peersMs * 10) / 10 },
      ready: reconciled.ready.length,
      timeline,
    },
    'podwired serving',
  );
  // Not awaited: ADDs are served meanwhile. Begun VERIFY_AFTER_MS after serving, so the CNI
  // calls that waited for serving (a kubelet's, after a restart) do not share the datapath
  // thread with it. Shutdown aborts it (no pod is started after that; none at all before it began).
  const verifyAbort = new AbortController();
  const verification = afterOrAborted(VERIFY_AFTER_MS, verifyAbort.signal).then(() =>
    verifyAbort.signal.aborted
      ? undefined
      : verifyPods(reconciled.ready, { store, datapath, locks, log, report: startup.verification, signal: verifyAbort.signal }).then(
          (v) =>
            log.info(
              { verification: { total: v.total, verified: v.verified, failed: v.failed, netnsGone: v.netnsGone, durationMs: Math.round(v.durationMs) } },
              'podwired: ready pods verified in their netns',
            ),
          (err: unknown) => log.error({ err: err instanceof Error ? err.message : String(err) }, 'podwired: verifying ready pods failed'),
        ),
  );

  let stopping = false;
  stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'podwired stopping');
    health.markShuttingDown();
    void (async () => {
      try {
        await Promise.all([server.stop(10_000), tcpServer?.stop(10_000)]);
      } catch (err) {
        log.error({ err: err instanceof Error ? err.message : String(err) }, 'podwired: stopping the listeners failed');
      }
      // Each owner closes what it made, in reverse order of start-up, each on its own (one
      // failing never keeps the store from being closed); the verification is stopped and
      // waited for, so nothing reads the store or a socket once they are closed.
      const closers: Array<[string, () => unknown]> = [
        ['metrics endpoint', () => metricsServer?.close()],
        ['peer routing', () => peerRouting.close()],
        ['policy source', () => policy?.stop()],
        ['egress (nftables resync, context and conntrack socket; the table stays)', () => egress.close()],
        [
          'pod verification',
          () => {
            verifyAbort.abort();
            return verification;
          },
        ],
        ['datapath (its thread, programmer, link-delete worker and sockets)', () => datapath.close()],
        ['netlink sockets', () => sockets.closeAll()],
        ['lease store', () => store.close()],
      ];
      for (const [what, close] of closers) {
        try {
          await close();
        } catch (err) {
          log.error({ err: err instanceof Error ? err.message : String(err) }, `podwired: closing the ${what} failed`);
        }
      }
      log.info('podwired stopped');
      process.exit(0);
    })();
  };
  // SIGHUP re-reads --config: static peers are replaced live (their routes follow), the
  // masquerade section applies, the policy file is re-read (the policy source itself is not
  // switched live), and the nftables table is resynced.
  reload = () => {
    try {
      const next = loadServerConfig(parseCliArgs(process.argv.slice(2)), (file) => fs.readFileSync(file, 'utf8'));
      log.info({ result: peerRouting.reload(next) }, 'podwired: configuration reloaded (SIGHUP)');
      egress.reload(next.masquerade);
      if (policy) {
        const t = performance.now();
        const problem = policy.reload();
        const reloadMs = Math.round((performance.now() - t) * 100) / 100;
        if (problem) log.error({ err: problem }, 'policy: SIGHUP re-read refused; the previous policy stays in force');
        else log.info({ ...policy.stats(), reloadMs }, 'policy: re-read (SIGHUP)');
      }
      egress.resync();
    } catch (err) {
      log.error({ err: err instanceof Error ? err.message : String(err) }, 'podwired: SIGHUP reload failed; keeping the running configuration');
    }
  };
  if (stopAsked) stop(stopAsked);
}

/** How long after serving the verification of ready pods in their netns begins. */
const VERIFY_AFTER_MS = 1_000;

/** Resolves after `ms`, or at once when `signal` is aborted. */
function afterOrAborted(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });
}

/** How often podwired's nftables table is compared with what it should hold (SIGHUP also does it at once). */
const NFT_RESYNC_MS = 30_000;

/** Phase times rounded to 0.1 ms for the start-up log line. */
function roundPhases(phases: StartupReport['phases']): Record<string, number> {
  return Object.fromEntries(Object.entries(phases).map(([k, v]) => [k, Math.round(v * 10) / 10]));
}
