/** `tailor size`: one build's bytes (kernel by section/subsystem/object, root fs by module/file), its text form and a diff of two. */
import { join } from 'node:path';
import { archOfMakeVars } from '../config/arch.ts';
import type { BuildFolder } from '../run/build-folder.ts';
import { unpackedSourceDir } from './kernel-source-dir.ts';
import { locateCustomKernel } from './kernel-locate.ts';
import { analyzeKernelCache, analyzeKernelTree, kernelSections, sectionGroups, type KernelSize, type ObjectSize, type SectionGroup } from './kernel-size.ts';
import { analyzeRootfs, type RootfsSize } from './rootfs-size.ts';
import { readFragmentReasons, subsystemOrigin, type SubsystemOrigin } from './subsystem-config.ts';

export interface SizeReport {
  readonly build: string;
  readonly kernelFlavour: 'stock' | 'custom';
  readonly kernelRelease: string;
  /** Image bytes on disk: the files the runner boots (`bzImage` is the boot image: arm64's is named Image). */
  readonly onDisk: { readonly bzImage: number; readonly vmlinux?: number; readonly rootfs: number };
  /** The boot image's file name in the build folder (bzImage, Image); absent in reports saved before it existed. */
  readonly bootImage?: string;
  readonly kernel: KernelSize & { readonly origins: Readonly<Record<string, SubsystemOrigin>>; readonly method: string };
  readonly rootfs: RootfsSize;
}

export async function sizeReport(folder: BuildFolder): Promise<SizeReport> {
  const { dir, record } = folder;
  let kernel: SizeReport['kernel'];
  if (record.kernel.flavour === 'custom') {
    const located = await locateCustomKernel(record);
    if (located.treeDir) {
      const k = await analyzeKernelTree(located.treeDir, archOfMakeVars(located.meta.makeVars));
      const reasons = readFragmentReasons(located.cacheDir);
      const src = unpackedSourceDir(located.meta.sourceVersion, located.treeDir);
      const origins: Record<string, SubsystemOrigin> = {};
      for (const s of k.subsystems) if (src && !s.subsystem.startsWith('(')) {
        const largest = k.objects.find((o) => o.subsystem === s.subsystem)!.object;
        origins[s.subsystem] = subsystemOrigin(src, largest, reasons);
      }
      kernel = { ...k, origins, method: `symbol addresses of the unstripped vmlinux (${join(located.treeDir, 'vmlinux')}), objects from nm of vmlinux.a` };
    } else {
      const cached = await analyzeKernelCache(located.cacheDir);
      const reasons = readFragmentReasons(located.cacheDir);
      const src = unpackedSourceDir(located.meta.sourceVersion);
      if (cached) {
        const origins: Record<string, SubsystemOrigin> = {};
        for (const s of cached.subsystems) {
          const largest = cached.objects.find((o) => o.subsystem === s.subsystem)!.object;
          if (src && !s.subsystem.startsWith('(')) origins[s.subsystem] = subsystemOrigin(src, largest, reasons);
        }
        kernel = { ...cached, origins, method: `symbol addresses from the kernel cache (${located.cacheDir}: symbols.txt, objects.txt; build tree pruned, same-named statics go to their first object)` };
      } else {
        const k = await kernelSections(join(dir, record.kernel.vmlinux?.file ?? record.kernel.bzImage.file));
        kernel = { ...k, origins: {}, method: 'sections only: the kernel build tree was pruned and the cache predates objects.txt' };
      }
    }
  } else {
    const k = record.kernel.vmlinux ? await kernelSections(join(dir, record.kernel.vmlinux.file)) : undefined;
    kernel = k
      ? { ...k, origins: {}, method: "sections of Debian's vmlinux (no symbol table: no subsystems)" }
      : { sections: [], groupTotals: { text: 0, rodata: 0, data: 0, bss: 0, init: 0 }, objects: [], subsystems: [], total: 0, origins: {}, method: `no vmlinux in the build: Debian's ${record.kernel.bzImage.file} is a boot image without ELF sections (kernel=custom gives sections and subsystems)` };
  }
  const rootfs = await analyzeRootfs(dir, record);
  return {
    build: record.name,
    kernelFlavour: record.kernel.flavour,
    kernelRelease: record.kernel.release,
    bootImage: record.kernel.bzImage.file,
    onDisk: { bzImage: record.kernel.bzImage.bytes, ...(record.kernel.vmlinux ? { vmlinux: record.kernel.vmlinux.bytes } : {}), rootfs: rootfs.onDisk },
    kernel,
    rootfs,
  };
}

