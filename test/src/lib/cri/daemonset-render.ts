import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { REPO_ROOT } from '../paths';
import type { ContainerConfig, CriMount, NamespaceOption, PodSandboxConfig } from './cri-client';

/**
 * deploy/kubernetes's DaemonSet (and its ConfigMap) turned into the CRI calls kubelet would
 * make for it on one node, so the test runs the manifests' own settings: host network and
 * host PID (NamespaceMode NODE for the sandbox and every container), privileged, each
 * container's command/args (with $(VAR) expanded from its env as kubelet does), env,
 * volumeMounts (hostPath volumes mapped through `hostPaths`, the ConfigMap volume to a
 * directory of its data), mount propagation, each probe's exec command, and resources as
 * kubelet turns them into cgroup settings (memory limit; CPU shares from the request, CFS
 * quota from a CPU limit). Not rendered: oom_score_adj (containerd restricts it here), DNS
 * policy, ports, tolerations, priority, service account (kubelet and API server matters).
 */

type Obj = Record<string, any>;

export const K8S_DIR = path.join(REPO_ROOT, 'deploy', 'kubernetes');

export function loadManifests(): Obj[] {
  const out: Obj[] = [];
  for (const file of fs
    .readdirSync(K8S_DIR)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()) {
    for (const doc of parseAllDocuments(fs.readFileSync(path.join(K8S_DIR, file), 'utf8'))) {
      const obj = doc.toJS() as Obj | null;
      if (obj !== null) out.push(obj);
    }
  }
  return out;
}

export interface RenderOptions {
  nodeName: string;
  /** hostPath path → where it is on this test "node". Every hostPath volume must be mapped. */
  hostPaths: Record<string, string>;
  /** Where the ConfigMap volume's files are written (after `editConfig`). */
  configDir: string;
  /** Edits a ConfigMap data entry before it is written (e.g. the test's network name). */
  editConfig: (key: string, value: string) => string;
  cgroupParent: string;
  logDirectory: string;
  /** The image every container gets instead of the manifest's (undefined: the manifest's). */
  image?: string;
}

export interface RenderedContainer {
  name: string;
  config: ContainerConfig;
  /** exec probes by kind (startupProbe, readinessProbe, livenessProbe). */
  probes: Record<string, string[]>;
}

export interface RenderedPod {
  sandbox: PodSandboxConfig;
  initContainers: RenderedContainer[];
  containers: RenderedContainer[];
  configMapFiles: Record<string, string>;
}

function mode(host: boolean | undefined): NamespaceOption['network'] {
  return host ? 'NODE' : 'POD';
}

const PROPAGATION: Record<string, CriMount['propagation']> = {
  None: 'PROPAGATION_PRIVATE',
  HostToContainer: 'PROPAGATION_HOST_TO_CONTAINER',
  Bidirectional: 'PROPAGATION_BIDIRECTIONAL',
};

