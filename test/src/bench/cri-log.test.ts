import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cniSetupDurations, logTimeMs } from './cri-log';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);

test('logTimeMs keeps the microseconds of a logrus time', () => {
  const t0 = logTimeMs('time="2026-12-01T22:49:51.479287180Z" level=debug msg="x"');
  const t1 = logTimeMs('time="2026-12-01T22:49:51.520088889Z" level=debug msg="y"');
  assert.ok(t0 !== undefined && t1 !== undefined);
  assert.ok(Math.abs(t1 - t0 - 40.801709) < 0.001, String(t1 - t0));
  assert.equal(logTimeMs('no time here'), undefined);
});

test('cniSetupDurations pairs begin and result lines per sandbox, interleaved', () => {
  const lines = [
    `time="2026-12-01T10:00:00.000000000Z" level=debug msg="begin cni setup" podsandboxid=${A}`,
    `time="2026-12-01T10:00:00.005000000Z" level=debug msg="begin cni setup" podsandboxid=${B}`,
    `time="2026-12-01T10:00:00.012500000Z" level=debug msg="cni result: {\\"Interfaces\\":{}}" podsandboxid=${A}`,
    `time="2026-12-01T10:00:00.006000000Z" level=info msg="RunPodSandbox" podsandboxid=${B}`,
    `time="2026-12-01T10:00:00.030000000Z" level=debug msg="cni result: {}" podsandboxid=${B}`,
    // a result without its begin (before the window) is ignored
    `time="2026-12-01T10:00:00.040000000Z" level=debug msg="cni result: {}" podsandboxid=${'c'.repeat(64)}`,
  ];
  const d = cniSetupDurations(lines);
  assert.deepEqual([...d.keys()].sort(), [A, B]);
  assert.ok(Math.abs((d.get(A) ?? 0) - 12.5) < 1e-6);
  assert.ok(Math.abs((d.get(B) ?? 0) - 25) < 1e-6);
});
