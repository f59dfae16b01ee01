import * as fs from 'node:fs';
import * as path from 'node:path';

/** The lock file's name inside the state directory. */
export const LOCK_FILE = 'podwired.lock';

/** Who holds a state directory: written into the lock file by the holder, read by a refused starter. */
export interface LockHolder {
  pid: number;
  socket: string;
  startedAt: string;
}

/** The lock primitive, injected so the refusal can be tested without a second process. */
export type TryLock = (fd: number) => boolean;

export class StateDirInUse extends Error {
  constructor(
    readonly stateDir: string,
    readonly holder: LockHolder | undefined,
  ) {
    super(
      `state directory ${stateDir} is in use by another podwired` +
        (holder ? ` (pid ${holder.pid}, socket ${holder.socket}, started ${holder.startedAt})` : '') +
        "; two servers on one state directory would reconcile away each other's pods: stop the other one, or give this one its own --state-dir",
    );
    this.name = 'StateDirInUse';
  }
}

function readHolder(fd: number): LockHolder | undefined {
  try {
    const text = fs.readFileSync(fd, 'utf8');
    const v = JSON.parse(text) as Partial<LockHolder>;
    if (typeof v.pid === 'number' && typeof v.socket === 'string' && typeof v.startedAt === 'string')
      return { pid: v.pid, socket: v.socket, startedAt: v.startedAt };
  } catch {
    // Being written right now, or left empty by a holder that died before writing: unknown.
  }
  return undefined;
}

/**
 * Takes the state directory for this process (creating it 0700 when missing): an exclusive
 * flock on `stateDir/podwired.lock`, held until the process exits however it exits (the kernel
 * drops it with the last fd), so a SIGKILLed server leaves nothing stale. Throws StateDirInUse,
 * naming the holder, when another podwired has it. The fd is deliberately never closed.
 */
export function lockStateDir(stateDir: string, socket: string, tryLock: TryLock): void {
  fs.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const file = path.join(stateDir, LOCK_FILE);
  const fd = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o600);
  let taken: boolean;
  try {
    taken = tryLock(fd);
  } catch (err) {
    fs.closeSync(fd);
    throw new Error(`cannot lock ${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!taken) {
    const holder = readHolder(fd);
    fs.closeSync(fd);
    throw new StateDirInUse(stateDir, holder);
  }
  const holder: LockHolder = { pid: process.pid, socket: path.resolve(socket), startedAt: new Date().toISOString() };
  fs.ftruncateSync(fd, 0);
  fs.writeSync(fd, JSON.stringify(holder), 0);
}
