import * as fs from 'node:fs';
import { CniCode, CniError } from '../cni/cni-error';
import { nativeAddon } from '../native-addon';
import { RtnlSockets } from '../rtnl/rtnl-sockets';
import type { RtnlSocket } from '../rtnl/rtnl-socket';

/** statfs(2) f_type of nsfs, the filesystem behind /proc/PID/ns/* and bind-mounted netns files. */
const NSFS_MAGIC = 0x6e736673;
/**
 * open(2) flags Node does not name: O_PATH (an fd that names a file without opening it) and
 * O_CLOEXEC, with their asm-generic values (x86-64, arm64; a few other architectures differ).
 */
const O_PATH = 0o10000000;
const O_CLOEXEC = 0o2000000;

/** What a file that cannot be a namespace file is ("a FIFO"...); undefined for a regular file (nsfs files are). */
function fileKind(st: fs.Stats): string | undefined {
  if (st.isFile()) return undefined;
  if (st.isFIFO()) return 'a FIFO';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  if (st.isDirectory()) return 'a directory';
  return 'not a regular file';
}

function notNetns(nsPath: string, why: string): CniError {
  return new CniError(CniCode.InvalidEnvironment, `CNI_NETNS ${JSON.stringify(nsPath)} is not a network namespace`, why);
}

/** An open pod network namespace: the fd pins it, so a path swapped later cannot redirect us. */
export interface PodNetns {
  readonly path: string;
  readonly fd: number;
  /** The namespace's inode: identifies it for as long as it lives. */
  readonly inode: number;
  /** The device of the namespace file (nsfs): with the inode, what a path naming it stats to. */
  readonly dev: number;
}

/**
 * Opens and validates pod network namespaces (CNI_NETNS) and opens rtnetlink sockets inside
 * them (through RtnlSockets, which enters the netns with setns(2) for the moment it takes).
 */
export class NetnsOpener {
  private readonly home: fs.Stats;

  constructor(
    private readonly sockets: RtnlSockets = new RtnlSockets(),
    homePath = '/proc/self/ns/net',
  ) {
    this.home = fs.statSync(homePath);
  }

  /**
   * Opens CNI_NETNS for ADD/CHECK (and the Debug inspector's reads). Rejects a missing path,
   * anything that is not a network namespace (a FIFO, a device node, a socket, a directory, a
   * regular file, another namespace type), and the server's own network namespace (which
   * would make podwire configure the host as if it were a pod).
   *
   * Nothing is opened for reading before it is known to be an nsfs file: the path is first
   * taken with O_PATH, which names the file without opening it (no FIFO blocks, no device
   * driver's open runs), checked through that fd, then reopened through /proc/self/fd (the
   * very inode checked, whatever the path names meanwhile) read-only and non-blocking.
   */
  openPod(nsPath: string): PodNetns {
    return this.openChecked(nsPath, (fd) => this.sockets.enter(fd, () => undefined)).ns;
  }

  /**
   * openPod() and a socket inside the namespace: the check that it is a network namespace
   * (entering it) is the entering that opens the socket, so one round trip into the pod
   * instead of two. The caller closes both (the socket first).
   */
  openPodSocket(nsPath: string): { ns: PodNetns; sock: RtnlSocket } {
    const { ns, entered } = this.openChecked(nsPath, (fd) => this.sockets.openIn(fd, `netns ${nsPath}`));
    return { ns, sock: entered };
  }

  /** Opens and checks `nsPath` (see openPod), `enter` entering it last: what enter answers comes with it. */
  private openChecked<T>(nsPath: string, enter: (fd: number) => T): { ns: PodNetns; entered: T } {
    const named = this.openPath(nsPath);
    let fd: number;
    try {
      const st = fs.fstatSync(named);
      const kind = fileKind(st);
      if (kind !== undefined) throw notNetns(nsPath, `it is ${kind}`);
      const fsType = nativeAddon.fstatfsType(named);
      if (fsType !== NSFS_MAGIC) throw notNetns(nsPath, `the path is on a filesystem of type 0x${fsType.toString(16)}, not nsfs`);
      fd = fs.openSync(`/proc/self/fd/${named}`, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK | O_CLOEXEC);
    } catch (err) {
      throw err instanceof CniError ? err : notNetns(nsPath, err instanceof Error ? err.message : String(err));
    } finally {
      fs.closeSync(named);
    }
    try {
      // Checked again through the open fd: what we verify is what we will enter.
      const st = fs.fstatSync(fd);
      const fsType = nativeAddon.fstatfsType(fd);
      if (fsType !== NSFS_MAGIC) throw notNetns(nsPath, `the path is on a filesystem of type 0x${fsType.toString(16)}, not nsfs`);
      if (st.dev === this.home.dev && st.ino === this.home.ino) {
        throw new CniError(
          CniCode.InvalidEnvironment,
          `CNI_NETNS ${JSON.stringify(nsPath)} is the host's own network namespace`,
          'podwire refuses to configure the host network namespace as a pod',
        );
      }
      // nsfs also holds mnt/pid/... namespaces: entering one of those as a netns must fail.
      const entered = enter(fd);
      return { ns: { path: nsPath, fd, inode: st.ino, dev: st.dev }, entered };
    } catch (err) {
      fs.closeSync(fd);
      if (err instanceof CniError) throw err;
      throw notNetns(nsPath, err instanceof Error ? err.message : String(err));
    }
  }

  /** An O_PATH fd naming `nsPath` (symlinks followed, as /proc/PID/ns/net is one): opens nothing. */
  private openPath(nsPath: string): number {
    try {
      return fs.openSync(nsPath, O_PATH | O_CLOEXEC);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? String(err);
      throw new CniError(
        CniCode.InvalidEnvironment,
        `CNI_NETNS ${JSON.stringify(nsPath)} cannot be opened`,
        `open failed with ${code}; CNI_NETNS must be the path of a network namespace`,
      );
    }
  }

  close(ns: PodNetns): void {
    fs.closeSync(ns.fd);
  }

  /** Opens an rtnetlink socket that lives inside `ns` (closed by its user, or by RtnlSockets.closeAll). */
  rtnetlinkIn(ns: PodNetns): RtnlSocket {
    return this.sockets.openIn(ns.fd, `netns ${ns.path}`);
  }

  /** True when `nsPath` names the same namespace as the open `ns` (no swap happened). */
  stillNamedBy(ns: PodNetns, nsPath: string): boolean {
    try {
      return fs.statSync(nsPath).ino === ns.inode;
    } catch {
      return false;
    }
  }
}