export const fmtBytes = (n: number): string =>
  Math.abs(n) >= 1048576 ? `${(n / 1048576).toFixed(2)} MiB` : Math.abs(n) >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`;

/** Columns 1..rightTo-1 are numbers (right-aligned); the first and any after are text. */
function table(header: string[], rows: string[][], rightTo = header.length): string {
  const w = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => (i >= 1 && i < rightTo ? c.padStart(w[i]!) : c.padEnd(w[i]!))).join('  ').trimEnd();
  return [line(header), line(w.map((n) => '-'.repeat(n))), ...rows.map(line)].join('\n');
}

/** The terminal form. `top` limits the subsystem and file lists. */
export function formatSizeReport(r: SizeReport, top = 25): string {
  const k = r.kernel;
  const out: string[] = [];
  out.push(`build ${r.build}: ${r.kernelFlavour} kernel ${r.kernelRelease}`);
  out.push(`on disk: ${r.bootImage ?? 'bzImage'} ${fmtBytes(r.onDisk.bzImage)}${r.onDisk.vmlinux !== undefined ? `, vmlinux ${fmtBytes(r.onDisk.vmlinux)} (allocated: sparse)` : ''}, root fs ${fmtBytes(r.onDisk.rootfs)}`);
  out.push('');
  out.push(`kernel in memory by section (${k.method}):`);
  out.push(table(['group', 'bytes', 'size', 'sections'], sectionGroups.map((g) => [g, String(k.groupTotals[g]), fmtBytes(k.groupTotals[g]), k.sections.filter((s) => s.group === g).map((s) => s.name).join(' ')]), 3));
  out.push(`total ${k.total} bytes (${fmtBytes(k.total)})`);
  if (k.subsystems.some((s) => !s.subsystem.startsWith('('))) {
    out.push('');
    out.push(`kernel by subsystem (${k.subsystems.length}; top ${Math.min(top, k.subsystems.length)}; they add up to the section totals):`);
    const rows = k.subsystems.slice(0, top).map((s) => [s.subsystem, ...sectionGroups.map((g) => String(s.bytes[g])), String(s.total), pct(s.total, k.total), originText(k.origins[s.subsystem])]);
    out.push(table(['subsystem', ...sectionGroups, 'total', '%', 'asked by'], rows, sectionGroups.length + 3));
    const rest = k.subsystems.slice(top);
    if (rest.length) out.push(`... ${rest.length} more subsystems, ${rest.reduce((n, s) => n + s.total, 0)} bytes (--json lists all)`);
  }
  out.push('');
  const fs = r.rootfs;
  out.push(`root filesystem: ${fs.format}, ${fmtBytes(fs.onDisk)} on disk${fs.content !== undefined ? `, ${fmtBytes(fs.content)} of files, compression ratio ${fs.compressionRatio!.toFixed(2)}:1` : ''}`);
  if (fs.modules.length) out.push(table(['module', 'files', 'bytes'], fs.modules.map((m) => [m.module, String(m.files), String(m.bytes)])));
  if (fs.files.length) {
    out.push('');
    out.push(table(['file', 'bytes', 'module'], fs.files.slice(0, top).map((f) => [f.path, String(f.bytes), f.module]), 2));
  }
  return out.join('\n') + '\n';
}

const pct = (n: number, total: number) => (total ? `${((100 * n) / total).toFixed(1)}` : '-');
function originText(o: SubsystemOrigin | undefined): string {
  if (!o) return '';
  return o.symbol ? `CONFIG_${o.symbol}: ${o.reason}` : o.reason;
}

export interface DiffRow {
  readonly name: string;
  readonly old: number;
  readonly new: number;
  readonly delta: number;
}

export interface SizeDiff {
  readonly old: string;
  readonly new: string;
  readonly groups: readonly DiffRow[];
  readonly subsystems: readonly DiffRow[];
  readonly objects: readonly DiffRow[];
  readonly rootfsFiles: readonly DiffRow[];
  readonly onDisk: readonly DiffRow[];
}

function diffRows(a: ReadonlyMap<string, number>, b: ReadonlyMap<string, number>): DiffRow[] {
  const names = new Set([...a.keys(), ...b.keys()]);
  return [...names]
    .map((name) => ({ name, old: a.get(name) ?? 0, new: b.get(name) ?? 0, delta: (b.get(name) ?? 0) - (a.get(name) ?? 0) }))
    .filter((r) => r.delta !== 0)
    .sort((x, y) => Math.abs(y.delta) - Math.abs(x.delta) || x.name.localeCompare(y.name));
}
const byTotal = (list: readonly ObjectSize[], key: 'object' | 'subsystem') => new Map(list.map((o) => [o[key], o.total]));

/** bloat-o-meter style: what grew or shrank from `a` (old) to `b` (new). */
export function diffSizeReports(a: SizeReport, b: SizeReport): SizeDiff {
  const groups = (r: SizeReport) => new Map<string, number>(sectionGroups.map((g: SectionGroup) => [g, r.kernel.groupTotals[g]]));
  const disk = (r: SizeReport) => new Map<string, number>([['bzImage', r.onDisk.bzImage], ['vmlinux', r.onDisk.vmlinux ?? 0], ['rootfs', r.onDisk.rootfs]]);
  return {
    old: a.build,
    new: b.build,
    onDisk: diffRows(disk(a), disk(b)),
    groups: diffRows(groups(a), groups(b)),
    subsystems: diffRows(byTotal(a.kernel.subsystems, 'subsystem'), byTotal(b.kernel.subsystems, 'subsystem')),
    objects: diffRows(byTotal(a.kernel.objects, 'object'), byTotal(b.kernel.objects, 'object')),
    rootfsFiles: diffRows(new Map(a.rootfs.files.map((f) => [f.path, f.bytes])), new Map(b.rootfs.files.map((f) => [f.path, f.bytes]))),
  };
}

export function formatSizeDiff(d: SizeDiff, top = 20): string {
  const sign = (n: number) => (n > 0 ? `+${n}` : String(n));
  const section = (title: string, rows: readonly DiffRow[]) => {
    if (!rows.length) return `${title}: no change`;
    const up = rows.filter((r) => r.delta > 0).reduce((n, r) => n + r.delta, 0);
    const down = rows.filter((r) => r.delta < 0).reduce((n, r) => n + r.delta, 0);
    return `${title}: grow ${sign(up)}, shrink ${down}, net ${sign(up + down)}\n` +
      table(['name', 'old', 'new', 'delta'], rows.slice(0, top).map((r) => [r.name, String(r.old), String(r.new), sign(r.delta)]));
  };
  return [
    `size diff: ${d.old} -> ${d.new}`,
    section('on disk', d.onDisk),
    section('kernel sections', d.groups),
    section('kernel subsystems', d.subsystems),
    section('kernel objects', d.objects),
    section('root fs files', d.rootfsFiles),
  ].join('\n\n') + '\n';
}
