/**
 * Egress masquerade and native hostPort mappings, end to end, with real podwired servers in
 * "node" network namespaces on a bridge underlay (10.231.0.0/24, fd99:231::/64, in a "switch"
 * namespace), pods wired through the real shim and, for hostPorts, through the real libcni
 * with a conflist holding podwire alone (`"capabilities": {"portMappings": true}`).
 *
 *   node A 10.231.0.1  pod CIDRs 10.232.1.0/24, fd99:232:1::/64; masquerade.nonMasqueradeCIDRs 10.233.9.0/24
 *   node B 10.231.0.2  pod CIDRs 10.232.2.0/24, fd99:232:2::/64 (static peers of each other)
 *   world  10.231.0.100, fd99:231::100: no route to any pod CIDR
 *   vpc    10.231.0.101 with 10.233.9.1 on lo: routes the pod CIDRs back via node A
 *
 * Traffic only among these namespaces. The operator's `nft flush ruleset` runs in node A's
 * namespace only, and a foreign table planted there is checked byte for byte before it.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ECHO_PEER } from '../lib/echo-peer';
import { Libcni, LibcniError, type NetworkConfList, type RuntimeConf, podwirePluginDir } from '../lib/libcni';
import { TestNetnsSet } from '../lib/netns';
import { REPO_ROOT, SHIM_BINARY } from '../lib/paths';
import { PodwiredProcess } from '../lib/podwired-process';
import { mustRun, runCommand } from '../lib/run-command';
import { resultIps, runShim } from '../lib/shim';
import { readStore } from '../lib/store-rows';

const NETWORK = 'egnet';
const CONF = { cniVersion: '1.0.0', name: NETWORK, type: 'podwire', ipam: { type: 'podwire' } };
const HOST_PORT = 18080;
const POD_PORT = 8080;
const netns = new TestNetnsSet(`eg-${process.pid}`);
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'podwire-eg-'));
const peers: ChildProcess[] = [];
const ns: Record<'sw' | 'a' | 'b' | 'world' | 'vpc', string> = { sw: '', a: '', b: '', world: '', vpc: '' };
const servers: Record<'a' | 'b', PodwiredProcess | undefined> = { a: undefined, b: undefined };
const pods: Record<string, { ns: string; path: string; v4: string; v6: string }> = {};
let chain: Libcni;

const nodeIP = (n: number) => ({ v4: `10.231.0.${n}`, v6: `fd99:231::${n}` });
const podCIDRs = (n: number) => [`10.232.${n}.0/24`, `fd99:232:${n}::/64`];
const FOREIGN = `table ip foreign-eg {
  set s { type ipv4_addr; flags interval; elements = { 10.99.0.0/24, 10.99.7.0/24 } }
  chain guard { type filter hook forward priority 10; policy accept; ip daddr @s counter accept; }
}
`;

async function underlayHost(name: keyof typeof ns, v4: string, v6?: string): Promise<void> {
  ns[name] = (await netns.create(name)).name;
  await mustRun('ip', ['-n', ns.sw, 'link', 'add', `u-${name}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns[name]]);
  await mustRun('ip', ['-n', ns.sw, 'link', 'set', `u-${name}`, 'master', 'br0', 'up']);
  await mustRun('ip', ['-n', ns[name], 'link', 'set', 'lo', 'up']);
  await mustRun('ip', ['-n', ns[name], 'addr', 'add', `${v4}/24`, 'dev', 'eth0']);
  if (v6) await mustRun('ip', ['-n', ns[name], 'addr', 'add', `${v6}/64`, 'dev', 'eth0', 'nodad']);
  await mustRun('ip', ['-n', ns[name], 'link', 'set', 'eth0', 'up']);
}

function server(n: 1 | 2, nsName: string): PodwiredProcess {
  const dir = path.join(root, `node-${n}`);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const other = n === 1 ? 2 : 1;
  return new PodwiredProcess(path.join(dir, 'run', 'podwire.sock'), path.join(dir, 'state'), {
    netns: nsName,
    config: {
      node: { name: `node-${n}`, podCIDRs: podCIDRs(n), nodeIPs: [nodeIP(n).v4, nodeIP(n).v6] },
      peers: { source: 'static', static: [{ name: `node-${other}`, nodeIPs: [nodeIP(other).v4, nodeIP(other).v6], podCIDRs: podCIDRs(other) }] },
      ...(n === 1 ? { masquerade: { nonMasqueradeCIDRs: ['10.233.9.0/24'] } } : {}),
    },
  });
}

/** Starts an echo peer in `where`; resolves once it listens. */
async function listen(where: string, proto: 'tcp' | 'udp', port: number, name: string): Promise<void> {
  const child = spawn('ip', ['netns', 'exec', where, process.execPath, ECHO_PEER, 'serve', proto, String(port), name], { stdio: ['ignore', 'pipe', 'pipe'] });
  peers.push(child);
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (d: Buffer) => d.toString().includes('listening') && resolve());
    child.once('exit', (code) => reject(new Error(`echo peer ${name} exited ${code}`)));
  });
}

