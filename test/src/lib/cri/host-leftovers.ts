import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runCommand } from '../run-command';

/**
 * What a private containerd 1.6 leaves outside its own directories, and how to remove only
 * what this run made: shim sockets in /run/containerd/s (named by a hash of containerd's
 * address, namespace and sandbox id, wherever its root is), libcni's result cache in
 * /var/lib/cni (named by network), cgroups under the test's cgroup parent, and mounts or
 * processes left under the instance's directory.
 */

export const SHIM_SOCKET_DIR = '/run/containerd/s';
export const LIBCNI_CACHE_DIR = '/var/lib/cni';
const CGROUP_ROOT = '/sys/fs/cgroup';

/** The socket path a runc v2 shim of containerd 1.6 listens on (shim.SocketAddress). */
export function shimSocketPath(containerdAddress: string, namespace: string, id: string): string {
  const hash = createHash('sha256')
    .update(path.join(containerdAddress, namespace, id))
    .digest('hex');
  return path.join(SHIM_SOCKET_DIR, hash);
}

/** Directories that did not exist before a run: removed afterwards if empty. */
export function missingDirs(dirs: string[]): string[] {
  return dirs.filter((d) => !fs.existsSync(d));
}

export function rmdirIfEmpty(dirs: string[]): void {
  // deepest first
  for (const d of [...dirs].sort((a, b) => b.length - a.length)) {
    try {
      fs.rmdirSync(d);
    } catch {
      /* not empty (someone else's) or already gone */
    }
  }
}

/** Mount points at or below `dir` (deepest first), from /proc/self/mountinfo. */
export function mountsUnder(dir: string): string[] {
  const prefix = dir.endsWith('/') ? dir : `${dir}/`;
  const points = fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .map((p) => p.replace(/\\040/g, ' '))
    .filter((p) => p === dir || p.startsWith(prefix));
  return [...new Set(points)].sort((a, b) => b.length - a.length);
}

export async function unmountAll(dir: string): Promise<string[]> {
  const problems: string[] = [];
  for (let round = 0; round < 5; round++) {
    const points = mountsUnder(dir);
    if (points.length === 0) return problems;
    for (const p of points) {
      const r = await runCommand('umount', ['-l', p], { timeoutMs: 10_000 });
      if (r.code !== 0 && round === 4) problems.push(`umount ${p}: ${r.stderr.trim()}`);
    }
  }
  return problems;
}

/** Pids whose command line contains every one of `needles` (never this process). */
export function pidsWithArgs(needles: string[]): number[] {
  const pids: number[] = [];
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e) || Number(e) === process.pid) continue;
    let cmdline: string;
    try {
      cmdline = fs.readFileSync(`/proc/${e}/cmdline`, 'utf8');
    } catch {
      continue;
    }
    const args = cmdline.split('\0');
    if (needles.every((n) => args.includes(n))) pids.push(Number(e));
  }
  return pids;
}

/** Cgroup hierarchies of this host: every v1 controller mount and the v2 (unified) one. */
export function cgroupHierarchies(): string[] {
  const out: string[] = [];
  if (fs.existsSync(path.join(CGROUP_ROOT, 'cgroup.controllers'))) return [CGROUP_ROOT];
  for (const e of fs.readdirSync(CGROUP_ROOT)) {
    const p = path.join(CGROUP_ROOT, e);
    try {
      if (fs.lstatSync(p).isDirectory()) out.push(p);
    } catch {
      /* gone */
    }
  }
  return out;
}

/** Existing directories of cgroup `parent` (e.g. "/podwire-cri-123") across the hierarchies. */
export function cgroupDirs(parent: string): string[] {
  return cgroupHierarchies()
    .map((h) => path.join(h, parent))
    .filter((d) => fs.existsSync(d));
}

/** rmdir's every cgroup below and including `parent` (children first); returns what stayed. */
export function removeCgroup(parent: string): string[] {
  const stayed: string[] = [];
  const walk = (d: string): void => {
    let entries: fs.Dirent[] = [];
    try {
      entries = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) if (e.isDirectory()) walk(path.join(d, e.name));
    try {
      fs.rmdirSync(d);
    } catch (err) {
      stayed.push(`${d}: ${(err as Error).message}`);
    }
  };
  for (const d of cgroupDirs(parent)) walk(d);
  return stayed;
}

/** libcni's cached results and host-local's leases for `network` (the names libcni gives them). */
export function libcniCacheFiles(network: string): string[] {
  const files: string[] = [];
  const results = path.join(LIBCNI_CACHE_DIR, 'results');
  if (fs.existsSync(results)) {
    for (const f of fs.readdirSync(results)) if (f.startsWith(`${network}-`)) files.push(path.join(results, f));
  }
  const leases = path.join(LIBCNI_CACHE_DIR, 'networks', network);
  if (fs.existsSync(leases)) files.push(leases);
  return files;
}
