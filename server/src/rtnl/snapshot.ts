import { decodeAddress, decodeAll, decodeLink, decodeNeighbour, decodeRoute } from './decode';
import type { KernelAddress, KernelLink, KernelNeighbour, KernelRoute } from './kernel-objects';
import { type DumpKind, dumpOf } from './requests';
import type { RtnlSocket } from './rtnl-socket';

/**
 * The links, addresses, routes and neighbours of one network namespace, read with one dump
 * per table (every family at once), with lookups by link. Tables not asked for are empty.
 * CHECK, reconcile, the Debug inspector and the peer route table all read the kernel this way.
 */
export class NetnsSnapshot {
  private readonly byName = new Map<string, KernelLink>();
  private readonly byIndex = new Map<number, KernelLink>();
  private readonly addressesByIndex = new Map<number, KernelAddress[]>();
  private readonly routesByOif = new Map<number, KernelRoute[]>();
  private readonly neighboursByIndex = new Map<number, KernelNeighbour[]>();

  constructor(
    readonly links: readonly KernelLink[],
    readonly addresses: readonly KernelAddress[],
    readonly routes: readonly KernelRoute[],
    readonly neighbours: readonly KernelNeighbour[],
    /**
     * A dump was still interrupted by concurrent changes after every try and was taken as it
     * was (takeSnapshot's `interrupted: 'accept'`): what it holds existed while it was read,
     * but an object that changed meanwhile may be missing.
     */
    readonly interrupted = false,
  ) {
    for (const l of links) {
      this.byName.set(l.name, l);
      this.byIndex.set(l.index, l);
    }
    for (const a of addresses) push(this.addressesByIndex, a.index, a);
    for (const r of routes) if (r.oif) push(this.routesByOif, r.oif, r);
    for (const n of neighbours) push(this.neighboursByIndex, n.index, n);
  }

  link(name: string): KernelLink | undefined {
    return this.byName.get(name);
  }

  linkAt(index: number): KernelLink | undefined {
    return this.byIndex.get(index);
  }

  addressesOf(index: number): readonly KernelAddress[] {
    return this.addressesByIndex.get(index) ?? [];
  }

  /** Routes (every table) whose output device is `index`. */
  routesVia(index: number): readonly KernelRoute[] {
    return this.routesByOif.get(index) ?? [];
  }

  neighboursOf(index: number): readonly KernelNeighbour[] {
    return this.neighboursByIndex.get(index) ?? [];
  }
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

export const ALL_TABLES: readonly DumpKind[] = ['links', 'addresses', 'routes', 'neighbours'];

/**
 * Reads the tables asked for on `sock` (one dump each, one after another: dumps on a socket
 * are serialized). A dump interrupted by concurrent changes on every try fails the read,
 * unless `interrupted: 'accept'`: then the snapshot is taken as read and says so.
 */
export async function takeSnapshot(
  sock: RtnlSocket,
  tables: readonly DumpKind[] = ALL_TABLES,
  opts: { interrupted?: 'fail' | 'accept' } = {},
): Promise<NetnsSnapshot> {
  const want = new Set(tables);
  let interrupted = false;
  const dumpOpts = { interrupted: opts.interrupted ?? 'fail', onInterrupted: () => (interrupted = true) };
  const read = async <T>(kind: DumpKind, decode: Parameters<typeof decodeAll<T>>[1]): Promise<T[]> =>
    want.has(kind) ? decodeAll(await sock.dump(dumpOf(kind), dumpOpts), decode) : [];
  const links = await read('links', decodeLink);
  const addresses = await read('addresses', decodeAddress);
  const routes = await read('routes', decodeRoute);
  const neighbours = await read('neighbours', decodeNeighbour);
  return new NetnsSnapshot(links, addresses, routes, neighbours, interrupted);
}
