import * as ipaddr from 'ipaddr.js';
import { AttrStream, StreamData } from 'netlink';

export const AF_INET = 2;
export const AF_INET6 = 10;
export const RT_TABLE_MAIN = 254;
/**
 * rtm_protocol of every host route podwire installs, so reconcile can find its own routes
 * and never touch anyone else's. Unassigned in iproute2's rt_protos (shown as "199").
 */
export const RTPROT_PODWIRE = 199;

/** Flattens npm netlink's StreamData into one buffer (for nested attributes such as linkinfo). */
export function encodeStream(data: StreamData): Buffer {
  const s = new AttrStream();
  s.emit(data);
  return Buffer.concat(s.bufs);
}

export function addressBytes(address: string): Buffer {
  return Buffer.from(ipaddr.parse(address).toByteArray());
}

export function bytesToAddress(bytes: Buffer): string {
  return ipaddr.fromByteArray([...bytes]).toString();
}

export function macToString(mac: Buffer | undefined): string {
  if (!mac) return '';
  return [...mac].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

export function macBytes(mac: string): Buffer {
  return Buffer.from(mac.split(':').map((h) => parseInt(h, 16)));
}
