import type { GetAttachmentReply__Output } from '../../generated/podwire/v1/GetAttachmentReply';
import type { LinkState__Output } from '../../generated/podwire/v1/LinkState';
import type { PodSelector } from '../ctl-args';
import { type CommandContext, printJson } from '../ctl-io';
import { EXIT, type ExitCode } from '../exit-codes';
import { attachmentStateWord } from '../enum-words';
import { parseEmbeddedJson, podView } from '../json-views';
import { dash, renderFields, renderTable } from '../text-table';
import { podLabel } from './pods';

function linkRow(where: string, l: LinkState__Output | null): string[] {
  if (!l) return [where, '-', 'unknown', '-', '-', '-', '-', '-'];
  if (!l.present) return [where, dash(l.name), 'MISSING', '-', '-', '-', '-', dash(l.detail)];
  return [where, l.name, dash(l.operState), String(l.index), dash(l.mac), String(l.mtu), l.addresses.length ? l.addresses.join(',') : '-', dash(l.detail)];
}

export function formatPod(p: GetAttachmentReply__Output): string {
  const a = p.attachment;
  let text = a
    ? renderFields([
        ['pod', `${podLabel(a)}${a.podUid ? ` (uid ${a.podUid})` : ''}`],
        ['container', a.containerId],
        ['ifname', a.ifname],
        ['network', a.network],
        ['netns', dash(a.netns)],
        ['state', dash(attachmentStateWord(a.state))],
        ['created', dash(a.createdAt)],
        ['addresses', a.addresses.length ? a.addresses.join(', ') : '-'],
      ])
    : 'attachment: (none returned)\n';
  text += `\n${renderTable(['LINK', 'NAME', 'STATE', 'INDEX', 'MAC', 'MTU', 'ADDRESSES', 'DETAIL'], [linkRow('host', p.hostLink), linkRow('pod', p.podLink)])}`;
  const routes = [...p.hostRoutes.map((r) => ['host', r] as const), ...p.podRoutes.map((r) => ['pod', r] as const)];
  text +=
    '\n' +
    (routes.length === 0
      ? 'no routes\n'
      : renderTable(
          ['ROUTE IN', 'DESTINATION', 'GATEWAY', 'DEVICE', 'PROTOCOL'],
          routes.map(([w, r]) => [w, r.destination, dash(r.gateway), dash(r.device), dash(r.protocol)]),
        ));
  const problems = p.problems.length === 0 ? 'problems: none\n' : `problems:\n${p.problems.map((x) => `  - ${x}\n`).join('')}`;
  text += `\n${problems}`;
  const result = parseEmbeddedJson(p.resultJson);
  const stored = result === null ? '  (none)\n' : `${JSON.stringify(result, null, 2)}\n`;
  text += `\nstored result:\n${stored}`;
  return text;
}

/** pod ID|NS/NAME [--network N] [--ifname IF]: GetAttachment. Not found / ambiguous: exit 3. */
export async function runPod(ctx: CommandContext, cmd: { selector: PodSelector; network?: string; ifname?: string }): Promise<ExitCode> {
  const sel = cmd.selector;
  // NOT_FOUND and FAILED_PRECONDITION (ambiguous) arrive as CtlErrors with exit 3 and the
  // server's message, which names the selector and, when ambiguous, the candidates.
  const reply = await ctx.api.getAttachment({
    ...('containerId' in sel ? { containerId: sel.containerId } : { podNamespace: sel.namespace, podName: sel.name }),
    network: cmd.network ?? '',
    ifname: cmd.ifname ?? '',
  });
  if (ctx.output === 'json') printJson(ctx.stdout, podView(reply));
  else ctx.stdout.write(formatPod(reply));
  return EXIT.OK;
}
