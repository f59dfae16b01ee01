import type { Attachment, Lease } from '@podwire/ipam-store';
import { CniCode, CniError } from '../cni/cni-error';
import { withStoredRoutes } from '../cni/result-routes';
import type { Datapath } from '../datapath/datapath';
import { podAddresses } from '../handlers/add';

/**
 * What CHECK would report for a stored attachment, one problem per entry (empty: healthy).
 * The spec is built from the store as handlers/check.ts builds it; the datapath's check joins
 * its findings with "; ", which this splits again.
 */
export async function attachmentProblems(datapath: Datapath, att: Attachment, leases: readonly Lease[]): Promise<string[]> {
  if (att.state !== 'ready') return ['the attachment is not ready: its ADD did not complete'];
  try {
    await datapath.check({
      netnsPath: att.netns,
      podIfname: att.ifname,
      hostIfname: att.hostIfname,
      mtu: 0,
      addresses: podAddresses([...leases]),
      ...withStoredRoutes(att.result),
    });
    return [];
  } catch (err) {
    if (err instanceof CniError) {
      if (err.code === CniCode.CheckFailed && err.details !== '') return err.details.split('; ');
      return [err.details !== '' ? `${err.message}: ${err.details}` : err.message];
    }
    return [`the check itself failed: ${err instanceof Error ? err.message : String(err)}`];
  }
}
