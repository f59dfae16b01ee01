/**
 * The only error type thrown on purpose by @podwire/ipam-store.
 *
 * The store knows nothing of CNI error codes; the server maps `kind` to them.
 */
export type IpamErrorKind =
  /** The IPAM configuration (`ipam.ranges`) is malformed or inconsistent. */
  | 'invalid-range'
  /** A caller-supplied argument is malformed (empty key field, unparsable requested IP, ...). */
  | 'invalid-argument'
  /** An attachment with the same key already exists. */
  | 'exists'
  /** No attachment with that key. */
  | 'not-found'
  /** A requested address is in none of the range sets, or is a reserved address of one. */
  | 'requested-not-in-range'
  /** A requested address is already leased or held, in any network (addresses are unique per node). */
  | 'requested-in-use'
  /**
   * Another connection to the database leased an address this allocation chose (not one it
   * was asked for) between allocate() and commit(). Allocating again chooses another.
   */
  | 'conflict'
  /** A range set has no free address left. */
  | 'exhausted'
  /** The database was written by a newer podwire whose schema this code does not know. */
  | 'schema-too-new'
  /** The store was used after close(). */
  | 'closed';

export class IpamError extends Error {
  override readonly name = 'IpamError';

  constructor(
    readonly kind: IpamErrorKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** True when `err` is an IpamError (of the given kind, when one is given). */
export function isIpamError(err: unknown, kind?: IpamErrorKind): err is IpamError {
  return err instanceof IpamError && (kind === undefined || err.kind === kind);
}
