import * as os from 'node:os';

/** errno names by number (positive), from Node's own table. */
const ERRNO_NAMES = new Map<number, string>(Object.entries(os.constants.errno).map(([name, n]) => [n, name]));

/** The name of a (positive) errno, e.g. 17 → "EEXIST"; the number itself when unknown. */
export function errnoName(errno: number): string {
  return ERRNO_NAMES.get(errno) ?? String(errno);
}

/**
 * A request the kernel refused, or one it did not answer in time. `errno` is the kernel's
 * (positive) errno and `code` its name ("EEXIST"); a timeout carries ETIMEDOUT, a send that
 * failed the errno of the failing sendmsg(2) when it has one.
 */
export class RtnlError extends Error {
  constructor(
    /** What was asked, e.g. "RTM_NEWLINK pw1a2b3c". */
    readonly operation: string,
    readonly errno: number,
    readonly code: string = errnoName(errno),
    detail?: string,
  ) {
    super(`${operation}: ${code}${detail ? ` (${detail})` : ''}`);
    this.name = 'RtnlError';
  }
}

/**
 * A dump the kernel marked NLM_F_DUMP_INTR: its tables changed while it ran. It carries what
 * the dump read, for a caller that can use an inconsistent read (RtnlSocket.dump's
 * `interrupted: 'accept'`): every object in it existed while the dump ran; an object changed
 * meanwhile may be missing, twice or stale.
 */
export class InterruptedDump extends RtnlError {
  constructor(
    operation: string,
    /** The messages the interrupted dump delivered. */
    readonly parts: readonly unknown[],
  ) {
    super(operation, os.constants.errno.EINTR, 'EINTR', 'the dump was interrupted by a concurrent change');
  }
}

export function hasErrno(err: unknown, ...codes: string[]): boolean {
  return err instanceof RtnlError && codes.includes(err.code);
}

/** Errors that mean "the object is already gone": fine for any delete. */
export const GONE_ERRNOS = ['ENODEV', 'ESRCH', 'ENOENT', 'EADDRNOTAVAIL'] as const;

/** GONE_ERRNOS as the kernel's (positive) numbers. */
export const GONE_ERRNO_NUMBERS: ReadonlySet<number> = new Set(GONE_ERRNOS.map((name) => os.constants.errno[name]));

export function isGone(err: unknown): boolean {
  return hasErrno(err, ...GONE_ERRNOS);
}

/** A readable one-line reason for any error (RtnlError messages already name the request). */
export function reasonOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
