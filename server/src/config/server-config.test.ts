import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildServerConfig, describeServerConfig, loadServerConfig } from './server-config';
import { ConfigError } from './config-errors';
import { masqueradeEnabled } from './masquerade-config';

const noFile = (): string => {
  throw new Error('ENOENT: no such file');
};

test('no file, no flags: defaults', () => {
  const c = loadServerConfig({}, noFile);
  assert.equal(c.socket, '/run/podwire/podwire.sock');
  assert.equal(c.stateDir, '/var/lib/podwire');
  assert.equal(c.logLevel, 'info');
  assert.equal(c.tcp, undefined);
  assert.equal(c.metrics, undefined);
  assert.deepEqual(c.peers, { source: 'none' });
  assert.deepEqual(c.node.podCIDRs, []);
});

test('flags override the file', () => {
  const file = JSON.stringify({ socket: '/run/a.sock', stateDir: '/var/a', logLevel: 'warn' });
  const c = loadServerConfig({ configFile: '/etc/p.json', socket: '/run/b.sock', logLevel: 'debug' }, () => file);
  assert.equal(c.socket, '/run/b.sock');
  assert.equal(c.stateDir, '/var/a');
  assert.equal(c.logLevel, 'debug');
  assert.equal(c.configFile, '/etc/p.json');
  assert.equal(buildServerConfig({ node: { name: 'from-file' } }, { nodeName: 'from-flag' }).node.name, 'from-flag');
});

test('tcp needs all three TLS files; listen addresses are parsed', () => {
  assert.throws(() => buildServerConfig({ tcp: { listen: '127.0.0.1:50051', certFile: '/c' } }, {}), /keyFile, clientCaFile.*mutual TLS/);
  const c = buildServerConfig({ tcp: { listen: '[::1]:0', certFile: '/c', keyFile: '/k', clientCaFile: '/ca' }, metrics: { listen: '127.0.0.1:9609' } }, {});
  assert.deepEqual(c.tcp?.listen, { host: '::1', port: 0, text: '[::1]:0' });
  assert.equal(c.metrics?.listen.text, '127.0.0.1:9609');
  assert.throws(() => buildServerConfig({ metrics: { listen: 'localhost:9609' } }, {}), /not an IP address/);
  assert.throws(() => buildServerConfig({ metrics: { listen: '127.0.0.1:70000' } }, {}), /out of range/);
  assert.throws(() => buildServerConfig({ metrics: { listen: '127.0.0.1' } }, {}), /ip:port/);
});

test('describeServerConfig shows paths, never key material', () => {
  const c = buildServerConfig({ tcp: { listen: '127.0.0.1:1', certFile: '/c', keyFile: '/k', clientCaFile: '/ca' } }, {});
  assert.deepEqual((describeServerConfig(c).tcp as Record<string, unknown>).keyFile, '/k');
});

test('node and static peers', () => {
  const c = buildServerConfig(
    {
      node: { name: 'a', podCIDRs: ['10.244.1.0/24', 'fd00:10:244:1::/64'] },
      peers: { source: 'static', static: [{ name: 'b', nodeIP: '192.168.50.2', podCIDRs: ['10.244.2.0/24'] }] },
    },
    {},
  );
  assert.deepEqual(c.node, { name: 'a', podCIDRs: ['10.244.1.0/24', 'fd00:10:244:1::/64'], nodeIPs: [] });
  assert.deepEqual(c.peers, { source: 'static', peers: [{ name: 'b', nodeIP: '192.168.50.2', podCIDRs: ['10.244.2.0/24'] }] });
  assert.throws(() => buildServerConfig({ node: { podCIDRs: ['10.244.1.1/24'] } }, {}), /host bits/);
  assert.throws(() => buildServerConfig({ node: { podCIDRs: ['10.244.1.0/24', '10.244.2.0/24'] } }, {}), /more than one IPv4/);
  assert.throws(() => buildServerConfig({ peers: { source: 'static', static: [{ name: 'b', nodeIP: 'x', podCIDRs: [] }] } }, {}), /not an IP address/);
  assert.throws(
    () => buildServerConfig({ node: { name: 'a' }, peers: { source: 'static', static: [{ name: 'a', nodeIP: '10.0.0.1', podCIDRs: [] }] } }, {}),
    /its own peer/,
  );
  assert.throws(() => buildServerConfig({ peers: { source: 'bgp' } }, {}), /"peers.source"/);
});

