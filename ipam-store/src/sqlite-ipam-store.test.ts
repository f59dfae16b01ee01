import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { IpamError, type IpamErrorKind } from './ipam-error';
import { type RangeSet, parseRangeSets } from './ip-range';
import type { IpamStore, NewAttachment } from './ipam-store';
import { openIpamStore } from './sqlite-ipam-store';
import { plantPendingAttachment } from './legacy-pending';
import { addCommitted, attachment, dbPathIn, makeTempDir, rawConnection, removeTempDir, scalar } from './test-support';

let dir = '';
before(() => {
  dir = makeTempDir();
});
after(() => removeTempDir(dir));

function throwsKind(fn: () => unknown, kind: IpamErrorKind, pattern?: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof IpamError, `expected IpamError, got ${String(err)}`);
    assert.equal(err.kind, kind, err.message);
    if (pattern) assert.match(err.message, pattern);
    return true;
  });
}

/** Open a fresh store; returns it with its path. */
function fresh(): { store: IpamStore; path: string } {
  const path = dbPathIn(dir);
  return { store: openIpamStore(path), path };
}

function addresses(store: IpamStore, att: NewAttachment, sets: readonly RangeSet[], requested?: string[]): string[] {
  return addCommitted(store, att, sets, requested ? { requested } : {}).map((l) => l.address);
}

const small = parseRangeSets({ ranges: [[{ subnet: '10.0.0.0/24', rangeStart: '10.0.0.10', rangeEnd: '10.0.0.14' }]] });
const dual = parseRangeSets({
  ranges: [
    [{ subnet: '10.22.0.0/16', rangeStart: '10.22.1.10', rangeEnd: '10.22.1.200', gateway: '10.22.0.1' }],
    [{ subnet: 'fd00:22::/64', gateway: 'fd00:22::1' }],
  ],
});

