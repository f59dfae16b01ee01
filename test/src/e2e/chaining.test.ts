import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { E2eHarness } from '../lib/e2e-harness';
import { type IpAddrInfo, type IpLink, type IpRoute, ipJson, settledVeths } from '../lib/netns';
import { mustRun, runCommand } from '../lib/run-command';
import { SHIM_BINARY } from '../lib/paths';
import { readStore } from '../lib/store-rows';
import { type CniResult, Libcni, type LibcniError, type NetworkConfList, REFERENCE_PLUGIN_DIR, type RuntimeConf, podwirePluginDir } from '../lib/libcni';
import { freeLoopbackPort } from '../lib/loopback';

/*
 * podwire as the first plugin of a chain podwire → portmap → bandwidth → tuning, driven by
 * the real libcni (Debian's golang-github-appc-cni-dev, through test/build/libcni-driver:
 * scripts/install-libcni-helper.sh builds it), with the reference plugins from Debian's
 * containernetworking-plugins (scripts/install-runtime-deps.sh installs them). Every effect is
 * read back from the kernel (iptables, tc, ip, /proc/sys) rather than from a plugin's output.
 *
 * Traffic: only to 127.0.0.1 (DNAT'd by portmap into this test's own pod netns).
 */

const SUBNET_PREFIX = '10.253.0.';
const NET = `pwchain${process.pid}`;
const CONTAINER_ID = `chain-${process.pid}`;
const CONTAINER_PORT = 8080;
const TUNED_MAC = '02:42:0a:fd:00:99';
const TUNED_MTU = 1400;
const SYSCTL = 'net.ipv4.conf.eth0.arp_filter';
// bits per second and bits, as the bandwidth capability conventions define them
const BANDWIDTH = { ingressRate: 8_000_000, ingressBurst: 800_000, egressRate: 4_000_000, egressBurst: 400_000 };

let h: E2eHarness;
let chain: Libcni;
let rt: RuntimeConf;
let podNs: { name: string; path: string };
let tuningDir: string;
let hostPort: number;
let addAttempted = false;
let deleted = false;
let finalResult: CniResult | undefined;
let listener: ChildProcess | undefined;

before(async () => {
  // the server is started separately so that after() cleans up even when it fails to start
  h = await E2eHarness.start('chain', { startServer: false });
  await h.server.start();
  podNs = await h.netns.create('pod');
  tuningDir = path.join(h.root, 'tuning');
  hostPort = await freeLoopbackPort(18_100);
  const list: NetworkConfList = {
    cniVersion: '1.0.0',
    name: NET,
    plugins: [
      { type: 'podwire', mtu: 1500, ipam: { ranges: [[{ subnet: `${SUBNET_PREFIX}0/24` }]] } },
      { type: 'portmap', capabilities: { portMappings: true }, snat: true },
      { type: 'bandwidth', capabilities: { bandwidth: true } },
      { type: 'tuning', mac: TUNED_MAC, mtu: TUNED_MTU, sysctl: { [SYSCTL]: '1' }, dataDir: tuningDir },
    ],
  };
  const unavailable = Libcni.unavailable();
  if (unavailable) throw new Error(unavailable);
  chain = new Libcni(list, {
    cniPath: [podwirePluginDir(h.root, SHIM_BINARY), REFERENCE_PLUGIN_DIR],
    workDir: path.join(h.root, 'libcni'),
    env: { PODWIRE_SOCKET: h.server.socket },
  });
  rt = {
    containerId: CONTAINER_ID,
    netns: podNs.path,
    ifname: 'eth0',
    args: [
      ['IgnoreUnknown', '1'],
      ['K8S_POD_NAMESPACE', 'default'],
      ['K8S_POD_NAME', 'chained'],
    ],
    capabilityArgs: {
      portMappings: [{ hostPort, containerPort: CONTAINER_PORT, protocol: 'tcp', hostIP: '127.0.0.1' }],
      bandwidth: BANDWIDTH,
      // offered by the runtime but declared by no plugin: must reach none of them
      ips: ['10.253.0.200/24'],
    },
  };
});

