/**
 * server/src/test-support/fake-api-server.ts (list, watch and GET of Pods, Namespaces and
 * NetworkPolicies) as a process of its own, so that it can listen on 127.0.0.1 inside a test
 * netns beside a podwired: `ip netns exec NS node fake-api-process.js DIR` writes
 * DIR/kubeconfig, prints "ready", then applies one JSON command per stdin line and answers
 * one line ("ok", "ok JSON" or "error MESSAGE"):
 *   {"op": "put", "collection": "/api/v1/pods", "object": {...}}        ADDED/MODIFIED event
 *   {"op": "putUnseen", "collection": "/api/v1/pods", "object": {...}}  stored, no watcher told
 *   {"op": "remove", "collection": "/api/v1/pods", "namespace": "x", "name": "a"}
 *   {"op": "requests"}                                                  "ok [every request so far]"
 * (The bench's runner, test/src/bench/fake-api-runner.ts, has put and remove only.)
 */
import { type ChildProcess, spawn } from 'node:child_process';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { REPO_ROOT } from './paths';

interface FakeApi {
  readonly requests: string[];
  kubeconfig(dir: string): Promise<string>;
  put(collection: string, obj: unknown): void;
  putUnseen(collection: string, obj: unknown): void;
  remove(collection: string, namespace: string | undefined, name: string): void;
  close(): void;
}

export const API_COLLECTIONS = { pods: '/api/v1/pods', namespaces: '/api/v1/namespaces', policies: '/apis/networking.k8s.io/v1/networkpolicies' } as const;

export type FakeApiCommand =
  | { op: 'put' | 'putUnseen'; collection: string; object: unknown }
  | { op: 'remove'; collection: string; namespace?: string; name: string }
  | { op: 'requests' };

/** The runner started in netns `ns`, driven from the test process. */
export class FakeApiProcess {
  private readonly replies: Array<(line: string) => void> = [];
  private constructor(
    private readonly child: ChildProcess,
    readonly kubeconfig: string,
  ) {
    readline.createInterface({ input: child.stdout! }).on('line', (line) => this.replies.shift()?.(line));
  }

  static async start(ns: string, dir: string): Promise<FakeApiProcess> {
    const child = spawn('ip', ['netns', 'exec', ns, process.execPath, __filename, dir], { stdio: ['pipe', 'pipe', 'inherit'] });
    const p = new FakeApiProcess(child, path.join(dir, 'kubeconfig'));
    await new Promise<void>((resolve, reject) => {
      p.replies.push((line) => (line === 'ready' ? resolve() : reject(new Error(`fake API server: ${line}`))));
      child.once('exit', (code) => reject(new Error(`fake API server exited ${code}`)));
    });
    return p;
  }

  /** Applies one command; resolves (with the reply's JSON, if any) once the server has it. */
  send(cmd: FakeApiCommand): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.replies.push((line) => {
        if (line === 'ok') resolve(undefined);
        else if (line.startsWith('ok ')) resolve(JSON.parse(line.slice(3)));
        else reject(new Error(`fake API server: ${line}`));
      });
      this.child.stdin!.write(`${JSON.stringify(cmd)}\n`);
    });
  }

  async requests(): Promise<string[]> {
    return (await this.send({ op: 'requests' })) as string[];
  }

  /** The server gone at once (SIGKILL): connections to it are refused. */
  async kill(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.kill('SIGKILL');
    await exited;
  }
}

async function main(): Promise<void> {
  const { FakeApiServer } = require(path.join(REPO_ROOT, 'server/dist/test-support/fake-api-server.js')) as {
    FakeApiServer: new (collections: unknown[]) => FakeApi;
  };
  const api = new FakeApiServer([
    { path: API_COLLECTIONS.pods, listKind: 'PodList', apiVersion: 'v1', itemPath: (ns: string, name: string) => `/api/v1/namespaces/${ns}/pods/${name}` },
    { path: API_COLLECTIONS.namespaces, listKind: 'NamespaceList', apiVersion: 'v1' },
    { path: API_COLLECTIONS.policies, listKind: 'NetworkPolicyList', apiVersion: 'networking.k8s.io/v1' },
  ]);
  const dir = process.argv[2];
  if (!dir) throw new Error('usage: fake-api-process.js DIR');
  await api.kubeconfig(dir);
  process.stdout.write('ready\n');
  const rl = readline.createInterface({ input: process.stdin });
  rl.on('line', (line) => {
    try {
      const c = JSON.parse(line) as { op: string; collection: string; object?: unknown; namespace?: string; name?: string };
      if (c.op === 'put') api.put(c.collection, c.object);
      else if (c.op === 'putUnseen') api.putUnseen(c.collection, c.object);
      else if (c.op === 'remove') api.remove(c.collection, c.namespace, c.name ?? '');
      else if (c.op === 'requests') {
        process.stdout.write(`ok ${JSON.stringify(api.requests)}\n`);
        return;
      } else throw new Error(`unknown op ${c.op}`);
      process.stdout.write('ok\n');
    } catch (err) {
      process.stdout.write(`error ${err instanceof Error ? err.message : String(err)}\n`);
    }
  });
  rl.on('close', () => {
    api.close();
    process.exit(0);
  });
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
}
