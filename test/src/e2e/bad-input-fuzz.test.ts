/**
 * Hostile and random input through the real shim: every call must end with exactly one
 * valid JSON document on stdout (or nothing, for a successful DEL/CHECK/GC/STATUS) and the
 * exit code that goes with it, and podwired must keep serving. Deterministic: the seed is
 * printed, and PODWIRE_FUZZ_SEED / PODWIRE_FUZZ_RUNS reproduce or lengthen a run.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { E2eHarness } from '../lib/e2e-harness';
import { mustRun } from '../lib/run-command';
import { type ShimCall, type ShimOutcome, netConf } from '../lib/shim';
import { readStore } from '../lib/store-rows';

const NET = 'e2e-fuzz';
const SUBNET = '10.239.0.0/24';
const RUNS = Number(process.env.PODWIRE_FUZZ_RUNS ?? 2000);
const SEED = Number(process.env.PODWIRE_FUZZ_SEED ?? Date.now() % 1_000_000);
const CONCURRENCY = 4;
let h: E2eHarness;
let podNetns: string;
/** CNI_NETNS values that would block or reach a driver if opened: a FIFO, a device node (like /dev/null, 1:3). */
let specialFiles: string[] = [];

before(async () => {
  h = await E2eHarness.start('fuzz');
  podNetns = (await h.netns.create('pod')).path;
  const fifo = path.join(h.root, 'fifo');
  const dev = path.join(h.root, 'chardev');
  await mustRun('mkfifo', [fifo]);
  await mustRun('mknod', [dev, 'c', '1', '3']);
  specialFiles = [fifo, dev];
});
after(async () => {
  await h.cleanup();
});

/** mulberry32: a small seeded PRNG, so a failing run can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const HOSTILE_STRINGS = [
  '',
  ' ',
  '.',
  '..',
  '-x',
  'a/b',
  'a:b',
  'a b',
  'x'.repeat(16),
  'x'.repeat(300),
  '$(reboot)',
  '`id`',
  ';rm -rf /',
  '../../etc',
  '\u0000',
  'é',
  '\n',
  '%s%n',
  '{"a":1}',
];
const HOSTILE_VALUES: unknown[] = [null, true, 0, -1, Number.MAX_VALUE, 2 ** 64, [], {}, [[]], 'x', { subnet: 'x' }, ...HOSTILE_STRINGS];
/** Environment values cannot hold NUL (execve would cut them), so no runtime can send one. */
const HOSTILE_ENV = HOSTILE_STRINGS.filter((v) => !v.includes('\u0000'));

function pick<T>(rnd: () => number, xs: readonly T[]): T {
  return xs[Math.floor(rnd() * xs.length)] as T;
}

function mutateConfig(rnd: () => number): unknown {
  const conf: Record<string, unknown> = netConf(NET, SUBNET, { cniVersion: pick(rnd, ['0.3.1', '0.4.0', '1.0.0', '1.1.0']) });
  const roll = rnd();
  if (roll < 0.05) return pick(rnd, ['', '{', '[]', 'null', '"x"', '{"cniVersion":', '\u0000\u0001', 'x'.repeat(5000), '{}']);
  if (roll < 0.1) return JSON.stringify(conf).slice(0, Math.floor(rnd() * 60));
  const fields = ['cniVersion', 'name', 'type', 'ipam', 'dns', 'mtu', 'runtimeConfig', 'prevResult', 'cni.dev/valid-attachments', 'socket', 'args'];
  const n = 1 + Math.floor(rnd() * 3);
  for (let i = 0; i < n; i++) {
    const f = pick(rnd, fields);
    const r = rnd();
    if (r < 0.2) delete conf[f];
    else if (f === 'ipam' && r < 0.7)
      conf.ipam = {
        ranges: [
          [
            {
              subnet: pick(rnd, [SUBNET, '10.239.0.0/33', '10.239.0.1/24', '300.0.0.0/8', 'fd99:239::/120', '10.239.0.0/31', '10.239.0.0/24']),
              rangeStart: pick(rnd, [undefined, '10.239.0.5', '10.240.0.1', 'x']),
              gateway: pick(rnd, [undefined, '10.239.0.1', '10.239.0.0', 'x']),
            },
          ],
          ...(rnd() < 0.3 ? [[{ subnet: SUBNET }]] : []),
        ],
      };
    else if (f === 'runtimeConfig' && r < 0.7)
      conf.runtimeConfig = {
        ips: [pick(rnd, ['10.239.0.9/24', '10.239.0.9', '10.99.0.1', 'x', 7])],
        mac: pick(rnd, [undefined, '0a:58:00:00:00:09', 'ff:ff:ff:ff:ff:ff', 'zz']),
      };
    else conf[f] = pick(rnd, HOSTILE_VALUES);
  }
  return conf;
}