/** What `where` hears back from host:port ("NAME <source address the peer saw>"), or undefined. */
async function ask(where: string, proto: 'tcp' | 'udp', host: string, port: number): Promise<string | undefined> {
  const r = await runCommand('ip', ['netns', 'exec', where, process.execPath, ECHO_PEER, 'ask', proto, host, String(port)], { timeoutMs: 10_000 });
  return r.code === 0 ? r.stdout.trim() : undefined;
}

async function addPod(node: 'a' | 'b', name: string): Promise<void> {
  const pod = await netns.create(name);
  const s = servers[node];
  assert.ok(s);
  const add = await runShim({ command: 'ADD', containerId: `ctr-${name}`, netns: pod.path, ifname: 'eth0', config: CONF, env: { PODWIRE_SOCKET: s.socket } });
  assert.equal(add.exitCode, 0, add.stdout + add.stderr);
  const ips = resultIps(add).map((i) => i.address.split('/')[0] ?? '');
  pods[name] = { ns: pod.name, path: pod.path, v4: ips[0] ?? '', v6: ips[1] ?? '' };
}

const nftA = (...args: string[]) => mustRun('ip', ['netns', 'exec', ns.a, 'nft', ...args]);
/** podwired A's table as nft lists it, lines sorted (element order inside a hash map is not fixed). */
async function tableA(): Promise<string[]> {
  const [table] = servers.a?.nftTables() ?? [];
  assert.ok(table, 'podwired A logged its table');
  return (await nftA('list', 'table', ...table.split(' ')))
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .sort();
}

async function waitFor<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const webRt = (name: string, podNs: string): RuntimeConf => ({
  containerId: `ctr-${name}`,
  netns: podNs,
  ifname: 'eth0',
  args: [
    ['IgnoreUnknown', '1'],
    ['K8S_POD_NAMESPACE', 'default'],
    ['K8S_POD_NAME', name],
  ],
  capabilityArgs: {
    portMappings: [
      { hostPort: HOST_PORT, containerPort: POD_PORT, protocol: 'tcp' },
      { hostPort: HOST_PORT, containerPort: POD_PORT, protocol: 'udp' },
    ],
  },
});
let web: RuntimeConf;

before(async () => {
  ns.sw = (await netns.create('sw')).name;
  await mustRun('ip', ['-n', ns.sw, 'link', 'add', 'br0', 'type', 'bridge']);
  await mustRun('ip', ['-n', ns.sw, 'link', 'set', 'br0', 'up']);
  await underlayHost('a', nodeIP(1).v4, nodeIP(1).v6);
  await underlayHost('b', nodeIP(2).v4, nodeIP(2).v6);
  await underlayHost('world', '10.231.0.100', 'fd99:231::100');
  await underlayHost('vpc', '10.231.0.101');
  await mustRun('ip', ['-n', ns.vpc, 'addr', 'add', '10.233.9.1/32', 'dev', 'lo']);
  await mustRun('ip', ['-n', ns.vpc, 'route', 'add', '10.232.0.0/16', 'via', nodeIP(1).v4]);
  await mustRun('ip', ['-n', ns.a, 'route', 'add', '10.233.9.0/24', 'via', '10.231.0.101']);
  await mustRun('ip', ['netns', 'exec', ns.a, 'sysctl', '-qw', 'net.ipv6.conf.all.forwarding=1']);
  await mustRun('ip', ['netns', 'exec', ns.b, 'sysctl', '-qw', 'net.ipv6.conf.all.forwarding=1']);
  const planted = await runCommand('ip', ['netns', 'exec', ns.a, 'nft', '-f', '-'], { input: FOREIGN });
  assert.equal(planted.code, 0, planted.stderr);
  servers.a = server(1, ns.a);
  servers.b = server(2, ns.b);
  await Promise.all([servers.a.start(), servers.b.start()]);
  chain = new Libcni(
    {
      cniVersion: '1.0.0',
      name: NETWORK,
      plugins: [{ type: 'podwire', capabilities: { portMappings: true }, ipam: { type: 'podwire' } }],
    } satisfies NetworkConfList,
    {
      cniPath: [podwirePluginDir(root, SHIM_BINARY)],
      workDir: path.join(root, 'libcni'),
      env: { PODWIRE_SOCKET: servers.a.socket },
    },
  );
  await listen(ns.world, 'tcp', 7000, 'world');
  await listen(ns.world, 'udp', 7000, 'world');
  await listen(ns.vpc, 'tcp', 7000, 'vpc');
});

