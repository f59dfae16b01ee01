import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runCommand } from '../run-command';
import { CriClient } from './cri-client';
import { type ContainerdLayout, containerdConfigToml, containerdLayout } from './containerd-config';
import {
  LIBCNI_CACHE_DIR,
  cgroupDirs,
  mountsUnder,
  SHIM_SOCKET_DIR,
  libcniCacheFiles,
  missingDirs,
  pidsWithArgs,
  removeCgroup,
  rmdirIfEmpty,
  shimSocketPath,
  unmountAll,
} from './host-leftovers';

/** containerd could not start here: `message` is containerd's own error text. */
export class ContainerdUnavailable extends Error {}

export const CRI_NAMESPACE = 'k8s.io';
export const RUNC = '/usr/sbin/runc';

export interface ContainerdOptions {
  /** Image RunPodSandbox uses (imported from an archive with importImage()). */
  sandboxImage: string;
  /** CNI network names whose libcni cache entries cleanup() removes. */
  networks: string[];
  /** false: pod netns in /var/run/netns/cni-* as on a node (default true: under the state dir). */
  netnsUnderStateDir?: boolean;
}

/**
 * A private containerd 1.6 (CRI plugin included) in a temp directory, driven through CRI.
 * cleanup() stops and removes every pod sandbox, then removes what containerd made: runc
 * containers, shims, mounts, shim sockets, libcni cache entries, the cgroup parent, the dir.
 */
export class ContainerdProcess {
  readonly layout: ContainerdLayout;
  readonly logs: string[] = [];
  /** Cgroup parent of every sandbox of this instance (a cgroupfs path named for its dir). */
  readonly cgroupParent: string;
  private child: ChildProcess | undefined;
  private clientInstance: CriClient | undefined;
  private readonly createdHostDirs: string[];
  private readonly taskIds = new Set<string>();

  private constructor(
    readonly dir: string,
    readonly options: ContainerdOptions,
  ) {
    this.layout = containerdLayout(dir);
    this.cgroupParent = `/podwire-cri-${path.basename(dir)}`;
    this.createdHostDirs = missingDirs(['/run/containerd', SHIM_SOCKET_DIR, LIBCNI_CACHE_DIR, `${LIBCNI_CACHE_DIR}/results`, `${LIBCNI_CACHE_DIR}/networks`]);
    fs.mkdirSync(this.layout.cniBinDir, { recursive: true });
    fs.mkdirSync(this.layout.cniConfDir, { recursive: true });
    fs.writeFileSync(this.configFile, containerdConfigToml(this.layout, options.sandboxImage, RUNC, options.netnsUnderStateDir ?? true));
  }

