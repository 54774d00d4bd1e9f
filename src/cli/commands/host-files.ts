import type { Command } from 'commander';
import { stat } from 'node:fs/promises';
import { hostClosure } from '../../modules/host-closure.ts';
import { formatTable } from '../table.ts';

/** `tailor host-files BIN...`: what packaging a host program brings into the image (binary, interpreter, libraries, /etc). */
export function register(program: Command): void {
  program
    .command('host-files')
    .description('list the files a host program needs in the image: binary, interpreter, library closure, /etc files')
    .argument('<binary...>', 'absolute paths of host programs, e.g. /usr/bin/redis-server')
    .option('--extra-libs <libs>', 'comma-separated sonames or paths the program dlopens (like extra_libs=)')
    .option('--json', 'machine-readable output')
    .action(async (binaries: string[], opts: { extraLibs?: string; json?: boolean }) => {
      const extraLibs = opts.extraLibs ? opts.extraLibs.split(',').map((s) => s.trim()).filter(Boolean) : [];
      const { files } = await hostClosure(binaries, { extraLibs });
      if (opts.json) {
        process.stdout.write(JSON.stringify(files, null, 2) + '\n');
        return;
      }
      let total = 0;
      const rows: string[][] = [];
      for (const f of files) {
        const size = f.linkTarget ? 0 : (await stat(f.hostPath)).size;
        total += size;
        rows.push([f.guestPath + (f.linkTarget ? ` -> ${f.linkTarget}` : ''), f.linkTarget ? '-' : String(size), f.reason]);
      }
      process.stdout.write(formatTable(['guest path', 'bytes', 'why'], rows));
      process.stdout.write(`${files.length} files, ${total} bytes (sizes from stat of the host files)\n`);
    });
}
