/**
 * A build folder as a bootable disk: checks that its kernel can be started
 * by UEFI firmware, builds the UKI, the ESP and the GPT disk in a scratch
 * folder beside the output, converts it, and renames the result into place.
 */
import { mkdtemp, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { TailorError, UsageError } from '../errors.ts';
import type { BuildRecord } from '../image/types.ts';
import type { BuildFolder } from '../run/build-folder.ts';
import { exec, hasCommand } from '../util/exec.ts';
import { MissingToolError } from '../errors.ts';
import { exportCmdline } from './cmdline.ts';
import { diskGuids, writeDisk, type DiskResult } from './disk.ts';
import { espBytesFor, makeEsp } from './esp.ts';
import { diskFormats, type DiskFormatName } from './formats.ts';
import { machineX64, readPe } from './pe.ts';
import { makeUki } from './uki.ts';

/** The `tailor build` words that rebuild this build with the efi module (its command-line options, plus modules=...,efi). */
export function rebuildWithEfi(record: BuildRecord): string {
  const words: string[] = record.profile ? [`--profile=${record.profile}`] : [];
  for (const [name, entry] of Object.entries(record.options)) {
    const src = (entry as { source?: { kind?: string; arg?: string } }).source;
    if (src?.kind === 'command-line' && src.arg && name !== 'modules') words.push(src.arg);
  }
  const modules = (record.options.modules as { value?: unknown } | undefined)?.value;
  const list = Array.isArray(modules) ? modules.map(String) : [];
  words.push(`modules=${[...list.filter((m) => m !== 'efi'), 'efi'].join(',')}`);
  return `tailor build ${words.join(' ')}`;
}

/** Refuses a build whose kernel UEFI firmware cannot start, with the build command that fixes it. */
export async function checkEfiKernel(build: BuildFolder): Promise<void> {
  const pe = await readPe(join(build.dir, build.record.kernel.bzImage.file));
  if (pe?.machine === machineX64) return;
  throw new UsageError(
    `build ${build.record.name}: its kernel has no EFI stub, so UEFI firmware cannot start it from a disk`,
    `rebuild with the efi module (CONFIG_EFI_STUB; EFI needs ACPI, so not with conf_drivers_profile=microvm): ${rebuildWithEfi(build.record)}`,
  );
}

export interface ExportedFile {
  readonly path: string;
  readonly bytes: number;
  readonly what: string;
}

export interface DiskExportRequest {
  readonly format: DiskFormatName;
  /** Output file; default: build/<name>/<name>.<ext> */
  readonly out?: string;
  /** Replace the image's command line (as tailor run -e). */
  readonly execute?: string;
  readonly log?: (line: string) => void;
}

/** Writes the raw GPT disk for `build` to `out` (a scratch path); returns its layout. */
export async function writeRawDisk(build: BuildFolder, format: DiskFormatName, work: string, out: string, execute?: string): Promise<DiskResult> {
  const r = build.record;
  const guids = diskGuids(r.configHash);
  const uki = join(work, 'BOOTX64.EFI');
  await makeUki({
    kernel: join(build.dir, r.kernel.bzImage.file),
    initrd: r.initrd && join(build.dir, r.initrd.file),
    cmdline: exportCmdline(r, guids.root, execute),
    osRelease: `ID=tailor\nNAME=Tailor\nVERSION_ID=${r.configHash.slice(0, 12)}\nPRETTY_NAME="Tailor ${r.name}"\n`,
    work,
    out: uki,
  });
  const esp = join(work, 'esp.img');
  await makeEsp(esp, espBytesFor((await stat(uki)).size), uki, r.configHash.slice(0, 8), work);
  return writeDisk({ esp, root: r.rootDisk && join(build.dir, r.rootDisk.file), guids, roundTo: diskFormats[format].roundTo, out });
}

export async function exportDisk(build: BuildFolder, req: DiskExportRequest): Promise<ExportedFile> {
  const log = req.log ?? (() => undefined);
  const fmt = diskFormats[req.format];
  const out = req.out ?? join(build.dir, fmt.file(build.record.name));
  await checkEfiKernel(build);
  if ('qemuImg' in fmt && !(await hasCommand('qemu-img'))) throw new MissingToolError('qemu-img', 'qemu-utils', `tailor export ${req.format}`);
  const work = await mkdtemp(join(dirname(out), `.${basename(out)}.work-`));
  try {
    log(`tailor: export: unified kernel image, EFI system partition and GPT for ${build.record.name}`);
    const raw = join(work, 'disk.raw');
    const disk = await writeRawDisk(build, req.format, work, raw, req.execute);
    const staged = join(work, 'out');
    if ('qemuImg' in fmt) {
      log(`tailor: export: qemu-img convert -O ${fmt.qemuImg}`);
      const opts = 'qemuImgOptions' in fmt ? ['-o', fmt.qemuImgOptions] : [];
      await exec('qemu-img', ['convert', '-f', 'raw', '-O', fmt.qemuImg, ...opts, raw, staged]);
    } else if ('gceTar' in fmt) {
      log('tailor: export: disk.raw into a sparse tar.gz (GNU tar, oldgnu format)');
      await exec('tar', ['--format=oldgnu', '-S', '--mtime=@0', '--owner=0', '--group=0', '--numeric-owner', '-c', '-f', staged, '--use-compress-program=gzip -n', '-C', work, 'disk.raw']);
    } else {
      await rename(raw, staged);
    }
    await rename(staged, out);
    const parts = disk.partitions.map((p) => `${p.name} ${((p.lastLba - p.firstLba + 1) * 512) / 1048576} MiB`).join(', ');
    return { path: out, bytes: (await stat(out)).size, what: `${req.format} disk, GPT ${disk.bytes / 1048576} MiB virtual (${parts})` };
  } catch (e) {
    if (e instanceof TailorError) throw e;
    throw new TailorError(`tailor export ${req.format}: ${(e as Error).message}`, { cause: e });
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
