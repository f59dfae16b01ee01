import * as fs from 'node:fs';
import * as path from 'node:path';

/** podwired's version: server/package.json (this file runs from server/dist/debug). */
export function serverPackageVersion(packageJson = path.join(__dirname, '..', '..', 'package.json')): string {
  try {
    const doc = JSON.parse(fs.readFileSync(packageJson, 'utf8')) as { version?: unknown };
    return typeof doc.version === 'string' ? doc.version : 'unknown';
  } catch {
    return 'unknown';
  }
}
