import { spawn } from 'node:child_process';
import * as os from 'node:os';
import { HelperPool, builtExecHelper } from './exec-helper-process';

export interface CommandResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CommandOptions {
  input?: string | Buffer;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}

/**
 * Programs run through exec-helper processes (exec-helper-process.ts) when scripts/build.sh
 * has built it: a Node spawn forks this whole process, ~7 ms of its CPU per child here, and
 * the suite runs thousands (every `ip` and shim call). PODWIRE_TEST_SPAWN=node runs them
 * with Node's spawn instead.
 */
let pool: HelperPool | null | undefined;
function helperPool(): HelperPool | null {
  if (pool === undefined) {
    const helper = process.env.PODWIRE_TEST_SPAWN === 'node' ? undefined : builtExecHelper();
    pool = helper ? new HelperPool(helper) : null;
  }
  return pool;
}

const SIGNAL_NAMES = new Map<number, NodeJS.Signals>(Object.entries(os.constants.signals).map(([name, n]) => [n, name as NodeJS.Signals]));

/** Runs a program with argv (never a shell), optional stdin and env; resolves when it exits. */
export async function runCommand(file: string, args: string[], opts: CommandOptions = {}): Promise<CommandResult> {
  const p = helperPool();
  if (!p || Buffer.isBuffer(opts.input)) return runWithNodeSpawn(file, args, opts);
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(opts.env ?? process.env)) if (v !== undefined) env[k] = v;
  const o = await p.exec({ file, args, env, stdin: opts.input ?? '', ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}) });
  if (o.status < 0) {
    // As Node's spawn reports a program that cannot be started (ENOENT, EACCES).
    const code = Object.entries(os.constants.errno).find(([, n]) => n === -o.status)?.[0] ?? `errno ${-o.status}`;
    throw Object.assign(new Error(`spawn ${file} ${code}`), { code, errno: o.status, syscall: `spawn ${file}`, path: file });
  }
  const signal = o.status > 255 ? (SIGNAL_NAMES.get(o.status - 256) ?? 'SIGKILL') : null;
  return { code: signal ? null : o.status, signal, stdout: o.stdout, stderr: o.stderr };
}

function runWithNodeSpawn(file: string, args: string[], opts: CommandOptions): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    const timer = opts.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs) : undefined;
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ code, signal, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input ?? '');
  });
}

/** Runs a command that must succeed; returns its stdout. */
export async function mustRun(file: string, args: string[]): Promise<string> {
  const r = await runCommand(file, args, { timeoutMs: 30_000 });
  if (r.code !== 0) throw new Error(`${file} ${args.join(' ')} exited ${r.code}: ${r.stderr.trim()}`);
  return r.stdout;
}
