/**
 * The Cni service's per-call bookkeeping: the request id on the lines it logs for a call and
 * on the call's event, and one event per completed call.
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import { after, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { openIpamStore } from '@podwire/ipam-store';
import { FakeDatapath } from '../datapath/fake-datapath';
import { type CniCallEvent, CniEventBus } from '../events/cni-events';
import { KeyedMutex } from '../keyed-mutex';
import { createServerLogger } from '../logging/server-logger';
import { NetworkRegistry } from '../pools/network-registry';
import { Readiness } from '../readiness';
import type { CniReply } from '../skel/skel';
import { type CniCallRequest, createCniService } from './cni-service';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'podwire-cni-service-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

function fixture(name: string, brokenListener = false) {
  const lines: Array<Record<string, unknown>> = [];
  const log = createServerLogger('debug', {
    destination: new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const l of chunk.toString('utf8').split('\n')) if (l !== '') lines.push(JSON.parse(l) as Record<string, unknown>);
        done();
      },
    }),
  });
  const store = openIpamStore(path.join(dir, `${name}.db`));
  const deps = {
    store,
    datapath: new FakeDatapath({
      // Logs from inside setUp and tearDown, as the real datapath's deeper layers do.
      onSetUp: async (spec) => {
        await new Promise((r) => setTimeout(r, 1));
        log.debug({ hostIfname: spec.hostIfname }, 'datapath: wired');
      },
      onTearDown: (hostIfname) => log.debug({ hostIfname }, 'datapath: torn down'),
    }),
    locks: new KeyedMutex(),
    networks: new NetworkRegistry(),
  };
  const events: CniCallEvent[] = [];
  const bus = new CniEventBus();
  if (brokenListener) {
    bus.subscribe(() => {
      throw new Error('listener bug');
    });
  }
  bus.subscribe((e) => events.push(e));
  const service = createCniService(deps, log, Readiness.alreadyReady(), bus);
  return { lines, events, service, store };
}

type Call = grpc.ServerUnaryCall<CniCallRequest, CniReply> & { emit(ev: string): boolean };

/** What the shim sends for any verb (the RPC names the verb). */
function request(containerId: string, config: Record<string, unknown> | string): CniCallRequest {
  return {
    invocation: {
      containerId,
      netns: '/var/run/netns/unused',
      ifname: 'eth0',
      args: 'K8S_POD_NAMESPACE=ns1;K8S_POD_NAME=pod-1;IgnoreUnknown=1',
      path: '/opt/cni/bin',
      config: Buffer.from(typeof config === 'string' ? config : JSON.stringify(config)),
    },
  };
}

/** Any Cni handler: Add and Get answer a CniReply, the others the same without the result. */
type AnyCniHandler = grpc.handleUnaryCall<CniCallRequest, CniReply> | grpc.handleUnaryCall<CniCallRequest, Omit<CniReply, 'result' | 'outcome'>>;

function invoke(handler: AnyCniHandler, req: CniCallRequest, cancel = false): Promise<{ err: grpc.ServerErrorResponse | null; reply?: CniReply }> {
  const call = Object.assign(new EventEmitter(), { request: req }) as unknown as Call;
  const done = new Promise<{ err: grpc.ServerErrorResponse | null; reply?: CniReply }>((resolve) =>
    (handler as grpc.handleUnaryCall<CniCallRequest, CniReply>)(call, (err, reply) =>
      resolve({ err: err as grpc.ServerErrorResponse | null, reply: reply ?? undefined }),
    ),
  );
  // The caller goes away while the call runs.
  if (cancel) call.emit('cancelled');
  return done;
}

const conf = { cniVersion: '1.1.0', name: 'net-x', type: 'podwire', ipam: { ranges: [[{ subnet: '10.226.250.0/30' }]] } };

