/**
 * `tailor export kubevirt`: what a KubeVirt cluster runs, written without a
 * container daemon:
 *   containerdisk/ + containerdisk.tar  the build's bootable disk as qcow2 at
 *                                      /disk/disk.qcow2, owned by 107:107 (qemu)
 *   kernelboot/ + kernelboot.tar      the kernel and initrd under /boot, for
 *                                      KubeVirt's direct kernel boot
 *   vm.yaml                           a VirtualMachine using both, with the
 *                                      memory, CPUs, command line and network
 * Each image as an OCI image layout folder and as a docker-archive tar.
 */
import { mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { stringify } from 'yaml';
import { MissingToolError, TailorError, UsageError } from '../errors.ts';
import type { BuildRecord } from '../image/types.ts';
import type { BuildFolder } from '../run/build-folder.ts';
import { imageNeedsNetwork } from '../run/network.ts';
import { exec, hasCommand } from '../util/exec.ts';
import { checkEfiKernel, writeRawDisk, type ExportedFile } from './bootable.ts';
import { exportCmdline } from './cmdline.ts';
import { diskGuids } from './disk.ts';
import type { KubevirtVirtualMachine } from './kubevirt-schema.ts';
import { writeDockerArchive, writeOciLayout, type ImageRequest } from './oci.ts';
import type { TarEntry } from './tar.ts';

/** The qemu user KubeVirt's virt-launcher runs as: containerDisk files must be readable by it. */
export const qemuUid = 107;
export const containerDiskPath = 'disk/disk.qcow2';
export const kernelPath = '/boot/vmlinuz';
export const initrdPath = '/boot/initrd.img';

export interface KubevirtRequest {
  /** Output folder; default build/<name>/<name>.kubevirt */
  readonly out?: string;
  /** Registry and path the images will be pushed to (the manifest names them), e.g. registry.example.com/team. */
  readonly registry: string;
  readonly memoryMiB: number;
  readonly cpus: number;
  readonly execute?: string;
  readonly log?: (line: string) => void;
}

/** A DNS-1123 name (lower case, digits, '-') for Kubernetes objects and image repositories. */
export function kubeName(name: string): string {
  const n = name.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 63).replace(/-+$/, '');
  return n === '' ? 'tailor' : n;
}

export interface KubevirtImages {
  readonly containerDisk: string;
  readonly kernelBoot: string;
  readonly tag: string;
}

export function imageNames(record: BuildRecord, registry: string): KubevirtImages {
  if (!/^[a-z0-9]([a-z0-9._:-]*[a-z0-9])?(\/[a-z0-9]([a-z0-9._-]*[a-z0-9])?)*$/.test(registry)) {
    throw new UsageError(`--registry "${registry}" is not a registry host with an optional path`, 'e.g. --registry registry.example.com/team or --registry localhost:5000');
  }
  const tag = record.configHash.slice(0, 12);
  const base = `${registry}/${kubeName(record.name)}`;
  return { containerDisk: `${base}-containerdisk:${tag}`, kernelBoot: `${base}-kernelboot:${tag}`, tag };
}

/** The VirtualMachine: direct kernel boot from the kernelBoot image, the containerDisk as the first (virtio) disk. */
export function virtualMachine(record: BuildRecord, images: KubevirtImages, plan: { memoryMiB: number; cpus: number; execute?: string }): KubevirtVirtualMachine {
  const name = kubeName(record.name);
  const net = imageNeedsNetwork(record);
  const memory = `${plan.memoryMiB}Mi`;
  return {
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachine',
    metadata: { name, labels: { 'app.kubernetes.io/name': name, 'app.kubernetes.io/managed-by': 'tailor' }, annotations: { 'tailor/config-hash': record.configHash } },
    spec: {
      // one application per VM: restarted when it fails, left stopped when it exits 0
      runStrategy: 'RerunOnFailure',
      template: {
        metadata: { labels: { 'kubevirt.io/vm': name } },
        spec: {
          domain: {
            cpu: { cores: plan.cpus },
            memory: { guest: memory },
            resources: { requests: { memory } },
            firmware: {
              kernelBoot: {
                container: {
                  image: images.kernelBoot,
                  kernelPath,
                  ...(record.initrd ? { initrdPath } : {}),
                  imagePullPolicy: 'IfNotPresent',
                },
                kernelArgs: exportCmdline(record, diskGuids(record.configHash).root, plan.execute),
              },
            },
            devices: {
              disks: [{ name: 'disk0', disk: { bus: 'virtio' } }],
              ...(net ? { interfaces: [{ name: 'default', masquerade: {} }] } : { autoattachPodInterface: false }),
              autoattachSerialConsole: true,
            },
          },
          ...(net ? { networks: [{ name: 'default', pod: {} }] } : {}),
          volumes: [{ name: 'disk0', containerDisk: { image: images.containerDisk, imagePullPolicy: 'IfNotPresent' } }],
          terminationGracePeriodSeconds: 0,
        },
      },
    },
  };
}

