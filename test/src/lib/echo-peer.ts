/**
 * A tiny TCP/UDP peer for traffic tests, run inside a test netns (`ip netns exec NS node
 * echo-peer.js ...`): `serve tcp|udp PORT NAME` answers every connection or datagram with
 * "NAME <the client's address>" (what source address reached it); `ask tcp|udp HOST PORT`
 * prints the answer and exits 0, or exits 1 after 3 s without one.
 */
import * as dgram from 'node:dgram';
import * as net from 'node:net';

export const ECHO_PEER = __filename;

function serve(proto: string, port: number, name: string): void {
  const answer = (addr: string) => `${name} ${addr.replace(/^::ffff:/, '')}`;
  if (proto === 'tcp') {
    net.createServer((s) => s.end(answer(s.remoteAddress ?? '?'))).listen({ port, host: '::', ipv6Only: false });
  } else {
    const sock = dgram.createSocket({ type: 'udp6', ipv6Only: false });
    sock.on('message', (_m, rinfo) => sock.send(answer(rinfo.address), rinfo.port, rinfo.address));
    sock.bind(port, '::');
  }
  process.stdout.write('listening\n');
}

function ask(proto: string, host: string, port: number): void {
  const fail = setTimeout(() => process.exit(1), 3000);
  const done = (text: string) => {
    clearTimeout(fail);
    process.stdout.write(`${text}\n`);
    process.exit(0);
  };
  if (proto === 'tcp') {
    const c = net.connect({ host, port });
    let got = '';
    c.on('data', (d) => (got += d.toString()));
    c.on('end', () => done(got));
    c.on('error', () => process.exit(1));
  } else {
    const sock = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
    sock.on('message', (m) => done(m.toString()));
    // A few tries: the first datagram may meet an ARP/ND resolution.
    const send = () => sock.send('?', port, host);
    send();
    setInterval(send, 500).unref();
  }
}

if (require.main === module) {
  const [mode, proto, a, b, c] = process.argv.slice(2);
  if (mode === 'serve') serve(proto ?? 'tcp', Number(a), b ?? 'peer');
  else if (mode === 'ask') ask(proto ?? 'tcp', a ?? '', Number(b));
  else {
    process.stderr.write(`usage: echo-peer serve tcp|udp PORT NAME | ask tcp|udp HOST PORT (${c ?? ''})\n`);
    process.exit(2);
  }
}
