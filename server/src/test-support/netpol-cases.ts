/**
 * The upstream netpol suite's cases (test/e2e/network/netpol) on the x/y/z world of
 * test-support/netpol-fixtures.ts, each with its hand-written truth table per probed
 * port/protocol. Shared by the model tests (oracle and `why` against the tables) and the
 * traffic tests. Grids: rows are sources, columns destinations, x/a x/b x/c y/a ... z/c.
 */
import { parseObject } from '../policy/parse';
import { PolicyWorld } from '../policy/policy-world';
import { baseWorld, policyObject, podObject } from './netpol-fixtures';
import type { OracleWorld } from './netpol-oracle';

type Obj = Record<string, unknown>;

export interface NetpolCase {
  name: string;
  policies: Obj[];
  /** Objects replacing the base world's (a relabelled pod or namespace). */
  replace?: Obj[];
  probes: Array<{ port: number; protocol: 'TCP' | 'UDP'; grid: string[] }>;
}

const ALL = ['-.. ... ...', '.-. ... ...', '..- ... ...', '... -.. ...', '... .-. ...', '... ..- ...', '... ... -..', '... ... .-.', '... ... ..-'];
/** Everything reaches everything except x/a. */
const NOT_TO_XA = ['-.. ... ...', 'X-. ... ...', 'X.- ... ...', 'X.. -.. ...', 'X.. .-. ...', 'X.. ..- ...', 'X.. ... -..', 'X.. ... .-.', 'X.. ... ..-'];
const podA = { matchLabels: { pod: 'a' } };
const tcp80 = (grid: string[]) => ({ port: 80, protocol: 'TCP' as const, grid });

