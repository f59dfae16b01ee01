/**
 * `npm run demo`: starts podwired on a temporary socket and state dir, creates three pod
 * network namespaces and wires each through the real shim exactly as a container runtime
 * would, proves pod→pod and host→pod reachability with ping, prints a table, then DELs
 * everything and stops the server, leaving no netns, link, route or process behind.
 */
import { E2eHarness } from '../lib/e2e-harness';
import { type IpRoute, hostLinks, ipJson } from '../lib/netns';
import { runCommand } from '../lib/run-command';
import { netConf } from '../lib/shim';

const CONF = netConf('podwire-demo', '10.240.0.0/24', { dns: { nameservers: ['10.240.0.10'] } });

interface Pod {
  name: string;
  netns: string;
  netnsPath: string;
  ip: string;
  hostIf: string;
  addMs: number;
}

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length))) ?? [];
  return rows.map((r) => r.map((cell, c) => cell.padEnd(widths[c] ?? 0)).join('  ')).join('\n');
}

async function ping(args: string[]): Promise<boolean> {
  const r = await runCommand(args[0] ?? 'ping', args.slice(1), { timeoutMs: 20_000 });
  return r.code === 0;
}

async function main(): Promise<number> {
  const h = await E2eHarness.start('demo');
  const pods: Pod[] = [];
  let failures = 0;
  try {
    console.log(`podwired is serving on ${h.server.socket} (state in ${h.server.stateDir})\n`);
    for (const name of ['pod-a', 'pod-b', 'pod-c']) {
      const ns = await h.netns.create(name);
      const add = await h.shim({
        command: 'ADD',
        containerId: `demo-${name}`,
        netns: ns.path,
        ifname: 'eth0',
        config: CONF,
        args: `K8S_POD_NAMESPACE=demo;K8S_POD_NAME=${name}`,
      });
      if (add.exitCode !== 0) throw new Error(`ADD ${name} failed: ${add.stdout}${add.stderr}`);
      const ips = add.json?.ips as Array<{ address: string }>;
      const ifs = add.json?.interfaces as Array<{ name: string }>;
      pods.push({ name, netns: ns.name, netnsPath: ns.path, ip: ips[0]?.address.split('/')[0] ?? '', hostIf: ifs[0]?.name ?? '', addMs: add.elapsedMs });
    }
    console.log(table([['pod', 'IP', 'host veth', 'ADD time'], ...pods.map((p) => [p.name, p.ip, p.hostIf, `${p.addMs.toFixed(1)} ms`])]));
    console.log('');

    // Only ping addresses whose host route provably points at the pod's own veth.
    for (const p of pods) {
      const routes = await ipJson<IpRoute>(['route', 'show', `${p.ip}/32`]);
      if (routes.length !== 1 || routes[0]?.dev !== p.hostIf) throw new Error(`host route to ${p.ip} is not via ${p.hostIf}`);
    }
    for (const from of pods) {
      for (const to of pods) {
        if (from === to) continue;
        const ok = await ping(['ip', 'netns', 'exec', from.netns, 'ping', '-c', '1', '-W', '2', to.ip]);
        console.log(`${ok ? 'ok  ' : 'FAIL'} ${from.name} -> ${to.name} (${to.ip})`);
        if (!ok) failures++;
      }
    }
    for (const p of pods) {
      const ok = await ping(['ping', '-c', '1', '-W', '2', '-I', p.hostIf, p.ip]);
      console.log(`${ok ? 'ok  ' : 'FAIL'} host -> ${p.name} (${p.ip})`);
      if (!ok) failures++;
    }

    for (const p of pods) {
      const del = await h.shim({ command: 'DEL', containerId: `demo-${p.name}`, netns: p.netnsPath, ifname: 'eth0', config: CONF });
      if (del.exitCode !== 0) throw new Error(`DEL ${p.name} failed: ${del.stdout}`);
    }
    console.log('\nDEL done for every pod.');
  } finally {
    await h.cleanup();
  }
  const leftLinks = (await hostLinks()).filter((l) => pods.some((p) => p.hostIf === l.ifname));
  const leftNetns = (await runCommand('ip', ['netns', 'list'])).stdout.split('\n').filter((l) => l.includes('pwt-demo'));
  console.log(`left behind: ${leftLinks.length} host veths, ${leftNetns.length} netns; podwired stopped.`);
  if (leftLinks.length + leftNetns.length > 0) failures++;
  console.log(failures === 0 ? '\ndemo OK' : `\ndemo FAILED (${failures} problems)`);
  return failures === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`demo failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