export function renderDaemonSet(o: RenderOptions): RenderedPod {
  const manifests = loadManifests();
  const ds = manifests.find((m) => m.kind === 'DaemonSet');
  if (!ds) throw new Error(`no DaemonSet in ${K8S_DIR}`);
  const spec = ds.spec.template.spec as Obj;
  const podMeta = ds.spec.template.metadata as Obj;
  const namespaces: NamespaceOption = { network: mode(spec.hostNetwork), pid: mode(spec.hostPID), ipc: mode(spec.hostIPC) };

  // volumes → host directories
  const configMapFiles: Record<string, string> = {};
  const volumeHost = new Map<string, string>();
  for (const v of spec.volumes as Obj[]) {
    if (v.hostPath) {
      const mapped = o.hostPaths[v.hostPath.path];
      if (!mapped) throw new Error(`hostPath ${v.hostPath.path} (volume ${v.name}) is not mapped by the test`);
      if (v.hostPath.type === 'DirectoryOrCreate') fs.mkdirSync(mapped, { recursive: true, mode: 0o755 });
      volumeHost.set(v.name, mapped);
    } else if (v.configMap) {
      const cm = manifests.find((m) => m.kind === 'ConfigMap' && m.metadata.name === v.configMap.name);
      if (!cm) throw new Error(`ConfigMap ${v.configMap.name} (volume ${v.name}) is not in ${K8S_DIR}`);
      fs.mkdirSync(o.configDir, { recursive: true });
      for (const [k, val] of Object.entries(cm.data as Record<string, string>)) {
        const edited = o.editConfig(k, val);
        configMapFiles[k] = edited;
        fs.writeFileSync(path.join(o.configDir, k), edited);
      }
      volumeHost.set(v.name, o.configDir);
    } else {
      throw new Error(`volume ${v.name}: only hostPath and configMap volumes are rendered`);
    }
  }

  const sandbox: PodSandboxConfig = {
    metadata: { name: `${ds.metadata.name}-${o.nodeName}`, uid: `${process.pid}-${ds.metadata.name}`, namespace: ds.metadata.namespace, attempt: 0 },
    // kubelet sets no hostname for a host-network pod (it has the node's UTS namespace)
    ...(spec.hostNetwork ? {} : { hostname: o.nodeName }),
    log_directory: o.logDirectory,
    labels: { ...(podMeta.labels ?? {}) },
    annotations: { ...(podMeta.annotations ?? {}) },
    linux: { cgroup_parent: o.cgroupParent, security_context: { namespace_options: namespaces, privileged: anyPrivileged(spec) } },
  };

  const render = (c: Obj): RenderedContainer => {
    const env = new Map<string, string>();
    for (const e of (c.env ?? []) as Obj[]) {
      if (typeof e.value === 'string') env.set(e.name, e.value);
      else if (e.valueFrom?.fieldRef?.fieldPath === 'spec.nodeName') env.set(e.name, o.nodeName);
      else throw new Error(`env ${e.name}: only value and fieldRef spec.nodeName are rendered`);
    }
    const expand = (s: string) => s.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, n: string) => env.get(n) ?? m);
    const mounts: CriMount[] = ((c.volumeMounts ?? []) as Obj[]).map((m) => {
      const host = volumeHost.get(m.name);
      if (!host) throw new Error(`volumeMount ${m.name} has no volume`);
      return {
        container_path: m.mountPath,
        host_path: host,
        readonly: m.readOnly === true,
        propagation: PROPAGATION[m.mountPropagation ?? 'None'] ?? 'PROPAGATION_PRIVATE',
      };
    });
    const probes: Record<string, string[]> = {};
    for (const kind of ['startupProbe', 'readinessProbe', 'livenessProbe']) {
      const cmd = c[kind]?.exec?.command as string[] | undefined;
      if (cmd) probes[kind] = cmd;
    }
    return {
      name: c.name,
      probes,
      config: {
        metadata: { name: c.name, attempt: 0 },
        image: { image: o.image ?? c.image },
        command: ((c.command ?? []) as string[]).map(expand),
        args: ((c.args ?? []) as string[]).map(expand),
        envs: [...env].map(([key, value]) => ({ key, value })),
        mounts,
        labels: { 'io.kubernetes.container.name': c.name },
        log_path: `${c.name}/0.log`,
        linux: {
          resources: linuxResources(c.resources as Obj | undefined),
          security_context: { privileged: c.securityContext?.privileged === true, namespace_options: namespaces },
        },
      },
    };
  };
  return {
    sandbox,
    initContainers: ((spec.initContainers ?? []) as Obj[]).map(render),
    containers: (spec.containers as Obj[]).map(render),
    configMapFiles,
  };
}

/** A Kubernetes quantity in bytes ("64Mi", "1G", "512") or millicores ("100m", "2"). */
export function parseQuantity(q: string | number, unit: 'bytes' | 'millicores'): number {
  const m = /^([0-9.]+)([a-zA-Z]*)$/.exec(String(q));
  if (!m) throw new Error(`quantity ${q} is not understood`);
  const n = Number(m[1]);
  const suffix = m[2] ?? '';
  if (unit === 'millicores') {
    if (suffix === 'm') return n;
    if (suffix === '') return n * 1000;
    throw new Error(`CPU quantity ${q} is not understood`);
  }
  const mult: Record<string, number> = { '': 1, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, k: 1e3, M: 1e6, G: 1e9 };
  const f = mult[suffix];
  if (f === undefined) throw new Error(`memory quantity ${q} is not understood`);
  return Math.round(n * f);
}

/** kubelet's cgroup settings for a container's resources (cgroupfs, CFS period 100 ms). */
export function linuxResources(res: Obj | undefined): { cpu_shares?: number; cpu_period?: number; cpu_quota?: number; memory_limit_in_bytes?: number } {
  const out: { cpu_shares?: number; cpu_period?: number; cpu_quota?: number; memory_limit_in_bytes?: number } = {};
  const cpuReq = res?.requests?.cpu ?? res?.limits?.cpu;
  if (cpuReq !== undefined) out.cpu_shares = Math.max(2, Math.floor((parseQuantity(cpuReq, 'millicores') * 1024) / 1000));
  if (res?.limits?.cpu !== undefined) {
    out.cpu_period = 100_000;
    out.cpu_quota = Math.max(1000, Math.floor((parseQuantity(res.limits.cpu, 'millicores') * 100_000) / 1000));
  }
  if (res?.limits?.memory !== undefined) out.memory_limit_in_bytes = parseQuantity(res.limits.memory, 'bytes');
  return out;
}

function anyPrivileged(spec: Obj): boolean {
  return [...((spec.initContainers ?? []) as Obj[]), ...(spec.containers as Obj[])].some((c) => c.securityContext?.privileged === true);
}
