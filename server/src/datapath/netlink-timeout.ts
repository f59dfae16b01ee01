/** npm `netlink` waits forever by default; every podwire request carries this deadline. */
export const NETLINK_TIMEOUT_MS = 5000;

export const NL_OPTS = { timeout: NETLINK_TIMEOUT_MS } as const;
