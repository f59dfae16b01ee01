/**
 * The rule compilers as pure functions: what the whole-table transaction holds, the element
 * deltas, CIDR normalisation and the port mapping expansion. Kernel behaviour is in
 * nft-tables.test.ts and nft-traffic.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cidrDelta, normaliseCidrs } from './cidr-sets';
import type { NftCommand } from './nft-json';
import { parsePortMappings } from '../cni/port-mappings';
import { InvalidPortMapping, canonicalMapping, portKeyOf, portMappingsFor } from './port-mappings';
import { programmedOfCommands, summaryOf } from './read-back';
import { cidrSetCommands, mappingCommands, wholeTableCommands } from './table-build';
import { tableNameOf } from './table-layout';
import { reasonOf, NftError } from './nft-error';

const T = 'podwire-0123456789ab';
const masquerade = {
  enabled: true,
  podSources: ['10.123.1.0/24', 'fd7a:1::/64'],
  cluster: ['10.123.0.0/16', '10.125.0.0/24'],
  nonMasquerade: ['10.124.9.0/24'],
};

function verbsAndKinds(cmds: NftCommand[]): string[] {
  return cmds.map((c) => {
    const [verb, body] = Object.entries(c)[0] as [string, Record<string, unknown>];
    return `${verb} ${Object.keys(body)[0]}`;
  });
}

test('table names carry the owner tag and refuse anything else', () => {
  assert.equal(tableNameOf('0123456789ab'), 'podwire-0123456789ab');
  assert.throws(() => tableNameOf('../x'), RangeError);
  assert.throws(() => tableNameOf(''), RangeError);
});

test('the whole table: add, delete, add the table first, then everything, all naming only that table', () => {
  const cmds = wholeTableCommands(T, { masquerade, portMappings: [] });
  assert.deepEqual(verbsAndKinds(cmds).slice(0, 3), ['add table', 'delete table', 'add table']);
  for (const c of cmds) {
    const body = Object.values(Object.values(c)[0] as Record<string, Record<string, unknown>>)[0]!;
    assert.equal(body.family, 'inet');
    assert.equal(body.table ?? body.name, T, JSON.stringify(c));
  }
  assert.ok(
    !verbsAndKinds(cmds)
      .slice(3)
      .some((v) => v.startsWith('delete') || v.startsWith('flush')),
    'only the own table is deleted',
  );
  const p = programmedOfCommands('inet', T, cmds);
  assert.deepEqual(
    p.chains.map((c) => [c.name, c.hook, c.priority, c.rules]),
    [
      ['nat-prerouting', 'prerouting', -100, 1],
      ['nat-output', 'output', -100, 1],
      ['hostports', undefined, undefined, 4],
      ['nat-postrouting', 'postrouting', 100, 6],
      ['localnet-guard', 'prerouting', -300, 1],
    ],
  );
  assert.deepEqual(p.sets['pod-sources-v4'], ['10.123.1.0/24']);
  assert.deepEqual(p.sets['pod-sources-v6'], ['fd7a:1::/64']);
  assert.deepEqual(p.sets['cluster-v4'], ['10.123.0.0/16', '10.125.0.0/24']);
  assert.deepEqual(p.sets['nonmasq-v4'], ['10.124.9.0/24']);
  assert.deepEqual(p.sets['cluster-v6'], []);
});

test("postrouting: kube-proxy's mark first, hairpin and localhost masquerade, then egress masquerade fully random; off means no egress rule", () => {
  const rules = (enabled: boolean) =>
    wholeTableCommands(T, { masquerade: { ...masquerade, enabled }, portMappings: [] })
      .map((c) => (c.add as { rule?: { chain: string; expr: unknown[] } } | undefined)?.rule)
      .filter((r) => r?.chain === 'nat-postrouting')
      .map((r) => JSON.stringify(r!.expr));
  const on = rules(true);
  assert.match(on[0]!, /"mark".*16384.*"return"/);
  assert.match(on[1]!, /"ct".*"dnat".*@hairpin-v4.*"masquerade":null/);
  assert.match(on[2]!, /127\.0\.0\.0.*"masquerade":null/);
  assert.match(on[3]!, /@hairpin-v6/);
  assert.match(on[4]!, /"ip","field":"saddr".*@pod-sources-v4.*"!=".*@cluster-v4.*"!=".*@nonmasq-v4.*"fully-random"/);
  assert.match(on[5]!, /"ip6","field":"saddr".*@pod-sources-v6.*@cluster-v6.*@nonmasq-v6.*"fully-random"/);
  const off = rules(false);
  assert.equal(off.length, 4);
  assert.ok(!off.some((r) => r.includes('fully-random')));
});

test("a mapping is two elements with one key (address, port) plus the pod's hairpin pair; protocols as numbers", () => {
  const m = { protocol: 'udp' as const, hostPort: 53, podIP: '10.123.1.5', containerPort: 5353 };
  const withIP = { ...m, protocol: 'tcp' as const, hostIP: '10.124.0.1', hostPort: 8080, containerPort: 80 };
  const p = programmedOfCommands('inet', T, wholeTableCommands(T, { masquerade, portMappings: [m, withIP] }));
  assert.deepEqual(p.sets['hostports-any-v4-addr'], ['17 . 53 : 10.123.1.5']);
  assert.deepEqual(p.sets['hostports-any-v4-port'], ['17 . 53 : 5353']);
  assert.deepEqual(p.sets['hostports-ip-v4-addr'], ['6 . 10.124.0.1 . 8080 : 10.123.1.5']);
  assert.deepEqual(p.sets['hostports-ip-v4-port'], ['6 . 10.124.0.1 . 8080 : 80']);
  assert.deepEqual(p.sets['hairpin-v4'], ['10.123.1.5 . 10.123.1.5']);
  assert.deepEqual(summaryOf(p), { table: `inet ${T}`, present: true, rules: 13, portMappings: 2, podSources: 2, cluster: 2, nonMasquerade: 1 });
  const del = mappingCommands('delete', T, [m], new Set(['10.123.1.5']));
  assert.deepEqual(
    del.map((c) => (c.delete as { element: { name: string } }).element.name),
    ['hostports-any-v4-addr', 'hostports-any-v4-port', 'hairpin-v4'],
  );
});

test('CIDR normalisation: host bits cleared, nested and duplicate CIDRs dropped, families split, bare addresses are /32 and /128', () => {
  const n = normaliseCidrs(['10.123.1.7/24', '10.123.0.0/16', '10.123.0.0/16', '10.9.0.1', 'fd7a::1/48', 'fd7a:0:0:1::/64', '::1']);
  assert.deepEqual(n[4], ['10.123.0.0/16', '10.9.0.1/32']);
  assert.deepEqual(n[6], ['::1/128', 'fd7a::/48']);
  assert.throws(() => normaliseCidrs(['10.1.2.300/24']), RangeError);
  assert.deepEqual(cidrDelta(['a', 'b'], ['b', 'c']), { remove: ['a'], add: ['c'] });
  const cmds = cidrSetCommands(T, 'cluster-v4', ['10.1.0.0/24'], ['10.2.0.0/24']);
  assert.deepEqual(verbsAndKinds(cmds), ['delete element', 'add element'], 'deletes before adds');
  assert.deepEqual(cidrSetCommands(T, 'cluster-v4', [], []), []);
});

test('portMappingsFor: parsed runtimeConfig entries map each family the pod has without hostIP, the hostIP family with one', () => {
  const ips = ['10.123.1.5', 'fd7a:1:0:0::5'];
  const mapped = (entries: unknown[], podIPs = ips) => portMappingsFor(parsePortMappings(entries), podIPs);
  assert.deepEqual(mapped([{ hostPort: 8080, containerPort: 80 }]), [
    { protocol: 'tcp', hostPort: 8080, podIP: '10.123.1.5', containerPort: 80 },
    { protocol: 'tcp', hostPort: 8080, podIP: 'fd7a:1::5', containerPort: 80 },
  ]);
  // The parse drops an unspecified hostIP: "0.0.0.0" means every address, as kubelet's "" does.
  assert.equal(mapped([{ hostPort: 53, containerPort: 53, protocol: 'UDP', hostIP: '0.0.0.0' }]).length, 2);
  assert.deepEqual(mapped([{ hostPort: 1, containerPort: 2, hostIP: '10.124.0.1' }]), [
    { protocol: 'tcp', hostPort: 1, hostIP: '10.124.0.1', podIP: '10.123.1.5', containerPort: 2 },
  ]);
  assert.deepEqual(mapped([{ hostPort: 1, containerPort: 2, protocol: 'sctp', hostIP: 'fd7b::1' }]), [
    { protocol: 'sctp', hostPort: 1, hostIP: 'fd7b::1', podIP: 'fd7a:1::5', containerPort: 2 },
  ]);
  assert.throws(
    () => mapped([{ hostPort: 80, containerPort: 80, hostIP: 'fd7b::1' }], ['10.123.1.5']),
    (e: unknown) => e instanceof InvalidPortMapping && /no IPv6 address/.test(e.message),
  );
  assert.throws(() => mapped([{ hostPort: 80, containerPort: 80 }], []), /no IPv4 address/);
});

test('port keys name protocol, host address and port; canonical mappings compare as text', () => {
  assert.equal(portKeyOf({ protocol: 'tcp', hostPort: 8080, podIP: '10.1.0.5' }), 'tcp 0.0.0.0:8080');
  assert.equal(portKeyOf({ protocol: 'udp', hostPort: 53, podIP: 'fd7a::5' }), 'udp [::]:53');
  assert.equal(portKeyOf({ protocol: 'udp', hostPort: 53, hostIP: 'fd7b::1', podIP: 'fd7a::5' }), 'udp [fd7b::1]:53');
  assert.deepEqual(canonicalMapping({ protocol: 'tcp', hostPort: 1, hostIP: 'fd7b:0::1', podIP: 'fd7a:0:0::5', containerPort: 2 }), {
    protocol: 'tcp',
    hostPort: 1,
    hostIP: 'fd7b::1',
    podIP: 'fd7a::5',
    containerPort: 2,
  });
  assert.deepEqual(canonicalMapping({ protocol: 'tcp', hostPort: 1, hostIP: '0.0.0.0', podIP: '10.1.0.5', containerPort: 2 }), {
    protocol: 'tcp',
    hostPort: 1,
    podIP: '10.1.0.5',
    containerPort: 2,
  });
  assert.throws(() => canonicalMapping({ protocol: 'tcp', hostPort: 1, hostIP: '10.0.0.1', podIP: 'fd7a::5', containerPort: 2 }), /different families/);
});

test("NftError: libnftables' text reduced to its reasons, the kernel's errno named", () => {
  const e = new NftError(
    'map ports',
    'internal:0:0-0: Error: Could not process rule: File exists\n\ninternal:0:0-0: Error: Could not process rule: File exists\n\n',
  );
  assert.equal(e.reason, 'Could not process rule: File exists');
  assert.equal(e.code, 'EEXIST');
  assert.equal(e.message, 'map ports: Could not process rule: File exists');
  assert.equal(new NftError('x', 'internal:0:0-0: Error: Unknown object passed to add command.\n').code, undefined);
  assert.equal(reasonOf(''), 'libnftables failed without a reason');
});
