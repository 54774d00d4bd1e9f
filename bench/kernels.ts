/**
 * Kernel benchmark: native-example on Debian's stock kernel vs the custom
 * kernel of each built-in profile, in one run. Per variant: kernel size
 * (bzImage, vmlinux), image size (initramfs or root disk), guest time to
 * application start (median and min of N boots, CLOCK_BOOTTIME in the
 * init's marker) and minimum memory (the smallest -m in MiB at which the app
 * still prints its line and exits 0, found by bisection). Ratios against stock.
 *
 *   npm run bench:kernels -- [-n 5] [--profiles minimal,serverless] [--json] [--accel tcg] [--no-memory]
 *
 * Custom kernels come from the kernel cache, so the first run compiles them (minutes each).
 */
import { Command } from 'commander';
import { mkdirSync } from 'node:fs';
import { Writable } from 'node:stream';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { resolveConfig } from '../src/config/index.ts';
import { buildImage } from '../src/image/index.ts';
import { loadBuildFolder } from '../src/run/build-folder.ts';
import { parseAccel, parsePositiveInt } from '../src/run/run-args.ts';
import { bootQemu, defaultHypervisor, runImage } from '../src/run/runner.ts';
import { buildQemuCommand } from '../src/run/qemu.ts';
import type { Accel } from '../src/run/types.ts';
import { formatTable } from '../src/cli/table.ts';
import { cacheDir } from '../src/util/paths.ts';

export interface VariantResult {
  readonly variant: string;
  readonly args: readonly string[];
  readonly error?: string;
  readonly kernel?: { readonly flavour: string; readonly bzImage: number; readonly vmlinux?: number; readonly modules: number };
  readonly imageBytes?: number;
  /** bzImage + image (initramfs/root disk): what a deployment carries. */
  readonly totalBytes?: number;
  readonly hypervisor?: string;
  readonly accel?: string;
  readonly guestToAppMs?: { readonly median: number; readonly min: number; readonly runs: number[] };
  readonly hostToAppMs?: { readonly median: number; readonly min: number };
  readonly minMemoryMiB?: number;
}

const sink = () => new Writable({ write: (_c, _e, cb) => cb() });

export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

const appLine = /Hello from Tailor's native-example/;

export async function bootOnce(dir: string, memoryMiB: number, accel: Accel | undefined, timeoutSeconds: number) {
  const build = loadBuildFolder(dir);
  try {
    const r = await runImage(
      { buildDir: dir, memoryMiB, cpus: 1, hypervisor: defaultHypervisor(build), accel, timeoutSeconds, dryRun: false, verbose: false, console: sink() },
      { log: sink() },
    );
    return { ok: r.exitCode === 0 && !r.timedOut && appLine.test(r.console), result: r, hypervisor: defaultHypervisor(build) };
  } catch (e) {
    return { ok: false, error: e instanceof Error ? e.message : String(e), hypervisor: defaultHypervisor(build) };
  }
}

/**
 * One boot at `memoryMiB`, below the 16 MiB floor `tailor run` enforces:
 * the same QEMU command the runner builds, with only -m changed.
 */
async function bootAtMemory(dir: string, memoryMiB: number, accel: Accel, timeoutSeconds: number): Promise<boolean> {
  const build = loadBuildFolder(dir);
  const cmd = buildQemuCommand(build.dir, build.record, { hypervisor: defaultHypervisor(build), memoryMiB: 16, cpus: 1, accel });
  const i = cmd.args.indexOf('-m');
  const args = [...cmd.args];
  args[i + 1] = `${memoryMiB}M`;
  const o = await bootQemu({ ...cmd, args }, { console: null, timeoutMs: timeoutSeconds * 1000 });
  return o.exitStatus === 0 && !o.timedOut && appLine.test(o.console);
}

/** Smallest memory (MiB) in (lo, hi] at which the app still runs; hi must work. */
export async function minMemory(dir: string, hi: number, accel: Accel, timeoutSeconds: number, log: (s: string) => void): Promise<number> {
  let lo = 1;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    const ok = await bootAtMemory(dir, mid, accel, Math.min(timeoutSeconds, 30)); // too little memory panics or stalls: do not wait long
    log(`    -m ${mid}: ${ok ? 'runs' : 'fails'}`);
    if (ok) hi = mid;
    else lo = mid;
  }
  return hi;
}

