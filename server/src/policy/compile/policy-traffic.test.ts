/**
 * The compiled policies against real traffic: a node netns forwarding between nine pod netns
 * (x/a ... z/c of the upstream suite, 10.42.N.M, routed veths like podwire's), each serving
 * TCP 80, TCP 81 and UDP 80. For every upstream case the compiler's build is loaded and the
 * pods are ADDed one by one (element deltas); then every ordered pair is probed on the case's
 * ports, and the observed matrix must equal the case's hand-written table (which the test
 * oracle and `why` also match: netpol-cases.test.ts). A probe is a new connection (TCP
 * connect + answer, or a UDP datagram + answer) with a deadline. The cases' probes are made
 * by the pods' resident server processes (no process start per probe), all of a case's ports
 * at once, with a 1 s deadline: a dropped packet is dropped however long one waits, and a
 * cell the table allows that saw no answer in time is probed again with the full 3 s
 * deadline (allowed probes from freshly started processes took up to 0.6 s on the shared
 * 2-core test machine). Probes from the node netns (no server there) start a process.
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
import { onLines } from '../../test-support/line-reader';
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
// serve also takes probe requests on stdin, one JSON line each ({id, probes, ms} -> {id, r}).
const PROGRAM = `
const [mode, arg] = process.argv.slice(2);
const one = ([host, port, proto], ms) => new Promise((resolve) => {
  const t = setTimeout(() => resolve(false), ms);
  const done = (v) => { clearTimeout(t); resolve(v); };
  if (proto === 'TCP') {
    const s = require('net').connect({ host, port });
    let out = '';
    s.on('data', (d) => (out += d)); s.on('end', () => done(out === 'ok')); s.on('error', () => done(false));
    setTimeout(() => s.destroy(), ms).unref();
  } else {
    const u = require('dgram').createSocket(host.includes(':') ? 'udp6' : 'udp4');
    u.on('message', (m) => { u.close(); done(String(m) === 'ok'); });
    u.send('hi', port, host);
    setTimeout(() => { try { u.close(); } catch {} }, ms).unref();
  }
});
if (mode === 'serve') {
  let n = 0;
  const up = () => { if (++n === 3) console.log('ready'); };
  for (const port of [80, 81]) require('net').createServer((s) => s.end('ok')).listen({ port, host: '::' }, up);
  const u = require('dgram').createSocket('udp6');
  u.on('message', (m, r) => u.send('ok', r.port, r.address));
  u.bind(80, '::', up);
  require('readline').createInterface({ input: process.stdin }).on('line', (line) => {
    const { id, probes, ms } = JSON.parse(line);
    Promise.all(probes.map((p) => one(p, ms))).then((r) => console.log(JSON.stringify({ id, r })));
  });
} else {
  const probes = JSON.parse(arg);
  Promise.all(probes.map((p) => one(p, 3000))).then((r) => { console.log(JSON.stringify(r)); process.exit(0); });
}
`;
/** The cases' first deadline, and the full one (a cell allowed but not answered in time is probed again with it). */
const FAST_MS = 1000;
const FULL_MS = 3000;
const agents = new Map<string, { child: ChildProcess; replies: Map<number, (r: boolean[]) => void> }>();
let nextProbeId = 1;

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
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, script, 'serve'], { stdio: ['pipe', 'pipe', 'inherit'] });
  servers.push(child);
  const agent = { child, replies: new Map<number, (r: boolean[]) => void>() };
  agents.set(ns, agent);
  return new Promise((resolve, reject) => {
    onLines(child.stdout!, (line) => {
      if (line === 'ready') {
        resolve();
        return;
      }
      const { id, r } = JSON.parse(line) as { id: number; r: boolean[] };
      agent.replies.get(id)?.(r);
      agent.replies.delete(id);
    });
    child.on('exit', (code) => {
      const err = new Error(`server in ${ns} exited (${code})`);
      reject(err);
      for (const settle of agent.replies.values()) settle([]);
    });
  });
}

/** Probes made by the resident server process of a pod netns (answers one per probe, in order). */
function probeByAgent(ns: string, probes: Array<[string, number, string]>, ms: number): Promise<boolean[]> {
  const agent = agents.get(ns);
  assert.ok(agent, `a server runs in ${ns}`);
  const id = nextProbeId++;
  return new Promise((resolve, reject) => {
    const backstop = setTimeout(() => reject(new Error(`no probe answer from ${ns} within ${ms + 10_000} ms`)), ms + 10_000);
    agent.replies.set(id, (r) => {
      clearTimeout(backstop);
      if (r.length === probes.length) resolve(r);
      else reject(new Error(`server in ${ns} answered ${r.length} of ${probes.length} probes (it exited?)`));
    });
    agent.child.stdin!.write(`${JSON.stringify({ id, probes, ms })}\n`);
  });
}

