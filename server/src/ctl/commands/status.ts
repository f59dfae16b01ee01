import type { ServerInfoReply__Output } from '../../generated/podwire/v1/ServerInfoReply';
import { CtlError } from '../ctl-error';
import { type CommandContext, printJson } from '../ctl-io';
import { EXIT, type ExitCode } from '../exit-codes';
import { type HealthView, poolView, statusView } from '../json-views';
import { dash, formatUptime, renderFields, renderTable } from '../text-table';

function component(c: ServerInfoReply__Output['store']): string {
  if (!c) return 'unknown';
  return `${c.ok ? 'ok' : 'FAILING'}${c.detail ? `  ${c.detail}` : ''}`;
}

/** "inet podwire-… : masquerade on (sources 2, cluster 4, excluded 1), 3 hostPorts", or why there is none. */
export function nftLine(n: ServerInfoReply__Output['nft']): string {
  if (!n) return '-';
  if (!n.available) return `UNAVAILABLE  ${n.error} (no masquerade, no hostPorts)`;
  const what = `${n.table}${n.present ? '' : ' (MISSING from the kernel)'}: masquerade ${n.masquerade ? `on (sources ${n.podSources}, cluster ${n.cluster}, excluded ${n.nonMasquerade})` : 'off'}, ${n.portMappings} hostPort mapping(s)`;
  return n.error ? `${what}; last error: ${n.error}` : what;
}

/** "file: 200 policies, 1000 pods (100 wired here); 345 transactions, 0 failed; last change in force in 0.8 ms", or "none". */
export function policyLine(p: ServerInfoReply__Output['policy']): string {
  if (!p) return 'none';
  return `${p.source}: ${p.policies} policies, ${p.pods} pods (${p.localPods} wired here); ${p.transactions} transactions, ${p.failures} failed${
    Number(p.transactions) > 0 ? `; last change in force in ${p.lastChangeMs.toFixed(1)} ms` : ''
  }`;
}

export function formatStatus(info: ServerInfoReply__Output, health: HealthView): string {
  const fields: Array<[string, string]> = [
    ['server', `podwired ${dash(info.version)} (node ${dash(info.nodeVersion)})`],
    ['node', dash(info.nodeName)],
    ['pod CIDRs', info.podCidrs.length > 0 ? info.podCidrs.join(', ') : '-'],
    ['started', `${dash(info.startedAt)} (up ${formatUptime(info.uptimeSeconds)})`],
    ['ready', info.ready ? 'yes' : 'no (start-up reconcile running)'],
    ['health', health.error ? `${health.status} (${health.error})` : health.status],
    ['store', component(info.store)],
    ['netlink', component(info.netlink)],
    ['attachments', String(info.attachments)],
    ['veth pairs being destroyed', String(info.pendingLinkDestructions)],
    ['nftables', nftLine(info.nft)],
    ['NetworkPolicy', policyLine(info.policy)],
  ];
  let text = renderFields(fields);
  const pools = info.pools.map(poolView);
  text += '\n';
  text +=
    pools.length === 0
      ? 'no address pools seen yet\n'
      : renderTable(
          ['NETWORK', 'RANGE SET', 'USED', 'FREE', 'SIZE'],
          pools.map((p) => [p.network, p.rangeSet, String(p.used), String(p.free), String(p.size)]),
        );
  return text;
}

/** status: ServerInfo plus the health check. Exit 0 whenever the server answered ServerInfo. */
export async function runStatus(ctx: CommandContext): Promise<ExitCode> {
  const info = await ctx.api.serverInfo();
  let health: HealthView;
  try {
    health = { status: await ctx.api.health('') };
  } catch (err) {
    health = { status: 'UNKNOWN', error: err instanceof CtlError ? err.message : String(err) };
  }
  if (ctx.output === 'json') printJson(ctx.stdout, statusView(info, health));
  else ctx.stdout.write(formatStatus(info, health));
  return EXIT.OK;
}
