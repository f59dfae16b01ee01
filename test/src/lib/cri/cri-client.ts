import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { REPO_ROOT } from '../paths';

/**
 * A CRI client for the tests: grpc-js over containerd's unix socket, speaking runtime.v1 as
 * kubelet does, from the subset in runtime-v1-subset.proto (real CRI field numbers). Objects
 * use the proto's snake_case names; enums are their names, int64s numbers.
 */

export const CRI_PROTO = path.join(REPO_ROOT, 'test', 'src', 'lib', 'cri', 'runtime-v1-subset.proto');

export interface PodSandboxMetadata {
  name: string;
  uid: string;
  namespace: string;
  attempt?: number;
}

export interface PortMapping {
  protocol?: 'TCP' | 'UDP' | 'SCTP';
  container_port: number;
  host_port: number;
  host_ip?: string;
}

export type NamespaceMode = 'POD' | 'CONTAINER' | 'NODE' | 'TARGET';

export interface NamespaceOption {
  network?: NamespaceMode;
  pid?: NamespaceMode;
  ipc?: NamespaceMode;
}

export interface PodSandboxConfig {
  metadata: PodSandboxMetadata;
  hostname?: string;
  log_directory?: string;
  dns_config?: { servers?: string[]; searches?: string[]; options?: string[] };
  port_mappings?: PortMapping[];
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  linux?: {
    cgroup_parent?: string;
    security_context?: { namespace_options?: NamespaceOption; privileged?: boolean };
    sysctls?: Record<string, string>;
  };
}

export interface CriMount {
  container_path: string;
  host_path: string;
  readonly?: boolean;
  propagation?: 'PROPAGATION_PRIVATE' | 'PROPAGATION_HOST_TO_CONTAINER' | 'PROPAGATION_BIDIRECTIONAL';
}

export interface ContainerConfig {
  metadata: { name: string; attempt?: number };
  image: { image: string };
  command?: string[];
  args?: string[];
  working_dir?: string;
  envs?: { key: string; value: string }[];
  mounts?: CriMount[];
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  log_path?: string;
  linux?: {
    resources?: { cpu_period?: number; cpu_quota?: number; cpu_shares?: number; memory_limit_in_bytes?: number };
    security_context?: {
      privileged?: boolean;
      namespace_options?: NamespaceOption;
      capabilities?: { add_capabilities?: string[]; drop_capabilities?: string[] };
    };
  };
}

export interface PodSandboxStatus {
  id: string;
  state: 'SANDBOX_READY' | 'SANDBOX_NOTREADY';
  network: { ip: string; additional_ips: { ip: string }[] } | null;
}

export interface PodSandboxStatusResponse {
  status: PodSandboxStatus;
  /** verbose: `info` holds one JSON document (containerd: pid, netNamespacePath, ...). */
  info: Record<string, string>;
}

export type ContainerState = 'CONTAINER_CREATED' | 'CONTAINER_RUNNING' | 'CONTAINER_EXITED' | 'CONTAINER_UNKNOWN';

export interface ContainerStatus {
  id: string;
  state: ContainerState;
  exit_code: number;
  reason: string;
  message: string;
  log_path: string;
}

export interface ExecSyncResponse {
  stdout: Buffer;
  stderr: Buffer;
  exit_code: number;
}

const LOADER_OPTIONS: protoLoader.Options = { keepCase: true, longs: Number, enums: String, defaults: true, arrays: true, objects: false };

type Unary = (req: unknown, meta: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res: unknown) => void) => void;

export class CriClient {
  private readonly runtime: grpc.Client;
  private readonly image: grpc.Client;

  constructor(readonly socket: string) {
    const def = protoLoader.loadSync(CRI_PROTO, LOADER_OPTIONS);
    const pkg = grpc.loadPackageDefinition(def) as unknown as {
      runtime: { v1: { RuntimeService: grpc.ServiceClientConstructor; ImageService: grpc.ServiceClientConstructor } };
    };
    const target = `unix://${socket}`;
    const creds = grpc.credentials.createInsecure();
    this.runtime = new pkg.runtime.v1.RuntimeService(target, creds);
    this.image = new pkg.runtime.v1.ImageService(target, creds);
  }

