import { CniCode, CniError } from './cni-error';

/** The verbs podwired serves (VERSION is answered by the shim alone). */
export type CniVerb = 'ADD' | 'DEL' | 'CHECK' | 'STATUS' | 'GC' | 'GET';

/** What the runtime gave the shim, as the shim forwarded it (the verb is the RPC called). */
export interface RawInvocation {
  containerId: string;
  netns: string;
  ifname: string;
  args: string;
  path: string;
}

export interface CniInvocation {
  verb: CniVerb;
  containerId: string;
  netns: string;
  ifname: string;
  args: string;
  path: string;
}

type EnvField = 'containerId' | 'netns' | 'ifname' | 'path';

const ENV_NAMES: Record<EnvField, string> = {
  containerId: 'CNI_CONTAINERID',
  netns: 'CNI_NETNS',
  ifname: 'CNI_IFNAME',
  path: 'CNI_PATH',
};

/** Required environment per verb (CNI spec 1.1.0; GET follows DEL). */
const REQUIRED: Record<CniVerb, EnvField[]> = {
  ADD: ['containerId', 'netns', 'ifname'],
  CHECK: ['containerId', 'netns', 'ifname'],
  DEL: ['containerId', 'ifname'],
  GET: ['containerId', 'ifname'],
  GC: ['path'],
  STATUS: [],
};

const CONTAINER_ID = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
const NETWORK_NAME = CONTAINER_ID;
// biome-ignore lint/suspicious/noControlCharactersInRegex: an interface name holding control characters is what this rejects
const CONTROL_CHARACTER = /[\x00-\x1f\x7f]/;

/**
 * Validates the environment part of a call the way libcni's skel does: every required
 * variable that is missing (empty counts as missing) is named in one error, then the
 * container id and interface name rules are applied.
 */
export function validateInvocation(verb: CniVerb, raw: RawInvocation): CniInvocation {
  const missing = REQUIRED[verb].filter((f) => raw[f] === '').map((f) => ENV_NAMES[f]);
  if (missing.length > 0) {
    throw new CniError(
      CniCode.InvalidEnvironment,
      `required environment variables missing: ${missing.join(', ')}`,
      `CNI_COMMAND=${verb} requires ${REQUIRED[verb].map((f) => ENV_NAMES[f]).join(', ') || 'nothing else'}`,
    );
  }
  if (raw.containerId !== '' && !CONTAINER_ID.test(raw.containerId)) {
    throw new CniError(
      CniCode.InvalidEnvironment,
      'invalid characters in CNI_CONTAINERID',
      `${JSON.stringify(raw.containerId)}: must start with a letter or digit, then letters, digits, "_", "." or "-"`,
    );
  }
  if (raw.ifname !== '') validateIfname(raw.ifname);
  return { verb, containerId: raw.containerId, netns: raw.netns, ifname: raw.ifname, args: raw.args, path: raw.path };
}

/** Interface name rules of the spec and libcni (the kernel's IFNAMSIZ is 16 with the NUL). */
export function validateIfname(ifname: string): void {
  const problem =
    ifname === '.' || ifname === '..'
      ? 'is "." or ".."'
      : Buffer.byteLength(ifname) > 15
        ? 'is longer than 15 bytes'
        : /[/:\s]/.test(ifname)
          ? 'contains "/", ":" or white space'
          : CONTROL_CHARACTER.test(ifname)
            ? 'contains control characters'
            : undefined;
  if (problem) {
    throw new CniError(CniCode.InvalidEnvironment, `invalid CNI_IFNAME ${JSON.stringify(ifname)}`, `the interface name ${problem}`);
  }
}

export function validateNetworkName(name: unknown): string {
  if (typeof name !== 'string' || name === '') {
    throw new CniError(CniCode.InvalidNetworkConfig, 'network configuration has no "name"', 'a non-empty string "name" is required');
  }
  if (!NETWORK_NAME.test(name)) {
    throw new CniError(
      CniCode.InvalidNetworkConfig,
      `invalid network name ${JSON.stringify(name)}`,
      'must start with a letter or digit, then letters, digits, "_", "." or "-"',
    );
  }
  return name;
}
