import { RtNetlinkSocket } from 'netlink';
import { isGone } from './netlink-errors';
import { NL_OPTS } from './netlink-timeout';

/** One link's outcome in a batch delete: `error` is the netlink error text when it failed. */
export interface LinkDeleteOutcome {
  index: number;
  error?: string;
}

async function deleteOne(sock: RtNetlinkSocket, index: number): Promise<LinkDeleteOutcome> {
  try {
    await sock.delLink({ index }, {}, NL_OPTS);
    return { index };
  } catch (err) {
    return isGone(err) ? { index } : { index, error: err instanceof Error ? err.message : String(err) };
  }
}

/**
 * Deletes links paying the kernel's per-RTM_DELLINK RCU grace period once: one link is
 * deleted directly; several are moved into interface group `group` and the group is deleted
 * with one request. A link already gone counts as deleted; a link that cannot be moved fails
 * alone; if the group delete fails, the moved links are deleted one by one.
 */
export async function deleteLinksAsGroup(sock: RtNetlinkSocket, group: number, indexes: number[]): Promise<LinkDeleteOutcome[]> {
  for (const index of indexes) {
    // With index 0 a link request acts on every link (of the group): never send one.
    if (!Number.isInteger(index) || index <= 0) throw new Error(`refusing to delete link index ${index}`);
  }
  if (indexes.length === 1) return [await deleteOne(sock, indexes[0] ?? 0)];
  const outcomes = new Map<number, LinkDeleteOutcome>();
  const moved: number[] = [];
  await Promise.all(
    indexes.map(async (index) => {
      try {
        await sock.setLink({ index }, { group }, NL_OPTS);
        moved.push(index);
      } catch (err) {
        outcomes.set(index, isGone(err) ? { index } : { index, error: err instanceof Error ? err.message : String(err) });
      }
    }),
  );
  if (moved.length > 0) {
    try {
      await sock.delLink({ index: 0 }, { group }, NL_OPTS);
      for (const index of moved) outcomes.set(index, { index });
    } catch {
      for (const o of await Promise.all(moved.map((index) => deleteOne(sock, index)))) outcomes.set(o.index, o);
    }
  }
  return indexes.map((index) => outcomes.get(index) ?? { index, error: 'no outcome' });
}