  private call<T>(client: grpc.Client, method: string, req: unknown, timeoutMs: number): Promise<T> {
    const fn = (client as unknown as Record<string, Unary>)[method];
    if (!fn) throw new Error(`CRI method ${method} is not in ${CRI_PROTO}`);
    return new Promise<T>((resolve, reject) => {
      fn.call(client, req, new grpc.Metadata(), { deadline: Date.now() + timeoutMs }, (err, res) => {
        if (err) reject(new Error(`CRI ${method}: ${err.details || err.message}`, { cause: err }));
        else resolve(res as T);
      });
    });
  }

  version(): Promise<{ version: string; runtime_name: string; runtime_version: string; runtime_api_version: string }> {
    return this.call(this.runtime, 'Version', { version: 'v1' }, 10_000);
  }

  /** The runtime's conditions (RuntimeReady, NetworkReady) with their reasons. */
  async status(): Promise<{ type: string; status: boolean; reason: string; message: string }[]> {
    const r = await this.call<{ status: { conditions: { type: string; status: boolean; reason: string; message: string }[] } }>(
      this.runtime,
      'Status',
      { verbose: false },
      10_000,
    );
    return r.status.conditions;
  }

  async runPodSandbox(config: PodSandboxConfig, timeoutMs = 60_000): Promise<string> {
    const r = await this.call<{ pod_sandbox_id: string }>(this.runtime, 'RunPodSandbox', { config, runtime_handler: '' }, timeoutMs);
    return r.pod_sandbox_id;
  }

  async stopPodSandbox(id: string, timeoutMs = 60_000): Promise<void> {
    await this.call(this.runtime, 'StopPodSandbox', { pod_sandbox_id: id }, timeoutMs);
  }

  async removePodSandbox(id: string, timeoutMs = 60_000): Promise<void> {
    await this.call(this.runtime, 'RemovePodSandbox', { pod_sandbox_id: id }, timeoutMs);
  }

  podSandboxStatus(id: string, verbose = true): Promise<PodSandboxStatusResponse> {
    return this.call(this.runtime, 'PodSandboxStatus', { pod_sandbox_id: id, verbose }, 10_000);
  }

  async listPodSandbox(): Promise<{ id: string; state: string; metadata: PodSandboxMetadata; labels: Record<string, string> }[]> {
    const r = await this.call<{ items: { id: string; state: string; metadata: PodSandboxMetadata; labels: Record<string, string> }[] }>(
      this.runtime,
      'ListPodSandbox',
      {},
      10_000,
    );
    return r.items;
  }

  async createContainer(podSandboxId: string, config: ContainerConfig, sandboxConfig: PodSandboxConfig): Promise<string> {
    const r = await this.call<{ container_id: string }>(
      this.runtime,
      'CreateContainer',
      { pod_sandbox_id: podSandboxId, config, sandbox_config: sandboxConfig },
      60_000,
    );
    return r.container_id;
  }

  async startContainer(id: string): Promise<void> {
    await this.call(this.runtime, 'StartContainer', { container_id: id }, 60_000);
  }

  async stopContainer(id: string, timeoutS = 10): Promise<void> {
    await this.call(this.runtime, 'StopContainer', { container_id: id, timeout: timeoutS }, (timeoutS + 30) * 1000);
  }

  async removeContainer(id: string): Promise<void> {
    await this.call(this.runtime, 'RemoveContainer', { container_id: id }, 60_000);
  }

  async containerStatus(id: string): Promise<ContainerStatus> {
    const r = await this.call<{ status: ContainerStatus }>(this.runtime, 'ContainerStatus', { container_id: id, verbose: false }, 10_000);
    return r.status;
  }

  execSync(id: string, cmd: string[], timeoutS = 10): Promise<ExecSyncResponse> {
    return this.call(this.runtime, 'ExecSync', { container_id: id, cmd, timeout: timeoutS }, (timeoutS + 10) * 1000);
  }

  /** The image's id, or undefined when the runtime does not have it. */
  async imageId(image: string): Promise<string | undefined> {
    const r = await this.call<{ image: { id: string } | null }>(this.image, 'ImageStatus', { image: { image }, verbose: false }, 10_000);
    return r.image?.id || undefined;
  }

  close(): void {
    this.runtime.close();
    this.image.close();
  }
}
