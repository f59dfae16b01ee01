import * as ipaddr from 'ipaddr.js';
import { CniCode, CniError } from './cni-error';

/** The CNI_ARGS keys podwire understands (CONVENTIONS.md). */
export interface CniArgs {
  podNamespace?: string;
  podName?: string;
  podUid?: string;
  infraContainerId?: string;
  /** Requested addresses from `IP=` (comma-separated, as the reference plugins accept). */
  ips: string[];
}

const KNOWN: Record<string, keyof Omit<CniArgs, 'ips'> | 'ip' | 'ignore'> = {
  K8S_POD_NAMESPACE: 'podNamespace',
  K8S_POD_NAME: 'podName',
  K8S_POD_UID: 'podUid',
  K8S_POD_INFRA_CONTAINER_ID: 'infraContainerId',
  IP: 'ip',
  IgnoreUnknown: 'ignore',
};

/**
 * Parses CNI_ARGS ("K=V;K=V"). As libcni's LoadArgs: a pair without "=" is an error, and an
 * unknown key is an error unless IgnoreUnknown is set to a true value.
 */
export function parseCniArgs(raw: string): CniArgs {
  return parseCniArgsAs(raw, 'strict');
}

/**
 * `lenient` (for the verbs that must not fail on them: DEL, CHECK, GET, STATUS, GC) reads the
 * keys podwire knows and ignores everything else, malformed pairs included.
 */
export function parseCniArgsAs(raw: string, mode: 'strict' | 'lenient'): CniArgs {
  if (mode === 'lenient') return lenientArgs(raw);
  const out: CniArgs = { ips: [] };
  if (raw === '') return out;
  const pairs = raw.split(';').filter((p) => p !== '');
  const unknown: string[] = [];
  let ignoreUnknown = false;
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) {
      throw new CniError(CniCode.InvalidEnvironment, 'invalid CNI_ARGS', `${JSON.stringify(pair)} is not a KEY=VALUE pair`);
    }
    const key = pair.slice(0, eq);
    const value = pair.slice(eq + 1);
    const field = KNOWN[key];
    if (field === undefined) unknown.push(key);
    else if (field === 'ignore') ignoreUnknown = ['1', 'true', 'True', 'TRUE', 't', 'T'].includes(value);
    else if (field === 'ip') {
      for (const ip of value.split(',').filter((v) => v !== '')) {
        if (!ipaddr.isValid(ip)) throw new CniError(CniCode.InvalidEnvironment, 'invalid CNI_ARGS', `IP=${JSON.stringify(ip)} is not an IP address`);
        out.ips.push(ipaddr.parse(ip).toString());
      }
    } else out[field] = value;
  }
  if (unknown.length > 0 && !ignoreUnknown) {
    throw new CniError(
      CniCode.UnsupportedField,
      `unknown CNI_ARGS ${unknown.map((k) => JSON.stringify(k)).join(', ')}`,
      'set IgnoreUnknown=1 in CNI_ARGS to pass keys podwire does not use',
    );
  }
  return out;
}

function lenientArgs(raw: string): CniArgs {
  const out: CniArgs = { ips: [] };
  for (const pair of raw.split(';')) {
    const eq = pair.indexOf('=');
    if (eq <= 0) continue;
    const field = KNOWN[pair.slice(0, eq)];
    const value = pair.slice(eq + 1);
    if (field === 'ip')
      out.ips.push(
        ...value
          .split(',')
          .filter((v) => ipaddr.isValid(v))
          .map((v) => ipaddr.parse(v).toString()),
      );
    else if (field !== undefined && field !== 'ignore' && value !== '') out[field] = value;
  }
  return out;
}
