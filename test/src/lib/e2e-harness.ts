import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { TestNetnsSet } from './netns';
import { type PodwiredOptions, PodwiredProcess } from './podwired-process';
import { type ShimCall, type ShimOutcome, runShim } from './shim';

/**
 * One end-to-end fixture: a private temp dir, a real podwired on its own socket and state
 * dir, and the test's own network namespaces. cleanup() removes all of it even after a
 * failure: deleting a pod netns destroys its veth pair and with it the host end and routes.
 */
export class E2eHarness {
  readonly netns: TestNetnsSet;
  readonly server: PodwiredProcess;

  private constructor(
    readonly root: string,
    prefix: string,
    serverOptions: PodwiredOptions,
  ) {
    this.netns = new TestNetnsSet(prefix);
    this.server = PodwiredProcess.inTempDir(root, serverOptions);
  }

  static async start(prefix: string, opts: { startServer?: boolean; server?: PodwiredOptions } = {}): Promise<E2eHarness> {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), `podwire-${prefix}-`));
    const h = new E2eHarness(root, `pwt-${prefix}-${process.pid}`, opts.server ?? {});
    if (opts.startServer ?? true) await h.server.start();
    return h;
  }

  /** Runs the real shim against this harness's server. */
  shim(call: ShimCall): Promise<ShimOutcome> {
    return runShim({ ...call, env: { PODWIRE_SOCKET: this.server.socket, ...call.env } });
  }

  async cleanup(): Promise<void> {
    await this.netns.cleanup();
    await this.server.stop();
    this.server.deleteNftTables();
    fs.rmSync(this.root, { recursive: true, force: true });
  }
}