after(async () => {
  listener?.kill('SIGKILL');
  try {
    // A runtime DELs after a failed or abandoned ADD: portmap's rules, bandwidth's ifb and
    // tuning's saved state are only removed by their DEL.
    if (addAttempted && !deleted) {
      const failures = await chain.delBestEffort(rt);
      if (failures.length > 0) console.error(`chaining: clean-up DEL failures:\n${failures.join('\n')}`);
    }
  } finally {
    if (h) await h.cleanup();
  }
});

function podIp(): string {
  const a = finalResult?.ips?.[0]?.address;
  assert.ok(a, 'the final result has an address');
  return a.split('/')[0] ?? '';
}

function hostIfName(): string {
  const hostIf = finalResult?.interfaces?.find((i) => i.sandbox === undefined || i.sandbox === '');
  assert.ok(hostIf, `the final result names the host interface: ${JSON.stringify(finalResult)}`);
  return hostIf.name;
}

async function natRules(): Promise<string[]> {
  return (await mustRun('iptables', ['-w', '-t', 'nat', '-S'])).split('\n');
}

/** The ifb device bandwidth redirects the host veth's ingress (the pod's egress) to. */
async function ifbOf(hostIf: string): Promise<string | undefined> {
  const r = await runCommand('tc', ['filter', 'show', 'dev', hostIf, 'parent', 'ffff:']);
  return /to device (\S+)\)?/.exec(r.stdout)?.[1]?.replace(/\)$/, '');
}

interface TcQdisc {
  kind: string;
  handle: string;
  root?: boolean;
  options?: Record<string, unknown>;
}

test('the chain validates: every plugin is found in CNI_PATH and supports cniVersion 1.0.0', async () => {
  await chain.validate();
  assert.deepEqual(
    chain.invocations.map((i) => [i.type, path.basename(path.dirname(i.binary))]),
    [
      ['podwire', 'cni-bin'],
      ['portmap', 'cni'],
      ['bandwidth', 'cni'],
      ['tuning', 'cni'],
    ],
  );
});

