/**
 * Measuring one built image: boots for the guest time to application start
 * (CLOCK_BOOTTIME in the init's app-start marker) and host wall times, and
 * the minimum memory by bisection (Lupine's method: shrink until it fails).
 * Shared by `tailor bench` and the bench/ scripts.
 */
import { Writable } from 'node:stream';
import { loadBuildFolder } from '../run/build-folder.ts';
import { buildQemuCommand } from '../run/qemu.ts';
import { bootQemu, defaultHypervisor, runImage } from '../run/runner.ts';
import type { Accel, RunResult } from '../run/types.ts';

export const sink = (): Writable => new Writable({ write: (_c, _e, cb) => cb() });

export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export interface BootAttempt {
  /** Exit 0, not timed out, app started, and the console matched `expect` when given. */
  readonly ok: boolean;
  readonly result?: RunResult;
  readonly error?: string;
  readonly hypervisor: string;
}

/** One boot through `tailor run`'s own path (KVM probe, default hypervisor). */
export async function bootOnce(dir: string, memoryMiB: number, accel: Accel | undefined, timeoutSeconds: number, expect?: RegExp): Promise<BootAttempt> {
  const build = loadBuildFolder(dir);
  const hypervisor = defaultHypervisor(build);
  try {
    const r = await runImage(
      { buildDir: dir, memoryMiB, cpus: 1, hypervisor, accel, timeoutSeconds, dryRun: false, verbose: false, console: sink() },
      { log: sink() },
    );
    const ok = r.exitCode === 0 && !r.timedOut && r.guestToAppMs !== undefined && (!expect || expect.test(r.console));
    return { ok, result: r, hypervisor };
  } catch (e) {
    return { ok: false, error: e instanceof Error ? e.message : String(e), hypervisor };
  }
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
  let lo = 1;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    const ok = await bootAtMemory(dir, mid, accel, Math.min(timeoutSeconds, 30), expect); // too little memory panics or stalls: do not wait long
    log(`    -m ${mid}: ${ok ? 'runs' : 'fails'}`);
    if (ok) hi = mid;
    else lo = mid;
  }
  return hi;
}

export interface TimeStats {
  readonly median: number;
  readonly min: number;
  readonly runs: number[];
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

const stats = (runs: number[]): TimeStats => ({ median: median(runs), min: Math.min(...runs), runs });

/** N boots at `memoryMiB`, then (optionally) the memory bisection below it. Throws on a failed boot. */
export async function measureBoots(
  dir: string,
  o: { n: number; memoryMiB: number; accel?: Accel; timeout: number; memory: boolean; log: (s: string) => void; expect?: RegExp },
): Promise<BootMeasurements> {
  const guest: number[] = [];
  const hostApp: number[] = [];
  const hostTotal: number[] = [];
  let hypervisor = '';
  let accel: Accel = 'tcg';
  for (let i = 0; i < o.n; i++) {
    const b = await bootOnce(dir, o.memoryMiB, o.accel, o.timeout, o.expect);
    hypervisor = b.hypervisor;
    if (!b.ok || !b.result || b.result.guestToAppMs === undefined) {
      throw new Error(`boot ${i + 1} at -m ${o.memoryMiB} failed: ${b.error ?? (b.result ? `exit ${b.result.exitCode}${b.result.timedOut ? ', timed out' : ''}; last console: ${b.result.console.trim().split('\n').slice(-3).join(' | ')}` : 'no result')}`);
    }
    accel = b.result.accel;
    guest.push(Math.round(b.result.guestToAppMs));
    if (b.result.hostToAppMs !== undefined) hostApp.push(Math.round(b.result.hostToAppMs));
    hostTotal.push(Math.round(b.result.hostTotalMs));
    o.log(`  boot ${i + 1}/${o.n}: ${Math.round(b.result.guestToAppMs)} ms guest to app, ${Math.round(b.result.hostTotalMs)} ms host wall`);
  }
  const minMem = o.memory ? await minMemory(dir, o.memoryMiB, accel, o.timeout, o.log, o.expect) : undefined;
  return {
    hypervisor,
    accel,
    guestToAppMs: stats(guest),
    ...(hostApp.length ? { hostToAppMs: stats(hostApp) } : {}),
    hostTotalMs: stats(hostTotal),
    ...(minMem !== undefined ? { minMemoryMiB: minMem } : {}),
  };
}