function mutateCall(rnd: () => number): ShimCall {
  const call: ShimCall = {
    command: pick(rnd, ['ADD', 'ADD', 'DEL', 'CHECK', 'GET', 'STATUS', 'GC', 'VERSION', 'add', 'BOGUS', '']),
    containerId: rnd() < 0.7 ? `fz${Math.floor(rnd() * 8)}` : pick(rnd, HOSTILE_ENV),
    netns:
      rnd() < 0.6
        ? podNetns
        : pick(rnd, [
            '',
            '/etc/hostname',
            '/proc/self/ns/net',
            '/proc/self/ns/mnt',
            '/var/run/netns/none',
            '/',
            '/dev/null',
            ...specialFiles,
            ...specialFiles,
            ...HOSTILE_ENV,
          ]),
    ifname: rnd() < 0.7 ? pick(rnd, ['eth0', 'net1']) : pick(rnd, HOSTILE_ENV),
    args:
      rnd() < 0.7
        ? ''
        : pick(rnd, ['IP=10.239.0.7', 'FOO=1', 'IgnoreUnknown=1;FOO=1', 'K8S_POD_NAME', '=', ';;;', 'IP=x', 'K8S_POD_NAMESPACE=a;K8S_POD_NAME=b']),
    config: mutateConfig(rnd),
    env: { PODWIRE_RETRY_TIMEOUT_MS: '2000' },
  };
  return call;
}

function assertWellFormed(call: ShimCall, out: ShimOutcome, seed: number, i: number): void {
  const where = `seed ${seed} run ${i}: ${JSON.stringify({ ...call, config: typeof call.config === 'string' ? call.config.slice(0, 80) : call.config })}\nstdout: ${out.stdout.slice(0, 300)}\nstderr: ${out.stderr.slice(0, 300)}`;
  assert.ok(out.exitCode === 0 || out.exitCode === 1, `exit code ${out.exitCode}: ${where}`);
  if (out.exitCode === 0) {
    if (out.stdout.trim() !== '') assert.ok(out.json, `success prints one JSON document: ${where}`);
    return;
  }
  assert.ok(out.json, `a failure prints one JSON document: ${where}`);
  assert.equal(typeof out.json.code, 'number', where);
  assert.ok(Number.isInteger(out.json.code) && (out.json.code as number) > 0, where);
  assert.equal(typeof out.json.msg, 'string', where);
  assert.ok((out.json.msg as string).length > 0, where);
  assert.equal(typeof out.json.cniVersion, 'string', where);
  assert.notEqual(out.json.code, 999, `no internal error: ${where}`);
  assert.notEqual(out.json.code, 11, `podwired stayed reachable: ${where}`);
}

test('a FIFO and a device node as CNI_NETNS: ADD fails at once with code 4 naming the path, CHECK and DEL answer, nothing blocks or is left', async () => {
  assert.equal(specialFiles.length, 2);
  const conf = netConf(NET, SUBNET);
  for (const netns of specialFiles) {
    for (const command of ['ADD', 'CHECK', 'DEL']) {
      const call: ShimCall = { command, containerId: 'fz-special', netns, ifname: 'eth0', config: command === 'CHECK' ? { ...conf, prevResult: {} } : conf };
      const out = await h.shim(call);
      assertWellFormed(call, out, SEED, -1);
      assert.ok(out.elapsedMs < 5_000, `${command} with ${netns} answered in ${Math.round(out.elapsedMs)} ms`);
      if (command === 'ADD') {
        assert.equal(out.exitCode, 1, out.stdout);
        assert.equal(out.json?.code, 4, out.stdout);
        assert.ok(String(out.json?.msg).includes(`CNI_NETNS ${JSON.stringify(netns)} is not a network namespace`), out.stdout);
      }
    }
  }
  assert.deepEqual(readStore(h.server.dbPath).attachments, []);
  assert.deepEqual(readStore(h.server.dbPath).leases, []);
});

test(`${RUNS} random hostile calls each get one well-formed answer, and podwired keeps serving`, async () => {
  console.log(`fuzz seed ${SEED} (PODWIRE_FUZZ_SEED=${SEED} replays it), ${RUNS} runs`);
  const rnd = prng(SEED);
  const calls = Array.from({ length: RUNS }, () => mutateCall(rnd));
  const special = calls.filter((c) => specialFiles.includes(c.netns ?? '')).length;
  if (RUNS >= 500) assert.ok(special > 0, 'some random calls give a FIFO or a device node as the netns');
  const succeeded: ShimCall[] = [];
  let next = 0;
  const codes = new Map<number, number>();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < calls.length) {
        const i = next++;
        const call = calls[i] as ShimCall;
        const out = await h.shim(call);
        assertWellFormed(call, out, SEED, i);
        const code = out.exitCode === 0 ? 0 : (out.json?.code as number);
        codes.set(code, (codes.get(code) ?? 0) + 1);
        if (out.exitCode === 0 && call.command === 'ADD') succeeded.push(call);
      }
    }),
  );
  console.log(`${special} calls had a FIFO or a device node as the netns`);
  console.log(`outcomes by CNI code (0 = success): ${JSON.stringify(Object.fromEntries([...codes].sort((a, b) => a[0] - b[0])))}`);

  // Clean up what the random ADDs created (a runtime DELs with the ADD's own config; some
  // ADDs used another valid network name), then prove the server still serves a normal pod.
  for (const add of succeeded) {
    const del = await h.shim({ ...add, command: 'DEL' });
    assert.equal(del.exitCode, 0, `DEL after a successful fuzz ADD: ${del.stdout}`);
  }
  assert.deepEqual(readStore(h.server.dbPath).attachments, []);
  const ok = await h.shim({ command: 'ADD', containerId: 'after-fuzz', netns: podNetns, ifname: 'eth9', config: netConf(NET, SUBNET) });
  assert.equal(ok.exitCode, 0, ok.stdout);
  const del = await h.shim({ command: 'DEL', containerId: 'after-fuzz', netns: podNetns, ifname: 'eth9', config: netConf(NET, SUBNET) });
  assert.equal(del.exitCode, 0, del.stdout);
});
