/**
 * containerd 1.6's config.toml for a private instance whose every directory is under `dir`
 * (root, state, sockets, opt, runc's state root), with the CRI plugin set up as it must be
 * on this kind of host: runc with cgroupfs (no systemd), `restrict_oom_score_adj` (the
 * sandbox's default oom_score_adj needs CAP_SYS_RESOURCE otherwise), netns mounts under the
 * state dir, and a stream server on an ephemeral loopback port so parallel runs never collide.
 */
export interface ContainerdLayout {
  dir: string;
  root: string;
  state: string;
  socket: string;
  ttrpcSocket: string;
  opt: string;
  runcRoot: string;
  cniBinDir: string;
  cniConfDir: string;
}

export function containerdLayout(dir: string): ContainerdLayout {
  return {
    dir,
    root: `${dir}/root`,
    state: `${dir}/state`,
    socket: `${dir}/containerd.sock`,
    ttrpcSocket: `${dir}/containerd.sock.ttrpc`,
    opt: `${dir}/opt`,
    runcRoot: `${dir}/runc`,
    cniBinDir: `${dir}/cni/bin`,
    cniConfDir: `${dir}/cni/net.d`,
  };
}

/** TOML basic string. */
function q(s: string): string {
  return JSON.stringify(s);
}

/**
 * `netnsUnderStateDir`: pod netns pinned under containerd's state dir (true) or, as on a
 * kubelet node, in /var/run/netns/cni-* (false).
 */
export function containerdConfigToml(l: ContainerdLayout, sandboxImage: string, runcBinary: string, netnsUnderStateDir = true): string {
  const cri = 'plugins."io.containerd.grpc.v1.cri"';
  return [
    'version = 2',
    `root = ${q(l.root)}`,
    `state = ${q(l.state)}`,
    // Snapshotters and tracing this instance never uses (and that log errors on ext4).
    'disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", ' +
      '"io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", ' +
      '"io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]',
    '[grpc]',
    `  address = ${q(l.socket)}`,
    '[ttrpc]',
    `  address = ${q(l.ttrpcSocket)}`,
    '[debug]',
    '  level = "debug"',
    '[plugins."io.containerd.internal.v1.opt"]',
    `  path = ${q(l.opt)}`,
    `[${cri}]`,
    `  sandbox_image = ${q(sandboxImage)}`,
    '  restrict_oom_score_adj = true',
    `  netns_mounts_under_state_dir = ${netnsUnderStateDir}`,
    '  stream_server_address = "127.0.0.1"',
    '  stream_server_port = "0"',
    '  enable_selinux = false',
    `[${cri}.cni]`,
    `  bin_dir = ${q(l.cniBinDir)}`,
    `  conf_dir = ${q(l.cniConfDir)}`,
    '  max_conf_num = 1',
    `[${cri}.containerd]`,
    '  snapshotter = "overlayfs"',
    '  default_runtime_name = "runc"',
    `[${cri}.containerd.runtimes.runc]`,
    '  runtime_type = "io.containerd.runc.v2"',
    `[${cri}.containerd.runtimes.runc.options]`,
    '  SystemdCgroup = false',
    `  Root = ${q(l.runcRoot)}`,
    `  BinaryName = ${q(runcBinary)}`,
    '',
  ].join('\n');
}
