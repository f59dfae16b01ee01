/**
 * The parts of npm `netlink` podwired uses, each required from its own file. The package's
 * index also loads its nl80211, WireGuard and generic netlink modules (over half of its ~580 KB
 * of JavaScript), which podwired never uses: compiled on every start, on the event loop and on
 * the datapath thread alike, where the thread's host read for reconcile waits behind them.
 */
export { Flags, FlagsGet, FlagsNew, MessageType, Protocol } from 'netlink/dist/constants';
export { RawNetlinkSocket } from 'netlink/dist/raw';
export { AttrStream, type NetlinkMessage, type StreamData, formatMessage, parseError, parseMessages } from 'netlink/dist/structs';
export * as ifla from 'netlink/dist/rt/ifla';
export * as rt from 'netlink/dist/rt/structs';