  static create(prefix: string, options: ContainerdOptions): ContainerdProcess {
    // short: containerd's sockets live in it (sun_path is 108 bytes)
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-`));
    return new ContainerdProcess(dir, options);
  }

  get configFile(): string {
    return path.join(this.dir, 'config.toml');
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get client(): CriClient {
    this.clientInstance ??= new CriClient(this.layout.socket);
    return this.clientInstance;
  }

  /** Starts containerd; resolves once CRI answers Version. Throws ContainerdUnavailable with its own error. */
  async start(timeoutMs = 30_000): Promise<void> {
    if (this.child) throw new Error('containerd already started');
    const child = spawn('containerd', ['--config', this.configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    const collect = (d: Buffer) =>
      this.logs.push(
        ...d
          .toString('utf8')
          .split('\n')
          .filter((l) => l !== ''),
      );
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    let failure: string | undefined;
    child.once('error', (e) => {
      failure = `containerd: ${e.message}`;
    });
    child.once('exit', (code, signal) => {
      failure ??= `containerd exited (${code ?? signal}): ${this.ownError()}`;
    });
    const deadline = Date.now() + timeoutMs;
    let last = '';
    while (Date.now() < deadline) {
      if (failure !== undefined) {
        this.child = undefined;
        throw new ContainerdUnavailable(failure);
      }
      if (fs.existsSync(this.layout.socket)) {
        try {
          await this.client.version();
          return;
        } catch (e) {
          last = (e as Error).message;
          // containerd runs but its CRI plugin did not load (e.g. no usable snapshotter): it cannot serve CRI here
          if (/UNIMPLEMENTED|unknown service/.test(last)) {
            const why = this.logs.filter((l) => /failed to load plugin|io\.containerd\.grpc\.v1\.cri/.test(l) && /level=(warning|error|fatal)/.test(l));
            await this.kill();
            throw new ContainerdUnavailable(`containerd's CRI plugin is not serving: ${(why[why.length - 1] ?? last).trim()}`);
          }
        }
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    await this.kill();
    throw new Error(`containerd's CRI did not answer within ${timeoutMs} ms (${last}):\n${this.logs.slice(-30).join('\n')}`);
  }

  /** containerd's last fatal or error line, else its last line. */
  private ownError(): string {
    const bad = this.logs.filter((l) => /level=(fatal|error)/.test(l) || !l.startsWith('time='));
    return (bad[bad.length - 1] ?? this.logs[this.logs.length - 1] ?? '(no output)').trim();
  }

  private async signalAndWait(signal: NodeJS.Signals): Promise<void> {
    const child = this.child;
    this.clientInstance?.close();
    this.clientInstance = undefined;
    if (!child) return;
    this.child = undefined;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const done = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await done;
    clearTimeout(timer);
  }

  /** SIGKILL containerd alone (its shims and the sandboxes keep running). */
  kill(): Promise<void> {
    return this.signalAndWait('SIGKILL');
  }

  stop(): Promise<void> {
    return this.signalAndWait('SIGTERM');
  }

  /** `ctr images import` of an OCI archive into the CRI namespace (unpacked for overlayfs). */
  async importImage(archive: string): Promise<void> {
    const r = await runCommand('ctr', ['-a', this.layout.socket, '-n', CRI_NAMESPACE, 'images', 'import', archive], { timeoutMs: 120_000 });
    if (r.code !== 0) throw new Error(`ctr images import ${archive} exited ${r.code}: ${(r.stderr || r.stdout).trim()}`);
  }

  /** The network namespace path(s) of a sandbox's runtime spec (containerd's verbose status). */
  async sandboxNetns(id: string): Promise<string[]> {
    try {
      const info = JSON.parse((await this.client.podSandboxStatus(id, true)).info.info ?? '{}') as {
        runtimeSpec?: { linux?: { namespaces?: { type: string; path?: string }[] } };
      };
      return (info.runtimeSpec?.linux?.namespaces ?? []).filter((n) => n.type === 'network' && n.path).map((n) => n.path ?? '');
    } catch {
      return [];
    }
  }

  /** Every task (sandbox and container) id containerd's runc shims have state for. */
  private scanTaskIds(): void {
    const tasks = path.join(this.layout.state, 'io.containerd.runtime.v2.task', CRI_NAMESPACE);
    try {
      for (const id of fs.readdirSync(tasks)) this.taskIds.add(id);
    } catch {
      /* none */
    }
  }

  /** Pids of this instance's runc shims (their command line names its address). */
  shimPids(): number[] {
    return pidsWithArgs(['-address', this.layout.socket]);
  }

  /** Shim sockets of this instance's tasks that exist in /run/containerd/s. */
  shimSockets(): string[] {
    this.scanTaskIds();
    return [...this.taskIds].map((id) => shimSocketPath(this.layout.socket, CRI_NAMESPACE, id)).filter((p) => fs.existsSync(p));
  }

  /** Removes everything; returns what could not be removed (empty when clean). */
  async cleanup(): Promise<string[]> {
    const problems: string[] = [];
    this.scanTaskIds();
    const netnsPaths: string[] = [];
    if (this.child) {
      try {
        for (const s of await this.client.listPodSandbox()) {
          netnsPaths.push(...(await this.sandboxNetns(s.id)));
          await this.client.stopPodSandbox(s.id).catch((e: Error) => problems.push(e.message));
          await this.client.removePodSandbox(s.id).catch((e: Error) => problems.push(e.message));
        }
      } catch (e) {
        problems.push(`listing sandboxes: ${(e as Error).message}`);
      }
      this.scanTaskIds();
      await this.stop();
    }
    // Whatever CRI did not remove: runc containers of this instance, then its shims.
    const list = await runCommand(RUNC, ['--root', this.layout.runcRoot, 'list', '-q'], { timeoutMs: 10_000 });
    for (const id of list.code === 0 ? list.stdout.split('\n').filter((l) => l !== '') : []) {
      this.taskIds.add(id);
      await runCommand(RUNC, ['--root', this.layout.runcRoot, 'delete', '--force', id], { timeoutMs: 10_000 });
    }
    for (const pid of this.shimPids()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    for (const sock of [...this.taskIds].map((id) => shimSocketPath(this.layout.socket, CRI_NAMESPACE, id))) fs.rmSync(sock, { force: true });
    for (const f of this.options.networks.flatMap(libcniCacheFiles)) fs.rmSync(f, { recursive: true, force: true });
    // pod netns containerd pinned outside its dir (/var/run/netns/cni-*) and did not remove
    for (const ns of netnsPaths.filter((p) => !p.startsWith(`${this.dir}/`) && fs.existsSync(p))) {
      await runCommand('umount', [ns], { timeoutMs: 10_000 });
      fs.rmSync(ns, { force: true });
    }
    problems.push(...removeCgroup(this.cgroupParent));
    problems.push(...(await unmountAll(this.dir)));
    rmdirIfEmpty(this.createdHostDirs);
    try {
      fs.rmSync(this.dir, { recursive: true, force: true });
    } catch (e) {
      problems.push(`rm ${this.dir}: ${(e as Error).message}`);
    }
    problems.push(...this.leftovers());
    return problems;
  }

  /** What of this instance is still on the host (checked after cleanup; empty when clean). */
  leftovers(): string[] {
    const left: string[] = [];
    for (const pid of this.shimPids()) left.push(`shim process ${pid}`);
    for (const sock of [...this.taskIds].map((id) => shimSocketPath(this.layout.socket, CRI_NAMESPACE, id))) {
      if (fs.existsSync(sock)) left.push(`shim socket ${sock}`);
    }
    for (const d of cgroupDirs(this.cgroupParent)) left.push(`cgroup ${d}`);
    for (const m of mountsUnder(this.dir)) left.push(`mount ${m}`);
    for (const f of this.options.networks.flatMap(libcniCacheFiles)) left.push(`libcni cache ${f}`);
    if (fs.existsSync(this.dir)) left.push(`dir ${this.dir}`);
    return left;
  }
}
