export { IpamError, isIpamError } from './ipam-error';
export type { IpamErrorKind } from './ipam-error';
export type { IpFamily } from './ip-address';
export { parseRangeSets, rangeSetId, describeRangeSet } from './ip-range';
export type { IpRange, RangeSet } from './ip-range';
export type {
  Allocation,
  Attachment,
  AttachmentFilter,
  AttachmentKey,
  AttachmentState,
  AttachmentWithLeases,
  IpamStore,
  Lease,
  NewAttachment,
  RangeSetUsage,
  AllocateOptions,
} from './ipam-store';
export { SqliteIpamStore, openIpamStore } from './sqlite-ipam-store';
export type { OpenOptions } from './sqlite-ipam-store';
export { SCHEMA_VERSION } from './schema';
