/** A server configuration problem: the message names the field and what is wrong with it. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function requireString(v: unknown, field: string): string {
  if (typeof v !== 'string' || v === '') throw new ConfigError(`"${field}" must be a non-empty string, got ${JSON.stringify(v)}`);
  return v;
}

export function optionalString(v: unknown, field: string): string | undefined {
  return v === undefined ? undefined : requireString(v, field);
}

/** Rejects keys the schema does not know, so a typo is an error rather than a silent default. */
export function rejectUnknownKeys(obj: Record<string, unknown>, known: readonly string[], where: string): void {
  const unknown = Object.keys(obj).filter((k) => !known.includes(k));
  if (unknown.length > 0) {
    throw new ConfigError(
      `unknown key${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => JSON.stringify(k)).join(', ')} in ${where} (known: ${known.join(', ')})`,
    );
  }
}
