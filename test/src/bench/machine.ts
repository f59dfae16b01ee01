/** What the bench ran on (printed first and kept in the JSON). */
import * as fs from 'node:fs';
import * as os from 'node:os';
import { runCommand } from '../lib/run-command';

export async function machine(): Promise<Record<string, string | number>> {
  const cpuinfo = fs.readFileSync('/proc/cpuinfo', 'utf8');
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1] ?? 'unknown';
  const nproc = (await runCommand('nproc', [])).stdout.trim();
  const kernel = (await runCommand('uname', ['-r'])).stdout.trim();
  // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's format syntax, passed verbatim.
  const pluginsVersion = (await runCommand('dpkg-query', ['-W', '-f=${Version}', 'containernetworking-plugins'])).stdout.trim();
  return {
    nproc: Number(nproc),
    cpuModel: model,
    kernel,
    node: process.version,
    loadAvg: os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' '),
    memTotalMb: Math.round(os.totalmem() / 1024 / 1024),
    containernetworkingPlugins: pluginsVersion || 'unknown',
  };
}
