/**
 * Density: N VMs booted at once, the tailored image (minimal profile, custom
 * kernel) and the same N on Debian's stock kernel, in the same run. Per N and
 * kernel: host wall time until every app started (the last app-start
 * marker, all QEMUs spawned together), host memory per VM (PSS of each QEMU
 * process from /proc/PID/smaps_rollup, sampled once all apps run), and how
 * many such VMs fit in a fixed host memory; ratios to stock.
 *
 * The image is the cli module (busybox) running `/bin/sleep`, so each VM
 * stays up until it is measured; then all are stopped. N is bounded: at most
 * 10 under TCG (every guest is emulated on the host's cores), 50 under KVM.
 *
 *   npm run bench:density -- [--counts 1,10] [--host-memory 4096] [-m 128M] [--accel tcg] [--timeout 600] [--json]
 */
import { Command } from 'commander';
import { Writable } from 'node:stream';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { resolveConfig } from '../src/config/index.ts';
import { buildImage } from '../src/image/index.ts';
import { addMeasureOptions, measureOptions, runBenchScript, type MeasureOptionSpec } from '../src/analyze/bench-script.ts';
import { median } from '../src/analyze/measure.ts';
import { chooseAccel } from '../src/run/kvm-probe.ts';
import { buildQemuCommand } from '../src/run/qemu.ts';
import { bootQemu, defaultHypervisor } from '../src/run/runner.ts';
import { ConsoleScanner } from '../src/run/console-markers.ts';
import type { BuildFolder } from '../src/run/build-folder.ts';
import type { Accel } from '../src/run/types.ts';
import { formatTable } from '../src/cli/table.ts';
import { cacheDir } from '../src/util/paths.ts';
import { UsageError } from '../src/errors.ts';

const spec: MeasureOptionSpec = { timeout: 600, timeoutHelp: 'per batch of N VMs', memsize: '128' };
export const maxVms: Readonly<Record<Accel, number>> = { tcg: 10, kvm: 50 };

const variants = [
  { variant: 'stock', args: ['kernel=stock'] },
  { variant: 'tailored', args: ['--profile=minimal'] },
] as const;

export interface BatchResult {
  readonly variant: string;
  readonly n: number;
  readonly started: number;
  /** Host wall ms from spawning all QEMUs to the last app-start marker. */
  readonly allStartedMs?: number;
  /** Median PSS of one QEMU process, MiB. */
  readonly pssMiB?: number;
  /** floor(host memory / PSS per VM). */
  readonly fit?: number;
  readonly error?: string;
}

/** PSS of a process in KiB (/proc/PID/smaps_rollup), undefined when it is gone. */
export function pssKiB(pid: number): number | undefined {
  try {
    const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** The pid of the process whose command line contains `marker` (the QEMU -name we gave it). */
function pidOf(marker: string): number | undefined {
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0').includes(marker)) return Number(d);
    } catch {
      /* gone */
    }
  }
  return undefined;
}

async function batch(build: BuildFolder, variant: string, n: number, o: { accel: Accel; memoryMiB: number; timeout: number; hostMemoryMiB: number; log: (s: string) => void }): Promise<BatchResult> {
  const hypervisor = defaultHypervisor(build);
  const base = buildQemuCommand(build.dir, build.record, { hypervisor, accel: o.accel, memoryMiB: o.memoryMiB, cpus: 1, execute: '/bin/sleep 3600' });
  const abort = new AbortController();
  const names = Array.from({ length: n }, (_, i) => `tailor-density-${process.pid}-${variant}-${i}`);
  let started = 0;
  let resolveAll: () => void = () => undefined;
  const allStarted = new Promise<void>((r) => (resolveAll = r));
  const t0 = performance.now();
  let lastStart = 0;
  // one console scanner per VM: a marker split across two reads of one QEMU's output is still seen
  const sinkFor = (): Writable => {
    const scanner = new ConsoleScanner((e) => {
      if (e.kind !== 'app-start') return;
      started++;
      lastStart = performance.now() - t0;
      if (started === n) resolveAll();
    });
    return new Writable({ write: (chunk: Buffer, _e, cb) => { scanner.push(chunk.toString()); cb(); } });
  };
  const boots = names.map((name) => bootQemu({ ...base, args: [...base.args, '-name', name] }, { console: sinkFor(), timeoutMs: o.timeout * 1000, signal: abort.signal }));
  const timer = setTimeout(resolveAll, o.timeout * 1000);
  await allStarted;
  clearTimeout(timer);
  let pss: number[] = [];
  if (started === n) {
    await new Promise((r) => setTimeout(r, 1000)); // let the guests settle after their apps started
    pss = names.map(pidOf).map((pid) => (pid === undefined ? undefined : pssKiB(pid))).filter((v): v is number => v !== undefined);
  }
  abort.abort();
  await Promise.all(boots);
  if (started < n) return { variant, n, started, error: `${started} of ${n} apps started within ${o.timeout} s` };
  const pssMiB = median(pss) / 1024;
  o.log(`${variant} x${n}: all apps started after ${Math.round(lastStart)} ms; PSS per QEMU ${pssMiB.toFixed(1)} MiB`);
  return { variant, n, started, allStartedMs: lastStart, pssMiB, fit: Math.floor(o.hostMemoryMiB / pssMiB) };
}

