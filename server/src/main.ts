#!/usr/bin/env node
/**
 * podwired: the resident per-node podwire server. The `podwire` shim forwards every CNI call
 * here over gRPC on a unix socket; this process keeps the lease store open and a warm host
 * netlink socket, and wires pods through the routed veth datapath.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRtNetlink } from 'netlink';
import { openIpamStore } from '@podwire/ipam-store';
import { USAGE, parseCliArgs } from './cli-args';
import { ServerConfig, loadServerConfig } from './config/server-config';
import { RoutedVethDatapath } from './datapath/routed-veth';
import { DirectHostProgrammer } from './datapath/host-programmer';
import { BatchingHostProgrammer } from './datapath/batching-host-programmer';
import { WorkerLinkDeleter } from './datapath/link-deleter';
import { NetnsOpener } from './datapath/netns';
import { enableForwarding } from './datapath/ip-forwarding';
import { CniEventBus } from './events/cni-events';
import { createDebugService } from './debug/debug-service';
import { podwiredDebugDeps } from './debug/debug-deps';
import { PeerStatusSource } from './debug/peer-status';
import { createCniService } from './grpc/cni-service';
import { startGrpcServer } from './grpc/grpc-server';
import { ServingHealth } from './grpc/serving-health';
import { startTcpDebugServer } from './grpc/tcp-listener';
import { loadTcpTls } from './grpc/tls-credentials';
import { KeyedMutex } from './keyed-mutex';
import { startMetricsHttpServer } from './metrics/metrics-http-server';
import { PodwireMetrics } from './metrics/podwire-metrics';
import { createServerLogger } from './logging/server-logger';
import { NetworkRegistry } from './pools/network-registry';
import { KubernetesPeerSource } from './peers/kubernetes-peer-source';
import { NetlinkPeerRouteTable } from './peers/peer-route-table';
import { PeerRouting } from './peers/peer-routing';
import { Readiness } from './readiness';
import { reconcile } from './reconcile';
import { emptyStartupReport } from './startup/empty-startup-report';

/** Identifies this server's host veths (by state dir), so reconcile never touches another's. */
function ownerTag(stateDir: string): string {
  fs.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  return createHash('sha256').update(fs.realpathSync(stateDir)).digest('hex').slice(0, 12);
}

