import { parseArgs } from 'node:util';
import { type Connection, DEFAULT_CTL_SOCKET, remoteAddressProblem } from './connection';
import { usageError } from './ctl-error';

export type OutputFormat = 'table' | 'json';

export type PodSelector = { containerId: string } | { namespace: string; name: string };

export type CtlCommand =
  | { name: 'help' }
  | { name: 'status' }
  | { name: 'pods'; namespace?: string; network?: string }
  | { name: 'pod'; selector: PodSelector; network?: string; ifname?: string }
  | { name: 'leases'; network?: string }
  | { name: 'peers' }
  /** follow: until interrupted (or count); otherwise until timeoutMs (or count). */
  | { name: 'events'; follow: boolean; count?: number }
  | { name: 'health'; service: string }
  /** policy why SRC DST PORT[/PROTO]: the arguments as given (podwired parses them). */
  | { name: 'policy'; sub: 'why'; src: string; dst: string; port: string };

export interface CtlInvocation {
  command: CtlCommand;
  output: OutputFormat;
  connection: Connection;
  /** Unary calls: the deadline. events without --follow: how long to watch. */
  timeoutMs: number;
}

export const DEFAULT_CALL_TIMEOUT_MS = 10_000;
export const DEFAULT_EVENTS_WATCH_MS = 5_000;

const COMMANDS = ['status', 'pods', 'pod', 'leases', 'peers', 'events', 'health', 'policy', 'help'] as const;

/** The command-specific flags each command accepts (the connection and output flags go everywhere). */
const COMMAND_FLAGS: Record<(typeof COMMANDS)[number], string[]> = {
  status: [],
  pods: ['namespace', 'network'],
  pod: ['network', 'ifname'],
  leases: ['network'],
  peers: [],
  events: ['follow', 'count'],
  health: ['service'],
  policy: [],
  help: [],
};

const OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  output: { type: 'string', short: 'o' },
  socket: { type: 'string' },
  remote: { type: 'string' },
  cert: { type: 'string' },
  key: { type: 'string' },
  ca: { type: 'string' },
  'server-name': { type: 'string' },
  timeout: { type: 'string' },
  namespace: { type: 'string', short: 'n' },
  network: { type: 'string' },
  ifname: { type: 'string' },
  follow: { type: 'boolean', short: 'f' },
  count: { type: 'string' },
  service: { type: 'string' },
} as const;

type Values = { [K in keyof typeof OPTIONS]?: (typeof OPTIONS)[K]['type'] extends 'boolean' ? boolean : string };

function parseConnection(v: Values, env: Record<string, string | undefined>): Connection {
  const tlsFlags = (['cert', 'key', 'ca', 'server-name'] as const).filter((f) => v[f] !== undefined);
  if (v.remote === undefined) {
    if (tlsFlags.length > 0) throw usageError(`--${tlsFlags[0]} only goes with --remote`);
    const socket = v.socket ?? (env.PODWIRE_SOCKET || undefined) ?? DEFAULT_CTL_SOCKET;
    return { kind: 'unix', socket };
  }
  if (v.socket !== undefined) throw usageError('--socket and --remote exclude each other');
  const problem = remoteAddressProblem(v.remote);
  if (problem) throw usageError(problem);
  const missing = (['cert', 'key', 'ca'] as const).filter((f) => v[f] === undefined).map((f) => `--${f}`);
  if (missing.length > 0) throw usageError(`--remote needs ${missing.join(', ')} (the TCP listener only speaks mutual TLS)`);
  return {
    kind: 'remote',
    address: v.remote,
    certFile: v.cert!,
    keyFile: v.key!,
    caFile: v.ca!,
    ...(v['server-name'] !== undefined ? { serverName: v['server-name'] } : {}),
  };
}

function positiveNumber(text: string, flag: string, integer: boolean): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
    throw usageError(`${flag} must be a positive ${integer ? 'whole number' : 'number'}, got ${JSON.stringify(text)}`);
  }
  return n;
}

function parsePodSelector(text: string): PodSelector {
  const slash = text.indexOf('/');
  if (slash < 0) return { containerId: text };
  const namespace = text.slice(0, slash);
  const name = text.slice(slash + 1);
  if (namespace === '' || name === '' || name.includes('/')) {
    throw usageError(`pod: ${JSON.stringify(text)} is neither a container id nor namespace/name`);
  }
  return { namespace, name };
}

