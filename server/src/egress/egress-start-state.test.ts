import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Attachment, Lease } from '@podwire/ipam-store';
import pino from 'pino';
import { egressStartState } from './egress-start-state';

const attachment = (containerId: string, result?: unknown): Attachment => ({
  network: 'net',
  containerId,
  ifname: 'eth0',
  netns: `/var/run/netns/${containerId}`,
  hostIfname: `pw${containerId}`,
  state: 'ready',
  createdAt: 1,
  ...(result === undefined ? {} : { result: typeof result === 'string' ? result : JSON.stringify(result) }),
});

const lease = (containerId: string, address: string, prefixLength: number): Lease => ({
  network: 'net',
  containerId,
  ifname: 'eth0',
  address,
  family: address.includes(':') ? 6 : 4,
  prefixLength,
  setIndex: 0,
});

test("the start state: every ready attachment's stored hostPorts, each lease's subnet once, the peers as given", () => {
  const lines: string[] = [];
  const log = pino({ level: 'warn' }, { write: (line: string) => lines.push(line) });
  const mapping = { hostPort: 8080, containerPort: 80, protocol: 'tcp', podIP: '10.88.0.7' };
  const state = egressStartState(
    {
      ready: [
        { attachment: attachment('a', { cniVersion: '1.0.0', portMappings: [mapping] }) },
        { attachment: attachment('b', { cniVersion: '1.0.0' }) },
        { attachment: attachment('c') },
        { attachment: attachment('d', '{not json') },
      ],
      leases: [lease('a', '10.88.0.7', 16), lease('b', '10.88.3.9', 16), lease('c', '10.99.1.1', 24), lease('a', 'fd99:88::7', 64)],
    },
    ['10.123.3.0/24'],
    log,
  );
  assert.deepEqual(state.portMappings, [{ ...mapping, holder: 'net/a/eth0' }]);
  assert.deepEqual(state.servedCidrs, ['10.88.0.0/16', '10.99.1.0/24', 'fd99:88::/64']);
  assert.deepEqual(state.peerCidrs, ['10.123.3.0/24']);
  assert.equal(lines.length, 1, 'the result that is not JSON is logged');
  assert.match(lines[0] ?? '', /not JSON/);
});
