import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DELETE_GROUP_BASE,
  DELETE_GROUP_SPAN,
  detachedName,
  hostVethName,
  isDeleteGroup,
  isDetachedName,
  linkOwner,
  ownedBy,
  ownerGroup,
  randomMac,
} from './link-identity';

test('host veth names are deterministic, at most 15 chars, and differ per key part', () => {
  const n = hostVethName('net', 'ctr', 'eth0');
  assert.match(n, /^pw[0-9a-f]{12}$/);
  assert.ok(n.length <= 15);
  assert.equal(hostVethName('net', 'ctr', 'eth0'), n);
  assert.notEqual(hostVethName('net2', 'ctr', 'eth0'), n);
  assert.notEqual(hostVethName('net', 'ctr2', 'eth0'), n);
  assert.notEqual(hostVethName('net', 'ctr', 'eth1'), n);
  // The separator keeps ("a", "bc") and ("ab", "c") apart.
  assert.notEqual(hostVethName('a', 'bc', 'x'), hostVethName('ab', 'c', 'x'));
  assert.ok(hostVethName('n', 'x'.repeat(1000), 'eth0').length <= 15);
});

test('detached names fit the kernel and differ from derived names', () => {
  assert.equal(detachedName(0x7fffffff), 'pz7fffffff');
  assert.ok(isDetachedName(detachedName(42)));
  assert.equal(isDetachedName(hostVethName('net', 'ctr', 'eth0')), false);
});

test('random MACs are unicast, locally administered, well formed and differ', () => {
  const macs = Array.from({ length: 200 }, randomMac);
  for (const mac of macs) {
    assert.match(mac, /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
    const first = parseInt(mac.slice(0, 2), 16);
    assert.equal(first & 1, 0, `${mac} is unicast`);
    assert.equal(first & 2, 2, `${mac} is locally administered`);
  }
  assert.equal(new Set(macs).size, macs.length);
});

test("owner groups: deterministic per owner tag, never the default group nor the batched deletes' range, and u32", () => {
  const tags = Array.from({ length: 500 }, (_, i) => i.toString(16).padStart(12, '0'));
  const groups = tags.map(ownerGroup);
  for (const g of groups) {
    assert.ok(Number.isInteger(g) && g >= 0x60000000 && g <= 0x6fffffff, `${g.toString(16)} in 0x6xxxxxxx`);
  }
  assert.equal(ownerGroup(tags[0] as string), groups[0]);
  assert.equal(new Set(groups).size, groups.length, 'distinct for distinct tags (28 bits of sha256)');
});

test("ownership: the owner's alias, or no alias and the owner's group (a crash before the alias); never another alias", () => {
  const me = linkOwner('aaaaaaaaaaaa');
  const other = linkOwner('bbbbbbbbbbbb');
  assert.equal(ownedBy({ alias: me.alias, group: 0 }, me), true, 'tagged by alias (a detached pair moved to a delete group keeps it)');
  assert.equal(ownedBy({ alias: me.alias, group: 0x50000001 }, me), true);
  assert.equal(ownedBy({ alias: '', group: me.group }, me), true, 'created, crashed before its alias');
  assert.equal(ownedBy({ alias: '', group: 0 }, me), false, 'an untagged link');
  assert.equal(ownedBy({ alias: '', group: other.group }, me), false, "another server's, before its alias");
  assert.equal(ownedBy({ alias: other.alias, group: me.group }, me), false, 'another alias wins over the group');
  assert.equal(ownedBy({ alias: 'something else', group: me.group }, me), false);
});

test("ownership: an alias-less link left in a delete group (a crash mid batched delete) is removable; one with an alias stays its alias owner's", () => {
  const me = linkOwner('aaaaaaaaaaaa');
  const other = linkOwner('bbbbbbbbbbbb');
  assert.equal(isDeleteGroup(DELETE_GROUP_BASE), true);
  assert.equal(isDeleteGroup(DELETE_GROUP_BASE + DELETE_GROUP_SPAN - 1), true);
  assert.equal(isDeleteGroup(DELETE_GROUP_BASE + DELETE_GROUP_SPAN), false);
  assert.equal(isDeleteGroup(me.group), false, 'owner groups are outside the delete range');
  assert.equal(ownedBy({ alias: '', group: DELETE_GROUP_BASE + 42 }, me), true);
  assert.equal(ownedBy({ alias: other.alias, group: DELETE_GROUP_BASE + 42 }, me), false);
  assert.equal(ownedBy({ alias: 'someone', group: DELETE_GROUP_BASE + 42 }, me), false);
});
