import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_CALL_TIMEOUT_MS, DEFAULT_EVENTS_WATCH_MS, parseCtlArgs } from './ctl-args';
import { CtlError } from './ctl-error';
import { EXIT } from './exit-codes';

const noEnv = {};

function usageFails(argv: string[], pattern: RegExp, env: Record<string, string> = {}): void {
  assert.throws(
    () => parseCtlArgs(argv, env),
    (err: unknown) => err instanceof CtlError && err.exitCode === EXIT.USAGE && pattern.test(err.message),
    `argv ${JSON.stringify(argv)}`,
  );
}

test('defaults: table output, the default socket, a 10 s deadline', () => {
  const inv = parseCtlArgs(['status'], noEnv);
  assert.deepEqual(inv, {
    command: { name: 'status' },
    output: 'table',
    connection: { kind: 'unix', socket: '/run/podwire/podwire.sock' },
    timeoutMs: DEFAULT_CALL_TIMEOUT_MS,
  });
});

test('the socket comes from --socket, else PODWIRE_SOCKET, else the default', () => {
  assert.deepEqual(parseCtlArgs(['pods'], { PODWIRE_SOCKET: '/x/env.sock' }).connection, { kind: 'unix', socket: '/x/env.sock' });
  assert.deepEqual(parseCtlArgs(['pods', '--socket', '/x/flag.sock'], { PODWIRE_SOCKET: '/x/env.sock' }).connection, { kind: 'unix', socket: '/x/flag.sock' });
  assert.deepEqual(parseCtlArgs(['pods'], { PODWIRE_SOCKET: '' }).connection, { kind: 'unix', socket: '/run/podwire/podwire.sock' });
});

test('flags may come before or after the command', () => {
  const a = parseCtlArgs(['-o', 'json', 'pods', '-n', 'kube-system', '--network', 'podwire'], noEnv);
  const b = parseCtlArgs(['pods', '--network', 'podwire', '--namespace', 'kube-system', '--output=json'], noEnv);
  assert.deepEqual(a, b);
  assert.deepEqual(a.command, { name: 'pods', namespace: 'kube-system', network: 'podwire' });
  assert.equal(a.output, 'json');
});

test('pod takes a container id or namespace/name, plus --network and --ifname', () => {
  assert.deepEqual(parseCtlArgs(['pod', 'abc123'], noEnv).command, { name: 'pod', selector: { containerId: 'abc123' } });
  assert.deepEqual(parseCtlArgs(['pod', 'default/web-0', '--ifname', 'net1', '--network', 'n2'], noEnv).command, {
    name: 'pod',
    selector: { namespace: 'default', name: 'web-0' },
    network: 'n2',
    ifname: 'net1',
  });
  usageFails(['pod'], /needs a container id or namespace\/name/);
  usageFails(['pod', '/web'], /neither a container id nor namespace\/name/);
  usageFails(['pod', 'a/b/c'], /neither/);
  usageFails(['pod', 'a', 'b'], /unexpected argument "b"/);
});

test('events: 5 s watch by default, --timeout and --count, --follow without a time limit', () => {
  const plain = parseCtlArgs(['events'], noEnv);
  assert.deepEqual(plain.command, { name: 'events', follow: false });
  assert.equal(plain.timeoutMs, DEFAULT_EVENTS_WATCH_MS);
  const timed = parseCtlArgs(['events', '--timeout', '1.5', '--count', '3'], noEnv);
  assert.deepEqual(timed.command, { name: 'events', follow: false, count: 3 });
  assert.equal(timed.timeoutMs, 1500);
  assert.deepEqual(parseCtlArgs(['events', '-f'], noEnv).command, { name: 'events', follow: true });
  usageFails(['events', '--follow', '--timeout', '3'], /takes no --timeout/);
  usageFails(['events', '--count', '0'], /--count must be a positive whole number/);
  usageFails(['events', '--count', '2.5'], /--count must be a positive whole number/);
});

test('health checks the whole server unless --service names one', () => {
  assert.deepEqual(parseCtlArgs(['health'], noEnv).command, { name: 'health', service: '' });
  assert.deepEqual(parseCtlArgs(['health', '--service', 'podwire.v1.Debug'], noEnv).command, { name: 'health', service: 'podwire.v1.Debug' });
});

test('--remote needs --cert, --key and --ca, and excludes --socket', () => {
  const inv = parseCtlArgs(['status', '--remote', '10.0.0.5:50051', '--cert', 'c.pem', '--key', 'k.pem', '--ca', 'ca.pem'], noEnv);
  assert.deepEqual(inv.connection, { kind: 'remote', address: '10.0.0.5:50051', certFile: 'c.pem', keyFile: 'k.pem', caFile: 'ca.pem' });
  const named = parseCtlArgs(['status', '--remote', '[fd00::5]:443', '--cert', 'c', '--key', 'k', '--ca', 'a', '--server-name', 'node-a'], noEnv);
  assert.deepEqual(named.connection, { kind: 'remote', address: '[fd00::5]:443', certFile: 'c', keyFile: 'k', caFile: 'a', serverName: 'node-a' });
  usageFails(['status', '--remote', 'h:1', '--cert', 'c'], /--remote needs --key, --ca/);
  usageFails(['status', '--remote', 'h:1', '--cert', 'c', '--key', 'k', '--ca', 'a', '--socket', '/s'], /exclude each other/);
  usageFails(['status', '--cert', 'c'], /--cert only goes with --remote/);
  usageFails(['status', '--remote', 'nohost', '--cert', 'c', '--key', 'k', '--ca', 'a'], /host:port/);
  usageFails(['status', '--remote', 'h:70000', '--cert', 'c', '--key', 'k', '--ca', 'a'], /out of range/);
});

test('usage errors: no command, unknown command or flag, flags of another command, bad -o and --timeout', () => {
  usageFails([], /no command given/);
  usageFails(['frobnicate'], /unknown command "frobnicate"/);
  usageFails(['status', '--bogus'], /bogus/);
  usageFails(['leases', '--namespace', 'x'], /leases does not take --namespace/);
  usageFails(['status', '--follow'], /status does not take --follow/);
  usageFails(['status', '-o', 'yaml'], /-o must be table or json/);
  usageFails(['status', '--timeout', 'soon'], /--timeout must be a positive number/);
  usageFails(['status', '--socket', ''], /--socket must not be empty/);
});

test('--help and help win over everything else', () => {
  assert.deepEqual(parseCtlArgs(['--help'], noEnv).command, { name: 'help' });
  assert.deepEqual(parseCtlArgs(['pods', '-h'], noEnv).command, { name: 'help' });
  assert.deepEqual(parseCtlArgs(['help'], noEnv).command, { name: 'help' });
});
