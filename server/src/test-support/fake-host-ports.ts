import { type HeldPortMapping, type PodPortMapping, PortMappingConflict, portKeyOf } from '../nft';
import type { HostPorts } from '../handlers/host-ports';

/**
 * HostPorts in memory for handler tests: the same conflict rule as NftTables (one holder per
 * port key), programmed mappings readable, and failures to inject.
 */
export class FakeHostPorts implements HostPorts {
  readonly byKey = new Map<string, HeldPortMapping>();
  /** Host interfaces map() was called with (route_localnet). */
  readonly localnet: string[] = [];
  /** Holders unmap() was called for, in order. */
  readonly unmapped: string[] = [];
  failMap: Error | undefined;
  failUnmap: Error | undefined;

  map(holder: string, mappings: readonly PodPortMapping[], hostIfname: string): void {
    if (this.failMap) throw this.failMap;
    for (const m of mappings) {
      const held = this.byKey.get(portKeyOf(m));
      if (held && held.holder !== holder) throw new PortMappingConflict(portKeyOf(m), held.holder);
    }
    for (const m of mappings) this.byKey.set(portKeyOf(m), { ...m, holder });
    this.localnet.push(hostIfname);
  }

  async unmap(holder: string): Promise<HeldPortMapping[]> {
    this.unmapped.push(holder);
    if (this.failUnmap) throw this.failUnmap;
    const gone = [...this.byKey.entries()].filter(([, m]) => m.holder === holder);
    for (const [k] of gone) this.byKey.delete(k);
    return gone.map(([, m]) => m);
  }

  missing(holder: string, expected: readonly PodPortMapping[]): string[] {
    return expected.filter((m) => this.byKey.get(portKeyOf(m))?.holder !== holder).map((m) => `hostPort ${portKeyOf(m)} is not mapped`);
  }

  /** The holders of every programmed mapping, by key. */
  holders(): Record<string, string> {
    return Object.fromEntries([...this.byKey].map(([k, m]) => [k, m.holder]));
  }
}