export const CASES: NetpolCase[] = [
  {
    name: 'default-deny ingress in x',
    policies: [policyObject('x', 'deny-ingress', { podSelector: {}, policyTypes: ['Ingress'] })],
    probes: [tcp80(['-XX ... ...', 'X-X ... ...', 'XX- ... ...', 'XXX -.. ...', 'XXX .-. ...', 'XXX ..- ...', 'XXX ... -..', 'XXX ... .-.', 'XXX ... ..-'])],
  },
  {
    name: 'default-deny egress in x',
    policies: [policyObject('x', 'deny-egress', { podSelector: {}, policyTypes: ['Egress'] })],
    probes: [tcp80(['-XX XXX XXX', 'X-X XXX XXX', 'XX- XXX XXX', '... -.. ...', '... .-. ...', '... ..- ...', '... ... -..', '... ... .-.', '... ... ..-'])],
  },
  {
    name: 'x/a from pods pod=b of its namespace (podSelector alone)',
    policies: [policyObject('x', 'from-b', { podSelector: podA, ingress: [{ from: [{ podSelector: { matchLabels: { pod: 'b' } } }] }] })],
    probes: [tcp80(['-.. ... ...', '.-. ... ...', 'X.- ... ...', 'X.. -.. ...', 'X.. .-. ...', 'X.. ..- ...', 'X.. ... -..', 'X.. ... .-.', 'X.. ... ..-'])],
  },
  {
    name: 'x/a from namespace ns=y (namespaceSelector alone)',
    policies: [policyObject('x', 'from-y', { podSelector: podA, ingress: [{ from: [{ namespaceSelector: { matchLabels: { ns: 'y' } } }] }] })],
    probes: [tcp80(['-.. ... ...', 'X-. ... ...', 'X.- ... ...', '... -.. ...', '... .-. ...', '... ..- ...', 'X.. ... -..', 'X.. ... .-.', 'X.. ... ..-'])],
  },
  {
    name: 'x/a from pod=b in ns=y (both selectors in one peer: AND)',
    policies: [
      policyObject('x', 'and', {
        podSelector: podA,
        ingress: [{ from: [{ namespaceSelector: { matchLabels: { ns: 'y' } }, podSelector: { matchLabels: { pod: 'b' } } }] }],
      }),
    ],
    probes: [tcp80(['-.. ... ...', 'X-. ... ...', 'X.- ... ...', 'X.. -.. ...', '... .-. ...', 'X.. ..- ...', 'X.. ... -..', 'X.. ... .-.', 'X.. ... ..-'])],
  },
  {
    name: 'x/a from ns=y or from pod=b of x (two peers: OR)',
    policies: [
      policyObject('x', 'or', {
        podSelector: podA,
        ingress: [{ from: [{ namespaceSelector: { matchLabels: { ns: 'y' } } }, { podSelector: { matchLabels: { pod: 'b' } } }] }],
      }),
    ],
    probes: [tcp80(['-.. ... ...', '.-. ... ...', 'X.- ... ...', '... -.. ...', '... .-. ...', '... ..- ...', 'X.. ... -..', 'X.. ... .-.', 'X.. ... ..-'])],
  },
  {
    name: 'matchExpressions In, NotIn, DoesNotExist: x/a from pods a and c outside x',
    policies: [
      policyObject('x', 'exprs', {
        podSelector: podA,
        ingress: [
          {
            from: [
              {
                namespaceSelector: {
                  matchExpressions: [
                    { key: 'ns', operator: 'NotIn', values: ['x'] },
                    { key: 'team', operator: 'DoesNotExist' },
                  ],
                },
                podSelector: { matchExpressions: [{ key: 'pod', operator: 'In', values: ['a', 'c'] }] },
              },
            ],
          },
        ],
      }),
    ],
    probes: [tcp80(['-.. ... ...', 'X-. ... ...', 'X.- ... ...', '... -.. ...', 'X.. .-. ...', '... ..- ...', '... ... -..', 'X.. ... .-.', '... ... ..-'])],
  },
  {
    name: 'matchExpressions Exists, NotIn: y/b from every namespace but not from pods a',
    policies: [
      policyObject('y', 'exists', {
        podSelector: { matchExpressions: [{ key: 'pod', operator: 'In', values: ['b'] }] },
        ingress: [
          {
            from: [
              {
                namespaceSelector: { matchExpressions: [{ key: 'ns', operator: 'Exists' }] },
                podSelector: { matchExpressions: [{ key: 'pod', operator: 'NotIn', values: ['a'] }] },
              },
            ],
          },
        ],
      }),
    ],
    probes: [tcp80(['-.. .X. ...', '.-. ... ...', '..- ... ...', '... -X. ...', '... .-. ...', '... ..- ...', '... .X. -..', '... ... .-.', '... ... ..-'])],
  },
  {
    name: 'port by number: x/a on 81 only',
    policies: [policyObject('x', 'port-81', { podSelector: podA, ingress: [{ ports: [{ port: 81 }] }] })],
    probes: [tcp80(NOT_TO_XA), { port: 81, protocol: 'TCP', grid: ALL }],
  },
  {
    name: "port by name: x/a on serve-81-tcp only (resolved from x/a's container ports)",
    policies: [policyObject('x', 'named-81', { podSelector: podA, ingress: [{ ports: [{ port: 'serve-81-tcp', protocol: 'TCP' }] }] })],
    probes: [tcp80(NOT_TO_XA), { port: 81, protocol: 'TCP', grid: ALL }],
  },
  {
    name: 'endPort: x/a on 79-80',
    policies: [policyObject('x', 'range', { podSelector: podA, ingress: [{ ports: [{ port: 79, endPort: 80 }] }] })],
    probes: [tcp80(ALL), { port: 81, protocol: 'TCP', grid: NOT_TO_XA }],
  },
  {
    name: "ipBlock with except: x/a from 10.42.0.0/16 except y's 10.42.2.0/24",
    policies: [policyObject('x', 'cidr', { podSelector: podA, ingress: [{ from: [{ ipBlock: { cidr: '10.42.0.0/16', except: ['10.42.2.0/24'] } }] }] })],
    probes: [tcp80(['-.. ... ...', '.-. ... ...', '..- ... ...', 'X.. -.. ...', 'X.. .-. ...', 'X.. ..- ...', '... ... -..', '... ... .-.', '... ... ..-'])],
  },
  {
    name: "egress ipBlock with except: x/a to 10.42.0.0/16 except x/b's /32",
    policies: [
      policyObject('x', 'egress-cidr', {
        podSelector: podA,
        policyTypes: ['Egress'],
        egress: [{ to: [{ ipBlock: { cidr: '10.42.0.0/16', except: ['10.42.1.2/32'] } }] }],
      }),
    ],
    probes: [tcp80(['-X. ... ...', '.-. ... ...', '..- ... ...', '... -.. ...', '... .-. ...', '... ..- ...', '... ... -..', '... ... .-.', '... ... ..-'])],
  },
  {
    name: 'stacked policies on x/a: from ns=y, and from pod=b (union)',
    policies: [
      policyObject('x', 'from-y', { podSelector: podA, ingress: [{ from: [{ namespaceSelector: { matchLabels: { ns: 'y' } } }] }] }),
      policyObject('x', 'from-b', { podSelector: podA, ingress: [{ from: [{ podSelector: { matchLabels: { pod: 'b' } } }] }] }),
    ],
    probes: [tcp80(['-.. ... ...', '.-. ... ...', 'X.- ... ...', '... -.. ...', '... .-. ...', '... ..- ...', 'X.. ... -..', 'X.. ... .-.', 'X.. ... ..-'])],
  },
  {
    name: 'UDP: x/a on UDP 80 only',
    policies: [policyObject('x', 'udp', { podSelector: podA, ingress: [{ ports: [{ protocol: 'UDP', port: 80 }] }] })],
    probes: [tcp80(NOT_TO_XA), { port: 80, protocol: 'UDP', grid: ALL }],
  },
  {
    name: "egress to a named port: x/a reaches serve-81-tcp (the destination's) only",
    policies: [policyObject('x', 'egress-named', { podSelector: podA, policyTypes: ['Egress'], egress: [{ ports: [{ port: 'serve-81-tcp' }] }] })],
    probes: [
      tcp80(['-XX XXX XXX', '.-. ... ...', '..- ... ...', '... -.. ...', '... .-. ...', '... ..- ...', '... ... -..', '... ... .-.', '... ... ..-']),
      { port: 81, protocol: 'TCP', grid: ALL },
    ],
  },
  {
    name: 'egress to pods pod=b of x on a named port (peer and named port, both families compiled)',
    policies: [
      policyObject('x', 'egress-b-named', {
        podSelector: podA,
        policyTypes: ['Egress'],
        egress: [{ to: [{ podSelector: { matchLabels: { pod: 'b' } } }], ports: [{ port: 'serve-81-tcp' }] }],
      }),
    ],
    probes: [
      tcp80(['-XX XXX XXX', '.-. ... ...', '..- ... ...', '... -.. ...', '... .-. ...', '... ..- ...', '... ... -..', '... ... .-.', '... ... ..-']),
      {
        port: 81,
        protocol: 'TCP',
        grid: ['-.X XXX XXX', '.-. ... ...', '..- ... ...', '... -.. ...', '... .-. ...', '... ..- ...', '... ... -..', '... ... .-.', '... ... ..-'],
      },
    ],
  },
  {
    name: 'policyTypes [Ingress] with egress rules: egress not isolated; ingress [{}] allows all',
    policies: [
      policyObject('x', 'ingress-only', { podSelector: {}, policyTypes: ['Ingress'], ingress: [{}], egress: [{ to: [{ ipBlock: { cidr: '1.1.1.1/32' } }] }] }),
    ],
    probes: [tcp80(ALL)],
  },
  {
    name: 'ingress [{}] next to a deny-all: the union allows all',
    policies: [policyObject('x', 'deny', { podSelector: {} }), policyObject('x', 'allow', { podSelector: {}, ingress: [{}] })],
    probes: [tcp80(ALL)],
  },
  {
    name: 'no policyTypes, egress rules present: Ingress and Egress (no ingress rules: x/a takes nothing)',
    policies: [policyObject('x', 'default-types', { podSelector: podA, egress: [{ to: [{ podSelector: { matchLabels: { pod: 'b' } } }] }] })],
    probes: [tcp80(['-.X XXX XXX', 'X-. ... ...', 'X.- ... ...', 'X.. -.. ...', 'X.. .-. ...', 'X.. ..- ...', 'X.. ... -..', 'X.. ... .-.', 'X.. ... ..-'])],
  },
  {
    name: 'no policyTypes, egress: [] (empty): Ingress only',
    policies: [policyObject('x', 'empty-egress', { podSelector: podA, egress: [] })],
    probes: [tcp80(NOT_TO_XA)],
  },
  {
    name: 'pod relabelled: x/c now pod=b is admitted by "from pod=b"',
    policies: [policyObject('x', 'from-b', { podSelector: podA, ingress: [{ from: [{ podSelector: { matchLabels: { pod: 'b' } } }] }] })],
    replace: [podObject('x/c', { pod: 'b' })],
    probes: [tcp80(['-.. ... ...', '.-. ... ...', '..- ... ...', 'X.. -.. ...', 'X.. .-. ...', 'X.. ..- ...', 'X.. ... -..', 'X.. ... .-.', 'X.. ... ..-'])],
  },
  {
    name: 'namespace relabelled: z now ns=y is admitted by "from ns=y"',
    policies: [policyObject('x', 'from-y', { podSelector: podA, ingress: [{ from: [{ namespaceSelector: { matchLabels: { ns: 'y' } } }] }] })],
    replace: [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'z', labels: { ns: 'y' } } }],
    probes: [tcp80(['-.. ... ...', 'X-. ... ...', 'X.- ... ...', '... -.. ...', '... .-. ...', '... ..- ...', '... ... -..', '... ... .-.', '... ... ..-'])],
  },
];

/** A case's raw objects: the base world with the case's replacements, and its policies. */
export function caseWorld(c: NetpolCase): OracleWorld {
  const base = baseWorld();
  const id = (o: Obj) => `${o.kind} ${(o.metadata as Obj).namespace ?? ''}/${(o.metadata as Obj).name}`;
  const swap = (list: Obj[]) => list.map((o) => (c.replace ?? []).find((r) => id(r) === id(o)) ?? o);
  return { namespaces: swap(base.namespaces), pods: swap(base.pods), policies: c.policies };
}

/** The same objects parsed into the policy model. */
export function modelOf(w: OracleWorld): PolicyWorld {
  const world = new PolicyWorld();
  for (const o of [...w.namespaces, ...w.pods, ...w.policies]) {
    const p = parseObject(o, 'test')!;
    if (p.kind === 'Namespace') world.namespaces.set(p.value.name, p.value);
    else if (p.kind === 'Pod') world.pods.set(`${p.value.namespace}/${p.value.name}`, p.value);
    else world.policies.set(`${p.value.namespace}/${p.value.name}`, p.value);
  }
  return world;
}
