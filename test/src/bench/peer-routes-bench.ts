/**
 * Peer route programming at cluster scale: N peers (500 by default) programmed by podwired's
 * own PeerRouter and BatchingHostProgrammer, inside a network namespace of this run's own
 * (pwb-<run id>-peers: one veth pair, so every gateway is on-link there). Measurement only:
 * routes are added and removed, never used; no packet is sent.
 *
 * Measured: the time of each reconcile pass (first programming of all N, a no-op pass, a
 * churn pass, withdrawing all), how many batches (programmer passes) each took, and, as the
 * baseline, the same N routes added one netlink request at a time.
 *
 * With `--encapsulation vxlan` every peer goes through podwired's VXLAN overlay instead (the
 * device, one permanent neighbour and one FDB entry per peer, the port filter's peer set),
 * timed the same way, with the overlay's share of each pass.
 *
 *   node test/dist/bench/peer-routes-bench.js [--peers N] [--run-id ID] [--encapsulation none|vxlan]
 * (npm run bench calls runPeerRoutesBench and adds the result to bench-results.json.)
 */
import * as path from 'node:path';
import { REPO_ROOT } from '../lib/paths';
import { mustRun, runCommand } from '../lib/run-command';
import { fmt, renderTable } from './stats';

export interface PeerRoutesPass {
  pass: string;
  /** The whole pass: wanted routes, kernel dump, diff, programming. */
  ms: number;
  /** Of which in the programmer (the batched netlink writes and their acknowledgements). */
  programMs: number;
  /** Of which in the VXLAN overlay (device, permanent neighbours, FDB entries, port filter); 0 for host-gw. */
  overlayMs?: number;
  /** Batches the programmer sent (0: nothing to change). */
  batches: number;
  changes: number;
  routesAfter: number;
}

export type PeerEncapsulation = 'none' | 'vxlan';

export interface PeerRoutesBenchResult {
  peers: number;
  /** none: host-gw routes via each peer's node address (absent in older runs); vxlan: every peer through the VXLAN device. */
  encapsulation?: PeerEncapsulation;
  passes: PeerRoutesPass[];
  /** The same N routes, one RTM_NEWROUTE at a time, each awaited (what an unbatched programmer does); host-gw only. */
  oneByOneMs: number;
}

const server = (rel: string) => require(path.join(REPO_ROOT, 'server', 'dist', rel)) as Record<string, unknown>;

