import { ConfigError, isObject, optionalString, rejectUnknownKeys, requireString } from './config-errors';

/**
 * Where the NetworkPolicy model comes from:
 *   "policy": { "source": "none" }                              no policy enforced (the default)
 *   "policy": { "source": "file", "file": "/etc/podwire/policy.yaml" }  Namespace, Pod and
 *       NetworkPolicy objects in one YAML (multi-document or a List) or JSON file, re-read on SIGHUP
 *   "policy": { "source": "kubernetes", "kubeconfig": PATH? }   informers on the API server
 *       (kubeconfig absent: in-cluster service account credentials)
 */
export type PolicyConfig = { source: 'none' } | { source: 'file'; file: string } | { source: 'kubernetes'; kubeconfig?: string };

export function parsePolicyConfig(v: unknown): PolicyConfig {
  if (v === undefined) return { source: 'none' };
  if (!isObject(v)) throw new ConfigError(`"policy" must be an object, got ${JSON.stringify(v)}`);
  switch (v.source) {
    case undefined:
    case 'none':
      rejectUnknownKeys(v, ['source'], '"policy" (source none)');
      return { source: 'none' };
    case 'file': {
      rejectUnknownKeys(v, ['source', 'file'], '"policy" (source file)');
      const file = requireString(v.file, 'policy.file');
      if (!file.startsWith('/')) throw new ConfigError(`"policy.file" must be an absolute path, got ${JSON.stringify(file)}`);
      return { source: 'file', file };
    }
    case 'kubernetes': {
      rejectUnknownKeys(v, ['source', 'kubeconfig'], '"policy" (source kubernetes)');
      const kubeconfig = optionalString(v.kubeconfig, 'policy.kubeconfig');
      return kubeconfig === undefined ? { source: 'kubernetes' } : { source: 'kubernetes', kubeconfig };
    }
    default:
      throw new ConfigError(`"policy.source" must be "none", "file" or "kubernetes", got ${JSON.stringify(v.source)}`);
  }
}
