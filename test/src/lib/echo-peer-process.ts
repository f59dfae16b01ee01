/**
 * Driving echo-peer.ts from a test: a TCP echo peer started in a netns (kept in the caller's
 * list so its cleanup stops it, also when it fails to start), and one TCP probe from a netns.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { ECHO_PEER } from './echo-peer';
import { runCommand } from './run-command';

/** Starts `echo-peer serve tcp PORT NAME` in netns `where`, pushed onto `peers`; resolves once it listens. */
export async function startTcpEchoPeer(peers: ChildProcess[], where: string, port: number, name: string): Promise<void> {
  const child = spawn('ip', ['netns', 'exec', where, process.execPath, ECHO_PEER, 'serve', 'tcp', String(port), name], { stdio: ['ignore', 'pipe', 'pipe'] });
  peers.push(child);
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (d: Buffer) => d.toString().includes('listening') && resolve());
    child.once('exit', (code) => reject(new Error(`echo peer ${name} exited ${code}`)));
  });
}

/** One TCP probe from netns `where` to `host`:`port`: true when the peer answered (3 s without an answer: refused). */
export async function tcpProbeAnswers(where: string, host: string, port: number): Promise<boolean> {
  const r = await runCommand('ip', ['netns', 'exec', where, process.execPath, ECHO_PEER, 'ask', 'tcp', host, String(port)], { timeoutMs: 10_000 });
  return r.code === 0;
}
