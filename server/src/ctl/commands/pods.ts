import type { Attachment__Output } from '../../generated/podwire/v1/Attachment';
import { type CommandContext, printJson } from '../ctl-io';
import { EXIT, type ExitCode } from '../exit-codes';
import { attachmentStateWord } from '../enum-words';
import { attachmentView } from '../json-views';
import { dash, renderTable } from '../text-table';

export function podLabel(a: Pick<Attachment__Output, 'podNamespace' | 'podName'>): string {
  return a.podName ? `${a.podNamespace || '-'}/${a.podName}` : '-';
}

export function formatPods(attachments: readonly Attachment__Output[]): string {
  if (attachments.length === 0) return 'no attachments\n';
  return renderTable(
    ['POD', 'CONTAINER', 'IFNAME', 'NETWORK', 'ADDRESSES', 'HOST IF', 'STATE', 'CREATED'],
    attachments.map((a) => [
      podLabel(a),
      a.containerId,
      a.ifname,
      a.network,
      a.addresses.length ? a.addresses.join(',') : '-',
      dash(a.hostIfname),
      dash(attachmentStateWord(a.state)),
      dash(a.createdAt),
    ]),
  );
}

/** pods [--namespace NS] [--network N]: ListAttachments. */
export async function runPods(ctx: CommandContext, filter: { namespace?: string; network?: string }): Promise<ExitCode> {
  const reply = await ctx.api.listAttachments({ podNamespace: filter.namespace ?? '', network: filter.network ?? '' });
  if (ctx.output === 'json') printJson(ctx.stdout, { attachments: reply.attachments.map(attachmentView) });
  else ctx.stdout.write(formatPods(reply.attachments));
  return EXIT.OK;
}
