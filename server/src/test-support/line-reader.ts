/**
 * Calls `onLine` with each complete line a child process writes (without its newline), in
 * order, however the stream splits them into chunks. Shared by the unit tests that talk to
 * helper servers in a netns over their stdout.
 */
import type { Readable } from 'node:stream';

export function onLines(stream: Readable, onLine: (line: string) => void): void {
  let buf = '';
  stream.on('data', (d: Buffer) => {
    buf += d.toString();
    for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      onLine(line);
    }
  });
}