const file = (path: string, data: Buffer, mode: number): TarEntry => ({ path, type: 'file', data, mode, uid: qemuUid, gid: qemuUid });
const dir = (path: string): TarEntry => ({ path, type: 'dir', mode: 0o555, uid: qemuUid, gid: qemuUid });

async function writeImage(outDir: string, name: string, req: ImageRequest): Promise<void> {
  await writeOciLayout(join(outDir, name), req);
  await writeDockerArchive(join(outDir, `${name}.tar`), req);
}

export async function exportKubevirt(build: BuildFolder, req: KubevirtRequest): Promise<ExportedFile[]> {
  const log = req.log ?? (() => undefined);
  const r = build.record;
  const out = req.out ?? join(build.dir, `${r.name}.kubevirt`);
  const images = imageNames(r, req.registry);
  await checkEfiKernel(build);
  if (!(await hasCommand('qemu-img'))) throw new MissingToolError('qemu-img', 'qemu-utils', 'tailor export kubevirt (the containerDisk is qcow2)');
  const work = await mkdtemp(join(dirname(out), `.${basename(out)}.work-`));
  try {
    log(`tailor: export: the bootable disk of ${r.name} as qcow2`);
    const raw = join(work, 'disk.raw');
    await writeRawDisk(build, 'qcow2', work, raw, req.execute);
    const qcow2 = join(work, 'disk.qcow2');
    await exec('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', raw, qcow2]);
    const staged = join(work, 'out');
    const labels = { 'org.opencontainers.image.title': r.name, 'tailor.config-hash': r.configHash };
    log(`tailor: export: containerDisk image ${images.containerDisk} (OCI layout and docker-archive)`);
    await writeImage(staged, 'containerdisk', {
      files: [dir('disk'), file(containerDiskPath, await readFile(qcow2), 0o440)],
      tag: images.tag,
      repoTag: images.containerDisk,
      labels,
    });
    log(`tailor: export: kernelBoot image ${images.kernelBoot}`);
    await writeImage(staged, 'kernelboot', {
      files: [
        dir('boot'),
        file(kernelPath.slice(1), await readFile(join(build.dir, r.kernel.bzImage.file)), 0o444),
        ...(r.initrd ? [file(initrdPath.slice(1), await readFile(join(build.dir, r.initrd.file)), 0o444)] : []),
      ],
      tag: images.tag,
      repoTag: images.kernelBoot,
      labels,
    });
    const vm = virtualMachine(r, images, req);
    await writeFile(join(staged, 'vm.yaml'), `# tailor export kubevirt ${r.name}: push the two images (docs/export.md), then kubectl apply -f vm.yaml\n${stringify(vm, { lineWidth: 0 })}`);
    if (existsSync(out)) await rm(out, { recursive: true, force: true });
    await rename(staged, out);
    const size = async (p: string): Promise<number> => {
      const st = await stat(p);
      if (!st.isDirectory()) return st.size;
      let sum = 0;
      for (const e of await readdir(p)) sum += await size(join(p, e));
      return sum;
    };
    return [
      { path: join(out, 'containerdisk'), bytes: await size(join(out, 'containerdisk')), what: `OCI layout, ${images.containerDisk} (/${containerDiskPath}, ${qemuUid}:${qemuUid})` },
      { path: join(out, 'containerdisk.tar'), bytes: await size(join(out, 'containerdisk.tar')), what: 'docker-archive of the containerDisk' },
      { path: join(out, 'kernelboot'), bytes: await size(join(out, 'kernelboot')), what: `OCI layout, ${images.kernelBoot} (${kernelPath}${r.initrd ? `, ${initrdPath}` : ''})` },
      { path: join(out, 'kernelboot.tar'), bytes: await size(join(out, 'kernelboot.tar')), what: 'docker-archive of the kernelBoot image' },
      { path: join(out, 'vm.yaml'), bytes: await size(join(out, 'vm.yaml')), what: `VirtualMachine ${vm.metadata.name}` },
    ];
  } catch (e) {
    if (e instanceof TailorError) throw e;
    throw new TailorError(`tailor export kubevirt: ${(e as Error).message}`, { cause: e });
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
