import type { Command } from 'commander';
import { relative } from 'node:path';
import { configFromCommand } from '../build-args.ts';
import { withBuildOptionsHelp } from '../options-help.ts';

export function formatBytes(n: number): string {
  if (n >= 1024 * 1024) return `${(n / 1024 / 1024).toFixed(2)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${n} B`;
}

export function register(program: Command): void {
  withBuildOptionsHelp(program
    .command('build')
    .description('build an image: tailor build image=native-example fs=ramfs [key=value ...] [--profile=NAME]')
    .argument('[args...]', 'build arguments (see `tailor options`)')
    .allowUnknownOption(true)
    .action(async (args: string[], _opts: unknown, cmd: Command) => {
      const config = configFromCommand(args, cmd);
      // Loaded on use: the CLI starts fast and commands that do not build need none of this.
      const { buildImage } = await import('../../image/index.ts');
      const started = Date.now();
      const { dir, record } = await buildImage(config, (m) => process.stderr.write(`tailor: ${m}\n`));
      const root = record.initrd ?? record.rootDisk!;
      const lines = [
        `built ${relative(process.cwd(), dir) || dir} in ${((Date.now() - started) / 1000).toFixed(1)} s (config ${record.configHash.slice(0, 12)})`,
        `  kernel  ${record.kernel.flavour} ${record.kernel.release}: bzImage ${formatBytes(record.kernel.bzImage.bytes)}${record.kernel.vmlinux ? `, vmlinux ${formatBytes(record.kernel.vmlinux.bytes)} (PVH)` : ''}`,
        `  root    ${root.file} ${formatBytes(root.bytes)} (${record.initrd ? `initramfs, ${record.initrd.compression}` : `${record.rootDisk!.fs}`})`,
        `  on disk ${formatBytes(record.kernel.bzImage.bytes + root.bytes)} (bzImage + root; sizes from stat)`,
        `  command ${record.appCmdline || '(none)'}`,
      ];
      process.stdout.write(lines.join('\n') + '\n');
    }),
  );
}
