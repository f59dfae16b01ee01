import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { type IpRoute, TestNetnsSet, ipJson } from './netns';
import { PodwiredProcess } from './podwired-process';
import { mustRun } from './run-command';
import { type ShimCall, type ShimOutcome, runShim } from './shim';

/**
 * A Kubernetes-like node on one machine: a network namespace of its own (lo up) with a real
 * podwired inside it, configured with node pod CIDRs (server config `node.podCIDRs`), as on
 * every Kubernetes node. Host ends and host routes live in that netns, so nothing a test
 * does here touches the machine's own routes or another test's. Pods are network namespaces
 * of the same TestNetnsSet; cleanup() removes all of it even after a failure.
 */
export class PodCidrNode {
  private constructor(
    readonly root: string,
    readonly netns: TestNetnsSet,
    /** The node's netns name. */
    readonly nodeNs: string,
    readonly server: PodwiredProcess,
  ) {}

  static async start(prefix: string, podCIDRs: readonly string[]): Promise<PodCidrNode> {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), `podwire-${prefix}-`));
    const netns = new TestNetnsSet(`pwt-${prefix}-${process.pid}`);
    const nodeNs = `${netns.prefix}-node`;
    const server = PodwiredProcess.inTempDir(root, { netns: nodeNs, config: { node: { name: `${prefix}-node`, podCIDRs } } });
    const node = new PodCidrNode(root, netns, nodeNs, server);
    try {
      await netns.create('node');
      await mustRun('ip', ['-n', nodeNs, 'link', 'set', 'lo', 'up']);
      await server.start();
    } catch (err) {
      await node.cleanup();
      throw err;
    }
    return node;
  }

  /** A pod network namespace. */
  pod(name: string): Promise<{ name: string; path: string }> {
    return this.netns.create(name);
  }

  /** Runs the real shim against this node's podwired. */
  shim(call: ShimCall): Promise<ShimOutcome> {
    return runShim({ ...call, env: { PODWIRE_SOCKET: this.server.socket, ...call.env } });
  }

  /** The node's host routes to one address (its /32 or /128), as `ip -j route show` has them. */
  hostRoutes(address: string): Promise<IpRoute[]> {
    const family = address.includes(':') ? '-6' : '-4';
    return ipJson<IpRoute>([family, 'route', 'show', 'table', 'main', `${address}/${family === '-6' ? 128 : 32}`], this.nodeNs);
  }

  async cleanup(): Promise<void> {
    try {
      await this.server.stop();
    } finally {
      await this.netns.cleanup();
      fs.rmSync(this.root, { recursive: true, force: true });
    }
  }
}
