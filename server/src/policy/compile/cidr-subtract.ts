/** ipBlock arithmetic: a CIDR minus its `except` CIDRs, as disjoint prefixes. */
import * as ipaddr from 'ipaddr.js';

interface Prefix {
  v6: boolean;
  net: bigint;
  len: number;
}

function toPrefix(cidr: string): Prefix {
  const [addr, len] = ipaddr.parseCIDR(cidr);
  let net = 0n;
  for (const b of addr.toByteArray()) net = (net << 8n) | BigInt(b);
  return { v6: addr.kind() === 'ipv6', net, len };
}

function text(p: Prefix): string {
  const bytes: number[] = [];
  let n = p.net;
  for (let i = 0; i < (p.v6 ? 16 : 4); i++) {
    bytes.unshift(Number(n & 0xffn));
    n >>= 8n;
  }
  return `${ipaddr.fromByteArray(bytes).toString()}/${p.len}`;
}

const bits = (p: Prefix) => (p.v6 ? 128 : 32);

/** Whether `outer` contains `inner` (same family). */
function contains(outer: Prefix, inner: Prefix): boolean {
  if (outer.v6 !== inner.v6 || inner.len < outer.len) return false;
  const shift = BigInt(bits(outer) - outer.len);
  return inner.net >> shift === outer.net >> shift;
}

/**
 * `cidr` without the addresses of `except`, as the fewest disjoint prefixes a halving gives
 * (at most one per bit per except). Canonical CIDR texts in and out.
 */
export function subtractCidrs(cidr: string, except: readonly string[]): string[] {
  const ex = except.map(toPrefix);
  const out: string[] = [];
  const walk = (p: Prefix) => {
    if (ex.some((e) => contains(e, p))) return;
    if (!ex.some((e) => contains(p, e))) {
      out.push(text(p));
      return;
    }
    const len = p.len + 1;
    const half = 1n << BigInt(bits(p) - len);
    walk({ v6: p.v6, net: p.net, len });
    walk({ v6: p.v6, net: p.net | half, len });
  };
  walk(toPrefix(cidr));
  return out;
}
