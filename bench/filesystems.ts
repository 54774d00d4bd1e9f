/**
 * Root-filesystem benchmark: native-example with each root filesystem, same
 * kernel (Debian's stock unless --kernel custom), in one run. Per row: image
 * size on disk (stat: st_size and allocated blocks, initramfs + root disk),
 * guest time to application start (median and min of N boots,
 * CLOCK_BOOTTIME in the init's marker) and minimum memory (bisection, the
 * same measuring code as bench/kernels.ts).
 *
 *   npm run bench:filesystems -- [-n 5] [--fs ramfs,rofs,ext4,btrfs,virtiofs,9p] [--json] [--no-memory] [--kernel stock|custom]
 *
 * virtiofs / 9p: the fs=virtiofs image (initramfs with the share modules),
 * booted with a host share mounted at /share before the app starts, over
 * virtiofs (virtiofsd) or virtio-9p; the app itself stays in the initramfs.
 * Their memory bisection is skipped (the share is a run option).
 */
import { Command } from 'commander';
import { mkdirSync, mkdtempSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { resolveConfig } from '../src/config/index.ts';
import { buildImage } from '../src/image/index.ts';
import type { BuildRecord } from '../src/image/types.ts';
import { addMeasureOptions, measureOptions, runBenchScript, type MeasureOptionSpec } from '../src/analyze/bench-script.ts';
import { measureBoots, type RunExtras, type TimeStats } from '../src/analyze/measure.ts';
import type { Accel } from '../src/run/types.ts';
import { formatTable } from '../src/cli/table.ts';
import { cacheDir } from '../src/util/paths.ts';
import { appLine } from './kernels.ts';

export interface FsResult {
  readonly fs: string;
  readonly error?: string;
  /** Files the VM boots from besides the kernel: initramfs (stub or root) and root disk. */
  readonly files?: readonly { readonly file: string; readonly bytes: number; readonly allocatedBytes: number }[];
  readonly imageBytes?: number;
  readonly allocatedBytes?: number;
  readonly hypervisor?: string;
  readonly accel?: string;
  readonly guestToAppMs?: TimeStats;
  /** Host wall time from QEMU spawn to the app-start line (includes QEMU start-up and firmware). */
  readonly hostToAppMs?: TimeStats;
  readonly minMemoryMiB?: number;
}

/** st_size and allocated bytes (st_blocks × 512: ext4/btrfs disks are sparse) of the image files. */
function imageFiles(dir: string, record: BuildRecord): NonNullable<FsResult['files']> {
  return [record.initrd, record.rootDisk]
    .filter((a) => a !== undefined)
    .map((a) => {
      const st = statSync(join(dir, a.file));
      return { file: a.file, bytes: st.size, allocatedBytes: st.blocks * 512 };
    });
}

/** The virtiofs / 9p rows: the app runs with a host share mounted at /share before it starts. */
const withShare = (shareDir: string, transport: 'virtiofs' | '9p'): RunExtras => ({
  storage: { shares: [{ hostDir: shareDir, tag: 'bench', guestPath: '/share' }], shareTransport: transport },
  execute: '/hello',
});

async function benchFs(
  fs: string,
  o: { n: number; accel?: Accel; memory: boolean; timeout: number; outDir: string; kernel: string; shareDir: string; log: (s: string) => void },
): Promise<FsResult> {
  const { log } = o;
  try {
    log(`${fs}: building`);
    const share = fs === 'virtiofs' || fs === '9p' ? fs : undefined;
    const buildFs = share ? 'virtiofs' : fs;
    const config = resolveConfig(['image=native-example', `fs=${buildFs}`, `kernel=${o.kernel}`, `name=bench-fs-${buildFs}`], { cwd: o.outDir });
    const { dir, record } = await buildImage(config, (m) => log(`  ${m}`));
    const files = imageFiles(dir, record);
    const m = await measureBoots(dir, {
      n: o.n, memoryMiB: 256, ...(o.accel ? { accel: o.accel } : {}), timeout: o.timeout, memory: o.memory && !share, log, expect: appLine,
      ...(share ? { extras: withShare(o.shareDir, share) } : {}),
    });
    return {
      fs,
      files,
      imageBytes: files.reduce((s, f) => s + f.bytes, 0),
      allocatedBytes: files.reduce((s, f) => s + f.allocatedBytes, 0),
      hypervisor: m.hypervisor,
      accel: m.accel,
      guestToAppMs: m.guestToAppMs,
      ...(m.hostToAppMs ? { hostToAppMs: m.hostToAppMs } : {}),
      ...(m.minMemoryMiB !== undefined ? { minMemoryMiB: m.minMemoryMiB } : {}),
    };
  } catch (e) {
    const error = e instanceof Error ? e.message.split('\n').slice(0, 3).join(' ') : String(e);
    log(`${fs}: FAILED: ${error}`);
    return { fs, error };
  }
}

const kb = (n?: number) => (n === undefined ? '-' : n >= 1e6 ? `${(n / 1e6).toFixed(2)} MB` : `${Math.round(n / 1e3)} KB`);

export function formatFsResults(results: readonly FsResult[], kernel: string): string {
  const base = results.find((r) => r.fs === 'ramfs' && !r.error);
  const ratio = (x?: number, b?: number) => (x === undefined || !b ? '' : ` (${(x / b).toFixed(2)}x)`);
  const rows = results.map((r) =>
    r.error
      ? [r.fs, `failed: ${r.error.slice(0, 80)}`, '', '', '', '', '']
      : [
          r.fs,
          (r.files ?? []).map((f) => `${f.file} ${kb(f.bytes)}`).join(' + '),
          kb(r.allocatedBytes),
          r.hypervisor ?? '',
          r.guestToAppMs ? `${r.guestToAppMs.median} ms${ratio(r.guestToAppMs.median, base?.guestToAppMs?.median)} [min ${r.guestToAppMs.min}]` : '-',
          r.hostToAppMs ? `${r.hostToAppMs.median} ms [min ${r.hostToAppMs.min}]` : '-',
          r.minMemoryMiB !== undefined ? `${r.minMemoryMiB} MiB` : '-',
        ],
  );
  const how = results.find((r) => r.accel);
  return (
    formatTable(['fs', 'image files (stat size)', 'allocated', 'machine', 'guest time to app (median)', 'host wall to app', 'min memory'], rows) +
    `\nnative-example, ${kernel} kernel, 1 vCPU, accel=${how?.accel ?? '?'}; guest time = CLOCK_BOOTTIME at the init's app-start marker;` +
    ` min memory = smallest -m (MiB) at which the app prints its line and exits 0 (bisection); ratios against ramfs.\n` +
    (kernel === 'stock'
      ? 'stock kernel: disk roots boot a stub initramfs (modules) that mounts the disk and switches to it; microvm gets ACPI for its virtio-mmio devices.\n'
      : '')
  );
}

const spec: MeasureOptionSpec = { boots: { default: 5, per: 'filesystem' }, timeout: 90, memoryBisection: true };

async function main(): Promise<void> {
  const program = addMeasureOptions(
    new Command('bench:filesystems')
      .option('--fs <list>', 'root filesystems to compare (9p: the virtiofs image with a virtio-9p share)', 'ramfs,rofs,ext4,btrfs,virtiofs,9p')
      .option('--kernel <stock|custom>', 'kernel flavour (custom: built or taken from the kernel cache)', 'stock'),
    spec,
  ).parse();
  const m = measureOptions(program, spec);
  const f = program.opts<{ fs: string; kernel: string }>();
  const outDir = cacheDir('bench', 'filesystems');
  mkdirSync(outDir, { recursive: true });
  const log = (s: string) => process.stderr.write(`${s}\n`);
  const opts = {
    n: m.n,
    ...(m.accel ? { accel: m.accel } : {}),
    memory: m.memory,
    timeout: m.timeout,
    outDir,
    kernel: f.kernel,
    shareDir: mkdtempSync(join(tmpdir(), 'tailor-bench-share-')),
    log,
  };
  const results: FsResult[] = [];
  for (const fs of f.fs.split(',').filter(Boolean)) results.push(await benchFs(fs, opts));
  if (m.json) process.stdout.write(JSON.stringify({ kernel: f.kernel, results, builds: join(outDir, 'build') }, null, 2) + '\n');
  else process.stdout.write(formatFsResults(results, f.kernel));
  if (results.some((r) => r.error)) process.exitCode = 1;
}

await runBenchScript(import.meta.url, main);
