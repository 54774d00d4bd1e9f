/**
 * Booting a build on Firecracker: the configuration goes to a temporary
 * file and `firecracker --no-api --config-file FILE` runs with the guest
 * serial console on its stdout, so the runner reads the same init markers
 * and reports the same timing line and exit codes as for QEMU.
 */
import { accessSync, constants, statSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { hostArch, hostRunsNatively, targetArch } from '../config/arch.ts';
import { TailorError, UsageError } from '../errors.ts';
import { hasCommand } from '../util/exec.ts';
import type { BuildFolder } from './build-folder.ts';
import { firecrackerBinary, firecrackerConfig, firecrackerNotices, firecrackerReleases, type FirecrackerPlan } from './firecracker.ts';
import type { FirecrackerConfig } from './firecracker-schema.ts';
import { devKvmProblem } from './kvm-probe.ts';
import { checkTapHost } from './network.ts';

export interface FirecrackerLaunch {
  readonly config: FirecrackerConfig;
  readonly notices: readonly string[];
  /** The command the runner spawns (absent for a dry run). */
  readonly command?: { readonly binary: string; readonly args: readonly string[] };
  /** Removes the temporary configuration file. */
  readonly cleanup: () => Promise<void>;
}

/** The binary to run: --firecracker-bin FILE (must be executable), else `firecracker` on PATH. */
export async function findFirecracker(explicit: string | undefined): Promise<string> {
  if (explicit !== undefined) {
    const abs = resolve(explicit);
    try {
      if (!statSync(abs).isFile()) throw new Error('not a file');
      accessSync(abs, constants.X_OK);
    } catch {
      throw new UsageError(`--firecracker-bin ${explicit}: no executable file at ${abs}`, `download a release binary from ${firecrackerReleases}`);
    }
    return abs;
  }
  if (await hasCommand(firecrackerBinary)) return firecrackerBinary;
  throw new TailorError('firecracker is not installed, and Debian does not package it', {
    hint: `download a release binary (firecracker-vX.Y.Z-x86_64) from ${firecrackerReleases} and put it on PATH as firecracker, or give --firecracker-bin FILE; -p qemu_microvm runs the same virtio-mmio machine in QEMU; --dry-run prints the Firecracker configuration`,
  });
}

/**
 * Checks the plan, then (unless dryRun) finds the binary, checks KVM and
 * writes the configuration file. `kvmProblem` is for tests.
 */
export async function prepareFirecracker(
  build: BuildFolder,
  plan: FirecrackerPlan & { readonly dryRun: boolean; readonly firecrackerBin?: string },
  kvmProblem: () => string | undefined = devKvmProblem,
): Promise<FirecrackerLaunch> {
  const config = firecrackerConfig(build.dir, build.record, plan);
  const notices = firecrackerNotices(build.record, plan);
  if (plan.dryRun) return { config, notices, cleanup: async () => undefined };
  const arch = targetArch(build.record.arch);
  if (!hostRunsNatively(arch)) {
    throw new UsageError(
      `build ${build.record.name} is for ${arch.title}: Firecracker runs guests of its own host's architecture under KVM, and this host is ${hostArch()?.title ?? process.arch}`,
      `run it with -p qemu here (TCG), or copy the configuration that --dry-run prints to an ${arch.title} host with Firecracker`,
    );
  }
  const binary = await findFirecracker(plan.firecrackerBin);
  if (plan.network) checkTapHost(plan.network);
  const problem = kvmProblem();
  if (problem) {
    throw new TailorError(`Firecracker needs KVM, and ${problem}`, {
      hint: 'run with -p qemu_microvm (the same virtio-mmio machine; it falls back to TCG without KVM)',
    });
  }
  const dir = await mkdtemp(join(tmpdir(), 'tailor-firecracker-'));
  const file = join(dir, 'vm.json');
  await writeFile(file, `${JSON.stringify(config, null, 2)}\n`);
  return {
    config,
    notices,
    command: { binary, args: ['--no-api', '--config-file', file] },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}
