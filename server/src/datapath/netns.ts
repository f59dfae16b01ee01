import * as fs from 'node:fs';
import { CniCode, CniError } from '../cni/cni-error';
import { RtnlSockets } from '../rtnl/rtnl-sockets';
import type { RtnlSocket } from '../rtnl/rtnl-socket';

/** statfs(2) f_type of nsfs, the filesystem behind /proc/PID/ns/* and bind-mounted netns files. */
const NSFS_MAGIC = 0x6e736673;

/** An open pod network namespace: the fd pins it, so a path swapped later cannot redirect us. */
export interface PodNetns {
  readonly path: string;
  readonly fd: number;
  /** The namespace's inode: identifies it for as long as it lives. */
  readonly inode: number;
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
   * Opens CNI_NETNS for ADD/CHECK. Rejects a missing path, anything that is not a network
   * namespace (a regular file, a directory, another namespace type), and the server's own
   * network namespace (which would make podwire configure the host as if it were a pod).
   */
  openPod(nsPath: string): PodNetns {
    let fd: number;
    try {
      fd = fs.openSync(nsPath, fs.constants.O_RDONLY);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? String(err);
      throw new CniError(
        CniCode.InvalidEnvironment,
        `CNI_NETNS ${JSON.stringify(nsPath)} cannot be opened`,
        `open failed with ${code}; CNI_NETNS must be the path of a network namespace`,
      );
    }
    try {
      // Checked through the open fd, not the path: what we verify is what we will enter.
      const st = fs.fstatSync(fd);
      const fsType = fs.statfsSync(`/proc/self/fd/${fd}`).type;
      if (fsType !== NSFS_MAGIC) {
        throw new CniError(
          CniCode.InvalidEnvironment,
          `CNI_NETNS ${JSON.stringify(nsPath)} is not a network namespace`,
          `the path is on a filesystem of type 0x${fsType.toString(16)}, not nsfs`,
        );
      }
      if (st.dev === this.home.dev && st.ino === this.home.ino) {
        throw new CniError(
          CniCode.InvalidEnvironment,
          `CNI_NETNS ${JSON.stringify(nsPath)} is the host's own network namespace`,
          'podwire refuses to configure the host network namespace as a pod',
        );
      }
      // nsfs also holds mnt/pid/... namespaces: entering one of those as a netns must fail.
      this.sockets.enter(fd, () => undefined);
      return { path: nsPath, fd, inode: st.ino };
    } catch (err) {
      fs.closeSync(fd);
      if (err instanceof CniError) throw err;
      throw new CniError(
        CniCode.InvalidEnvironment,
        `CNI_NETNS ${JSON.stringify(nsPath)} is not a network namespace`,
        err instanceof Error ? err.message : String(err),
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
