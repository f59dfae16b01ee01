import * as fs from 'node:fs';
import * as path from 'node:path';
import { type CommandResult, runCommand } from './run-command';
import { REFERENCE_PLUGIN_DIR, podwirePluginDir } from './libcni';

/**
 * A private podman for end-to-end tests: podman 4 with its CNI network backend, runc, a
 * busybox-static rootfs (no image, no registry), and every piece of state in one temp
 * directory, so the host's containers.conf, storage, network configs and locks are never
 * read or touched:
 *
 * - CONTAINERS_CONF / CONTAINERS_STORAGE_CONF point at files written here;
 * - storage (vfs), run root, libpod tmp dir, file locks, events log and volumes live here;
 * - the CNI config dir holds only the test's conflist; the plugin dirs are a dir with a
 *   `podwire` symlink to the built shim, then the reference plugins.
 *
 * `checkPodmanPrerequisites()` and `PodmanEnv.prepare()` return a reason to skip instead of
 * throwing when podman cannot run here.
 */

export const BUSYBOX = '/bin/busybox';

async function which(cmd: string): Promise<string | undefined> {
  for (const dir of (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':')) {
    const p = path.join(dir, cmd);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      /* next */
    }
  }
  return undefined;
}

/** Why podman cannot be tested on this host, or undefined when the binaries are there. */
export async function checkPodmanPrerequisites(): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return 'the podman test runs rootful podman: run as root';
  const podman = await which('podman');
  if (!podman) return 'podman is not installed (scripts/install-runtime-deps.sh installs it)';
  const version = await runCommand(podman, ['--version'], { timeoutMs: 30_000 });
  const major = Number(/version (\d+)\./.exec(version.stdout)?.[1]);
  if (version.code !== 0) return `podman --version failed: ${(version.stderr || version.stdout).trim()}`;
  if (!(major >= 4) || major >= 5) return `podman ${version.stdout.trim()}: the test needs podman 4 (the last with the CNI network backend)`;
  if (!(await which('runc'))) return 'runc is not installed (crun fails on hosts with hybrid cgroups; install runc)';
  if (!(await which('iptables'))) return 'iptables is not installed (portmap needs it)';
  if (!fs.existsSync(BUSYBOX)) return `${BUSYBOX} is missing (install busybox-static)`;
  const fileCmd = await which('file');
  if (fileCmd) {
    const file = await runCommand(fileCmd, ['-L', BUSYBOX]);
    if (file.code === 0 && !/statically linked|static-pie/.test(file.stdout)) return `${BUSYBOX} is not static (install busybox-static)`;
  }
  if (!fs.existsSync(path.join(REFERENCE_PLUGIN_DIR, 'portmap'))) return `${REFERENCE_PLUGIN_DIR}/portmap is missing (install containernetworking-plugins)`;
  return undefined;
}

export interface PodmanEnvOptions {
  /** The temp directory everything goes under (removed by the caller's cleanup). */
  root: string;
  /** The built shim. */
  shimBinary: string;
  /** podwired's socket for this test. */
  socket: string;
  /** The conflist podman gets (its `name` is the network name). */
  conflist: { name: string; [key: string]: unknown };
  /** More networks (conflists) for containers attached to several networks. */
  extraConflists?: Array<{ name: string; [key: string]: unknown }>;
}

export class PodmanEnv {
  readonly rootfs: string;
  readonly storageRoot: string;
  readonly runRoot: string;
  readonly cniConfDir: string;
  readonly cniBinDir: string;
  readonly containersConf: string;
  readonly storageConf: string;
  readonly env: NodeJS.ProcessEnv;

  private constructor(
    readonly dir: string,
    readonly opts: PodmanEnvOptions,
  ) {
    this.rootfs = path.join(dir, 'rootfs');
    this.storageRoot = path.join(dir, 'storage');
    this.runRoot = path.join(dir, 'runroot');
    this.cniConfDir = path.join(dir, 'cni-conf');
    this.cniBinDir = podwirePluginDir(dir, opts.shimBinary);
    this.containersConf = path.join(dir, 'containers.conf');
    this.storageConf = path.join(dir, 'storage.conf');
    this.env = {
      ...process.env,
      CONTAINERS_CONF: this.containersConf,
      CONTAINERS_STORAGE_CONF: this.storageConf,
      PODWIRE_SOCKET: opts.socket,
    };
  }

  get network(): string {
    return this.opts.conflist.name;
  }

  /**
   * Writes the private configuration and rootfs, then tries `podman run` without a network.
   * Resolves with the environment, or with a skip reason carrying podman's error text.
   */
  static async prepare(opts: PodmanEnvOptions): Promise<{ env: PodmanEnv } | { skip: string; env: PodmanEnv }> {
    const dir = path.join(opts.root, 'podman');
    fs.mkdirSync(dir, { recursive: true });
    const e = new PodmanEnv(dir, opts);
    e.writeRootfs();
    e.writeConfig();
    const info = await e.podman(['info', '--format', '{{.Host.NetworkBackend}}']);
    if (info.code !== 0) return { env: e, skip: `podman info fails here: ${(info.stderr || info.stdout).trim()}` };
    if (info.stdout.trim() !== 'cni') return { env: e, skip: `podman's network backend is "${info.stdout.trim()}", not cni` };
    const trial = await e.podman(['run', '--rm', '--network', 'none', '--rootfs', e.rootfs, '/bin/sh', '-c', 'echo podman-works']);
    if (trial.code !== 0 || !trial.stdout.includes('podman-works')) {
      return { env: e, skip: `a trial 'podman run --network none' fails here (exit ${trial.code}): ${(trial.stderr || trial.stdout).trim()}` };
    }
    return { env: e };
  }

