/**
 * Kernel benchmark: native-example on Debian's stock kernel vs the custom
 * kernel of each built-in profile, in one run. Per variant: kernel size
 * (bzImage, vmlinux), image size (initramfs or root disk), guest time to
 * application start (median and min of N boots, CLOCK_BOOTTIME in the
 * init's marker) and minimum memory (the smallest -m in MiB at which the app
 * still prints its line and exits 0, found by bisection). Ratios against stock.
 *
 *   npm run bench:kernels -- [-n 5] [--profiles minimal,serverless] [--arch aarch64] [--json] [--accel tcg] [--no-memory]
 *
 * --arch aarch64 compares Debian's arm64 kernel with the tailored arm64 kernels (qemu-system-aarch64 -M virt).
 *
 * A profile may carry build options after a colon: `minimal:kernel_patches=` is
 * the minimal profile without its compact-layout kernel patch (the 2 MiB layout).
 *
 * Custom kernels come from the kernel cache, so the first run compiles them (minutes each).
 */
import { Command } from 'commander';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { resolveConfig } from '../src/config/index.ts';
import { targetArch } from '../src/config/arch.ts';
import { buildImage } from '../src/image/index.ts';
import { addMeasureOptions, measureOptions, runBenchScript, type MeasureOptionSpec } from '../src/analyze/bench-script.ts';
import { measureBoots, type TimeStats } from '../src/analyze/measure.ts';
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
  readonly guestToAppMs?: TimeStats;
  readonly hostToAppMs?: TimeStats;
  readonly minMemoryMiB?: number;
}

/** The line native-example prints: a boot counts only when the app ran. */
export const appLine = /Hello from Tailor's native-example/;

async function benchVariant(variant: string, args: string[], o: { n: number; accel?: Accel; memory: boolean; timeout: number; outDir: string; arch: string; log: (s: string) => void }): Promise<VariantResult> {
  const { log } = o;
  let sizes: Pick<VariantResult, 'kernel' | 'imageBytes' | 'totalBytes'> = {};
  try {
    log(`${variant}: building (${args.join(' ')})`);
    const config = resolveConfig([...args, 'image=native-example', `name=bench-${o.arch}-${variant.replace(/[^A-Za-z0-9_.+-]+/g, '-')}`, `arch=${o.arch}`], { cwd: o.outDir });
    const { dir, record } = await buildImage(config, (m) => log(`  ${m}`));
    const imageBytes = (record.initrd?.bytes ?? 0) + (record.rootDisk?.bytes ?? 0);
    const kernel = {
      flavour: record.kernel.flavour,
      bzImage: record.kernel.bzImage.bytes,
      ...(record.kernel.vmlinux ? { vmlinux: record.kernel.vmlinux.bytes } : {}),
      modules: (record as unknown as { kernel: { modules?: unknown[] } }).kernel.modules?.length ?? 0,
    };
    sizes = { kernel, imageBytes, totalBytes: kernel.bzImage + imageBytes };
    const m = await measureBoots(dir, { n: o.n, memoryMiB: 256, ...(o.accel ? { accel: o.accel } : {}), timeout: o.timeout, memory: o.memory, log, expect: appLine });
    return {
      variant, args, kernel, imageBytes, totalBytes: kernel.bzImage + imageBytes, hypervisor: m.hypervisor, accel: m.accel,
      guestToAppMs: m.guestToAppMs,
      ...(m.hostToAppMs ? { hostToAppMs: m.hostToAppMs } : {}),
      ...(m.minMemoryMiB !== undefined ? { minMemoryMiB: m.minMemoryMiB } : {}),
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

const spec: MeasureOptionSpec = { boots: { default: 5, per: 'variant' }, timeout: 90, memoryBisection: true };

async function main(): Promise<void> {
  const program = addMeasureOptions(
    new Command('bench:kernels')
      .option('--profiles <list>', 'custom-kernel profiles to compare with stock (PROFILE:"k=v k=v" adds build options; default: no profile, the option defaults)', 'minimal:kernel_patches=,minimal,serverless,webserver,database,java,development')
      .option('--no-stock', 'leave out the stock kernel')
      .option('--arch <name>', 'target architecture of every row (arch=, src/config/arch.ts): x64 or aarch64', 'x64'),
    spec,
  ).parse();
  const m = measureOptions(program, spec);
  const f = program.opts<{ profiles: string; stock: boolean; arch: string }>();
  const arch = targetArch(f.arch).name; // a UsageError naming the choices for an unknown one
  const outDir = cacheDir('bench', 'kernels');
  mkdirSync(outDir, { recursive: true });
  const log = (s: string) => process.stderr.write(`${s}\n`);
  const opts = { n: m.n, ...(m.accel ? { accel: m.accel } : {}), memory: m.memory, timeout: m.timeout, outDir, arch, log };
  const variants: [string, string[]][] = [
    ...(f.stock ? [['stock', ['kernel=stock']] as [string, string[]]] : []),
    ...f.profiles.split(/,(?=[A-Za-z][\w-]*(?::|,|$))/).filter(Boolean).map((spec) => {
      const [p, ...extra] = spec.split(':');
      const options = extra.join(':').split(' ').filter(Boolean);
      // `default`: the custom kernel of the option defaults, without a configuration profile.
      return [spec, [...(p === 'default' ? [] : [`--profile=${p}`]), 'kernel=custom', ...options]] as [string, string[]];
    }),
  ];
  const results: VariantResult[] = [];
  for (const [name, args] of variants) results.push(await benchVariant(name, args, opts));
  if (m.json) process.stdout.write(JSON.stringify({ results, builds: join(outDir, 'build') }, null, 2) + '\n');
  else process.stdout.write(`arch=${arch}\n${formatResults(results)}`);
  if (results.some((r) => r.error)) process.exitCode = 1;
}

await runBenchScript(import.meta.url, main);
