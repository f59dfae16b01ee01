import type { CniEvent__Output } from '../../generated/podwire/v1/CniEvent';
import type { CommandContext } from '../ctl-io';
import { EXIT, type ExitCode } from '../exit-codes';
import { outcomeWord, verbWord } from '../enum-words';
import { eventView } from '../json-views';
import { dash } from '../text-table';
import { podLabel } from './pods';

/** One line per event, so a stream can be read with grep and tail. */
export function formatEvent(e: CniEvent__Output): string {
  const word = outcomeWord(e.outcome);
  const outcome = word === 'error' ? `error ${e.errorCode}` : dash(word);
  const fields = [
    e.time,
    dash(verbWord(e.verb)).padEnd(6),
    outcome.padEnd(9),
    `${e.durationMs.toFixed(1)}ms`.padStart(9),
    podLabel(e),
    `container=${dash(e.containerId)}`,
    `ifname=${dash(e.ifname)}`,
    `network=${dash(e.network)}`,
  ];
  if (e.errorMsg) fields.push(`msg=${JSON.stringify(e.errorMsg)}`);
  return `${fields.join(' ')}\n`;
}

/**
 * events: WatchEvents. The server sends calls as they complete from the moment the stream
 * opens (no history). Without --follow, watches for the --timeout (default 5 s); with
 * --follow, until Ctrl-C/SIGTERM; either way stops early after --count events. -o json prints
 * one JSON object per line. Once the server has subscribed the stream, a note goes to stderr
 * (every call from then on is shown). Exit 0 when it stopped for one of those reasons.
 */
export async function runEvents(ctx: CommandContext, cmd: { follow: boolean; count?: number }): Promise<ExitCode> {
  let seen = 0;
  const until = cmd.follow ? 'Ctrl-C to stop' : `for ${ctx.timeoutMs / 1000} s`;
  const watch = ctx.api.watchEvents(
    (e) => {
      if (cmd.count !== undefined && seen >= cmd.count) return;
      seen++;
      ctx.stdout.write(ctx.output === 'json' ? `${JSON.stringify(eventView(e))}\n` : formatEvent(e));
      if (cmd.count !== undefined && seen >= cmd.count) watch.cancel();
    },
    () => ctx.stderr.write(`watching CNI calls on ${ctx.server} (${until}${cmd.count !== undefined ? ` or ${cmd.count} events` : ''})\n`),
  );
  const timer = cmd.follow ? undefined : setTimeout(() => watch.cancel(), ctx.timeoutMs);
  const unhook = ctx.onInterrupt(() => watch.cancel());
  try {
    await watch.done;
  } finally {
    if (timer) clearTimeout(timer);
    unhook();
  }
  return EXIT.OK;
}