/** Runs inside the bench netns (`ip netns exec`): prints the result as JSON. */
async function measureInThisNetns(peers: number, encapsulation: PeerEncapsulation): Promise<PeerRoutesBenchResult> {
  /* eslint-disable @typescript-eslint/no-explicit-any */
  const { RtnlSockets } = server('rtnl/rtnl-sockets.js') as { RtnlSockets: any };
  const { hostRouteRequest } = server('datapath/host-routes.js') as { hostRouteRequest: any };
  const { BatchingHostProgrammer } = server('datapath/batching-host-programmer.js') as { BatchingHostProgrammer: any };
  const { rtnlRouteSender } = server('datapath/host-programmer.js') as { rtnlRouteSender: any };
  const { InThreadLinkDeleter } = server('rtnl/link-deleter.js') as { InThreadLinkDeleter: any };
  const { SnapshotPeerRouteTable } = server('peers/peer-route-table.js') as { SnapshotPeerRouteTable: any };
  const { PeerRouter } = server('peers/peer-router.js') as { PeerRouter: any };
  const { NodePodCidrs } = server('peers/node-pod-cidrs.js') as { NodePodCidrs: any };
  const { VxlanOverlay } = server('peers/vxlan-overlay.js') as { VxlanOverlay: any };
  const { VxlanFilter } = server('peers/vxlan-filter.js') as { VxlanFilter: any };
  const { NftContext } = server('nft/index.js') as { NftContext: any };
  const pino = require('pino') as (o: object) => unknown;
  /* eslint-enable @typescript-eslint/no-explicit-any */
  // Runs inside the bench netns (ip netns exec): the "host" sockets are in it.
  const sockets = new RtnlSockets();
  const sock = sockets.openHost('bench requests');
  const dumps = sockets.openHost('bench dumps');
  const batches: number[] = [];
  const programmer = new BatchingHostProgrammer(rtnlRouteSender(sock), new InThreadLinkDeleter(sock), (kind: string, size: number) => {
    if (kind === 'route') batches.push(size);
  });
  const table = new SnapshotPeerRouteTable(dumps);
  let programMs = 0;
  const timedProgrammer = {
    applyRouteChanges: async (changes: unknown[]) => {
      const t = performance.now();
      try {
        return await programmer.applyRouteChanges(changes);
      } finally {
        programMs += performance.now() - t;
      }
    },
  };
  let overlayMs = 0;
  let nft: { close(): void } | undefined;
  let overlay: { plan(peers: unknown, desired: unknown): Promise<unknown> } | undefined;
  if (encapsulation === 'vxlan') {
    // As podwired builds it (peer-routing.ts): the device and its entries on a host socket of
    // their own, the port filter in an nftables table of its own; no path MTU probes.
    nft = NftContext.open();
    const vxlan = { vni: 1, port: 4789 };
    const inner = new VxlanOverlay({
      sock: sockets.openHost('bench vxlan'),
      config: { encapsulation: 'vxlan', vxlan },
      ownerTag: 'pwbench00001',
      localIPs: () => ['10.62.0.1'],
      ownPodCIDRs: () => ['10.63.255.0/24'],
      filter: new VxlanFilter({ context: nft, ownerTag: 'pwbench00001', ...vxlan }),
      log: pino({ level: 'silent' }),
    });
    overlay = {
      plan: async (p: unknown, d: unknown) => {
        const t = performance.now();
        try {
          return await inner.plan(p, d);
        } finally {
          overlayMs += performance.now() - t;
        }
      },
    };
  }
  const router = new PeerRouter(
    timedProgrammer,
    table,
    new NodePodCidrs('bench-self', ['10.63.255.0/24']),
    pino({ level: 'silent' }),
    overlay ? { overlay } : {},
  );
  // Node addresses on the bench veth's /16 (on-link); a moved peer gets one of its own (VTEP
  // MACs derive from node addresses, so two peers may not share one).
  const peer = (i: number, moved = false) => ({
    name: `peer-${String(i).padStart(4, '0')}`,
    nodeIPs: [`10.62.${(moved ? 100 : 0) + Math.floor(i / 250)}.${2 + (i % 250)}`],
    podCIDRs: [`10.${64 + Math.floor(i / 256)}.${i % 256}.0/24`],
  });
  const all = Array.from({ length: peers }, (_, i) => peer(i));
  const passes: PeerRoutesPass[] = [];
  // Warm-up (JIT, first FIB allocations), not recorded.
  await router.update({ peers: all });
  await router.update({ peers: [] });
  const run = async (name: string, set: unknown[]) => {
    batches.length = 0;
    programMs = 0;
    overlayMs = 0;
    const t = performance.now();
    const r = (await router.update({ peers: set })) as { added: number; updated: number; removed: number; failed: number };
    const ms = performance.now() - t;
    if (r.failed > 0) throw new Error(`${name}: ${r.failed} route changes failed`);
    passes.push({
      pass: name,
      ms,
      programMs,
      ...(overlay ? { overlayMs } : {}),
      batches: batches.length,
      changes: r.added + r.updated + r.removed,
      routesAfter: ((await table.list()) as unknown[]).length,
    });
  };
  await run(`program ${peers} peers`, all);
  await run('no change', all);
  // 10% of the peers move to a new node address, 10% leave, 10% new ones join.
  const tenth = Math.max(1, Math.floor(peers / 10));
  const churned = [
    ...all.slice(0, tenth).map((_, i) => peer(i, true)),
    ...all.slice(tenth, peers - tenth),
    ...Array.from({ length: tenth }, (_, i) => peer(peers + i)),
  ];
  await run('churn 10% moved, 10% gone, 10% new', churned);
  await run('withdraw all', []);

  let oneByOneMs = NaN;
  if (encapsulation === 'none') {
    const t = performance.now();
    for (const p of all) {
      await sock.request(hostRouteRequest({ op: 'create', route: { dst: p.podCIDRs[0]!, gateway: p.nodeIPs[0]! } }));
    }
    oneByOneMs = performance.now() - t;
    await router.update({ peers: [] });
  }
  nft?.close();
  sockets.closeAll();
  return { peers, encapsulation, passes, oneByOneMs };
}

