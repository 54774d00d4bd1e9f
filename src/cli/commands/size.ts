import type { Command } from 'commander';
import { UsageError } from '../../errors.ts';

interface SizeFlags {
  json?: boolean;
  html?: string;
  diff?: string;
  top: string;
  memory?: boolean;
  memsize: string;
  accel?: string;
  timeout: string;
}

export function register(program: Command): void {
  program
    .command('size')
    .description("where an image's bytes go: kernel by section, subsystem and object (with the option that asked for it), root fs by module and file")
    .argument('[build]', 'build folder or name under build/ (default: build/last)')
    .option('--json', 'print the full report as JSON')
    .option('--html <file>', 'write a self-contained page with treemaps')
    .option('--diff <other>', 'compare with another build, bloat-o-meter style (other = old, build = new)')
    .option('--top <n>', 'rows per list in the terminal', '25')
    .option('--memory', "instead: boot the image once and show the guest's memory at app start by consumer (from /proc/meminfo and /proc/iomem)")
    .option('-m, --memsize <size>', 'with --memory: guest memory, MiB or 512M / 1G', '128')
    .option('--accel <kvm|tcg>', 'with --memory: force an accelerator')
    .option('--timeout <seconds>', 'with --memory: stop QEMU after this long', '120')
    .action(async (buildArg: string | undefined, flags: SizeFlags) => {
      const { resolveBuildDir, loadBuildFolder } = await import('../../run/build-folder.ts');
      if (flags.memory) {
        if (flags.diff !== undefined || flags.html) throw new UsageError('--memory does not combine with --diff or --html', 'run tailor size --memory on its own');
        const { parseMemoryMiB, parseAccel, parseTimeoutSeconds } = await import('../../run/run-args.ts');
        const { guestMemory, formatGuestMemory } = await import('../../analyze/guest-memory.ts');
        const r = await guestMemory(loadBuildFolder(resolveBuildDir(buildArg)), {
          memoryMiB: parseMemoryMiB(flags.memsize),
          ...(flags.accel ? { accel: parseAccel(flags.accel) } : {}),
          timeoutSeconds: parseTimeoutSeconds(flags.timeout),
        });
        process.stdout.write(flags.json ? JSON.stringify(r, null, 2) + '\n' : formatGuestMemory(r));
        return;
      }
      const { sizeReport, formatSizeReport, diffSizeReports, formatSizeDiff } = await import('../../analyze/size-report.ts');
      const { writeFileAtomic } = await import('../../util/atomic.ts');
      const top = Number.parseInt(flags.top, 10) || 25;
      const report = await sizeReport(loadBuildFolder(resolveBuildDir(buildArg)));
      if (flags.diff !== undefined) {
        const old = await sizeReport(loadBuildFolder(resolveBuildDir(flags.diff)));
        const d = diffSizeReports(old, report);
        process.stdout.write(flags.json ? JSON.stringify(d, null, 2) + '\n' : formatSizeDiff(d, top));
        return;
      }
      if (flags.html) {
        const { sizeHtml } = await import('../../analyze/size-html.ts');
        await writeFileAtomic(flags.html, sizeHtml(report));
        process.stderr.write(`wrote ${flags.html}\n`);
      }
      process.stdout.write(flags.json ? JSON.stringify(report, null, 2) + '\n' : formatSizeReport(report, top));
    });
}
