import type { Command } from 'commander';

interface SizeFlags {
  json?: boolean;
  html?: string;
  diff?: string;
  top: string;
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
    .action(async (buildArg: string | undefined, flags: SizeFlags) => {
      const { resolveBuildDir, loadBuildFolder } = await import('../../run/build-folder.ts');
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
