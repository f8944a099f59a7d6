/**
 * Builds the container image of Bulwark itself as an OCI image layout (issue #18 item 1):
 *   npx tsx scripts/build-image.ts --output DIR [--tag 0.1.0]        (after npm run build)
 * then e.g. `skopeo copy oci:DIR:0.1.0 docker-daemon:bulwark:0.1.0`, or `podman run -p 8080:8080
 * -v bulwark:/var/lib/bulwark oci:DIR:0.1.0`.
 *
 * There is no image registry to pull a Node base from here, so the base is made from this
 * machine: its `node` binary and exactly the shared libraries it links to (ldd; on Debian those
 * of libc6, libstdc++6 and libgcc-s1), the CA bundle, and /etc/passwd with the `bulwark` user
 * (uid 10001) — a distroless-style base with no shell and no package manager. On top: the npm
 * package (`npm pack` of this tree, as installed globally) and its runtime dependencies only
 * (package-lock.json's non-dev packages, copied from node_modules, whose better-sqlite3 is built
 * for this same node). One layer, files owned by root, /var/lib/bulwark (the volume: database,
 * objects, keys) by bulwark; the image runs as 10001:10001 and serves on 8080.
 * Tools Bulwark can use are not in it (rpm, dnf, oscap, xz, zstd): `bulwark doctor` says so.
 */
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  cpSync,
  createReadStream,
  createWriteStream,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import tar from 'tar-stream';
import { writeOciLayout } from '../src/images/oci.js';
import { VERSION } from '../src/version.js';

export const IMAGE_UID = 10001;
const ROOT = join(import.meta.dirname, '..');

function sh(cmd: string, args: string[], cwd = ROOT): string {
  return execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024 });
}

/** Copies a file to the same path under `rootfs`, following symlinks (the real bytes land at the linked name). */
function copyIn(rootfs: string, path: string, mode?: number): void {
  const to = join(rootfs, path);
  mkdirSync(dirname(to), { recursive: true });
  copyFileSync(realpathSync(path), to);
  if (mode !== undefined) chmodSync(to, mode);
}

function baseLayer(rootfs: string): void {
  copyIn(rootfs, '/usr/bin/node', 0o755);
  // `ldd` prints "name => /path (addr)" and the loader as "/lib64/ld-linux… (addr)".
  for (const line of sh('ldd', [process.execPath]).split('\n')) {
    const m = /(\/\S+) \(0x/.exec(line);
    if (m?.[1] !== undefined) copyIn(rootfs, m[1]);
  }
  for (const ca of ['/etc/ssl/certs/ca-certificates.crt']) if (existsSync(ca)) copyIn(rootfs, ca);
  const etc = join(rootfs, 'etc');
  mkdirSync(etc, { recursive: true });
  writeFileSync(
    join(etc, 'passwd'),
    `root:x:0:0:root:/root:/usr/sbin/nologin\nbulwark:x:${String(IMAGE_UID)}:${String(IMAGE_UID)}:Bulwark:/var/lib/bulwark:/usr/sbin/nologin\n`,
  );
  writeFileSync(join(etc, 'group'), `root:x:0:\nbulwark:x:${String(IMAGE_UID)}:\n`);
  writeFileSync(join(etc, 'nsswitch.conf'), 'passwd: files\ngroup: files\nhosts: files dns\n');
  writeFileSync(join(etc, 'hosts'), '127.0.0.1 localhost\n::1 localhost\n');
  writeFileSync(join(etc, 'os-release'), `NAME="Bulwark"\nID=bulwark\nVERSION_ID=${VERSION}\nPRETTY_NAME="Bulwark ${VERSION} (node ${process.version})"\n`);
  mkdirSync(join(rootfs, 'tmp'), { recursive: true });
  chmodSync(join(rootfs, 'tmp'), 0o1777);
  mkdirSync(join(rootfs, 'var', 'lib', 'bulwark'), { recursive: true });
  chmodSync(join(rootfs, 'var', 'lib', 'bulwark'), 0o750);
}

function packageLayer(rootfs: string, work: string): void {
  if (!existsSync(join(ROOT, 'dist', 'cli', 'main.js'))) throw new Error('dist/ is missing: run npm run build first');
  const packed = JSON.parse(sh('npm', ['pack', '--json', '--pack-destination', work])) as { filename: string }[];
  const app = join(rootfs, 'opt', 'bulwark');
  mkdirSync(app, { recursive: true });
  sh('tar', ['-xzf', join(work, packed[0]?.filename ?? ''), '--strip-components=1', '-C', app, '--no-same-owner']);
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean; devOptional?: boolean }> };
  for (const [path, p] of Object.entries(lock.packages)) {
    if (path === '' || p.dev === true || p.devOptional === true) continue;
    const from = join(ROOT, path);
    if (!existsSync(from)) continue; // an optional dependency of another platform
    cpSync(realpathSync(from), join(app, path), {
      recursive: true,
      dereference: false,
      verbatimSymlinks: true,
      filter: (s) => !s.includes('/node_modules/', from.length),
    });
  }
}