describe('allocation', () => {
  test('dual-stack allocation returns one lease per set with prefix and gateway; commit records it ready', () => {
    const { store } = fresh();
    const leases = addCommitted(
      store,
      { ...attachment('c1'), podNamespace: 'ns', podName: 'p', podUid: 'u', infraContainerId: 'i' },
      dual,
      {},
      '{"cniVersion":"1.1.0"}',
    );
    assert.deepEqual(leases, [
      { network: 'net1', containerId: 'c1', ifname: 'eth0', address: '10.22.1.10', family: 4, prefixLength: 16, gateway: '10.22.0.1', setIndex: 0 },
      { network: 'net1', containerId: 'c1', ifname: 'eth0', address: 'fd00:22::2', family: 6, prefixLength: 64, gateway: 'fd00:22::1', setIndex: 1 },
    ]);
    const got = store.get(attachment('c1'));
    assert.ok(got);
    assert.deepEqual(got.leases, leases);
    assert.equal(got.attachment.state, 'ready');
    assert.equal(got.attachment.podName, 'p');
    assert.equal(got.attachment.infraContainerId, 'i');
    assert.equal(got.attachment.result, '{"cniVersion":"1.1.0"}');
    assert.ok(Math.abs(got.attachment.createdAt - Date.now()) < 60_000);
    store.close();
  });

  test('skips the network, broadcast and gateway addresses (IPv4)', () => {
    const { store } = fresh();
    const sets = parseRangeSets([[{ subnet: '10.9.0.0/29', rangeStart: '10.9.0.0', rangeEnd: '10.9.0.7', gateway: '10.9.0.3' }]]);
    const got: string[] = [];
    for (let i = 0; i < 5; i++) got.push(...addresses(store, attachment(`c${i}`), sets));
    assert.deepEqual(got, ['10.9.0.1', '10.9.0.2', '10.9.0.4', '10.9.0.5', '10.9.0.6']);
    throwsKind(() => addCommitted(store, attachment('c5'), sets), 'exhausted', /10\.9\.0\.0-10\.9\.0\.7 \(10\.9\.0\.0\/29\)/);
    store.close();
  });

  test('skips the network and gateway addresses (IPv6), uses the last address', () => {
    const { store } = fresh();
    const sets = parseRangeSets([[{ subnet: 'fd00::/125', rangeStart: 'fd00::', gateway: 'fd00::1' }]]);
    const got: string[] = [];
    for (let i = 0; i < 6; i++) got.push(...addresses(store, attachment(`c${i}`), sets));
    assert.deepEqual(got, ['fd00::2', 'fd00::3', 'fd00::4', 'fd00::5', 'fd00::6', 'fd00::7']);
    throwsKind(() => addCommitted(store, attachment('c6'), sets), 'exhausted');
    store.close();
  });

  test('round-robin: a released address is not reused before the rest of the pool; wrap-around', () => {
    const { store } = fresh();
    assert.deepEqual(addresses(store, attachment('a'), small), ['10.0.0.10']);
    assert.deepEqual(addresses(store, attachment('b'), small), ['10.0.0.11']);
    store.remove(attachment('b'));
    // the address just released is not handed out again
    assert.deepEqual(addresses(store, attachment('c'), small), ['10.0.0.12']);
    store.remove(attachment('a'));
    assert.deepEqual(addresses(store, attachment('d'), small), ['10.0.0.13']);
    assert.deepEqual(addresses(store, attachment('e'), small), ['10.0.0.14']);
    // wrap around to the start of the set
    assert.deepEqual(addresses(store, attachment('f'), small), ['10.0.0.10']);
    assert.deepEqual(addresses(store, attachment('g'), small), ['10.0.0.11']);
    store.close();
  });

  test('exhaustion then success after a release', () => {
    const { store } = fresh();
    for (let i = 0; i < 5; i++) addCommitted(store, attachment(`c${i}`), small);
    throwsKind(() => addCommitted(store, attachment('c5'), small), 'exhausted', /network net1 range set 0: 10\.0\.0\.10-10\.0\.0\.14 \(10\.0\.0\.0\/24\)/);
    assert.equal(store.get(attachment('c5')), undefined, 'failed allocation left no attachment');
    const removed = store.remove(attachment('c2'));
    assert.equal(removed?.leases[0]?.address, '10.0.0.12');
    assert.deepEqual(addresses(store, attachment('c5'), small), ['10.0.0.12']);
    store.close();
  });

  test('multi-range set: ranges are used in order, each lease carries its range prefix and gateway', () => {
    const { store } = fresh();
    const sets = parseRangeSets([
      [
        { subnet: '10.1.0.0/24', rangeStart: '10.1.0.10', rangeEnd: '10.1.0.11', gateway: '10.1.0.1' },
        { subnet: '10.2.0.0/16', rangeStart: '10.2.0.10', rangeEnd: '10.2.0.10' },
      ],
    ]);
    const leases = ['a', 'b', 'c'].map((c) => addCommitted(store, attachment(c), sets)[0]);
    assert.deepEqual(
      leases.map((l) => [l?.address, l?.prefixLength, l?.gateway]),
      [
        ['10.1.0.10', 24, '10.1.0.1'],
        ['10.1.0.11', 24, '10.1.0.1'],
        ['10.2.0.10', 16, undefined],
      ],
    );
    store.remove(attachment('a'));
    assert.deepEqual(addresses(store, attachment('d'), sets), ['10.1.0.10']);
    store.close();
  });

  test('networks keep their own leases, but an address is leased once on the node', () => {
    const { store } = fresh();
    assert.deepEqual(addresses(store, attachment('a', 'netA'), small), ['10.0.0.10']);
    assert.deepEqual(addresses(store, attachment('a', 'netB'), small), ['10.0.0.11']);
    assert.equal(store.listLeases('netA').length, 1);
    assert.equal(store.listLeases().length, 2);
    store.close();
  });
});