async function benchVariant(variant: string, args: string[], o: { n: number; accel?: Accel; memory: boolean; timeout: number; outDir: string; log: (s: string) => void }): Promise<VariantResult> {
  const { log } = o;
  let sizes: Pick<VariantResult, 'kernel' | 'imageBytes' | 'totalBytes'> = {};
  try {
    log(`${variant}: building (${args.join(' ')})`);
    const config = resolveConfig([...args, 'image=native-example', `name=bench-${variant}`], { cwd: o.outDir });
    const { dir, record } = await buildImage(config, (m) => log(`  ${m}`));
    const imageBytes = (record.initrd?.bytes ?? 0) + (record.rootDisk?.bytes ?? 0);
    const kernel = {
      flavour: record.kernel.flavour,
      bzImage: record.kernel.bzImage.bytes,
      ...(record.kernel.vmlinux ? { vmlinux: record.kernel.vmlinux.bytes } : {}),
      modules: (record as unknown as { kernel: { modules?: unknown[] } }).kernel.modules?.length ?? 0,
    };
    sizes = { kernel, imageBytes, totalBytes: kernel.bzImage + imageBytes };
    const runs: number[] = [];
    const hostRuns: number[] = [];
    let hypervisor = '';
    let accel = '';
    for (let i = 0; i < o.n; i++) {
      const b = await bootOnce(dir, 256, o.accel, o.timeout);
      hypervisor = b.hypervisor;
      if (!b.ok || !b.result || b.result.guestToAppMs === undefined) {
        throw new Error(`boot ${i + 1} at -m 256 failed: ${b.error ?? (b.result ? `exit ${b.result.exitCode}${b.result.timedOut ? ', timed out' : ''}; last console: ${b.result.console.trim().split('\n').slice(-3).join(' | ')}` : 'no result')}`);
      }
      accel = b.result.accel;
      runs.push(Math.round(b.result.guestToAppMs));
      if (b.result.hostToAppMs !== undefined) hostRuns.push(Math.round(b.result.hostToAppMs));
      log(`  boot ${i + 1}/${o.n}: ${Math.round(b.result.guestToAppMs)} ms guest to app`);
    }
    const minMem = o.memory ? await minMemory(dir, 256, accel as Accel, o.timeout, log) : undefined;
    return {
      variant, args, kernel, imageBytes, totalBytes: kernel.bzImage + imageBytes, hypervisor, accel,
      guestToAppMs: { median: median(runs), min: Math.min(...runs), runs },
      ...(hostRuns.length ? { hostToAppMs: { median: median(hostRuns), min: Math.min(...hostRuns) } } : {}),
      ...(minMem !== undefined ? { minMemoryMiB: minMem } : {}),
    };
  } catch (e) {
    const error = e instanceof Error ? e.message.split('\n').slice(0, 3).join(' ') : String(e);
    log(`${variant}: FAILED: ${error}`);
    return { variant, args, ...sizes, error };
  }
}

const kb = (n?: number) => (n === undefined ? '-' : n >= 1e6 ? `${(n / 1e6).toFixed(2)} MB` : `${Math.round(n / 1e3)} KB`);
const ratio = (x?: number, base?: number) => (x === undefined || !base ? '' : ` (${(x / base).toFixed(2)}x)`);

export function formatResults(results: readonly VariantResult[]): string {
  const stock = results.find((r) => r.variant === 'stock');
  const rows = results.map((r) =>
    r.error && !r.kernel
      ? [r.variant, 'failed: ' + r.error.slice(0, 80), '', '', '', '', '']
      : [
          r.variant,
          kb(r.kernel?.bzImage) + (r.kernel?.modules ? ` +${r.kernel.modules} .ko` : ''),
          kb(r.kernel?.vmlinux),
          kb(r.imageBytes),
          kb(r.totalBytes) + ratio(r.totalBytes, stock?.totalBytes),
          r.guestToAppMs ? `${r.guestToAppMs.median} ms${ratio(r.guestToAppMs.median, stock?.guestToAppMs?.median)} [min ${r.guestToAppMs.min}]` : r.error ? `boot failed: ${r.error.slice(0, 60)}` : '-',
          r.minMemoryMiB !== undefined ? `${r.minMemoryMiB} MiB${ratio(r.minMemoryMiB, stock?.minMemoryMiB)}` : '-',
        ],
  );
  const how = results.find((r) => r.accel);
  return (
    formatTable(['kernel', 'bzImage', 'vmlinux', 'image', 'bzImage+image', 'guest time to app (median)', 'min memory'], rows) +
    `\nnative-example, 1 vCPU, ${how ? `${how.hypervisor}, accel=${how.accel}` : ''}; guest time = CLOCK_BOOTTIME at the init's app-start marker;` +
    ` min memory = smallest -m (MiB) at which the app prints its line and exits 0 (bisection); ratios against stock.\n`
  );
}

async function main(): Promise<void> {
  const program = new Command('bench:kernels')
    .option('-n <count>', 'boots per variant for the time median', '5')
    .option('--profiles <list>', 'custom-kernel profiles to compare with stock', 'minimal,serverless,webserver,database,java,development')
    .option('--no-stock', 'leave out the stock kernel')
    .option('--no-memory', 'skip the minimum-memory bisection')
    .option('--accel <kvm|tcg>', 'force an accelerator')
    .option('--timeout <seconds>', 'per boot', '90')
    .option('--json', 'machine-readable result on stdout')
    .parse();
  const f = program.opts<{ n: string; profiles: string; stock: boolean; memory: boolean; accel?: string; timeout: string; json?: boolean }>();
  const outDir = cacheDir('bench', 'kernels');
  mkdirSync(outDir, { recursive: true });
  const log = (s: string) => process.stderr.write(`${s}\n`);
  const opts = {
    n: parsePositiveInt('-n', f.n),
    ...(f.accel ? { accel: parseAccel(f.accel) } : {}),
    memory: f.memory,
    timeout: parsePositiveInt('--timeout', f.timeout),
    outDir,
    log,
  };
  const variants: [string, string[]][] = [
    ...(f.stock ? [['stock', ['kernel=stock']] as [string, string[]]] : []),
    ...f.profiles.split(',').filter(Boolean).map((p) => [p, [`--profile=${p}`, 'kernel=custom']] as [string, string[]]),
  ];
  const results: VariantResult[] = [];
  for (const [name, args] of variants) results.push(await benchVariant(name, args, opts));
  if (f.json) process.stdout.write(JSON.stringify({ results, builds: join(outDir, 'build') }, null, 2) + '\n');
  else process.stdout.write(formatResults(results));
  if (results.some((r) => r.error)) process.exitCode = 1;
}

// Run only as a script: bench/filesystems.ts imports the measuring functions above.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
