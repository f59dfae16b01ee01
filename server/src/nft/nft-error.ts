/** errno names by the kernel's strerror text, as libnftables prints them ("Could not process rule: File exists"). */
const STRERROR_CODES: ReadonlyArray<[string, string]> = [
  ['No such file or directory', 'ENOENT'],
  ['File exists', 'EEXIST'],
  ['Operation not permitted', 'EPERM'],
  ['Device or resource busy', 'EBUSY'],
  ['Invalid argument', 'EINVAL'],
  ['Operation not supported', 'EOPNOTSUPP'],
  ['No buffer space available', 'ENOBUFS'],
  ['Cannot allocate memory', 'ENOMEM'],
  ['Too many links', 'EMLINK'],
  ['Numerical result out of range', 'ERANGE'],
  ['Message too long', 'EMSGSIZE'],
  ['Interrupted system call', 'EINTR'],
];

/**
 * An nftables transaction libnftables or the kernel refused (nothing of it was applied), or a
 * context that could not be made. `reason` is libnftables' text without its location noise
 * ("Could not process rule: No such file or directory"); `code` the errno name when the text
 * carries the kernel's reason (ENOENT, EEXIST, EPERM...), otherwise undefined (a parse or
 * evaluation error of libnftables itself).
 */
export class NftError extends Error {
  readonly reason: string;
  readonly code: string | undefined;

  constructor(
    /** What was asked, e.g. "rebuild table inet podwire-1a2b3c4d5e6f". */
    readonly operation: string,
    nftText: string,
  ) {
    const reason = reasonOf(nftText);
    super(`${operation}: ${reason}`);
    this.name = 'NftError';
    this.reason = reason;
    this.code = codeOf(reason);
  }
}

/** libnftables' "internal:0:0-0: Error: X\n\n" lines reduced to "X; Y" (each distinct message once). */
export function reasonOf(nftText: string): string {
  const messages: string[] = [];
  for (const line of nftText.split('\n')) {
    const m = /(?:^|\s)Error:\s*(.*)$/.exec(line);
    const text = (m ? m[1] : line)?.trim();
    if (text && !messages.includes(text)) messages.push(text);
  }
  return messages.join('; ') || 'libnftables failed without a reason';
}

function codeOf(reason: string): string | undefined {
  for (const [text, code] of STRERROR_CODES) if (reason.includes(text)) return code;
  return undefined;
}

export function isNftError(err: unknown, ...codes: string[]): err is NftError {
  return err instanceof NftError && (codes.length === 0 || (err.code !== undefined && codes.includes(err.code)));
}
