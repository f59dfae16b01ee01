import * as fs from 'node:fs';
import * as path from 'node:path';
import { REPO_ROOT, SHIM_BINARY } from '../paths';
import { runCommand } from '../run-command';
import type { ContainerdProcess } from './containerd-process';
import type { PodSandboxConfig } from './cri-client';

/**
 * A "Kubernetes node" for the CRI tests and bench: a private containerd whose CNI bin and
 * conf dirs are filled the way a node's are (deploy/install.sh puts the shim and a conflist
 * there; loopback, which containerd runs itself, and the chained reference plugins come
 * from Debian's containernetworking-plugins), with the pause image built from
 * test/cri-image/pause.c and imported offline.
 */

export const PAUSE_IMAGE = 'localhost/podwire/pause:test';
/** Debian's containernetworking-plugins. */
export const REFERENCE_PLUGIN_DIR = '/usr/lib/cni';
export const INSTALL_SH = path.join(REPO_ROOT, 'deploy', 'install.sh');
const BUILD_PAUSE = path.join(REPO_ROOT, 'scripts', 'build-pause-image.sh');

/** Builds the pause OCI archive into `dir` (a static binary and a one-layer image). */
export async function buildPauseImage(dir: string): Promise<string> {
  const out = path.join(dir, 'pause.oci.tar');
  const r = await runCommand('bash', [BUILD_PAUSE, out, PAUSE_IMAGE], { timeoutMs: 120_000 });
  if (r.code !== 0) throw new Error(`build-pause-image.sh exited ${r.code}: ${r.stderr.trim()}`);
  return out;
}

/** Links the reference plugins containerd and the conflist need (from /usr/lib/cni) into the CNI bin dir. */
export function linkReferencePlugins(c: ContainerdProcess, names: string[]): void {
  for (const n of names) {
    const src = path.join(REFERENCE_PLUGIN_DIR, n);
    if (!fs.existsSync(src)) throw new Error(`${src} is missing (install containernetworking-plugins)`);
    fs.symlinkSync(src, path.join(c.layout.cniBinDir, n));
  }
}

/** deploy/install.sh into the node's CNI dirs: the built shim as `podwire` and `conflist`. */
export async function installPodwire(c: ContainerdProcess, conflist: object, name = '10-podwire.conflist'): Promise<void> {
  const file = path.join(c.dir, name);
  fs.writeFileSync(file, JSON.stringify(conflist, null, 2));
  const r = await runCommand(
    'bash',
    [INSTALL_SH, '--shim', SHIM_BINARY, '--conflist', file, '--cni-bin-dir', c.layout.cniBinDir, '--cni-conf-dir', c.layout.cniConfDir],
    { timeoutMs: 30_000 },
  );
  if (r.code !== 0) throw new Error(`deploy/install.sh exited ${r.code}: ${r.stderr.trim()}`);
}

/** Waits until CRI reports NetworkReady (it has loaded a conflist from its conf dir). */
export async function networkReady(c: ContainerdProcess, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    const conds = await c.client.status();
    const net = conds.find((x) => x.type === 'NetworkReady');
    if (net?.status) return;
    last = `${net?.reason ?? ''}: ${net?.message ?? ''}`;
    if (Date.now() > deadline) throw new Error(`containerd's NetworkReady stayed false: ${last}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A pod sandbox config as kubelet sends one, under the run's cgroup parent. */
export function sandboxConfig(c: ContainerdProcess, name: string, extra: Partial<PodSandboxConfig> = {}): PodSandboxConfig {
  const uid = `${process.pid}-${name}`;
  const logDir = path.join(c.dir, 'pods', name);
  fs.mkdirSync(logDir, { recursive: true });
  return {
    metadata: { name, uid, namespace: 'podwire-test', attempt: 0 },
    hostname: name,
    log_directory: logDir,
    labels: { 'podwire.test/run': String(process.pid) },
    linux: { cgroup_parent: c.cgroupParent },
    ...extra,
  };
}
