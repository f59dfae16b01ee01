/**
 * One running `exec-helper serve` (test/src/bench/exec-helper.c, built to test/build/exec-helper
 * by scripts/build.sh): a small static C process that posix_spawns each program it is asked
 * to run (clone(CLONE_VM|CLONE_VFORK) + execve, as Go's os/exec does), feeds its stdin,
 * collects its stdout and stderr, and times it. A fork of a Node process copies its page
 * tables: on this project's VMs that costs ~7 ms of the parent's CPU per child (README
 * "Measured"), which the benchmark must not charge to a plugin and the tests need not pay for
 * thousands of `ip` and shim runs. One execution at a time; while idle it keeps no Node event
 * loop alive.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { REPO_ROOT } from './paths';

/** One program execution. */
export interface ExecRequest {
  /** A path, or a name looked up in PATH. */
  file: string;
  args?: string[];
  env: Record<string, string>;
  stdin: string;
  /** Past this the program is SIGKILLed (its status then 256 + 9). */
  timeoutMs?: number;
}

export interface ExecOutcome {
  /** Exit code (0-255); 256 + the signal's number when killed; negative errno when the spawn itself failed. */
  status: number;
  /** Wall time from just before the spawn to the reap of the child. */
  elapsedMs: number;
  /** The child's user + system CPU time, when the executor can see it. */
  cpuMs: number | undefined;
  stdout: string;
  stderr: string;
}

/** test/build/exec-helper, when scripts/build.sh has built it. */
export const BUILT_EXEC_HELPER = path.join(REPO_ROOT, 'test', 'build', 'exec-helper');

export function builtExecHelper(): string | undefined {
  return fs.existsSync(BUILT_EXEC_HELPER) ? BUILT_EXEC_HELPER : undefined;
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
}

export class HelperProcess {
  private readonly child: ChildProcess;
  private buffered = Buffer.alloc(0);
  private waiting: ((o: ExecOutcome) => void) | undefined;
  private failed: ((e: Error) => void) | undefined;
  private exited = false;

  constructor(helper: string) {
    this.child = spawn(helper, ['serve'], { stdio: ['pipe', 'pipe', 'inherit'] });
    this.child.stdout?.on('data', (d: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, d]);
      this.tryReply();
    });
    this.child.on('exit', (code) => {
      this.exited = true;
      this.failed?.(new Error(`exec-helper exited with ${code}`));
    });
    this.child.stdin?.on('error', () => undefined);
    this.hold(false);
  }

  /** Keeps the event loop alive while an execution is under way, not while idle. */
  private hold(busy: boolean): void {
    const handles = [this.child, this.child.stdout, this.child.stdin] as Array<{ ref(): void; unref(): void } | null>;
    for (const h of handles) {
      if (busy) h?.ref();
      else h?.unref();
    }
  }

  private tryReply(): void {
    const b = this.buffered;
    if (b.length < 24) return;
    const outLen = b.readUInt32LE(20);
    if (b.length < 24 + outLen + 4) return;
    const errLen = b.readUInt32LE(24 + outLen);
    const total = 24 + outLen + 4 + errLen;
    if (b.length < total) return;
    const outcome: ExecOutcome = {
      status: b.readInt32LE(0),
      elapsedMs: Number(b.readBigUInt64LE(4)) / 1e6,
      cpuMs: Number(b.readBigUInt64LE(12)) / 1e6,
      stdout: b.subarray(24, 24 + outLen).toString('utf8'),
      stderr: b.subarray(28 + outLen, total).toString('utf8'),
    };
    this.buffered = b.subarray(total);
    const w = this.waiting;
    this.waiting = undefined;
    this.failed = undefined;
    this.hold(false);
    w?.(outcome);
  }

  get alive(): boolean {
    return !this.exited;
  }

  exec(req: ExecRequest): Promise<ExecOutcome> {
    if (this.exited) return Promise.reject(new Error('exec-helper is not running'));
    const args = req.args ?? [];
    const env = Object.entries(req.env).map(([k, v]) => `${k}=${v}`);
    const fields = [req.file, req.stdin, ...args, ...env].map((f) => Buffer.from(f, 'utf8'));
    const parts: Buffer[] = [u32(args.length), u32(env.length), u32(Math.max(0, Math.ceil(req.timeoutMs ?? 0)))];
    for (const f of fields) parts.push(u32(f.length), f);
    return new Promise((resolve, reject) => {
      this.waiting = resolve;
      this.failed = (e) => {
        this.hold(false);
        reject(e);
      };
      this.hold(true);
      this.child.stdin?.write(Buffer.concat(parts));
    });
  }

  async close(): Promise<void> {
    if (this.exited) return;
    this.hold(true);
    const done = new Promise<void>((r) => this.child.once('exit', () => r()));
    this.child.stdin?.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5_000);
    await done;
    clearTimeout(timer);
  }
}

/** Helpers for concurrent executions: one per execution under way, reused when it is done. */
export class HelperPool {
  private readonly idle: HelperProcess[] = [];
  private readonly all: HelperProcess[] = [];

  constructor(private readonly helper: string) {}

  async exec(req: ExecRequest): Promise<ExecOutcome> {
    let h = this.idle.pop();
    if (!h) {
      h = new HelperProcess(this.helper);
      this.all.push(h);
    }
    try {
      return await h.exec(req);
    } finally {
      if (h.alive) this.idle.push(h);
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.all.map((h) => h.close()));
    this.all.length = 0;
    this.idle.length = 0;
  }
}
