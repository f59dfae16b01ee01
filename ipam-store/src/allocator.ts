/**
 * Round-robin search for a free address in a range set, independent of storage.
 *
 * The caller supplies `usedIn(lo, hi, limit)`: the leased addresses of the
 * set's family within [lo, hi], ascending and distinct, at most `limit` of them
 * (the SQLite store answers it from its addr_key index, over every network's
 * leases and its own uncommitted holds: addresses are unique per node). The search walks the
 * used addresses from the start point in growing chunks, so one allocation
 * costs O(log n + length of the contiguous used run it lands on), never a scan
 * of all leases.
 */
import type { IpRange, RangeSet } from './ip-range';

/**
 * Leased addresses in ascending order. valueAt decodes lazily so that a chunk
 * that turns out to be one contiguous run costs two decodes, not one per row.
 */
export interface UsedChunk {
  readonly length: number;
  valueAt(index: number): bigint;
}

export type UsedLookup = (lo: bigint, hi: bigint, limit: number) => UsedChunk;

/** A UsedChunk over already-decoded values. */
export function chunkOf(values: readonly bigint[]): UsedChunk {
  return {
    length: values.length,
    valueAt: (i) => {
      const v = values[i];
      if (v === undefined) throw new RangeError(`chunk index ${i} out of ${values.length}`);
      return v;
    },
  };
}

export interface FoundAddress {
  readonly range: IpRange;
  readonly value: bigint;
}

const FIRST_CHUNK = 8;
const MAX_CHUNK = 1024;

/** Smallest address >= v that is not reserved in the range. */
function skipReserved(range: IpRange, v: bigint): bigint {
  let candidate = v;
  for (const r of range.reserved) {
    if (r === candidate) candidate++;
    else if (r > candidate) break;
  }
  return candidate;
}

/** First free, non-reserved address in [lo, hi] of the range, or undefined. */
export function firstFreeIn(range: IpRange, lo: bigint, hi: bigint, usedIn: UsedLookup): bigint | undefined {
  let candidate = skipReserved(range, lo);
  let limit = FIRST_CHUNK;
  while (candidate <= hi) {
    const used = usedIn(candidate, hi, limit);
    const lastIndex = used.length - 1;
    let last: bigint | undefined;
    for (let i = 0; i <= lastIndex; i++) {
      const u = used.valueAt(i);
      if (u < candidate) continue;
      if (u > candidate) return candidate;
      // candidate is used. Keys are unique and sorted, so if the rest of the
      // chunk spans exactly as many addresses as it has rows, it is one
      // contiguous used run: jump past it.
      last ??= used.valueAt(lastIndex);
      candidate = skipReserved(range, last - u === BigInt(lastIndex - i) ? last + 1n : candidate + 1n);
      if (candidate > hi) return undefined;
      if (candidate > last) break;
    }
    if (used.length < limit) return candidate;
    limit = Math.min(limit * 4, MAX_CHUNK);
  }
  return undefined;
}

/**
 * The next free address of the set after `cursor` (the last address handed
 * out), in configuration order of the ranges, wrapping around to the start of
 * the set and ending with the cursor itself. Without a cursor, or when the
 * cursor is in none of the set's ranges, the search starts at the first range.
 */
export function findNextFree(set: RangeSet, cursor: bigint | undefined, usedIn: UsedLookup): FoundAddress | undefined {
  const ranges = set.ranges;
  const at = cursor === undefined ? -1 : ranges.findIndex((r) => cursor >= r.first && cursor <= r.last);
  const segments: Array<[IpRange, bigint, bigint]> = [];
  const current = at >= 0 ? ranges[at] : undefined;
  if (current === undefined || cursor === undefined) {
    for (const r of ranges) segments.push([r, r.first, r.last]);
  } else {
    if (cursor < current.last) segments.push([current, cursor + 1n, current.last]);
    for (let i = 1; i < ranges.length; i++) {
      const r = ranges[(at + i) % ranges.length];
      if (r !== undefined) segments.push([r, r.first, r.last]);
    }
    segments.push([current, current.first, cursor]);
  }
  for (const [range, lo, hi] of segments) {
    const value = firstFreeIn(range, lo, hi, usedIn);
    if (value !== undefined) return { range, value };
  }
  return undefined;
}
