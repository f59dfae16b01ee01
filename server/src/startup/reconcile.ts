import type { Logger } from 'pino';
import type { Attachment, IpamStore, Lease } from '@podwire/ipam-store';
import type { Datapath, HostView, PodNetworkSpec } from '../datapath/datapath';
import { podAddresses } from '../handlers/add';
import { lockName } from '../handlers/handler-deps';
import { reasonOf } from '../rtnl/rtnl-error';
import { storedRoutesReader } from '../cni/result-routes';
import type { ReconcileCounts } from './startup-report';

/** A ready attachment and the spec of its wiring, as the store has them. */
export interface ReadyAttachment {
  attachment: Attachment;
  spec: PodNetworkSpec;
}

/** The ready attachments with their leased addresses (one read of each table; `all` is every lease when the caller has read them). */
export function readyAttachments(store: IpamStore, all: readonly Lease[] = store.listLeases()): ReadyAttachment[] {
  const leases = new Map<string, Lease[]>();
  for (const l of all) {
    const k = lockName(l);
    const list = leases.get(k);
    if (list) list.push(l);
    else leases.set(k, [l]);
  }
  const routesOf = storedRoutesReader();
  return store.listAttachments({ state: 'ready' }).map((attachment) => {
    const routes = routesOf(attachment.result);
    return {
      attachment,
      spec: {
        netnsPath: attachment.netns,
        podIfname: attachment.ifname,
        hostIfname: attachment.hostIfname,
        mtu: 0,
        addresses: podAddresses(leases.get(lockName(attachment)) ?? []),
        ...(routes ? { routes } : {}),
      },
    };
  });
}

/** At most this many shared addresses are named in the start-up log. */
const MAX_SHARED_LOGGED = 20;

/**
 * Addresses leased to more than one attachment. Today's store never writes such a pair
 * (addresses are unique per node, across networks), but a database written before that was
 * enforced may hold one: two networks over the node's pod CIDRs handed out the same address.
 */
export function sharedAddresses(leases: readonly Lease[]): Array<{ address: string; holders: string[] }> {
  const byAddress = new Map<string, string[]>();
  for (const l of leases) {
    const holders = byAddress.get(l.address);
    const holder = `${l.network}/${l.containerId}/${l.ifname}`;
    if (holders) holders.push(holder);
    else byAddress.set(l.address, [holder]);
  }
  return [...byAddress].filter(([, holders]) => holders.length > 1).map(([address, holders]) => ({ address, holders }));
}

/** How long start-up keeps trying to read the host before it gives up. */
const READ_HOST_BUDGET_MS = 30_000;
const READ_HOST_MAX_WAIT_MS = 2_000;

/**
 * Brings the store and the host's kernel state into agreement after a (re)start, before
 * ADD/DEL/CHECK are served, from ONE read of the host (Datapath.readHost: one dump per table);
 * the only further kernel requests are the removals (a lookup and a delete per pending or
 * orphan link, one per stray route), none for a ready pod:
 *  1. `pending` attachments are rolled back: host end, routes, lease. The store no longer
 *     writes them (an ADD commits once, `ready`); an older podwired committed each ADD twice
 *     (`pending` before wiring, `ready` after), so a crash between the two left one, and a
 *     database it wrote may still hold some;
 *  2. this server's host ends that no ready attachment accounts for are removed: what an ADD
 *     cut short by a crash before its one commit leaves (its hold was only in memory);
 *  3. this server's pod routes on its ready host ends to addresses not leased are removed;
 *  4. every ready attachment's host side is matched against the snapshot (counted, logged: kept);
 *  5. an address leased to two attachments (a database from before addresses were unique per
 *     node) is logged, naming both: the host route serves one of them, so the other's host
 *     side shows as degraded; nothing is changed (DEL and ADD again gives it an address of
 *     its own).
 * The removals are issued together, so the programmer batches them (one group delete for
 * the links, multi-message writes for the routes). Best effort per item: one failure is
 * logged and counted, the rest still reconciled. Verifying the pods inside their own netns
 * comes after serving has started (startup/pod-verification.ts).
 *
 * Pod routes only: peer routes (proto 198) are the PeerRouter's (peers/peer-router.ts).
 */
