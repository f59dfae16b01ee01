/**
 * The compiled policies against real traffic: a node netns forwarding between nine pod netns
 * (x/a ... z/c of the upstream suite, 10.42.N.M, routed veths like podwire's), each serving
 * TCP 80, TCP 81 and UDP 80. For every upstream case the compiler's build is loaded and the
 * pods are ADDed one by one (element deltas); then every ordered pair is probed on the case's
 * ports, and the observed matrix must equal the case's hand-written table (which the test
 * oracle and `why` also match: netpol-cases.test.ts). A probe is a new connection (TCP
 * connect + answer, or a UDP datagram + answer) with a 3 s deadline (allowed probes took up
 * to 0.6 s on the shared 2-core test machine).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { RtnlSockets } from '../../rtnl/rtnl-sockets';
import { NftContext } from '../../nft/nft-context';
import { KEYS, formatGrid, parseGrid, podIP } from '../../test-support/netpol-fixtures';
import { CASES, caseWorld, modelOf } from '../../test-support/netpol-cases';
import { parseNetworkPolicy } from '../parse';
import { why } from '../why';
import { PolicyCompiler } from './policy-compiler';

const tag = (process.pid % 100000).toString(36);
const NODE = `pwt-poln-${tag}`;
const podNs = (key: string) => `pwt-pol${key.replace('/', '')}-${tag}`;
const ifOf = (key: string) => `pw${key.replace('/', '')}`;
const TABLE = 'podwire-poltraffic';
const sockets = new RtnlSockets();
let nodeFd: number;
let nft: NftContext;
let dir: string;
let script: string;
const servers: ChildProcess[] = [];

// serve: TCP 80 and 81 and UDP 80, each answering "ok". probe JSON: [[host, port, proto], ...] -> JSON booleans.
const PROGRAM = `
const [mode, arg] = process.argv.slice(2);
if (mode === 'serve') {
  let n = 0;
  const up = () => { if (++n === 3) console.log('ready'); };
  for (const port of [80, 81]) require('net').createServer((s) => s.end('ok')).listen({ port, host: '::' }, up);
  const u = require('dgram').createSocket('udp6');
  u.on('message', (m, r) => u.send('ok', r.port, r.address));
  u.bind(80, '::', up);
} else {
  const probes = JSON.parse(arg);
  const one = ([host, port, proto]) => new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), 3000);
    const done = (v) => { clearTimeout(t); resolve(v); };
    if (proto === 'TCP') {
      const s = require('net').connect({ host, port });
      let out = '';
      s.on('data', (d) => (out += d)); s.on('end', () => done(out === 'ok')); s.on('error', () => done(false));
      setTimeout(() => s.destroy(), 3000).unref();
    } else {
      const u = require('dgram').createSocket(host.includes(':') ? 'udp6' : 'udp4');
      u.on('message', (m) => { u.close(); done(String(m) === 'ok'); });
      u.send('hi', port, host);
      setTimeout(() => { try { u.close(); } catch {} }, 3000).unref();
    }
  });
  Promise.all(probes.map(one)).then((r) => { console.log(JSON.stringify(r)); process.exit(0); });
}
`;

const ip = (...args: string[]) => execFileSync('ip', args, { encoding: 'utf8' });

function probeFrom(ns: string, probes: Array<[string, number, string]>): Promise<boolean[]> {
  return new Promise((resolve, reject) => {
    execFile(
      'ip',
      ['netns', 'exec', ns, process.execPath, script, 'probe', JSON.stringify(probes)],
      { encoding: 'utf8', timeout: 15_000 },
      (err, stdout, stderr) => {
        if (stderr) process.stderr.write(stderr);
        if (err) reject(err);
        else resolve(JSON.parse(stdout) as boolean[]);
      },
    );
  });
}

function startServer(ns: string): Promise<void> {
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, script, 'serve'], { stdio: ['ignore', 'pipe', 'inherit'] });
  servers.push(child);
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
    child.on('exit', (code) => reject(new Error(`server in ${ns} exited (${code})`)));
  });
}

/** The observed matrix for one port/protocol: every ordered pair of distinct pods. */
async function observe(port: number, protocol: string): Promise<Map<string, boolean>> {
  const m = new Map<string, boolean>();
  await Promise.all(
    KEYS.map(async (from) => {
      const targets = KEYS.filter((to) => to !== from);
      const r = await probeFrom(
        podNs(from),
        targets.map((to) => [podIP(to), port, protocol]),
      );
      for (const [i, to] of targets.entries()) m.set(`${from}>${to}`, r[i]!);
    }),
  );
  return m;
}

/** IPv6 addresses of x/a, x/b, x/c in the dual-stack test (fd42:1::M). */
const podIP6 = (key: string) => `fd42:1::${key.endsWith('a') ? 1 : key.endsWith('b') ? 2 : 3}`;

