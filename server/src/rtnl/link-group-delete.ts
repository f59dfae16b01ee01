import { isGone, reasonOf } from './rtnl-error';
import { deleteLink, deleteLinkGroup, setLinkGroup } from './requests';
import type { RtnlSocket } from './rtnl-socket';

/** One link's outcome in a batch delete: `error` is the kernel's reason when it failed. */
export interface LinkDeleteOutcome {
  index: number;
  error?: string;
}

/** The three link requests a batch delete needs (an RtnlSocket in podwired; scripted in tests). */
export interface LinkDeleteOps {
  /** Moves each link into `group`, all in one send; one outcome (undefined = moved) per index. */
  moveToGroup(indexes: readonly number[], group: number): Promise<Array<unknown | undefined>>;
  deleteGroup(group: number): Promise<void>;
  deleteOne(index: number): Promise<void>;
}

export function linkDeleteOps(sock: RtnlSocket): LinkDeleteOps {
  return {
    moveToGroup: async (indexes, group) => (await sock.exchange(indexes.map((i) => setLinkGroup(i, group)))).map((o) => o.error),
    deleteGroup: async (group) => void (await sock.request(deleteLinkGroup(group))),
    deleteOne: async (index) => void (await sock.request(deleteLink(index))),
  };
}

async function deleteOne(ops: LinkDeleteOps, index: number): Promise<LinkDeleteOutcome> {
  try {
    await ops.deleteOne(index);
    return { index };
  } catch (err) {
    return isGone(err) ? { index } : { index, error: reasonOf(err) };
  }
}

/**
 * Deletes links paying the kernel's per-RTM_DELLINK RCU grace period once: one link is
 * deleted directly; several are moved into interface group `group` and the group is deleted
 * with one request. A link already gone counts as deleted; a link that cannot be moved fails
 * alone; if the group delete fails, the moved links are deleted one by one.
 */
export async function deleteLinksAsGroup(ops: LinkDeleteOps, group: number, indexes: number[]): Promise<LinkDeleteOutcome[]> {
  for (const index of indexes) {
    // With index 0 a link request acts on every link (of the group): never send one.
    if (!Number.isInteger(index) || index <= 0) throw new Error(`refusing to delete link index ${index}`);
  }
  if (indexes.length === 1) return [await deleteOne(ops, indexes[0] ?? 0)];
  const outcomes = new Map<number, LinkDeleteOutcome>();
  const moved: number[] = [];
  const moves = await ops.moveToGroup(indexes, group);
  indexes.forEach((index, i) => {
    const err = moves[i];
    if (err === undefined) moved.push(index);
    else outcomes.set(index, isGone(err) ? { index } : { index, error: reasonOf(err) });
  });
  if (moved.length > 0) {
    try {
      await ops.deleteGroup(group);
      for (const index of moved) outcomes.set(index, { index });
    } catch {
      for (const o of await Promise.all(moved.map((index) => deleteOne(ops, index)))) outcomes.set(o.index, o);
    }
  }
  return indexes.map((index) => outcomes.get(index) ?? { index, error: 'no outcome' });
}
