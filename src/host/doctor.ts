/** `tailor doctor`: which host requirements are present, the KVM verdict, the cache; `--fix` installs what is missing. */
import { existsSync, readdirSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { TailorError } from '../errors.ts';
import { exec, hasCommand } from '../util/exec.ts';
import { cacheDir } from '../util/paths.ts';
import { cachedVerdict, devKvmProblem, kvmProbeFile } from '../run/kvm-probe.ts';
import { aptInstallLine, hostRequirements, type HostRequirement } from './requirements.ts';

export interface RequirementStatus {
  readonly requirement: HostRequirement;
  readonly present: boolean;
}

export interface DoctorReport {
  readonly requirements: readonly RequirementStatus[];
  readonly missingPackages: readonly string[];
  /** One line about KVM: the probe's cached verdict, or why it cannot be used, or 'not probed yet'. */
  readonly kvm: string;
  readonly cacheDir: string;
  /** Bytes under the cache (du -sb), undefined when the cache does not exist. */
  readonly cacheBytes?: number;
}

export async function checkRequirement(r: HostRequirement): Promise<boolean> {
  return 'command' in r.check ? hasCommand(r.check.command) : existsSync(r.check.file);
}

export async function checkHost(): Promise<RequirementStatus[]> {
  return Promise.all(hostRequirements.map(async (requirement) => ({ requirement, present: await checkRequirement(requirement) })));
}

async function kvmLine(): Promise<string> {
  const dev = devKvmProblem();
  if (dev) return `unusable: ${dev}; runs use TCG`;
  const v = await cachedVerdict();
  if (!v) return `/dev/kvm opens; not probed yet (the first \`tailor run\` probes it and records the verdict in ${kvmProbeFile()})`;
  return `${v.usable ? 'usable' : 'unusable'}: ${v.reason} (probed ${v.probedAt}); runs use ${v.usable ? 'KVM' : 'TCG'}`;
}

async function cacheBytes(dir: string): Promise<number | undefined> {
  if (!existsSync(dir)) return undefined;
  const r = await exec('du', ['-sb', dir], { allowFailure: true });
  const n = Number(r.stdout.split('\t')[0]);
  return Number.isFinite(n) ? n : undefined;
}

export async function doctorReport(): Promise<DoctorReport> {
  const requirements = await checkHost();
  const missingPackages = [...new Set(requirements.filter((s) => !s.present).map((s) => s.requirement.aptPackage))].sort();
  const dir = cacheDir();
  return { requirements, missingPackages, kvm: await kvmLine(), cacheDir: dir, cacheBytes: await cacheBytes(dir) };
}

function formatBytes(n: number): string {
  if (n >= 1024 ** 3) return `${(n / 1024 ** 3).toFixed(2)} GiB`;
  if (n >= 1024 ** 2) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024).toFixed(1)} KiB`;
}

export function formatDoctorReport(r: DoctorReport): string {
  const w = Math.max(...r.requirements.map((s) => s.requirement.name.length));
  const pw = Math.max(...r.requirements.map((s) => s.requirement.aptPackage.length));
  const lines = ['host requirements:'];
  for (const s of r.requirements) {
    lines.push(
      `  ${s.present ? 'ok     ' : 'MISSING'}  ${s.requirement.name.padEnd(w)}  ${s.requirement.aptPackage.padEnd(pw)}  ${s.requirement.neededFor}`,
    );
  }
  lines.push(
    r.missingPackages.length === 0
      ? 'everything is installed'
      : `missing ${r.missingPackages.length} package(s); install them with:\n  ${aptInstallLine(r.missingPackages)}\n  (or: tailor doctor --fix)`,
  );
  lines.push(`kvm: ${r.kvm}`);
  lines.push(`cache: ${r.cacheDir} (${r.cacheBytes === undefined ? 'empty' : `${formatBytes(r.cacheBytes)}, du -sb`})`);
  return `${lines.join('\n')}\n`;
}

/** Runs a command with its output on our stderr (apt's progress is for the user, stdout stays the report). */
function runVisible(cmd: string, args: string[]): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, {
      stdio: ['ignore', process.stderr, process.stderr],
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
    child.on('error', (e) => reject(new TailorError(`cannot run ${cmd}: ${e.message}`)));
    child.on('close', (code) => resolvePromise(code ?? 1));
  });
}

/** apt's package lists are absent (fresh container): `apt-get install` cannot find anything until an update. */
function aptListsMissing(): boolean {
  try {
    return !readdirSync('/var/lib/apt/lists').some((f) => f.endsWith('_Packages') || f.includes('_Packages.'));
  } catch {
    return true;
  }
}

/**
 * Installs the missing packages non-interactively. apt-get update runs only
 * when the package lists are missing, or when an install failed (stale lists).
 */
export async function fixHost(packages: readonly string[], log: (m: string) => void): Promise<void> {
  if (packages.length === 0) return;
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new TailorError('tailor doctor --fix installs Debian packages and needs root', {
      hint: `run it as root (sudo node bin/tailor.js doctor --fix), or yourself: sudo ${aptInstallLine(packages)}`,
    });
  }
  const install = ['install', '-y', '--no-install-recommends', ...[...packages].sort()];
  if (aptListsMissing()) {
    log('tailor: apt package lists are missing; running apt-get update');
    if ((await runVisible('apt-get', ['update'])) !== 0) throw new TailorError('apt-get update failed (see above)');
  }
  log(`tailor: ${aptInstallLine(packages)}`);
  if ((await runVisible('apt-get', install)) === 0) return;
  log('tailor: apt-get install failed; updating the package lists and trying once more');
  if ((await runVisible('apt-get', ['update'])) !== 0) throw new TailorError('apt-get update failed (see above)');
  if ((await runVisible('apt-get', install)) !== 0) {
    throw new TailorError(`apt-get install failed for: ${packages.join(' ')}`, { hint: 'see apt-get\'s message above' });
  }
}
