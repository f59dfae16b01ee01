/**
 * The few shapes of libnftables' JSON schema (libnftables-json(5)) podwire writes and reads.
 * Commands are plain objects; these types only name them.
 */

/** One command of a transaction: {"add": {"table": {...}}}, {"delete": {"element": {...}}}... */
export type NftCommand = Record<string, unknown>;

/** One object of a list output: {"table": {...}}, {"set": {...}}, {"rule": {...}}... */
export type NftObject = Record<string, unknown>;

/** An expression or statement of a rule. */
export type NftExpr = Record<string, unknown> | string | number | NftExpr[];

export function payload(protocol: 'ip' | 'ip6' | 'th', field: 'saddr' | 'daddr' | 'dport'): NftExpr {
  return { payload: { protocol, field } };
}

export function meta(key: string): NftExpr {
  return { meta: { key } };
}

export function match(left: NftExpr, op: '==' | '!=' | 'in', right: NftExpr): NftExpr {
  return { match: { op, left, right } };
}

export function concat(...items: NftExpr[]): NftExpr {
  return { concat: items };
}

/** "@name": a reference to a set or map of the same table. */
export function setRef(name: string): string {
  return `@${name}`;
}

/** A prefix element or operand: 10.0.0.0/8. */
export function prefix(addr: string, len: number): NftExpr {
  return { prefix: { addr, len } };
}
