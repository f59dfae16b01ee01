import type { CniInvocation__Output } from '../generated/podwire/v1/CniInvocation';

/**
 * What a CNI call's event reports about the call beyond the request fields: the network name
 * and the pod, read leniently. These never fail: a call with an unreadable config or bad
 * CNI_ARGS still completes (with a CNI error) and still gets an event.
 */

export interface CniCallFacts {
  /** The config's "name", '' when it cannot be read. */
  network: string;
  podNamespace: string;
  podName: string;
}

function networkName(config: Buffer): string {
  try {
    const doc = JSON.parse(config.toString('utf8')) as unknown;
    const name = typeof doc === 'object' && doc !== null ? (doc as { name?: unknown }).name : undefined;
    return typeof name === 'string' ? name : '';
  } catch {
    return '';
  }
}

/** K8S_POD_NAMESPACE / K8S_POD_NAME from CNI_ARGS ("K=V;K=V"), ignoring anything malformed. */
function podOf(args: string): { podNamespace: string; podName: string } {
  const pod = { podNamespace: '', podName: '' };
  for (const pair of args.split(';')) {
    const eq = pair.indexOf('=');
    if (eq <= 0) continue;
    const key = pair.slice(0, eq);
    if (key === 'K8S_POD_NAMESPACE') pod.podNamespace = pair.slice(eq + 1);
    else if (key === 'K8S_POD_NAME') pod.podName = pair.slice(eq + 1);
  }
  return pod;
}

export function cniCallFacts(req: Pick<CniInvocation__Output, 'config' | 'args'>): CniCallFacts {
  return { network: networkName(req.config), ...podOf(req.args) };
}