function buildCommand(name: (typeof COMMANDS)[number], rest: string[], v: Values): CtlCommand {
  const positionals = name === 'pod' ? 1 : name === 'policy' ? 4 : 0;
  if (rest.length > positionals) throw usageError(`${name}: unexpected argument ${JSON.stringify(rest[positionals])}`);
  const opt = <K extends 'namespace' | 'network' | 'ifname'>(k: K) => (v[k] !== undefined ? { [k]: v[k] } : {}) as { [P in K]?: string };
  switch (name) {
    case 'help':
      return { name: 'help' };
    case 'status':
      return { name: 'status' };
    case 'peers':
      return { name: 'peers' };
    case 'pods':
      return { name: 'pods', ...opt('namespace'), ...opt('network') };
    case 'leases':
      return { name: 'leases', ...opt('network') };
    case 'pod': {
      const target = rest[0];
      if (target === undefined || target === '') throw usageError('pod needs a container id or namespace/name');
      return { name: 'pod', selector: parsePodSelector(target), ...opt('network'), ...opt('ifname') };
    }
    case 'events':
      return { name: 'events', follow: v.follow === true, ...(v.count !== undefined ? { count: positiveNumber(v.count, '--count', true) } : {}) };
    case 'health':
      return { name: 'health', service: v.service ?? '' };
    case 'policy': {
      const [sub, src, dst, port] = rest;
      if (sub !== 'why') throw usageError(`policy: unknown subcommand ${JSON.stringify(sub ?? '')} (policy why SRC DST PORT[/PROTO])`);
      if (src === undefined || dst === undefined || port === undefined) throw usageError('policy why needs SRC DST PORT[/PROTO]');
      return { name: 'policy', sub, src, dst, port };
    }
  }
}

/** Parses podwirectl's command line; throws a usage CtlError with a one-line message on bad input. */
export function parseCtlArgs(argv: string[], env: Record<string, string | undefined>): CtlInvocation {
  let parsed: { values: Values; positionals: string[] };
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, strict: true, allowPositionals: true }) as { values: Values; positionals: string[] };
  } catch (err) {
    throw usageError(err instanceof Error ? err.message.split('\n')[0]! : String(err));
  }
  const { values: v, positionals } = parsed;
  for (const [flag, value] of Object.entries(v)) {
    if (value === '' && flag !== 'service') throw usageError(`--${flag} must not be empty`);
  }
  const [first, ...rest] = positionals;
  const name = v.help ? 'help' : first;
  if (name === undefined) throw usageError('no command given');
  if (!(COMMANDS as readonly string[]).includes(name)) throw usageError(`unknown command ${JSON.stringify(name)}`);
  const commandName = name as (typeof COMMANDS)[number];
  if (commandName !== 'help') {
    const allowed = COMMAND_FLAGS[commandName];
    const foreign = Object.keys(COMMAND_FLAGS)
      .flatMap((c) => COMMAND_FLAGS[c as (typeof COMMANDS)[number]])
      .filter((f, i, all) => all.indexOf(f) === i && !allowed.includes(f) && v[f as keyof Values] !== undefined);
    if (foreign.length > 0) throw usageError(`${commandName} does not take --${foreign[0]}`);
  }
  const output = v.output ?? 'table';
  if (output !== 'table' && output !== 'json') throw usageError(`-o must be table or json, got ${JSON.stringify(output)}`);
  const command = buildCommand(commandName, commandName === 'help' ? [] : rest, v);
  if (command.name === 'events' && command.follow && v.timeout !== undefined) {
    throw usageError('events --follow streams until interrupted (or --count); it takes no --timeout');
  }
  const defaultTimeout = command.name === 'events' ? DEFAULT_EVENTS_WATCH_MS : DEFAULT_CALL_TIMEOUT_MS;
  const timeoutMs = v.timeout === undefined ? defaultTimeout : Math.round(positiveNumber(v.timeout, '--timeout', false) * 1000);
  return { command, output, connection: parseConnection(v, env), timeoutMs };
}
