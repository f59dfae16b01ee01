/**
 * One source for the CNI versions podwire supports: SUPPORTED_CNI_VERSIONS and
 * LATEST_CNI_VERSION in server/src/cni/cni-versions.ts. The shim's list is generated from it
 * at build time (shim/src/gen_cni_versions.awk); this checks that the real shim binary and the
 * README say the same as the server.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { REPO_ROOT } from '../lib/paths';
import { runShim } from '../lib/shim';

const versions = require(path.join(REPO_ROOT, 'server/dist/cni/cni-versions.js')) as {
  SUPPORTED_CNI_VERSIONS: readonly string[];
  LATEST_CNI_VERSION: string;
};

test("the shim's VERSION lists exactly the server's SUPPORTED_CNI_VERSIONS, in order", async () => {
  const oldest = versions.SUPPORTED_CNI_VERSIONS[0]!;
  const r = await runShim({ command: 'VERSION', config: { cniVersion: oldest } });
  assert.equal(r.exitCode, 0, r.stderr);
  assert.deepEqual(r.json, { cniVersion: oldest, supportedVersions: [...versions.SUPPORTED_CNI_VERSIONS] });
});

test("without a cniVersion the shim answers in the server's LATEST_CNI_VERSION", async () => {
  const r = await runShim({ command: 'VERSION', config: '' });
  assert.equal(r.exitCode, 0, r.stderr);
  assert.equal(r.json?.cniVersion, versions.LATEST_CNI_VERSION);
  // Its own errors too (here: no CNI_COMMAND it knows).
  const bad = await runShim({ command: 'FROB', config: '{}' });
  assert.equal(bad.json?.cniVersion, versions.LATEST_CNI_VERSION);
});

test("the README's cniVersion row lists exactly SUPPORTED_CNI_VERSIONS", () => {
  const readme = fs.readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
  const rows = readme.split('\n').filter((l) => l.startsWith('| `cniVersion` |'));
  assert.equal(rows.length, 1, 'one `cniVersion` row in the network configuration table');
  const listed = rows[0]!.match(/\d+\.\d+\.\d+/g) ?? [];
  assert.deepEqual(listed, [...versions.SUPPORTED_CNI_VERSIONS], rows[0]);
});
