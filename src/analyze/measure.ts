/**
 * Measuring built images, shared by `tailor bench` and every bench/ script:
 * series of boots (guest time to application start from CLOCK_BOOTTIME in the
 * init's app-start marker, host wall times), their statistics, and the
 * minimum memory by bisection (Lupine's method: shrink until it fails).
 * The options that drive them (-n, --accel, --timeout, --json, ...) are
 * declared once in measure-options.ts.
 */
import { Writable } from 'node:stream';
import { loadBuildFolder } from '../run/build-folder.ts';
import { buildQemuCommand, type QemuCommand } from '../run/qemu.ts';
import { bootQemu, defaultHypervisor, runImage } from '../run/runner.ts';
import type { Accel, RunOptions } from '../run/types.ts';

export const sink = (): Writable => new Writable({ write: (_c, _e, cb) => cb() });

export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** The nearest-rank percentile (p in (0, 100]): a value that was measured, never an interpolation. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) throw new Error('no values');
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length, Math.max(1, Math.ceil((p / 100) * s.length))) - 1]!;
}

export interface TimeStats {
  readonly min: number;
  readonly median: number;
  readonly p99: number;
  readonly max: number;
  readonly runs: readonly number[];
}

export function timeStats(runs: readonly number[]): TimeStats {
  if (runs.length === 0) throw new Error('no values');
  return { min: Math.min(...runs), median: median(runs), p99: percentile(runs, 99), max: Math.max(...runs), runs: [...runs] };
}

/** One boot that reached the app-start marker and ended as expected. */
export interface BootSample {
  /** Guest CLOCK_BOOTTIME at the app-start marker, ms. */
  readonly guestToAppMs: number;
  /** Host wall time from QEMU spawn to the app-start marker line, ms. */
  readonly hostToAppMs?: number;
  /** Host wall time from QEMU spawn to QEMU exit, ms. */
  readonly hostTotalMs: number;
  readonly accel: Accel;
  readonly hypervisor: string;
}

/** Boots once; throws an Error saying why when the boot failed. */
export type BootFn = () => Promise<BootSample>;

export interface BootSeries {
  readonly samples: readonly BootSample[];
  /** Failed boots (1-based number and why); empty unless `keepGoing`. */
  readonly failures: readonly { readonly boot: number; readonly error: string }[];
}

/** `n` boots through `boot`, one progress line each; the first failure throws unless `keepGoing`. */
export async function bootSeries(n: number, boot: BootFn, o: { log: (s: string) => void; keepGoing?: boolean }): Promise<BootSeries> {
  const samples: BootSample[] = [];
  const failures: { boot: number; error: string }[] = [];
  for (let i = 1; i <= n; i++) {
    let s: BootSample;
    try {
      s = await boot();
    } catch (e) {
      const error = e instanceof Error ? e.message : String(e);
      if (!o.keepGoing) throw new Error(`boot ${i}/${n} failed: ${error}`);
      failures.push({ boot: i, error });
      o.log(`  boot ${i}/${n}: FAILED: ${error.split('\n')[0]}`);
      continue;
    }
    samples.push(s);
    o.log(
      `  boot ${i}/${n}: guest ${Math.round(s.guestToAppMs)} ms` +
        `${s.hostToAppMs === undefined ? '' : `, host to app ${Math.round(s.hostToAppMs)} ms`}, host to exit ${Math.round(s.hostTotalMs)} ms`,
    );
  }
  return { samples, failures };
}

const lastConsole = (text: string): string => text.trim().split('\n').slice(-3).join(' | ');

/** What a boot through `tailor run` may add: a share, another command line (the filesystem bench's virtiofs rows). */
export type RunExtras = Pick<RunOptions, 'storage' | 'execute'>;

/**
 * A boot through `tailor run`'s own path (KVM probe, default hypervisor):
 * exit 0, not timed out, app started, and the console matched `expect` when given.
 */
export function bootThroughRun(dir: string, memoryMiB: number, accel: Accel | undefined, timeoutSeconds: number, expect?: RegExp, extras: RunExtras = {}): BootFn {
  return async () => {
    const build = loadBuildFolder(dir);
    const hypervisor = defaultHypervisor(build, extras.storage);
    const r = await runImage(
      { buildDir: dir, memoryMiB, cpus: 1, hypervisor, accel, timeoutSeconds, dryRun: false, verbose: false, console: sink(), ...extras },
      { log: sink() },
    );
    if (r.exitCode !== 0 || r.timedOut || r.guestToAppMs === undefined || (expect && !expect.test(r.console))) {
      const why = r.timedOut ? `timed out after ${timeoutSeconds} s` : r.guestToAppMs === undefined ? 'no app-start marker' : r.exitCode !== 0 ? `exit ${r.exitCode}` : `the console did not match ${String(expect)}`;
      throw new Error(`at -m ${memoryMiB}: ${why}; last console: ${lastConsole(r.console)}`);
    }
    return { guestToAppMs: r.guestToAppMs, hostToAppMs: r.hostToAppMs, hostTotalMs: r.hostTotalMs, accel: r.accel, hypervisor };
  };
}

