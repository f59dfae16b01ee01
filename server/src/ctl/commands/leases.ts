import type { Lease__Output } from '../../generated/podwire/v1/Lease';
import { type CommandContext, printJson } from '../ctl-io';
import { EXIT, type ExitCode } from '../exit-codes';
import { leaseView } from '../json-views';
import { renderTable } from '../text-table';

export function formatLeases(leases: readonly Lease__Output[]): string {
  if (leases.length === 0) return 'no leases\n';
  return renderTable(
    // PREFIX is the range's subnet prefix; the pod itself holds the address as /32 (/128).
    ['NETWORK', 'ADDRESS', 'PREFIX', 'SET', 'CONTAINER', 'IFNAME'],
    leases.map((l) => [l.network, l.address, `/${l.prefixLength}`, String(l.setIndex), l.containerId, l.ifname]),
  );
}

/** leases [--network N]: ListLeases. */
export async function runLeases(ctx: CommandContext, network: string | undefined): Promise<ExitCode> {
  const reply = await ctx.api.listLeases(network ?? '');
  if (ctx.output === 'json') printJson(ctx.stdout, { leases: reply.leases.map(leaseView) });
  else ctx.stdout.write(formatLeases(reply.leases));
  return EXIT.OK;
}
