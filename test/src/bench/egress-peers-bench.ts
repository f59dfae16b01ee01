/**
 * The masquerade exclusions following a peer set change (issue 20): podwired's own Egress, with
 * its nftables table in a netns of this run's own (pwb-<run id>-eg), handed N peers' pod CIDRs
 * (500 by default) the way the peer source hands them over. Each pass is timed, with the
 * nftables transactions it took (the target: one per change, no rule rewritten: the cluster set
 * is updated by elements). Measurement only: no packet is sent.
 *
 *   node test/dist/bench/egress-peers-bench.js [--peers N] [--run-id ID]
 * (npm run bench calls runEgressPeersBench; `--only masquerade` runs it with the masquerade rows.)
 */
import * as path from 'node:path';
import { REPO_ROOT } from '../lib/paths';
import { mustRun, runCommand } from '../lib/run-command';
import { median } from './run-summary';
import { fmt, renderTable } from './stats';

export interface EgressPeersPass {
  pass: string;
  ms: number;
  /** nftables transactions the pass sent (libnftables runs). */
  transactions: number;
  /** Elements of the cluster set (IPv4) after the pass: the peers' CIDRs and the node's own. */
  clusterAfter: number;
  /** The table's rule count did not move. */
  rulesUnchanged: boolean;
}

export interface EgressPeersBenchResult {
  peers: number;
  passes: EgressPeersPass[];
}

const server = (rel: string) => require(path.join(REPO_ROOT, 'server', 'dist', rel)) as Record<string, unknown>;

/** The peers' pod CIDRs: one /24 each (as the peer route rows). */
export function peerCidrs(from: number, count: number): string[] {
  return Array.from({ length: count }, (_, k) => {
    const i = from + k;
    return `10.${64 + Math.floor(i / 256)}.${i % 256}.0/24`;
  });
}

/** Each pass sequence runs this many times; a pass's figure is the median of its times. */
const ROUNDS = 5;

/** One row per pass: the median time over the rounds, the most transactions any round took, cluster and rules as in every round. */
export function foldEgressRounds(rounds: readonly (readonly EgressPeersPass[])[]): EgressPeersPass[] {
  const first = rounds[0] ?? [];
  return first.map((p, i) => {
    const all = rounds.map((r) => r[i]).filter((x): x is EgressPeersPass => x !== undefined);
    return {
      pass: p.pass,
      ms: median(all.map((x) => x.ms)) ?? NaN,
      transactions: Math.max(...all.map((x) => x.transactions)),
      clusterAfter: all.every((x) => x.clusterAfter === p.clusterAfter) ? p.clusterAfter : -1,
      rulesUnchanged: all.every((x) => x.rulesUnchanged),
    };
  });
}

/** True when every pass took at most one transaction and no pass rewrote a rule. */
export function egressPeersOneTransaction(r: EgressPeersBenchResult): boolean {
  return r.passes.length > 0 && r.passes.every((p) => p.transactions <= 1 && p.rulesUnchanged);
}

async function measureInThisNetns(peers: number): Promise<EgressPeersBenchResult> {
  /* eslint-disable @typescript-eslint/no-explicit-any */
  const { Egress } = server('egress/egress.js') as { Egress: any };
  const { NftTables, NftContext, ConntrackCleaner } = server('nft/index.js') as { NftTables: any; NftContext: any; ConntrackCleaner: any };
  const { NodePodCidrs } = server('peers/node-pod-cidrs.js') as { NodePodCidrs: any };
  const pino = require('pino') as (o: object) => unknown;
  /* eslint-enable @typescript-eslint/no-explicit-any */
  let tables: { transactions: number } | undefined;
  const e = new Egress({
    ownerTag: 'eb0000000001',
    masquerade: { nonMasqueradeCIDRs: ['203.0.113.0/24'] },
    node: new NodePodCidrs('bench-self', ['10.63.255.0/24']),
    log: pino({ level: 'silent' }),
    open: (tag: string) => {
      const t = new NftTables({ ownerTag: tag, context: NftContext.open() });
      tables = t;
      return { tables: t, conntrack: new ConntrackCleaner() };
    },
    routeLocalnet: () => undefined,
  });
  try {
    e.start({ portMappings: [], servedCidrs: [], peerCidrs: [] });
    const status = () => e.status() as { masquerade: boolean; summary?: { cluster: number; rules: number } };
    if (!status().masquerade) throw new Error('masquerade is not on in the bench Egress');
    const all = peerCidrs(0, peers);
    // Warm-up (JIT, libnftables' caches), not recorded.
    e.setPeerCidrs(all);
    e.setPeerCidrs([]);
    const rounds: EgressPeersPass[][] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const passes: EgressPeersPass[] = [];
      const run = (name: string, set: string[]) => {
        const rules = status().summary?.rules;
        const before = tables?.transactions ?? 0;
        const t = performance.now();
        e.setPeerCidrs(set);
        const ms = performance.now() - t;
        const transactions = (tables?.transactions ?? 0) - before;
        const after = status().summary;
        passes.push({ pass: name, ms, transactions, clusterAfter: after?.cluster ?? -1, rulesUnchanged: after?.rules === rules });
      };
      run(`${peers} peers join`, all);
      run('no change', all);
      const tenth = Math.max(1, Math.floor(peers / 10));
      run('churn 10% gone, 10% new', [...all.slice(tenth), ...peerCidrs(peers, tenth)]);
      run(`all ${peers} leave`, []);
      rounds.push(passes);
    }
    const passes = foldEgressRounds(rounds);
    return { peers, passes };
  } finally {
    e.close();
  }
}

export function renderEgressPeers(r: EgressPeersBenchResult): string {
  const rows = r.passes.map((p) => [p.pass, fmt(p.ms), String(p.transactions), String(p.clusterAfter), p.rulesUnchanged ? 'yes' : 'NO']);
  return `masquerade exclusions after a peer set change (${r.peers} peers, podwired's Egress, in a private netns, median of ${ROUNDS} rounds): ${
    egressPeersOneTransaction(r) ? 'one transaction per change, no rule rewritten' : 'MORE than one transaction or a rule rewritten'
  }\n${renderTable(['pass', 'ms', 'nft transactions', 'cluster set after', 'rules unchanged'], rows)}`;
}

export function egressPeersNetns(runId: string): string {
  return `pwb-${runId}-eg`;
}

/** Creates the namespace, measures inside it, removes it (and podwired's table with it); prints the table. */
export async function runEgressPeersBench(runId: string, peers = 500): Promise<EgressPeersBenchResult> {
  const ns = egressPeersNetns(runId);
  await mustRun('ip', ['netns', 'add', ns]);
  try {
    const out = await runCommand('ip', ['netns', 'exec', ns, process.execPath, __filename, '--child', '--peers', String(peers)], { timeoutMs: 300_000 });
    if (out.code !== 0) throw new Error(`egress peer bench failed (${out.code}): ${out.stderr}`);
    const result = JSON.parse(out.stdout) as EgressPeersBenchResult;
    process.stdout.write(`\n${renderEgressPeers(result)}\n`);
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
  const main = argv.includes('--child')
    ? measureInThisNetns(peers).then((r) => process.stdout.write(`${JSON.stringify(r)}\n`))
    : runEgressPeersBench(arg('--run-id', String(process.pid)), peers).then((r) => process.stdout.write(`${JSON.stringify(r, null, 2)}\n`));
  main.then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`egress peer bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    },
  );
}
