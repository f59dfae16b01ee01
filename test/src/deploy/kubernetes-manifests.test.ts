/**
 * deploy/kubernetes and deploy/Dockerfile, checked statically (no cluster and no Docker engine
 * run here) against what the code expects: podwired's default socket and state directory,
 * the installer's targets, the real config loaders, the probes, RBAC, and the image layout.
 * The installer is run for real with the DaemonSet's arguments under a temporary root.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { REPO_ROOT, SHIM_BINARY } from '../lib/paths';
import { runCommand } from '../lib/run-command';

// ---- the server's own code, from its build ------------------------------------------------------
interface CliOptions {
  configFile?: string;
  nodeName?: string;
}
const cliArgs = require(path.join(REPO_ROOT, 'server/dist/cli-args.js')) as {
  DEFAULT_SOCKET: string;
  DEFAULT_STATE_DIR: string;
  parseCliArgs(argv: string[]): CliOptions;
};
const serverConfig = require(path.join(REPO_ROOT, 'server/dist/config/server-config.js')) as {
  loadServerConfig(
    cli: CliOptions,
    readFile: (p: string) => string,
  ): {
    socket: string;
    stateDir: string;
    node: { name: string };
    peers: { source: string };
    overlay: { encapsulation: string; vxlan: { vni: number; port: number } };
    metrics?: { listen: { port: number } };
    masquerade: { enabled?: boolean; nonMasqueradeCIDRs: string[] };
  };
};
const netConf = require(path.join(REPO_ROOT, 'server/dist/cni/net-conf.js')) as {
  parseNetConf(bytes: Buffer): { name: string; type: string; rangeSets: unknown[]; mtu: number };
};

// ---- the manifests -------------------------------------------------------------------------------
type Obj = Record<string, any>;

const K8S_DIR = path.join(REPO_ROOT, 'deploy', 'kubernetes');
const NAMESPACE = 'podwire-system';

function loadManifests(): Array<{ file: string; obj: Obj }> {
  const out: Array<{ file: string; obj: Obj }> = [];
  for (const file of fs
    .readdirSync(K8S_DIR)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()) {
    for (const doc of parseAllDocuments(fs.readFileSync(path.join(K8S_DIR, file), 'utf8'))) {
      assert.deepEqual(doc.errors, [], `${file} parses`);
      const obj = doc.toJS() as Obj | null;
      if (obj !== null) out.push({ file, obj });
    }
  }
  return out;
}

const manifests = loadManifests();
function only(kind: string): Obj {
  const found = manifests.filter((m) => m.obj.kind === kind);
  assert.equal(found.length, 1, `exactly one ${kind}`);
  return found[0]!.obj;
}
const daemonSet = only('DaemonSet');
const configMap = only('ConfigMap');
const podSpec = daemonSet.spec.template.spec as Obj;
const podwired = (podSpec.containers as Obj[]).find((c) => c.name === 'podwired')!;
const installer = (podSpec.initContainers as Obj[])[0]!;
const volumes = new Map<string, Obj>((podSpec.volumes as Obj[]).map((v) => [v.name as string, v]));

/** The host path (or ConfigMap) behind the container path `p`: the longest mount that contains it. */
function resolveMount(container: Obj, p: string): { volume: Obj; mount: Obj; rest: string } {
  const mounts = (container.volumeMounts as Obj[]).filter((m) => p === m.mountPath || p.startsWith(`${m.mountPath}/`));
  assert.ok(mounts.length > 0, `${container.name} mounts something at or above ${p}`);
  const mount = mounts.sort((a, b) => b.mountPath.length - a.mountPath.length)[0]!;
  const volume = volumes.get(mount.name);
  assert.ok(volume, `volume ${mount.name} exists`);
  return { volume, mount, rest: p.slice(mount.mountPath.length) };
}

function hostPathOf(container: Obj, p: string): string {
  const { volume, rest } = resolveMount(container, p);
  assert.ok(volume.hostPath, `${p} in ${container.name} is a hostPath`);
  return `${volume.hostPath.path}${rest}`;
}

