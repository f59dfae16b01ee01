import { mustRun, runCommand } from './run-command';

/** Test network namespaces: named with a per-run prefix so cleanup can find every one. */
export class TestNetnsSet {
  private readonly created = new Set<string>();

  constructor(readonly prefix: string) {}

  async create(suffix: string): Promise<{ name: string; path: string }> {
    const name = `${this.prefix}-${suffix}`;
    await mustRun('ip', ['netns', 'add', name]);
    this.created.add(name);
    return { name, path: `/var/run/netns/${name}` };
  }

  async remove(name: string): Promise<void> {
    await runCommand('ip', ['netns', 'del', name]);
    this.created.delete(name);
  }

  /** Deletes every netns this set created (and any other with its prefix). */
  async cleanup(): Promise<void> {
    const listed = (await runCommand('ip', ['netns', 'list'])).stdout
      .split('\n')
      .map((l) => l.split(' ')[0] ?? '')
      .filter((n) => n.startsWith(`${this.prefix}-`));
    for (const name of new Set([...this.created, ...listed])) await this.remove(name);
  }
}

/** Runs `ip -j ARGS` (inside netns `ns` when given) and parses the JSON. */
export async function ipJson<T = Record<string, unknown>>(args: string[], ns?: string): Promise<T[]> {
  const full = ns ? ['-n', ns, '-j', ...args] : ['-j', ...args];
  const out = await mustRun('ip', full);
  return out.trim() === '' ? [] : (JSON.parse(out) as T[]);
}

export interface IpLink {
  ifname: string;
  ifindex: number;
  address?: string;
  mtu?: number;
  flags?: string[];
  operstate?: string;
}

export interface IpRoute {
  dst: string;
  gateway?: string;
  dev?: string;
  protocol?: string;
  scope?: string;
  flags?: string[];
}

export interface IpAddrInfo {
  ifname: string;
  addr_info: Array<{ family: string; local: string; prefixlen: number }>;
}

/** Host links whose name starts with `prefix` (podwire's host veths start with "pw"). */
export async function hostLinks(prefix = 'pw'): Promise<IpLink[]> {
  return (await ipJson<IpLink>(['link', 'show'])).filter((l) => l.ifname.startsWith(prefix));
}

/**
 * The veths in netns `ns` once podwired has destroyed the pairs DEL detached (it does so in
 * the background, within a second when the machine is idle; other test files may run at the
 * same time): polls until `want` veths are left or `timeoutMs` passes,
 * and returns what is there then (the caller asserts on it).
 */
export async function settledVeths(ns: string, want = 0, timeoutMs = 10_000): Promise<IpLink[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const links = await ipJson<IpLink>(['link', 'show', 'type', 'veth'], ns);
    if (links.length === want || Date.now() >= deadline) return links;
    await new Promise((r) => setTimeout(r, 20));
  }
}