test("ADD runs podwire → portmap → bandwidth → tuning; each plugin does its part on podwire's veth", async () => {
  addAttempted = true;
  const first = chain.invocations.length;
  finalResult = await chain.add(rt);
  const adds = chain.invocations.slice(first);
  assert.deepEqual(
    adds.map((i) => [i.verb, i.type, i.exitCode]),
    [
      ['ADD', 'podwire', 0],
      ['ADD', 'portmap', 0],
      ['ADD', 'bandwidth', 0],
      ['ADD', 'tuning', 0],
    ],
  );

  // The driver behaved as libcni: name/cniVersion inserted, prevResult chained, runtimeConfig
  // limited to declared capabilities.
  const [pw, pm, bw, tu] = adds;
  assert.ok(pw && pm && bw && tu);
  for (const inv of adds) {
    assert.equal(inv.stdin.name, NET);
    assert.equal(inv.stdin.cniVersion, '1.0.0');
  }
  assert.equal(pw.stdin.prevResult, undefined);
  assert.equal(pw.stdin.runtimeConfig, undefined);
  assert.deepEqual(pm.stdin.runtimeConfig, { portMappings: rt.capabilityArgs?.portMappings });
  assert.deepEqual(bw.stdin.runtimeConfig, { bandwidth: BANDWIDTH });
  assert.equal(tu.stdin.runtimeConfig, undefined);
  const podwireResult = JSON.parse(pw.stdout) as CniResult;
  // libcni decodes each result into its Go types and hands that on: a result without "dns"
  // is passed on with an empty one, everything else as podwire printed it.
  assert.deepEqual(pm.stdin.prevResult, { ...podwireResult, dns: podwireResult.dns ?? {} });
  assert.deepEqual(bw.stdin.prevResult, JSON.parse(pm.stdout));
  assert.deepEqual(tu.stdin.prevResult, JSON.parse(bw.stdout));

  // The final result is podwire's, passed through: same interfaces and addresses, except the
  // pod interface's MAC that tuning changed and reports.
  assert.equal(finalResult.cniVersion, '1.0.0');
  assert.deepEqual(finalResult.ips, podwireResult.ips);
  assert.deepEqual(finalResult.routes, podwireResult.routes);
  assert.equal(finalResult.ips?.length, 1);
  assert.match(finalResult.ips?.[0]?.address ?? '', /^10\.253\.0\.\d+\/32$/);
  // bandwidth appends the ifb device it shapes the pod's egress on (a host interface).
  const expectedIfaces = podwireResult.interfaces?.map((i) => (i.name === 'eth0' && i.sandbox ? { ...i, mac: TUNED_MAC } : i));
  assert.equal(podwireResult.interfaces?.length, 2);
  assert.deepEqual(finalResult.interfaces?.slice(0, 2), expectedIfaces);
  const added = finalResult.interfaces?.slice(2) ?? [];
  assert.deepEqual(
    added.map((i) => [/^bwp[0-9a-f]+$/.test(i.name), i.sandbox]),
    [[true, undefined]],
    `the only interface added after podwire is bandwidth's ifb: ${JSON.stringify(added)}`,
  );
  const ip = podIp();
  const hostIf = hostIfName();
  assert.match(hostIf, /^pw[0-9a-f]{12}$/);

  // podwire: the pod has its /32 and the host its /32 route to the pod over the host veth.
  const [addrs] = await ipJson<IpAddrInfo>(['addr', 'show', 'eth0'], podNs.name);
  assert.deepEqual(
    addrs?.addr_info.filter((a) => a.family === 'inet').map((a) => `${a.local}/${a.prefixlen}`),
    [`${ip}/32`],
  );
  const hostRoutes = await ipJson<IpRoute>(['route', 'show', `${ip}/32`]);
  assert.deepEqual(
    hostRoutes.map((r) => r.dev),
    [hostIf],
  );
  const lease = readStore(h.server.dbPath).leases.filter((l) => l.container_id === CONTAINER_ID);
  assert.deepEqual(
    lease.map((l) => [l.network, l.address]),
    [[NET, ip]],
  );

  // portmap: 127.0.0.1:hostPort DNAT'd to the pod, reachable from the host's OUTPUT path,
  // hairpin/localhost SNAT marked, and route_localnet on the host veth for 127/8 sources.
  const nat = await natRules();
  const dnat = nat.filter((l) => l.includes(`--to-destination ${ip}:${CONTAINER_PORT}`));
  assert.equal(dnat.length, 1, nat.join('\n'));
  assert.match(dnat[0] ?? '', /-d 127\.0\.0\.1\/32 .*-p tcp .*--dport (\d+) /);
  assert.ok(dnat[0]?.includes(`--dport ${hostPort} `), dnat[0]);
  const dnChain = /^-A (CNI-DN-[0-9a-f]+) /.exec(dnat[0] ?? '')?.[1];
  assert.ok(dnChain, dnat[0]);
  assert.ok(
    nat.some((l) => l.startsWith('-A CNI-HOSTPORT-DNAT ') && l.endsWith(`-j ${dnChain}`)),
    nat.join('\n'),
  );
  assert.ok(
    nat.some((l) => l.startsWith('-A OUTPUT ') && l.endsWith('-j CNI-HOSTPORT-DNAT')),
    'OUTPUT jumps to CNI-HOSTPORT-DNAT',
  );
  assert.ok(
    nat.some((l) => l.startsWith(`-A ${dnChain} `) && l.includes('-s 127.0.0.1/32') && l.endsWith('-j CNI-HOSTPORT-SETMARK')),
    `localhost traffic is marked for SNAT:\n${nat.join('\n')}`,
  );
  assert.equal(fs.readFileSync(`/proc/sys/net/ipv4/conf/${hostIf}/route_localnet`, 'utf8').trim(), '1');

  // bandwidth: tbf on the host veth (traffic into the pod) and an ingress qdisc redirecting
  // the pod's traffic to an ifb device shaped by another tbf.
  const qdiscs = JSON.parse(await mustRun('tc', ['-j', 'qdisc', 'show', 'dev', hostIf])) as TcQdisc[];
  assert.ok(
    qdiscs.some((q) => q.kind === 'tbf' && q.root === true),
    JSON.stringify(qdiscs),
  );
  assert.ok(
    qdiscs.some((q) => q.kind === 'ingress'),
    JSON.stringify(qdiscs),
  );
  const ifb = await ifbOf(hostIf);
  assert.ok(ifb, 'bandwidth redirects the host veth ingress to an ifb device');
  assert.equal(ifb, added[0]?.name);
  const ifbQdiscs = JSON.parse(await mustRun('tc', ['-j', 'qdisc', 'show', 'dev', ifb])) as TcQdisc[];
  assert.ok(
    ifbQdiscs.some((q) => q.kind === 'tbf' && q.root === true),
    JSON.stringify(ifbQdiscs),
  );

  // tuning: MAC, MTU and the sysctl, inside the pod netns.
  const [podLink] = await ipJson<IpLink>(['link', 'show', 'eth0'], podNs.name);
  assert.equal(podLink?.address, TUNED_MAC);
  assert.equal(podLink?.mtu, TUNED_MTU);
  const sysctl = await mustRun('ip', ['netns', 'exec', podNs.name, 'cat', `/proc/sys/${SYSCTL.replaceAll('.', '/')}`]);
  assert.equal(sysctl.trim(), '1');
  assert.equal(fs.readdirSync(tuningDir).length, 1, 'tuning saved the original link state for DEL');
});

