import type { Command } from 'commander';

interface BootchartFlags {
  memsize: string;
  accel?: string;
  execute?: string;
  timeout: string;
  json?: boolean;
  html?: string;
  svg?: string;
  verbose?: boolean;
}

export function register(program: Command): void {
  program
    .command('bootchart')
    .description('boot once with init-call timing and the init\'s phase markers; show where the time to app start goes')
    .argument('[build]', 'build folder or name under build/ (default: build/last)')
    .option('-m, --memsize <size>', 'guest memory: MiB, or 512M / 1G', '128')
    .option('--accel <kvm|tcg>', 'force an accelerator')
    .option('-e, --execute <cmdline>', "application command line (default: the image's)")
    .option('--timeout <seconds>', 'stop QEMU after this long', '120')
    .option('--json', 'print the phases and init calls as JSON')
    .option('--html <file>', 'write a page with the timeline')
    .option('--svg <file>', 'write the timeline as SVG')
    .option('-v, --verbose', 'copy the guest console to stderr')
    .action(async (buildArg: string | undefined, flags: BootchartFlags) => {
      const { resolveBuildDir, loadBuildFolder } = await import('../../run/build-folder.ts');
      const { parseMemoryMiB, parseAccel, parseTimeoutSeconds } = await import('../../run/run-args.ts');
      const { runBootchart, formatBootchart } = await import('../../analyze/bootchart.ts');
      const { writeFileAtomic } = await import('../../util/atomic.ts');
      const folder = loadBuildFolder(resolveBuildDir(buildArg));
      const b = await runBootchart(folder, {
        memoryMiB: parseMemoryMiB(flags.memsize),
        ...(flags.accel ? { accel: parseAccel(flags.accel) } : {}),
        ...(flags.execute !== undefined ? { execute: flags.execute } : {}),
        timeoutSeconds: parseTimeoutSeconds(flags.timeout),
        ...(flags.verbose ? { console: process.stderr } : {}),
      });
      if (flags.html || flags.svg) {
        const { bootchartHtml, bootchartSvg } = await import('../../analyze/bootchart-svg.ts');
        if (flags.html) await writeFileAtomic(flags.html, bootchartHtml(b));
        if (flags.svg) await writeFileAtomic(flags.svg, bootchartSvg(b));
      }
      process.stdout.write(flags.json ? JSON.stringify(b, (_k, v: unknown) => (typeof v === 'bigint' ? `0x${v.toString(16)}` : v), 2) + '\n' : formatBootchart(b));
    });
}
