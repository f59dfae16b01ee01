import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Attachment, Lease } from '@podwire/ipam-store';
import { CniCode, CniError } from '../cni/cni-error';
import type { Datapath, PodNetworkSpec } from '../datapath/datapath';
import { attachmentProblems } from './attachment-problems';

function datapathThatSays(outcome: Error | undefined, seen: PodNetworkSpec[] = []): Datapath {
  return {
    check: async (spec: PodNetworkSpec) => {
      seen.push(spec);
      if (outcome) throw outcome;
    },
  } as Datapath;
}

const att: Attachment = { network: 'n', containerId: 'c', ifname: 'eth0', netns: '/run/netns/p', hostIfname: 'pw0123456789ab', state: 'ready', createdAt: 0 };
const leases: Lease[] = [{ network: 'n', containerId: 'c', ifname: 'eth0', address: '10.226.0.7', family: 4, prefixLength: 24, setIndex: 0 }];

test('healthy: no problems; the check sees the stored spec', async () => {
  const seen: PodNetworkSpec[] = [];
  assert.deepEqual(await attachmentProblems(datapathThatSays(undefined, seen), att, leases), []);
  assert.deepEqual(seen[0], {
    netnsPath: '/run/netns/p',
    podIfname: 'eth0',
    hostIfname: 'pw0123456789ab',
    mtu: 0,
    addresses: [{ address: '10.226.0.7', family: 4 }],
  });
});

test('each finding of the check is one problem', async () => {
  const err = new CniError(
    CniCode.CheckFailed,
    'pod network of eth0 is not as ADD left it',
    'host route 10.226.0.7/32 dev pw0123456789ab is missing; interface eth0 is down',
  );
  assert.deepEqual(await attachmentProblems(datapathThatSays(err), att, leases), [
    'host route 10.226.0.7/32 dev pw0123456789ab is missing',
    'interface eth0 is down',
  ]);
});

test('a netns that cannot be entered, a pending attachment and an unexpected failure are problems too', async () => {
  const gone = new CniError(CniCode.InvalidEnvironment, 'CNI_NETNS "/run/netns/p" cannot be opened', 'open failed with ENOENT');
  assert.deepEqual(await attachmentProblems(datapathThatSays(gone), att, leases), ['CNI_NETNS "/run/netns/p" cannot be opened: open failed with ENOENT']);
  assert.deepEqual(await attachmentProblems(datapathThatSays(undefined), { ...att, state: 'pending' }, leases), [
    'the attachment is not ready: its ADD did not complete',
  ]);
  assert.deepEqual(await attachmentProblems(datapathThatSays(new Error('netlink timeout')), att, leases), ['the check itself failed: netlink timeout']);
});
