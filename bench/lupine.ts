/**
 * The Lupine table: per application (bench/lupine-apps.ts), Debian's stock
 * kernel against the application's tailored kernel (kernel=custom with the
 * default configuration, and with the profile that suits it), in one run:
 *   kernel size on disk (bzImage), image size (initramfs or root disk),
 *   boot-to-ready (QEMU spawn → the first correct reply of a host client
 *     through the forwarded port, polled every 100 ms; hello: → its app-start
 *     marker), median of -n boots,
 *   minimum memory (the smallest -m at which it still answers: bisection),
 *   throughput (redis-benchmark SET/GET, wrk for the HTTP servers, a set/get
 *     loop for memcached, pgbench SELECT 1 for postgres),
 * each with its ratio to stock. Lupine's targets: kernel ≤ 25% of stock,
 * boot ≥ 2× faster, memory ≤ 50%, throughput ≥ 0.95×.
 *
 *   npm run bench:lupine -- [--apps redis,postgres] [--variants stock,default,general,suited] [-n 3] [--no-memory]
 *                           [--seconds 5] [--requests 2000] [--json] [--html FILE]
 *
 * Custom kernels come from the kernel cache: the first run compiles one per
 * application and profile. Under TCG absolute times are ~10× KVM's: read
 * the ratios of one run.
 */
import { Command } from 'commander';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveConfig } from '../src/config/index.ts';
import { buildImage } from '../src/image/index.ts';
import { addMeasureOptions, measureOptions, runBenchScript, type MeasureOptionSpec } from '../src/analyze/bench-script.ts';
import { bisectMemory, measureBoots, median } from '../src/analyze/measure.ts';
import { escapeHtml, page } from '../src/analyze/html.ts';
import { loadBuildFolder } from '../src/run/build-folder.ts';
import { chooseAccel } from '../src/run/kvm-probe.ts';
import { buildQemuCommand } from '../src/run/qemu.ts';
import { bootQemu, defaultHypervisor, type BootOutcome } from '../src/run/runner.ts';
import type { Accel } from '../src/run/types.ts';
import { formatTable } from '../src/cli/table.ts';
import { UsageError } from '../src/errors.ts';
import { writeFileAtomic } from '../src/util/atomic.ts';
import { cacheDir } from '../src/util/paths.ts';
import { freePort } from '../src/util/free-port.ts';
import { lupineApps, nodeServerModule, type LoadResult, type LupineApp } from './lupine-apps.ts';

const variants = {
  stock: () => ['kernel=stock'],
  default: () => ['kernel=custom'],
  // one kernel per driver profile with every catalog module's needs (issue 16), shared by all the apps
  general: () => ['kernel=general'],
  suited: (app: LupineApp) => [`--profile=${app.suited}`, 'kernel=custom'],
} as const;
type Variant = keyof typeof variants;

export interface Row {
  readonly app: string;
  readonly variant: Variant;
  readonly args: readonly string[];
  readonly error?: string;
  readonly kernelBytes?: number;
  readonly imageBytes?: number;
  readonly readyMs?: { readonly median: number; readonly runs: readonly number[] };
  readonly minMemoryMiB?: number;
  /** The bisection's final bracket when above 1 MiB (--memory-step): the minimum lies within it. */
  readonly minMemoryStepMiB?: number;
  readonly throughput?: LoadResult;
  readonly accel?: Accel;
  readonly hypervisor?: string;
}

