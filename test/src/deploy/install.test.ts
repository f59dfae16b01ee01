import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { REPO_ROOT, SHIM_BINARY } from '../lib/paths';
import { runCommand } from '../lib/run-command';

const INSTALLER = path.join(REPO_ROOT, 'deploy', 'install.sh');
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'podwire-install-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));

const binTarget = path.join(root, 'opt/cni/bin/podwire');
const confTarget = path.join(root, 'etc/cni/net.d/10-podwire.conflist');

test('installs the shim and the conflist under --root with the right modes', async () => {
  const r = await runCommand('bash', [INSTALLER, '--root', root]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(fs.readFileSync(binTarget), fs.readFileSync(SHIM_BINARY));
  assert.equal(fs.statSync(binTarget).mode & 0o777, 0o755);
  assert.equal(fs.statSync(confTarget).mode & 0o777, 0o644);
  const conf = JSON.parse(fs.readFileSync(confTarget, 'utf8')) as { plugins: Array<{ type: string }> };
  assert.equal(conf.plugins[0]?.type, 'podwire');
  const version = await runCommand(binTarget, [], { env: { CNI_COMMAND: 'VERSION' }, input: '{"cniVersion":"1.0.0"}' });
  assert.equal(version.code, 0);
});

test('an upgrade replaces files in place by rename (no half-written file, no temp left)', async () => {
  const before = fs.statSync(confTarget).ino;
  const custom = path.join(root, 'custom.conflist');
  fs.writeFileSync(custom, JSON.stringify({ cniVersion: '1.0.0', name: 'podwire', plugins: [{ type: 'podwire', mtu: 1400 }] }));
  const r = await runCommand('bash', [INSTALLER, '--root', root, '--conflist', custom]);
  assert.equal(r.code, 0, r.stderr);
  const installed = path.join(root, 'etc/cni/net.d/custom.conflist');
  assert.equal(fs.readFileSync(installed, 'utf8'), fs.readFileSync(custom, 'utf8'));
  const again = await runCommand('bash', [INSTALLER, '--root', root]);
  assert.equal(again.code, 0, again.stderr);
  assert.notEqual(fs.statSync(confTarget).ino, before, 'the file was replaced by rename, not rewritten');
  for (const dir of ['opt/cni/bin', 'etc/cni/net.d']) {
    assert.deepEqual(fs.readdirSync(path.join(root, dir)).filter((f) => f.startsWith('.podwire-install')), []);
  }
});

test('an invalid conflist is refused and the installed one is left untouched', async () => {
  const good = fs.readFileSync(confTarget, 'utf8');
  const bad = path.join(root, '10-podwire.conflist');
  fs.writeFileSync(bad, '{"cniVersion": ');
  const r = await runCommand('bash', [INSTALLER, '--root', root, '--conflist', bad]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /not valid JSON/);
  assert.equal(fs.readFileSync(confTarget, 'utf8'), good);
});

test('the systemd installer writes the shim, the conflist and a unit that runs this tree', async () => {
  const sysRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'podwire-systemd-'));
  try {
    const r = await runCommand('bash', [path.join(REPO_ROOT, 'deploy', 'systemd', 'install.sh'), '--root', sysRoot]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(fs.readFileSync(path.join(sysRoot, 'opt/cni/bin/podwire')), fs.readFileSync(SHIM_BINARY));
    const unit = fs.readFileSync(path.join(sysRoot, 'etc/systemd/system/podwired.service'), 'utf8');
    assert.ok(!/@[A-Z_]+@/.test(unit), 'every placeholder is filled');
    const exec = /^ExecStart=(.*)$/m.exec(unit)?.[1] ?? '';
    assert.equal(exec, `${process.execPath} ${REPO_ROOT}/server/dist/main.js --socket /run/podwire/podwire.sock --state-dir /var/lib/podwire`);
    assert.ok(fs.existsSync(`${REPO_ROOT}/server/dist/main.js`), 'ExecStart names a file that exists');
    assert.match(unit, /^RuntimeDirectory=podwire$/m);
    assert.match(unit, /^StateDirectory=podwire$/m);
    assert.match(unit, /^Restart=always$/m);
    assert.equal(fs.statSync(path.join(sysRoot, 'etc/systemd/system/podwired.service')).mode & 0o777, 0o644);
    assert.deepEqual(fs.readdirSync(path.join(sysRoot, 'etc/systemd/system')).filter((f) => f.startsWith('.podwire-install')), []);
  } finally {
    fs.rmSync(sysRoot, { recursive: true, force: true });
  }
});
