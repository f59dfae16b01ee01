/**
 * Element batches (element-batch.ts): what is sent without libnftables lands in the kernel
 * exactly as libnftables would have written it (read back with `nft -j`), a refused batch
 * changes nothing and throws like libnftables, and what the batch cannot express goes through
 * libnftables.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { nativeAddon } from '../native-addon';
import { RtnlSockets } from '../rtnl/rtnl-sockets';
import { TestNetns } from '../test-support/test-netns';
import { SetTypes, encodeElementBatch, encodeKey } from './element-batch';
import { NftContext } from './nft-context';
import { isNftError } from './nft-error';
import type { NftCommand } from './nft-json';

const sockets = new RtnlSockets();
let ns: TestNetns;

before(() => {
  ns = new TestNetns('elbatch');
});
after(() => {
  sockets.closeAll();
  ns.remove();
});

const SETS: Array<{ name: string; type: string | string[]; flags?: string[] }> = [
  { name: 'ifs', type: 'ifname' },
  { name: 'if4', type: ['ifname', 'ipv4_addr'] },
  { name: 'if6', type: ['ifname', 'ipv6_addr'] },
  { name: 'named', type: ['ifname', 'inet_proto', 'inet_service'] },
  { name: 'peer4', type: ['ipv4_addr', 'inet_proto', 'inet_service'] },
  { name: 'a6', type: 'ipv6_addr' },
  { name: 'cidrs', type: 'ipv4_addr', flags: ['interval'] },
];

const ELEMENTS: Record<string, unknown[]> = {
  ifs: ['pw0a1b2c3d', 'x'],
  if4: [{ concat: ['pw0a1b2c3d', '10.246.128.7'] }],
  if6: [{ concat: ['pw0a1b2c3d', 'fd77::1:7'] }],
  named: [{ concat: ['pw0a1b2c3d', 6, 8080] }, { concat: ['pwff', 132, 1] }],
  peer4: [{ concat: ['10.0.0.1', 17, 53] }],
  a6: ['2001:db8::ff'],
};

const decls = (table: string): NftCommand[] => [
  { add: { table: { family: 'inet', name: table } } },
  ...SETS.map((s) => ({ add: { set: { family: 'inet', table, ...s } } })),
];
const elementCommands = (op: 'add' | 'delete', table: string): NftCommand[] =>
  Object.entries(ELEMENTS).map(([name, elem]) => ({ [op]: { element: { family: 'inet', table, name, elem } } }));

function listed(table: string): Record<string, unknown> {
  const out = JSON.parse(execFileSync('ip', ['netns', 'exec', ns.name, 'nft', '-j', 'list', 'table', 'inet', table], { encoding: 'utf8' })) as {
    nftables: Array<{ set?: { name: string; elem?: unknown[] } }>;
  };
  return Object.fromEntries(out.nftables.filter((o) => o.set).map((o) => [o.set!.name, o.set!.elem ?? []]));
}

test('elements sent as a batch read back exactly as those libnftables wrote; deletes too', () => {
  const viaBatch = NftContext.open({ enter: (fn) => sockets.enter(ns.fd, fn) });
  const viaLib = NftContext.open({ enter: (fn) => sockets.enter(ns.fd, fn), native: requireNativeWithoutBatch() });
  try {
    viaBatch.run('declare', decls('eb-batch'));
    viaLib.run('declare', decls('eb-lib'));
    viaBatch.run('add', elementCommands('add', 'eb-batch'));
    viaLib.run('add', elementCommands('add', 'eb-lib'));
    assert.equal(viaBatch.batches, 1, 'the element adds went as a batch');
    assert.equal(viaLib.batches, 0);
    assert.deepEqual(listed('eb-batch'), listed('eb-lib'));
    assert.ok(JSON.stringify(listed('eb-batch').named).includes('8080'));
    // Adding what is there is no error (as libnftables' add).
    viaBatch.run('add again', elementCommands('add', 'eb-batch'));
    viaBatch.run('delete', elementCommands('delete', 'eb-batch'));
    assert.equal(viaBatch.batches, 3);
    for (const [name, elems] of Object.entries(listed('eb-batch'))) assert.deepEqual(elems, [], `${name} emptied`);
  } finally {
    viaBatch.run('clean', [{ delete: { table: { family: 'inet', name: 'eb-batch' } } }]);
    viaLib.run('clean', [{ delete: { table: { family: 'inet', name: 'eb-lib' } } }]);
    viaBatch.close();
    viaLib.close();
  }
});

test('a refused batch changes nothing and throws the kernel reason; interval sets and unknown sets go through libnftables', () => {
  const ctx = NftContext.open({ enter: (fn) => sockets.enter(ns.fd, fn) });
  const el = (op: 'add' | 'delete', name: string, elem: unknown[]): NftCommand => ({ [op]: { element: { family: 'inet', table: 'eb-fail', name, elem } } });
  try {
    ctx.run('declare', decls('eb-fail'));
    assert.throws(
      () => ctx.run('refused', [el('add', 'ifs', ['one']), el('delete', 'ifs', ['absent']), el('add', 'ifs', ['two'])]),
      (err: unknown) => isNftError(err, 'ENOENT') && /refused: Could not process rule: No such file or directory/.test((err as Error).message),
    );
    assert.equal(ctx.batches, 1);
    assert.deepEqual(listed('eb-fail').ifs, [], 'nothing of the refused batch applied');
    ctx.run('interval', [el('add', 'cidrs', [{ prefix: { addr: '10.1.0.0', len: 16 } }])]);
    assert.equal(ctx.batches, 1, 'an interval set is written by libnftables');
    assert.equal(JSON.stringify(listed('eb-fail').cidrs).includes('10.1.0.0'), true);
  } finally {
    ctx.run('clean', [{ delete: { table: { family: 'inet', name: 'eb-fail' } } }]);
    ctx.close();
  }
});

test('encoding: padded concatenation fields; what cannot be encoded, or a set never declared, is left to libnftables', () => {
  assert.deepEqual(
    [...(encodeKey(['ifname', 'inet_proto', 'inet_service'], { concat: ['ab', 6, 80] }) ?? [])],
    [97, 98, ...Array(14).fill(0), 6, 0, 0, 0, 0, 80, 0, 0],
  );
  assert.deepEqual([...(encodeKey(['inet_service'], 443) ?? [])], [1, 187]);
  assert.equal(encodeKey(['ifname'], 'a-name-longer-than-15'), undefined);
  assert.equal(encodeKey(['ipv4_addr'], 'fd00::1'), undefined);
  assert.equal(encodeKey(['inet_proto'], 'tcp'), undefined);
  const types = new SetTypes();
  types.learn(decls('t'));
  const add = (name: string, elem: unknown[]): NftCommand => ({ add: { element: { family: 'inet', table: 't', name, elem } } });
  assert.ok(encodeElementBatch([add('ifs', ['x'])], types, 10));
  assert.equal(encodeElementBatch([add('never-declared', ['x'])], types, 10), undefined);
  assert.equal(encodeElementBatch([add('cidrs', ['10.0.0.1'])], types, 10), undefined);
  assert.equal(encodeElementBatch([add('ifs', ['x']), { flush: { set: { family: 'inet', table: 't', name: 'ifs' } } }], types, 10), undefined);
  types.learn([{ delete: { table: { family: 'inet', name: 't' } } }]);
  assert.equal(encodeElementBatch([add('ifs', ['x'])], types, 10), undefined, 'a deleted table forgets its sets');
});

/** The real addon without nftBatch: every transaction through libnftables. */
function requireNativeWithoutBatch() {
  return { nftCreate: nativeAddon.nftCreate, nftRun: nativeAddon.nftRun, nftFree: nativeAddon.nftFree };
}