describe('requested addresses', () => {
  test('a requested address fills its set; the other sets allocate; the cursor does not move', () => {
    const { store } = fresh();
    assert.deepEqual(addresses(store, attachment('a'), dual, ['10.22.1.150']), ['10.22.1.150', 'fd00:22::2']);
    assert.deepEqual(addresses(store, attachment('b'), dual, ['FD00:22::0:99']), ['10.22.1.10', 'fd00:22::99']);
    assert.deepEqual(addresses(store, attachment('c'), dual), ['10.22.1.11', 'fd00:22::3']);
    store.close();
  });

  test('in use, out of range, reserved, malformed, two in one set', () => {
    const { store, path } = fresh();
    addCommitted(store, attachment('a'), dual, { requested: ['10.22.1.50'] });
    throwsKind(() => addCommitted(store, attachment('b'), dual, { requested: ['10.22.1.50'] }), 'requested-in-use', /10\.22\.1\.50/);
    throwsKind(() => addCommitted(store, attachment('b'), dual, { requested: ['10.22.2.1'] }), 'requested-not-in-range', /10\.22\.2\.1/);
    throwsKind(() => addCommitted(store, attachment('b'), dual, { requested: ['fd00:23::5'] }), 'requested-not-in-range');
    throwsKind(() => addCommitted(store, attachment('b'), dual, { requested: ['fd00:22::1'] }), 'requested-not-in-range', /reserved/);
    throwsKind(() => addCommitted(store, attachment('b'), dual, { requested: ['10.22.1'] }), 'invalid-argument');
    throwsKind(() => addCommitted(store, attachment('b'), dual, { requested: ['10.22.1.60', '10.22.1.61'] }), 'invalid-argument', /more than one/);
    // none of the failures left anything behind
    const raw = rawConnection(path);
    assert.equal(scalar(raw, 'SELECT count(*) FROM attachments'), 1);
    assert.equal(scalar(raw, 'SELECT count(*) FROM leases'), 2);
    raw.close();
    store.close();
  });
});

