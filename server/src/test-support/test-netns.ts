/**
 * A network namespace a unit test makes for itself, so the host's links and routes are never
 * touched: named `pwt-<purpose>-<pid>`, `ip` run inside it, and removed with everything in
 * it (links, addresses, routes) by remove(), which the test's after() hook calls, failure or
 * not. Shared by the unit tests that talk to the real kernel.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';

export class TestNetns {
  readonly name: string;
  private openFd: number | undefined;
  private removed = false;

  /** Creates `pwt-<purpose>-<pid>` (`ip netns add`). */
  constructor(purpose: string) {
    this.name = `pwt-${purpose}-${process.pid}`;
    execFileSync('ip', ['netns', 'add', this.name]);
  }

  /** The path a CNI runtime would pass as CNI_NETNS. */
  get path(): string {
    return `/var/run/netns/${this.name}`;
  }

  /** An open fd on the namespace (for RtnlSockets.openIn), opened once; remove() closes it. */
  get fd(): number {
    this.openFd ??= fs.openSync(this.path, 'r');
    return this.openFd;
  }

  /** `ip -n <name> ARGS`; its output. Throws when ip fails. */
  ip(...args: string[]): string {
    return execFileSync('ip', ['-n', this.name, ...args], { encoding: 'utf8' });
  }

  /** `ip -n <name> -j ARGS`, parsed. */
  json<T>(...args: string[]): T {
    return JSON.parse(this.ip('-j', ...args)) as T;
  }

  /** Closes the fd and deletes the namespace (and everything in it). Idempotent. */
  remove(): void {
    if (this.removed) return;
    this.removed = true;
    if (this.openFd !== undefined) fs.closeSync(this.openFd);
    execFileSync('ip', ['netns', 'del', this.name]);
  }
}
