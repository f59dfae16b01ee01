import type { RtNetlinkSocket } from 'netlink';
import type { IpamStore } from '@podwire/ipam-store';
import type { ComponentHealth__Output as ComponentHealth } from '../generated/podwire/v1/ComponentHealth';

function reason(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The store answers a trivial read. */
export function probeStore(store: IpamStore): ComponentHealth {
  try {
    const n = store.listAttachments({ state: 'pending' }).length;
    return { ok: true, detail: `lease store read ok (${n} pending attachments)` };
  } catch (err) {
    return { ok: false, detail: `lease store read failed: ${reason(err)}` };
  }
}

/**
 * The host rtnetlink socket answers a trivial request (the loopback link) within `timeoutMs`.
 * A wedged socket shows up here as a timeout, not as a hung ServerInfo.
 */
export async function probeNetlink(host: RtNetlinkSocket, timeoutMs: number): Promise<ComponentHealth> {
  try {
    const [lo] = await host.getLink({}, { ifname: 'lo' }, { timeout: timeoutMs });
    if (!lo?.data.index) return { ok: false, detail: 'host netlink answered without the loopback link' };
    return { ok: true, detail: `host netlink answered (lo is index ${lo.data.index})` };
  } catch (err) {
    return { ok: false, detail: `host netlink request failed: ${reason(err)}` };
  }
}
