import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CniError } from './cni-error';
import { describePortMapping, hostPortKey, parsePortMappings } from './port-mappings';

function refused(v: unknown, msg: RegExp): void {
  assert.throws(
    () => parsePortMappings(v),
    (err: unknown) => err instanceof CniError && err.code === 7 && msg.test(err.message),
  );
}

test('kubelet-shaped entries: protocol defaults to tcp and is case-insensitive; "" and unspecified host IPs mean every address', () => {
  assert.deepEqual(
    parsePortMappings([
      { hostPort: 8080, containerPort: 80 },
      { hostPort: 5353, containerPort: 53, protocol: 'UDP', hostIP: '' },
      { hostPort: 9000, containerPort: 9000, protocol: 'sctp', hostIP: '0.0.0.0' },
      { hostPort: 9001, containerPort: 90, protocol: 'tcp', hostIP: '10.1.2.3' },
      { hostPort: 9002, containerPort: 91, protocol: 'tcp', hostIP: 'FD00:0::7' },
      { hostPort: 9003, containerPort: 92, protocol: 'tcp', hostIP: '::' },
    ]),
    [
      { hostPort: 8080, containerPort: 80, protocol: 'tcp' },
      { hostPort: 5353, containerPort: 53, protocol: 'udp' },
      { hostPort: 9000, containerPort: 9000, protocol: 'sctp' },
      { hostPort: 9001, containerPort: 90, protocol: 'tcp', hostIP: '10.1.2.3' },
      { hostPort: 9002, containerPort: 91, protocol: 'tcp', hostIP: 'fd00::7' },
      { hostPort: 9003, containerPort: 92, protocol: 'tcp' },
    ],
  );
  assert.deepEqual(parsePortMappings(undefined), []);
  assert.deepEqual(parsePortMappings(null), []);
});

test('the same host port over tcp and udp is two mappings; an exact repeat is one', () => {
  const m = parsePortMappings([
    { hostPort: 53, containerPort: 53, protocol: 'tcp' },
    { hostPort: 53, containerPort: 53, protocol: 'udp' },
    { hostPort: 53, containerPort: 53, protocol: 'udp' },
  ]);
  assert.deepEqual(m.map(hostPortKey), ['tcp/*/53', 'udp/*/53']);
});

test('malformed entries are code 7 naming the field', () => {
  refused({ hostPort: 1 }, /must be a list/);
  refused([7], /entries must be objects/);
  refused([{ hostPort: 0, containerPort: 80 }], /hostPort must be a port number from 1 to 65535/);
  refused([{ hostPort: 80, containerPort: 65536 }], /containerPort must be a port number/);
  refused([{ hostPort: 80.5, containerPort: 80 }], /hostPort/);
  refused([{ hostPort: '80', containerPort: 80 }], /hostPort/);
  refused([{ hostPort: 80, containerPort: 80, protocol: 'icmp' }], /protocol must be "tcp", "udp" or "sctp"/);
  refused([{ hostPort: 80, containerPort: 80, hostIP: 'localhost' }], /hostIP must be an IP address/);
});

test('one host port to two container ports is refused, naming both', () => {
  refused(
    [
      { hostPort: 8080, containerPort: 80 },
      { hostPort: 8080, containerPort: 81 },
    ],
    /maps tcp 8080 -> 80 and tcp 8080 -> 81/,
  );
  // Different host addresses are different keys.
  assert.equal(
    parsePortMappings([
      { hostPort: 8080, containerPort: 80, hostIP: '10.0.0.1' },
      { hostPort: 8080, containerPort: 81, hostIP: '10.0.0.2' },
    ]).length,
    2,
  );
});

test('descriptions name the host address, bracketing IPv6', () => {
  assert.equal(describePortMapping({ hostPort: 53, containerPort: 5353, protocol: 'udp', hostIP: '10.0.0.1' }), 'udp 10.0.0.1:53 -> 5353');
  assert.equal(describePortMapping({ hostPort: 53, containerPort: 5353, protocol: 'udp', hostIP: 'fd00::1' }), 'udp [fd00::1]:53 -> 5353');
  assert.equal(describePortMapping({ hostPort: 80, containerPort: 8080, protocol: 'tcp' }), 'tcp 80 -> 8080');
});

test("containerd's go-cni keys (HostPort, ContainerPort, Protocol, HostIP: no JSON tags) read as Go's decoder reads them, case-insensitively", () => {
  assert.deepEqual(parsePortMappings([{ HostPort: 18380, ContainerPort: 8080, Protocol: 'tcp', HostIP: '127.0.0.1' }]), [
    { hostPort: 18380, containerPort: 8080, protocol: 'tcp', hostIP: '127.0.0.1' },
  ]);
  assert.deepEqual(parsePortMappings([{ hostport: 53, CONTAINERPORT: 5353, protocol: 'UDP', HostIP: '' }]), [
    { hostPort: 53, containerPort: 5353, protocol: 'udp' },
  ]);
  // The exact key wins over a differently cased one, as in Go.
  assert.deepEqual(parsePortMappings([{ hostPort: 80, HostPort: 81, containerPort: 80 }]), [{ hostPort: 80, containerPort: 80, protocol: 'tcp' }]);
});
