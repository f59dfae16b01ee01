import type { IpamStore } from '@podwire/ipam-store';
import type { ComponentHealth__Output as ComponentHealth } from '../generated/podwire/v1/ComponentHealth';
import { findLink } from '../rtnl/operations';
import type { RtnlSocket } from '../rtnl/rtnl-socket';

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
export async function probeNetlink(host: RtnlSocket, timeoutMs: number): Promise<ComponentHealth> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    const lo = await Promise.race([findLink(host, 'lo'), timeout]);
    if (!lo) return { ok: false, detail: 'host netlink answered without the loopback link' };
    return { ok: true, detail: `host netlink answered (lo is index ${lo.index})` };
  } catch (err) {
    return { ok: false, detail: `host netlink request failed: ${reason(err)}` };
  } finally {
    clearTimeout(timer);
  }
}
