import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Attachment__Output } from '../generated/podwire/v1/Attachment';
import type { CniEvent__Output } from '../generated/podwire/v1/CniEvent';
import type { ServerInfoReply__Output } from '../generated/podwire/v1/ServerInfoReply';
import type { Connection } from './connection';
import { CtlError } from './ctl-error';
import { EXIT } from './exit-codes';
import { CapturedWriter, FakeDebugApi } from './fake-debug-api';
import { runCtl } from './run-ctl';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  connections: Array<{ conn: Connection; timeoutMs: number }>;
  interrupt: () => void;
}

async function run(argv: string[], api: FakeDebugApi, env: Record<string, string> = {}, whileRunning?: (r: Run) => void): Promise<Run> {
  const stdout = new CapturedWriter();
  const stderr = new CapturedWriter();
  const handlers = new Set<() => void>();
  const r: Run = {
    code: -1,
    stdout: '',
    stderr: '',
    connections: [],
    interrupt: () => {
      for (const h of [...handlers]) h();
    },
  };
  const pending = runCtl(argv, {
    stdout,
    stderr,
    env,
    connect: (conn, timeoutMs) => {
      r.connections.push({ conn, timeoutMs });
      return api;
    },
    onInterrupt: (h) => {
      handlers.add(h);
      return () => handlers.delete(h);
    },
  });
  if (whileRunning) setImmediate(() => whileRunning(r));
  r.code = await pending;
  r.stdout = stdout.text;
  r.stderr = stderr.text;
  return r;
}

const attachment = (over: Partial<Attachment__Output> = {}): Attachment__Output => ({
  network: 'podwire',
  containerId: 'c0ffee01',
  ifname: 'eth0',
  netns: '/var/run/netns/pod-a',
  hostIfname: 'pw0123456789ab',
  state: 'ATTACHMENT_STATE_READY',
  podNamespace: 'default',
  podName: 'web-0',
  podUid: 'uid-1',
  createdAt: '2025-01-02T03:04:05.000Z',
  addresses: ['10.227.0.2/32'],
  ...over,
});

const info: ServerInfoReply__Output = {
  version: '0.1.0',
  startedAt: '2025-01-02T03:00:00.000Z',
  uptimeSeconds: 3725,
  ready: true,
  configJson: JSON.stringify({ socket: '/run/podwire/podwire.sock', stateDir: '/var/lib/podwire' }),
  store: { ok: true, detail: '/var/lib/podwire/ipam.db' },
  netlink: { ok: false, detail: 'EPERM' },
  pools: [{ network: 'podwire', rangeSet: '10.227.0.0/24', used: '3', size: '253', free: '250' }],
  attachments: 3,
  nodeName: 'node-a',
  podCidrs: ['10.227.0.0/24'],
  nodeVersion: 'v20.20.0',
  startup: null,
  pendingLinkDestructions: 2,
  nft: {
    table: 'inet podwire-1a2b3c4d5e6f',
    available: true,
    error: '',
    present: true,
    masquerade: true,
    podSources: 2,
    cluster: 4,
    nonMasquerade: 1,
    portMappings: 3,
    rules: 9,
  },
  policy: null,
};

const event = (over: Partial<CniEvent__Output> = {}): CniEvent__Output => ({
  requestId: 'r1',
  time: '2025-01-02T03:04:05.000Z',
  verb: 'CNI_VERB_ADD',
  containerId: 'c0ffee01',
  ifname: 'eth0',
  network: 'podwire',
  podNamespace: 'default',
  podName: 'web-0',
  durationMs: 12.34,
  outcome: 'CNI_EVENT_OUTCOME_OK',
  errorCode: 0,
  errorMsg: '',
  ...over,
});

