/**
 * Stage 6 (run): boot a build folder (build/<name>/build.json) in QEMU, under
 * KVM when the probe passed, else TCG; report the guest's exit status and timings.
 */
export type { Accel, Hypervisor, RunOptions, RunResult } from './types.ts';
export { runImage, summaryLine, defaultHypervisor, bootQemu, timeoutExitCode, interruptExitCode } from './runner.ts';
export type { BootOptions, BootOutcome } from './runner.ts';
export { resolveBuildDir, loadBuildFolder } from './build-folder.ts';
export type { BuildFolder } from './build-folder.ts';
export { buildQemuCommand, kernelCommandLine, shellQuote, defaultMemoryMiB, defaultCpus } from './qemu.ts';
export type { QemuCommand, QemuPlan } from './qemu.ts';
export { chooseAccel, cachedVerdict, devKvmProblem, kvmProbeFile } from './kvm-probe.ts';
export type { KvmVerdict, AccelChoice } from './kvm-probe.ts';
export { firecrackerConfig } from './firecracker.ts';
export { parseMemoryMiB, parseAccel, parseHypervisor } from './run-args.ts';
