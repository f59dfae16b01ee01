/**
 * The model from one file of Namespace, Pod and NetworkPolicy objects: YAML (several
 * documents, or a List) or JSON (an object, a List, or an array). Read at start and again on
 * reload() (podwired calls it on SIGHUP). A file with an invalid object is refused whole, and
 * the last good snapshot stays in force: a typo never opens or closes anything.
 */
import * as fs from 'node:fs';
import * as yaml from 'js-yaml';
import { type Namespace, type NetworkPolicy, type Pod, podKey, policyKey } from './model';
import { type ParsedObject, parseObject } from './parse';
import { PolicyError } from './policy-error';
import type { PolicySnapshot, PolicySource, PolicySourceHandlers } from './policy-source';

export interface FilePolicySourceOptions {
  file: string;
  /** Injected for tests. */
  readFile?: (path: string) => string;
}

/** Every object of the text (documents, Lists flattened), parsed and checked for duplicates. */
export function parsePolicyFile(text: string, file: string): PolicySnapshot {
  let docs: unknown[];
  try {
    docs = yaml.loadAll(text);
  } catch (err) {
    throw new PolicyError(file, `not YAML or JSON: ${(err as Error).message.split('\n')[0]}`);
  }
  const flat: Array<{ obj: unknown; where: string }> = [];
  const visit = (o: unknown, where: string) => {
    if (o === null || o === undefined) return;
    if (Array.isArray(o)) {
      for (const [i, x] of o.entries()) visit(x, `${where}[${i}]`);
    } else if (
      typeof o === 'object' &&
      typeof (o as { kind?: unknown }).kind === 'string' &&
      (o as { kind: string }).kind.endsWith('List') &&
      Array.isArray((o as { items?: unknown }).items)
    ) {
      for (const [i, x] of (o as { items: unknown[] }).items.entries()) visit(x, `${where}.items[${i}]`);
    } else flat.push({ obj: o, where });
  };
  for (const [i, d] of docs.entries()) visit(d, `${file} document ${i + 1}`);
  const namespaces = new Map<string, Namespace>();
  const pods = new Map<string, Pod>();
  const policies = new Map<string, NetworkPolicy>();
  for (const { obj, where } of flat) {
    let parsed: ParsedObject | undefined;
    try {
      parsed = parseObject(obj, where);
    } catch (err) {
      if (err instanceof PolicyError) throw new PolicyError(`${where}: ${err.where}`, err.message.slice(err.where.length + 2));
      throw err;
    }
    if (!parsed) continue;
    const [map, key] =
      parsed.kind === 'Namespace'
        ? [namespaces, parsed.value.name]
        : parsed.kind === 'Pod'
          ? [pods, podKey(parsed.value)]
          : [policies, policyKey(parsed.value)];
    if ((map as Map<string, unknown>).has(key)) throw new PolicyError(where, `${parsed.kind} ${key} appears twice`);
    (map as Map<string, unknown>).set(key, parsed.value);
  }
  return { namespaces: [...namespaces.values()], pods: [...pods.values()], policies: [...policies.values()] };
}

export class FilePolicySource implements PolicySource {
  readonly kind = 'file' as const;
  private handlers: PolicySourceHandlers | undefined;
  private current: PolicySnapshot | undefined;
  private readonly readFile: (path: string) => string;

  constructor(private readonly opts: FilePolicySourceOptions) {
    this.readFile = opts.readFile ?? ((p) => fs.readFileSync(p, 'utf8'));
  }

  /** Reads the file; throws (PolicyError, or the read error) when it cannot be used at start. */
  async start(handlers: PolicySourceHandlers): Promise<void> {
    this.handlers = handlers;
    this.current = this.read();
    handlers.onSnapshot(this.current);
  }

  /**
   * Re-reads the file and delivers its snapshot. On a bad file the previous snapshot stays
   * and the problem is reported (onProblem) and returned; undefined on success.
   */
  reload(): string | undefined {
    if (!this.handlers) return 'not started';
    try {
      this.current = this.read();
    } catch (err) {
      const message = `policy file ${this.opts.file} not reloaded, the previous one stays in force: ${(err as Error).message}`;
      this.handlers.onProblem?.(message, err);
      return message;
    }
    this.handlers.onSnapshot(this.current);
    return undefined;
  }

  async fetchPod(namespace: string, name: string): Promise<Pod | undefined> {
    return this.current?.pods.find((p) => p.namespace === namespace && p.name === name);
  }

  stop(): void {
    this.handlers = undefined;
  }

  private read(): PolicySnapshot {
    return parsePolicyFile(this.readFile(this.opts.file), this.opts.file);
  }
}