test('status: a table of the server, its health and its pools', async () => {
  const api = new FakeDebugApi();
  api.serverInfoReply = info;
  api.healthReply = 'SERVING';
  const r = await run(['status'], api);
  assert.equal(r.code, EXIT.OK, r.stderr);
  assert.match(r.stdout, /^server +podwired 0\.1\.0 \(node v20\.20\.0\)$/m);
  assert.match(r.stdout, /^started +2025-01-02T03:00:00\.000Z \(up 1h02m\)$/m);
  assert.match(r.stdout, /^health +SERVING$/m);
  assert.match(r.stdout, /^netlink +FAILING {2}EPERM$/m);
  assert.match(r.stdout, /^NETWORK +RANGE SET +USED +FREE +SIZE$/m);
  assert.match(r.stdout, /^podwire +10\.227\.0\.0\/24 +3 +250 +253$/m);
  assert.match(r.stdout, /^nftables +inet podwire-1a2b3c4d5e6f: masquerade on \(sources 2, cluster 4, excluded 1\), 3 hostPort mapping\(s\)$/m);
  assert.ok(api.closed, 'the client is closed');
});

test('status says when nftables is unavailable (no masquerade, no hostPorts)', async () => {
  const api = new FakeDebugApi();
  api.serverInfoReply = {
    ...info,
    nft: {
      table: '',
      available: false,
      error: 'nftables could not be opened: libnftables.so.1 missing',
      present: false,
      masquerade: false,
      podSources: 0,
      cluster: 0,
      nonMasquerade: 0,
      portMappings: 0,
      rules: 0,
    },
  };
  api.healthReply = 'SERVING';
  const r = await run(['status'], api);
  assert.match(r.stdout, /^nftables +UNAVAILABLE {2}nftables could not be opened: libnftables\.so\.1 missing \(no masquerade, no hostPorts\)$/m);
});

test('status -o json: stable shape with numbers for counters and the config parsed', async () => {
  const api = new FakeDebugApi();
  api.serverInfoReply = info;
  api.healthReply = new CtlError('podwired does not serve Health/Check', EXIT.FAILED);
  const r = await run(['status', '-o', 'json'], api);
  assert.equal(r.code, EXIT.OK);
  const doc = JSON.parse(r.stdout) as Record<string, any>;
  assert.deepEqual(Object.keys(doc), ['server', 'pools', 'health']);
  assert.deepEqual(doc.pools, [{ network: 'podwire', rangeSet: '10.227.0.0/24', used: 3, size: 253, free: 250 }]);
  assert.deepEqual(doc.server.config, { socket: '/run/podwire/podwire.sock', stateDir: '/var/lib/podwire' });
  assert.deepEqual(doc.health, { status: 'UNKNOWN', error: 'podwired does not serve Health/Check' });
  assert.equal(doc.server.uptimeSeconds, 3725);
  assert.equal(doc.server.nft.portMappings, 3);
});

test('pods: passes the filters and lists each attachment', async () => {
  const api = new FakeDebugApi();
  api.attachmentsReply = {
    attachments: [attachment(), attachment({ containerId: 'beef02', podName: '', podNamespace: '', addresses: ['10.227.0.3/32', 'fd00:227::3/128'] })],
  };
  const r = await run(['pods', '-n', 'default', '--network', 'podwire'], api);
  assert.equal(r.code, EXIT.OK);
  assert.deepEqual(api.requests[0], { method: 'ListAttachments', request: { podNamespace: 'default', network: 'podwire' } });
  const lines = r.stdout.trimEnd().split('\n');
  assert.match(lines[0]!, /^POD +CONTAINER +IFNAME +NETWORK +ADDRESSES +HOST IF +STATE +CREATED$/);
  assert.match(lines[1]!, /^default\/web-0 +c0ffee01 +eth0 +podwire +10\.227\.0\.2\/32 +pw0123456789ab +ready +2025-01-02T03:04:05\.000Z$/);
  assert.match(lines[2]!, /^- +beef02 .*10\.227\.0\.3\/32,fd00:227::3\/128/);
  const none = new FakeDebugApi();
  none.attachmentsReply = { attachments: [] };
  assert.equal((await run(['pods'], none)).stdout, 'no attachments\n');
});

