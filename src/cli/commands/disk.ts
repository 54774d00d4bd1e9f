import type { Command } from 'commander';

/** `tailor disk create --fs ext4|btrfs|raw --size 64M FILE`: an empty data disk for --second-disk-image / --mount-fs. */
export function register(program: Command): void {
  const disk = program.command('disk').description('data disks for tailor run (--second-disk-image, --nvme-image)');
  disk
    .command('create')
    .description('create an empty data disk: tailor disk create --fs ext4 --size 64M data.img')
    .argument('<file>', 'the disk image file to write')
    .option('--fs <fs>', 'ext4, btrfs or raw (unformatted)', 'ext4')
    .requiredOption('--size <size>', 'size with a unit K, M, G or T (powers of 1024), e.g. 64M; plain numbers are MiB')
    .option('--seed <text>', 'derive the UUIDs from this text (same seed, same bytes); default: random')
    .option('--force', 'replace FILE if it exists')
    .action(async (file: string, opts: { fs: string; size: string; seed?: string; force?: boolean }) => {
      // Loaded on use, like the other stages, to keep CLI start-up fast.
      const { createEmptyDisk, parseSizeMiB } = await import('../../rootfs/disk.ts');
      const sizeMiB = parseSizeMiB(opts.size);
      const r = await createEmptyDisk(file, opts.fs, sizeMiB, { seed: opts.seed, force: opts.force });
      const hint = r.fs === 'raw' ? '' : `; mount it in the guest with --mount-fs=${r.fs},/dev/vdb,/data`;
      process.stdout.write(`created ${r.path}: ${r.fs}, ${r.sizeMiB} MiB (sparse file)${hint}\n`);
    });
}
