import * as fs from 'node:fs';

/**
 * Lets hostPort mappings answer on 127.0.0.1: the node's connection from a loopback source is
 * DNATed to the pod in nat output, and the kernel routes a packet with a 127.0.0.0/8 source
 * out of a non-loopback interface (and takes the pod's replies, un-NATed back to 127.0.0.1,
 * in from it) only with route_localnet on that interface. Sets
 * net.ipv4.conf.<ifname>.route_localnet=1 on a pod's host interface, only that one (not
 * `all`, as kube-proxy does), through /proc in the calling thread's network namespace: a
 * file write, no process. The table's localnet-guard chain keeps the pod from using it to
 * reach the node's loopback services. The setting goes with the interface. Returns whether it
 * changed anything.
 */
export function enableRouteLocalnet(ifname: string, procSys = '/proc/sys'): boolean {
  if (!/^[^/\s]{1,15}$/.test(ifname) || ifname === '.' || ifname === '..')
    throw new RangeError(`route_localnet: ${JSON.stringify(ifname)} is no interface name`);
  const file = `${procSys}/net/ipv4/conf/${ifname}/route_localnet`;
  if (fs.readFileSync(file, 'utf8').trim() === '1') return false;
  fs.writeFileSync(file, '1\n');
  return true;
}