test('pods -o json: every field of every attachment', async () => {
  const api = new FakeDebugApi();
  api.attachmentsReply = { attachments: [attachment()] };
  const r = await run(['pods', '-o', 'json'], api);
  // Every field as it came, the state as the word podwired uses ('ready').
  assert.deepEqual(JSON.parse(r.stdout), { attachments: [{ ...attachment(), state: 'ready' }] });
  const pending = await run(
    ['pods', '-o', 'json'],
    Object.assign(new FakeDebugApi(), { attachmentsReply: { attachments: [attachment({ state: 'ATTACHMENT_STATE_PENDING' })] } }),
  );
  assert.equal((JSON.parse(pending.stdout) as { attachments: Array<{ state: string }> }).attachments[0]?.state, 'pending');
});

test('pod by namespace/name: links, routes, problems and the stored result', async () => {
  const api = new FakeDebugApi();
  api.attachmentReply = {
    attachment: attachment(),
    resultJson: JSON.stringify({ cniVersion: '1.1.0', ips: [{ address: '10.227.0.2/32' }] }),
    hostLink: {
      present: true,
      name: 'pw0123456789ab',
      index: 7,
      mac: '02:00:00:00:00:01',
      mtu: 1500,
      operState: 'up',
      addresses: ['169.254.1.1/32'],
      detail: '',
    },
    podLink: { present: false, name: 'eth0', index: 0, mac: '', mtu: 0, operState: '', addresses: [], detail: 'netns gone' },
    hostRoutes: [{ destination: '10.227.0.2/32', gateway: '', device: 'pw0123456789ab', protocol: '199' }],
    podRoutes: [],
    problems: ['pod interface eth0 is missing'],
  };
  const r = await run(['pod', 'default/web-0', '--ifname', 'eth0'], api);
  assert.equal(r.code, EXIT.OK);
  assert.deepEqual(api.requests[0], { method: 'GetAttachment', request: { podNamespace: 'default', podName: 'web-0', network: '', ifname: 'eth0' } });
  assert.match(r.stdout, /^pod +default\/web-0 \(uid uid-1\)$/m);
  assert.match(r.stdout, /^host +pw0123456789ab +up +7 +02:00:00:00:00:01 +1500 +169\.254\.1\.1\/32 +-$/m);
  assert.match(r.stdout, /^pod +eth0 +MISSING .*netns gone$/m);
  assert.match(r.stdout, /^host +10\.227\.0\.2\/32 +- +pw0123456789ab +199$/m);
  assert.match(r.stdout, /^problems:\n {2}- pod interface eth0 is missing$/m);
  assert.match(r.stdout, /"cniVersion": "1\.1\.0"/);
  const json = await run(['pod', 'c0ffee01', '-o', 'json'], api);
  const doc = JSON.parse(json.stdout) as Record<string, any>;
  assert.deepEqual(api.requests[1], { method: 'GetAttachment', request: { containerId: 'c0ffee01', network: '', ifname: '' } });
  assert.deepEqual(Object.keys(doc), ['attachment', 'result', 'hostLink', 'podLink', 'hostRoutes', 'podRoutes', 'problems']);
  assert.deepEqual(doc.result, { cniVersion: '1.1.0', ips: [{ address: '10.227.0.2/32' }] });
  assert.equal(doc.podLink.present, false);
});

test('pod not found: exit 3 and a message naming what was looked for', async () => {
  const api = new FakeDebugApi();
  api.attachmentReply = new CtlError('no attachment for pod kube-system/dns', EXIT.NOT_FOUND);
  const r = await run(['pod', 'kube-system/dns'], api);
  assert.equal(r.code, EXIT.NOT_FOUND);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr, 'podwirectl: no attachment for pod kube-system/dns\n');
});

