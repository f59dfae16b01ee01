import type { CtlCommand } from '../ctl-args';
import { type CommandContext, printJson } from '../ctl-io';
import { EXIT, type ExitCode } from '../exit-codes';

/** policy why: Debug.PolicyWhy; prints its text (or the reply as JSON). Exit 0 whether allowed or denied. */
export async function runPolicyWhy(ctx: CommandContext, c: Extract<CtlCommand, { name: 'policy' }>): Promise<ExitCode> {
  const reply = await ctx.api.policyWhy({ src: c.src, dst: c.dst, port: c.port });
  if (ctx.output === 'json') printJson(ctx.stdout, reply);
  else ctx.stdout.write(`${reply.text}\n`);
  return EXIT.OK;
}
