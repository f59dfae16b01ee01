/** The command line of `npm run bench` (run-bench.ts): sizes, which rows run, where results go. */
import * as path from 'node:path';
import { parsePodCounts } from './restart-report';

/** `--only`: one group alone (all: the full bench). */
export const ONLY_CHOICES = ['all', 'restart', 'cpu-floor', 'cri', 'hostport', 'masquerade', 'vxlan', 'policy'] as const;
export type Only = (typeof ONLY_CHOICES)[number];

export interface Options {
  pods: number;
  churnPods: number;
  fill: number;
  samples: number;
  shimRuns: number;
  fillBudgetS: number;
  executor: 'helper' | 'node';
  out: string;
  runId: string;
  workDir: string | undefined;
  quick: boolean;
  only: Only;
  /** hostPort rows (hostport-bench.ts): pods per chain and run, runs. */
  hostPortPods: number;
  hostPortRuns: number;
  /** Masquerade off/on rows (masquerade-bench.ts): sequential pods, churn@8 pods, rounds. */
  masqSeqPods: number;
  masqChurnPods: number;
  masqRounds: number;
  /** NetworkPolicy rows (policy-group-bench.ts): sequential pods, churn@8 pods, rounds. */
  polSeqPods: number;
  polChurnPods: number;
  polRounds: number;
  /** Peers of the peer-programming rows (host-gw, VXLAN, masquerade exclusions). */
  peers: number;
  /** Cross-node rows (vxlan-datapath-bench.ts): rounds, TCP request/response count, iperf3 seconds. */
  xnodeRounds: number;
  xnodeRequests: number;
  xnodeSeconds: number;
  cpuCalls: number;
  /** ADD+DEL cycles before the cpu-floor rows measure (V8 goes on optimizing long after the first calls). */
  cpuWarmup: number;
  gonePods: number;
  restartPods: number[];
  restartTimeoutS: number;
  restartPollMs: number;
  restartCheckSample: number;
}

export function parseOptions(argv: string[]): Options {
  const o: Options = {
    pods: 200,
    churnPods: 400,
    fill: 1000,
    samples: 50,
    shimRuns: 500,
    fillBudgetS: 45,
    executor: 'helper',
    out: path.resolve('bench-results.json'),
    runId: String(process.pid),
    workDir: undefined,
    quick: false,
    only: 'all',
    cpuCalls: 200,
    cpuWarmup: 10,
    gonePods: 100,
    restartPods: [1000, 5000],
    restartTimeoutS: 180,
    restartPollMs: 10,
    restartCheckSample: 100,
    hostPortPods: 40,
    hostPortRuns: 3,
    masqSeqPods: 100,
    masqChurnPods: 160,
    masqRounds: 3,
    polSeqPods: 100,
    polChurnPods: 160,
    polRounds: 3,
    peers: 500,
    xnodeRounds: 3,
    xnodeRequests: 10_000,
    xnodeSeconds: 3,
  };
  const explicit = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? '';
    const val = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    const int = (): number => {
      const v = Number(val());
      if (!Number.isInteger(v) || v < 1) throw new Error(`${a} needs a positive integer`);
      return v;
    };
    switch (a) {
      case '--quick':
        o.quick = true;
        break;
      case '--pods':
        o.pods = int();
        explicit.add('pods');
        break;
      case '--fill':
        o.fill = int();
        explicit.add('fill');
        break;
      case '--samples':
        o.samples = int();
        explicit.add('samples');
        break;
      case '--shim-runs':
        o.shimRuns = int();
        explicit.add('shimRuns');
        break;
      case '--fill-budget-s':
        o.fillBudgetS = int();
        break;
      case '--executor': {
        const v = val();
        if (v !== 'helper' && v !== 'node') throw new Error('--executor is helper or node');
        o.executor = v;
        break;
      }
      case '--out':
        o.out = path.resolve(val());
        break;
      case '--run-id': {
        const v = val();
        if (!/^[0-9]{1,10}$/.test(v)) throw new Error('--run-id must be digits');
        o.runId = v;
        break;
      }
      case '--work-dir':
        o.workDir = path.resolve(val());
        break;
      case '--only': {
        const v = val();
        const choice = ONLY_CHOICES.find((c) => c === v);
        if (choice === undefined) throw new Error(`--only is one of ${ONLY_CHOICES.join(', ')}`);
        o.only = choice;
        break;
      }
      case '--restart-pods':
        o.restartPods = parsePodCounts(val());
        explicit.add('restartPods');
        break;
      case '--restart-timeout-s':
        o.restartTimeoutS = int();
        break;
      case '--restart-poll-ms':
        o.restartPollMs = int();
        break;
      case '--restart-check-sample':
        o.restartCheckSample = int();
        break;
      case '--cpu-calls':
        o.cpuCalls = int();
        explicit.add('cpuCalls');
        break;
      case '--cpu-warmup':
        o.cpuWarmup = int();
        break;
      case '--gone-pods':
        o.gonePods = int();
        explicit.add('gonePods');
        break;
      case '-h':
      case '--help':
        process.stdout.write(
          'usage: run-bench [--quick] [--pods N] [--fill N] [--samples N] [--shim-runs N] [--fill-budget-s S]\n' +
            '                 [--executor helper|node] [--out PATH] [--run-id ID] [--work-dir DIR]\n' +
            '                 [--only all|restart] [--restart-pods N,N] [--restart-timeout-s S] [--restart-poll-ms MS]\n' +
            '                 [--restart-check-sample K] [--cpu-calls N] [--cpu-warmup N] [--gone-pods M]\n' +
            `                 (--only ${ONLY_CHOICES.join('|')})\n`,
        );
        process.exit(0);
        break;
      default:
        throw new Error(`unknown option ${a}`);
    }
  }
  if (o.quick && !explicit.has('pods')) o.pods = 20;
  if (!explicit.has('fill')) o.fill = o.pods * 5;
  if (o.quick && !explicit.has('samples')) o.samples = 10;
  if (o.quick && !explicit.has('shimRuns')) o.shimRuns = 100;
  if (o.quick && !explicit.has('restartPods')) o.restartPods = [100];
  if (o.quick && !explicit.has('cpuCalls')) o.cpuCalls = 50;
  if (o.quick && !explicit.has('gonePods')) o.gonePods = 30;
  if (o.quick) {
    o.hostPortPods = 10;
    o.hostPortRuns = 1;
    o.masqSeqPods = 20;
    o.masqChurnPods = 32;
    o.masqRounds = 1;
    o.polSeqPods = 20;
    o.polChurnPods = 32;
    o.polRounds = 1;
    o.peers = 100;
    o.xnodeRounds = 1;
    o.xnodeRequests = 2_000;
    o.xnodeSeconds = 1;
  }
  o.churnPods = o.pods * 2;
  return o;
}