describe('attachment lifecycle', () => {
  test('exists on a duplicate key leaves no extra rows and does not move the cursors', () => {
    const { store, path } = fresh();
    addCommitted(store, attachment('a'), dual);
    const raw = rawConnection(path);
    const cursorsBefore = raw.prepare('SELECT * FROM cursors ORDER BY set_id').all();
    throwsKind(() => addCommitted(store, { ...attachment('a'), netns: '/other' }, dual), 'exists', /net1\/a\/eth0/);
    assert.equal(scalar(raw, 'SELECT count(*) FROM attachments'), 1);
    assert.equal(scalar(raw, 'SELECT count(*) FROM leases'), 2);
    assert.deepEqual(raw.prepare('SELECT * FROM cursors ORDER BY set_id').all(), cursorsBefore);
    assert.equal(store.get(attachment('a'))?.attachment.netns, '/var/run/netns/a');
    // the same container on another interface is a different attachment
    assert.equal(addCommitted(store, attachment('a', 'net1', 'net0'), dual).length, 2);
    raw.close();
    store.close();
  });

  test('a failure in a later set holds nothing of the earlier sets (no partial allocation)', () => {
    const { store, path } = fresh();
    const sets = parseRangeSets([[{ subnet: '10.5.0.0/24' }], [{ subnet: 'fd00:5::/127' }]]);
    assert.deepEqual(addresses(store, attachment('a'), sets), ['10.5.0.1', 'fd00:5::1']);
    throwsKind(() => addCommitted(store, attachment('b'), sets), 'exhausted', /range set 1: fd00:5::1-fd00:5::1/);
    const raw = rawConnection(path);
    assert.equal(scalar(raw, 'SELECT count(*) FROM attachments'), 1);
    assert.equal(scalar(raw, 'SELECT count(*) FROM leases'), 2);
    raw.close();
    store.remove(attachment('a'));
    // the v4 cursor stayed at .1, so the next v4 address is .2
    assert.deepEqual(addresses(store, attachment('b'), sets), ['10.5.0.2', 'fd00:5::1']);
    store.close();
  });

  test('commit stores the result; an old pending row (as an older podwired wrote it) is listed by state, and its address stays taken', () => {
    const { store, path } = fresh();
    const result = JSON.stringify({ cniVersion: '1.0.0', ips: [{ address: '10.0.0.10/24' }] });
    addCommitted(store, attachment('a'), small, {}, result);
    const [planted] = plantPendingAttachment(path, attachment('b'), small);
    assert.equal(planted?.address, '10.0.0.11');
    const got = store.get(attachment('a'))?.attachment;
    assert.equal(got?.state, 'ready');
    assert.equal(got?.result, result);
    assert.equal(store.get(attachment('b'))?.attachment.result, undefined);
    assert.equal(addCommitted(store, attachment('c'), small)[0]?.address, '10.0.0.12', "the pending row's lease is not handed out");
    assert.deepEqual(
      store.listAttachments({ state: 'ready' }).map((a) => a.containerId),
      ['a', 'c'],
    );
    assert.deepEqual(
      store.listAttachments({ state: 'pending' }).map((a) => a.containerId),
      ['b'],
    );
    assert.deepEqual(store.listAttachments({ network: 'other' }), []);
    assert.equal(store.listAttachments().length, 3);
    assert.deepEqual(
      store.remove(attachment('b'))?.leases.map((l) => l.address),
      ['10.0.0.11'],
      'remove() takes a pending row and its lease',
    );
    store.close();
  });

  test('remove deletes the attachment and its leases, is idempotent, leaves no orphans', () => {
    const { store, path } = fresh();
    addCommitted(store, attachment('a'), dual);
    addCommitted(store, attachment('b'), dual);
    const removed = store.remove(attachment('a'));
    assert.equal(removed?.attachment.containerId, 'a');
    assert.deepEqual(
      removed?.leases.map((l) => l.address),
      ['10.22.1.10', 'fd00:22::2'],
    );
    assert.equal(store.remove(attachment('a')), undefined);
    assert.equal(store.get(attachment('a')), undefined);
    const raw = rawConnection(path);
    assert.equal(scalar(raw, "SELECT count(*) FROM leases WHERE container_id = 'a'"), 0);
    assert.equal(scalar(raw, 'SELECT count(*) FROM leases l LEFT JOIN attachments a USING (network, container_id, ifname) WHERE a.network IS NULL'), 0);
    assert.equal(scalar(raw, 'SELECT count(*) FROM leases'), 2);
    // the foreign key refuses a lease without an attachment
    assert.throws(
      () =>
        raw
          .prepare(
            `INSERT INTO leases (network, container_id, ifname, set_index, family, addr_key, address, prefix_length)
             VALUES ('net1', 'ghost', 'eth0', 0, 4, '4:0a160199', '10.22.1.153', 16)`,
          )
          .run(),
      /FOREIGN KEY/,
    );
    raw.close();
    store.close();
  });

  test('invalid keys and use after close', () => {
    const { store } = fresh();
    throwsKind(() => addCommitted(store, { ...attachment('a'), containerId: '' }, small), 'invalid-argument', /containerId/);
    throwsKind(() => store.get({ network: 'n', containerId: 'c', ifname: '' }), 'invalid-argument');
    store.close();
    store.close();
    throwsKind(() => addCommitted(store, attachment('a'), small), 'closed');
  });

  test('usage counts leases per set, of every network; size is capped for huge IPv6 sets', () => {
    const { store } = fresh();
    addCommitted(store, attachment('a'), dual);
    addCommitted(store, attachment('b'), dual);
    addCommitted(store, attachment('x', 'other'), dual);
    assert.deepEqual(store.usage('net1', dual), [
      { set: '10.22.0.0/16:10.22.1.10-10.22.1.200', used: 3, size: 191 },
      { set: 'fd00:22::/64:fd00:22::1-fd00:22::ffff:ffff:ffff:ffff', used: 3, size: Number.MAX_SAFE_INTEGER },
    ]);
    store.close();
  });
});

describe('persistence', () => {
  test('leases, attachments and cursors survive close/reopen', () => {
    const path = dbPathIn(dir);
    let store = openIpamStore(path);
    addCommitted(store, attachment('a'), dual, {}, '{"ok":true}');
    addCommitted(store, attachment('b'), dual);
    store.remove(attachment('b'));
    store.close();

    store = openIpamStore(path);
    const a = store.get(attachment('a'));
    assert.equal(a?.attachment.state, 'ready');
    assert.equal(a?.attachment.result, '{"ok":true}');
    assert.deepEqual(
      a?.leases.map((l) => l.address),
      ['10.22.1.10', 'fd00:22::2'],
    );
    // cursor survived: continues after b's addresses, which are not reused yet
    assert.deepEqual(addresses(store, attachment('c'), dual), ['10.22.1.12', 'fd00:22::4']);
    store.close();
  });
});
