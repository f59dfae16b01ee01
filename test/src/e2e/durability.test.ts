/**
 * podwired opens its lease store with WAL + synchronous=NORMAL (no fsync per commit): a
 * commit is in the OS before the ADD answers, so a SIGKILL right after an ADD's reply must
 * never lose that pod's lease or attachment.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { E2eHarness } from '../lib/e2e-harness';
import { netConf } from '../lib/shim';
import { readStore } from '../lib/store-rows';

const NET = 'e2e-durable';
const CONF = { ...netConf(NET, '10.242.0.0/24'), cniVersion: '1.1.0' };
let h: E2eHarness;

before(async () => {
  h = await E2eHarness.start('dur');
});
after(async () => {
  await h.cleanup();
});

test('SIGKILL right after each ADD answered: after the restart the lease, the ready attachment and the result are there', async () => {
  const pods: Array<{ id: string; path: string; result: unknown }> = [];
  for (let round = 0; round < 5; round++) {
    const id = `dur-${round}`;
    const ns = await h.netns.create(id);
    const add = await h.shim({ command: 'ADD', containerId: id, netns: ns.path, ifname: 'eth0', config: CONF });
    assert.equal(add.exitCode, 0, add.stdout);
    assert.equal(await h.server.kill(), null, 'SIGKILL at once after the reply');
    pods.push({ id, path: ns.path, result: add.json });
    await h.server.start();
    const rows = readStore(h.server.dbPath);
    for (const p of pods) {
      const address = ((p.result as { ips: Array<{ address: string }> }).ips[0]?.address ?? '').split('/')[0];
      assert.ok(
        rows.leases.some((l) => l.network === NET && l.container_id === p.id && l.address === address),
        `${p.id}: lease ${address} kept`,
      );
      assert.equal(rows.attachments.find((a) => a.network === NET && a.container_id === p.id)?.state, 'ready', `${p.id}: attachment ready`);
      const get = await h.shim({ command: 'GET', containerId: p.id, netns: p.path, ifname: 'eth0', config: CONF });
      assert.deepEqual(get.json, p.result, `${p.id}: GET returns the ADD's result`);
      const check = await h.shim({ command: 'CHECK', containerId: p.id, netns: p.path, ifname: 'eth0', config: CONF });
      assert.equal(check.exitCode, 0, check.stdout);
    }
  }
  for (const p of pods) {
    const del = await h.shim({ command: 'DEL', containerId: p.id, netns: p.path, ifname: 'eth0', config: CONF });
    assert.equal(del.exitCode, 0, del.stdout);
  }
  assert.equal(readStore(h.server.dbPath).leases.filter((l) => l.network === NET).length, 0);
});