  /** Runs podman against the private root; never throws for a non-zero exit. */
  podman(args: string[], timeoutMs = 90_000): Promise<CommandResult> {
    return runCommand('podman', ['--root', this.storageRoot, '--runroot', this.runRoot, ...args], { env: this.env, timeoutMs });
  }

  /** Runs podman; throws with podman's output when it fails. */
  async mustPodman(args: string[], timeoutMs?: number): Promise<string> {
    const r = await this.podman(args, timeoutMs);
    if (r.code !== 0) throw new Error(`podman ${args.join(' ')} exited ${r.code}: ${(r.stderr || r.stdout).trim()}`);
    return r.stdout;
  }

  private writeRootfs(): void {
    for (const d of ['bin', 'proc', 'sys', 'dev', 'etc', 'tmp', 'run']) fs.mkdirSync(path.join(this.rootfs, d), { recursive: true });
    const bb = path.join(this.rootfs, 'bin', 'busybox');
    fs.copyFileSync(BUSYBOX, bb);
    fs.chmodSync(bb, 0o755);
    for (const applet of ['sh', 'nc', 'ping', 'sleep', 'echo', 'cat', 'ip', 'true', 'hostname', 'ls']) {
      fs.symlinkSync('busybox', path.join(this.rootfs, 'bin', applet));
    }
  }

  private writeConfig(): void {
    const d = this.dir;
    const q = (s: string) => JSON.stringify(s);
    fs.mkdirSync(this.cniConfDir, { recursive: true });
    for (const list of [this.opts.conflist, ...(this.opts.extraConflists ?? [])]) {
      fs.writeFileSync(path.join(this.cniConfDir, `${list.name}.conflist`), JSON.stringify(list, null, 2));
    }
    fs.writeFileSync(
      this.containersConf,
      [
        '[containers]',
        // the host's default ulimits (e.g. a nofile above this kernel's nr_open) break runc
        'default_ulimits = []',
        '',
        '[network]',
        'network_backend = "cni"',
        `cni_plugin_dirs = [${q(this.cniBinDir)}, ${q(REFERENCE_PLUGIN_DIR)}]`,
        `network_config_dir = ${q(this.cniConfDir)}`,
        '',
        '[engine]',
        'runtime = "runc"',
        'cgroup_manager = "cgroupfs"',
        'events_logger = "file"',
        `events_logfile_path = ${q(path.join(d, 'events.log'))}`,
        `tmp_dir = ${q(path.join(d, 'libpod-tmp'))}`,
        // file locks under tmp_dir instead of the host-wide /dev/shm/libpod_lock
        'lock_type = "file"',
        `volume_path = ${q(path.join(d, 'volumes'))}`,
        '',
      ].join('\n'),
    );
    fs.writeFileSync(this.storageConf, ['[storage]', 'driver = "vfs"', `graphroot = ${q(this.storageRoot)}`, `runroot = ${q(this.runRoot)}`, ''].join('\n'));
  }

  /** The container's address on the test network (or `network`), from `podman inspect`. */
  async ipOf(container: string, network = this.network): Promise<string> {
    const out = await this.mustPodman(['inspect', container, '--format', '{{json .NetworkSettings.Networks}}']);
    const nets = JSON.parse(out) as Record<string, { IPAddress?: string }>;
    const ip = nets[network]?.IPAddress;
    if (!ip) throw new Error(`container ${container} has no address on ${network}: ${out.trim()}`);
    return ip;
  }

  async idOf(container: string): Promise<string> {
    return (await this.mustPodman(['inspect', container, '--format', '{{.Id}}'])).trim();
  }

  /**
   * Removes every container and pod of this private root (nothing else is visible to it),
   * unmounts anything still mounted under the directory, and deletes it.
   */
  async cleanup(): Promise<string[]> {
    const problems: string[] = [];
    if (fs.existsSync(this.containersConf)) {
      const ids = await this.podman(['ps', '-a', '-q']);
      const list = ids.stdout.split('\n').filter((l) => l.trim() !== '');
      if (list.length > 0) {
        const rm = await this.podman(['rm', '-f', '-t', '0', ...list]);
        if (rm.code !== 0) problems.push(`podman rm: ${rm.stderr.trim()}`);
      }
      const pods = await this.podman(['pod', 'ps', '-q']);
      const podList = pods.stdout.split('\n').filter((l) => l.trim() !== '');
      if (podList.length > 0) {
        const rm = await this.podman(['pod', 'rm', '-f', '-t', '0', ...podList]);
        if (rm.code !== 0) problems.push(`podman pod rm: ${rm.stderr.trim()}`);
      }
    }
    const mounts = fs
      .readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .map((l) => l.split(' ')[4] ?? '')
      .filter((m) => m === this.dir || m.startsWith(`${this.dir}/`))
      .sort((a, b) => b.length - a.length);
    for (const m of mounts) {
      const r = await runCommand('umount', ['-l', m]);
      if (r.code !== 0) problems.push(`umount ${m}: ${r.stderr.trim()}`);
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
    return problems;
  }
}