test('leases: --network is passed on; table and JSON', async () => {
  const api = new FakeDebugApi();
  api.leasesReply = {
    leases: [{ network: 'podwire', address: '10.227.0.2', family: 4, prefixLength: 24, containerId: 'c0ffee01', ifname: 'eth0', setIndex: 0 }],
  };
  const r = await run(['leases', '--network', 'podwire'], api);
  assert.deepEqual(api.requests[0], { method: 'ListLeases', request: { network: 'podwire' } });
  assert.match(r.stdout, /^NETWORK +ADDRESS +PREFIX +SET +CONTAINER +IFNAME$/m);
  assert.match(r.stdout, /^podwire +10\.227\.0\.2 +\/24 +0 +c0ffee01 +eth0$/m);
  const json = JSON.parse((await run(['leases', '-o', 'json'], api)).stdout) as { leases: unknown[] };
  assert.deepEqual(json.leases, [
    { network: 'podwire', address: '10.227.0.2', family: 4, prefixLength: 24, containerId: 'c0ffee01', ifname: 'eth0', setIndex: 0 },
  ]);
});

test('peers: one row per peer route, unprogrammed routes say why', async () => {
  const api = new FakeDebugApi();
  api.peersReply = {
    source: 'PEER_SOURCE_KIND_STATIC',
    nodeName: 'node-a',
    podCidrs: ['10.227.1.0/24'],
    peers: [
      {
        name: 'node-b',
        nodeIp: '10.227.200.2',
        podCidrs: ['10.227.2.0/24'],
        mode: 'direct',
        vtepMac: '',
        vtepUnderlay: '',
        pathMtu: 0,
        pathMtuWarning: '',
        routes: [{ destination: '10.227.2.0/24', gateway: '10.227.200.2', programmed: true, error: '', mode: 'direct' }],
      },
      {
        name: 'node-c',
        nodeIp: '10.227.200.3',
        podCidrs: ['10.227.3.0/24'],
        mode: '',
        vtepMac: '',
        vtepUnderlay: '',
        pathMtu: 0,
        pathMtuWarning: '',
        routes: [{ destination: '10.227.3.0/24', gateway: '10.227.200.3', programmed: false, error: 'network unreachable', mode: '' }],
      },
      {
        name: 'node-d',
        nodeIp: '10.227.100.4',
        podCidrs: ['10.227.4.0/24'],
        mode: 'vxlan',
        vtepMac: '0e:77:0a:e3:64:04',
        vtepUnderlay: '10.227.100.4',
        pathMtu: 1400,
        pathMtuWarning: 'the path MTU to 10.227.100.4 is 1400, smaller than the 1500 the pods need',
        routes: [{ destination: '10.227.4.0/24', gateway: '10.227.4.0', programmed: true, error: '', mode: 'vxlan' }],
      },
    ],
  };
  const r = await run(['peers'], api);
  assert.match(r.stdout, /^peer source +static$/m);
  assert.match(r.stdout, /^node-b +10\.227\.200\.2 +10\.227\.2\.0\/24 +direct +10\.227\.200\.2 +- +programmed$/m);
  assert.match(
    r.stdout,
    /^node-d +10\.227\.100\.4 +10\.227\.4\.0\/24 +vxlan +10\.227\.4\.0 +0e:77:0a:e3:64:04 @ 10\.227\.100\.4 \(path MTU 1400: TOO SMALL\) +programmed$/m,
  );
  assert.match(r.stdout, /^node-d: the path MTU to 10\.227\.100\.4 is 1400, smaller than the 1500 the pods need$/m);
  assert.match(r.stdout, /^node-c .* NOT PROGRAMMED: network unreachable$/m);
  const doc = JSON.parse((await run(['peers', '-o', 'json'], api)).stdout) as Record<string, any>;
  assert.equal(doc.peers[0].nodeIP, '10.227.200.2');
  assert.deepEqual(
    [doc.peers[2].mode, doc.peers[2].vtepMac, doc.peers[2].vtepUnderlay, doc.peers[2].routes[0].mode, doc.peers[2].pathMtu],
    ['vxlan', '0e:77:0a:e3:64:04', '10.227.100.4', 'vxlan', 1400],
  );
  assert.deepEqual(doc.podCIDRs, ['10.227.1.0/24']);
  assert.equal(doc.source, 'static');
});