/** The rootfs as one tar: sorted, a fixed time, owners set here (no root needed to build). */
async function tarOf(rootfs: string, file: string, mtime: Date): Promise<void> {
  const pack = tar.pack();
  const out = pipeline(pack, createWriteStream(file));
  const walk = async (dir: string): Promise<void> => {
    for (const name of readdirSync(dir).sort()) {
      const abs = join(dir, name);
      const rel = relative(rootfs, abs);
      const st = lstatSync(abs);
      const owner = rel === 'var/lib/bulwark' ? IMAGE_UID : 0;
      const header = {
        name: rel,
        mode: st.mode & 0o7777,
        uid: owner,
        gid: owner,
        uname: owner === 0 ? 'root' : 'bulwark',
        gname: owner === 0 ? 'root' : 'bulwark',
        mtime,
      };
      if (st.isSymbolicLink()) pack.entry({ ...header, type: 'symlink', linkname: readlinkSync(abs) });
      else if (st.isDirectory()) {
        pack.entry({ ...header, name: `${rel}/`, type: 'directory' });
        await walk(abs);
      } else if (st.isFile()) {
        await new Promise<void>((resolve, reject) => {
          const entry = pack.entry({ ...header, type: 'file', size: st.size }, (err) => {
            if (err) reject(err);
            else resolve();
          });
          createReadStream(abs).pipe(entry);
        });
      }
    }
  };
  await walk(rootfs);
  pack.finalize();
  await out;
}

export async function buildImage(o: { output: string; tag: string }): Promise<{ digest: string; layerBytes: number }> {
  const work = mkdtempSync(join(tmpdir(), 'bulwark-image-'));
  try {
    const rootfs = join(work, 'rootfs');
    mkdirSync(rootfs);
    baseLayer(rootfs);
    packageLayer(rootfs, work);
    const created = new Date(Number(sh('git', ['log', '-1', '--format=%ct'])) * 1000);
    const layer = join(work, 'layer.tar');
    await tarOf(rootfs, layer, created);
    rmSync(o.output, { recursive: true, force: true });
    const r = await writeOciLayout(o.output, layer, {
      tag: o.tag,
      arch: process.arch,
      created: created.toISOString(),
      createdBy: `scripts/build-image.ts (node ${process.version} of the build machine, bulwark ${VERSION})`,
      config: {
        entrypoint: ['/usr/bin/node', '/opt/bulwark/bin/bulwark.js'],
        cmd: ['serve', '--listen', '0.0.0.0:8080'],
        env: { XDG_DATA_HOME: '/var/lib', HOME: '/var/lib/bulwark', NODE_ENV: 'production', PATH: '/usr/bin:/bin' },
        labels: { 'org.opencontainers.image.title': 'bulwark', 'org.opencontainers.image.version': VERSION },
        workingDir: '/var/lib/bulwark',
        user: `${String(IMAGE_UID)}:${String(IMAGE_UID)}`,
        volumes: ['/var/lib/bulwark'],
        exposedPorts: ['8080/tcp'],
      },
    });
    return { digest: r.manifest.digest, layerBytes: r.layerBytes };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && realpathSync(process.argv[1]) === realpathSync(import.meta.filename)) {
  const { values } = parseArgs({ options: { output: { type: 'string' }, tag: { type: 'string', default: VERSION } } });
  if (values.output === undefined) {
    process.stderr.write('usage: npx tsx scripts/build-image.ts --output DIR [--tag TAG]\n');
    process.exit(2);
  }
  const r = await buildImage({ output: values.output, tag: values.tag });
  process.stdout.write(`${values.output}:${values.tag} ${r.digest} (layer ${String(r.layerBytes)} bytes)\n`);
}
