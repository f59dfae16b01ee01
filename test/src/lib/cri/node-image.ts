import * as fs from 'node:fs';
import * as path from 'node:path';
import { REPO_ROOT } from '../paths';
import { runCommand } from '../run-command';

/**
 * podwire's node image for the CRI tests, built by scripts/build-node-image.sh (no registry,
 * no engine), and what deploy/Dockerfile's runtime stage says the image must hold, so the
 * test can compare the two.
 */

export const NODE_IMAGE = 'docker.io/library/podwire:dev';
const BUILD = path.join(REPO_ROOT, 'scripts', 'build-node-image.sh');
export const DOCKERFILE = path.join(REPO_ROOT, 'deploy', 'Dockerfile');

export async function buildNodeImage(dir: string): Promise<string> {
  const out = path.join(dir, 'podwire.oci.tar');
  const r = await runCommand('bash', [BUILD, out, NODE_IMAGE], { timeoutMs: 300_000 });
  if (r.code !== 0) throw new Error(`build-node-image.sh exited ${r.code}: ${r.stderr.trim()}`);
  return out;
}

/** The files and links of an OCI archive's single layer (absolute paths), and its config. */
export async function imageContents(archive: string, scratch: string): Promise<{ paths: Set<string>; config: { Entrypoint?: string[]; WorkingDir?: string } }> {
  fs.mkdirSync(scratch, { recursive: true });
  // everything but the (large) layer blob, which is listed straight from the archive
  const x = await runCommand('tar', ['-xf', archive, '-C', scratch, '--exclude=blobs/sha256/*', 'index.json', 'oci-layout'], { timeoutMs: 120_000 });
  if (x.code !== 0) throw new Error(`tar -xf ${archive}: ${x.stderr}`);
  const member = (d: string) => `blobs/sha256/${d.replace(/^sha256:/, '')}`;
  const read = async (d: string): Promise<string> => {
    const r = await runCommand('tar', ['-xOf', archive, member(d)], { timeoutMs: 60_000 });
    if (r.code !== 0) throw new Error(`tar -xOf ${archive} ${member(d)}: ${r.stderr}`);
    return r.stdout;
  };
  const index = JSON.parse(fs.readFileSync(path.join(scratch, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
  const manifest = JSON.parse(await read(index.manifests[0]?.digest ?? '')) as {
    config: { digest: string };
    layers: { digest: string }[];
  };
  const config = JSON.parse(await read(manifest.config.digest)) as { config: { Entrypoint?: string[]; WorkingDir?: string } };
  const t = await runCommand('bash', ['-c', 'tar -xOf "$1" "$2" | tar -t', 'list-layer', archive, member(manifest.layers[0]?.digest ?? '')], {
    timeoutMs: 120_000,
  });
  if (t.code !== 0) throw new Error(`tar -tf layer: ${t.stderr}`);
  const paths = new Set(
    t.stdout
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => path.posix.join('/', l).replace(/\/$/, '')),
  );
  fs.rmSync(scratch, { recursive: true, force: true });
  return { paths, config: config.config };
}

/**
 * What deploy/Dockerfile's last stage puts in the image: every COPY destination (a file per
 * source when the destination is a directory), every `ln -s` link, WORKDIR and ENTRYPOINT.
 */
export function dockerfileRuntimeLayout(text: string): { paths: string[]; workdir: string; entrypoint: string[] } {
  const lines = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim());
  const stage = lines.slice(lines.map((l) => /^FROM\s/i.test(l)).lastIndexOf(true));
  let workdir = '/';
  let entrypoint: string[] = [];
  const paths: string[] = [];
  for (const l of stage) {
    const words = l.split(/\s+/);
    const op = words[0]?.toUpperCase();
    if (op === 'WORKDIR') workdir = words[1] ?? '/';
    else if (op === 'ENTRYPOINT') entrypoint = JSON.parse(l.slice('ENTRYPOINT'.length)) as string[];
    else if (op === 'COPY') {
      const args = words.slice(1).filter((w) => !w.startsWith('--'));
      const dest = args[args.length - 1] ?? '';
      const sources = args.slice(0, -1);
      const abs = path.posix.resolve(workdir, dest);
      if (dest.endsWith('/') || sources.length > 1) for (const s of sources) paths.push(path.posix.join(abs, path.posix.basename(s)));
      else paths.push(abs);
    } else if (op === 'RUN') {
      for (const m of l.matchAll(/ln -s\s+(\S+)\s+(\S+)/g)) if (m[2]) paths.push(m[2]);
    }
  }
  return { paths, workdir, entrypoint };
}
