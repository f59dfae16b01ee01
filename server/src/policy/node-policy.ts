/**
 * podwired's NetworkPolicy enforcement (issue 22): a policy source, the compiler, and the
 * kernel through podwired's table (nft/nft-tables.ts runExtension). The order at start
 * (serve.ts): create(), start() with the pods the store says are wired here (the source's
 * first snapshot applied, every local pod registered, nothing sent yet), then the table's
 * whole write builds every policy object with the masquerade and hostPort ones, before the
 * first ADD is served. Then every ADD admits its pod's interface before it exists, every
 * DEL releases it; source changes, SIGHUP re-reads and `podwirectl policy why` come here.
 * A pod is registered with every podwire interface it has here (Multus: several attachments;
 * an older sandbox's not yet DELed too): DEL of one leaves the others policed.
 */
import type { Logger } from 'pino';
import { CniCode, CniError } from '../cni/cni-error';
import type { PolicyConfig } from '../config/policy-config';
import type { PodInterface, PodPolicyGate, PodRef } from '../handlers/pod-policy-gate';
import type { NftCommand } from '../nft/nft-json';
import type { TableExtension } from '../nft/table-extension';
import { tableNameOf } from '../nft/table-layout';
import { applyChange, applySnapshot } from './apply-snapshot';
import { PolicyCompiler } from './compile/policy-compiler';
import { FilePolicySource } from './file-policy-source';
import { KubernetesPolicySource } from './kubernetes-policy-source';
import type { PolicySource } from './policy-source';
import { policyTableExtension } from './policy-table';
import { PolicyWorld } from './policy-world';
import { type WhyAnswer, parseWhyArgs, why } from './why';

/** One attachment the store says is wired here (ready, with K8S_POD_NAMESPACE/K8S_POD_NAME). */
export interface StoredLocalPod extends PodInterface {
  pod: PodRef;
}

/** Runs one policy transaction in podwired's table (Egress.runPolicy over NftTables.runExtension). */
export type PolicyRunner = (operation: string, commands: NftCommand[]) => void;

export interface NodePolicyOptions {
  ownerTag: string;
  log: Logger;
  /** How long an ADD waits for the source's answer about a pod it has not seen (default 2000 ms). */
  fetchDeadlineMs?: number;
}

/** Counts for status, Debug and metrics. */
export interface NodePolicyStats {
  source: 'file' | 'kubernetes';
  policies: number;
  pods: number;
  /** Pods wired here the compiler holds (registered at start or by ADD). */
  localPods: number;
  transactions: number;
  failures: number;
  /** The last change's time to "in force" (ms): from its delivery (a source's event or snapshot, an ADD's admit) through the compile to the transaction's commit. */
  lastChangeMs: number;
}

const DEFAULT_FETCH_DEADLINE_MS = 2000;

const keyOf = (p: PodRef) => `${p.namespace}/${p.name}`;

export class NodePolicy implements PodPolicyGate {
  readonly compiler: PolicyCompiler;
  private runner: PolicyRunner | undefined;
  private transactions = 0;
  private failures = 0;
  private lastChangeMs = 0;
  /** Told of each transaction (metrics). */
  onTransaction: ((operation: string, ok: boolean, ms: number) => void) | undefined;

  constructor(
    readonly source: PolicySource,
    private readonly options: NodePolicyOptions,
  ) {
    this.compiler = new PolicyCompiler({ table: tableNameOf(options.ownerTag) });
  }

  /** The source `config` names (not 'none'). */
  static async create(config: Exclude<PolicyConfig, { source: 'none' }>, options: NodePolicyOptions): Promise<NodePolicy> {
    const source =
      config.source === 'file'
        ? new FilePolicySource({ file: config.file })
        : await KubernetesPolicySource.create(config.kubeconfig !== undefined ? { kubeconfig: config.kubeconfig } : {});
    return new NodePolicy(source, options);
  }

  /** The policy objects as part of podwired's table: give it to NftTables before its first write. */
  tableExtension(): TableExtension {
    return policyTableExtension(this.compiler);
  }

  /** Where transactions go. Before the table's first write they are no-ops (that write builds everything). */
  attach(runner: PolicyRunner): void {
    this.runner = runner;
  }

