import type { Command } from 'commander';
import { exportFormatHelp, exportFormatNames } from '../../export/formats.ts';

interface ExportFlags {
  output?: string;
  execute?: string;
  registry?: string;
  memsize?: string;
  cpus?: string;
}

export function register(program: Command): void {
  program
    .command('export')
    .description('write a build as a disk that boots with no -kernel (UEFI: a unified kernel image on an EFI system partition), a cloud image, or KubeVirt images')
    .argument('<format>', Object.entries(exportFormatHelp).map(([k, v]) => `${k}: ${v}`).join('; '))
    .argument('[build]', 'build folder or name under build/ (default: build/last)')
    .option('-o, --output <path>', 'where to write (default: inside the build folder, named after the build)')
    .option('-e, --execute <cmdline>', "replace the image's command line in the exported image (OSv grammar, as tailor run -e)")
    .option('--registry <path>', 'kubevirt: the registry path the images are named for, e.g. registry.example.com/team (default localhost:5000/tailor)')
    .option('-m, --memsize <size>', 'kubevirt: VM memory, MiB or 512M / 1G (default as tailor run)')
    .option('-c, --cpus <n>', 'kubevirt: virtual CPUs (default as tailor run)')
    .action(async (format: string, buildArg: string | undefined, flags: ExportFlags) => {
      const { UsageError } = await import('../../errors.ts');
      const { didYouMean } = await import('../../config/suggest.ts');
      if (!exportFormatNames.includes(format)) {
        const s = didYouMean(format, exportFormatNames);
        throw new UsageError(`unknown export format "${format}"${s ? ` (${s})` : ''}`, `give one of ${exportFormatNames.join(', ')}`);
      }
      const { resolveBuildDir, loadBuildFolder } = await import('../../run/build-folder.ts');
      const build = loadBuildFolder(resolveBuildDir(buildArg));
      const log = (line: string): void => void process.stderr.write(`${line}\n`);
      const { exportBuild } = await import('../../export/index.ts');
      const { parseMemoryMiB, parsePositiveInt } = await import('../../run/run-args.ts');
      const files = await exportBuild(build, {
        format,
        out: flags.output,
        execute: flags.execute,
        log,
        registry: flags.registry,
        memoryMiB: flags.memsize === undefined ? undefined : parseMemoryMiB(flags.memsize),
        cpus: flags.cpus === undefined ? undefined : parsePositiveInt('--cpus', flags.cpus),
      });
      for (const f of files) process.stdout.write(`${f.path}  ${(f.bytes / 1048576).toFixed(2)} MiB  ${f.what}\n`);
    });
}
