import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BUILT_EXEC_HELPER, builtExecHelper } from './exec-helper-process';
import { runCommand } from './run-command';

test('scripts/build.sh built the exec-helper the tests run programs through', () => {
  assert.equal(builtExecHelper(), BUILT_EXEC_HELPER);
});

test('a program found in PATH gets its argv, stdin and env; its stdout, stderr and exit code come back', async () => {
  const r = await runCommand('sh', ['-c', 'read x; echo "$x $1 $PW_T"; echo err >&2; exit 3', 'sh', 'arg'], {
    input: 'in\n',
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', PW_T: 'envval' },
  });
  assert.deepEqual(r, { code: 3, signal: null, stdout: 'in arg envval\n', stderr: 'err\n' });
});

test('an exit code above 128 is an exit code, not a signal', async () => {
  assert.deepEqual(await runCommand('sh', ['-c', 'exit 137']), { code: 137, signal: null, stdout: '', stderr: '' });
});

test('past its timeout the program is SIGKILLed', async () => {
  const t0 = Date.now();
  const r = await runCommand('sleep', ['30'], { timeoutMs: 200 });
  assert.equal(r.code, null);
  assert.equal(r.signal, 'SIGKILL');
  assert.ok(Date.now() - t0 < 5_000, `${Date.now() - t0} ms`);
});

test('past its timeout a program that closed its output and runs on is SIGKILLed too', async () => {
  const t0 = Date.now();
  const r = await runCommand('sh', ['-c', 'exec >&- 2>&-; sleep 30'], { timeoutMs: 200 });
  assert.equal(r.signal, 'SIGKILL');
  assert.ok(Date.now() - t0 < 5_000, `${Date.now() - t0} ms`);
});

test('a program that does not exist rejects with ENOENT, as Node spawn does', async () => {
  await assert.rejects(runCommand('/nonexistent/podwire-nope', []), (e: unknown) => (e as { code?: string }).code === 'ENOENT');
});