interface Settings {
  readonly n: number;
  readonly accel?: Accel;
  readonly memory: boolean;
  /** The memory bisection stops when its bracket is this narrow (MiB). */
  readonly memoryStep: number;
  readonly timeout: number;
  readonly seconds: number;
  readonly requests: number;
  readonly outDir: string;
  readonly moduleRoot: string;
  readonly log: (s: string) => void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Readiness probes open at once while a boot is awaited (each ends by its own timeout). */
const maxOpenProbes = 60;

/** One boot with the app's port forwarded: time to its first correct reply, then (optionally) the load. */

async function bootToReady(dir: string, app: LupineApp, memoryMiB: number, accel: Accel, deadlineMs: number, then?: (port: number) => Promise<LoadResult>): Promise<{ readyMs?: number; load?: LoadResult; why?: string; hypervisor: string }> {
  const build = loadBuildFolder(dir);
  const port = await freePort();
  const network = { mode: 'user' as const, forwards: [{ host: port, guest: app.port! }] };
  const hypervisor = defaultHypervisor(build, undefined, network);
  const cmd = buildQemuCommand(build.dir, build.record, { hypervisor, accel, memoryMiB: 16, cpus: 1, network });
  const args = [...cmd.args];
  args[args.indexOf('-m') + 1] = `${memoryMiB}M`; // below run's 16 MiB floor too, as measure.ts's bisection does
  const abort = new AbortController();
  let outcome: BootOutcome | undefined;
  const t0 = performance.now();
  const done = bootQemu({ ...cmd, args }, { console: null, timeoutMs: deadlineMs + 600_000, signal: abort.signal }).then((o) => (outcome = o));
  // A probe sent before the guest's network is up is held open by QEMU's user-mode network until it times out
  // (5 s), so probes overlap: a new one every 100 ms, and the first correct reply ends the wait. (Probing one at a
  // time measured that timeout: every server was "ready" after 5.2 s.)
  let readyAt: number | undefined;
  const probes = new Set<Promise<void>>();
  try {
    for (;;) {
      if (readyAt !== undefined) break;
      if (outcome) return { hypervisor, why: `the VM stopped before ${app.name} answered: ${outcome.panic ?? outcome.lastLines.slice(-2).join(' | ')}` };
      if (performance.now() - t0 > deadlineMs) return { hypervisor, why: `${app.name} did not answer within ${deadlineMs / 1000} s` };
      if (probes.size < maxOpenProbes) {
        const probe: Promise<void> = app.ready!(port)
          .then((ok) => {
            if (ok && readyAt === undefined) readyAt = performance.now();
          })
          .finally(() => probes.delete(probe));
        probes.add(probe);
      }
      await sleep(100);
    }
    const readyMs = Math.round(readyAt - t0);
    return { hypervisor, readyMs, ...(then ? { load: await then(port) } : {}) };
  } finally {
    abort.abort();
    await done;
  }
}

async function benchRow(app: LupineApp, variant: Variant, s: Settings): Promise<Row> {
  const args = [...app.args(s.moduleRoot), ...variants[variant](app), `name=lupine-${app.name}-${variant}`];
  const log = (m: string) => s.log(`${app.name}/${variant}: ${m}`);
  let sizes: Pick<Row, 'kernelBytes' | 'imageBytes'> = {};
  try {
    log(`building (${args.join(' ')})`);
    const config = resolveConfig(args, { cwd: s.outDir });
    const { dir, record } = await buildImage(config, (m) => log(m));
    sizes = { kernelBytes: record.kernel.bzImage.bytes, imageBytes: (record.initrd?.bytes ?? 0) + (record.rootDisk?.bytes ?? 0) };
    const { accel } = await chooseAccel(s.accel);
    if (app.port === undefined) {
      // hello: boot-to-ready is QEMU start → its app-start marker; it exits by itself, so the usual boot measure applies.
      const m = await measureBoots(dir, { n: s.n, memoryMiB: app.memoryMiB, accel, timeout: s.timeout, memory: s.memory, log, expect: /Hello from Tailor/ });
      const runs = m.hostToAppMs?.runs ?? [];
      return { app: app.name, variant, args, ...sizes, readyMs: { median: median(runs), runs }, ...(m.minMemoryMiB !== undefined ? { minMemoryMiB: m.minMemoryMiB } : {}), accel, hypervisor: m.hypervisor };
    }
    const runs: number[] = [];
    let throughput: LoadResult | undefined;
    let hypervisor = '';
    for (let i = 0; i < s.n; i++) {
      const last = i === s.n - 1;
      const r = await bootToReady(dir, app, app.memoryMiB, accel, s.timeout * 1000, last && app.load ? (p) => app.load!(p, s) : undefined);
      if (r.readyMs === undefined) throw new Error(`boot ${i + 1} at -m ${app.memoryMiB}: ${r.why}`);
      runs.push(r.readyMs);
      hypervisor = r.hypervisor;
      if (r.load) throughput = r.load;
      log(`boot ${i + 1}/${s.n}: ready after ${r.readyMs} ms${r.load ? `; ${r.load.perSecond.toFixed(0)}/s` : ''}`);
    }
    const minMemoryMiB = s.memory
      ? await bisectMemory(app.memoryMiB, async (mib) => (await bootToReady(dir, app, mib, accel, Math.min(s.timeout, 120) * 1000)).readyMs !== undefined, log, s.memoryStep)
      : undefined;
    return { app: app.name, variant, args, ...sizes, readyMs: { median: median(runs), runs }, ...(minMemoryMiB !== undefined ? { minMemoryMiB, ...(s.memoryStep > 1 ? { minMemoryStepMiB: s.memoryStep } : {}) } : {}), ...(throughput ? { throughput } : {}), accel, hypervisor };
  } catch (e) {
    const error = e instanceof Error ? e.message.split('\n').slice(0, 3).join(' ') : String(e);
    log(`FAILED: ${error}`);
    return { app: app.name, variant, args, ...sizes, error };
  }
}

const mb = (n?: number) => (n === undefined ? '-' : `${(n / 1e6).toFixed(2)} MB`);
const ratio = (x?: number, base?: number) => (x === undefined || !base ? '' : ` (${(x / base).toFixed(2)}x)`);

/** Table rows: one per app and variant, ratios against the same app's stock row. */
export function tableRows(rows: readonly Row[]): string[][] {
  return rows.map((r) => {
    const stock = rows.find((x) => x.app === r.app && x.variant === 'stock');
    if (r.error && r.kernelBytes === undefined) return [r.app, r.variant, `failed: ${r.error.slice(0, 90)}`, '', '', '', ''];
    return [
      r.app,
      r.variant === 'suited' ? `suited (${r.args.find((a) => a.startsWith('--profile='))?.slice(10)})` : r.variant,
      mb(r.kernelBytes) + ratio(r.kernelBytes, stock?.kernelBytes),
      mb(r.imageBytes) + ratio(r.imageBytes, stock?.imageBytes),
      r.readyMs ? `${r.readyMs.median} ms${ratio(r.readyMs.median, stock?.readyMs?.median)}` : r.error ? `failed: ${r.error.slice(0, 60)}` : '-',
      r.minMemoryMiB !== undefined ? `${r.minMemoryStepMiB ? '≤' : ''}${r.minMemoryMiB} MiB${ratio(r.minMemoryMiB, stock?.minMemoryMiB)}` : '-',
      r.throughput ? `${r.throughput.perSecond.toFixed(0)}/s${ratio(r.throughput.perSecond, stock?.throughput?.perSecond)}` : '-',
    ];
  });
}

export const header = ['app', 'kernel', 'kernel (bzImage)', 'image', 'boot-to-ready (median)', 'min memory', 'throughput'];

/** Which QEMU machine ran which rows: network rows boot q35 (virtio-net-pci), hello boots microvm; each row says its own. */
export function machines(rows: readonly Row[]): string {
  const by = new Map<string, Set<string>>();
  for (const r of rows) {
    if (!r.hypervisor || !r.accel) continue;
    const how = `${r.hypervisor} accel=${r.accel}`;
    by.set(how, (by.get(how) ?? new Set()).add(r.app));
  }
  return [...by].map(([how, apps]) => (by.size === 1 ? how : `${how} for ${[...apps].join(', ')}`)).join('; ');
}

function notes(rows: readonly Row[], s: Pick<Settings, 'n' | 'seconds' | 'requests'>): string[] {
  const how = machines(rows);
  // from the rows, not from -n: --from prints rows of runs with other settings
  const boots = [...new Set(rows.flatMap((r) => (r.readyMs ? [r.readyMs.runs.length] : [])))].join(' or ') || String(s.n);
  const loads = [...new Set(rows.flatMap((r) => (r.throughput ? [`${r.app}: ${r.throughput.what}`] : [])))];
  return [
    `1 vCPU${how ? `, ${how}` : ''}; ratios against the same application on Debian's stock kernel, measured in this run.`,
    `boot-to-ready: host wall time from QEMU spawn to the first correct reply through the forwarded port (hello: to its app-start marker), median of ${boots} boot(s).`,
    'min memory: the smallest -m (MiB) at which it still answers (bisection; ≤N: stopped at a bracket of --memory-step MiB, the minimum is above N minus the step). kernel: bzImage bytes (the stock kernel also loads .ko files from the image).',
    ...loads,
    "Lupine's targets: kernel <= 0.25x, boot-to-ready <= 0.5x, min memory <= 0.5x, throughput >= 0.95x.",
  ];
}

function html(rows: readonly Row[], s: Pick<Settings, 'n' | 'seconds' | 'requests'>): string {
  const cells = (r: string[], tag: string) => `<tr>${r.map((c) => `<${tag}>${escapeHtml(c)}</${tag}>`).join('')}</tr>`;
  return page('Tailor: the Lupine table', `<table>${cells(header, 'th')}${tableRows(rows).map((r) => cells(r, 'td')).join('')}</table>${notes(rows, s).map((n) => `<p class="note">${escapeHtml(n)}</p>`).join('')}`);
}

const spec: MeasureOptionSpec = { boots: { default: 3, per: 'application and kernel' }, timeout: 240, timeoutHelp: 'seconds a boot may take to answer', memoryBisection: true };

async function main(): Promise<void> {
  const program = addMeasureOptions(
    new Command('bench:lupine')
      .option('--apps <list>', 'applications', 'hello,redis,nginx,memcached,postgres,node,python3,java')
      .option('--variants <list>', 'kernels per application: stock, default (kernel=custom), general (kernel=general, shared by every app), suited (the profile that suits it)', 'stock,default,suited')
      .option('--seconds <s>', 'load duration (wrk, memcached, pgbench)', '5')
      .option('--requests <n>', 'redis-benchmark -n', '2000')
      .option('--memory-step <MiB>', 'the servers\' memory bisection stops when its bracket is this narrow: min memory is then at most this much above the true minimum (fewer boots)', '1')
      .option('--html <file>', 'also write the table as a page')
      .option('--from <files>', 'measure nothing: print one table from the rows of earlier --json outputs (comma-separated files; each app keeps the ratios of its own run)'),
    spec,
  ).parse();
  const m = measureOptions(program, spec);
  const f = program.opts<{ apps: string; variants: string; seconds: string; requests: string; memoryStep: string; html?: string; from?: string }>();
  const memoryStep = Number(f.memoryStep);
  if (!Number.isInteger(memoryStep) || memoryStep < 1) throw new UsageError(`--memory-step ${f.memoryStep}: not a whole number of MiB >= 1`, 'e.g. --memory-step 8');
  if (f.from) return printTable(savedRows(f.from.split(',').filter(Boolean)), { n: m.n, seconds: Number(f.seconds), requests: Number(f.requests) }, m.json, f.html);
  const scratch = mkdtempSync(join(tmpdir(), 'tailor-lupine-'));
  const outDir = cacheDir('bench', 'lupine');
  mkdirSync(outDir, { recursive: true });
  nodeServerModule(scratch);
  const all = lupineApps(scratch);
  const apps = f.apps.split(',').filter(Boolean).map((name) => {
    const a = all.find((x) => x.name === name);
    if (!a) throw new Error(`--apps: unknown application ${name} (known: ${all.map((x) => x.name).join(', ')})`);
    return a;
  });
  const chosen = f.variants.split(',').filter(Boolean) as Variant[];
  for (const v of chosen) if (!(v in variants)) throw new Error(`--variants: unknown ${v} (${Object.keys(variants).join(', ')})`);
  const s: Settings = {
    n: m.n, ...(m.accel ? { accel: m.accel } : {}), memory: m.memory, memoryStep, timeout: m.timeout,
    seconds: Number(f.seconds), requests: Number(f.requests), outDir, moduleRoot: scratch,
    log: (line) => process.stderr.write(`bench:lupine: ${line}\n`),
  };
  const rows: Row[] = [];
  try {
    for (const app of apps) for (const v of chosen) rows.push(await benchRow(app, v, s));
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  await printTable(rows, s, m.json, f.html, join(outDir, 'build'));
}

async function printTable(rows: readonly Row[], s: Pick<Settings, 'n' | 'seconds' | 'requests'>, json: boolean, htmlFile?: string, builds?: string): Promise<void> {
  if (htmlFile) await writeFileAtomic(htmlFile, html(rows, s));
  if (json) process.stdout.write(JSON.stringify({ rows, notes: notes(rows, s), ...(builds ? { builds } : {}) }, null, 2) + '\n');
  else process.stdout.write(formatTable(header, tableRows(rows)) + '\n' + notes(rows, s).join('\n') + '\n');
  if (rows.some((r) => r.error)) process.exitCode = 1;
}

/** The rows of earlier `--json` runs, in the order given; an application measured twice keeps its last run. */
export function savedRows(files: readonly string[]): Row[] {
  const rows: Row[] = [];
  for (const file of files) {
    let saved: { rows?: unknown };
    try {
      saved = JSON.parse(readFileSync(file, 'utf8')) as { rows?: unknown };
    } catch (e) {
      throw new UsageError(`--from ${file}: ${(e as Error).message}`, 'give the files that `npm run bench:lupine -- --json > FILE` wrote');
    }
    if (!Array.isArray(saved.rows)) throw new UsageError(`--from ${file}: no "rows" array`, 'give the files that `npm run bench:lupine -- --json > FILE` wrote');
    const fresh = saved.rows as Row[];
    const apps = new Set(fresh.map((r) => r.app));
    rows.splice(0, rows.length, ...rows.filter((r) => !apps.has(r.app)), ...fresh);
  }
  return rows;
}

await runBenchScript(import.meta.url, main);
