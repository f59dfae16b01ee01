/**
 * One address, one attachment on the node, whatever the network: podwire's datapath gives
 * every pod address a /32 (/128) host route in the node's main table, so two networks whose
 * ranges overlap (two networks without ipam.ranges both take the node's pod CIDRs) must never
 * hand out the same address. Allocation, requested addresses, in-memory holds and the commit
 * all look across networks; a database that already holds a duplicate (written before this
 * was enforced) still opens.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { IpamError, type IpamErrorKind } from './ipam-error';
import { parseRangeSets } from './ip-range';
import { MIGRATIONS, SCHEMA_VERSION } from './schema';
import { openIpamStore } from './sqlite-ipam-store';
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

/** The node's pod CIDRs as two networks without ranges both get them. */
const podCidrs = parseRangeSets([[{ subnet: '10.244.1.0/24' }], [{ subnet: 'fd10:244:1::/64' }]]);
const small = parseRangeSets([[{ subnet: '10.0.0.0/24', rangeStart: '10.0.0.10', rangeEnd: '10.0.0.12' }]]);

test('two networks with the same ranges get distinct addresses, committed or only held', () => {
  const store = openIpamStore(dbPathIn(dir));
  const a = addCommitted(store, attachment('a', 'podwire'), podCidrs).map((l) => l.address);
  const b = addCommitted(store, attachment('b', 'net1'), podCidrs).map((l) => l.address);
  assert.deepEqual(a, ['10.244.1.1', 'fd10:244:1::1']);
  assert.deepEqual(b, ['10.244.1.2', 'fd10:244:1::2'], 'net1 skips what podwire leased');
  // Held, not committed yet: still no other network gets them.
  const held = store.allocate(attachment('c', 'podwire'), podCidrs);
  const other = store.allocate(attachment('d', 'net2'), podCidrs);
  assert.deepEqual(
    held.leases.map((l) => l.address),
    ['10.244.1.3', 'fd10:244:1::3'],
  );
  assert.deepEqual(
    other.leases.map((l) => l.address),
    ['10.244.1.4', 'fd10:244:1::4'],
  );
  held.commit('{}');
  other.commit('{}');
  const all = store.listLeases().map((l) => l.address);
  assert.equal(new Set(all).size, all.length, `no address twice: ${all.join(', ')}`);
  store.close();
});

test('the last free address of a shared range goes to one network only; the other is exhausted', () => {
  const store = openIpamStore(dbPathIn(dir));
  addCommitted(store, attachment('a', 'netA'), small);
  addCommitted(store, attachment('b', 'netB'), small);
  addCommitted(store, attachment('c', 'netA'), small);
  throwsKind(() => store.allocate(attachment('d', 'netB'), small), 'exhausted', /network netB/);
  store.remove(attachment('b', 'netB'));
  assert.equal(store.allocate(attachment('d', 'netB'), small).leases[0]?.address, '10.0.0.11');
  store.close();
});

test('a requested address leased or held by another network is refused, naming network, container and interface', () => {
  const store = openIpamStore(dbPathIn(dir));
  addCommitted(store, attachment('ctr-a', 'podwire'), podCidrs);
  throwsKind(
    () => store.allocate(attachment('ctr-b', 'net1', 'net1'), podCidrs, { requested: ['10.244.1.1'] }),
    'requested-in-use',
    /10\.244\.1\.1 is leased to network podwire, container ctr-a, interface eth0/,
  );
  const held = store.allocate(attachment('ctr-c', 'net2', 'eth1'), podCidrs);
  throwsKind(
    () => store.allocate(attachment('ctr-b', 'net1', 'net1'), podCidrs, { requested: ['fd10:244:1::2'] }),
    'requested-in-use',
    /fd10:244:1::2 is being added for network net2, container ctr-c, interface eth1/,
  );
  held.release();
  assert.deepEqual(
    store.allocate(attachment('ctr-b', 'net1', 'net1'), podCidrs, { requested: ['fd10:244:1::2'] }).leases.map((l) => l.address),
    ['10.244.1.2', 'fd10:244:1::2'],
    'free again once the hold is released (net1 has no cursor yet: it starts at the bottom)',
  );
  store.close();
});

