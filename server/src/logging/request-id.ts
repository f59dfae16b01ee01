import { randomBytes } from 'node:crypto';

/**
 * A CNI call's request id: 16 hex digits (64 random bits), unique enough to find one call in
 * a node's logs. The Cni service puts it on every line it logs for the call and on the call's
 * event. (It is passed explicitly, not through an AsyncLocalStorage: that enables async hooks
 * on every promise of the process, grpc-js's included, for lines nobody below the service logs.)
 */
export function newRequestId(): string {
  return randomBytes(8).toString('hex');
}
