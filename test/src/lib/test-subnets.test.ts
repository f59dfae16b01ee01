import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { REPO_ROOT } from './paths';
import { HOST_NETNS_SUBNETS, cidrsOverlap } from './test-subnets';

test('cidrsOverlap: same family only, by range', () => {
  assert.equal(cidrsOverlap('10.226.0.0/16', '10.226.2.0/24'), true);
  assert.equal(cidrsOverlap('10.214.1.0/24', '10.214.10.0/24'), false);
  assert.equal(cidrsOverlap('10.236.1.0/30', '10.236.1.3/32'), true);
  assert.equal(cidrsOverlap('10.236.1.0/30', '10.236.1.4/32'), false);
  assert.equal(cidrsOverlap('fd99:226::/64', 'fd99:226::5/128'), true);
  assert.equal(cidrsOverlap('fd99:226::/64', 'fd99:227::/64'), false);
  assert.equal(cidrsOverlap('10.0.0.0/8', 'fd99::/16'), false);
});

test('no two test files wiring pods in the host netns lease from overlapping subnets', () => {
  const entries = Object.entries(HOST_NETNS_SUBNETS).flatMap(([file, cidrs]) => cidrs.map((cidr) => ({ file, cidr })));
  const clashes: string[] = [];
  for (const [i, a] of entries.entries()) {
    for (const b of entries.slice(i + 1)) if (a.file !== b.file && cidrsOverlap(a.cidr, b.cidr)) clashes.push(`${a.file} ${a.cidr} / ${b.file} ${b.cidr}`);
  }
  assert.deepEqual(clashes, []);
});

test('every listed file exists, and every test file starting an E2eHarness is listed', () => {
  for (const file of Object.keys(HOST_NETNS_SUBNETS)) assert.ok(fs.existsSync(path.join(REPO_ROOT, file)), file);
  const dir = path.join(REPO_ROOT, 'test', 'src', 'e2e');
  const harnessFiles = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.test.ts') && fs.readFileSync(path.join(dir, f), 'utf8').includes('E2eHarness.start('))
    .map((f) => `test/src/e2e/${f}`);
  assert.deepEqual(
    harnessFiles.filter((f) => !(f in HOST_NETNS_SUBNETS)),
    [],
    'add the file and its subnets to test/src/lib/test-subnets.ts',
  );
});