after(async () => {
  for (const p of peers) p.kill('SIGKILL');
  for (const s of [servers.a, servers.b]) {
    await s?.stop();
    s?.deleteNftTables();
  }
  await netns.cleanup();
  fs.rmSync(root, { recursive: true, force: true });
});

test('egress: a pod reaches the world as its node; a nonMasqueradeCIDRs destination and a pod on another node see the pod itself', {
  timeout: 120_000,
}, async () => {
  await addPod('a', 'a1');
  await addPod('b', 'b1');
  const a1 = pods.a1!;
  const b1 = pods.b1!;
  assert.match(a1.v4, /^10\.232\.1\./);
  assert.equal(await ask(a1.ns, 'tcp', '10.231.0.100', 7000), `world ${nodeIP(1).v4}`, 'the world has no route to pods: it sees node A');
  assert.equal(await ask(a1.ns, 'udp', '10.231.0.100', 7000), `world ${nodeIP(1).v4}`);
  assert.equal(await ask(a1.ns, 'tcp', 'fd99:231::100', 7000), `world ${nodeIP(1).v6}`, 'IPv6 too');
  assert.equal(await ask(a1.ns, 'tcp', '10.233.9.1', 7000), `vpc ${a1.v4}`, 'nonMasqueradeCIDRs see the pod');
  await listen(b1.ns, 'tcp', 7001, 'b1');
  assert.equal(await waitFor('the peer route to node B', () => ask(a1.ns, 'tcp', b1.v4, 7001)), `b1 ${a1.v4}`, 'pod to pod across nodes keeps the address');
  // The world's view from node B (masquerade on by default: it has pod CIDRs).
  assert.equal(await ask(b1.ns, 'tcp', '10.231.0.100', 7000), `world ${nodeIP(2).v4}`);
});

test('hostPorts through libcni with podwire alone: from another host, 127.0.0.1, another pod and hairpin, TCP and UDP; a duplicate claim is refused naming the holder; DEL closes the port', {
  timeout: 120_000,
}, async () => {
  const pod = await netns.create('web1');
  web = webRt('web-1', pod.path);
  const result = await chain.add(web);
  assert.ok(!('portMappings' in result), 'the printed result is spec-shaped (the mappings are only stored)');
  const podV4 = (result.ips?.[0]?.address ?? '').split('/')[0] ?? '';
  pods.web1 = { ns: pod.name, path: pod.path, v4: podV4, v6: '' };
  await listen(pod.name, 'tcp', POD_PORT, 'web1');
  await listen(pod.name, 'udp', POD_PORT, 'web1');
  await addPod('a', 'a2');
  for (const proto of ['tcp', 'udp'] as const) {
    assert.match((await ask(ns.world, proto, nodeIP(1).v4, HOST_PORT)) ?? 'nothing', /^web1 /, `${proto} from another host via the node address`);
    assert.match((await ask(ns.a, proto, '127.0.0.1', HOST_PORT)) ?? 'nothing', /^web1 /, `${proto} from the node's 127.0.0.1`);
    assert.match((await ask(pods.a2!.ns, proto, nodeIP(1).v4, HOST_PORT)) ?? 'nothing', /^web1 /, `${proto} from another pod on the node`);
    assert.match((await ask(pod.name, proto, nodeIP(1).v4, HOST_PORT)) ?? 'nothing', /^web1 /, `${proto} hairpin: the pod to its own hostPort`);
  }
  assert.match((await ask(ns.world, 'tcp', nodeIP(1).v6, HOST_PORT)) ?? 'nothing', /^web1 /, 'IPv6 from another host');
  await chain.check(web);
  const status = await runCommand(
    process.execPath,
    [path.join(REPO_ROOT, 'server', 'dist', 'ctl', 'main.js'), 'status', '-o', 'json', '--socket', servers.a!.socket],
    { timeoutMs: 30_000 },
  );
  assert.equal(status.code, 0, status.stderr);
  const nft = (JSON.parse(status.stdout) as { server: { nft: Record<string, unknown> } }).server.nft;
  assert.deepEqual(
    {
      table: nft.table,
      available: nft.available,
      present: nft.present,
      masquerade: nft.masquerade,
      portMappings: nft.portMappings,
      nonMasquerade: nft.nonMasquerade,
    },
    { table: servers.a!.nftTables()[0], available: true, present: true, masquerade: true, portMappings: 4, nonMasquerade: 1 },
    'podwirectl status shows the table: TCP and UDP, IPv4 and IPv6',
  );

  const other = await netns.create('web2');
  const dup = webRt('web-2', other.path);
  await assert.rejects(chain.add(dup), (e: unknown) => {
    assert.ok(e instanceof LibcniError, String(e));
    assert.equal(e.code, 107);
    assert.match(e.msg ?? '', /hostPort (tcp|udp) 0\.0\.0\.0:18080 is already mapped for pod default\/web-1 \(container ctr-web-1, eth0, network egnet\)/);
    return true;
  });
  assert.deepEqual(
    readStore(servers.a!.dbPath).attachments.filter((a) => a.container_id === 'ctr-web-2'),
    [],
    'nothing of the refused ADD stays',
  );
  await chain.del(dup);
  assert.match((await ask(ns.world, 'tcp', nodeIP(1).v4, HOST_PORT)) ?? 'nothing', /^web1 /, 'the holder keeps its port');
});

