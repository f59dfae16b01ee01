import { type CommandContext, printJson } from '../ctl-io';
import { EXIT, type ExitCode } from '../exit-codes';

/**
 * health [--service NAME]: grpc.health.v1 Check (service '' is the whole server). Exit 0 only
 * for SERVING; an answer that is not SERVING exits 6; an unreachable server exits 4. The
 * DaemonSet's readiness and liveness probes exec this.
 */
export async function runHealth(ctx: CommandContext, service: string): Promise<ExitCode> {
  const status = await ctx.api.health(service);
  if (ctx.output === 'json') printJson(ctx.stdout, { service, status });
  else ctx.stdout.write(`${status}\n`);
  return status === 'SERVING' ? EXIT.OK : EXIT.NOT_SERVING;
}
