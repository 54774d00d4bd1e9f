/**
 * Where the guest's memory goes at app start (`tailor size --memory`): one
 * boot with the init's --meminfo, which prints /proc/meminfo and /proc/iomem
 * as `tailor:mem FILE: LINE` just before the application starts; the report
 * splits the RAM QEMU gave into consumers, each from a kernel counter.
 */
import { Writable } from 'node:stream';
import { TailorError } from '../errors.ts';
import type { BuildFolder } from '../run/build-folder.ts';
import { defaultHypervisor, runImage } from '../run/runner.ts';
import type { Accel } from '../run/types.ts';

export interface IomemRange {
  readonly start: number;
  readonly end: number;
  readonly name: string;
  /** Nesting level (two spaces per level in /proc/iomem). */
  readonly depth: number;
}

export interface GuestMemoryFiles {
  /** /proc/meminfo fields in KiB. */
  readonly meminfo: ReadonlyMap<string, number>;
  readonly iomem: readonly IomemRange[];
  /** tailor:mem lines received, and the count the init said it sent (undefined: its end line was lost). */
  readonly received: number;
  readonly sent?: number;
}

export interface MemoryConsumer {
  readonly name: string;
  readonly kib: number;
  /** The counter it comes from. */
  readonly source: string;
}

export interface GuestMemoryReport {
  readonly build: string;
  readonly memoryMiB: number;
  readonly accel: Accel;
  /** RAM the kernel saw (System RAM ranges of /proc/iomem), KiB. */
  readonly systemRamKiB: number;
  readonly consumers: readonly MemoryConsumer[];
  readonly method: string;
}

const memLine = /^tailor:mem (\/proc\/\w+): (.*)$/;

/** The tailor:mem lines of a console transcript. */
export function parseMemLines(consoleText: string): GuestMemoryFiles | undefined {
  const meminfo = new Map<string, number>();
  const iomem: IomemRange[] = [];
  let seen = false;
  let received = 0;
  let sent: number | undefined;
  for (const raw of consoleText.split('\n')) {
    const line = raw.replace(/\r$/, '');
    const end = /^tailor:mem end lines=(\d+)$/.exec(line);
    if (end) sent = Number(end[1]);
    const m = memLine.exec(line);
    if (!m) continue;
    seen = true;
    received++;
    if (m[1] === '/proc/meminfo') {
      const f = /^(\w+(?:\(\w+\))?):\s+(\d+)(?: kB)?$/.exec(m[2]!);
      if (f) meminfo.set(f[1]!, Number(f[2]));
    } else if (m[1] === '/proc/iomem') {
      const r = /^( *)([0-9a-f]+)-([0-9a-f]+) : (.*)$/.exec(m[2]!);
      if (r) iomem.push({ depth: r[1]!.length / 2, start: Number.parseInt(r[2]!, 16), end: Number.parseInt(r[3]!, 16), name: r[4]! });
    }
  }
  return seen ? { meminfo, iomem, received, ...(sent !== undefined ? { sent } : {}) } : undefined;
}

const kibOf = (r: IomemRange): number => (r.end - r.start + 1) / 1024;

/**
 * Split `memoryMiB` into consumers. MemTotal is what the page allocator
 * manages: RAM minus the kernel image and the early (memblock) reservations;
 * the rows below it are /proc/meminfo's own counters, and "other kernel
 * allocations" is what MemTotal leaves once they and MemFree are counted.
 */
