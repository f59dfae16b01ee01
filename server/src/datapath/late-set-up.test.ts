/**
 * Undoing a setUp that finished after its deadline, against the real kernel: a "host" and a
 * "pod" network namespace of the test's own (the datapath's host sockets inside the former).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { InThreadLinkDeleter } from '../rtnl/link-deleter';
import { RtnlSockets } from '../rtnl/rtnl-sockets';
import type { RtnlSocket } from '../rtnl/rtnl-socket';
import { BatchingHostProgrammer } from './batching-host-programmer';
import type { PodNetworkSpec } from './datapath';
import { rtnlRouteSender } from './host-programmer';
import { undoLateSetUp } from './late-set-up';
import { NetnsOpener } from './netns';
import { RoutedVethDatapath } from './routed-veth';

const HOST = `pwt-lsh-${process.pid}`;
const POD = `pwt-lsp-${process.pid}`;
const sockets = new RtnlSockets();
let hostFd: number;
let host: RtnlSocket;
let datapath: RoutedVethDatapath;
let programmer: BatchingHostProgrammer;
const hostLinks = (): string[] =>
  (JSON.parse(execFileSync('ip', ['-n', HOST, '-j', 'link', 'show'], { encoding: 'utf8' })) as Array<{ ifname: string }>).map((l) => l.ifname);

before(() => {
  execFileSync('ip', ['netns', 'add', HOST]);
  execFileSync('ip', ['netns', 'add', POD]);
  hostFd = fs.openSync(`/var/run/netns/${HOST}`, 'r');
  host = sockets.openIn(hostFd, 'test host requests');
  const dumps = sockets.openIn(hostFd, 'test host dumps');
  programmer = new BatchingHostProgrammer(rtnlRouteSender(host), new InThreadLinkDeleter(host));
  datapath = new RoutedVethDatapath({ host, dumps }, programmer, new NetnsOpener(sockets), 'testowner');
});
after(async () => {
  await datapath.close();
  sockets.closeAll();
  fs.closeSync(hostFd);
  execFileSync('ip', ['netns', 'del', POD]);
  execFileSync('ip', ['netns', 'del', HOST]);
});

const spec: PodNetworkSpec = {
  netnsPath: `/var/run/netns/${POD}`,
  podIfname: 'eth0',
  hostIfname: 'pwlate0',
  mtu: 1500,
  addresses: [{ address: '10.72.0.5', family: 4 }],
};

test('a late setUp is undone: its pair is deleted', async () => {
  const wired = await datapath.setUp(spec);
  assert.ok(hostLinks().includes(spec.hostIfname));
  await undoLateSetUp(host, programmer, spec, wired);
  assert.ok(!hostLinks().includes(spec.hostIfname), 'the host end is gone');
});

test('a pair of the same name made since (a DEL, then another ADD) is left alone', async () => {
  const late = await datapath.setUp(spec);
  await datapath.tearDown(spec.hostIfname);
  const again = await datapath.setUp(spec);
  assert.notEqual(again.interfaces[0]?.mac, late.interfaces[0]?.mac);
  await undoLateSetUp(host, programmer, spec, late);
  assert.ok(hostLinks().includes(spec.hostIfname), "the later ADD's host end stays");
  await datapath.tearDown(spec.hostIfname);
});
