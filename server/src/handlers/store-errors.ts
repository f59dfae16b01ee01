import { IpamError } from '@podwire/ipam-store';
import { CniCode, CniError } from '../cni/cni-error';

/** Maps the lease store's errors onto CNI codes (documented in the README's error table). */
export function storeErrorToCni(err: unknown): CniError {
  if (err instanceof CniError) return err;
  if (err instanceof IpamError) {
    switch (err.kind) {
      case 'exhausted':
        return new CniError(CniCode.PoolExhausted, 'no free address left', err.message);
      case 'exists':
        return new CniError(CniCode.AlreadyAttached, 'this container interface is already attached', `${err.message}; DEL it before adding it again`);
      case 'requested-in-use':
      case 'requested-not-in-range':
      case 'invalid-argument':
        return new CniError(CniCode.RequestedIpUnavailable, 'requested IP address is not available', err.message);
      case 'conflict':
        // Another connection to the database leased an address this ADD chose; a retry chooses another.
        return new CniError(CniCode.TryAgainLater, 'an address chosen for this ADD was leased elsewhere meanwhile; try again', err.message);
      case 'invalid-range':
        return new CniError(CniCode.InvalidNetworkConfig, 'invalid ipam ranges', err.message);
      default:
        return new CniError(CniCode.StoreFailure, `lease store error (${err.kind})`, err.message);
    }
  }
  return new CniError(CniCode.StoreFailure, 'lease store failure', err instanceof Error ? err.message : String(err));
}
