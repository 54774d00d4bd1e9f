/**
 * `tailor bench`: the guide's §4.2 table for the user's own image. Each row
 * (a profile or an option set, plus the common build arguments) is built
 * (custom kernels from the cache, else compiled with a progress bar) and
 * measured: size, guest time to app start (median of N boots), host wall
 * time, minimum memory (bisection). Ratios against the first row.
 */
import { resolveConfig } from '../config/index.ts';
import type { BuildRecord } from '../image/types.ts';
import { UsageError } from '../errors.ts';
import { measureBoots, type BootMeasurements } from './measure.ts';

export interface BenchRow {
  /** Row label: the profile name or the option set. */
  readonly label: string;
  /** Build arguments of the row (before the common ones). */
  readonly args: readonly string[];
}

export interface BenchResult {
  readonly label: string;
  readonly args: readonly string[];
  readonly build?: string;
  readonly error?: string;
  readonly kernelFlavour?: string;
  readonly bzImage?: number;
  readonly vmlinux?: number;
  /** initramfs + root disk bytes. */
  readonly imageBytes?: number;
  /** bzImage + image: what a deployment carries. */
  readonly totalBytes?: number;
  readonly buildSeconds?: number;
  readonly boots?: BootMeasurements;
}

/** Rows from --profile a,b,c and --set "k=v k=v" (repeatable); the common args go into every row. */
export function benchRows(profiles: readonly string[], sets: readonly string[]): BenchRow[] {
  const rows: BenchRow[] = [
    ...profiles.map((p) => ({ label: p, args: [`--profile=${p}`] })),
    ...sets.map((s) => ({ label: s.trim(), args: s.trim().split(/\s+/).filter(Boolean) })),
  ];
  if (!rows.length) throw new UsageError('tailor bench needs rows to compare', 'give --profile minimal,serverless,development or --set "k=v ..." (repeatable)');
  const labels = new Set<string>();
  for (const r of rows) {
    if (labels.has(r.label)) throw new UsageError(`bench row "${r.label}" is given twice`, 'list each profile or option set once');
    labels.add(r.label);
  }
  return rows;
}

const safeName = (label: string) => `bench-${label.replace(/[^A-Za-z0-9_.-]+/g, '_').slice(0, 60)}`;

export interface BenchOptions {
  readonly common: readonly string[];
  readonly n: number;
  readonly memoryMiB: number;
  readonly accel?: 'kvm' | 'tcg';
  readonly timeout: number;
  readonly memory: boolean;
  readonly cwd: string;
  readonly log: (line: string) => void;
}

export async function benchOne(row: BenchRow, o: BenchOptions, index: number, count: number): Promise<BenchResult> {
  const { buildImage } = await import('../image/index.ts');
  const prefix = `[${index + 1}/${count}] ${row.label}`;
  let partial: Omit<BenchResult, 'label' | 'args'> = {};
  try {
    const common = o.common.some((a) => /^(image|app)=/.test(a)) ? o.common : [...o.common, 'image=native-example'];
    const config = resolveConfig([...row.args, ...common, `name=${safeName(row.label)}`], { cwd: o.cwd });
    o.log(`${prefix}: building (${[...row.args, ...common].join(' ')})`);
    const t0 = Date.now();
    const { dir, record } = await buildImage(config, (m) => o.log(`${prefix}:   ${m}`));
    partial = { ...sizes(record), build: dir, buildSeconds: Math.round((Date.now() - t0) / 100) / 10 };
    o.log(`${prefix}: ${o.n} boot(s)${o.memory ? ' + memory bisection' : ''}`);
    const boots = await measureBoots(dir, {
      n: o.n, memoryMiB: o.memoryMiB, ...(o.accel ? { accel: o.accel } : {}), timeout: o.timeout, memory: o.memory,
      log: (l) => o.log(`${prefix}: ${l.trim()}`),
    });
    return { label: row.label, args: row.args, ...partial, boots };
  } catch (e) {
    const error = e instanceof Error ? e.message.split('\n').slice(0, 3).join(' ') : String(e);
    o.log(`${prefix}: FAILED: ${error}`);
    return { label: row.label, args: row.args, ...partial, error };
  }
}

function sizes(record: BuildRecord): Pick<BenchResult, 'kernelFlavour' | 'bzImage' | 'vmlinux' | 'imageBytes' | 'totalBytes'> {
  const imageBytes = (record.initrd?.bytes ?? 0) + (record.rootDisk?.bytes ?? 0);
  return {
    kernelFlavour: record.kernel.flavour,
    bzImage: record.kernel.bzImage.bytes,
    ...(record.kernel.vmlinux ? { vmlinux: record.kernel.vmlinux.bytes } : {}),
    imageBytes,
    totalBytes: record.kernel.bzImage.bytes + imageBytes,
  };
}

const mb = (n?: number) => (n === undefined ? '-' : n >= 1048576 ? `${(n / 1048576).toFixed(2)} MiB` : `${(n / 1024).toFixed(0)} KiB`);
const ratio = (x?: number, base?: number) => (x === undefined || !base ? '' : ` (${(x / base).toFixed(2)}x)`);

export function benchTableRows(results: readonly BenchResult[]): string[][] {
  const base = results.find((r) => !r.error);
  return results.map((r) => [
    r.label,
    r.kernelFlavour ?? '-',
    mb(r.bzImage),
    mb(r.imageBytes),
    mb(r.totalBytes) + ratio(r.totalBytes, base?.totalBytes),
    r.boots ? `${r.boots.guestToAppMs.median} ms${ratio(r.boots.guestToAppMs.median, base?.boots?.guestToAppMs.median)}` : r.error ? `failed: ${r.error.slice(0, 50)}` : '-',
    r.boots ? `${r.boots.hostTotalMs.median} ms${ratio(r.boots.hostTotalMs.median, base?.boots?.hostTotalMs.median)}` : '-',
    r.boots?.minMemoryMiB !== undefined ? `${r.boots.minMemoryMiB} MiB${ratio(r.boots.minMemoryMiB, base?.boots?.minMemoryMiB)}` : '-',
  ]);
}

export const benchHeader = ['row', 'kernel', 'bzImage', 'image', 'total size', 'guest to app (median)', 'host wall (median)', 'min memory'];

export function benchNote(results: readonly BenchResult[], n: number): string {
  const ok = results.find((r) => r.boots);
  return (
    `1 vCPU${ok?.boots ? `, ${ok.boots.hypervisor}, accel=${ok.boots.accel}` : ''}, ${n} boot(s) per row; guest to app = CLOCK_BOOTTIME at the init's app-start marker; ` +
    'host wall = QEMU start to exit; min memory = smallest -m (MiB) at which the app starts and exits 0 (bisection); sizes from stat; ratios against the first row.'
  );
}