test('commit refuses an address another connection leased meanwhile in another network', () => {
  const dbPath = dbPathIn(dir);
  const store = openIpamStore(dbPath);
  const other = openIpamStore(dbPath);
  const mine = store.allocate(attachment('a', 'podwire'), small);
  const theirs = store.allocate(attachment('r', 'podwire'), small, { requested: ['10.0.0.12'] });
  // The other connection cannot see this one's holds.
  addCommitted(other, attachment('x', 'net1'), small);
  addCommitted(other, attachment('y', 'net1'), small, { requested: ['10.0.0.12'] });
  throwsKind(() => mine.commit('{}'), 'conflict', /10\.0\.0\.10 .*network net1, container x, interface eth0/);
  throwsKind(() => theirs.commit('{}'), 'requested-in-use', /10\.0\.0\.12 .*network net1, container y, interface eth0/);
  assert.equal(store.get(attachment('a', 'podwire')), undefined, 'nothing of the failed commits is written');
  assert.equal(store.listLeases().length, 2);
  other.close();
  store.close();
});

test('usage counts every lease inside the set, whatever its network (what the set can still hand out)', () => {
  const store = openIpamStore(dbPathIn(dir));
  addCommitted(store, attachment('a', 'netA'), small);
  addCommitted(store, attachment('b', 'netB'), small);
  assert.deepEqual(store.usage('netA', small), [{ set: small[0]?.id, used: 2, size: 3 }]);
  assert.deepEqual(store.usage('netC', small), [{ set: small[0]?.id, used: 2, size: 3 }]);
  store.close();
});

/** A version-1 database, as podwire wrote it before addresses were unique per node. */
function versionOneDb(dbPath: string): Database.Database {
  fs.mkdirSync(path.dirname(dbPath), { recursive: true });
  const db = new Database(dbPath);
  const first = MIGRATIONS.find((m) => m.version === 1);
  assert.ok(first);
  db.exec(first.sql);
  db.pragma('user_version = 1');
  return db;
}

test('a database that already holds one address in two networks migrates; the address is then neither allocated nor requestable', () => {
  const dbPath = dbPathIn(dir);
  const old = versionOneDb(dbPath);
  const plant = (network: string, containerId: string) => {
    old
      .prepare(`INSERT INTO attachments (network, container_id, ifname, netns, host_ifname, state, result, created_at)
                 VALUES (?, ?, 'eth0', '/proc/1/ns/net', ?, 'ready', '{}', 1)`)
      .run(network, containerId, `pw${containerId}`);
    old
      .prepare(`INSERT INTO leases (network, container_id, ifname, set_index, family, addr_key, address, prefix_length)
                 VALUES (?, ?, 'eth0', 0, 4, '4:0a00000a', '10.0.0.10', 24)`)
      .run(network, containerId);
  };
  plant('podwire', 'a');
  plant('net1', 'b'); // the bug's state: 10.0.0.10 twice
  old.close();

  const store = openIpamStore(dbPath);
  const raw = rawConnection(dbPath);
  assert.equal(raw.pragma('user_version', { simple: true }), SCHEMA_VERSION);
  assert.ok(SCHEMA_VERSION >= 2);
  assert.equal(scalar(raw, "SELECT count(*) FROM leases WHERE address = '10.0.0.10'"), 2, 'the migration kept both rows');
  // A third network (no leases, no cursor of its own) does not get the address.
  assert.equal(store.allocate(attachment('c', 'net2'), small).leases[0]?.address, '10.0.0.11');
  throwsKind(() => store.allocate(attachment('d', 'net2'), small, { requested: ['10.0.0.10'] }), 'requested-in-use', /network (podwire|net1)/);
  assert.deepEqual(store.usage('net2', small), [{ set: small[0]?.id, used: 1, size: 3 }], 'the address counts once');
  // DEL of one holder leaves the other's lease; the address stays taken until both are gone.
  store.remove(attachment('a', 'podwire'));
  throwsKind(() => store.allocate(attachment('d', 'net2'), small, { requested: ['10.0.0.10'] }), 'requested-in-use', /network net1, container b/);
  store.remove(attachment('b', 'net1'));
  assert.equal(store.allocate(attachment('d', 'net2'), small, { requested: ['10.0.0.10'] }).leases[0]?.address, '10.0.0.10');
  raw.close();
  store.close();
});
