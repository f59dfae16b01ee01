/**
 * npm `netlink` rejects a request with `Error("Request rejected: EEXIST")`: the errno is only
 * in the message text. These helpers recover it so callers can tell "already gone" apart
 * from real failures.
 */
export function netlinkErrno(err: unknown): string | undefined {
  if (!(err instanceof Error)) return undefined;
  const m = /Request rejected: (E[A-Z0-9]+)/.exec(err.message);
  return m?.[1];
}

export function isNetlinkErrno(err: unknown, ...codes: string[]): boolean {
  const errno = netlinkErrno(err);
  return errno !== undefined && codes.includes(errno);
}

/** Errors that mean "the object is already gone": fine for any delete. */
export const GONE_ERRNOS = ['ENODEV', 'ESRCH', 'ENOENT', 'EADDRNOTAVAIL'] as const;

export function isGone(err: unknown): boolean {
  return isNetlinkErrno(err, ...GONE_ERRNOS);
}
