/**
 * server/src/test-support/fake-api-server.ts as a process of its own, so that it can listen
 * inside a test netns (`ip netns exec NS node fake-api-runner.js DIR`): it writes DIR/kubeconfig,
 * prints "ready", then applies one JSON command per stdin line and answers "ok" (or "error
 * MESSAGE") per line:
 *   {"op": "put", "collection": "/api/v1/pods", "object": {...}}
 *   {"op": "remove", "collection": "/api/v1/pods", "namespace": "x", "name": "a"}
 */
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { REPO_ROOT } from '../lib/paths';

interface FakeApi {
  kubeconfig(dir: string): Promise<string>;
  put(collection: string, obj: unknown): void;
  remove(collection: string, namespace: string | undefined, name: string): void;
  close(): void;
}

export const FAKE_API_RUNNER = __filename;
export const POLICY_COLLECTIONS = { pods: '/api/v1/pods', namespaces: '/api/v1/namespaces', policies: '/apis/networking.k8s.io/v1/networkpolicies' } as const;

/** The runner started in netns `ns`, driven from this process. */
export class FakeApiProcess {
  private readonly replies: Array<(line: string) => void> = [];
  private constructor(
    private readonly child: ReturnType<typeof spawn>,
    readonly kubeconfig: string,
  ) {
    readline.createInterface({ input: child.stdout! }).on('line', (line) => this.replies.shift()?.(line));
  }

  static async start(ns: string, dir: string): Promise<FakeApiProcess> {
    const child = spawn('ip', ['netns', 'exec', ns, process.execPath, FAKE_API_RUNNER, dir], { stdio: ['pipe', 'pipe', 'inherit'] });
    const p = new FakeApiProcess(child, path.join(dir, 'kubeconfig'));
    await new Promise<void>((resolve, reject) => {
      p.replies.push((line) => (line === 'ready' ? resolve() : reject(new Error(`fake API server: ${line}`))));
      child.once('exit', (code) => reject(new Error(`fake API server exited ${code}`)));
    });
    return p;
  }

  /** Applies one command; resolves once the server has it (its watches are sent the event). */
  send(cmd: { op: 'put'; collection: string; object: unknown } | { op: 'remove'; collection: string; namespace?: string; name: string }): Promise<void> {
    return new Promise((resolve, reject) => {
      this.replies.push((line) => (line === 'ok' ? resolve() : reject(new Error(`fake API server: ${line}`))));
      this.child.stdin!.write(`${JSON.stringify(cmd)}\n`);
    });
  }

  close(): void {
    this.child.stdin!.end();
    this.child.kill();
  }
}

async function main(): Promise<void> {
  const { FakeApiServer } = require(path.join(REPO_ROOT, 'server/dist/test-support/fake-api-server.js')) as {
    FakeApiServer: new (collections: unknown[]) => FakeApi;
  };
  const api = new FakeApiServer([
    { path: POLICY_COLLECTIONS.pods, listKind: 'PodList', apiVersion: 'v1', itemPath: (ns: string, name: string) => `/api/v1/namespaces/${ns}/pods/${name}` },
    { path: POLICY_COLLECTIONS.namespaces, listKind: 'NamespaceList', apiVersion: 'v1' },
    { path: POLICY_COLLECTIONS.policies, listKind: 'NetworkPolicyList', apiVersion: 'networking.k8s.io/v1' },
  ]);
  const dir = process.argv[2];
  if (!dir) throw new Error('usage: fake-api-runner.js DIR');
  await api.kubeconfig(dir);
  process.stdout.write('ready\n');
  const rl = readline.createInterface({ input: process.stdin });
  rl.on('line', (line) => {
    try {
      const c = JSON.parse(line) as { op: string; collection: string; object?: unknown; namespace?: string; name?: string };
      if (c.op === 'put') api.put(c.collection, c.object);
      else if (c.op === 'remove') api.remove(c.collection, c.namespace, c.name ?? '');
      else throw new Error(`unknown op ${c.op}`);
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