async function serve(opts: ServerConfig): Promise<void> {
  const log = createServerLogger(opts.logLevel);
  // Signals are taken from the first moment: a stop asked for while starting runs once the
  // server is up (so what start-up opened is closed in order); a SIGHUP then is logged, not fatal.
  let stop: ((signal: string) => void) | undefined;
  let stopAsked: string | undefined;
  let reload: (() => void) | undefined;
  const onStopSignal = (signal: string): void => {
    if (stop) return stop(signal);
    if (stopAsked) return;
    stopAsked = signal;
    log.info({ signal }, 'podwired: stop asked for while starting; stopping once started');
  };
  process.on('SIGTERM', () => onStopSignal('SIGTERM'));
  process.on('SIGINT', () => onStopSignal('SIGINT'));
  process.on('SIGHUP', () => (reload ? reload() : log.warn('podwired: SIGHUP while starting ignored; send it again once serving')));
  // Checked before anything is opened: an unusable TLS file stops podwired at once, naming it.
  const tcpTls = opts.tcp ? loadTcpTls(opts.tcp, (file) => fs.readFileSync(file)) : undefined;
  if (enableForwarding(4)) log.info('enabled net.ipv4.ip_forward');
  const store = openIpamStore(path.join(opts.stateDir, 'ipam.db'));
  const host = createRtNetlink();
  const owner = ownerTag(opts.stateDir);
  const networks = new NetworkRegistry();
  // The metrics read the datapath's netns socket cache only when scraped, after it exists.
  const metrics = opts.metrics ? new PodwireMetrics({ store, networks, netnsSocketCacheSize: (): number => datapath.netnsSocketCacheSize() }) : undefined;
  const programmer = new BatchingHostProgrammer(new DirectHostProgrammer(host), new WorkerLinkDeleter(), metrics?.observeBatch);
  const datapath: RoutedVethDatapath = new RoutedVethDatapath(host, programmer, new NetnsOpener(), owner);
  // Cross-node routing: this node's pod CIDRs (IPAM) and `peerPodCIDR via peerNodeIP` routes for every peer.
  const peerRouting = await PeerRouting.create(opts, programmer, new NetlinkPeerRouteTable(), log, {
    kubernetes: (kubeconfig, nodeName) => KubernetesPeerSource.create({ ...(kubeconfig ? { kubeconfig } : {}), nodeName, log }),
  });
  const deps = { store, datapath, locks: new KeyedMutex(), networks, node: peerRouting.node };
  const readiness = new Readiness();
  // One event per completed CNI call: Debug.WatchEvents and the metrics listen here.
  const events = new CniEventBus();
  metrics?.subscribeTo(events);
  const metricsServer = opts.metrics && metrics ? await startMetricsHttpServer(opts.metrics.listen, () => metrics.expose(), log) : undefined;
  // grpc.health.v1 on every listener: NOT_SERVING until reconciled, and again once stopping.
  const health = new ServingHealth();
  const peers: PeerStatusSource = peerRouting.status;
  const debugDeps = podwiredDebugDeps({ store, datapath, networks, readiness, config: opts, events, peers, podCidrs: () => peerRouting.node.podCidrs(), startup: emptyStartupReport, log, host, stopping: health.stopping });
  const debug = createDebugService(debugDeps);
  const server = await startGrpcServer(opts.socket, { cni: createCniService(deps, log, readiness, events), debug, health }, log);
  const tcpServer = opts.tcp && tcpTls ? await startTcpDebugServer(opts.tcp.listen, tcpTls, { debug, health }, log) : undefined;
  log.info({ socket: opts.socket, stateDir: opts.stateDir, owner }, 'podwired listening; reconciling before serving');
  const report = await reconcile(store, datapath, log);
  if (!(await peerRouting.ready(10_000))) log.warn({ source: peerRouting.source.kind }, 'peers: no peer set yet; serving, peer routes follow when it arrives');
  readiness.markReady();
  health.markServing();
  log.info({ ...report }, 'podwired serving');

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
      // Each closed on its own: one failing never keeps the store from being closed.
      const closers: Array<[string, () => unknown]> = [
        ['Debug kernel inspector', () => debugDeps.close()],
        ['metrics endpoint', () => metricsServer?.close()],
        ['peer routing', () => peerRouting.close()],
        ['datapath', () => datapath.close()],
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
  // SIGHUP re-reads --config: static peers are replaced live (their routes follow).
  reload = () => {
    try {
      const next = loadServerConfig(parseCliArgs(process.argv.slice(2)), (file) => fs.readFileSync(file, 'utf8'));
      log.info({ result: peerRouting.reload(next) }, 'podwired: configuration reloaded (SIGHUP)');
    } catch (err) {
      log.error({ err: err instanceof Error ? err.message : String(err) }, 'podwired: SIGHUP reload failed; keeping the running configuration');
    }
  };
  if (stopAsked) stop(stopAsked);
}

// `ps`, `pgrep podwired` and `pkill podwired` find the server by its own name.
process.title = 'podwired';

let opts: ServerConfig;
try {
  const cli = parseCliArgs(process.argv.slice(2));
  opts = loadServerConfig(cli, (file) => fs.readFileSync(file, 'utf8'));
} catch (err) {
  process.stderr.write(`podwired: ${err instanceof Error ? err.message : String(err)}\n${USAGE}\n`);
  process.exit(2);
}
serve(opts).catch((err: unknown) => {
  process.stderr.write(`podwired: cannot start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
