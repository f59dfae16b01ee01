import * as ipaddr from 'ipaddr.js';
import type { Family } from './kernel-objects';

/**
 * An IPv4 or IPv6 address in network order. Plain dotted-quad IPv4 text is read directly; any
 * other text (IPv6, and IPv4 forms ipaddr.js also reads: octal or hex parts, fewer parts) goes
 * through ipaddr.parse, which throws for text that is no address.
 */
export function addressBytes(address: string): Buffer {
  if (!address.includes(':')) {
    const parts = address.split('.');
    if (parts.length === 4) {
      const b = Buffer.alloc(4);
      let ok = true;
      parts.forEach((p, i) => {
        const v = /^(0|[1-9]\d{0,2})$/.test(p) ? Number(p) : NaN;
        if (!(v >= 0 && v <= 255)) ok = false;
        b[i] = v;
      });
      if (ok) return b;
    }
  }
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
