import * as ipaddr from 'ipaddr.js';
import type { Family } from './kernel-objects';

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

export const AF_INET = 2;
export const AF_INET6 = 10;

export function afOf(family: Family): number {
  return family === 6 ? AF_INET6 : AF_INET;
}

export function familyOf(af: number | undefined): Family {
  return af === AF_INET6 ? 6 : 4;
}

/** The family of an address or CIDR text. */
export function familyOfText(text: string): Family {
  return text.includes(':') ? 6 : 4;
}