async function main(): Promise<void> {
  const program = addMeasureOptions(
    new Command('bench:density')
      .option('--counts <list>', 'VMs booted at once, comma-separated', '1,10')
      .option('--host-memory <MiB>', 'the fixed host memory the "fit" column divides', '4096'),
    spec,
  ).parse();
  const m = measureOptions(program, spec);
  const flags = program.opts<{ counts: string; hostMemory: string }>();
  const counts = flags.counts.split(',').map((c) => Number(c.trim()));
  const hostMemoryMiB = Number(flags.hostMemory);
  if (!Number.isInteger(hostMemoryMiB) || hostMemoryMiB < 64) throw new UsageError(`--host-memory ${flags.hostMemory} is not a number of MiB (>= 64)`, 'e.g. --host-memory 4096');
  const choice = await chooseAccel(m.accel);
  if (choice.notice) process.stderr.write(`${choice.notice}\n`);
  const cap = maxVms[choice.accel];
  for (const c of counts) {
    if (!Number.isInteger(c) || c < 1 || c > cap) {
      throw new UsageError(`--counts: ${c} is not 1..${cap} (the cap under ${choice.accel}: every VM is ${choice.accel === 'tcg' ? 'emulated on the host\'s cores' : 'a QEMU process'})`, `e.g. --counts 1,${cap}`);
    }
  }
  // bootQemu adds one process 'exit' listener per running QEMU (it kills QEMU if tailor dies)
  process.setMaxListeners(cap + 10);
  const log = (s: string) => process.stderr.write(`${s}\n`);
  const outDir = cacheDir('bench-density');
  mkdirSync(outDir, { recursive: true });
  const builds = new Map<string, BuildFolder>();
  for (const v of variants) {
    log(`${v.variant}: building (${v.args.join(' ')} image=cli)`);
    const config = resolveConfig([...v.args, 'image=cli', `name=density-${v.variant}`], { cwd: outDir });
    builds.set(v.variant, await buildImage(config, (s) => log(`  ${s}`)));
  }
  const results: BatchResult[] = [];
  for (const n of counts) {
    for (const v of variants) {
      results.push(await batch(builds.get(v.variant)!, v.variant, n, { accel: choice.accel, memoryMiB: m.memoryMiB!, timeout: m.timeout, hostMemoryMiB, log }));
    }
  }
  if (m.json) {
    process.stdout.write(JSON.stringify({ accel: choice.accel, memoryMiB: m.memoryMiB, hostMemoryMiB, results }, null, 2) + '\n');
    return;
  }
  const rows = results.map((r) => {
    const stock = results.find((s) => s.variant === 'stock' && s.n === r.n);
    const ratio = (a?: number, b?: number) => (a !== undefined && b ? `${(a / b).toFixed(2)}x` : '-');
    return [
      r.variant, String(r.n),
      r.error ?? (r.allStartedMs === undefined ? '-' : `${Math.round(r.allStartedMs)} ms`),
      r.pssMiB === undefined ? '-' : r.pssMiB.toFixed(1),
      r.fit === undefined ? '-' : String(r.fit),
      ratio(r.allStartedMs, stock?.allStartedMs), ratio(r.pssMiB, stock?.pssMiB), ratio(r.fit, stock?.fit),
    ];
  });
  process.stdout.write(`accel=${choice.accel}, -m ${m.memoryMiB} MiB per VM, fit in ${hostMemoryMiB} MiB of host memory; ratios to stock at the same N\n`);
  process.stdout.write(formatTable(['kernel', 'N', 'all apps started', 'PSS/VM MiB', 'fit', 'time vs stock', 'PSS vs stock', 'fit vs stock'], rows));
}

await runBenchScript(import.meta.url, main);
