/**
 * Every verb × every cniVersion through the real shim: the result shape of each version,
 * field by field, and the spec's errors for verbs a version does not have.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { E2eHarness } from '../lib/e2e-harness';
import { netConf } from '../lib/shim';

const VERSIONS = ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] as const;
const NET = 'e2e-versions';
const base = netConf(NET, '10.238.0.0/24', {
  ipam: { ranges: [[{ subnet: '10.238.0.0/24' }], [{ subnet: 'fd99:238::/120' }]] },
  dns: { nameservers: ['10.238.0.53'], domain: 'cluster.local', search: ['svc.cluster.local'], options: ['ndots:5'] },
  mtu: 1400,
});
let h: E2eHarness;

before(async () => {
  h = await E2eHarness.start('ver');
});
after(async () => {
  await h.cleanup();
});

const newerOrEqual = (v: string, than: string) => {
  const a = v.split('.').map(Number);
  const b = than.split('.').map(Number);
  for (let i = 0; i < 3; i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) > (b[i] ?? 0);
  return true;
};

for (const version of VERSIONS) {
  test(`cniVersion ${version}: ADD result shape, CHECK, GET, STATUS, GC, DEL`, async () => {
    const conf = { ...base, cniVersion: version };
    const ns = await h.netns.create(version.replace(/\./g, ''));
    const call = { containerId: `ctr-${version}`, netns: ns.path, ifname: 'eth0', config: conf };
    const add = await h.shim({ command: 'ADD', ...call });
    assert.equal(add.exitCode, 0, add.stdout);
    const r = add.json as Record<string, unknown>;
    assert.deepEqual(Object.keys(r).sort(), ['cniVersion', 'dns', 'interfaces', 'ips', 'routes']);
    assert.equal(r.cniVersion, version);

    const interfaces = r.interfaces as Array<Record<string, unknown>>;
    assert.equal(interfaces.length, 2);
    const withMtu = newerOrEqual(version, '1.1.0');
    assert.deepEqual(Object.keys(interfaces[0] ?? {}).sort(), withMtu ? ['mac', 'mtu', 'name'] : ['mac', 'name']);
    assert.deepEqual(Object.keys(interfaces[1] ?? {}).sort(), withMtu ? ['mac', 'mtu', 'name', 'sandbox'] : ['mac', 'name', 'sandbox']);
    if (withMtu) assert.equal(interfaces[1]?.mtu, 1400);
    assert.equal(interfaces[1]?.name, 'eth0');
    assert.equal(interfaces[1]?.sandbox, ns.path);

    const ips = r.ips as Array<Record<string, unknown>>;
    const withIpVersion = !newerOrEqual(version, '1.0.0');
    assert.equal(ips.length, 2);
    for (const [i, ip] of ips.entries()) {
      const six = i === 1;
      assert.deepEqual(Object.keys(ip).sort(), withIpVersion ? ['address', 'gateway', 'interface', 'version'] : ['address', 'gateway', 'interface']);
      if (withIpVersion) assert.equal(ip.version, six ? '6' : '4');
      assert.match(String(ip.address), six ? /^fd99:238::[0-9a-f]+\/128$/ : /^10\.238\.0\.\d+\/32$/);
      assert.equal(ip.gateway, six ? 'fe80::1' : '169.254.1.1');
      assert.equal(ip.interface, 1);
    }
    assert.deepEqual(r.routes, [
      { dst: '0.0.0.0/0', gw: '169.254.1.1' },
      { dst: '::/0', gw: 'fe80::1' },
    ]);
    assert.deepEqual(r.dns, { nameservers: ['10.238.0.53'], domain: 'cluster.local', search: ['svc.cluster.local'], options: ['ndots:5'] });

    const check = await h.shim({ command: 'CHECK', ...call, config: { ...conf, prevResult: r } });
    if (newerOrEqual(version, '0.4.0')) {
      assert.equal(check.exitCode, 0, check.stdout);
      assert.equal(check.stdout, '');
    } else {
      assert.equal(check.exitCode, 1);
      assert.equal(check.json?.code, 1, check.stdout);
      assert.equal(check.json?.cniVersion, version);
    }

    const get = await h.shim({ command: 'GET', ...call });
    assert.equal(get.exitCode, 0, get.stdout);
    assert.deepEqual(get.json, r, 'GET returns the ADD result in the same version');

    for (const verb of ['STATUS', 'GC'] as const) {
      const out = await h.shim({ command: verb, config: { ...conf, 'cni.dev/valid-attachments': [{ containerID: call.containerId, ifname: 'eth0' }] } });
      if (newerOrEqual(version, '1.1.0')) assert.equal(out.exitCode, 0, `${verb}: ${out.stdout}`);
      else assert.equal(out.json?.code, 1, `${verb}: ${out.stdout}`);
    }

    const del = await h.shim({ command: 'DEL', ...call, config: { ...conf, prevResult: r } });
    assert.equal(del.exitCode, 0, del.stdout);
    assert.equal(del.stdout, '');
    const gone = await h.shim({ command: 'GET', ...call });
    assert.equal(gone.json?.code, 3, gone.stdout);
  });
}

test('unsupported versions get code 1 naming the supported ones; VERSION lists them all', async () => {
  for (const v of ['0.1.0', '0.2.0', '1.2.0', 'x']) {
    const r = await h.shim({ command: 'ADD', containerId: 'c', netns: '/var/run/netns/none', ifname: 'eth0', config: { ...base, cniVersion: v } });
    assert.equal(r.json?.code, 1, r.stdout);
    assert.match(String(r.json?.details), /0\.3\.0, 0\.3\.1, 0\.4\.0, 1\.0\.0, 1\.1\.0/);
  }
  const version = await h.shim({ command: 'VERSION', config: { cniVersion: '0.4.0' } });
  assert.deepEqual(version.json, { cniVersion: '0.4.0', supportedVersions: ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] });
});
