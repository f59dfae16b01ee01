/**
 * deleteLinksAsGroup's bookkeeping with scripted link requests: which caller gets which
 * outcome when single operations of a batch fail (the real-netlink behaviour is covered by
 * batching-host-programmer.test.ts inside a private netns).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type LinkDeleteOps, deleteLinksAsGroup } from './link-group-delete';
import { RtnlError } from './rtnl-error';

const refused = (what: string, code: string): RtnlError => new RtnlError(what, 0, code);

function scripted(opts: { failMove?: Record<number, string>; failGroupDelete?: boolean; failDelete?: Record<number, string> }) {
  const calls: string[] = [];
  const ops: LinkDeleteOps = {
    async moveToGroup(indexes, group) {
      return indexes.map((index) => {
        calls.push(`move ${index} -> ${group}`);
        const err = opts.failMove?.[index];
        return err ? refused(`move ${index}`, err) : undefined;
      });
    },
    async deleteGroup(group) {
      calls.push(`delete group ${group}`);
      if (opts.failGroupDelete) throw refused(`delete group ${group}`, 'EOPNOTSUPP');
    },
    async deleteOne(index) {
      calls.push(`delete ${index}`);
      const err = opts.failDelete?.[index];
      if (err) throw refused(`delete ${index}`, err);
    },
  };
  return { ops, calls };
}

test('a batch is moved into the group and deleted with one request', async () => {
  const { ops, calls } = scripted({});
  assert.deepEqual(await deleteLinksAsGroup(ops, 7, [3, 4, 5]), [{ index: 3 }, { index: 4 }, { index: 5 }]);
  assert.deepEqual(
    calls.filter((c) => c.startsWith('delete')),
    ['delete group 7'],
  );
});

test('a link that cannot be moved fails only its caller; a gone one succeeds', async () => {
  const { ops, calls } = scripted({ failMove: { 4: 'EBUSY', 5: 'ENODEV' } });
  assert.deepEqual(await deleteLinksAsGroup(ops, 7, [3, 4, 5]), [{ index: 3 }, { index: 4, error: 'move 4: EBUSY' }, { index: 5 }]);
  assert.ok(calls.includes('delete group 7'));
});

test('when the group delete fails, each link is deleted alone and keeps its own outcome', async () => {
  const { ops, calls } = scripted({ failGroupDelete: true, failDelete: { 4: 'EIO' } });
  assert.deepEqual(await deleteLinksAsGroup(ops, 9, [3, 4]), [{ index: 3 }, { index: 4, error: 'delete 4: EIO' }]);
  assert.deepEqual(calls.filter((c) => c.startsWith('delete')).sort(), ['delete 3', 'delete 4', 'delete group 9']);
});

test('a single link is deleted directly; index 0 or below is refused before anything is sent', async () => {
  const { ops, calls } = scripted({});
  assert.deepEqual(await deleteLinksAsGroup(ops, 7, [3]), [{ index: 3 }]);
  assert.deepEqual(calls, ['delete 3']);
  await assert.rejects(deleteLinksAsGroup(ops, 7, [3, 0]), /refusing/);
  assert.deepEqual(calls, ['delete 3']);
});