/** A boot of a ready QEMU command (the boot bench's kernel forms): the app started and the init sent its exit marker. */
export function bootCommand(cmd: QemuCommand, accel: Accel, hypervisor: string, timeoutSeconds: number): BootFn {
  return async () => {
    const o = await bootQemu(cmd, { console: null, timeoutMs: timeoutSeconds * 1000 });
    if (!o.appStart || o.exitStatus === undefined) {
      throw new Error(
        `did not ${o.appStart ? 'reach the exit marker' : 'reach the app-start marker'}${o.timedOut ? ` within ${timeoutSeconds} s` : ''}; ` +
          `last console lines:\n  ${o.lastLines.join('\n  ')}`,
      );
    }
    return { guestToAppMs: o.appStart.boottimeNs / 1e6, hostToAppMs: o.hostToAppMs, hostTotalMs: o.hostTotalMs, accel, hypervisor };
  };
}

/**
 * One boot at `memoryMiB`, below the 16 MiB floor `tailor run` enforces:
 * the same QEMU command the runner builds, with only -m changed.
 */
export async function bootAtMemory(dir: string, memoryMiB: number, accel: Accel, timeoutSeconds: number, expect?: RegExp): Promise<boolean> {
  const build = loadBuildFolder(dir);
  const cmd = buildQemuCommand(build.dir, build.record, { hypervisor: defaultHypervisor(build), memoryMiB: 16, cpus: 1, accel });
  const i = cmd.args.indexOf('-m');
  const args = [...cmd.args];
  args[i + 1] = `${memoryMiB}M`;
  const o = await bootQemu({ ...cmd, args }, { console: null, timeoutMs: timeoutSeconds * 1000 });
  return o.exitStatus === 0 && !o.timedOut && o.appStart !== undefined && (!expect || expect.test(o.console));
}

/** Smallest memory (MiB) in (1, hi] at which the app still runs; hi must work. */
export async function minMemory(dir: string, hi: number, accel: Accel, timeoutSeconds: number, log: (s: string) => void, expect?: RegExp): Promise<number> {
  // too little memory panics or stalls: do not wait long; but under TCG on a busy host a stock kernel alone can take
  // 20-30 s to reach the app, and a boot cut off by the cap would count as "fails" at any memory size
  return bisectMemory(hi, (mid) => bootAtMemory(dir, mid, accel, Math.min(timeoutSeconds, 120), expect), log);
}

/**
 * Smallest memory (MiB) in (1, hi] for which `works` holds (shrink until it fails, by bisection); hi must work.
 * With a `resolution` above 1 it stops once the bracket is that narrow: the answer is then at most that much above the minimum.
 */
export async function bisectMemory(hi: number, works: (memoryMiB: number) => Promise<boolean>, log: (s: string) => void, resolution = 1): Promise<number> {
  let lo = 1;
  while (hi - lo > resolution) {
    const mid = Math.floor((lo + hi) / 2);
    const ok = await works(mid);
    log(`    -m ${mid}: ${ok ? 'runs' : 'fails'}`);
    if (ok) hi = mid;
    else lo = mid;
  }
  return hi;
}

export interface BootMeasurements {
  readonly hypervisor: string;
  readonly accel: Accel;
  /** Guest CLOCK_BOOTTIME at the app-start marker, ms. */
  readonly guestToAppMs: TimeStats;
  /** Host wall time from QEMU spawn to the app-start marker line, ms. */
  readonly hostToAppMs?: TimeStats;
  /** Host wall time from QEMU spawn to QEMU exit, ms. */
  readonly hostTotalMs: TimeStats;
  readonly minMemoryMiB?: number;
}

/** Statistics of a series (whole milliseconds); the series must hold at least one sample. */
export function summarize(samples: readonly BootSample[]): Omit<BootMeasurements, 'minMemoryMiB'> {
  const ms = (xs: (number | undefined)[]) => xs.filter((x): x is number => x !== undefined).map(Math.round);
  const hostApp = ms(samples.map((s) => s.hostToAppMs));
  return {
    hypervisor: samples[0]!.hypervisor,
    accel: samples[0]!.accel,
    guestToAppMs: timeStats(ms(samples.map((s) => s.guestToAppMs))),
    ...(hostApp.length ? { hostToAppMs: timeStats(hostApp) } : {}),
    hostTotalMs: timeStats(ms(samples.map((s) => s.hostTotalMs))),
  };
}

/** N boots through `tailor run` at `memoryMiB`, then (optionally) the memory bisection below it. Throws on a failed boot. */
export async function measureBoots(
  dir: string,
  o: { n: number; memoryMiB: number; accel?: Accel; timeout: number; memory: boolean; log: (s: string) => void; expect?: RegExp; extras?: RunExtras },
): Promise<BootMeasurements> {
  const { samples } = await bootSeries(o.n, bootThroughRun(dir, o.memoryMiB, o.accel, o.timeout, o.expect, o.extras), { log: o.log });
  const m = summarize(samples);
  const minMem = o.memory ? await minMemory(dir, o.memoryMiB, m.accel, o.timeout, o.log, o.expect) : undefined;
  return { ...m, ...(minMem !== undefined ? { minMemoryMiB: minMem } : {}) };
}
