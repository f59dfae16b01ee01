/**
 * What the rules do to real traffic, between network namespaces this test makes:
 *   pod (10.123.1.5, fd7a:1::5) and pod2 (10.123.1.6), wired like podwire's routed veths
 *     (gateway 169.254.1.1 / fe80::1 on the host end) to
 *   node (10.124.0.1, fd7b::1), which forwards and carries podwired's table, to
 *   world (10.124.0.2, fd7b::2, and 10.124.9.1 in a nonMasqueradeCIDR), which has no route to
 *     the pod CIDRs: a connection from a pod to it works only when masqueraded.
 * Listeners and clients are small `node -e` programs run with `ip netns exec`; each server
 * answers (and logs) the address it saw the connection come from.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { RtnlSockets } from '../rtnl/rtnl-sockets';
import { NftContext } from './nft-context';
import { NftTables } from './nft-tables';
import { enableRouteLocalnet } from './route-localnet';
import { onLines } from '../test-support/line-reader';

const tag = (process.pid % 100000).toString(36);
const NS = { node: `pwt-nftn-${tag}`, pod: `pwt-nftp-${tag}`, pod2: `pwt-nftq-${tag}`, world: `pwt-nftw-${tag}` };
const sockets = new RtnlSockets();
let nodeFd: number;
let context: NftContext;
let tables: NftTables;
let dir: string;
let script: string;
const servers: ChildProcess[] = [];
const logs = new Map<string, string[]>();

// serve PROTO PORT NAME: answers every TCP connection / UDP datagram with the peer's address.
// ask PROTO HOST PORT: prints the answer (exit 2 when none comes within 2 s). send udp HOST PORT: one datagram.
const PROGRAM = `
const [mode, proto, a, b] = process.argv.slice(2);
const plain = (addr) => addr.replace(/^::ffff:/, '');
if (mode === 'serve') {
  const port = Number(a);
  if (proto === 'tcp') {
    require('net').createServer((s) => { const from = plain(s.remoteAddress); console.log('from ' + from); s.end(from + '\\n'); }).listen({ port, host: '::' }, () => console.log('ready'));
  } else {
    const u = require('dgram').createSocket({ type: 'udp6' });
    u.on('message', (m, r) => { const from = plain(r.address); console.log('from ' + from); u.send(from + '\\n', r.port, r.address); });
    u.bind(port, '::', () => console.log('ready'));
  }
} else {
  const host = a, port = Number(b);
  setTimeout(() => { console.log('timeout'); process.exit(2); }, 2000).unref();
  if (proto === 'tcp') {
    const s = require('net').connect({ host, port }); let out = '';
    s.on('data', (d) => (out += d)); s.on('end', () => { process.stdout.write(out); process.exit(0); });
    s.on('error', (e) => { console.log(e.code); process.exit(3); });
  } else {
    const u = require('dgram').createSocket(host.includes(':') ? 'udp6' : 'udp4');
    u.send('hi', port, host, () => { if (mode === 'send') process.exit(0); });
    u.on('message', (m) => { process.stdout.write(m); process.exit(0); });
  }
}
`;

const ip = (...args: string[]) => execFileSync('ip', args, { encoding: 'utf8' });
const inNs = (ns: string, ...args: string[]) => execFileSync('ip', ['netns', 'exec', ns, ...args], { encoding: 'utf8' });

/** Runs a client in `ns`; resolves with its output and exit code. */
function client(ns: string, mode: 'ask' | 'send', proto: 'tcp' | 'udp', host: string, port: number): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile('ip', ['netns', 'exec', ns, process.execPath, script, mode, proto, host, String(port)], { encoding: 'utf8', timeout: 5000 }, (err, stdout) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, out: stdout.trim() });
    });
  });
}

/** Starts a server in `ns`; resolves once it listens. Its "from" lines collect under `name`. */
function server(ns: string, proto: 'tcp' | 'udp', port: number, name: string): Promise<void> {
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, script, 'serve', proto, String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
  servers.push(child);
  logs.set(name, []);
  return new Promise((resolve, reject) => {
    onLines(child.stdout!, (line) => {
      if (line === 'ready') resolve();
      else if (line.startsWith('from ')) logs.get(name)!.push(line.slice(5));
    });
    child.on('exit', (code) => reject(new Error(`server ${name} exited (${code})`)));
  });
}

/** Waits until server `name` logged `count` peers (a datagram without answer is seen only there). */
async function seenBy(name: string, count: number): Promise<string[]> {
  for (let i = 0; i < 100 && logs.get(name)!.length < count; i++) await new Promise((r) => setTimeout(r, 20));
  return logs.get(name)!;
}

