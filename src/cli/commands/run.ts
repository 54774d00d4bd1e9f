import type { Command } from 'commander';
import {
  parseAccel,
  parseHypervisor,
  parseMemoryMiB,
  parsePositiveInt,
  parseTimeoutSeconds,
} from '../../run/run-args.ts';
import type { Accel, Hypervisor } from '../../run/types.ts';
import { defaultCpus, defaultMemoryMiB } from '../../run/qemu.ts';

interface RunFlags {
  memsize: string;
  cpus: string;
  execute?: string;
  hypervisor?: string;
  accel?: string;
  timeout?: string;
  dryRun?: boolean;
  verbose?: boolean;
}

export function register(program: Command): void {
  program
    .command('run')
    .description('boot a build in QEMU and exit with the guest application\'s status')
    .argument('[build]', 'build folder or name under build/ (default: build/last)')
    .option('-m, --memsize <size>', 'guest memory: MiB, or 512M / 1G', String(defaultMemoryMiB))
    .option('-c, --cpus <n>', 'virtual CPUs', String(defaultCpus))
    .option('-e, --execute <cmdline>', "replace the image's command line (OSv grammar)")
    .option('-p, --hypervisor <name>', 'qemu (q35, virtio-pci) | qemu_microvm (virtio-mmio, no PCI; the default unless a root disk needs PCI) | firecracker (--dry-run prints its config)')
    .option('--accel <kvm|tcg>', 'force an accelerator (default: KVM when the probe passed, else TCG)')
    .option('--timeout <seconds>', 'stop QEMU after this long')
    .option('--dry-run', 'print the QEMU command instead of running it')
    .action(async (buildArg: string | undefined, _flags: RunFlags, cmd: Command) => {
      const flags = cmd.optsWithGlobals<RunFlags>();
      const memoryMiB = parseMemoryMiB(flags.memsize);
      const cpus = parsePositiveInt('--cpus', flags.cpus);
      const accel: Accel | undefined = flags.accel === undefined ? undefined : parseAccel(flags.accel);
      const timeoutSeconds = flags.timeout === undefined ? undefined : parseTimeoutSeconds(flags.timeout);
      // Loaded on use: other commands do not pay for the runner.
      const { resolveBuildDir, loadBuildFolder, runImage, summaryLine, defaultHypervisor } = await import('../../run/index.ts');
      const buildDir = resolveBuildDir(buildArg);
      const hypervisor: Hypervisor =
        flags.hypervisor === undefined ? defaultHypervisor(loadBuildFolder(buildDir)) : parseHypervisor(flags.hypervisor);

      // Ctrl-C stops QEMU (and waits for it) instead of killing tailor around it.
      const abort = new AbortController();
      const onSigint = (): void => abort.abort();
      process.on('SIGINT', onSigint);
      process.on('SIGTERM', onSigint);
      try {
        const result = await runImage(
          {
            buildDir,
            memoryMiB,
            cpus,
            execute: flags.execute,
            hypervisor,
            accel,
            timeoutSeconds,
            dryRun: flags.dryRun === true,
            verbose: flags.verbose === true,
          },
          { signal: abort.signal },
        );
        if (!flags.dryRun) process.stderr.write(`${summaryLine(result)}\n`);
        process.exitCode = result.exitCode;
      } finally {
        process.off('SIGINT', onSigint);
        process.off('SIGTERM', onSigint);
      }
    });
}