test('bad files and unknown keys name the file and the key', () => {
  assert.throws(
    () => loadServerConfig({ configFile: '/etc/p.json' }, noFile),
    (e: unknown) => e instanceof ConfigError && /cannot read \/etc\/p\.json/.test(e.message),
  );
  assert.throws(() => loadServerConfig({ configFile: '/etc/p.json' }, () => '{'), /\/etc\/p\.json is not valid JSON/);
  assert.throws(() => loadServerConfig({ configFile: '/etc/p.json' }, () => '{"sokcet": "/x"}'), /\/etc\/p\.json: unknown key "sokcet"/);
  assert.throws(() => loadServerConfig({ configFile: '/etc/p.json' }, () => '[]'), /must be a JSON object/);
  assert.throws(() => buildServerConfig({ logLevel: 'loud' }, {}), /"logLevel" must be one of/);
});

test('static peers may give one node address per family (nodeIPs)', () => {
  const c = buildServerConfig(
    { peers: { source: 'static', static: [{ name: 'b', nodeIPs: ['10.219.0.2', 'fd99:219:0:0::2'], podCIDRs: ['10.220.2.0/24', 'fd99:220:2::/64'] }] } },
    {},
  );
  assert.deepEqual(c.peers, {
    source: 'static',
    peers: [{ name: 'b', nodeIP: '10.219.0.2', nodeIPs: ['10.219.0.2', 'fd99:219::2'], podCIDRs: ['10.220.2.0/24', 'fd99:220:2::/64'] }],
  });
  const peer = (p: Record<string, unknown>) => buildServerConfig({ peers: { source: 'static', static: [{ name: 'b', podCIDRs: [], ...p }] } }, {});
  assert.throws(() => peer({ nodeIPs: ['10.0.0.1', '10.0.0.2'] }), /more than one address of a family/);
  assert.throws(() => peer({ nodeIPs: [] }), /non-empty list/);
  assert.throws(() => peer({ nodeIP: '10.0.0.3', nodeIPs: ['10.0.0.1'] }), /not one of "nodeIPs"/);
  assert.throws(() => peer({ nodeIPs: ['nope'] }), /nodeIPs\[0\]".*not an IP address/);
  assert.throws(() => peer({}), /nodeIP" must be a non-empty string/);
});

test('node.nodeIPs: one address per family, canonical', () => {
  assert.deepEqual(buildServerConfig({ node: { name: 'a', nodeIPs: ['192.168.50.1', 'FD00:50::1'] } }, {}).node.nodeIPs, ['192.168.50.1', 'fd00:50::1']);
  assert.throws(() => buildServerConfig({ node: { nodeIPs: ['192.168.50.1', '192.168.50.2'] } }, {}), /"node.nodeIPs" has more than one address of a family/);
  assert.throws(() => buildServerConfig({ node: { nodeIPs: ['node-a'] } }, {}), /"node.nodeIPs\[0\]": "node-a" is not an IP address/);
  assert.throws(() => buildServerConfig({ node: { nodeIPs: '192.168.50.1' } }, {}), /must be a list of IP addresses/);
});

test('masquerade: enabled follows the pod CIDRs unless set; nonMasqueradeCIDRs canonical and de-duplicated', () => {
  assert.deepEqual(buildServerConfig({}, {}).masquerade, { nonMasqueradeCIDRs: [] });
  const c = buildServerConfig({ masquerade: { enabled: false, nonMasqueradeCIDRs: ['203.0.113.0/24', '2001:DB8::/32', '203.0.113.0/24'] } }, {});
  assert.deepEqual(c.masquerade, { enabled: false, nonMasqueradeCIDRs: ['203.0.113.0/24', '2001:db8::/32'] });
  assert.equal(masqueradeEnabled({ nonMasqueradeCIDRs: [] }, ['10.244.1.0/24']), true);
  assert.equal(masqueradeEnabled({ nonMasqueradeCIDRs: [] }, []), false);
  assert.equal(masqueradeEnabled({ enabled: false, nonMasqueradeCIDRs: [] }, ['10.244.1.0/24']), false);
  assert.equal(masqueradeEnabled({ enabled: true, nonMasqueradeCIDRs: [] }, []), true);
  assert.deepEqual(describeServerConfig(c).masquerade, c.masquerade);
  assert.throws(() => buildServerConfig({ masquerade: { enabled: 'yes' } }, {}), /"masquerade.enabled" must be true or false/);
  assert.throws(() => buildServerConfig({ masquerade: { nonMasqueradeCIDRs: ['203.0.113.1/24'] } }, {}), /host bits/);
  assert.throws(() => buildServerConfig({ masquerade: { nonMasq: [] } }, {}), /nonMasq/);
});

test('peers.encapsulation and peers.vxlan: defaults, values, errors', () => {
  assert.deepEqual(buildServerConfig({}, {}).overlay, { encapsulation: 'none', vxlan: { vni: 1, port: 4789 } });
  const staticPeers = { source: 'static', static: [{ name: 'b', nodeIP: '10.219.0.2', podCIDRs: ['10.220.2.0/24'] }] };
  const node = { name: 'a', nodeIPs: ['10.219.0.1'] };
  assert.deepEqual(buildServerConfig({ node, peers: { ...staticPeers, encapsulation: 'vxlan-cross-subnet', vxlan: { vni: 4096, port: 8472 } } }, {}).overlay, {
    encapsulation: 'vxlan-cross-subnet',
    vxlan: { vni: 4096, port: 8472 },
  });
  assert.deepEqual(buildServerConfig({ node, peers: { ...staticPeers, encapsulation: 'vxlan' } }, {}).overlay, {
    encapsulation: 'vxlan',
    vxlan: { vni: 1, port: 4789 },
  });
  assert.throws(() => buildServerConfig({ node, peers: { ...staticPeers, encapsulation: 'ipip' } }, {}), /"peers.encapsulation" must be/);
  assert.throws(
    () => buildServerConfig({ node, peers: { ...staticPeers, encapsulation: 'vxlan', vxlan: { vni: 0 } } }, {}),
    /"peers.vxlan.vni" must be an integer from 1 to 16777215/,
  );
  assert.throws(() => buildServerConfig({ node, peers: { ...staticPeers, encapsulation: 'vxlan', vxlan: { port: 70000 } } }, {}), /"peers.vxlan.port"/);
  assert.throws(
    () => buildServerConfig({ node, peers: { ...staticPeers, encapsulation: 'vxlan', vxlan: { vni: 2, ttl: 3 } } }, {}),
    /unknown key "ttl" in "peers.vxlan"/,
  );
  assert.throws(() => buildServerConfig({ node: { name: 'a' }, peers: { ...staticPeers, encapsulation: 'vxlan' } }, {}), /needs "node.nodeIPs"/);
});

test('policy: absent is source none; file and kubernetes parsed and shown by describeServerConfig; a bad source names the key', () => {
  assert.deepEqual(buildServerConfig({}, {}).policy, { source: 'none' });
  const c = buildServerConfig({ policy: { source: 'file', file: '/etc/podwire/policy.yaml' } }, {});
  assert.deepEqual(c.policy, { source: 'file', file: '/etc/podwire/policy.yaml' });
  assert.deepEqual(describeServerConfig(c).policy, c.policy);
  assert.deepEqual(buildServerConfig({ policy: { source: 'kubernetes' } }, {}).policy, { source: 'kubernetes' });
  assert.throws(() => buildServerConfig({ policy: { source: 'calico' } }, {}), /policy\.source/);
});