function veth(hostNs: string, hostIf: string, podNs: string, podIp4: string, podIp6?: string): void {
  ip('link', 'add', hostIf, 'netns', hostNs, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', podNs);
  const mac = (JSON.parse(ip('-n', hostNs, '-j', 'link', 'show', hostIf)) as Array<{ address: string }>)[0]!.address;
  ip('-n', hostNs, 'addr', 'add', '169.254.1.1/32', 'dev', hostIf, 'scope', 'host');
  ip('-n', hostNs, 'addr', 'add', 'fe80::1/64', 'dev', hostIf, 'nodad');
  ip('-n', hostNs, 'link', 'set', hostIf, 'up');
  ip('-n', hostNs, 'route', 'add', `${podIp4}/32`, 'dev', hostIf);
  ip('-n', podNs, 'link', 'set', 'lo', 'up');
  ip('-n', podNs, 'link', 'set', 'eth0', 'up');
  ip('-n', podNs, 'addr', 'add', `${podIp4}/32`, 'dev', 'eth0');
  ip('-n', podNs, 'neigh', 'add', '169.254.1.1', 'lladdr', mac, 'dev', 'eth0', 'nud', 'permanent');
  ip('-n', podNs, 'route', 'add', 'default', 'via', '169.254.1.1', 'dev', 'eth0', 'onlink');
  if (podIp6) {
    ip('-n', hostNs, 'route', 'add', `${podIp6}/128`, 'dev', hostIf);
    ip('-n', podNs, 'addr', 'add', `${podIp6}/128`, 'dev', 'eth0', 'nodad');
    ip('-n', podNs, 'neigh', 'add', 'fe80::1', 'lladdr', mac, 'dev', 'eth0', 'nud', 'permanent');
    ip('-n', podNs, '-6', 'route', 'add', 'default', 'via', 'fe80::1', 'dev', 'eth0');
  }
}

const web = { protocol: 'tcp' as const, hostPort: 8080, podIP: '10.123.1.5', containerPort: 80 };

before(async () => {
  for (const ns of Object.values(NS)) ip('netns', 'add', ns);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pwt-nft-'));
  script = path.join(dir, 'peer.js');
  fs.writeFileSync(script, PROGRAM);
  ip('-n', NS.node, 'link', 'set', 'lo', 'up');
  inNs(NS.node, 'sysctl', '-qw', 'net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1');
  veth(NS.node, 'np1', NS.pod, '10.123.1.5', 'fd7a:1::5');
  veth(NS.node, 'np2', NS.pod2, '10.123.1.6');
  ip('link', 'add', 'nw', 'netns', NS.node, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', NS.world);
  ip('-n', NS.node, 'addr', 'add', '10.124.0.1/24', 'dev', 'nw');
  ip('-n', NS.node, 'addr', 'add', 'fd7b::1/64', 'dev', 'nw', 'nodad');
  ip('-n', NS.node, 'link', 'set', 'nw', 'up');
  ip('-n', NS.world, 'link', 'set', 'lo', 'up');
  ip('-n', NS.world, 'addr', 'add', '10.124.0.2/24', 'dev', 'eth0');
  ip('-n', NS.world, 'addr', 'add', '10.124.9.1/32', 'dev', 'eth0');
  ip('-n', NS.world, 'addr', 'add', 'fd7b::2/64', 'dev', 'eth0', 'nodad');
  ip('-n', NS.world, 'link', 'set', 'eth0', 'up');
  ip('-n', NS.node, 'route', 'add', '10.124.9.0/24', 'via', '10.124.0.2');
  // kube-proxy's stand-in: marks one destination port for masquerade (podwired must leave it).
  inNs(
    NS.node,
    'nft',
    'add table ip kubeish; add chain ip kubeish pre { type filter hook prerouting priority -150; }; add rule ip kubeish pre udp dport 7003 meta mark set 0x4000',
  );

  nodeFd = fs.openSync(`/var/run/netns/${NS.node}`, 'r');
  context = NftContext.open({ enter: (fn) => sockets.enter(nodeFd, fn) });
  tables = new NftTables({ ownerTag: 'feedfacecafe', context });
  tables.rebuild({
    masquerade: { enabled: true, podSources: ['10.123.1.0/24', 'fd7a:1::/64'], cluster: ['10.123.0.0/16', 'fd7a::/48'], nonMasquerade: ['10.124.9.0/24'] },
    portMappings: [],
  });
  tables.addPortMappings('pod', [web, { ...web, protocol: 'udp' }, { ...web, podIP: 'fd7a:1::5' }]);
  sockets.enter(nodeFd, () => enableRouteLocalnet('np1'));

  await Promise.all([
    server(NS.world, 'tcp', 7000, 'world-tcp'),
    server(NS.world, 'udp', 7001, 'world-udp'),
    server(NS.world, 'udp', 7003, 'world-udp-marked'),
    server(NS.pod2, 'tcp', 7002, 'pod2-tcp'),
    server(NS.pod, 'tcp', 80, 'pod-tcp'),
    server(NS.pod, 'udp', 80, 'pod-udp'),
  ]);
});

after(() => {
  for (const s of servers) s.kill();
  context?.close();
  sockets.closeAll();
  if (nodeFd !== undefined) fs.closeSync(nodeFd);
  for (const ns of Object.values(NS)) {
    try {
      ip('netns', 'del', ns);
    } catch {
      // not made
    }
  }
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

test("egress: a pod reaches a world with no route back to pods, which sees the node's address (IPv4 and IPv6)", async () => {
  assert.deepEqual(await client(NS.pod, 'ask', 'tcp', '10.124.0.2', 7000), { code: 0, out: '10.124.0.1' });
  assert.deepEqual(await client(NS.pod, 'ask', 'tcp', 'fd7b::2', 7000), { code: 0, out: 'fd7b::1' });
});

test("no masquerade to a nonMasqueradeCIDR, to another pod, or for what kube-proxy marked 0x4000: the pod's own address", async () => {
  assert.equal((await client(NS.pod, 'send', 'udp', '10.124.9.1', 7001)).code, 0);
  assert.deepEqual(await seenBy('world-udp', 1), ['10.123.1.5']);
  assert.deepEqual(await client(NS.pod, 'ask', 'tcp', '10.123.1.6', 7002), { code: 0, out: '10.123.1.5' });
  assert.equal((await client(NS.pod, 'send', 'udp', '10.124.0.2', 7003)).code, 0);
  assert.deepEqual(await seenBy('world-udp-marked', 1), ['10.123.1.5'], 'left to kube-proxy, not NATed here');
});

test("hostPort from another host through the node's address keeps the client's address, TCP, UDP and IPv6", async () => {
  assert.deepEqual(await client(NS.world, 'ask', 'tcp', '10.124.0.1', 8080), { code: 0, out: '10.124.0.2' });
  assert.deepEqual(await client(NS.world, 'ask', 'udp', '10.124.0.1', 8080), { code: 0, out: '10.124.0.2' });
  assert.deepEqual(await client(NS.world, 'ask', 'tcp', 'fd7b::1', 8080), { code: 0, out: 'fd7b::2' });
});

test("hostPort from the node's 127.0.0.1 (route_localnet on the pod's interface, loopback source masqueraded), TCP and UDP", async () => {
  for (const proto of ['tcp', 'udp'] as const) {
    const r = await client(NS.node, 'ask', proto, '127.0.0.1', 8080);
    assert.equal(r.code, 0, `${proto}: ${r.out}`);
    assert.notEqual(r.out, '127.0.0.1');
    assert.match(r.out, /^10\.124\.0\.1$|^169\.254\.1\.1$/, 'a node address');
  }
});

test("a pod's datagram to the node's 127.0.0.0/8 is dropped on its interface though route_localnet is on there; the same to a node address arrives", async () => {
  // The pod plays the attacker: its own 127/8 sent out through eth0 (its local route gone).
  await server(NS.node, 'udp', 7010, 'node-udp');
  ip('-n', NS.pod, 'route', 'del', 'local', '127.0.0.0/8', 'dev', 'lo', 'table', 'local');
  ip('-n', NS.pod, 'route', 'add', '127.0.0.7/32', 'via', '169.254.1.1', 'dev', 'eth0', 'onlink');
  inNs(NS.pod, 'sysctl', '-qw', 'net.ipv4.conf.all.route_localnet=1', 'net.ipv4.conf.eth0.route_localnet=1');
  try {
    assert.equal((await client(NS.pod, 'send', 'udp', '127.0.0.7', 7010)).code, 0);
    assert.equal((await client(NS.pod, 'send', 'udp', '10.124.0.1', 7010)).code, 0);
    assert.deepEqual(await seenBy('node-udp', 1), ['10.123.1.5'], 'the datagram to the node address arrived');
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(logs.get('node-udp'), ['10.123.1.5'], 'the one to 127.0.0.7 did not');
  } finally {
    inNs(NS.pod, 'sysctl', '-qw', 'net.ipv4.conf.all.route_localnet=0', 'net.ipv4.conf.eth0.route_localnet=0');
    ip('-n', NS.pod, 'route', 'del', '127.0.0.7/32');
    ip('-n', NS.pod, 'route', 'add', 'local', '127.0.0.0/8', 'dev', 'lo', 'table', 'local', 'proto', 'kernel', 'scope', 'host', 'src', '127.0.0.1');
  }
});

test('hostPort from another pod on the node (its own address kept) and hairpin from the pod itself (masqueraded), TCP and UDP, IPv6 TCP', async () => {
  assert.deepEqual(await client(NS.pod2, 'ask', 'tcp', '10.124.0.1', 8080), { code: 0, out: '10.123.1.6' });
  for (const proto of ['tcp', 'udp'] as const) {
    const r = await client(NS.pod, 'ask', proto, '10.124.0.1', 8080);
    assert.equal(r.code, 0, `${proto} hairpin: ${r.out}`);
    assert.notEqual(r.out, '10.123.1.5', 'the pod sees the node, so its reply goes back through the node');
  }
  const r6 = await client(NS.pod, 'ask', 'tcp', 'fd7b::1', 8080);
  assert.equal(r6.code, 0, `IPv6 hairpin: ${r6.out}`);
  assert.notEqual(r6.out, 'fd7a:1::5');
});

test('unmapped, the port is closed again (last: it removes the mappings)', async () => {
  tables.removePortMappings('pod');
  const r = await client(NS.world, 'ask', 'tcp', '10.124.0.1', 8080);
  assert.notEqual(r.code, 0);
  assert.equal(r.out, 'ECONNREFUSED', 'the node itself answers: nothing listens there');
});
