import { Gauge, type Registry } from 'prom-client';
import type { IpamStore } from '@podwire/ipam-store';
import type { NetworkRegistry } from '../pools/network-registry';

/** What the scrape-time gauges read. */
export interface StoreGaugeSources {
  store: IpamStore;
  networks: NetworkRegistry;
}

/**
 * Gauges read from the lease store when Prometheus scrapes, so they can never drift from the
 * SQLite rows: addresses used and free per network and range set (for every network podwired
 * has served since it started) and attachments per network and state. Series of networks or
 * states that disappeared are dropped at the next scrape.
 */
export function registerStoreGauges(registry: Registry, sources: StoreGaugeSources): void {
  const readUsage = () => sources.networks.usage(sources.store);
  new Gauge({
    name: 'podwire_ipam_addresses_used',
    help: 'Addresses of the range set leased by any network (addresses are unique per node), per network and range set (networks served since podwired started).',
    labelNames: ['network', 'range_set'],
    registers: [registry],
    collect() {
      this.reset();
      for (const row of readUsage()) this.set({ network: row.network, range_set: row.rangeSet }, row.used);
    },
  });
  new Gauge({
    name: 'podwire_ipam_addresses_free',
    help: 'Addresses still free to lease, per network and range set (networks served since podwired started).',
    labelNames: ['network', 'range_set'],
    registers: [registry],
    collect() {
      this.reset();
      for (const row of readUsage()) this.set({ network: row.network, range_set: row.rangeSet }, row.free);
    },
  });
  new Gauge({
    name: 'podwire_attachments',
    help: 'Attachments in the lease store, per network and state (pending: an ADD in progress; ready: a wired pod interface).',
    labelNames: ['network', 'state'],
    registers: [registry],
    collect() {
      this.reset();
      const counts = new Map<string, { network: string; state: string; n: number }>();
      for (const a of sources.store.listAttachments()) {
        const k = `${a.network}\0${a.state}`;
        const c = counts.get(k) ?? { network: a.network, state: a.state, n: 0 };
        c.n++;
        counts.set(k, c);
      }
      for (const c of counts.values()) this.set({ network: c.network, state: c.state }, c.n);
    },
  });
}
