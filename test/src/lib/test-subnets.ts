/**
 * The pod subnets of every test file whose pods are wired in the HOST network namespace
 * (E2eHarness, the CRI and podman tests, the bench driver's test), one place to pick a new
 * one from. Test files run at the same time (node --test --test-concurrency), and podwired
 * refuses an ADD whose /32 (/128) host route another owner holds: two of these files must
 * never lease from overlapping ranges. test-subnets.test.ts checks that no two overlap and
 * that every file starting an E2eHarness is listed.
 *
 * Files whose podwired and pods live in network namespaces of their own (PodCidrNode, the
 * cross-node, VXLAN, egress and policy "nodes", the unit tests' TestNetns) are not listed:
 * their routes never meet the host's, so they may reuse any range (never 192.0.2.0/24 or
 * fd00::/64, the host's own).
 */
import * as ipaddr from 'ipaddr.js';
export const HOST_NETNS_SUBNETS: Readonly<Record<string, readonly string[]>> = {
  'test/src/bench/bench-driver.test.ts': ['10.250.0.0/16', '10.251.255.0/24', '10.252.255.0/24'],
  'test/src/e2e/add-check-del.test.ts': ['10.231.0.0/24'],
  'test/src/e2e/bad-input-fuzz.test.ts': ['10.239.0.0/24', 'fd99:239::/120'],
  'test/src/e2e/chaining.test.ts': ['10.253.0.0/24'],
  'test/src/e2e/concurrency-and-restart.test.ts': ['10.233.0.0/24'],
  'test/src/e2e/cri-image.test.ts': ['10.219.0.0/24'],
  'test/src/e2e/cri-native-hostport.test.ts': ['10.214.0.0/24'],
  'test/src/e2e/cri.test.ts': ['10.215.0.0/24'],
  'test/src/e2e/debug-tcp.test.ts': ['10.209.2.0/24'],
  'test/src/e2e/debug-unix.test.ts': ['10.226.0.0/16', 'fd99:226::/64'],
  'test/src/e2e/del-and-rollback.test.ts': ['10.232.0.0/24'],
  'test/src/e2e/dual-stack.test.ts': ['10.235.0.0/24', 'fd99:235::/120'],
  'test/src/e2e/durability.test.ts': ['10.242.0.0/24'],
  'test/src/e2e/kill-loop.test.ts': ['10.230.0.0/24'],
  'test/src/e2e/metrics.test.ts': ['10.228.1.0/29', '10.228.2.0/29', '10.228.3.0/29'],
  'test/src/e2e/multi-network.test.ts': ['10.214.1.0/24', '10.214.2.0/24', '10.214.3.0/24', '10.214.100.0/24', 'fd14:0:0:2::/64'],
  'test/src/e2e/netns-not-a-netns.test.ts': ['10.207.0.0/24'],
  'test/src/e2e/podman-multi-network.test.ts': ['10.214.10.0/24', '10.214.11.0/24'],
  'test/src/e2e/podman-native-hostport.test.ts': ['10.208.0.0/24'],
  'test/src/e2e/podman.test.ts': ['10.254.0.0/24'],
  'test/src/e2e/podwirectl.test.ts': ['10.227.0.0/16'],
  'test/src/e2e/restart-reconcile.test.ts': ['10.236.0.0/24', '10.236.1.0/30'],
  'test/src/e2e/restart-summary.test.ts': ['10.241.0.0/22'],
  'test/src/e2e/security.test.ts': ['10.237.0.0/24'],
  'test/src/e2e/server-unavailable.test.ts': ['10.234.0.0/24'],
  'test/src/e2e/soak.test.ts': ['10.229.0.0/24'],
  'test/src/e2e/versions.test.ts': ['10.238.0.0/24', 'fd99:238::/120'],
};

/** Two CIDRs of one family share an address: they agree on the shorter of their prefixes. */
export function cidrsOverlap(a: string, b: string): boolean {
  const [x, xLen] = ipaddr.parseCIDR(a);
  const [y, yLen] = ipaddr.parseCIDR(b);
  return x.kind() === y.kind() && x.match(y, Math.min(xLen, yLen));
}
