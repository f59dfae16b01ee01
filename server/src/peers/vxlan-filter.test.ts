/**
 * The VXLAN filter against real traffic: two network namespaces joined by a veth
 * (10.234.0.1 / 10.234.0.2), each with a VXLAN device (VNI 1, port 4789, inner 10.235.0.N/24)
 * whose FDB points at the other. The receiving side (b) carries the filter; pings over the
 * overlay pass only while a's address is a known peer, and VXLAN on another VNI is untouched.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { RtnlSockets } from '../rtnl/rtnl-sockets';
import { NftContext } from '../nft/nft-context';
import { TestNetns } from '../test-support/test-netns';
import { VxlanFilter } from './vxlan-filter';

let A: TestNetns;
let B: TestNetns;
const sockets = new RtnlSockets();
let context: NftContext;

function vxlan(ns: TestNetns, name: string, vni: number, local: string, remote: string, inner: string, mac: string, peerMac: string): void {
  ns.ip('link', 'add', name, 'type', 'vxlan', 'id', String(vni), 'dstport', '4789', 'local', local, 'nolearning');
  ns.ip('link', 'set', name, 'address', mac, 'up');
  ns.ip('addr', 'add', inner, 'dev', name);
  execFileSync('bridge', ['-n', ns.name, 'fdb', 'append', peerMac, 'dev', name, 'dst', remote, 'self', 'permanent']);
}

before(() => {
  A = new TestNetns('vxfa');
  B = new TestNetns('vxfb');
  A.ip('link', 'add', 'u0', 'type', 'veth', 'peer', 'name', 'u0', 'netns', B.name);
  A.ip('addr', 'add', '10.234.0.1/24', 'dev', 'u0');
  B.ip('addr', 'add', '10.234.0.2/24', 'dev', 'u0');
  A.ip('link', 'set', 'u0', 'up');
  B.ip('link', 'set', 'u0', 'up');
  vxlan(A, 'vx1', 1, '10.234.0.1', '10.234.0.2', '10.235.0.1/24', '0e:77:00:00:00:01', '0e:77:00:00:00:02');
  vxlan(B, 'vx1', 1, '10.234.0.2', '10.234.0.1', '10.235.0.2/24', '0e:77:00:00:00:02', '0e:77:00:00:00:01');
  A.ip('neigh', 'add', '10.235.0.2', 'lladdr', '0e:77:00:00:00:02', 'dev', 'vx1', 'nud', 'permanent');
  B.ip('neigh', 'add', '10.235.0.1', 'lladdr', '0e:77:00:00:00:01', 'dev', 'vx1', 'nud', 'permanent');
  // Another VXLAN user on the same port, VNI 2.
  vxlan(A, 'vx2', 2, '10.234.0.1', '10.234.0.2', '10.236.0.1/24', '0e:77:00:00:01:01', '0e:77:00:00:01:02');
  vxlan(B, 'vx2', 2, '10.234.0.2', '10.234.0.1', '10.236.0.2/24', '0e:77:00:00:01:02', '0e:77:00:00:01:01');
  A.ip('neigh', 'add', '10.236.0.2', 'lladdr', '0e:77:00:00:01:02', 'dev', 'vx2', 'nud', 'permanent');
  B.ip('neigh', 'add', '10.236.0.1', 'lladdr', '0e:77:00:00:01:01', 'dev', 'vx2', 'nud', 'permanent');
  context = NftContext.open({ enter: (fn) => sockets.enter(B.fd, fn) });
});
after(() => {
  context?.close();
  sockets.closeAll();
  A?.remove();
  B?.remove();
});

function pingFromA(address: string): boolean {
  return spawnSync('ip', ['netns', 'exec', A.name, 'ping', '-c', '1', '-W', '1', address]).status === 0;
}

function dropped(): number {
  const out = JSON.parse(execFileSync('ip', ['netns', 'exec', B.name, 'nft', '-j', 'list', 'table', 'inet', 'podwire-vxlan-t1'], { encoding: 'utf8' })) as {
    nftables: Array<{ rule?: { expr: Array<{ counter?: { packets: number } }> } }>;
  };
  return out.nftables.flatMap((o) => o.rule?.expr ?? []).reduce((n, e) => n + (e.counter?.packets ?? 0), 0);
}

test('VXLAN on the overlay VNI passes only from known peers; another VNI on the same port is not touched', () => {
  const filter = new VxlanFilter({ context, ownerTag: 't1', vni: 1, port: 4789 });
  assert.equal(pingFromA('10.235.0.2'), true, 'no filter yet');
  assert.equal(filter.sync(['10.234.0.1', 'fd99:234::1']), true);
  assert.deepEqual(filter.programmed(), ['10.234.0.1', 'fd99:234::1']);
  assert.equal(pingFromA('10.235.0.2'), true, 'a known peer');
  assert.equal(dropped(), 0);
  assert.equal(filter.sync(['10.234.0.1', 'fd99:234::1']), false, 'nothing to change');
  filter.sync(['10.234.0.9']);
  assert.equal(pingFromA('10.235.0.2'), false, 'an unknown sender is dropped');
  assert.ok(dropped() >= 1);
  assert.equal(pingFromA('10.236.0.2'), true, 'VNI 2 on the same port passes');
  // Deleted behind its back: rebuilt by the next sync.
  execFileSync('ip', ['netns', 'exec', B.name, 'nft', 'delete', 'table', 'inet', 'podwire-vxlan-t1']);
  assert.equal(filter.sync(['10.234.0.9']), true);
  assert.equal(pingFromA('10.235.0.2'), false);
  filter.remove();
  assert.equal(pingFromA('10.235.0.2'), true, 'removed');
  filter.remove();
});
