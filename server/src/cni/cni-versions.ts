import { CniCode, CniError } from './cni-error';

/**
 * Every CNI spec version podwire answers in, oldest first (VERSION lists them all). The one
 * source of the list: the shim's is generated from this literal and LATEST_CNI_VERSION's at
 * build time (shim/src/gen_cni_versions.awk), so both stay plain string literals.
 */
export const SUPPORTED_CNI_VERSIONS = ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] as const;
export type CniVersion = (typeof SUPPORTED_CNI_VERSIONS)[number];
export const LATEST_CNI_VERSION: CniVersion = '1.1.0';

export function isSupportedVersion(v: string): v is CniVersion {
  return (SUPPORTED_CNI_VERSIONS as readonly string[]).includes(v);
}

export function requireSupportedVersion(v: string): CniVersion {
  if (isSupportedVersion(v)) return v;
  throw new CniError(
    CniCode.IncompatibleVersion,
    `incompatible CNI version ${JSON.stringify(v)}`,
    `podwire supports cniVersion ${SUPPORTED_CNI_VERSIONS.join(', ')}`,
  );
}

/** Numeric comparison of dotted versions ("0.4.0" < "1.0.0"). */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** A verb introduced in spec version `since` is refused (code 1) in configs of older versions. */
export function requireVersionAtLeast(version: string, since: string, verb: string): void {
  if (compareVersions(version, since) < 0) {
    throw new CniError(CniCode.IncompatibleVersion, `${verb} is not supported for cniVersion ${version}`, `${verb} was introduced in CNI ${since}`);
  }
}
