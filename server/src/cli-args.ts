import { parseArgs } from 'node:util';

/** What the command line says; flags given here override the config file. */
export interface CliOptions {
  /** --config: a JSON server configuration file (see server-config.ts). */
  configFile?: string;
  socket?: string;
  stateDir?: string;
  logLevel?: string;
  /** --node-name: this node's name (in Kubernetes, from the downward API). */
  nodeName?: string;
}

export const DEFAULT_SOCKET = '/run/podwire/podwire.sock';
export const DEFAULT_STATE_DIR = '/var/lib/podwire';
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export const USAGE = `usage: podwired [--config FILE] [--socket PATH] [--state-dir DIR] [--log-level LEVEL] [--node-name NAME]
  --config FILE      JSON server configuration (listeners, metrics, node pod CIDRs, peers)
  --socket PATH      unix socket to serve gRPC on (default ${DEFAULT_SOCKET})
  --state-dir DIR    where the lease store lives (default ${DEFAULT_STATE_DIR})
  --log-level LEVEL  ${LOG_LEVELS.join('|')} (default info)
  --node-name NAME   this node's name (default: the host name)
Flags override the same settings in the config file.`;

/** Parses podwired's command line; throws an Error with a readable message on bad input. */
export function parseCliArgs(argv: string[]): CliOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string' },
      socket: { type: 'string' },
      'state-dir': { type: 'string' },
      'log-level': { type: 'string' },
      'node-name': { type: 'string' },
    },
    strict: true,
    allowPositionals: false,
  });
  const opts: CliOptions = {};
  for (const [flag, value] of Object.entries(values)) {
    if (value === '') throw new Error(`--${flag} must not be empty`);
  }
  if (values.config !== undefined) opts.configFile = values.config;
  if (values.socket !== undefined) opts.socket = values.socket;
  if (values['state-dir'] !== undefined) opts.stateDir = values['state-dir'];
  if (values['node-name'] !== undefined) opts.nodeName = values['node-name'];
  if (values['log-level'] !== undefined) {
    if (!LOG_LEVELS.includes(values['log-level'])) throw new Error(`--log-level must be one of ${LOG_LEVELS.join(', ')}`);
    opts.logLevel = values['log-level'];
  }
  return opts;
}
