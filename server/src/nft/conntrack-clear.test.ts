/**
 * Conntrack clean-up through ctnetlink against the real kernel, in a network namespace of the
 * test's own: entries planted with the `conntrack` tool (test-only), deleted in-process, the
 * rest checked with `conntrack -L`.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { RtnlSockets } from '../rtnl/rtnl-sockets';
import { ConntrackCleaner, dumpRequest } from './conntrack-clear';

const NS = `pwt-nftct-${process.pid}`;
const sockets = new RtnlSockets();
let nsFd: number;
let cleaner: ConntrackCleaner;

const conntrack = (...args: string[]) =>
  execFileSync('ip', ['netns', 'exec', NS, 'conntrack', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
/** Plants an entry: client -> hostAddr:hostPort, answered by `pod`:53 (as after a DNAT). */
function plant(proto: 'udp' | 'tcp', client: string, hostAddr: string, hostPort: number, pod: string): void {
  conntrack(
    '-I',
    '-p',
    proto,
    '-s',
    client,
    '-d',
    hostAddr,
    '--sport',
    '1000',
    '--dport',
    String(hostPort),
    '-t',
    '100',
    '--reply-src',
    pod,
    '--reply-dst',
    client,
    '--reply-port-src',
    '53',
    '--reply-port-dst',
    '1000',
    ...(proto === 'tcp' ? ['--state', 'ESTABLISHED'] : []),
  );
}
const entries = () =>
  conntrack('-L')
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => l.replace(/^(\w+)\s.*?src=(\S+) dst=\S+ sport=\S+ dport=(\d+).*? src=(\S+) .*$/, '$1 $2->:$3 via $4'))
    .sort();

before(() => {
  execFileSync('ip', ['netns', 'add', NS]);
  nsFd = fs.openSync(`/var/run/netns/${NS}`, 'r');
  cleaner = new ConntrackCleaner((fn) => sockets.enter(nsFd, fn), `netns ${NS} conntrack`);
});
after(() => {
  cleaner.close();
  sockets.closeAll();
  fs.closeSync(nsFd);
  execFileSync('ip', ['netns', 'del', NS]);
});

test("the UDP entries toward a pod go; its TCP entries, other pods' and other families' stay", async () => {
  plant('udp', '10.1.1.1', '10.124.0.1', 8053, '10.123.1.5');
  plant('udp', '10.1.1.2', '10.124.0.1', 8053, '10.123.1.5');
  plant('tcp', '10.1.1.1', '10.124.0.1', 8053, '10.123.1.5');
  plant('udp', '10.1.1.1', '10.124.0.1', 8054, '10.123.1.6');
  plant('udp', 'fd7b::2', 'fd7b::1', 8053, 'fd7a:1::5');
  assert.equal(entries().length, 5);
  assert.equal(await cleaner.clearUdpToward('10.123.1.5'), 2);
  assert.deepEqual(entries(), ['tcp 10.1.1.1->:8053 via 10.123.1.5', 'udp 10.1.1.1->:8054 via 10.123.1.6', 'udp fd7b::2->:8053 via fd7a:1::5']);
  assert.equal(await cleaner.clearUdpToward('10.123.1.5'), 0, 'nothing left to delete');
  assert.equal(
    await cleaner.clearAfterUnmap([{ protocol: 'tcp', hostPort: 8053, podIP: '10.123.1.5', containerPort: 53 }]),
    0,
    'TCP mappings: nothing to clear',
  );
  assert.equal(await cleaner.clearAfterUnmap([{ protocol: 'udp', hostPort: 8053, podIP: 'fd7a:1::5', containerPort: 53 }]), 1);
  assert.equal(await cleaner.clear({ protocol: 'udp', family: 4, origDestinationPort: 8054 }), 1, 'by hostPort');
  assert.deepEqual(entries(), ['tcp 10.1.1.1->:8053 via 10.123.1.5']);
});

test('a selector without an address or a port is refused (no clearing a whole protocol)', () => {
  assert.throws(() => dumpRequest({ protocol: 'udp', family: 4 }), RangeError);
  assert.throws(() => dumpRequest({ protocol: 'udp', family: 6, replySource: '10.0.0.1' }), RangeError);
});
