/**
 * KVM or TCG, decided once per machine. /dev/kvm existing is not enough:
 * nested, software-only KVM backends accept VMs and then fail on ordinary
 * instructions (FIELD-NOTES.md), so the probe boots a real guest under KVM
 * with a deadline and caches the verdict, keyed by what could change it.
 */
import { closeSync, constants, mkdirSync, openSync, readFileSync } from 'node:fs';
import { release } from 'node:os';
import { dirname } from 'node:path';
import { writeFileAtomic } from '../util/atomic.ts';
import { exec } from '../util/exec.ts';
import { cacheDir } from '../util/paths.ts';
import type { Accel } from './types.ts';

export interface KvmVerdict {
  readonly usable: boolean;
  /** Why KVM is (not) used, in a few words. */
  readonly reason: string;
  /** What the verdict holds for: host kernel release, QEMU version, CPU model. */
  readonly key: string;
  readonly probedAt: string;
}

export const kvmProbeFile = (): string => cacheDir('kvm-probe.json');

/** Deadline for the probe guest to reach its init: a Linux guest on working KVM gets there in well under a second. */
export const probeDeadlineMs = 10_000;

/** Why /dev/kvm cannot be used at all, or undefined when it opens read-write. */
export function devKvmProblem(path = '/dev/kvm'): string | undefined {
  try {
    closeSync(openSync(path, constants.O_RDWR));
    return undefined;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return `${path} does not exist`;
    if (code === 'EACCES' || code === 'EPERM') return `${path} is not accessible to this user (add yourself to group kvm)`;
    return `${path} cannot be opened (${code ?? (e as Error).message})`;
  }
}

function cpuModel(): string {
  try {
    const m = /^model name\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    return m?.[1]?.trim() ?? 'unknown cpu';
  } catch {
    return 'unknown cpu';
  }
}

/** The cache key: a new host kernel, QEMU or CPU means probing again. */
export async function probeKey(qemu = 'qemu-system-x86_64'): Promise<string> {
  const v = await exec(qemu, ['--version'], { allowFailure: true }).catch(() => ({ stdout: 'qemu missing' }));
  const qemuVersion = v.stdout.split('\n')[0]?.trim() ?? 'unknown qemu';
  return `${release()} | ${qemuVersion} | ${cpuModel()}`;
}

/** The cached verdict for this machine, if one was recorded under the current key. */
export async function cachedVerdict(key?: string): Promise<KvmVerdict | undefined> {
  let v: KvmVerdict;
  try {
    v = JSON.parse(readFileSync(kvmProbeFile(), 'utf8')) as KvmVerdict;
  } catch {
    return undefined;
  }
  return v.key === (key ?? (await probeKey())) ? v : undefined;
}

export async function saveVerdict(v: KvmVerdict): Promise<void> {
  mkdirSync(dirname(kvmProbeFile()), { recursive: true });
  await writeFileAtomic(kvmProbeFile(), `${JSON.stringify(v, null, 2)}\n`);
}

/** Boots the probe guest under KVM; resolves to undefined when it reached init, else the reason it did not. */
export type KvmGuestProbe = (deadlineMs: number) => Promise<string | undefined>;

export interface AccelChoice {
  readonly accel: Accel;
  /** Set when KVM was wanted but is not used: the one-line notice to print. */
  readonly notice?: string;
}

/**
 * The accelerator for a run. `forced` wins. Otherwise: no /dev/kvm that opens
 * read-write → TCG, with a notice, and nothing cached: the check is one
 * open(2), and a device that appears later (kvm module loaded, user added to
 * group kvm) must be used at once, while the cache key would not change.
 * A device that opens: a cached verdict → that; else boot `probeGuest` under
 * KVM once and remember the answer (that boot is what costs, and only a new
 * host kernel, QEMU or CPU can change it). `device` is for tests.
 */
export async function chooseAccel(forced: Accel | undefined, probeGuest?: KvmGuestProbe, device = '/dev/kvm'): Promise<AccelChoice> {
  if (forced) return { accel: forced };
  const devProblem = devKvmProblem(device);
  if (devProblem) return { accel: 'tcg', notice: fallbackNotice(devProblem) };
  const key = await probeKey();
  let verdict = await cachedVerdict(key);
  if (!verdict) {
    if (!probeGuest) return { accel: 'tcg', notice: fallbackNotice('not probed yet') };
    const failure = await probeGuest(probeDeadlineMs);
    verdict = {
      usable: failure === undefined,
      reason: failure ?? 'a Linux guest reached its init under KVM',
      key,
      probedAt: new Date().toISOString(),
    };
    await saveVerdict(verdict);
  }
  return verdict.usable ? { accel: 'kvm' } : { accel: 'tcg', notice: fallbackNotice(verdict.reason) };
}

export function fallbackNotice(reason: string): string {
  return `tailor: KVM unusable here (${reason}); using TCG (slower)`;
}
