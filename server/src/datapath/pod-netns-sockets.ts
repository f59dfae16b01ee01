import * as fs from 'node:fs';
import type { RtnlSocket } from '../rtnl/rtnl-socket';
import { KeyedMutex } from '../keyed-mutex';
import type { NetnsOpener, PodNetns } from './netns';

/** An open pod netns and a netlink socket living inside it. */
export interface PodHandle {
  readonly ns: PodNetns;
  readonly sock: RtnlSocket;
}

interface Entry extends PodHandle {
  /** Device of the namespace file (nsfs): with the inode, what a path must stat to. */
  readonly dev: number;
  /** Calls using or waiting for the entry. */
  users: number;
}

/**
 * Netlink sockets inside pod network namespaces, held only while a call uses them. An open
 * fd or socket in a namespace keeps the namespace alive, and with it the pod end of its veth
 * pair: a netns the runtime removes without a DEL reaching podwired must go at once, with its
 * pair (the kernel destroys both), so nothing here outlives the calls using it. Concurrent
 * calls into one netns (several interfaces of one pod, a CHECK during an ADD) share one entry
 * and take turns on it (a socket runs one dump at a time); the last one out closes it.
 */
export class PodNetnsSockets {
  private readonly entries = new Map<number, Entry>();
  private readonly turns = new KeyedMutex();

  constructor(
    private readonly opener: NetnsOpener,
    private readonly statPath: (p: string) => { dev: number; ino: number } | undefined = (p) => {
      try {
        return fs.statSync(p);
      } catch {
        return undefined;
      }
    },
  ) {}

  /** Entries open now: netns that calls are inside of (metrics). */
  get size(): number {
    return this.entries.size;
  }

  /**
   * Runs `fn` with the netns at `nsPath` and a socket inside it. The netns is opened and
   * validated (NetnsOpener.openPod: nsfs, not the host netns) unless a call running now has
   * it open already (same inode and device: its open fd pins the namespace, so no other
   * namespace can carry that inode meanwhile). Closed when the last call using it is done.
   */
  async use<T>(nsPath: string, fn: (h: PodHandle) => Promise<T>): Promise<T> {
    const entry = this.entryFor(nsPath);
    entry.users++;
    try {
      return await this.turns.run(String(entry.ns.inode), () => fn(entry));
    } finally {
      if (--entry.users === 0) this.closeEntry(entry);
    }
  }

  /** The entry of a call running in the netns at `nsPath`, or a new one. */
  private entryFor(nsPath: string): Entry {
    // With no call running in any netns (sequential ADDs), nothing can be shared: no stat(2).
    const hit = this.entries.size > 0 ? this.statPath(nsPath) : undefined;
    const running = hit ? this.entries.get(hit.ino) : undefined;
    if (running && hit && running.dev === hit.dev) return running;

    // Opened with its socket in one entering of the netns; a call that opened the same netns
    // meanwhile (another path to it) keeps its own entry, and these are closed.
    const { ns, sock } = this.opener.openPodSocket(nsPath);
    const existing = this.entries.get(ns.inode);
    if (existing && existing.dev === ns.dev) {
      try {
        sock.close();
      } finally {
        this.opener.close(ns);
      }
      return existing;
    }
    const entry: Entry = { ns, sock, dev: ns.dev, users: 0 };
    this.entries.set(ns.inode, entry);
    return entry;
  }

  /** Closes every entry (shutdown: calls still running fail on their closed socket). */
  close(): void {
    for (const entry of [...this.entries.values()]) this.closeEntry(entry);
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