test('127.0.0.1:<hostPort> reaches a listener inside the pod through portmap', async () => {
  const ip = podIp();
  // Only connect once the host's route to the pod provably points at the pod's veth.
  assert.deepEqual(
    (await ipJson<IpRoute>(['route', 'show', `${ip}/32`])).map((r) => r.dev),
    [hostIfName()],
  );
  const script = `const s=require('net').createServer(c=>{c.end('pong from pod\\n')});s.listen(${CONTAINER_PORT},'0.0.0.0',()=>console.log('listening'));`;
  listener = spawn('ip', ['netns', 'exec', podNs.name, process.execPath, '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the pod listener did not start')), 10_000);
    listener?.stdout?.on('data', (d: Buffer) => {
      if (d.toString().includes('listening')) {
        clearTimeout(timer);
        resolve();
      }
    });
    listener?.once('exit', (code) => reject(new Error(`the pod listener exited with ${code}`)));
  });
  const reply = await new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = [];
    const c = net.connect({ host: '127.0.0.1', port: hostPort });
    c.setTimeout(5_000, () => c.destroy(new Error(`no answer from 127.0.0.1:${hostPort} within 5 s`)));
    c.on('data', (d: Buffer) => chunks.push(d));
    c.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    c.on('error', reject);
  }).catch(async (e: Error) => {
    // Say where the path broke: the pod's neighbour for its gateway is the usual suspect.
    const podNeigh = (await runCommand('ip', ['-n', podNs.name, 'neigh', 'show', 'dev', 'eth0'])).stdout.trim();
    const podRoutes = (await runCommand('ip', ['-n', podNs.name, 'route', 'show'])).stdout.trim();
    const proxyArp = fs.readFileSync(`/proc/sys/net/ipv4/conf/${hostIfName()}/proxy_arp`, 'utf8').trim();
    throw new Error(
      `${e.message}\npod neighbours (eth0):\n${podNeigh || '(none)'}\npod routes:\n${podRoutes}\n` + `host veth ${hostIfName()} proxy_arp=${proxyArp}`,
    );
  });
  assert.equal(reply, 'pong from pod\n');
  listener.kill('SIGKILL');
  listener = undefined;
});

/**
 * A PATH holding only iptables (no ip6tables), as on an IPv4-only host: Debian's portmap
 * 1.1.1 CHECKs ip6tables whenever ip6tables exists, even for an IPv4-only pod, and fails
 * because it never created an IPv6 chain (containernetworking/plugins#819, an upstream bug).
 */