/** Probes from a pod's resident server with FAST_MS; those `expected` allows that saw no answer again with FULL_MS. */
async function probePod(ns: string, probes: Array<[string, number, string]>, expected: boolean[]): Promise<boolean[]> {
  const r = await probeByAgent(ns, probes, FAST_MS);
  const late = r.flatMap((seen, i) => (!seen && expected[i] === true ? [i] : []));
  if (late.length > 0) {
    const again = await probeByAgent(
      ns,
      late.map((i) => probes[i]!),
      FULL_MS,
    );
    for (const [k, i] of late.entries()) r[i] = again[k]!;
  }
  return r;
}

/** The observed verdicts of some ordered pairs ("from>to") for one port/protocol, each pair's probe from its source pod. */
async function observeCells(cells: string[], port: number, protocol: string, ms: number): Promise<Map<string, boolean>> {
  const m = new Map<string, boolean>();
  await Promise.all(
    KEYS.map(async (from) => {
      const targets = cells.filter((c) => c.startsWith(`${from}>`)).map((c) => c.slice(from.length + 1));
      if (targets.length === 0) return;
      const r = await probeByAgent(
        podNs(from),
        targets.map((to) => [podIP(to), port, protocol]),
        ms,
      );
      for (const [i, to] of targets.entries()) m.set(`${from}>${to}`, r[i]!);
    }),
  );
  return m;
}

/**
 * The observed matrix for one port/protocol: every ordered pair of distinct pods, probed with
 * FAST_MS; a pair `expected` allows that saw no answer is probed again with FULL_MS.
 */
async function observe(port: number, protocol: string, expected: Map<string, boolean>): Promise<Map<string, boolean>> {
  const all = KEYS.flatMap((from) => KEYS.filter((to) => to !== from).map((to) => `${from}>${to}`));
  const m = await observeCells(all, port, protocol, FAST_MS);
  const late = [...m].filter(([cell, seen]) => !seen && expected.get(cell) === true).map(([cell]) => cell);
  if (late.length > 0) for (const [cell, seen] of await observeCells(late, port, protocol, FULL_MS)) m.set(cell, seen);
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
    // The policy is fixed for the whole case: its ports are probed at once.
    const observations = await Promise.all(c.probes.map((probe) => observe(probe.port, probe.protocol, parseGrid(probe.grid))));
    for (const [k, probe] of c.probes.entries()) {
      const observed = observations[k]!;
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
    await probePod(
      podNs('x/a'),
      [
        [podIP('y/a'), 80, 'TCP'],
        [podIP('y/a'), 80, 'UDP'],
        [podIP('x/b'), 80, 'TCP'],
      ],
      [true, true, false],
    ),
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
  assert.deepEqual(await probePod(podNs('y/b'), [[podIP('x/a'), 80, 'TCP']], [true]), [true]);
  assert.deepEqual(await probePod(podNs('y/a'), [[podIP('x/a'), 80, 'TCP']], [false]), [false]);
  // DEL of x/a: its elements go; with no isolation left, y/a reaches it (the netns still answers).
  nft.run('DEL x/a', compiler.removeLocal('x/a'));
  assert.deepEqual(await probePod(podNs('y/a'), [[podIP('x/a'), 80, 'TCP']], [true]), [true]);
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
    await probePod(
      podNs('x/b'),
      [
        [podIP6('x/a'), 80, 'TCP'],
        [podIP6('x/c'), 81, 'TCP'],
        [podIP6('x/a'), 80, 'UDP'],
      ],
      [true, true, true],
    ),
    [true, true, true],
    'x/b reaches x/a (allowed) and x/c (not isolated) over IPv6',
  );
  assert.deepEqual(
    await probePod(
      podNs('x/c'),
      [
        [podIP6('x/a'), 80, 'TCP'],
        [podIP6('x/b'), 80, 'TCP'],
      ],
      [false, true],
    ),
    [false, true],
    'x/c is refused by x/a over IPv6',
  );
  const neigh = ip('-n', podNs('x/a'), '-6', 'neigh', 'show', 'dev', 'eth0');
  assert.match(neigh, /fe80::1 lladdr \S+ (?:router )?(?:REACHABLE|STALE|DELAY|PROBE)/, `x/a resolved its gateway by neighbour discovery: ${neigh}`);
});
