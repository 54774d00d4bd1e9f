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
      const root = record.rootDisk ?? record.initrd!;
      // A disk root on a modular kernel also boots a stub initramfs (the modules that mount it).
      const stub = record.rootDisk && record.initrd ? record.initrd : undefined;
      const lines = [
        `built ${relative(process.cwd(), dir) || dir} in ${((Date.now() - started) / 1000).toFixed(1)} s (config ${record.configHash.slice(0, 12)})`,
        `  kernel  ${record.kernel.flavour} ${record.kernel.release}: ${record.kernel.bzImage.file} ${formatBytes(record.kernel.bzImage.bytes)}${record.kernel.vmlinux ? `, vmlinux ${formatBytes(record.kernel.vmlinux.bytes)} (PVH)` : ''}`,
        `  root    ${root.file} ${formatBytes(root.bytes)} (${record.rootDisk ? record.rootDisk.fs : `initramfs, ${record.initrd!.compression}`})`,
        ...(stub ? [`  initrd  ${stub.file} ${formatBytes(stub.bytes)} (stub initramfs: kernel modules that mount the root disk)`] : []),
        `  on disk ${formatBytes(record.kernel.bzImage.bytes + root.bytes + (stub?.bytes ?? 0))} (${record.kernel.bzImage.file} + root${stub ? ' + stub' : ''}; sizes from stat)`,
        `  command ${record.appCmdline || '(none)'}`,
      ];
      process.stdout.write(lines.join('\n') + '\n');
    }),
  );
}