test('health: exit 0 only for SERVING, 6 otherwise; errors keep their own code', async () => {
  const api = new FakeDebugApi();
  api.healthReply = 'SERVING';
  const ok = await run(['health'], api);
  assert.equal(ok.code, EXIT.OK);
  assert.equal(ok.stdout, 'SERVING\n');
  assert.deepEqual(api.requests[0], { method: 'Health/Check', request: { service: '' } });
  api.healthReply = 'NOT_SERVING';
  const down = await run(['health', '-o', 'json'], api);
  assert.equal(down.code, EXIT.NOT_SERVING);
  assert.deepEqual(JSON.parse(down.stdout), { service: '', status: 'NOT_SERVING' });
  api.healthReply = new CtlError('cannot reach podwired at unix:/x (is podwired running?)', EXIT.UNREACHABLE);
  const gone = await run(['health', '--socket', '/x'], api);
  assert.equal(gone.code, EXIT.UNREACHABLE);
  assert.equal(gone.stderr, 'podwirectl: cannot reach podwired at unix:/x (is podwired running?)\n');
});

test('events: one line per event, stops after --count', async () => {
  const api = new FakeDebugApi();
  api.events = [
    event(),
    event({ requestId: 'r2', verb: 'CNI_VERB_DEL', outcome: 'CNI_EVENT_OUTCOME_ERROR', errorCode: 11, errorMsg: 'boom' }),
    event({ requestId: 'r3' }),
  ];
  const r = await run(['events', '--count', '2'], api);
  assert.equal(r.code, EXIT.OK);
  assert.equal(r.stderr, 'watching CNI calls on podwired at unix:/run/podwire/podwire.sock (for 5 s or 2 events)\n');
  const lines = r.stdout.trimEnd().split('\n');
  assert.equal(lines.length, 2);
  assert.equal(lines[0], '2025-01-02T03:04:05.000Z ADD    ok           12.3ms default/web-0 container=c0ffee01 ifname=eth0 network=podwire');
  assert.match(lines[1]!, / DEL +error 11 .* msg="boom"$/);
  assert.equal(api.cancelled, 1);
});

test('events -o json: JSON lines; without --follow the watch ends at --timeout', async () => {
  const api = new FakeDebugApi();
  api.events = [event()];
  const r = await run(['events', '-o', 'json', '--timeout', '0.05'], api);
  assert.equal(r.code, EXIT.OK);
  assert.deepEqual(
    r.stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as unknown),
    [{ ...event(), verb: 'ADD', outcome: 'ok' }],
  );
  assert.equal(api.cancelled, 1);
});

test('events --follow runs until interrupted', async () => {
  const api = new FakeDebugApi();
  api.events = [event()];
  const r = await run(['events', '--follow'], api, {}, (running) => setTimeout(running.interrupt, 20));
  assert.equal(r.code, EXIT.OK);
  assert.match(r.stderr, /\(Ctrl-C to stop\)\n$/);
  assert.equal(r.stdout.split('\n').length - 1, 1);
  assert.equal(api.cancelled, 1);
});

test('events: a failing stream exits with its error', async () => {
  const api = new FakeDebugApi();
  api.watchFailure = new CtlError('cannot reach podwired at unix:/s: connect ENOENT /s (is podwired running?)', EXIT.UNREACHABLE);
  const r = await run(['events', '--follow'], api);
  assert.equal(r.code, EXIT.UNREACHABLE);
  assert.match(r.stderr, /cannot reach podwired/);
});

