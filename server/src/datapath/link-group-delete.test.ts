/**
 * deleteLinksAsGroup's bookkeeping with a scripted socket: which caller gets which outcome
 * when single operations of a batch fail (the real-netlink behaviour is covered by
 * batching-host-programmer.test.ts inside a private netns).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RtNetlinkSocket } from 'netlink';
import { deleteLinksAsGroup } from './link-group-delete';

function scripted(opts: { failMove?: Record<number, string>; failGroupDelete?: boolean; failDelete?: Record<number, string> }) {
  const calls: string[] = [];
  const sock = {
    async setLink(data: { index: number }, attrs: { group: number }) {
      calls.push(`move ${data.index} -> ${attrs.group}`);
      const err = opts.failMove?.[data.index];
      if (err) throw new Error(`Request rejected: ${err}`);
      return [];
    },
    async delLink(data: { index: number }, attrs: { group?: number }) {
      calls.push(data.index === 0 ? `delete group ${attrs.group}` : `delete ${data.index}`);
      if (data.index === 0 && opts.failGroupDelete) throw new Error('Request rejected: EOPNOTSUPP');
      const err = opts.failDelete?.[data.index];
      if (err) throw new Error(`Request rejected: ${err}`);
      return [];
    },
  };
  return { sock: sock as unknown as RtNetlinkSocket, calls };
}

test('a batch is moved into the group and deleted with one request', async () => {
  const { sock, calls } = scripted({});
  assert.deepEqual(await deleteLinksAsGroup(sock, 7, [3, 4, 5]), [{ index: 3 }, { index: 4 }, { index: 5 }]);
  assert.deepEqual(calls.filter((c) => c.startsWith('delete')), ['delete group 7']);
});

test('a link that cannot be moved fails only its caller; a gone one succeeds', async () => {
  const { sock, calls } = scripted({ failMove: { 4: 'EBUSY', 5: 'ENODEV' } });
  assert.deepEqual(await deleteLinksAsGroup(sock, 7, [3, 4, 5]), [{ index: 3 }, { index: 4, error: 'Request rejected: EBUSY' }, { index: 5 }]);
  assert.ok(calls.includes('delete group 7'));
});

test('when the group delete fails, each link is deleted alone and keeps its own outcome', async () => {
  const { sock, calls } = scripted({ failGroupDelete: true, failDelete: { 4: 'EIO' } });
  assert.deepEqual(await deleteLinksAsGroup(sock, 9, [3, 4]), [{ index: 3 }, { index: 4, error: 'Request rejected: EIO' }]);
  assert.deepEqual(calls.filter((c) => c.startsWith('delete')).sort(), ['delete 3', 'delete 4', 'delete group 9']);
});

test('a single link is deleted directly; index 0 or below is refused before anything is sent', async () => {
  const { sock, calls } = scripted({});
  assert.deepEqual(await deleteLinksAsGroup(sock, 7, [3]), [{ index: 3 }]);
  assert.deepEqual(calls, ['delete 3']);
  await assert.rejects(deleteLinksAsGroup(sock, 7, [3, 0]), /refusing/);
  assert.deepEqual(calls, ['delete 3']);
});