  /**
   * Starts the source (resolves after its first snapshot is in the compiler) and registers
   * the pods wired here, each with every interface of its newest sandbox. Returns the local
   * pods the source does not know (left unregistered, logged: their Pod objects are gone, or
   * the file does not list them).
   */
  async start(locals: readonly StoredLocalPod[]): Promise<string[]> {
    await this.source.start({
      onSnapshot: (s) => this.runQuietly('policy snapshot', () => applySnapshot(this.compiler, s)),
      onChange: (c) => this.runQuietly(`policy ${c.kind} ${c.op}`, () => applyChange(this.compiler, c)),
      onProblem: (message, err) => this.options.log.warn({ err: err instanceof Error ? err.message : err }, `policy: ${message}`),
    });
    const unknown: string[] = [];
    const byPod = new Map<string, StoredLocalPod[]>();
    for (const l of locals) {
      const key = keyOf(l.pod);
      // Every ready attachment of the pod, whatever its sandbox (as admit keeps them).
      byPod.set(key, [...(byPod.get(key) ?? []), l]);
    }
    for (const [key, ls] of byPod) {
      if (!this.compiler.world.pods.has(key)) {
        unknown.push(key);
        continue;
      }
      this.run(
        `policy start ${key}`,
        this.compiler.setLocal(
          key,
          ls.map((l) => ({ ifname: l.ifname, ips: l.ips })),
        ),
      );
    }
    if (unknown.length > 0)
      this.options.log.warn({ pods: unknown }, 'policy: pods wired here that the policy source does not know are not registered (no policy selects them)');
    return unknown;
  }

  async admit(pod: PodRef, local: PodInterface): Promise<void> {
    const key = keyOf(pod);
    const known = this.compiler.world.pods.has(key) || this.compiler.isLocal(key);
    if (!known) {
      const deadline = this.options.fetchDeadlineMs ?? DEFAULT_FETCH_DEADLINE_MS;
      let fetched: Awaited<ReturnType<PolicySource['fetchPod']>>;
      try {
        fetched = await this.source.fetchPod(pod.namespace, pod.name, deadline);
      } catch (err) {
        throw new CniError(
          CniCode.TryAgainLater,
          `the labels of pod ${key} are not known yet`,
          `NetworkPolicy needs them before the pod is wired, and the ${this.source.kind} policy source did not answer: ${err instanceof Error ? err.message : String(err)}`,
        );
      }
      if (!fetched)
        throw new CniError(
          CniCode.TryAgainLater,
          `pod ${key} is not known to the ${this.source.kind} policy source`,
          'NetworkPolicy needs its labels before it is wired; try again once the Pod object exists',
        );
      // Seen meanwhile (a watch event while the GET ran): the source's own copy wins.
      if (!this.compiler.world.pods.has(key)) this.runAsCni(`policy pod ${key}`, () => this.compiler.setPod(fetched));
    }
    // This interface joins (or replaces its own earlier registration among) the pod's others,
    // whatever their sandbox: each one leaves only by its own DEL, rollback or GC. An older
    // sandbox's interface kept meanwhile is over-policed at worst (its address stays leased
    // to it until its DEL); dropping it on a new sandbox's ADD could leave a live pod
    // unpoliced (an abandoned ADD of an older sandbox resuming after the new one's).
    const kept = this.compiler.localsOf(key).filter((e) => e.ifname !== local.ifname);
    this.runAsCni(`policy ADD ${key} ${local.ifname}`, () => this.compiler.setLocal(key, [...kept, { ifname: local.ifname, ips: [...local.ips] }]));
  }

  release(pod: PodRef, ifname: string): void {
    const key = keyOf(pod);
    const locals = this.compiler.localsOf(key);
    if (!locals.some((e) => e.ifname === ifname)) {
      // Not registered (any more): a DEL retried after the kernel refused its release took it
      // out of the model but maybe not out of the kernel's sets. The address must not be
      // freed while the kernel may still list it: a table left stale by a refusal is written
      // whole now, and a refusal again fails this DEL (103), keeping the lease.
      this.ensureWritten(`policy DEL ${key} ${ifname}`);
      return;
    }
    const rest = locals.filter((e) => e.ifname !== ifname);
    this.runAsCni(`policy DEL ${key} ${ifname}`, () => this.compiler.setLocal(key, rest));
  }

