/**
 * Kernel objects as podwire reads them: plain decoded values (addresses as text, numbers for
 * protocols and scopes), so nothing above the kernel-access layer sees npm netlink's types.
 */

export type Family = 4 | 6;

export interface KernelLink {
  index: number;
  name: string;
  /** "aa:bb:cc:dd:ee:ff"; '' when the link has none. */
  mac: string;
  /** IFF_UP: administratively up. */
  up: boolean;
  /** IFLA_OPERSTATE (RFC 2863 numbering), undefined when absent. */
  operState: number | undefined;
  mtu: number;
  /** IFLA_IFALIAS, '' when unset. */
  alias: string;
  /** IFLA_GROUP: the interface group, 0 (the default group) when absent. */
  group: number;
  /** IFLA_LINK: for a veth its peer's index (in the peer's netns), 0 when absent. */
  peerIndex: number;
}

export interface KernelAddress {
  /** The link holding it. */
  index: number;
  family: Family;
  /** The local address (IFA_LOCAL, else IFA_ADDRESS), as text. */
  address: string;
  prefixLen: number;
}

export interface KernelRoute {
  family: Family;
  /** Destination address as text ("0.0.0.0" / "::" for a default route). */
  dst: string;
  dstLen: number;
  /** '' when the route has no gateway. */
  gateway: string;
  /** Output link index, 0 when absent. */
  oif: number;
  table: number;
  /** rtm_protocol as a number (199 = podwire's pod routes, 198 = its peer routes). */
  protocol: number;
  scope: number;
  type: number;
}

export interface KernelNeighbour {
  index: number;
  family: Family;
  dst: string;
  /** '' when the entry has no link-layer address. */
  lladdr: string;
  /** NUD_PERMANENT: a static entry. */
  permanent: boolean;
}

/** rtm_table of the main routing table. */
export const RT_TABLE_MAIN = 254;

/** rtm_scope values (`ip route ... scope`). */
export const RT_SCOPE_UNIVERSE = 0;
export const RT_SCOPE_LINK = 253;
export const RT_SCOPE_HOST = 254;

/** rtm_type of an ordinary route. */
export const RTN_UNICAST = 1;

/** rtm_protocol "boot": what `ip route add` uses unless told otherwise. */
export const RTPROT_BOOT = 3;

/** rtm_protocol numbers iproute2 names (rt_protos), for messages; others print as numbers. */
const PROTOCOL_NAMES: Readonly<Record<number, string>> = { 0: 'unspec', 1: 'redirect', 2: 'kernel', 3: 'boot', 4: 'static' };

/** A route's rtm_protocol as `ip route` prints it ("static", "199"). */
export function routeProtocolName(protocol: number): string {
  return PROTOCOL_NAMES[protocol] ?? String(protocol);
}

/** IFLA_OPERSTATE values (RFC 2863), as `ip link` prints them. */
const OPER_STATES = ['unknown', 'notpresent', 'down', 'lowerlayerdown', 'testing', 'dormant', 'up'];

export function operStateName(value: number | undefined): string {
  if (value === undefined) return 'unknown';
  return OPER_STATES[value] ?? String(value);
}
