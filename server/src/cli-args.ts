import { parseArgs } from 'node:util';

export interface ServerOptions {
  socket: string;
  stateDir: string;
  logLevel: string;
}

export const DEFAULT_SOCKET = '/run/podwire/podwire.sock';
export const DEFAULT_STATE_DIR = '/var/lib/podwire';
const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export const USAGE = `usage: podwired [--socket PATH] [--state-dir DIR] [--log-level LEVEL]
  --socket PATH      unix socket to serve gRPC on (default ${DEFAULT_SOCKET})
  --state-dir DIR    where the lease store lives (default ${DEFAULT_STATE_DIR})
  --log-level LEVEL  ${LEVELS.join('|')} (default info)`;

/** Parses podwired's command line; throws an Error with a readable message on bad input. */
export function parseCliArgs(argv: string[]): ServerOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      socket: { type: 'string', default: DEFAULT_SOCKET },
      'state-dir': { type: 'string', default: DEFAULT_STATE_DIR },
      'log-level': { type: 'string', default: 'info' },
    },
    strict: true,
    allowPositionals: false,
  });
  const logLevel = values['log-level'] ?? 'info';
  if (!LEVELS.includes(logLevel)) throw new Error(`--log-level must be one of ${LEVELS.join(', ')}`);
  const socket = values.socket ?? DEFAULT_SOCKET;
  const stateDir = values['state-dir'] ?? DEFAULT_STATE_DIR;
  if (socket === '' || stateDir === '') throw new Error('--socket and --state-dir must not be empty');
  return { socket, stateDir, logLevel };
}
