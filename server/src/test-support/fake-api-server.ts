/**
 * A local HTTP server answering like kube-apiserver for list and watch of a few collections
 * (hand-written in the API's wire shape, not captured from a cluster): a global
 * resourceVersion, lists carrying it, watches replaying every event after the requested
 * resourceVersion then streaming new ones, an ERROR event with a 410 Status for a
 * resourceVersion older than the compaction point, BOOKMARK events, watches ended by the
 * server (its timeout), injected failures, and GET of one namespaced object.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';

type Obj = { metadata: { name: string; namespace?: string; resourceVersion?: string; [k: string]: unknown }; [k: string]: unknown };

interface Collection {
  /** e.g. /api/v1/pods */
  path: string;
  listKind: string;
  apiVersion: string;
  /** Path of one object: /api/v1/namespaces/NS/pods/NAME */
  itemPath?: (ns: string, name: string) => string;
}

export class FakeApiServer {
  readonly requests: string[] = [];
  private rv = 100;
  private compactedBelow = 0;
  private readonly objects = new Map<string, Map<string, Obj>>();
  private readonly events: Array<{ rv: number; path: string; type: string; object: Obj }> = [];
  private readonly open = new Map<string, Set<http.ServerResponse>>();
  /** Collections whose next watch requests fail with HTTP 500 (count). */
  readonly failWatches = new Map<string, number>();
  /** Delay of GETs of single objects (ms). */
  getDelayMs = 0;
  private readonly server: http.Server;

  constructor(private readonly collections: Collection[]) {
    for (const c of collections) {
      this.objects.set(c.path, new Map());
      this.open.set(c.path, new Set());
    }
    this.server = http.createServer((req, res) => this.handle(req, res));
  }

  async listen(): Promise<number> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    return (this.server.address() as { port: number }).port;
  }

  /** A kubeconfig for this server (JSON is YAML). */
  async kubeconfig(dir: string): Promise<string> {
    const port = await this.listen();
    const file = path.join(dir, 'kubeconfig');
    fs.writeFileSync(
      file,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'local', cluster: { server: `http://127.0.0.1:${port}`, 'insecure-skip-tls-verify': true } }],
        users: [{ name: 'podwire', user: { token: 'test-token' } }],
        contexts: [{ name: 'local', context: { cluster: 'local', user: 'podwire' } }],
        'current-context': 'local',
      }),
    );
    return file;
  }

  close(): void {
    for (const s of this.open.values()) for (const r of s) r.end();
    this.server.closeAllConnections();
    this.server.close();
  }

  get resourceVersion(): number {
    return this.rv;
  }

  /** Adds or replaces an object (ADDED or MODIFIED event). */
  put(collection: string, obj: Obj): void {
    const key = `${obj.metadata.namespace ?? ''}/${obj.metadata.name}`;
    const map = this.objects.get(collection)!;
    const type = map.has(key) ? 'MODIFIED' : 'ADDED';
    const stored = { ...obj, metadata: { ...obj.metadata, resourceVersion: String(++this.rv) } };
    map.set(key, stored);
    this.emit(collection, type, stored);
  }

  /** Adds or replaces an object without any watcher seeing it (its event lost to compaction). */
  putUnseen(collection: string, obj: Obj): void {
    const key = `${obj.metadata.namespace ?? ''}/${obj.metadata.name}`;
    this.objects.get(collection)!.set(key, { ...obj, metadata: { ...obj.metadata, resourceVersion: String(++this.rv) } });
    this.compact();
  }

  remove(collection: string, namespace: string | undefined, name: string): void {
    const map = this.objects.get(collection)!;
    const key = `${namespace ?? ''}/${name}`;
    const old = map.get(key);
    if (!old) return;
    map.delete(key);
    this.emit(collection, 'DELETED', { ...old, metadata: { ...old.metadata, resourceVersion: String(++this.rv) } });
  }

  /** Forgets the event history: a watch from an older resourceVersion gets 410 Gone. */
  compact(): void {
    this.compactedBelow = this.rv;
    this.events.length = 0;
  }

  bookmark(collection: string): number {
    const rv = ++this.rv;
    for (const r of this.open.get(collection)!)
      r.write(`${JSON.stringify({ type: 'BOOKMARK', object: { kind: 'Bookmark', metadata: { resourceVersion: String(rv) } } })}\n`);
    return rv;
  }

  /** Ends the open watches of a collection, as the server's watch timeout does. */
  endWatches(collection: string): void {
    for (const r of this.open.get(collection)!) r.end();
    this.open.get(collection)!.clear();
  }

  openWatches(collection: string): number {
    return this.open.get(collection)!.size;
  }

  private emit(collection: string, type: string, object: Obj): void {
    this.events.push({ rv: this.rv, path: collection, type, object });
    for (const r of this.open.get(collection)!) r.write(`${JSON.stringify({ type, object })}\n`);
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://x');
    this.requests.push(`${req.method} ${url.pathname}?${url.searchParams.toString()}`);
    const c = this.collections.find((x) => x.path === url.pathname);
    if (!c) {
      const item = this.findItem(url.pathname);
      if (item === undefined) return void res.writeHead(404).end();
      setTimeout(() => {
        if (item === null)
          res
            .writeHead(404, { 'content-type': 'application/json' })
            .end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404 }));
        else res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(item));
      }, this.getDelayMs);
      return;
    }
    if (url.searchParams.get('watch') === 'true') {
      const fails = this.failWatches.get(c.path) ?? 0;
      if (fails > 0) {
        this.failWatches.set(c.path, fails - 1);
        return void res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ kind: 'Status', code: 500 }));
      }
      const from = Number(url.searchParams.get('resourceVersion') ?? '0');
      res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
      if (from < this.compactedBelow) {
        res.end(
          `${JSON.stringify({ type: 'ERROR', object: { kind: 'Status', apiVersion: 'v1', status: 'Failure', message: 'too old resource version', reason: 'Expired', code: 410 } })}\n`,
        );
        return;
      }
      for (const e of this.events) if (e.path === c.path && e.rv > from) res.write(`${JSON.stringify({ type: e.type, object: e.object })}\n`);
      this.open.get(c.path)!.add(res);
      res.on('close', () => this.open.get(c.path)!.delete(res));
      return;
    }
    const items = [...this.objects.get(c.path)!.values()];
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ kind: c.listKind, apiVersion: c.apiVersion, metadata: { resourceVersion: String(this.rv) }, items }));
  }

  /** The object at a single-object path; null when the collection exists but not the object. */
  private findItem(p: string): Obj | null | undefined {
    for (const c of this.collections) {
      if (!c.itemPath) continue;
      for (const o of this.objects.get(c.path)!.values()) if (c.itemPath(o.metadata.namespace ?? '', o.metadata.name) === p) return o;
      const m = /^\/api\/v1\/namespaces\/[^/]+\/pods\/[^/]+$/.exec(p);
      if (m && c.path === '/api/v1/pods') return null;
    }
    return undefined;
  }
}
