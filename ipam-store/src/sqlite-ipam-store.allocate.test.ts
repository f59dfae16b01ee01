import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { IpamError, type IpamErrorKind } from './ipam-error';
import { parseRangeSets } from './ip-range';
import { openIpamStore } from './sqlite-ipam-store';
import { addCommitted, attachment, dbPathIn, makeTempDir, rawConnection, removeTempDir, scalar } from './test-support';

let dir = '';
before(() => {
  dir = makeTempDir();
});
after(() => removeTempDir(dir));

function throwsKind(fn: () => unknown, kind: IpamErrorKind, pattern?: RegExp): void {
  assert.throws(fn, (err: unknown) => err instanceof IpamError && err.kind === kind && (!pattern || pattern.test(err.message)));
}

const small = parseRangeSets({ ranges: [[{ subnet: '10.0.0.0/24', rangeStart: '10.0.0.10', rangeEnd: '10.0.0.12' }]] });
const dual = parseRangeSets({ ranges: [[{ subnet: '10.22.0.0/16', rangeStart: '10.22.1.10', rangeEnd: '10.22.1.200' }], [{ subnet: 'fd00:22::/64' }]] });

test('allocate writes nothing; its addresses are held from every other allocate until commit', () => {
  const path = dbPathIn(dir);
  const store = openIpamStore(path);
  const a = store.allocate(attachment('a'), dual);
  assert.deepEqual(
    a.leases.map((l) => l.address),
    ['10.22.1.10', 'fd00:22::1'],
  );
  const raw = rawConnection(path);
  assert.equal(scalar(raw, 'SELECT count(*) FROM attachments'), 0, 'no row before commit');
  assert.equal(scalar(raw, 'SELECT count(*) FROM leases'), 0);
  const b = store.allocate(attachment('b'), dual);
  assert.deepEqual(
    b.leases.map((l) => l.address),
    ['10.22.1.11', 'fd00:22::2'],
    'the next addresses, not the held ones',
  );
  assert.deepEqual(
    addCommitted(store, attachment('c'), dual).map((l) => l.address),
    ['10.22.1.12', 'fd00:22::3'],
  );
  throwsKind(() => store.allocate(attachment('a'), dual), 'exists', /net1\/a\/eth0/);
  throwsKind(() => store.allocate(attachment('d'), dual, { requested: ['10.22.1.10'] }), 'requested-in-use', /10\.22\.1\.10/);

  a.commit('{"cniVersion":"1.1.0"}');
  const got = store.get(attachment('a'));
  assert.equal(got?.attachment.state, 'ready', 'committed ready in one transaction');
  assert.equal(got?.attachment.result, '{"cniVersion":"1.1.0"}');
  assert.deepEqual(
    got?.leases.map((l) => l.address),
    ['10.22.1.10', 'fd00:22::1'],
  );
  assert.equal(scalar(raw, "SELECT count(*) FROM attachments WHERE container_id = 'a' AND state = 'ready'"), 1, 'another connection sees it at once');
  throwsKind(() => a.commit('{}'), 'invalid-argument', /already committed/);
  a.release(); // a no-op after commit

  b.release();
  assert.equal(store.get(attachment('b')), undefined);
  // Round robin goes on past the released address; it is handed out again when the set wraps.
  assert.deepEqual(
    store.allocate(attachment('e'), dual).leases.map((l) => l.address),
    ['10.22.1.13', 'fd00:22::4'],
  );
  assert.deepEqual(
    store.allocate(attachment('f'), dual, { requested: ['10.22.1.11'] }).leases.map((l) => l.address),
    ['10.22.1.11', 'fd00:22::5'],
  );
  raw.close();
  store.close();
});

test('a hold counts against exhaustion, and its release gives the address back', () => {
  const store = openIpamStore(dbPathIn(dir));
  const held = [store.allocate(attachment('a'), small), store.allocate(attachment('b'), small), store.allocate(attachment('c'), small)];
  assert.deepEqual(
    held.map((h) => h.leases[0]?.address),
    ['10.0.0.10', '10.0.0.11', '10.0.0.12'],
  );
  throwsKind(() => store.allocate(attachment('d'), small), 'exhausted');
  throwsKind(() => addCommitted(store, attachment('d'), small), 'exhausted');
  held[1]?.release();
  assert.equal(store.allocate(attachment('d'), small).leases[0]?.address, '10.0.0.11');
  store.close();
});

test('a crash before commit (close without it) leaves nothing; the cursor a commit wrote survives a reopen', () => {
  const path = dbPathIn(dir);
  let store = openIpamStore(path);
  store.allocate(attachment('a'), dual).commit('{}');
  store.allocate(attachment('lost'), dual);
  store.close();
  store = openIpamStore(path);
  assert.equal(store.get(attachment('lost')), undefined);
  assert.deepEqual(
    store.listLeases().map((l) => l.containerId),
    ['a', 'a'],
  );
  assert.deepEqual(
    store.allocate(attachment('b'), dual).leases.map((l) => l.address),
    ['10.22.1.11', 'fd00:22::2'],
  );
  store.close();
});

test('commit fails cleanly when another connection leased the address meanwhile; the hold stays until released', () => {
  const path = dbPathIn(dir);
  const store = openIpamStore(path);
  const other = openIpamStore(path);
  const a = store.allocate(attachment('a'), small);
  assert.equal(addCommitted(other, attachment('x'), small)[0]?.address, '10.0.0.10', 'the other connection cannot see the hold');
  throwsKind(() => a.commit('{}'), 'conflict', /10\.0\.0\.10 of net1\/a\/eth0 was leased to network net1, container x, interface eth0 by another writer/);
  assert.equal(store.get(attachment('a')), undefined, 'nothing of the failed commit is written');
  throwsKind(() => store.allocate(attachment('a'), small), 'exists', /net1\/a\/eth0/);
  a.release();
  assert.equal(store.allocate(attachment('a'), small).leases[0]?.address, '10.0.0.11', 'once released, the key is free again');
  other.close();
  store.close();
});

test('keepPending writes the attachment pending, without a result, with its leases; the hold ends', () => {
  const store = openIpamStore(dbPathIn(dir));
  const a = store.allocate(attachment('a'), small);
  a.keepPending();
  const row = store.get(attachment('a'));
  assert.equal(row?.attachment.state, 'pending');
  assert.equal(row?.attachment.result, undefined);
  assert.deepEqual(
    row?.leases.map((l) => l.address),
    [a.leases[0]?.address],
  );
  a.release(); // a no-op once written
  throwsKind(() => a.commit('{}'), 'invalid-argument', /already committed or released/);
  store.close();
});

test('commit on a closed store says so', () => {
  const store = openIpamStore(dbPathIn(dir));
  const a = store.allocate(attachment('a'), small);
  store.close();
  throwsKind(() => a.commit('{}'), 'closed');
});
