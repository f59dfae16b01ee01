/**
 * The one error type of podwired's CNI layer. Anything a handler throws that is not a
 * CniError is a bug or an unexpected system failure and is reported as code 5 (I/O) or
 * 999 (internal) by the gRPC service, never as a transport failure.
 */

/** CNI error codes: the spec's well-known ones, then podwire's own (100 and up). */
export const CniCode = {
  IncompatibleVersion: 1,
  UnsupportedField: 2,
  UnknownContainer: 3,
  InvalidEnvironment: 4,
  IoFailure: 5,
  DecodeFailure: 6,
  InvalidNetworkConfig: 7,
  TryAgainLater: 11,
  NotReadyForAdd: 50,
  LimitedConnectivity: 51,
  /** No free address left in a range set. */
  PoolExhausted: 100,
  /** ADD for a (network, container, ifname) that already has an attachment. */
  AlreadyAttached: 101,
  /** The requested interface name already exists in the pod network namespace. */
  InterfaceExists: 102,
  /** Programming the kernel (links, addresses, routes) failed. */
  DatapathFailure: 103,
  /** CHECK found the pod's network not as ADD left it. */
  CheckFailed: 104,
  /** A requested IP (CNI_ARGS IP=, runtimeConfig ips) is not usable. */
  RequestedIpUnavailable: 105,
  /** The lease store failed. */
  StoreFailure: 106,
  /** ADD: a hostPort (protocol, host address, port) is already mapped for another pod on this node. */
  HostPortInUse: 107,
  /** An unexpected server-side failure (a bug): details carry the message. */
  Internal: 999,
} as const;

export type CniCodeValue = (typeof CniCode)[keyof typeof CniCode];

export class CniError extends Error {
  constructor(
    readonly code: CniCodeValue,
    msg: string,
    readonly details: string = '',
  ) {
    super(msg);
    this.name = 'CniError';
  }
}

/** Reduces anything thrown to a CniError, keeping the original message as details. */
export function toCniError(err: unknown, code: CniCodeValue, msg: string): CniError {
  if (err instanceof CniError) return err;
  const text = err instanceof Error ? err.message : String(err);
  return new CniError(code, msg, text);
}