  missing(pod: PodRef, ifname: string): string[] {
    const key = keyOf(pod);
    const locals = this.compiler.localsOf(key);
    if (locals.length === 0) return [`pod ${key} is not registered with NetworkPolicy`];
    if (!locals.some((e) => e.ifname === ifname))
      return [`pod ${key} is registered with NetworkPolicy on ${locals.map((e) => e.ifname).join(', ')}, not ${ifname}`];
    return [];
  }

  /** SIGHUP: the file source re-read (its snapshot applied); the problem when it was refused. */
  reload(): string | undefined {
    if (this.source instanceof FilePolicySource) return this.source.reload();
    return undefined;
  }

  /**
   * `podwirectl policy why SRC DST PORT/PROTO`, from the model the kernel was programmed from
   * (pods wired here with the addresses podwire leased them). Throws RangeError on bad arguments.
   */
  why(args: readonly string[]): WhyAnswer {
    const q = parseWhyArgs(args);
    const w = this.compiler.world;
    const view = PolicyWorld.of({ namespaces: [...w.namespaces.values()], policies: [...w.policies.values()] });
    for (const [key, pod] of w.pods) {
      const locals = this.compiler.localsOf(key);
      view.pods.set(key, locals.length > 0 ? { ...pod, podIPs: locals.flatMap((e) => e.ips) } : pod);
    }
    return why(view, q);
  }

  stats(): NodePolicyStats {
    const w = this.compiler.world;
    return {
      source: this.source.kind,
      policies: w.policies.size,
      pods: w.pods.size,
      localPods: this.compiler.localCount,
      transactions: this.transactions,
      failures: this.failures,
      lastChangeMs: this.lastChangeMs,
    };
  }

  stop(): void {
    this.source.stop();
  }

  /**
   * Runs one transaction whose change reached podwired at `since` (performance.now()); the
   * time from then to the commit is the change's time to "in force". Throws what the runner
   * threw (the compiler already holds the new state: the next whole write catches up).
   */
  private run(operation: string, commands: NftCommand[], since = performance.now()): boolean {
    if (!this.runner || commands.length === 0) return false;
    try {
      this.runner(operation, commands);
      this.transactions++;
      this.lastChangeMs = performance.now() - since;
      this.onTransaction?.(operation, true, this.lastChangeMs);
      return true;
    } catch (err) {
      this.failures++;
      this.onTransaction?.(operation, false, performance.now() - since);
      throw err;
    }
  }

  private runQuietly(operation: string, compute: () => NftCommand[]): void {
    const since = performance.now();
    try {
      if (this.run(operation, compute(), since))
        this.options.log.debug({ operation, ms: Math.round(this.lastChangeMs * 100) / 100 }, 'policy: change in force');
    } catch (err) {
      this.options.log.error({ err: err instanceof Error ? err.message : String(err) }, `policy: ${operation} failed; the next resync rewrites the table`);
    }
  }

  /** An empty delta: a no-op when the kernel holds the model, a whole write when an earlier refusal left it stale. */
  private ensureWritten(operation: string): void {
    if (!this.runner) return;
    try {
      this.runner(operation, []);
    } catch (err) {
      throw new CniError(CniCode.DatapathFailure, `${operation}: the kernel refused the policy state`, err instanceof Error ? err.message : String(err));
    }
  }

  private runAsCni(operation: string, compute: () => NftCommand[]): void {
    const since = performance.now();
    let commands: NftCommand[];
    try {
      commands = compute();
    } catch (err) {
      throw new CniError(CniCode.Internal, `${operation}: the policy state could not be computed`, err instanceof Error ? err.message : String(err));
    }
    try {
      this.run(operation, commands, since);
    } catch (err) {
      throw new CniError(CniCode.DatapathFailure, `${operation}: the kernel refused the policy state`, err instanceof Error ? err.message : String(err));
    }
  }
}