function ipv4OnlyPath(): string {
  const dir = path.join(h.root, 'ipv4-only-bin');
  fs.mkdirSync(dir, { recursive: true });
  for (const tool of ['iptables', 'iptables-save', 'iptables-restore']) {
    const target = ['/usr/sbin', '/sbin', '/usr/bin'].map((d) => path.join(d, tool)).find((p) => fs.existsSync(p));
    const link = path.join(dir, tool);
    if (target && !fs.existsSync(link)) fs.symlinkSync(target, link);
  }
  return dir;
}

test('CHECK of the whole chain passes with the final result as prevResult', async () => {
  assert.ok(finalResult, 'ADD succeeded');
  const first = chain.invocations.length;
  await chain.check(rt, { env: { PATH: ipv4OnlyPath() } });
  const checks = chain.invocations.slice(first);
  assert.deepEqual(
    checks.map((i) => [i.verb, i.type, i.exitCode, i.stdout]),
    [
      ['CHECK', 'podwire', 0, ''],
      ['CHECK', 'portmap', 0, ''],
      ['CHECK', 'bandwidth', 0, ''],
      ['CHECK', 'tuning', 0, ''],
    ],
  );
  for (const inv of checks) assert.deepEqual(inv.stdin.prevResult, finalResult);
});

test("CHECK with ip6tables present: any failure is portmap's own IPv6 bug, never podwire's", async (t) => {
  assert.ok(finalResult, 'ADD succeeded');
  const first = chain.invocations.length;
  try {
    await chain.check(rt);
  } catch (e) {
    const err = e as LibcniError;
    assert.equal(err.type, 'portmap', err.message);
    assert.match(err.msg ?? '', /^could not check ipv6 dnat: chain CNI-DN-[0-9a-f]+ not found in iptables table nat$/, err.message);
    t.diagnostic(`known upstream portmap bug (containernetworking/plugins#819): ${err.msg}`);
  }
  assert.deepEqual(
    chain.invocations.slice(first, first + 1).map((i) => [i.verb, i.type, i.exitCode]),
    [['CHECK', 'podwire', 0]],
  );
});

test('DEL in reverse order removes every trace; a second DEL succeeds', async () => {
  assert.ok(finalResult, 'ADD succeeded');
  const ip = podIp();
  const hostIf = hostIfName();
  const ifb = await ifbOf(hostIf);
  const first = chain.invocations.length;
  await chain.del(rt);
  deleted = true;
  assert.deepEqual(
    chain.invocations.slice(first).map((i) => [i.verb, i.type, i.exitCode]),
    [
      ['DEL', 'tuning', 0],
      ['DEL', 'bandwidth', 0],
      ['DEL', 'portmap', 0],
      ['DEL', 'podwire', 0],
    ],
  );
  for (const inv of chain.invocations.slice(first)) assert.deepEqual(inv.stdin.prevResult, finalResult);

  const nat = await natRules();
  assert.deepEqual(
    nat.filter((l) => l.includes(ip) || l.includes(`"${CONTAINER_ID}"`)),
    [],
    'no nat rule names the pod',
  );
  assert.equal((await runCommand('ip', ['link', 'show', hostIf])).code, 1, 'host veth is gone');
  if (ifb) assert.equal((await runCommand('ip', ['link', 'show', ifb])).code, 1, 'ifb device is gone');
  assert.deepEqual(await ipJson<IpRoute>(['route', 'show', `${ip}/32`]), []);
  assert.deepEqual(await settledVeths(podNs.name), []);
  const rows = readStore(h.server.dbPath);
  assert.deepEqual(
    rows.leases.filter((l) => l.container_id === CONTAINER_ID),
    [],
  );
  assert.deepEqual(
    rows.attachments.filter((a) => a.container_id === CONTAINER_ID),
    [],
  );
  assert.deepEqual(fs.existsSync(tuningDir) ? fs.readdirSync(tuningDir) : [], [], 'tuning removed its saved state');

  // DEL is idempotent through the whole chain (a runtime may repeat it; libcni's cache is gone, so without prevResult).
  await chain.del(rt);
});
