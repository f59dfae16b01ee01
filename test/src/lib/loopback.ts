import * as net from 'node:net';
import { runCommand } from './run-command';

/**
 * A 127.0.0.1 port from `from` up (within `span`) that nothing listens on and no nat rule
 * mentions: for a hostPort mapping a test makes through portmap or podwire's own table.
 *
 * Test files may run at the same time (node --test --test-concurrency), and a port chosen here
 * is only claimed once the test's mapping exists (portmap's iptables rule, or a podwired's
 * nftables table this check does not read), so each file searches its own block of 100:
 *   18000 podman, 18100 chaining, 18200 cri, 18300 podman-native-hostport,
 *   18400 cri-native-hostport.
 */
export async function freeLoopbackPort(from: number, span = 100): Promise<number> {
  const nat = (await runCommand('iptables', ['-w', '-t', 'nat', '-S'])).stdout;
  for (let port = from; port < from + span; port++) {
    if (nat.includes(`--dport ${port} `) || nat.includes(`--dports ${port} `)) continue;
    const free = await new Promise<boolean>((resolve) => {
      const s = net.createServer();
      s.once('error', () => resolve(false));
      s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
    });
    if (free) return port;
  }
  throw new Error(`no free port on 127.0.0.1 in ${from}-${from + span - 1}`);
}

/** Connects to 127.0.0.1:port and returns everything the peer sent before closing (5 s bound). */
export function readFromLoopback(port: number): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = [];
    const c = net.connect({ host: '127.0.0.1', port });
    c.setTimeout(5_000, () => c.destroy(new Error(`no answer from 127.0.0.1:${port} within 5 s`)));
    c.on('data', (d: Buffer) => chunks.push(d));
    c.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    c.on('error', reject);
  });
}
