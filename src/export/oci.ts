/**
 * Single-layer container images written directly, no container daemon: an
 * OCI image layout (a folder: oci-layout, index.json, blobs/sha256/...) as
 * the OCI image spec describes it, and the same image as a docker-archive
 * tar (manifest.json, config, layer.tar) as `docker load` and skopeo read.
 */
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { tarArchive, type TarEntry } from './tar.ts';

export interface ImageRequest {
  /** The layer's files (with their owners and modes). */
  readonly files: readonly TarEntry[];
  /** The tag inside the layout (org.opencontainers.image.ref.name) and the docker-archive repo:tag. */
  readonly tag: string;
  readonly repoTag: string;
  readonly labels?: Readonly<Record<string, string>>;
}

export interface BuiltImage {
  readonly manifestDigest: string;
  readonly layerDiffId: string;
}

const sha256 = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');
const json = (v: unknown): Buffer => Buffer.from(JSON.stringify(v));

function imageParts(req: ImageRequest) {
  const layerTar = tarArchive(req.files);
  const layerGz = gzipSync(layerTar, { level: 9 });
  const diffId = `sha256:${sha256(layerTar)}`;
  const config = json({
    created: '1970-01-01T00:00:00Z',
    architecture: 'amd64',
    os: 'linux',
    config: { Labels: { ...(req.labels ?? {}) } },
    rootfs: { type: 'layers', diff_ids: [diffId] },
    history: [{ created: '1970-01-01T00:00:00Z', created_by: 'tailor export' }],
  });
  const manifest = json({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: `sha256:${sha256(config)}`, size: config.length },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: `sha256:${sha256(layerGz)}`, size: layerGz.length }],
  });
  return { layerTar, layerGz, diffId, config, manifest };
}

/** Writes the image as an OCI image layout folder `dir` (which must not exist yet or be empty). */
export async function writeOciLayout(dir: string, req: ImageRequest): Promise<BuiltImage> {
  const p = imageParts(req);
  const blobs = join(dir, 'blobs', 'sha256');
  await mkdir(blobs, { recursive: true });
  for (const b of [p.layerGz, p.config, p.manifest]) await writeFile(join(blobs, sha256(b)), b);
  await writeFile(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  const manifestDigest = `sha256:${sha256(p.manifest)}`;
  await writeFile(
    join(dir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          digest: manifestDigest,
          size: p.manifest.length,
          annotations: { 'org.opencontainers.image.ref.name': req.tag },
        },
      ],
    }),
  );
  return { manifestDigest, layerDiffId: p.diffId };
}

/** Writes the image as a docker-archive tar (uncompressed layer, as `docker save` writes it). */
export async function writeDockerArchive(file: string, req: ImageRequest): Promise<void> {
  const p = imageParts(req);
  const configName = `${sha256(p.config)}.json`;
  const layerName = `${p.diffId.slice('sha256:'.length)}/layer.tar`;
  const entry = (path: string, data: Buffer): TarEntry => ({ path, type: 'file', data, mode: 0o644, uid: 0, gid: 0 });
  const archive = tarArchive([
    entry(configName, p.config),
    { path: p.diffId.slice('sha256:'.length), type: 'dir', mode: 0o755, uid: 0, gid: 0 },
    entry(layerName, p.layerTar),
    entry('manifest.json', json([{ Config: configName, RepoTags: [req.repoTag], Layers: [layerName] }])),
  ]);
  await writeFile(file, archive);
}
