import { decodeLink } from './decode';
import type { KernelLink } from './kernel-objects';
import { isGone } from './rtnl-error';
import type { RtnlRequest, RtnlSocket } from './rtnl-socket';
import { getLinkByName } from './requests';

/** The link named `name`, or undefined when there is none. */
export async function findLink(sock: RtnlSocket, name: string): Promise<KernelLink | undefined> {
  try {
    const [msg] = await sock.request(getLinkByName(name));
    return msg ? decodeLink(msg) : undefined;
  } catch (err) {
    if (isGone(err)) return undefined;
    throw err;
  }
}

/**
 * Sends the requests pipelined (the kernel handles one socket's requests in the order sent,
 * so later ones see the effect of earlier ones) and waits for all; throws the first failure,
 * in request order.
 */
export async function sendAll(sock: RtnlSocket, requests: readonly RtnlRequest[]): Promise<void> {
  const outcomes = await sock.exchange(requests);
  const failed = outcomes.find((o) => o.error);
  if (failed?.error) throw failed.error;
}