test('usage errors exit 2 without connecting; --help prints usage and exits 0', async () => {
  const api = new FakeDebugApi();
  const bad = await run(['pods', '--follow'], api);
  assert.equal(bad.code, EXIT.USAGE);
  assert.equal(bad.stderr, "podwirectl: pods does not take --follow\nRun 'podwirectl --help' for usage.\n");
  assert.deepEqual(bad.connections, []);
  const help = await run(['--help'], api);
  assert.equal(help.code, EXIT.OK);
  assert.match(help.stdout, /^usage: podwirectl COMMAND/);
  assert.match(help.stdout, /exit codes:/);
  assert.deepEqual(help.connections, []);
});

test('the connection and deadline reach the client', async () => {
  const api = new FakeDebugApi();
  api.healthReply = 'SERVING';
  const r = await run(['health', '--timeout', '2'], api, { PODWIRE_SOCKET: '/tmp/x/p.sock' });
  assert.deepEqual(r.connections, [{ conn: { kind: 'unix', socket: '/tmp/x/p.sock' }, timeoutMs: 2000 }]);
});

test('an unexpected error from a command exits 1 with its message', async () => {
  const api = new FakeDebugApi();
  api.serverInfoReply = new Error('kaput');
  const r = await run(['status'], api);
  assert.equal(r.code, EXIT.FAILED);
  assert.equal(r.stderr, 'podwirectl: unexpected error: kaput\n');
});

test('policy why: passes SRC DST PORT on and prints the verdict; a bad subcommand is a usage error', async () => {
  const api = new FakeDebugApi();
  const direction = (d: string) => ({ direction: d, pod: '', isolatedBy: [], allowedBy: [], allowed: true });
  api.policyWhyReply = {
    allowed: false,
    egress: direction('egress'),
    ingress: { ...direction('ingress'), pod: 'x/a', isolatedBy: ['x/deny'], allowed: false },
    text: 'DENIED\negress: not a pod here, allowed\ningress: DENIED: x/a is isolated by x/deny and no rule allows it',
  };
  const r = await run(['policy', 'why', 'x/b', 'x/a', '80/TCP'], api);
  assert.equal(r.code, EXIT.OK);
  assert.deepEqual(api.requests, [{ method: 'PolicyWhy', request: { src: 'x/b', dst: 'x/a', port: '80/TCP' } }]);
  assert.match(r.stdout, /^DENIED\n.*\n.*isolated by x\/deny/);
  const j = await run(['policy', 'why', 'x/b', 'x/a', '80', '-o', 'json'], api);
  assert.equal((JSON.parse(j.stdout) as { allowed: boolean }).allowed, false);
  const bad = await run(['policy', 'trace', 'x/b', 'x/a', '80'], api);
  assert.equal(bad.code, EXIT.USAGE);
  assert.match(bad.stderr, /unknown subcommand/);
  const short = await run(['policy', 'why', 'x/b'], api);
  assert.equal(short.code, EXIT.USAGE);
});

test('status shows NetworkPolicy: none without a source, its counts with one', async () => {
  const api = new FakeDebugApi();
  api.healthReply = 'SERVING';
  api.serverInfoReply = info;
  assert.match((await run(['status'], api)).stdout, /NetworkPolicy\s+none/);
  api.serverInfoReply = {
    ...info,
    policy: { source: 'file', policies: 200, pods: 1000, localPods: 100, transactions: '345', failures: '0', lastChangeMs: 0.84 },
  };
  assert.match(
    (await run(['status'], api)).stdout,
    /NetworkPolicy\s+file: 200 policies, 1000 pods \(100 wired here\); 345 transactions, 0 failed; last change in force in 0\.8 ms/,
  );
  const j = JSON.parse((await run(['status', '-o', 'json'], api)).stdout) as { server: { policy: { transactions: number } } };
  assert.equal(j.server.policy.transactions, 345);
});
