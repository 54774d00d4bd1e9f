import type { Command } from 'commander';

interface TraceFlags {
  since?: string;
  until?: string;
  json?: boolean;
}

/** Loads build/<name>/trace.out and applies --since/--until. */
async function load(buildArg: string | undefined, flags: TraceFlags) {
  const { join } = await import('node:path');
  const { resolveBuildDir } = await import('../../run/build-folder.ts');
  const t = await import('../../analyze/trace.ts');
  const path = join(resolveBuildDir(buildArg), 'trace.out');
  const file = t.readTraceFile(path);
  const since = flags.since === undefined ? undefined : t.parseTraceTime('--since', flags.since);
  const until = flags.until === undefined ? undefined : t.parseTraceTime('--until', flags.until);
  const records = t.window(file.records, since, until);
  if (!file.complete) process.stderr.write(`tailor: ${path} is incomplete (the guest stopped while sending it)\n`);
  return { t, file, records, path };
}

const out = (s: string) => process.stdout.write(s);

export function register(program: Command): void {
  const trace = program
    .command('trace')
    .description("analyse the kernel trace of the last `tailor run -e '--trace=PATTERNS ...'` (build/<name>/trace.out)");
  const common = (c: Command) =>
    c
      .argument('[build]', 'build folder or name under build/ (default: build/last)')
      .option('--since <time>', 'only records at or after this time since boot (2.5, 2.5s, 2500ms)')
      .option('--until <time>', 'only records up to this time since boot')
      .option('--json', 'JSON output');

  common(trace.command('list').description('the tracepoints the guest enabled, and how often each fired')).action(async (b: string | undefined, flags: TraceFlags) => {
    const { t, file, records } = await load(b, flags);
    const counts = new Map(t.countEvents(records).map((c) => [c.event, c.count]));
    const rows = file.enabled.map((e) => ({ event: e, count: counts.get(e.slice(e.indexOf(':') + 1)) ?? 0 }));
    if (flags.json) { out(JSON.stringify(rows, null, 2) + '\n'); return; }
    const { formatTable } = await import('../table.ts');
    out(formatTable(['event', 'records'], rows.map((r) => [r.event, String(r.count)])));
  });

  common(trace.command('summary').description('records per event, with the time span they cover')).action(async (b: string | undefined, flags: TraceFlags) => {
    const { t, file, records } = await load(b, flags);
    const counts = t.countEvents(records, file.enabled);
    if (flags.json) { out(JSON.stringify({ records: records.length, events: counts }, null, 2) + '\n'); return; }
    const { formatTable } = await import('../table.ts');
    const span = records.length ? `${records[0]!.time.toFixed(6)} s to ${records.at(-1)!.time.toFixed(6)} s since boot` : 'no records';
    out(`${records.length} records, ${span}\n`);
    out(formatTable(['event', 'count', 'first (s)', 'last (s)'], counts.map((c) => [c.event, String(c.count), c.first?.toFixed(6) ?? '-', c.last?.toFixed(6) ?? '-'])));
  });

  common(trace.command('prof').description('time per event pair: on-CPU time per task (sched_switch), entry/exit and start/end pairs')).action(async (b: string | undefined, flags: TraceFlags) => {
    const { t, records } = await load(b, flags);
    const stats = t.profile(records);
    if (flags.json) { out(JSON.stringify(stats, null, 2) + '\n'); return; }
    if (!stats.length) { out('no event pairs in the trace (trace sched:sched_switch, or *_entry/*_exit events)\n'); return; }
    const { formatTable } = await import('../table.ts');
    const ms = (n: number) => n.toFixed(3);
    out(formatTable(['pair', 'task', 'count', 'total ms', 'avg ms', 'max ms'], stats.map((s) => [s.pair, s.task, String(s.count), ms(s.totalMs), ms(s.avgMs), ms(s.maxMs)])));
  });
}