export async function reconcile(
  store: IpamStore,
  datapath: Datapath,
  log: Logger,
  /** A read of the host already under way (podwired starts it early, see early-start.ts); its failure is retried like any. */
  firstRead?: Promise<HostView>,
): Promise<{
  counts: ReconcileCounts;
  ready: ReadyAttachment[];
  /** Every lease the store holds once reconcile is done (what start-up reads of them next, without reading them again). */
  leases: Lease[];
  snapshotMs: number;
}> {
  const counts: ReconcileCounts = { rolledBack: 0, orphanLinks: 0, orphanRoutes: 0, hostOk: 0, hostDegraded: 0, failed: 0 };
  // The store first, while the host read is still under way (podwired starts reconcile before
  // it is done): nothing changes the store meanwhile, since no CNI call is served before
  // reconcile has run.
  const pending = store.listAttachments({ state: 'pending' });
  const leases = store.listLeases();
  const ready = readyAttachments(store, leases);
  const t0 = performance.now();
  // Without the host's state there is nothing to reconcile against: a read that fails (a
  // deadline on a busy host, dumps interrupted again and again by links coming and going)
  // is tried again, waiting longer each time, for up to READ_HOST_BUDGET_MS before start-up
  // gives up (serving later beats exiting to be restarted into the same busy host).
  let host: HostView | undefined;
  for (let attempt = 1; !host; attempt++) {
    try {
      host = await (attempt === 1 && firstRead ? firstRead : datapath.readHost());
    } catch (err) {
      const waitMs = Math.min(READ_HOST_MAX_WAIT_MS, 50 * 2 ** attempt);
      if (performance.now() - t0 + waitMs > READ_HOST_BUDGET_MS) throw err;
      log.warn({ attempt, retryInMs: waitMs, err: reasonOf(err) }, 'reconcile: reading the host failed; trying again');
      await new Promise((r) => setTimeout(r, waitMs));
    }
  }
  const snapshotMs = performance.now() - t0;
  if (host.interrupted)
    log.warn(
      "reconcile: the host's tables kept changing while they were read (every try of a dump was interrupted); reconciling against the read as it was: only what it shows is acted on, and a host-side problem it reports may be the read's (the verification and CHECK look again)",
    );

  const shared = sharedAddresses(leases);
  if (shared.length > 0) {
    log.warn(
      { count: shared.length, shared: shared.slice(0, MAX_SHARED_LOGGED).map((s) => `${s.address}: ${s.holders.join(', ')}`) },
      'reconcile: addresses leased to more than one attachment (written before addresses were unique per node); the host route serves only one: DEL the others and ADD them again',
    );
  }
  const rolledBack = new Set<string>();
  const known = new Set(ready.map((r) => r.attachment.hostIfname));
  const orphans = host.ownedLinks().filter((l) => !known.has(l.name) && !pending.some((p) => p.hostIfname === l.name));
  const stray = host.strayRoutes(ready.map((r) => r.spec));

  await Promise.all([
    ...pending.map(async (att) => {
      const key = { network: att.network, containerId: att.containerId, ifname: att.ifname };
      try {
        await datapath.tearDown(att.hostIfname);
        store.remove(key);
        rolledBack.add(lockName(key));
        counts.rolledBack++;
        log.warn({ ...key, hostIfname: att.hostIfname }, 'reconcile: rolled back an ADD that never completed');
      } catch (err) {
        counts.failed++;
        log.error({ ...key, err: reasonOf(err) }, 'reconcile: could not roll back a pending attachment');
      }
    }),
    ...orphans.map(async (link) => {
      try {
        await datapath.tearDown(link.name);
        counts.orphanLinks++;
        log.warn({ hostIfname: link.name }, 'reconcile: removed a host veth no attachment accounts for');
      } catch (err) {
        counts.failed++;
        log.error({ hostIfname: link.name, err: reasonOf(err) }, 'reconcile: could not remove an orphan host veth');
      }
    }),
    (async () => {
      if (stray.length === 0) return;
      const failures = await datapath.removeStrayRoutes(stray);
      counts.orphanRoutes += stray.length - failures.length;
      counts.failed += failures.length;
      log.warn(
        { removed: stray.filter((r) => !failures.some((f) => f.route === r)).map((r) => `${r.address} dev ${r.hostIfname}`) },
        'reconcile: removed host routes to addresses not leased',
      );
      for (const f of failures) log.error({ route: `${f.route.address} dev ${f.route.hostIfname}`, err: f.error }, 'reconcile: could not remove a host route');
    })(),
  ]);

  for (const { attachment, spec } of ready) {
    const problems = host.hostProblems(spec);
    if (problems.length === 0) {
      counts.hostOk++;
      continue;
    }
    counts.hostDegraded++;
    log.warn(
      { network: attachment.network, containerId: attachment.containerId, ifname: attachment.ifname, problems },
      'reconcile: host side of an attachment is not as ADD left it; kept (CHECK reports it, DEL or GC clears it)',
    );
  }
  return { counts, ready, leases: leases.filter((l) => !rolledBack.has(lockName(l))), snapshotMs };
}