/** "--flag value" pairs of an argv. */
function flagValue(argv: string[], flag: string): string | undefined {
  const i = argv.indexOf(flag);
  return i < 0 ? undefined : argv[i + 1];
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'podwire-k8s-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

test('every manifest is a well-formed object in podwire-system (or cluster-scoped), with a Namespace for it', () => {
  const clusterScoped = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding']);
  assert.ok(manifests.length >= 6, 'namespace, service account, role, binding, config map, daemon set');
  for (const { file, obj } of manifests) {
    assert.ok(obj.apiVersion && obj.kind && obj.metadata?.name, `${file}: apiVersion, kind, metadata.name`);
    if (clusterScoped.has(obj.kind)) assert.equal(obj.metadata.namespace, undefined, `${file}: ${obj.kind} is cluster-scoped`);
    else assert.equal(obj.metadata.namespace, NAMESPACE, `${file}: ${obj.kind} ${obj.metadata.name}`);
  }
  const ns = only('Namespace');
  assert.equal(ns.metadata.name, NAMESPACE);
  assert.equal(ns.metadata.labels['pod-security.kubernetes.io/enforce'], 'privileged', 'privileged pods are admitted');
  // The files apply in name order: the namespace before anything in it.
  const first = manifests.findIndex((m) => m.obj.kind === 'Namespace');
  assert.ok(manifests.every((m, i) => m.obj.kind === 'Namespace' || clusterScoped.has(m.obj.kind) || i > first));
});

test('RBAC: the service account may get, list and watch nodes, pods, namespaces and networkpolicies, nothing else', () => {
  const sa = only('ServiceAccount');
  const role = only('ClusterRole');
  const binding = only('ClusterRoleBinding');
  assert.deepEqual(role.rules, [
    { apiGroups: [''], resources: ['nodes', 'pods', 'namespaces'], verbs: ['get', 'list', 'watch'] },
    { apiGroups: ['networking.k8s.io'], resources: ['networkpolicies'], verbs: ['get', 'list', 'watch'] },
  ]);
  assert.deepEqual(binding.roleRef, { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role.metadata.name });
  assert.deepEqual(binding.subjects, [{ kind: 'ServiceAccount', name: sa.metadata.name, namespace: NAMESPACE }]);
  assert.equal(podSpec.serviceAccountName, sa.metadata.name);
});

test('DaemonSet: host network, host PID, every taint tolerated, selector matches, privileged podwired', () => {
  const labels = daemonSet.spec.template.metadata.labels as Obj;
  for (const [k, v] of Object.entries(daemonSet.spec.selector.matchLabels as Obj)) assert.equal(labels[k], v, `selector ${k}`);
  assert.equal(podSpec.hostNetwork, true);
  assert.equal(podSpec.hostPID, true, 'CNI_NETNS=/proc/<pid>/ns/net needs the host PID namespace');
  assert.equal(podSpec.dnsPolicy, 'ClusterFirstWithHostNet');
  assert.ok(
    (podSpec.tolerations as Obj[]).some((t) => t.operator === 'Exists' && t.key === undefined && t.effect === undefined),
    'tolerates every taint',
  );
  assert.equal(podSpec.priorityClassName, 'system-node-critical');
  const sc = podwired.securityContext as Obj;
  const caps: string[] = sc.capabilities?.add ?? [];
  assert.ok(
    sc.privileged === true || ['NET_ADMIN', 'SYS_ADMIN', 'SYS_PTRACE'].every((c) => caps.includes(c)),
    'NET_ADMIN, SYS_ADMIN (setns), SYS_PTRACE or privileged',
  );
  assert.equal(podwired.image, installer.image, 'one image for both containers');
  assert.ok(podwired.resources.requests.cpu && podwired.resources.requests.memory && podwired.resources.limits.memory);
});

test('podwired mounts its default socket directory and state directory from the same host paths', () => {
  const socketDir = path.dirname(cliArgs.DEFAULT_SOCKET);
  assert.equal(hostPathOf(podwired, socketDir), socketDir, 'the shim on the host reaches the socket at the default path');
  assert.equal(hostPathOf(podwired, cliArgs.DEFAULT_STATE_DIR), cliArgs.DEFAULT_STATE_DIR, 'leases survive the pod');
  const netns = resolveMount(podwired, '/var/run/netns');
  assert.equal(netns.volume.hostPath.path, '/var/run/netns');
  assert.equal(netns.mount.mountPropagation, 'HostToContainer', 'namespaces pinned later are visible');
  for (const v of volumes.values()) if (v.hostPath) assert.match(v.hostPath.type, /^(DirectoryOrCreate|Directory)$/);
});

test("podwired's arguments and ConfigMap go through the real loaders: node name from the downward API, the kubernetes peer source", () => {
  const env = (podwired.env as Obj[]).find((e) => e.name === 'NODE_NAME');
  assert.deepEqual(env?.valueFrom, { fieldRef: { fieldPath: 'spec.nodeName' } });
  const argv = (podwired.args as string[]).map((a) => a.replace('$(NODE_NAME)', 'node-7'));
  const cli = cliArgs.parseCliArgs(argv);
  assert.equal(cli.nodeName, 'node-7');
  assert.ok(cli.configFile, '--config is given');
  const { volume, rest } = resolveMount(podwired, cli.configFile!);
  assert.equal(volume.configMap?.name, configMap.metadata.name);
  const key = rest.replace(/^\//, '');
  assert.ok(key in configMap.data, `ConfigMap has ${key}`);
  const config = serverConfig.loadServerConfig(cli, (p) => {
    assert.equal(p, cli.configFile);
    return configMap.data[key] as string;
  });
  assert.equal(config.socket, cliArgs.DEFAULT_SOCKET);
  assert.equal(config.stateDir, cliArgs.DEFAULT_STATE_DIR);
  assert.equal(config.node.name, 'node-7');
  assert.equal(config.peers.source, 'kubernetes', 'the node pod CIDRs and peers come from the Node objects (RBAC above)');
  assert.deepEqual(config.masquerade, { enabled: true, nonMasqueradeCIDRs: [] }, 'the egress masquerade is shown, on');
  assert.deepEqual(config.overlay, { encapsulation: 'none', vxlan: { vni: 1, port: 4789 } }, 'the cross-node mode is shown: host-gw, VXLAN defaults');
  const metricsPort = (podwired.ports as Obj[]).find((p) => p.name === 'metrics');
  assert.equal(metricsPort?.containerPort, config.metrics?.listen.port);
  assert.equal(daemonSet.spec.template.metadata.annotations['prometheus.io/port'], String(config.metrics?.listen.port));
});

test("the ConfigMap's comments show each cross-node mode and the masquerade settings, and every choice they name parses with podwired's own parser", () => {
  const comments = fs
    .readFileSync(path.join(K8S_DIR, '20-configmap.yaml'), 'utf8')
    .split('\n')
    .filter((l) => l.trimStart().startsWith('#'))
    .join('\n');
  const cli = { configFile: '/etc/podwire/podwired.json', nodeName: 'node-7' };
  const parse = (doc: Obj) => serverConfig.loadServerConfig(cli, () => JSON.stringify(doc));
  const shown = JSON.parse(configMap.data['podwired.json']) as Obj;
  for (const mode of ['none', 'vxlan', 'vxlan-cross-subnet']) {
    assert.ok(comments.includes(`"${mode}"`), `the comments name peers.encapsulation "${mode}"`);
    const config = parse({ ...shown, peers: { ...shown.peers, encapsulation: mode } });
    assert.equal(config.overlay.encapsulation, mode);
    assert.equal(config.peers.source, 'kubernetes');
  }
  for (const key of ['"peers.encapsulation"', '"peers.vxlan"', '"vni"', '"port"', '"masquerade"', '"enabled"', '"nonMasqueradeCIDRs"', 'remove "mtu"']) {
    assert.ok(comments.includes(key), `the comments explain ${key}`);
  }
  // The VXLAN settings the comments give: flannel's port, the largest VNI; out of range is refused.
  assert.deepEqual(parse({ ...shown, peers: { ...shown.peers, encapsulation: 'vxlan', vxlan: { vni: 16777215, port: 8472 } } }).overlay, {
    encapsulation: 'vxlan',
    vxlan: { vni: 16777215, port: 8472 },
  });
  assert.throws(() => parse({ ...shown, peers: { ...shown.peers, vxlan: { vni: 16777216 } } }), /peers\.vxlan\.vni/);
  assert.throws(() => parse({ ...shown, peers: { ...shown.peers, encapsulation: 'ipip' } }), /peers\.encapsulation/);
  // The masquerade choices: off, and the example nonMasqueradeCIDRs list the comments give.
  assert.deepEqual(parse({ ...shown, masquerade: { enabled: false } }).masquerade, { enabled: false, nonMasqueradeCIDRs: [] });
  const examples = [...comments.matchAll(/"nonMasqueradeCIDRs".*?(\[[^\]]*\])/gs)].map((m) => JSON.parse(m[1] ?? '[]') as string[]);
  assert.ok(
    examples.some((l) => l.length > 0),
    'the comments give an example nonMasqueradeCIDRs list',
  );
  for (const list of examples) assert.deepEqual(parse({ ...shown, masquerade: { nonMasqueradeCIDRs: list } }).masquerade.nonMasqueradeCIDRs, list);
  // With VXLAN the conflist goes without "mtu", as the comments say: it still parses.
  const list = JSON.parse(configMap.data['10-podwire.conflist']) as Obj;
  const { mtu: _mtu, ...plugin } = list.plugins[0] as Obj;
  const conf = netConf.parseNetConf(Buffer.from(JSON.stringify({ cniVersion: list.cniVersion, name: list.name, ...plugin })));
  assert.equal(conf.type, 'podwire');
});

test('the conflist in the ConfigMap is valid JSON for podwire and parses as the server parses it', () => {
  const text = configMap.data['10-podwire.conflist'] as string;
  const list = JSON.parse(text) as Obj;
  assert.equal(list.plugins[0].type, 'podwire');
  assert.equal(list.plugins[0].socket, JSON.parse(configMap.data['podwired.json']).socket, 'the shim calls the socket podwired serves');
  // As libcni hands a plugin of a list to it: cniVersion and name from the list.
  const conf = netConf.parseNetConf(Buffer.from(JSON.stringify({ cniVersion: list.cniVersion, name: list.name, ...list.plugins[0] })));
  assert.equal(conf.name, 'podwire');
  assert.deepEqual(conf.rangeSets, [], 'no ranges: podwired allocates from the node pod CIDRs');
  assert.deepEqual(list.plugins[0].capabilities, { portMappings: true }, 'kubelet passes hostPorts to podwire');
});

test('probes exec podwirectl health, which the image puts on PATH', () => {
  for (const probe of ['startupProbe', 'readinessProbe', 'livenessProbe']) {
    const cmd = podwired[probe]?.exec?.command as string[] | undefined;
    assert.ok(cmd, `${probe} is an exec probe`);
    assert.deepEqual(cmd.slice(0, 2), ['podwirectl', 'health'], probe);
    const timeout = Number(flagValue(cmd, '--timeout') ?? 10);
    assert.ok(timeout < podwired[probe].timeoutSeconds, `${probe}: podwirectl gives up before the probe does`);
  }
  assert.match(dockerfile.text, /ln -s \/opt\/podwire\/server\/dist\/ctl\/main\.js \/usr\/local\/bin\/podwirectl/);
  assert.match(fs.readFileSync(path.join(REPO_ROOT, 'server/dist/ctl/main.js'), 'utf8'), /^#!\/usr\/bin\/env node\n/, 'runs as a program');
});

test('the init container runs the installer into the host CNI directories, for real', async () => {
  const cmd = installer.command as string[];
  assert.equal(cmd[0], '/opt/podwire/deploy/install.sh');
  const installSh = fs.readFileSync(path.join(REPO_ROOT, 'deploy/install.sh'), 'utf8');
  const defaults = { bin: /^bin_dir=(.*)$/m.exec(installSh)?.[1], conf: /^conf_dir=(.*)$/m.exec(installSh)?.[1] };
  const root = flagValue(cmd, '--root') ?? '/';
  const binDir = flagValue(cmd, '--cni-bin-dir') ?? defaults.bin!;
  const confDir = flagValue(cmd, '--cni-conf-dir') ?? defaults.conf!;
  const conflistArg = flagValue(cmd, '--conflist')!;
  const shimArg = flagValue(cmd, '--shim')!;
  // Where the installer writes, seen from the host.
  assert.equal(hostPathOf(installer, path.join(root, binDir)), '/opt/cni/bin');
  assert.equal(hostPathOf(installer, path.join(root, confDir)), '/etc/cni/net.d');
  // What it installs: the conflist from the ConfigMap, the shim the image carries.
  const conflistSource = resolveMount(installer, conflistArg);
  assert.equal(conflistSource.volume.configMap?.name, configMap.metadata.name);
  assert.ok(path.basename(conflistArg) in configMap.data);
  assert.equal(shimArg, '/opt/podwire/shim/build/podwire');
  assert.ok(dockerfile.copies.some((c) => c.from === 'build' && c.sources.includes('/src/shim/build/podwire') && c.dest === 'shim/build/podwire'));

  // Run it: the image's files replaced by this checkout's, the host's / by a temp dir.
  const staged = path.join(tmp, 'configmap');
  fs.mkdirSync(staged);
  fs.writeFileSync(path.join(staged, path.basename(conflistArg)), configMap.data[path.basename(conflistArg)]);
  const hostRoot = path.join(tmp, 'host');
  const argv = cmd
    .slice(1)
    .map((a) => (a === root ? hostRoot : a === shimArg ? SHIM_BINARY : a === conflistArg ? path.join(staged, path.basename(conflistArg)) : a));
  const r = await runCommand('bash', [path.join(REPO_ROOT, 'deploy/install.sh'), ...argv]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(fs.readFileSync(path.join(hostRoot, 'opt/cni/bin/podwire')), fs.readFileSync(SHIM_BINARY));
  assert.equal(fs.readFileSync(path.join(hostRoot, 'etc/cni/net.d', path.basename(conflistArg)), 'utf8'), configMap.data[path.basename(conflistArg)]);
});

// ---- the Dockerfile ------------------------------------------------------------------------------
interface Copy {
  from?: string;
  sources: string[];
  dest: string;
  stage: number;
}

function parseDockerfile(text: string): { text: string; stages: string[]; copies: Copy[]; instructions: Array<{ op: string; args: string; stage: number }> } {
  const logical = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  const stages: string[] = [];
  const copies: Copy[] = [];
  const instructions: Array<{ op: string; args: string; stage: number }> = [];
  for (const line of logical) {
    const [op, ...rest] = line.split(/\s+/);
    const args = rest.join(' ');
    if (op!.toUpperCase() === 'FROM') stages.push(args);
    const stage = stages.length - 1;
    instructions.push({ op: op!.toUpperCase(), args, stage });
    if (op!.toUpperCase() === 'COPY') {
      const words = rest.filter((w) => !w.startsWith('--') || w.startsWith('--from='));
      const from = words.find((w) => w.startsWith('--from='))?.slice('--from='.length);
      const paths = words.filter((w) => !w.startsWith('--from='));
      copies.push({ ...(from ? { from } : {}), sources: paths.slice(0, -1), dest: paths[paths.length - 1]!, stage });
    }
  }
  return { text, stages, copies, instructions };
}

const dockerfile = parseDockerfile(fs.readFileSync(path.join(REPO_ROOT, 'deploy/Dockerfile'), 'utf8'));

test('Dockerfile: a Node 20 build stage and a Node 20 runtime stage on the same Debian', () => {
  assert.equal(dockerfile.stages.length, 2);
  assert.match(dockerfile.stages[0]!, /^node:20-bookworm AS build$/);
  assert.match(dockerfile.stages[1]!, /^node:20-bookworm-slim$/);
  // The shim's build needs what scripts/setup.sh installs for it.
  for (const pkg of ['build-essential', 'libnghttp2-dev', 'libprotobuf-c-dev', 'protobuf-c-compiler']) {
    assert.match(fs.readFileSync(path.join(REPO_ROOT, 'scripts/setup.sh'), 'utf8'), new RegExp(pkg), `setup.sh installs ${pkg} too`);
    assert.ok(
      dockerfile.instructions.some((i) => i.stage === 0 && i.op === 'RUN' && i.args.includes(pkg)),
      `build stage installs ${pkg}`,
    );
  }
  assert.ok(
    dockerfile.instructions.some((i) => i.stage === 0 && i.op === 'RUN' && /make -s -C shim/.test(i.args)),
    'builds the shim',
  );
  assert.ok(
    dockerfile.instructions.some((i) => i.stage === 0 && i.op === 'RUN' && /npm prune --omit=dev/.test(i.args)),
    'production node_modules only',
  );
});

test('Dockerfile: every COPY source exists (in the repository, or as the build stage produces it)', () => {
  assert.ok(dockerfile.copies.length > 10);
  const workdir = '/src';
  for (const c of dockerfile.copies) {
    for (const src of c.sources) {
      if (c.from === undefined) {
        if (src.includes('*')) {
          const dir = path.join(REPO_ROOT, path.dirname(src));
          const re = new RegExp(`^${path.basename(src).replace(/\./g, '\\.').replace(/\*/g, '.*')}$`);
          assert.ok(
            fs.readdirSync(dir).some((f) => re.test(f)),
            `COPY ${src} matches a file`,
          );
        } else {
          assert.ok(fs.existsSync(path.join(REPO_ROOT, src)), `COPY ${src} exists in the repository`);
        }
      } else {
        assert.equal(c.from, 'build');
        assert.ok(src.startsWith(`${workdir}/`), `COPY --from=build ${src} is under the build stage's ${workdir}`);
        const inCheckout = path.join(REPO_ROOT, src.slice(workdir.length + 1));
        assert.ok(fs.existsSync(inCheckout), `${src}: the build produces it (${inCheckout} exists after npm run build)`);
      }
    }
  }
  // Sources only into the build: no host build output gets in.
  for (const c of dockerfile.copies.filter((x) => x.stage === 0)) {
    for (const src of c.sources) assert.doesNotMatch(src, /(^|\/)(dist|build|node_modules)(\/|$)/, `build stage copies no build output (${src})`);
  }
});

test('Dockerfile: the runtime carries what the DaemonSet runs, and its entrypoint is podwired', () => {
  const runtime = dockerfile.instructions.filter((i) => i.stage === 1);
  assert.ok(runtime.some((i) => i.op === 'WORKDIR' && i.args === '/opt/podwire'));
  const entry = runtime.find((i) => i.op === 'ENTRYPOINT');
  assert.deepEqual(JSON.parse(entry!.args), ['node', '--max-semi-space-size=2', '/opt/podwire/server/dist/main.js']);
  assert.ok(fs.existsSync(path.join(REPO_ROOT, 'server/dist/main.js')));
  assert.equal(podwired.command, undefined, 'the DaemonSet keeps the image entrypoint (podwired) and passes only args');
  const runtimeDests = dockerfile.copies.filter((c) => c.stage === 1).map((c) => c.dest);
  for (const need of ['node_modules', 'server/dist', 'ipam-store/dist', 'proto', 'shim/build/podwire', 'deploy/', 'server/native/build/Release/']) {
    assert.ok(runtimeDests.includes(need), `runtime stage gets ${need}`);
  }
  const deployCopy = dockerfile.copies.find((c) => c.stage === 1 && c.dest === 'deploy/');
  assert.ok(deployCopy?.sources.includes('deploy/install.sh'), 'the installer the init container runs');
});
