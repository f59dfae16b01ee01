/**
 * podwirectl's exit codes. Scripts and the DaemonSet's probes rely on them; they are listed
 * in `podwirectl --help` and in the README.
 */
export const EXIT = {
  /** The command did what was asked (for `health`: the server answered SERVING). */
  OK: 0,
  /** The server answered with an error podwirectl has no better code for. */
  FAILED: 1,
  /** Wrong command line (unknown command or flag, missing argument). */
  USAGE: 2,
  /** `pod`: nothing matches the selector (or it is ambiguous). */
  NOT_FOUND: 3,
  /** podwired cannot be reached at the socket or address (down, wrong path, refused). */
  UNREACHABLE: 4,
  /** --remote: a certificate or key is unreadable, untrusted or refused (TLS handshake failed). */
  TLS: 5,
  /** `health`: the server answered, but not SERVING. */
  NOT_SERVING: 6,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export const EXIT_CODES_HELP = `exit codes:
  0  ok (health: SERVING)
  1  the server answered with an unexpected error
  2  usage error
  3  pod not found, or the selector matches several attachments
  4  podwired not reachable at the socket or address
  5  TLS failure: certificate or key unreadable, untrusted or refused
  6  health: the server answered but is not SERVING`;
