import { type Connection, describeConnection } from './connection';
import { type CtlInvocation, parseCtlArgs } from './ctl-args';
import { CtlError } from './ctl-error';
import type { CommandContext, Writer } from './ctl-io';
import type { DebugApi } from './debug-api';
import { EXIT, type ExitCode } from './exit-codes';
import { CTL_USAGE } from './usage';
import { runEvents } from './commands/events';
import { runHealth } from './commands/health';
import { runLeases } from './commands/leases';
import { runPeers } from './commands/peers';
import { runPolicyWhy } from './commands/policy';
import { runPod } from './commands/pod';
import { runPods } from './commands/pods';
import { runStatus } from './commands/status';

/** Everything podwirectl touches outside itself, injected so tests run it without globals. */
export interface CtlIo {
  stdout: Writer;
  stderr: Writer;
  env: Record<string, string | undefined>;
  /** Opens the client; may throw a CtlError (e.g. unreadable certificate). */
  connect(conn: Connection, timeoutMs: number): DebugApi;
  onInterrupt(handler: () => void): () => void;
}

async function dispatch(inv: CtlInvocation, ctx: CommandContext): Promise<ExitCode> {
  const c = inv.command;
  switch (c.name) {
    case 'help':
      ctx.stdout.write(`${CTL_USAGE}\n`);
      return EXIT.OK;
    case 'status':
      return runStatus(ctx);
    case 'pods':
      return runPods(ctx, c);
    case 'pod':
      return runPod(ctx, c);
    case 'leases':
      return runLeases(ctx, c.network);
    case 'peers':
      return runPeers(ctx);
    case 'events':
      return runEvents(ctx, c);
    case 'health':
      return runHealth(ctx, c.service);
    case 'policy':
      return runPolicyWhy(ctx, c);
  }
}

/** Runs one podwirectl command line; resolves with the exit code (errors go to stderr as one line). */
export async function runCtl(argv: string[], io: CtlIo): Promise<ExitCode> {
  let inv: CtlInvocation;
  try {
    inv = parseCtlArgs(argv, io.env);
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    io.stderr.write(`podwirectl: ${msg}\nRun 'podwirectl --help' for usage.\n`);
    return EXIT.USAGE;
  }
  if (inv.command.name === 'help') {
    io.stdout.write(`${CTL_USAGE}\n`);
    return EXIT.OK;
  }
  let api: DebugApi | undefined;
  try {
    api = io.connect(inv.connection, inv.timeoutMs);
    const ctx: CommandContext = {
      api,
      stdout: io.stdout,
      stderr: io.stderr,
      server: describeConnection(inv.connection),
      output: inv.output,
      timeoutMs: inv.timeoutMs,
      onInterrupt: io.onInterrupt,
    };
    return await dispatch(inv, ctx);
  } catch (err) {
    if (err instanceof CtlError) {
      io.stderr.write(`podwirectl: ${err.message}\n`);
      return err.exitCode;
    }
    io.stderr.write(`podwirectl: unexpected error: ${err instanceof Error ? err.message : String(err)}\n`);
    return EXIT.FAILED;
  } finally {
    api?.close();
  }
}
