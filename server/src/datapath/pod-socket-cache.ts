import * as fs from 'node:fs';
import type { RtnlSocket } from '../rtnl/rtnl-socket';
import { KeyedMutex } from '../keyed-mutex';
import { NetnsOpener, PodNetns } from './netns';

/** An open pod netns and a netlink socket living inside it. */
export interface PodHandle {
  readonly ns: PodNetns;
  readonly sock: RtnlSocket;
}

interface Entry extends PodHandle {
  /** Device of the namespace file (nsfs): with the inode, what a path must stat to. */
  readonly dev: number;
  /** Host ends of the attachments wired in this netns: DEL of the last one closes the entry. */
  readonly owners: Set<string>;
  /** Logical time of the last use (a counter: Date.now() ties within a millisecond). */
  lastUsed: number;
  users: number;
  /** Close once the current user is done (DEL arrived while the entry was in use). */
  closeWhenIdle: boolean;
}

/** ~13 KB of RSS per entry (socket, fd, handles): enough for the pods a node is busy with. */
export const DEFAULT_MAX_ENTRIES = 128;

/**
 * Warm netlink sockets inside pod network namespaces, keyed by the namespace's inode, so a
 * CHECK (or a second interface's ADD) does not enter the pod netns and open a socket again.
 *
 * A cached entry holds an fd on the namespace, which keeps it alive: entries are closed when
 * the last attachment wired in them is torn down (DEL, GC, reconcile), when their path no
 * longer names them (sweep(), run periodically: the runtime deleted the netns), and the least
 * recently used idle entries beyond `maxEntries`. Users of one netns run one at a time
 * (a socket runs one dump at a time, and a netns's calls are short).
 */
export class PodSocketCache {
  private readonly entries = new Map<number, Entry>();
  private readonly turns = new KeyedMutex();
  private clock = 0;

  constructor(
    private readonly opener: NetnsOpener,
    private readonly maxEntries = DEFAULT_MAX_ENTRIES,
    private readonly statPath: (p: string) => { dev: number; ino: number } | undefined = (p) => {
      try {
        return fs.statSync(p);
      } catch {
        return undefined;
      }
    },
  ) {}

  get size(): number {
    return this.entries.size;
  }

  /**
   * Runs `fn` with the netns at `nsPath` and a socket inside it, on behalf of the attachment
   * whose host end is `owner`. A cache hit costs one stat(2): the entry's open fd pins its
   * namespace, so while it lives no other namespace can carry its inode. A miss opens and
   * validates the path (NetnsOpener.openPod: nsfs, not the host netns). A call that waited
   * for its turn on an entry that was closed meanwhile (its last attachment torn down) opens
   * the netns afresh. A failing `fn` closes the entry only if no attachment in the netns
   * uses it (a reply that comes after its request timed out is dropped, so the socket
   * itself stays usable).
   */
  async use<T>(nsPath: string, owner: string, fn: (h: PodHandle) => Promise<T>): Promise<T> {
    for (;;) {
      const entry = this.entryFor(nsPath);
      const outcome = await this.turns.run(String(entry.ns.inode), async () =>
        this.entries.get(entry.ns.inode) === entry ? { value: await this.runWith(entry, owner, fn) } : undefined,
      );
      if (outcome) return outcome.value;
    }
  }

  /** The open entry for the netns at `nsPath`, opening (and validating) it on a miss. */
  private entryFor(nsPath: string): Entry {
    const hit = this.statPath(nsPath);
    const cached = hit ? this.entries.get(hit.ino) : undefined;
    if (cached && hit && cached.dev === hit.dev) return cached;

    const ns = this.opener.openPod(nsPath);
    let sock: RtnlSocket;
    let dev: number;
    try {
      dev = fs.fstatSync(ns.fd).dev;
      const existing = this.entries.get(ns.inode);
      if (existing && existing.dev === dev) {
        this.opener.close(ns);
        return existing;
      }
      sock = this.opener.rtnetlinkIn(ns);
    } catch (err) {
      this.opener.close(ns);
      throw err;
    }
    const entry: Entry = { ns, sock, dev, owners: new Set(), lastUsed: this.clock++, users: 0, closeWhenIdle: false };
    this.entries.set(ns.inode, entry);
    this.evictBeyondLimit();
    return entry;
  }

  private async runWith<T>(entry: Entry, owner: string, fn: (h: PodHandle) => Promise<T>): Promise<T> {
    entry.users++;
    entry.lastUsed = this.clock++;
    let succeeded = false;
    try {
      const out = await fn(entry);
      entry.owners.add(owner);
      succeeded = true;
      return out;
    } finally {
      entry.users--;
      // Nothing wired in this netns needs the entry (its last attachment was torn down while
      // this call ran, or this call was the first and failed): close it once idle.
      if (entry.users === 0 && entry.owners.size === 0 && (entry.closeWhenIdle || !succeeded)) this.closeEntry(entry);
      if (entry.users === 0) entry.closeWhenIdle = false;
    }
  }

  /** The netns paths with an open entry, least recently used first (diagnostics, tests). */
  cachedPaths(): string[] {
    return [...this.entries.values()].sort((a, b) => a.lastUsed - b.lastUsed).map((e) => e.ns.path);
  }

  /** The attachment whose host end is `owner` is gone: close netns entries nothing else uses. */
  release(owner: string): void {
    for (const entry of [...this.entries.values()]) {
      if (!entry.owners.delete(owner) || entry.owners.size > 0) continue;
      if (entry.users > 0) entry.closeWhenIdle = true;
      else this.closeEntry(entry);
    }
  }

  /** Closes idle entries whose path no longer names their namespace (the runtime removed it). */
  sweep(): number {
    let closed = 0;
    for (const entry of [...this.entries.values()]) {
      if (entry.users > 0) continue;
      const now = this.statPath(entry.ns.path);
      if (now?.ino !== entry.ns.inode || now.dev !== entry.dev) {
        this.closeEntry(entry);
        closed++;
      }
    }
    return closed;
  }

  close(): void {
    for (const entry of [...this.entries.values()]) this.closeEntry(entry);
  }

  private evictBeyondLimit(): void {
    if (this.entries.size <= this.maxEntries) return;
    const idle = [...this.entries.values()].filter((e) => e.users === 0).sort((a, b) => a.lastUsed - b.lastUsed);
    for (const entry of idle.slice(0, this.entries.size - this.maxEntries)) this.closeEntry(entry);
  }

  private closeEntry(entry: Entry): void {
    if (this.entries.get(entry.ns.inode) !== entry) return;
    this.entries.delete(entry.ns.inode);
    try {
      entry.sock.close();
    } finally {
      this.opener.close(entry.ns);
    }
  }
}
