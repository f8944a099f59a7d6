import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';

/**
 * An OCI image layout (https://github.com/opencontainers/image-spec: image-layout.md,
 * manifest.md, config.md, descriptor.md) of one layer: `oci-layout`, `index.json` and
 * content-addressed `blobs/sha256/…`. The layer is the rootfs tarball, gzip-compressed; the
 * config's `rootfs.diff_ids` is the SHA-256 of the uncompressed tar, the manifest's layer
 * digest that of the compressed blob (config.md "Layer DiffID").
 */
export const MEDIA = {
  index: 'application/vnd.oci.image.index.v1+json',
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
} as const;

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}

export interface ContainerConfig {
  entrypoint?: string[] | undefined;
  cmd?: string[] | undefined;
  env: Record<string, string>;
  labels: Record<string, string>;
  workingDir?: string | undefined;
  user?: string | undefined;
  /** Paths meant to be volumes (config.md `Volumes`), e.g. /var/lib/bulwark. */
  volumes?: readonly string[] | undefined;
  /** Ports the image listens on (config.md `ExposedPorts`), e.g. 8080/tcp. */
  exposedPorts?: readonly string[] | undefined;
}

/** Go's GOARCH names, which OCI uses (config.md `architecture`). */
export function ociArch(arch: string): string {
  // Node's, rpm's and Debian's names for the same machines; ppc64 (big-endian) is not ppc64le.
  const map: Record<string, string> = {
    x64: 'amd64',
    x86_64: 'amd64',
    aarch64: 'arm64',
    ppc64el: 'ppc64le',
    i386: '386',
    i686: '386',
    ia32: '386',
    armhf: 'arm',
    armv7hl: 'arm',
  };
  return map[arch] ?? arch;
}

async function writeBlob(layout: string, bytes: Uint8Array, mediaType: string, annotations?: Record<string, string>): Promise<Descriptor> {
  const hex = createHash('sha256').update(bytes).digest('hex');
  await writeFile(join(layout, 'blobs', 'sha256', hex), bytes);
  return { mediaType, digest: `sha256:${hex}`, size: bytes.byteLength, ...(annotations !== undefined ? { annotations } : {}) };
}

/**
 * Compresses `tarFile` into a layer blob, hashing both sides on the way.
 * @returns the layer descriptor and the uncompressed tar's digest (the diff_id).
 */
async function writeLayer(layout: string, tarFile: string): Promise<{ layer: Descriptor; diffId: string }> {
  const plain = createHash('sha256');
  const packed = createHash('sha256');
  let size = 0;
  const tmp = join(layout, 'blobs', 'sha256', '.layer.tmp');
  await pipeline(
    createReadStream(tarFile),
    new Transform({
      transform(chunk: Buffer, _enc, cb) {
        plain.update(chunk);
        cb(null, chunk);
      },
    }),
    // No name or time in the gzip header (as gzip -n), so equal tars give equal blobs.
    createGzip({ level: 6 }),
    new Transform({
      transform(chunk: Buffer, _enc, cb) {
        packed.update(chunk);
        size += chunk.length;
        cb(null, chunk);
      },
    }),
    createWriteStream(tmp),
  );
  const hex = packed.digest('hex');
  await rename(tmp, join(layout, 'blobs', 'sha256', hex));
  return { layer: { mediaType: MEDIA.layerGzip, digest: `sha256:${hex}`, size }, diffId: `sha256:${plain.digest('hex')}` };
}

const json = (v: unknown): Uint8Array => Buffer.from(JSON.stringify(v));

/**
 * Writes an OCI image layout of one layer at `layout` (created), tagged `tag`.
 * @returns the manifest's descriptor: its digest is the image's identity.
 * @example await writeOciLayout('out/oci', 'out/rootfs.tar', { tag: '1', arch: 'x86_64', created, config: { env: {}, labels: {} } })
 */
export async function writeOciLayout(
  layout: string,
  tarFile: string,
  o: { tag: string; arch: string; created: string; config: ContainerConfig; createdBy: string; annotations?: Record<string, string> },
): Promise<{ manifest: Descriptor; layerBytes: number }> {
  await mkdir(join(layout, 'blobs', 'sha256'), { recursive: true });
  const { layer, diffId } = await writeLayer(layout, tarFile);
  const c = o.config;
  const env = Object.entries(c.env).map(([k, v]) => `${k}=${v}`);
  const config = await writeBlob(
    layout,
    json({
      created: o.created,
      architecture: ociArch(o.arch),
      os: 'linux',
      config: {
        ...(env.length > 0 ? { Env: env } : {}),
        ...(c.entrypoint !== undefined ? { Entrypoint: c.entrypoint } : {}),
        ...(c.cmd !== undefined ? { Cmd: c.cmd } : {}),
        ...(c.workingDir !== undefined ? { WorkingDir: c.workingDir } : {}),
        ...(c.user !== undefined ? { User: c.user } : {}),
        ...(c.volumes !== undefined && c.volumes.length > 0 ? { Volumes: Object.fromEntries(c.volumes.map((v) => [v, {}])) } : {}),
        ...(c.exposedPorts !== undefined && c.exposedPorts.length > 0 ? { ExposedPorts: Object.fromEntries(c.exposedPorts.map((p) => [p, {}])) } : {}),
        ...(Object.keys(c.labels).length > 0 ? { Labels: c.labels } : {}),
      },
      rootfs: { type: 'layers', diff_ids: [diffId] },
      history: [{ created: o.created, created_by: o.createdBy }],
    }),
    MEDIA.config,
  );
  const manifest = await writeBlob(
    layout,
    json({ schemaVersion: 2, mediaType: MEDIA.manifest, config, layers: [layer], ...(o.annotations !== undefined ? { annotations: o.annotations } : {}) }),
    MEDIA.manifest,
  );
  const ref = { ...manifest, annotations: { 'org.opencontainers.image.ref.name': o.tag } };
  await writeFile(join(layout, 'index.json'), JSON.stringify({ schemaVersion: 2, mediaType: MEDIA.index, manifests: [ref] }));
  await writeFile(join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  return { manifest, layerBytes: (await stat(join(layout, 'blobs', 'sha256', layer.digest.slice(7)))).size };
}