export function memoryConsumers(files: GuestMemoryFiles, memoryMiB: number): { systemRamKiB: number; consumers: MemoryConsumer[] } {
  const mi = (k: string): number => files.meminfo.get(k) ?? 0;
  const systemRamKiB = files.iomem.filter((r) => r.depth === 0 && r.name === 'System RAM').reduce((n, r) => n + kibOf(r), 0);
  const image = files.iomem.filter((r) => /^Kernel (code|rodata|data|bss)$/.test(r.name)).reduce((n, r) => n + kibOf(r), 0);
  const total = mi('MemTotal');
  const slab = mi('Slab');
  const counted = slab + mi('KernelStack') + mi('PageTables') + mi('Percpu') + mi('Cached') + mi('Buffers') + mi('AnonPages');
  const consumers: MemoryConsumer[] = [
    { name: 'not RAM to the kernel (firmware, holes, ROM)', kib: memoryMiB * 1024 - systemRamKiB, source: '-m minus the System RAM ranges of /proc/iomem' },
    { name: 'kernel image (code, rodata, data, bss)', kib: image, source: '/proc/iomem Kernel code/rodata/data/bss' },
    { name: 'early reservations (first MiB, struct pages, boot page tables, ...)', kib: Math.max(0, systemRamKiB - total - image), source: 'System RAM minus MemTotal minus the kernel image' },
    { name: 'slab (kernel objects)', kib: slab, source: '/proc/meminfo Slab' },
    { name: 'per-CPU areas', kib: mi('Percpu'), source: '/proc/meminfo Percpu' },
    { name: 'kernel stacks', kib: mi('KernelStack'), source: '/proc/meminfo KernelStack' },
    { name: 'page tables', kib: mi('PageTables'), source: '/proc/meminfo PageTables' },
    { name: 'page cache (the initramfs files, tmpfs, file data)', kib: mi('Cached') + mi('Buffers'), source: '/proc/meminfo Cached + Buffers' },
    { name: 'init and processes (anonymous memory)', kib: mi('AnonPages'), source: '/proc/meminfo AnonPages' },
    { name: 'other kernel allocations (vmalloc, page allocator)', kib: Math.max(0, total - mi('MemFree') - counted), source: 'MemTotal minus MemFree minus the rows above' },
    { name: 'free', kib: mi('MemFree'), source: '/proc/meminfo MemFree' },
  ];
  return { systemRamKiB, consumers };
}

export interface GuestMemoryOptions {
  readonly memoryMiB: number;
  readonly accel?: Accel;
  readonly timeoutSeconds: number;
  readonly console?: NodeJS.WritableStream;
}

/** Boots until one report arrives whole (QEMU's UART drops characters on a busy host): at most `attempts` boots. */
export async function guestMemory(folder: BuildFolder, opts: GuestMemoryOptions, attempts = 3): Promise<GuestMemoryReport> {
  const quiet = () => new Writable({ write: (_c, _e, cb) => cb() });
  let files: GuestMemoryFiles | undefined;
  let r: Awaited<ReturnType<typeof runImage>> | undefined;
  for (let i = 0; i < attempts; i++) {
    r = await runImage(
      {
        buildDir: folder.dir, memoryMiB: opts.memoryMiB, cpus: 1, hypervisor: defaultHypervisor(folder), accel: opts.accel,
        execute: `--meminfo ${folder.record.appCmdline}`, timeoutSeconds: opts.timeoutSeconds, dryRun: false, verbose: false,
        console: opts.console ?? quiet(),
      },
      { log: quiet() },
    );
    files = parseMemLines(r.console);
    if (!files) break; // no --meminfo in this init: another boot will not help
    if (files.sent === files.received) break;
  }
  if (!files || !files.meminfo.has('MemTotal') || !r) {
    throw new TailorError(`the guest printed no memory report (exit ${r?.exitCode}${r?.timedOut ? ', timed out' : ''})`, { hint: 'rebuild the image (its init may predate --meminfo), and check `tailor run` on it' });
  }
  if (files.sent !== files.received) {
    throw new TailorError(`the memory report lost console lines in ${attempts} boots (got ${files.received} of ${files.sent ?? 'an unknown number of'} lines)`, { hint: 'the host is too busy to drain the guest console: run again on a quieter host' });
  }
  const { systemRamKiB, consumers } = memoryConsumers(files, opts.memoryMiB);
  return {
    build: folder.record.name,
    memoryMiB: opts.memoryMiB,
    accel: r.accel,
    systemRamKiB,
    consumers,
    method: 'one boot; the init prints /proc/meminfo and /proc/iomem just before the application starts (--meminfo)',
  };
}

export function formatGuestMemory(r: GuestMemoryReport): string {
  const width = Math.max(...r.consumers.map((c) => c.name.length));
  const mib = (kib: number) => `${(kib / 1024).toFixed(2).padStart(7)} MiB`;
  const lines = [
    `memory at app start: ${r.build}, -m ${r.memoryMiB} MiB (${r.accel}); the kernel saw ${mib(r.systemRamKiB).trim()} of RAM`,
    ...r.consumers.map((c) => `  ${c.name.padEnd(width)}  ${mib(c.kib)}  ${(100 * c.kib / (r.memoryMiB * 1024)).toFixed(1).padStart(5)}%   ${c.source}`),
    `(${r.method})`,
  ];
  return lines.join('\n') + '\n';
}
