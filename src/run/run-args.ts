/** Parsing `tailor run` argument values (memory sizes, counts), shared by the CLI and the boot bench. */
import { UsageError } from '../errors.ts';
import type { Accel, Hypervisor } from './types.ts';

/** "128", "128M", "128MiB", "1G", "1GiB" → MiB. A bare number is MiB, as OSv's run.py -m. */
export function parseMemoryMiB(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(k|kib|m|mib|mb|g|gib|gb)?\s*$/i.exec(text);
  if (!m) throw new UsageError(`memory size "${text}" is not understood`, 'give MiB, or a size such as 512M or 1G');
  const n = Number(m[1]);
  const unit = (m[2] ?? 'm').toLowerCase()[0];
  const mib = unit === 'g' ? n * 1024 : unit === 'k' ? n / 1024 : n;
  if (!Number.isInteger(mib)) throw new UsageError(`memory size "${text}" is not a whole number of MiB`, 'e.g. 512M or 1G');
  return mib;
}

export function parsePositiveInt(what: string, text: string): number {
  if (!/^\d+$/.test(text.trim()) || Number(text) < 1) {
    throw new UsageError(`${what} "${text}" is not a positive whole number`);
  }
  return Number(text);
}

export function parseTimeoutSeconds(text: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`--timeout "${text}" is not a positive number of seconds`);
  return n;
}

const hypervisors: readonly Hypervisor[] = ['qemu', 'qemu_microvm', 'firecracker'];
export function parseHypervisor(text: string): Hypervisor {
  if ((hypervisors as readonly string[]).includes(text)) return text as Hypervisor;
  throw new UsageError(`unknown hypervisor "${text}"`, `choose one of: ${hypervisors.join(', ')}`);
}

export function parseAccel(text: string): Accel {
  if (text === 'kvm' || text === 'tcg') return text;
  throw new UsageError(`unknown accelerator "${text}"`, 'choose kvm or tcg');
}
