/**
 * The host's TSC rate, given to x86-64 guests under TCG as `tsc_early_khz=`.
 * A TCG guest's rdtsc reads the host's TSC, but its kernel calibrates that
 * rate against the emulated PIT, which fails when QEMU is descheduled
 * (measured here under load: "tsc: Unable to calibrate against PIT", then the
 * jiffies clocksource, a calibrated delay loop and 10 ms clock steps: +60 ms
 * to app start, and coarse clocks for the app). With the rate given, the
 * kernel skips that calibration and always has its TSC clocksource.
 *
 * The rate is measured once per host boot by a small C program (rdtsc against
 * CLOCK_MONOTONIC_RAW, src/run/tsc-rate.c) built with the host's C compiler,
 * and kept in the cache; without a compiler, /proc/cpuinfo's "cpu MHz" stands
 * in (the TSC rate on virtual machines, the current clock on hosts that
 * scale it).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { arch } from 'node:process';
import { join } from 'node:path';
import { tempSibling } from '../util/atomic.ts';
import { cacheDir, repoRoot } from '../util/paths.ts';

export interface TscRate {
  readonly khz: number;
  readonly how: 'measured' | 'cpuinfo';
}

const source = join(repoRoot, 'src', 'run', 'tsc-rate.c');
let known: TscRate | null | undefined;

/** The rate, or undefined on a host that is not x86-64 (its TCG TSC follows another counter) or where nothing gives it. */
export function hostTscRate(): TscRate | undefined {
  if (known === undefined) known = arch === 'x64' ? (remembered() ?? measured() ?? fromCpuinfo() ?? null) : null;
  return known ?? undefined;
}

/** The cache file, valid for the host boot that wrote it (the TSC rate is fixed per boot). */
const recordFile = () => cacheDir('host-tsc.json');

function bootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return '';
  }
}

function remembered(): TscRate | undefined {
  try {
    const r = JSON.parse(readFileSync(recordFile(), 'utf8')) as { bootId?: string; khz?: number };
    if (r.bootId && r.bootId === bootId() && typeof r.khz === 'number' && r.khz > 0) return { khz: r.khz, how: 'measured' };
  } catch {
    /* absent or unreadable: measure */
  }
  return undefined;
}

function measured(): TscRate | undefined {
  try {
    const text = readFileSync(source);
    const bin = cacheDir('bin', `tsc-rate-${createHash('sha256').update(text).digest('hex').slice(0, 12)}`);
    if (!existsSync(bin)) {
      mkdirSync(cacheDir('bin'), { recursive: true });
      const built = writeThenRename(bin, (tmp) => spawnSync('cc', ['-O2', '-o', tmp, source], { stdio: 'ignore', timeout: 60_000 }).status === 0);
      if (!built) return undefined;
    }
    const run = spawnSync(bin, [], { encoding: 'utf8', timeout: 10_000 });
    const khz = Number(run.stdout.trim());
    if (run.status !== 0 || !Number.isFinite(khz) || khz <= 0) return undefined;
    const rounded = Math.round(khz);
    writeThenRename(recordFile(), (tmp) => {
      writeFileSync(tmp, `${JSON.stringify({ bootId: bootId(), khz: rounded })}\n`);
      return true;
    });
    return { khz: rounded, how: 'measured' };
  } catch {
    return undefined;
  }
}

/**
 * `write` fills a temporary sibling (the synchronous form of writeFileAtomic: the QEMU command is built
 * synchronously); renamed into place when it says so, removed otherwise.
 */
function writeThenRename(path: string, write: (tmp: string) => boolean): boolean {
  const tmp = tempSibling(path);
  try {
    if (write(tmp)) {
      renameSync(tmp, path);
      return true;
    }
    return false;
  } finally {
    rmSync(tmp, { force: true });
  }
}

function fromCpuinfo(): TscRate | undefined {
  try {
    const mhz = Number(/^cpu MHz\s*:\s*([\d.]+)/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]);
    return Number.isFinite(mhz) && mhz > 0 ? { khz: Math.round(mhz * 1000), how: 'cpuinfo' } : undefined;
  } catch {
    return undefined;
  }
}
