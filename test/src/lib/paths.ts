import * as path from 'node:path';

/** The repository root (this file runs from test/dist/lib). */
export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
export const SHIM_BINARY = path.join(REPO_ROOT, 'shim', 'build', 'podwire');
export const SERVER_MAIN = path.join(REPO_ROOT, 'server', 'dist', 'main.js');