test("ADD: one ok event, and the call's line carries its reqId", async () => {
  const f = fixture('ok');
  const { err, reply } = await invoke(f.service.Add, request('c1', conf));
  assert.equal(err, null);
  assert.equal(reply?.error, undefined);
  assert.equal(f.events.length, 1);
  const e = f.events[0]!;
  assert.match(e.requestId, /^[0-9a-f]{16}$/);
  assert.deepEqual(
    {
      verb: e.verb,
      containerId: e.containerId,
      ifname: e.ifname,
      network: e.network,
      podNamespace: e.podNamespace,
      podName: e.podName,
      outcome: e.outcome,
      errorCode: e.errorCode,
    },
    { verb: 'ADD', containerId: 'c1', ifname: 'eth0', network: 'net-x', podNamespace: 'ns1', podName: 'pod-1', outcome: 'ok', errorCode: 0 },
  );
  assert.ok(e.durationMs >= 0);
  const perCall = f.lines.find((l) => l.msg === 'CNI ADD');
  assert.equal(perCall?.reqId, e.requestId);
  assert.equal(perCall?.outcome, 'ok');
  f.store.close();
});

test('a failing call: an error event with the CNI code; two calls get different ids', async () => {
  const f = fixture('error');
  await invoke(f.service.Add, request('c1', '{"cniVersion":"1.1.0","name":"net-x","type":"other"}'));
  await invoke(f.service.Del, request('c1', conf));
  assert.deepEqual(
    f.events.map((e) => [e.verb, e.outcome]),
    [
      ['ADD', 'error'],
      ['DEL', 'ok'],
    ],
  );
  assert.ok((f.events[0]?.errorCode ?? 0) > 0);
  assert.notEqual(f.events[0]?.errorMsg, '');
  assert.notEqual(f.events[0]?.requestId, f.events[1]?.requestId);
  const failed = f.lines.find((l) => l.msg === 'CNI ADD failed');
  assert.equal(failed?.reqId, f.events[0]?.requestId);
  f.store.close();
});

test('DEL, CHECK, STATUS and GC answer without a result; ADD and GET with one; no invocation is CNI error 4', async () => {
  const f = fixture('shapes');
  const add = await invoke(f.service.Add, request('c5', conf));
  assert.ok(Buffer.isBuffer(add.reply?.result) && add.reply.result.length > 0);
  const get = await invoke(f.service.Get, request('c5', conf));
  assert.deepEqual(JSON.parse(String(get.reply?.result)), JSON.parse(String(add.reply?.result)));
  for (const [rpc, handler] of [
    ['Check', f.service.Check],
    ['Status', f.service.Status],
    ['Del', f.service.Del],
    ['Gc', f.service.Gc],
  ] as const) {
    const { err, reply } = await invoke(handler, request('c5', conf));
    assert.equal(err, null, rpc);
    assert.deepEqual(reply, { error: undefined, cniVersion: '1.1.0' }, rpc);
  }
  const failed = await invoke(f.service.Check, request('c5', conf));
  assert.equal(failed.reply?.error?.code, 3, 'CHECK after DEL: unknown container');
  assert.equal('result' in (failed.reply ?? {}), false);
  const empty = await invoke(f.service.Add, { invocation: null });
  assert.equal(empty.reply?.error?.code, 4);
  assert.match(String(empty.reply?.error?.msg), /CNI_CONTAINERID, CNI_NETNS, CNI_IFNAME/);
  f.store.close();
});

test('an ADD whose caller gave up: rolled back under the same reqId, an abandoned event', async () => {
  const f = fixture('abandoned');
  const { err } = await invoke(f.service.Add, request('c2', conf), true);
  assert.equal(err?.code, grpc.status.CANCELLED);
  assert.equal(f.events.length, 1);
  assert.equal(f.events[0]?.outcome, 'abandoned');
  const id = f.events[0]?.requestId;
  assert.ok(
    f.lines.some((l) => l.msg === 'datapath: torn down'),
    'rolled back',
  );
  assert.equal(f.lines.find((l) => typeof l.msg === 'string' && l.msg.includes('gave up'))?.reqId, id);
  assert.deepEqual(f.store.listAttachments(), []);
  f.store.close();
});

test('a listener that throws does not break the call or the other listeners; it is logged', async () => {
  const f = fixture('throws', true);
  const { err, reply } = await invoke(f.service.Add, request('c3', conf));
  assert.equal(err, null);
  assert.equal(reply?.error, undefined);
  assert.equal(f.events.length, 1);
  const warned = f.lines.find((l) => l.msg === 'a CNI event listener failed');
  assert.equal(warned?.reqId, f.events[0]?.requestId);
  f.store.close();
});
