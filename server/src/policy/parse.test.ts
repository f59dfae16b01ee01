import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseNetworkPolicy, parseNetworkPolicyFailClosed, parsePod } from './parse';
import { PolicyError } from './policy-error';

const pol = (spec: Record<string, unknown>) => ({ kind: 'NetworkPolicy', metadata: { namespace: 'x', name: 'p' }, spec });

test('defaults: protocol TCP, empty lists mean "every", policyTypes from the egress rules', () => {
  const p = parseNetworkPolicy(pol({ podSelector: {}, ingress: [{ from: [], ports: [{ port: '8080' }] }], egress: [{}] }));
  assert.deepEqual(p.ingress, [{ peers: undefined, ports: [{ protocol: 'TCP', port: 8080 }] }]);
  assert.equal(p.ingressIsolation, true);
  assert.equal(p.egressIsolation, true);
  assert.equal(parseNetworkPolicy(pol({ podSelector: {}, egress: [] })).egressIsolation, false);
  const onlyEgress = parseNetworkPolicy(pol({ podSelector: {}, policyTypes: ['Egress'] }));
  assert.deepEqual([onlyEgress.ingressIsolation, onlyEgress.egressIsolation], [false, true]);
});

test('invalid policies are refused with the object and field named', () => {
  const bad: Array<[Record<string, unknown>, RegExp]> = [
    [{ ingress: [{ ports: [{ port: 'http', endPort: 90 }] }] }, /NetworkPolicy x\/p: spec\.ingress\[0\]\.ports\[0\]\.endPort needs a numeric port/],
    [{ ingress: [{ ports: [{ port: 90, endPort: 80 }] }] }, /endPort 80 must be >= port 90/],
    [{ ingress: [{ ports: [{ protocol: 'tcp', port: 80 }] }] }, /protocol must be TCP, UDP or SCTP/],
    [{ ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/8', except: ['10.0.0.0/8'] } }] }] }, /except\[0\] 10\.0\.0\.0\/8 must be strictly inside/],
    [{ ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/8' }, podSelector: {} }] }] }, /ipBlock cannot be combined/],
    [{ egress: [{ to: [{}] }] }, /spec\.egress\[0\]\.to\[0\] must set podSelector, namespaceSelector or ipBlock/],
    [{ podSelector: { matchExpressions: [{ key: 'a', operator: 'In', values: [] }] } }, /values must be non-empty for In/],
    [{ policyTypes: ['ingress'] }, /neither Ingress nor Egress/],
    [{ ingress: [{ ports: [{ port: 'Http_1' }] }] }, /not a valid port name/],
  ];
  for (const [spec, re] of bad)
    assert.throws(
      () => parseNetworkPolicy(pol(spec)),
      (e: unknown) => e instanceof PolicyError && re.test(e.message),
      JSON.stringify(spec),
    );
});

test('a pod: addresses from status.podIPs (canonical), ports of every container, namespace default', () => {
  const p = parsePod({
    kind: 'Pod',
    metadata: { name: 'a', labels: { app: 'web' } },
    spec: { containers: [{ ports: [{ name: 'http', containerPort: 80 }] }, { ports: [{ containerPort: 53, protocol: 'UDP' }] }] },
    status: { podIP: '10.1.0.5', podIPs: [{ ip: '10.1.0.5' }, { ip: 'FD00:0:0::5' }] },
  });
  assert.deepEqual(p, {
    namespace: 'default',
    name: 'a',
    labels: { app: 'web' },
    podIPs: ['10.1.0.5', 'fd00::5'],
    ports: [
      { name: 'http', containerPort: 80, protocol: 'TCP' },
      { containerPort: 53, protocol: 'UDP' },
    ],
    hostNetwork: false,
  });
  assert.throws(
    () => parsePod({ kind: 'Pod', metadata: { name: 'a' }, status: { podIPs: [{ ip: 'x' }] } }),
    /Pod default\/a: status\.podIPs\[0\]\.ip must be an IP address/,
  );
});

test('fail closed: a policy whose rules do not read is kept with no rules, isolating what it selects in its declared directions; a whole policy is returned as is', () => {
  const good = parseNetworkPolicyFailClosed(pol({ podSelector: { matchLabels: { app: 'a' } }, ingress: [{}] }));
  assert.equal(good.problem, undefined);
  assert.equal(good.policy.ingress.length, 1);
  // An ipBlock this parser refuses: ingress-only by its policyTypes.
  const bad = parseNetworkPolicyFailClosed(
    pol({ podSelector: { matchLabels: { app: 'a' } }, policyTypes: ['Ingress'], ingress: [{ from: [{ ipBlock: { cidr: 'not-a-cidr' } }] }] }),
  );
  assert.match(bad.problem ?? '', /kept with no rules: the pods it selects allow no ingress until it reads/);
  assert.deepEqual(bad.policy.podSelector, parseNetworkPolicy(pol({ podSelector: { matchLabels: { app: 'a' } } })).podSelector);
  assert.equal(bad.policy.ingressIsolation, true);
  assert.equal(bad.policy.egressIsolation, false);
  assert.deepEqual([bad.policy.ingress, bad.policy.egress], [[], []]);
  // No readable policyTypes: ingress, and egress because it has egress rules.
  const both = parseNetworkPolicyFailClosed(pol({ podSelector: {}, policyTypes: ['Sideways'], egress: [{ to: 'nonsense' }] }));
  assert.equal(both.policy.ingressIsolation, true);
  assert.equal(both.policy.egressIsolation, true);
  // Nothing can be selected without a podSelector that reads: refused.
  assert.throws(() => parseNetworkPolicyFailClosed(pol({ podSelector: { matchLabels: 7 }, ingress: [{ from: 3 }] })), PolicyError);
});