export function renderPeerRoutes(r: PeerRoutesBenchResult): string {
  const vxlan = r.encapsulation === 'vxlan';
  const rows = r.passes.map((p) => [
    p.pass,
    fmt(p.ms),
    fmt(p.programMs),
    ...(vxlan ? [fmt(p.overlayMs)] : []),
    String(p.batches),
    String(p.changes),
    String(p.routesAfter),
  ]);
  if (Number.isFinite(r.oneByOneMs)) {
    rows.push([`baseline: ${r.peers} routes one request at a time`, fmt(r.oneByOneMs), fmt(r.oneByOneMs), String(r.peers), String(r.peers), '-']);
  }
  const what = vxlan ? 'VXLAN: every peer through the device (route, permanent neighbour, FDB entry, port filter)' : 'host-gw: routes via each node address';
  return `peer routes, ${what} (${r.peers} peers, podwired's PeerRouter + batching programmer, in a private netns)\n${renderTable(
    ['pass', 'pass ms', 'programmer ms', ...(vxlan ? ['overlay ms'] : []), 'batches', 'changes', 'routes after'],
    rows,
  )}`;
}

/** The host-gw and VXLAN passes side by side (same pass names): VXLAN ÷ host-gw per pass. */
export function renderPeerRoutesComparison(hostGw: PeerRoutesBenchResult, vxlan: PeerRoutesBenchResult): string {
  const rows = hostGw.passes.map((p, i) => {
    const v = vxlan.passes[i];
    return [p.pass, fmt(p.ms), fmt(v?.ms), v && p.ms > 0 ? `${fmt(v.ms / p.ms)}×` : '-'];
  });
  return `peer programming passes, ${hostGw.peers} peers: host-gw vs VXLAN\n${renderTable(['pass', 'host-gw ms', 'VXLAN ms', 'VXLAN ÷ host-gw'], rows)}`;
}

/** Creates the namespace, measures inside it, removes it; prints the table and returns the figures. */
export async function runPeerRoutesBench(runId: string, peers = 500, encapsulation: PeerEncapsulation = 'none'): Promise<PeerRoutesBenchResult> {
  const ns = `pwb-${runId}-peers${encapsulation === 'vxlan' ? 'vx' : ''}`;
  await mustRun('ip', ['netns', 'add', ns]);
  try {
    await mustRun('ip', ['-n', ns, 'link', 'add', 'bp0', 'type', 'veth', 'peer', 'name', 'bp1']);
    await mustRun('ip', ['-n', ns, 'addr', 'add', '10.62.0.1/16', 'dev', 'bp0']);
    await mustRun('ip', ['-n', ns, 'link', 'set', 'bp0', 'up']);
    await mustRun('ip', ['-n', ns, 'link', 'set', 'bp1', 'up']);
    const out = await runCommand(
      'ip',
      ['netns', 'exec', ns, process.execPath, __filename, '--child', '--peers', String(peers), '--encapsulation', encapsulation],
      { timeoutMs: 300_000 },
    );
    if (out.code !== 0) throw new Error(`peer route bench failed (${out.code}): ${out.stderr}`);
    const result = JSON.parse(out.stdout) as PeerRoutesBenchResult;
    process.stdout.write(`\n${renderPeerRoutes(result)}\n`);
    return result;
  } finally {
    await runCommand('ip', ['netns', 'del', ns]);
  }
}

if (require.main === module) {
  const argv = process.argv.slice(2);
  const arg = (name: string, dflt: string) => {
    const i = argv.indexOf(name);
    return i >= 0 ? (argv[i + 1] ?? dflt) : dflt;
  };
  const peers = Number(arg('--peers', '500'));
  if (!Number.isInteger(peers) || peers < 1 || peers > 60_000) throw new Error('--peers must be an integer from 1 to 60000');
  const encapsulation = arg('--encapsulation', 'none');
  if (encapsulation !== 'none' && encapsulation !== 'vxlan') throw new Error('--encapsulation is none or vxlan');
  const main = argv.includes('--child')
    ? measureInThisNetns(peers, encapsulation).then((r) => process.stdout.write(`${JSON.stringify(r)}\n`))
    : runPeerRoutesBench(arg('--run-id', String(process.pid)), peers, encapsulation).then((r) => process.stdout.write(`${JSON.stringify(r, null, 2)}\n`));
  main.then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`peer route bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    },
  );
}