function load(compiler: PolicyCompiler, ipsOf: (key: string) => string[] = (k) => [podIP(k)]): void {
  const t = { family: 'inet', name: TABLE };
  nft.run('fresh table', [{ add: { table: t } }, { delete: { table: t } }, { add: { table: t } }]);
  nft.run('build', compiler.build());
  for (const key of KEYS) nft.run(`ADD ${key}`, compiler.setLocal(key, [{ ifname: ifOf(key), ips: ipsOf(key) }]));
}

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pwt-pol-'));
  script = path.join(dir, 'peer.js');
  fs.writeFileSync(script, PROGRAM);
  ip('netns', 'add', NODE);
  ip('-n', NODE, 'link', 'set', 'lo', 'up');
  // The node's own address (the probes from the node take it as their source).
  ip('-n', NODE, 'addr', 'add', '10.99.0.1/32', 'dev', 'lo');
  execFileSync('ip', ['netns', 'exec', NODE, 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
  for (const key of KEYS) {
    const ns = podNs(key);
    const hostIf = ifOf(key);
    ip('netns', 'add', ns);
    ip('link', 'add', hostIf, 'netns', NODE, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
    const mac = (JSON.parse(ip('-n', NODE, '-j', 'link', 'show', hostIf)) as Array<{ address: string }>)[0]!.address;
    ip('-n', NODE, 'addr', 'add', '169.254.1.1/32', 'dev', hostIf, 'scope', 'host');
    ip('-n', NODE, 'link', 'set', hostIf, 'up');
    ip('-n', NODE, 'route', 'add', `${podIP(key)}/32`, 'dev', hostIf);
    ip('-n', ns, 'link', 'set', 'lo', 'up');
    ip('-n', ns, 'link', 'set', 'eth0', 'up');
    ip('-n', ns, 'addr', 'add', `${podIP(key)}/32`, 'dev', 'eth0');
    ip('-n', ns, 'neigh', 'add', '169.254.1.1', 'lladdr', mac, 'dev', 'eth0', 'nud', 'permanent');
    ip('-n', ns, 'route', 'add', 'default', 'via', '169.254.1.1', 'dev', 'eth0', 'onlink');
    // As podwire wires a pod: the node knows the pod's MAC, so no first packet waits for ARP
    // (a SYN queued behind an unanswered resolution would miss the probe's deadline).
    const podMac = (JSON.parse(ip('-n', ns, '-j', 'link', 'show', 'eth0')) as Array<{ address: string }>)[0]!.address;
    ip('-n', NODE, 'neigh', 'replace', podIP(key), 'lladdr', podMac, 'dev', hostIf, 'nud', 'permanent');
  }
  nodeFd = fs.openSync(`/var/run/netns/${NODE}`, 'r');
  nft = NftContext.open({ enter: (fn) => sockets.enter(nodeFd, fn) });
  await Promise.all(KEYS.map((k) => startServer(podNs(k))));
});

after(() => {
  for (const s of servers) s.kill();
  nft?.close();
  sockets.closeAll();
  if (nodeFd !== undefined) fs.closeSync(nodeFd);
  for (const ns of [NODE, ...KEYS.map(podNs)]) {
    try {
      ip('netns', 'del', ns);
    } catch {
      // not made
    }
  }
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

for (const c of CASES) {
  test(`traffic: ${c.name}`, { timeout: 60_000 }, async () => {
    const compiler = new PolicyCompiler({ table: TABLE, world: modelOf(caseWorld(c)) });
    load(compiler);
    for (const probe of c.probes) {
      const observed = await observe(probe.port, probe.protocol);
      assert.deepEqual(formatGrid(observed), formatGrid(parseGrid(probe.grid)), `${probe.port}/${probe.protocol}`);
      // `why`, from the compiler's own world, gives every observed verdict and names what decided it.
      for (const [cell, seen] of observed) {
        const [from, to] = cell.split('>') as [string, string];
        const w = why(compiler.world, { src: { pod: from }, dst: { pod: to }, port: probe.port, protocol: probe.protocol as 'TCP' | 'UDP' });
        assert.equal(w.allowed, seen, `${cell} ${probe.port}/${probe.protocol}: ${w.text}`);
        for (const d of [w.egress, w.ingress]) {
          if (d.isolatedBy.length > 0 && d.allowed) assert.ok(d.allowedBy.length > 0, `${cell}: ${w.text}`);
          if (!d.allowed) assert.match(w.text, new RegExp(`${d.direction}: DENIED: ${d.pod} is isolated by ${d.isolatedBy[0]}`));
        }
      }
    }
  });
}

test("traffic: the node reaches an isolated pod; an established flow's replies pass; a policy change takes effect in one transaction", {
  timeout: 60_000,
}, async () => {
  const c = CASES.find((x) => x.name === 'default-deny ingress in x')!;
  const compiler = new PolicyCompiler({ table: TABLE, world: modelOf(caseWorld(c)) });
  load(compiler);
  assert.deepEqual(
    await probeFrom(NODE, [
      [podIP('x/a'), 80, 'TCP'],
      [podIP('x/b'), 81, 'TCP'],
      [podIP('x/c'), 80, 'UDP'],
    ]),
    [true, true, true],
    'node to its pods',
  );
  // x/a's egress to y/a works: the reply enters x/a although x/a isolates ingress.
  assert.deepEqual(
    await probeFrom(podNs('x/a'), [
      [podIP('y/a'), 80, 'TCP'],
      [podIP('y/a'), 80, 'UDP'],
      [podIP('x/b'), 80, 'TCP'],
    ]),
    [true, true, false],
  );
  // An allow rule added for pods pod=b: one transaction, then y/b reaches x/a, y/a does not.
  const n = nft.transactions;
  nft.run(
    'policy add',
    compiler.setPolicy(
      parseNetworkPolicy({
        kind: 'NetworkPolicy',
        metadata: { namespace: 'x', name: 'from-b' },
        spec: { podSelector: {}, ingress: [{ from: [{ namespaceSelector: {}, podSelector: { matchLabels: { pod: 'b' } } }] }] },
      }),
    ),
  );
  assert.equal(nft.transactions - n, 1);
  assert.deepEqual(await probeFrom(podNs('y/b'), [[podIP('x/a'), 80, 'TCP']]), [true]);
  assert.deepEqual(await probeFrom(podNs('y/a'), [[podIP('x/a'), 80, 'TCP']]), [false]);
  // DEL of x/a: its elements go; with no isolation left, y/a reaches it (the netns still answers).
  nft.run('DEL x/a', compiler.removeLocal('x/a'));
  assert.deepEqual(await probeFrom(podNs('y/a'), [[podIP('x/a'), 80, 'TCP']]), [true]);
  // A spoofed source (an address the pod was not given) is dropped even where policy would allow.
  ip('-n', podNs('y/c'), 'addr', 'add', '10.42.2.2/32', 'dev', 'eth0');
  try {
    const spoof = execFileSync(
      'ip',
      [
        'netns',
        'exec',
        podNs('y/c'),
        process.execPath,
        '-e',
        `const s=require('net').connect({host:'${podIP('x/b')}',port:80,localAddress:'10.42.2.2'});s.on('data',()=>{console.log('ok');process.exit(0)});s.on('error',()=>process.exit(3));setTimeout(()=>process.exit(2),3000)`,
      ],
      { encoding: 'utf8' },
    ).trim();
    assert.fail(`spoofed connection answered: ${spoof}`);
  } catch (err) {
    assert.notEqual((err as { status?: number }).status, undefined);
    assert.notEqual((err as { status?: number }).status, 0);
  } finally {
    ip('-n', podNs('y/c'), 'addr', 'del', '10.42.2.2/32', 'dev', 'eth0');
  }
});

test('traffic, IPv6: neighbour discovery works under isolation (dynamic on both ends); ingress allowed from pod=b only', { timeout: 60_000 }, async () => {
  const dual = ['x/a', 'x/b', 'x/c'];
  for (const key of dual) {
    const ns = podNs(key);
    ip('-n', NODE, 'addr', 'add', 'fe80::1/64', 'dev', ifOf(key), 'nodad');
    ip('-n', NODE, '-6', 'route', 'add', `${podIP6(key)}/128`, 'dev', ifOf(key));
    ip('-n', ns, 'addr', 'add', `${podIP6(key)}/128`, 'dev', 'eth0', 'nodad');
    // No permanent neighbour entries: the pod solicits fe80::1, the node solicits the pod.
    ip('-n', ns, '-6', 'route', 'add', 'default', 'via', 'fe80::1', 'dev', 'eth0');
  }
  execFileSync('ip', ['netns', 'exec', NODE, 'sysctl', '-qw', 'net.ipv6.conf.all.forwarding=1']);
  const c = CASES.find((x) => x.name === 'x/a from pods pod=b of its namespace (podSelector alone)')!;
  const world = modelOf(caseWorld(c));
  for (const key of dual) world.pods.set(key, { ...world.pods.get(key)!, podIPs: [podIP(key), podIP6(key)] });
  const compiler = new PolicyCompiler({ table: TABLE, world });
  load(compiler, (k) => (dual.includes(k) ? [podIP(k), podIP6(k)] : [podIP(k)]));
  assert.deepEqual(
    await probeFrom(podNs('x/b'), [
      [podIP6('x/a'), 80, 'TCP'],
      [podIP6('x/c'), 81, 'TCP'],
      [podIP6('x/a'), 80, 'UDP'],
    ]),
    [true, true, true],
    'x/b reaches x/a (allowed) and x/c (not isolated) over IPv6',
  );
  assert.deepEqual(
    await probeFrom(podNs('x/c'), [
      [podIP6('x/a'), 80, 'TCP'],
      [podIP6('x/b'), 80, 'TCP'],
    ]),
    [false, true],
    'x/c is refused by x/a over IPv6',
  );
  const neigh = ip('-n', podNs('x/a'), '-6', 'neigh', 'show', 'dev', 'eth0');
  assert.match(neigh, /fe80::1 lladdr \S+ (?:router )?(?:REACHABLE|STALE|DELAY|PROBE)/, `x/a resolved its gateway by neighbour discovery: ${neigh}`);
});
