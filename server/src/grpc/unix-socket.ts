import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';

/**
 * Prepares the directory of the server's unix socket. Missing directories are created 0700
 * (podwired's own, so no one else can reach or replace the socket). An existing directory is
 * not podwired's to change (`--socket /run/podwire.sock` must leave /run as it is): it is used
 * as it stands, unless it is shared (world-writable or sticky, like /tmp) or owned by another
 * user, where anyone else could replace the socket: that is refused. The socket itself is
 * 0600 and every caller's credentials are checked (grpc-server.ts).
 */
export function prepareSocketDir(socketPath: string, uid: number = process.getuid?.() ?? 0): void {
  const dir = path.dirname(path.resolve(socketPath));
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = fs.statSync(dir);
  if ((st.mode & 0o1002) !== 0) {
    throw new Error(`socket directory ${dir} is shared (mode ${(st.mode & 0o7777).toString(8)}); give podwired a directory of its own`);
  }
  if (st.uid !== uid) {
    throw new Error(`socket directory ${dir} is owned by uid ${st.uid}, not by podwired's uid ${uid}; give podwired a directory of its own`);
  }
}

/** Resolves true when something accepts connections on the socket. */
function answers(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const c = net.connect(socketPath);
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
}

/**
 * grpc-js will not bind over an existing socket file. A file left by a crashed server is
 * removed, but only once nothing answers on it: a second live server is an error.
 */
export async function removeStaleSocket(socketPath: string): Promise<void> {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(socketPath);
  } catch {
    return;
  }
  if (!st.isSocket()) throw new Error(`${socketPath} exists and is not a socket; refusing to replace it`);
  if (await answers(socketPath)) throw new Error(`another server is already serving on ${socketPath}`);
  fs.unlinkSync(socketPath);
}
