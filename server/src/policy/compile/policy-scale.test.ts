/**
 * Cost at scale, measured against the real kernel in a private netns: 1,000 pods (50
 * namespaces of 20; 100 of them wired here) and 200 policies (pod and namespace selectors,
 * named ports, ipBlocks). The full build, then per change: an ADD, a DEL, a label change of one
 * pod, a policy change — compile time in JS and the transaction's time, medians of 21 runs,
 * printed as diagnostics. The assertions are on what a change costs in commands (a handful of
 * elements, independent of the uninvolved pods), not on times (the machine is shared).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { RtnlSockets } from '../../rtnl/rtnl-sockets';
import { NftContext } from '../../nft/nft-context';
import type { NftCommand } from '../../nft/nft-json';
import { TestNetns } from '../../test-support/test-netns';
import type { Namespace, NetworkPolicy, Pod } from '../model';
import { parseNetworkPolicy } from '../parse';
import { PolicyWorld } from '../policy-world';
import { PolicyCompiler } from './policy-compiler';

const TABLE = 'podwire-polscale';
let ns: TestNetns;
const sockets = new RtnlSockets();
let nft: NftContext;
before(() => {
  ns = new TestNetns('pols');
  nft = NftContext.open({ enter: (fn) => sockets.enter(ns.fd, fn) });
});
after(() => {
  nft?.close();
  sockets.closeAll();
  ns?.remove();
});

const NS = 50;
const PER_NS = 20;
const APPS = 10;

function pod(n: number, i: number, app = `app${i % APPS}`): Pod {
  return {
    namespace: `ns${n}`,
    name: `pod${i}`,
    labels: { app, tier: i % 2 ? 'web' : 'db' },
    podIPs: [`10.${60 + Math.floor(n / 10)}.${(n % 10) * 20 + i}.${1 + (i % 200)}`],
    ports: [
      { name: 'http', containerPort: 8080, protocol: 'TCP' },
      { name: 'dns', containerPort: 53, protocol: 'UDP' },
    ],
    hostNetwork: false,
  };
}

function policy(k: number): NetworkPolicy {
  const n = k % NS;
  const spec: Record<string, unknown> = { podSelector: { matchLabels: { app: `app${k % APPS}` } } };
  switch (k % 4) {
    case 0:
      spec.ingress = [{ from: [{ podSelector: { matchLabels: { tier: 'web' } } }], ports: [{ port: 'http' }] }];
      break;
    case 1:
      spec.ingress = [
        {
          from: [
            {
              namespaceSelector: { matchLabels: { team: `t${k % 5}` } },
              podSelector: { matchExpressions: [{ key: 'app', operator: 'In', values: ['app1', 'app2'] }] },
            },
          ],
        },
      ];
      break;
    case 2:
      spec.ingress = [{ from: [{ ipBlock: { cidr: '10.0.0.0/8', except: ['10.61.0.0/16'] } }], ports: [{ port: 8000, endPort: 8100 }] }];
      spec.egress = [{ to: [{ namespaceSelector: {} }], ports: [{ port: 'dns', protocol: 'UDP' }] }];
      break;
    default:
      spec.policyTypes = ['Ingress', 'Egress'];
      spec.egress = [{ to: [{ podSelector: { matchLabels: { tier: 'db' } } }] }];
  }
  return parseNetworkPolicy({ kind: 'NetworkPolicy', metadata: { namespace: `ns${n}`, name: `pol${k}` }, spec });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;
const elements = (cmds: NftCommand[]) => cmds.reduce((n, c) => n + (((c as any).add ?? (c as any).delete)?.element?.elem?.length ?? 0), 0);

test('1,000 pods, 200 policies: build, ADD, DEL, relabel and policy change costs', { timeout: 300_000 }, (t) => {
  const namespaces: Namespace[] = [];
  const pods: Pod[] = [];
  for (let n = 0; n < NS; n++) {
    namespaces.push({ name: `ns${n}`, labels: { team: `t${n % 5}`, 'kubernetes.io/metadata.name': `ns${n}` } });
    for (let i = 0; i < PER_NS; i++) pods.push(pod(n, i));
  }
  const policies = Array.from({ length: 200 }, (_, k) => policy(k));
  const compiler = new PolicyCompiler({ table: TABLE, world: PolicyWorld.of({ namespaces, pods, policies }) });
  // Pods 0-1 of every namespace are wired here: 100 local pods.
  for (let n = 0; n < NS; n++) for (let i = 0; i < 2; i++) compiler.setLocal(`ns${n}/pod${i}`, [{ ifname: `pw${n}x${i}`, ips: pods[n * PER_NS + i]!.podIPs }]);
  const tbl = { family: 'inet', name: TABLE };
  nft.run('fresh', [{ add: { table: tbl } }, { delete: { table: tbl } }, { add: { table: tbl } }]);
  let t0 = process.hrtime.bigint();
  const build = compiler.build();
  const buildCompile = ms(t0);
  t0 = process.hrtime.bigint();
  nft.run('build', build);
  const buildRun = ms(t0);
  t.diagnostic(`build: ${build.length} commands, ${elements(build)} elements; compile ${buildCompile.toFixed(1)} ms, transaction ${buildRun.toFixed(1)} ms`);

  const measure = (label: string, runs: number, step: (i: number) => NftCommand[]) => {
    const c: number[] = [];
    const r: number[] = [];
    let maxElems = 0;
    for (let i = 0; i < runs; i++) {
      let s = process.hrtime.bigint();
      const cmds = step(i);
      c.push(ms(s));
      maxElems = Math.max(maxElems, elements(cmds));
      s = process.hrtime.bigint();
      nft.run(label, cmds);
      r.push(ms(s));
    }
    t.diagnostic(
      `${label}: compile median ${median(c).toFixed(2)} ms (max ${Math.max(...c).toFixed(2)}), transaction median ${median(r).toFixed(2)} ms (max ${Math.max(...r).toFixed(2)}), at most ${maxElems} elements`,
    );
    return maxElems;
  };

  const RUNS = 21;
  // ADD then DEL of pod 2 of namespace i (not yet local).
  const addElems = measure('ADD', RUNS, (i) => compiler.setLocal(`ns${i}/pod2`, [{ ifname: `pw${i}x2`, ips: pods[i * PER_NS + 2]!.podIPs }]));
  const delElems = measure('DEL', RUNS, (i) => compiler.removeLocal(`ns${i}/pod2`));
  // A label change of a pod wired here: pod 0 of namespace i switches app and tier (it leaves
  // and joins policies' target and peer sets).
  const relabelElems = measure('relabel', RUNS, (i) => compiler.setPod({ ...pod(i, 0, 'app7'), labels: { app: 'app7', tier: 'web' } }));
  assert.ok(relabelElems > 0, 'the relabel moved the pod between sets');
  // A policy change: policy k gets a new peer selector.
  const policyElems = measure('policy change', RUNS, (i) => {
    const p = policy(i * 3);
    return compiler.setPolicy({
      ...p,
      ingress: [{ peers: [{ kind: 'pods', podSelector: { matchLabels: { tier: 'db' }, matchExpressions: [] } }], ports: undefined }],
    });
  });
  assert.ok(addElems <= 60, `ADD: ${addElems} elements`);
  assert.ok(delElems <= 60, `DEL: ${delElems} elements`);
  assert.ok(relabelElems <= 60, `relabel: ${relabelElems} elements`);
  t.diagnostic(`policy change: at most ${policyElems} elements (the pods the policy selects or admits)`);
});
