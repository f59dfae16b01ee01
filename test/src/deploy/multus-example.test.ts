/**
 * deploy/multus: the NetworkAttachmentDefinition example parses, its spec.config is a podwire
 * network config that podwire's own parser accepts (with ipam.routes, so no default route on
 * net1), and the example pod asks for it as net1. Static: no cluster here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { REPO_ROOT } from '../lib/paths';

const netConf = require(path.join(REPO_ROOT, 'server/dist/cni/net-conf.js')) as {
  parseNetConf(bytes: Buffer): { name: string; type: string; rangeSets: unknown[]; routes?: Array<{ family: number; dst: string; dstLen: number }> };
};

type Obj = Record<string, any>;
const FILE = path.join(REPO_ROOT, 'deploy', 'multus', 'podwire-net1.yaml');

function docs(): Obj[] {
  return parseAllDocuments(fs.readFileSync(FILE, 'utf8')).map((d) => {
    assert.deepEqual(d.errors, [], 'the example parses');
    return d.toJS() as Obj;
  });
}

test('the NetworkAttachmentDefinition carries a podwire config with ipam.routes that podwire accepts', () => {
  const nad = docs().find((d) => d.kind === 'NetworkAttachmentDefinition');
  assert.ok(nad);
  assert.equal(nad.apiVersion, 'k8s.cni.cncf.io/v1');
  const raw = nad.spec?.config;
  assert.equal(typeof raw, 'string', 'spec.config is a JSON string, as Multus expects');
  const conf = netConf.parseNetConf(Buffer.from(raw as string));
  assert.equal(conf.type, 'podwire');
  assert.equal(conf.name, nad.metadata?.name, 'the network is named as the attachment definition');
  assert.equal(conf.rangeSets.length, 2, 'dual-stack');
  assert.ok(conf.routes && conf.routes.length > 0, 'routes given: net1 gets no default route');
  assert.ok(conf.routes.every((r) => r.dstLen > 0), 'no default route among them (eth0 keeps it)');
});

test('the example pod asks for the attachment as net1', () => {
  const pod = docs().find((d) => d.kind === 'Pod');
  const nad = docs().find((d) => d.kind === 'NetworkAttachmentDefinition');
  assert.ok(pod && nad);
  const wanted = JSON.parse(pod.metadata?.annotations?.['k8s.v1.cni.cncf.io/networks'] as string) as Array<{ name: string; interface?: string }>;
  assert.deepEqual(wanted, [{ name: nad.metadata?.name, interface: 'net1' }]);
  assert.equal(pod.metadata?.namespace, nad.metadata?.namespace);
});
