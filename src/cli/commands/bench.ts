import type { Command } from 'commander';

interface BenchFlags {
  profile?: string;
  set: string[];
  n: string;
  memsize: string;
  accel?: string;
  timeout: string;
  memory: boolean;
  json?: boolean;
  html?: string;
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

export function register(program: Command): void {
  program
    .command('bench')
    .description('build and measure several variants of an image: size, guest time to app start, host wall time, minimum memory (the guide\'s §4.2 table)')
    .argument('[args...]', 'build arguments common to every row (default image=native-example)')
    .option('--profile <list>', 'one row per profile, e.g. minimal,serverless,development')
    .option('--set <options>', 'one row per option set, e.g. --set "conf_drivers_xen=0" --set "conf_drivers_xen=1" (repeatable)', collect, [])
    .option('-n <count>', 'boots per row (median)', '5')
    .option('-m, --memsize <size>', 'memory for the timed boots, and the top of the memory bisection', '256')
    .option('--accel <kvm|tcg>', 'force an accelerator')
    .option('--timeout <seconds>', 'per boot', '90')
    .option('--no-memory', 'skip the minimum-memory bisection')
    .option('--json', 'JSON on stdout')
    .option('--html <file>', 'write the table and bar charts as a page')
    .allowUnknownOption(true)
    .action(async (args: string[], flags: BenchFlags) => {
      const { benchRows, benchOne, benchHeader, benchTableRows, benchNote } = await import('../../analyze/bench.ts');
      const { parseAccel, parseMemoryMiB, parsePositiveInt } = await import('../../run/run-args.ts');
      const { formatTable } = await import('../table.ts');
      const rows = benchRows((flags.profile ?? '').split(',').map((s) => s.trim()).filter(Boolean), flags.set);
      const n = parsePositiveInt('-n', flags.n);
      const opts = {
        common: args,
        n,
        memoryMiB: parseMemoryMiB(flags.memsize),
        ...(flags.accel ? { accel: parseAccel(flags.accel) } : {}),
        timeout: parsePositiveInt('--timeout', flags.timeout),
        memory: flags.memory,
        cwd: process.cwd(),
        log: (l: string) => process.stderr.write(`tailor bench ${l}\n`),
      };
      const results = [];
      for (const [i, row] of rows.entries()) results.push(await benchOne(row, opts, i, rows.length));
      if (flags.html) {
        const { benchHtml } = await import('../../analyze/bench-html.ts');
        const { writeFileAtomic } = await import('../../util/atomic.ts');
        await writeFileAtomic(flags.html, benchHtml(results, n));
        process.stderr.write(`tailor bench: wrote ${flags.html}\n`);
      }
      process.stdout.write(flags.json ? JSON.stringify(results, null, 2) + '\n' : formatTable(benchHeader, benchTableRows(results)) + benchNote(results, n) + '\n');
      if (results.some((r) => r.error)) process.exitCode = 1;
    });
}
