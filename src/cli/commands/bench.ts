import type { Command } from 'commander';
import { addMeasureOptions, measureOptions, type MeasureOptionSpec } from '../../analyze/bench-script.ts';

interface BenchFlags {
  profile?: string;
  set: string[];
  html?: string;
}

const spec: MeasureOptionSpec = { boots: { default: 5, per: 'row' }, timeout: 90, memsize: '256', memoryBisection: true };

const collect = (value: string, previous: string[]): string[] => [...previous, value];

export function register(program: Command): void {
  const bench = program
    .command('bench')
    .description('build and measure several variants of an image: size, guest time to app start, host wall time, minimum memory (the guide\'s §4.2 table)')
    .argument('[args...]', 'build arguments common to every row (default image=native-example)')
    .option('--profile <list>', 'one row per profile, e.g. minimal,serverless,development')
    .option('--set <options>', 'one row per option set, e.g. --set "conf_drivers_xen=0" --set "conf_drivers_xen=1" (repeatable)', collect, [])
    .option('--html <file>', 'write the table and bar charts as a page');
  addMeasureOptions(bench, spec)
    .allowUnknownOption(true)
    .action(async (args: string[], flags: BenchFlags) => {
      const { benchRows, benchOne, benchHeader, benchTableRows, benchNote } = await import('../../analyze/bench.ts');
      const { formatTable } = await import('../table.ts');
      const rows = benchRows((flags.profile ?? '').split(',').map((s) => s.trim()).filter(Boolean), flags.set);
      const m = measureOptions(bench, spec);
      const n = m.n;
      const opts = {
        common: args,
        n,
        memoryMiB: m.memoryMiB!,
        ...(m.accel ? { accel: m.accel } : {}),
        timeout: m.timeout,
        memory: m.memory,
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
      process.stdout.write(m.json ? JSON.stringify(results, null, 2) + '\n' : formatTable(benchHeader, benchTableRows(results)) + benchNote(results, n) + '\n');
      if (results.some((r) => r.error)) process.exitCode = 1;
    });
}
