import type { ListPeersReply__Output } from '../../generated/podwire/v1/ListPeersReply';
import { type CommandContext, printJson } from '../ctl-io';
import { EXIT, type ExitCode } from '../exit-codes';
import { peerSourceWord } from '../enum-words';
import { peersView } from '../json-views';
import { dash, renderFields, renderTable } from '../text-table';

export function formatPeers(r: ListPeersReply__Output): string {
  let text = renderFields([
    ['node', dash(r.nodeName)],
    ['pod CIDRs', r.podCidrs.length ? r.podCidrs.join(', ') : '-'],
    ['peer source', dash(peerSourceWord(r.source))],
  ]);
  text += '\n';
  if (r.peers.length === 0) return `${text}no peers\n`;
  const rows = r.peers.flatMap((p) => {
    const base = [p.name, dash(p.nodeIp)];
    const vtep = p.vtepMac
      ? `${p.vtepMac} @ ${dash(p.vtepUnderlay)}${p.pathMtu ? ` (path MTU ${p.pathMtu}${p.pathMtuWarning ? ': TOO SMALL' : ''})` : ''}`
      : '-';
    if (p.routes.length === 0) return [[...base, p.podCidrs.length ? p.podCidrs.join(',') : '-', '-', '-', vtep, 'no route']];
    return p.routes.map((rt) => [
      ...base,
      rt.destination,
      dash(rt.mode),
      dash(rt.gateway),
      rt.mode === 'vxlan' ? vtep : '-',
      rt.programmed ? 'programmed' : `NOT PROGRAMMED${rt.error ? `: ${rt.error}` : ''}`,
    ]);
  });
  const warnings = r.peers.filter((p) => p.pathMtuWarning).map((p) => `${p.name}: ${p.pathMtuWarning}\n`);
  return text + renderTable(['PEER', 'NODE IP', 'POD CIDR', 'MODE', 'VIA', 'VTEP', 'ROUTE'], rows) + (warnings.length ? `\n${warnings.join('')}` : '');
}

/** peers: ListPeers. */
export async function runPeers(ctx: CommandContext): Promise<ExitCode> {
  const reply = await ctx.api.listPeers();
  if (ctx.output === 'json') printJson(ctx.stdout, peersView(reply));
  else ctx.stdout.write(formatPeers(reply));
  return EXIT.OK;
}
