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
  const conf = JSON.parse(fs.readFileSync(confTarget, 'utf8')) as { plugins: Array<{ type: string; capabilities?: unknown }> };
  assert.equal(conf.plugins[0]?.type, 'podwire');
  assert.deepEqual(conf.plugins[0]?.capabilities, { portMappings: true }, "the shipped conflist takes kubelet's hostPorts");
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
    assert.deepEqual(
      fs.readdirSync(path.join(root, dir)).filter((f) => f.startsWith('.podwire-install')),
      [],
    );
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
    assert.equal(
      exec,
      `${process.execPath} --max-semi-space-size=2 ${REPO_ROOT}/server/dist/main.js --socket /run/podwire/podwire.sock --state-dir /var/lib/podwire`,
    );
    assert.ok(fs.existsSync(`${REPO_ROOT}/server/dist/main.js`), 'ExecStart names a file that exists');
    assert.match(unit, /^RuntimeDirectory=podwire$/m);
    assert.match(unit, /^StateDirectory=podwire$/m);
    assert.match(unit, /^Restart=always$/m);
    assert.equal(fs.statSync(path.join(sysRoot, 'etc/systemd/system/podwired.service')).mode & 0o777, 0o644);
    assert.deepEqual(
      fs.readdirSync(path.join(sysRoot, 'etc/systemd/system')).filter((f) => f.startsWith('.podwire-install')),
      [],
    );
  } finally {
    fs.rmSync(sysRoot, { recursive: true, force: true });
  }
});

/**
 * A reader process that, until `stopFile` appears, reads each target over and over and sorts
 * every read into: version A, version B, or bad (partial, empty, missing, anything else).
 * Runs outside this process so it reads while the installer runs.
 */
const READER = `
const fs = require('fs');
const [stopFile, outFile, ...pairs] = process.argv.slice(1);
const targets = [];
for (let i = 0; i < pairs.length; i += 3) targets.push({ path: pairs[i], a: fs.readFileSync(pairs[i + 1]), b: fs.readFileSync(pairs[i + 2]), seenA: 0, seenB: 0, bad: [] });
fs.writeFileSync(outFile + '.ready', '');
while (!fs.existsSync(stopFile)) {
  for (const t of targets) {
    let got;
    try { got = fs.readFileSync(t.path); } catch (e) { t.bad.push(e.code || String(e)); continue; }
    if (got.equals(t.a)) t.seenA++;
    else if (got.equals(t.b)) t.seenB++;
    else t.bad.push('partial or unknown content of ' + got.length + ' bytes');
  }
}
fs.writeFileSync(outFile, JSON.stringify(targets.map((t) => ({ path: t.path, seenA: t.seenA, seenB: t.seenB, bad: t.bad.slice(0, 5), badCount: t.bad.length }))));
`;

test('repeated upgrades in place: a concurrent reader only ever sees a complete old or new shim and conflist', async () => {
  const upRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'podwire-upgrade-'));
  const { spawn } = await import('node:child_process');
  let reader: ReturnType<typeof spawn> | undefined;
  try {
    // Two versions of each file, large enough that a write is many syscalls, not one.
    const padding = (c: string) => ' '.repeat(512 * 1024).replace(/ /g, c);
    const confA = path.join(upRoot, 'a', '10-podwire.conflist');
    const confB = path.join(upRoot, 'b', '10-podwire.conflist');
    fs.mkdirSync(path.dirname(confA));
    fs.mkdirSync(path.dirname(confB));
    fs.writeFileSync(confA, JSON.stringify({ cniVersion: '1.0.0', name: 'podwire', plugins: [{ type: 'podwire', mtu: 1500 }], pad: padding('a') }));
    fs.writeFileSync(confB, JSON.stringify({ cniVersion: '1.0.0', name: 'podwire', plugins: [{ type: 'podwire', mtu: 1400 }], pad: padding('b') }));
    const shimA = SHIM_BINARY;
    const shimB = path.join(upRoot, 'podwire-b');
    fs.writeFileSync(shimB, Buffer.concat([fs.readFileSync(SHIM_BINARY), Buffer.from(padding('b'))]), { mode: 0o755 });
    const hostRoot = path.join(upRoot, 'host');
    const install = async (shim: string, conf: string) => {
      const r = await runCommand('bash', [INSTALLER, '--root', hostRoot, '--shim', shim, '--conflist', conf]);
      assert.equal(r.code, 0, r.stderr);
    };
    await install(shimA, confA);

    const bin = path.join(hostRoot, 'opt/cni/bin/podwire');
    const conf = path.join(hostRoot, 'etc/cni/net.d/10-podwire.conflist');
    const stopFile = path.join(upRoot, 'stop');
    const outFile = path.join(upRoot, 'reads.json');
    reader = spawn(process.execPath, ['-e', READER, stopFile, outFile, bin, shimA, shimB, conf, confA, confB], { stdio: ['ignore', 'inherit', 'inherit'] });
    const readerDone = new Promise<number | null>((resolve) => reader!.once('exit', (code) => resolve(code)));
    while (!fs.existsSync(`${outFile}.ready`)) await new Promise((r) => setTimeout(r, 10));

    // Upgrade and downgrade, over and over, while the reader reads.
    const rounds = 12;
    for (let i = 0; i < rounds; i++) await (i % 2 === 0 ? install(shimB, confB) : install(shimA, confA));
    fs.writeFileSync(stopFile, '');
    assert.equal(await readerDone, 0, 'the reader finished');
    reader = undefined;

    const reads = JSON.parse(fs.readFileSync(outFile, 'utf8')) as Array<{ path: string; seenA: number; seenB: number; bad: string[]; badCount: number }>;
    for (const r of reads) {
      assert.equal(r.badCount, 0, `${r.path}: every read is a complete version (bad reads: ${r.bad.join('; ')})`);
      assert.ok(r.seenA > 0 && r.seenB > 0, `${r.path}: the reader saw both versions (A ${r.seenA}, B ${r.seenB} reads), so it read during the upgrades`);
    }
    // The last install wins (round 0 installs B, then they alternate).
    assert.deepEqual(fs.readFileSync(bin), fs.readFileSync(rounds % 2 === 1 ? shimB : shimA));
    assert.equal(fs.statSync(bin).mode & 0o777, 0o755);
    for (const dir of ['opt/cni/bin', 'etc/cni/net.d']) {
      assert.deepEqual(
        fs.readdirSync(path.join(hostRoot, dir)).filter((f) => f.startsWith('.podwire-install')),
        [],
        'no temporary file left',
      );
    }
  } finally {
    reader?.kill('SIGKILL');
    fs.rmSync(upRoot, { recursive: true, force: true });
  }
});
