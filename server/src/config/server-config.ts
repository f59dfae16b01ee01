/**
 * podwired's configuration: an optional JSON file (--config) with the command-line flags
 * laid over it. Every key is optional; unknown keys are errors.
 *
 * {
 *   "socket": "/run/podwire/podwire.sock",
 *   "stateDir": "/var/lib/podwire",
 *   "logLevel": "info",
 *   "tcp": { "listen": "0.0.0.0:50051", "certFile": "...", "keyFile": "...", "clientCaFile": "..." },
 *   "metrics": { "listen": "127.0.0.1:9609" },
 *   "node": { "name": "node-a", "podCIDRs": ["10.244.1.0/24", "fd00:10:244:1::/64"], "nodeIPs": ["192.168.50.1"] },
 *   "masquerade": { "enabled": true, "nonMasqueradeCIDRs": ["203.0.113.0/24"] },
 *   "peers": { "source": "static", "static": [{ "name": "node-b", "nodeIP": "192.168.50.2", "podCIDRs": ["10.244.2.0/24"] }] },
 *   "policy": { "source": "file", "file": "/etc/podwire/policy.yaml" }
 * }
 */
import { type CliOptions, DEFAULT_SOCKET, DEFAULT_STATE_DIR, LOG_LEVELS } from '../cli-args';
import { type ClusterConfig, parseClusterConfig } from './cluster-config';
import { ConfigError, isObject, optionalString, rejectUnknownKeys, requireString } from './config-errors';
import { type ListenAddress, parseListenAddress } from './listen-address';
import { type MasqueradeConfig, parseMasqueradeConfig } from './masquerade-config';
import { type PolicyConfig, parsePolicyConfig } from './policy-config';

/** The TCP listener: Debug, reflection and health only, and only with mutual TLS. */
export interface TcpListenerConfig {
  listen: ListenAddress;
  certFile: string;
  keyFile: string;
  /** CA that client certificates must chain to. */
  clientCaFile: string;
}

export interface MetricsConfig {
  listen: ListenAddress;
}

export interface ServerConfig extends ClusterConfig {
  socket: string;
  stateDir: string;
  logLevel: string;
  /** Absent: no TCP listener. */
  tcp?: TcpListenerConfig;
  /** Absent: no metrics endpoint. */
  metrics?: MetricsConfig;
  masquerade: MasqueradeConfig;
  /** NetworkPolicy's source; { source: 'none' } (the default): no policy enforced. */
  policy: PolicyConfig;
  /** The file the configuration came from, if any. */
  configFile?: string;
}

const TOP_KEYS = ['socket', 'stateDir', 'logLevel', 'tcp', 'metrics', 'node', 'peers', 'masquerade', 'policy'] as const;

function parseTcp(v: unknown): TcpListenerConfig | undefined {
  if (v === undefined) return undefined;
  if (!isObject(v)) throw new ConfigError(`"tcp" must be an object, got ${JSON.stringify(v)}`);
  rejectUnknownKeys(v, ['listen', 'certFile', 'keyFile', 'clientCaFile'], '"tcp"');
  const missing = ['certFile', 'keyFile', 'clientCaFile'].filter((k) => v[k] === undefined);
  if (missing.length > 0) {
    throw new ConfigError(`"tcp" needs ${missing.join(', ')}: the TCP listener only serves mutual TLS`);
  }
  return {
    listen: parseListenAddress(requireString(v.listen, 'tcp.listen'), 'tcp.listen'),
    certFile: requireString(v.certFile, 'tcp.certFile'),
    keyFile: requireString(v.keyFile, 'tcp.keyFile'),
    clientCaFile: requireString(v.clientCaFile, 'tcp.clientCaFile'),
  };
}

function parseMetrics(v: unknown): MetricsConfig | undefined {
  if (v === undefined) return undefined;
  if (!isObject(v)) throw new ConfigError(`"metrics" must be an object, got ${JSON.stringify(v)}`);
  rejectUnknownKeys(v, ['listen'], '"metrics"');
  return { listen: parseListenAddress(requireString(v.listen, 'metrics.listen'), 'metrics.listen') };
}

/** Validates a parsed configuration document and lays the command-line flags over it. */
export function buildServerConfig(doc: unknown, cli: CliOptions): ServerConfig {
  const d: Record<string, unknown> = doc === undefined ? {} : isObject(doc) ? doc : {};
  if (doc !== undefined && !isObject(doc)) throw new ConfigError('the configuration must be a JSON object');
  rejectUnknownKeys(d, TOP_KEYS, 'the configuration');
  const logLevel = cli.logLevel ?? optionalString(d.logLevel, 'logLevel') ?? 'info';
  if (!LOG_LEVELS.includes(logLevel)) throw new ConfigError(`"logLevel" must be one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(logLevel)}`);
  const config: ServerConfig = {
    socket: cli.socket ?? optionalString(d.socket, 'socket') ?? DEFAULT_SOCKET,
    stateDir: cli.stateDir ?? optionalString(d.stateDir, 'stateDir') ?? DEFAULT_STATE_DIR,
    logLevel,
    ...parseClusterConfig(d.node, d.peers, cli.nodeName),
    masquerade: parseMasqueradeConfig(d.masquerade),
    policy: parsePolicyConfig(d.policy),
  };
  const tcp = parseTcp(d.tcp);
  if (tcp) config.tcp = tcp;
  const metrics = parseMetrics(d.metrics);
  if (metrics) config.metrics = metrics;
  if (cli.configFile !== undefined) config.configFile = cli.configFile;
  return config;
}

/** Reads --config (when given) through `readFile` and builds the configuration; throws ConfigError naming the file. */
export function loadServerConfig(cli: CliOptions, readFile: (path: string) => string): ServerConfig {
  if (cli.configFile === undefined) return buildServerConfig(undefined, cli);
  let text: string;
  try {
    text = readFile(cli.configFile);
  } catch (err) {
    throw new ConfigError(`cannot read ${cli.configFile}: ${err instanceof Error ? err.message : String(err)}`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`${cli.configFile} is not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  try {
    return buildServerConfig(doc, cli);
  } catch (err) {
    if (err instanceof ConfigError) throw new ConfigError(`${cli.configFile}: ${err.message}`);
    throw err;
  }
}

/** The configuration as ServerInfo shows it: file paths, never key material. */
export function describeServerConfig(config: ServerConfig): Record<string, unknown> {
  return {
    ...(config.configFile !== undefined ? { configFile: config.configFile } : {}),
    socket: config.socket,
    stateDir: config.stateDir,
    logLevel: config.logLevel,
    ...(config.tcp
      ? { tcp: { listen: config.tcp.listen.text, certFile: config.tcp.certFile, keyFile: config.tcp.keyFile, clientCaFile: config.tcp.clientCaFile } }
      : {}),
    ...(config.metrics ? { metrics: { listen: config.metrics.listen.text } } : {}),
    node: config.node,
    peers: config.peers,
    masquerade: config.masquerade,
    policy: config.policy,
  };
}
