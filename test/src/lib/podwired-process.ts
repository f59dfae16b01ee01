import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { REPO_ROOT, SERVER_MAIN } from './paths';

export interface PodwiredOptions {
  /** A server configuration (podwired --config): written to a JSON file beside the state dir at start(). */
  config?: Record<string, unknown>;
  /** Run the server inside this named network namespace (`ip netns exec`), e.g. a test "node". */
  netns?: string;
}

/** The flags every podwired launcher passes node (server/src/node-flags.ts). */
const { PODWIRED_NODE_FLAGS } = require(path.join(REPO_ROOT, 'server/dist/node-flags.js')) as { PODWIRED_NODE_FLAGS: readonly string[] };

/** Every server started by this test process: their nftables tables are deleted when it exits. */
const started = new Set<PodwiredProcess>();
process.once('exit', () => {
  for (const p of started) p.deleteNftTables();
});

/**
 * A real `node server/dist/main.js` process on a private socket and state dir. podwired's
 * nftables table (`inet podwire-<ownerTag>`) outlives it by design (pods keep their egress and
 * hostPorts across restarts), so the tables it logged writing are deleted when the test
 * process exits, in its netns (deleteNftTables()).
 */
export class PodwiredProcess {
  private child: ChildProcess | undefined;
  /** Everything the server logged (pino JSON lines on stdout, anything else on stderr). */
  readonly logs: string[] = [];

  constructor(
    readonly socket: string,
    readonly stateDir: string,
    readonly options: PodwiredOptions = {},
  ) {}

  static inTempDir(root: string, options: PodwiredOptions = {}): PodwiredProcess {
    return new PodwiredProcess(path.join(root, 'run', 'podwire.sock'), path.join(root, 'state'), options);
  }

  /** Where start() writes options.config. */
  get configFile(): string {
    return `${this.stateDir}.podwired.json`;
  }

  private commandLine(): { file: string; args: string[] } {
    // PODWIRED_NODE_ARGS: extra node flags for the server (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof").
    const nodeArgs = (process.env.PODWIRED_NODE_ARGS ?? '').split(' ').filter((a) => a !== '');
    const args = [...PODWIRED_NODE_FLAGS, ...nodeArgs, SERVER_MAIN, '--socket', this.socket, '--state-dir', this.stateDir, '--log-level', 'debug'];
    if (this.options.config) {
      fs.writeFileSync(this.configFile, JSON.stringify(this.options.config, null, 2));
      args.push('--config', this.configFile);
    }
    // `ip netns exec` execs node in place: the child's pid is the server's.
    if (this.options.netns) return { file: 'ip', args: ['netns', 'exec', this.options.netns, process.execPath, ...args] };
    return { file: process.execPath, args };
  }

  get dbPath(): string {
    return path.join(this.stateDir, 'ipam.db');
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /**
   * Starts the server and resolves once it accepts connections on its socket and has logged
   * "podwired serving" (its start-up reconcile is done: ADD/DEL/CHECK are served, health is
   * SERVING).
   */
  async start(timeoutMs = 15_000): Promise<void> {
    if (this.child) throw new Error('podwired already started');
    const firstLine = this.logs.length;
    const { file, args } = this.commandLine();
    const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    started.add(this);
    const collect = (d: Buffer) =>
      this.logs.push(
        ...d
          .toString('utf8')
          .split('\n')
          .filter((l) => l !== ''),
      );
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    let exitCode: number | null | undefined;
    child.once('exit', (code) => {
      exitCode = code;
    });
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (exitCode !== undefined) {
        this.child = undefined;
        throw new Error(`podwired exited with ${exitCode} before serving:\n${this.logs.join('\n')}`);
      }
      if (this.servingSince(firstLine) && (await this.answers())) return;
      await new Promise((r) => setTimeout(r, 20));
    }
    await this.kill();
    throw new Error(`podwired did not serve on ${this.socket} within ${timeoutMs} ms:\n${this.logs.join('\n')}`);
  }

  private servingSince(line: number): boolean {
    return this.logs.slice(line).some((l) => l.includes('"msg":"podwired serving"'));
  }

  private answers(): Promise<boolean> {
    return new Promise((resolve) => {
      if (!fs.existsSync(this.socket)) return resolve(false);
      const c = net.connect(this.socket);
      c.once('connect', () => {
        c.destroy();
        resolve(true);
      });
      c.once('error', () => resolve(false));
    });
  }

  /** SIGTERM, waits for exit; resolves with the exit code. */
  async stop(): Promise<number | null> {
    return this.signalAndWait('SIGTERM');
  }

  /** SIGKILL, waits for exit. */
  async kill(): Promise<number | null> {
    return this.signalAndWait('SIGKILL');
  }

  private async signalAndWait(signal: NodeJS.Signals): Promise<number | null> {
    const child = this.child;
    if (!child) return null;
    this.child = undefined;
    if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
    const done = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    const code = await done;
    clearTimeout(timer);
    return code;
  }

  /** The nftables tables this server logged writing ("inet podwire-1a2b3c4d5e6f"). */
  nftTables(): string[] {
    const names = this.logRecords()
      .filter((r) => r.msg === 'egress: nftables table written' && typeof r.table === 'string')
      .map((r) => `inet ${r.table as string}`);
    return [...new Set(names)];
  }

  /** Deletes the tables nftTables() names, in the server's netns; one already gone (or its netns) is fine. */
  deleteNftTables(): void {
    for (const t of this.nftTables()) {
      const [family, name] = t.split(' ') as [string, string];
      const cmd = ['nft', 'delete', 'table', family, name];
      try {
        execFileSync(this.options.netns ? 'ip' : cmd[0]!, this.options.netns ? ['netns', 'exec', this.options.netns, ...cmd] : cmd.slice(1), {
          stdio: 'ignore',
        });
      } catch {
        // Already gone, or its netns with it.
      }
    }
  }

  /** Parsed pino lines. */
  logRecords(): Array<Record<string, unknown>> {
    return this.logs.flatMap((l) => {
      try {
        return [JSON.parse(l) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
  }
}