test('SIGKILL and restart: the same table, nothing duplicated, hostPorts and masquerade still work; the foreign table is byte for byte unchanged', {
  timeout: 120_000,
}, async () => {
  const foreignBefore = await nftA('-j', 'list', 'table', 'ip', 'foreign-eg');
  const before = await tableA();
  assert.ok(
    before.some((l) => l.includes(pods.web1!.v4)),
    'the mapping is in the table',
  );
  assert.equal(await servers.a!.kill(), null);
  await servers.a!.start();
  assert.deepEqual(await tableA(), before, 'rebuilt from the store: the same table');
  assert.match((await ask(ns.world, 'tcp', nodeIP(1).v4, HOST_PORT)) ?? 'nothing', /^web1 /);
  assert.match((await ask(ns.world, 'udp', nodeIP(1).v4, HOST_PORT)) ?? 'nothing', /^web1 /);
  assert.equal(await ask(pods.a1!.ns, 'tcp', '10.231.0.100', 7000), `world ${nodeIP(1).v4}`);
  assert.equal(await ask(pods.a1!.ns, 'tcp', '10.233.9.1', 7000), `vpc ${pods.a1!.v4}`);
  assert.equal(await nftA('-j', 'list', 'table', 'ip', 'foreign-eg'), foreignBefore, 'podwired never touched the foreign table');
  const tables = (await nftA('list', 'tables')).split('\n').filter((l) => l.includes('podwire-'));
  assert.equal(tables.length, 1, `node A holds podwired A's table only: ${tables.join(', ')}`);
});

test("an operator's `nft flush ruleset` (node A's netns only) is repaired by the next resync (SIGHUP runs one at once)", { timeout: 60_000 }, async () => {
  const before = await tableA();
  await nftA('flush', 'ruleset');
  assert.equal(await ask(ns.world, 'tcp', nodeIP(1).v4, HOST_PORT), undefined, 'flushed: the hostPort is gone');
  process.kill(servers.a!.pid ?? 0, 'SIGHUP');
  await waitFor('the table rewritten', async () => ((await tableA().catch(() => [])).join('\n') === before.join('\n') ? true : undefined));
  assert.match((await ask(ns.world, 'tcp', nodeIP(1).v4, HOST_PORT)) ?? 'nothing', /^web1 /);
  assert.equal(await ask(pods.a1!.ns, 'tcp', '10.231.0.100', 7000), `world ${nodeIP(1).v4}`);
  assert.ok(servers.a!.logRecords().some((r) => r.msg === 'egress: nftables table drifted; rewritten whole'));
});

test('DEL closes the hostPort and the table holds nothing of the pod', { timeout: 60_000 }, async () => {
  await chain.del(web);
  assert.equal(await ask(ns.world, 'tcp', nodeIP(1).v4, HOST_PORT), undefined, 'TCP closed');
  assert.equal(await ask(ns.world, 'udp', nodeIP(1).v4, HOST_PORT), undefined, 'UDP closed');
  assert.ok(!(await tableA()).some((l) => l.includes(pods.web1!.v4)), 'no element names the old pod');
});
