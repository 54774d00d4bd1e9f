/**
 * Host analysis of build/<name>/trace.out (tracefs text, saved by the runner):
 * list (enabled events and how often each fired), summary (counts per event),
 * prof (time between event pairs: on-CPU slices from sched_switch, and
 * *_entry/*_exit, *_start/*_end pairs per task), all with --since/--until.
 */
import { readFileSync } from 'node:fs';
import { UsageError } from '../errors.ts';

export interface TraceRecord {
  readonly task: string;
  readonly pid: number;
  readonly cpu: number;
  /** Seconds since boot (tracefs's clock). */
  readonly time: number;
  readonly event: string;
  readonly details: string;
}

export interface TraceFile {
  /** "subsystem:event" names the guest enabled. */
  readonly enabled: readonly string[];
  readonly records: readonly TraceRecord[];
  readonly complete: boolean;
}

const recordRe = /^\s*(.+)-(\d+)\s+(?:\(\s*[-\d]+\)\s+)?\[(\d+)\]\s+(?:\S+\s+)?(\d+\.\d+):\s+([\w:.-]+):\s?(.*)$/;

export function parseTrace(text: string): TraceFile {
  const enabled: string[] = [];
  const records: TraceRecord[] = [];
  let complete = true;
  for (const line of text.split('\n')) {
    if (line.startsWith('# tailor:event ')) enabled.push(line.slice('# tailor:event '.length).trim());
    else if (line.startsWith('# tailor trace:') && line.includes('INCOMPLETE')) complete = false;
    if (line.startsWith('#') || !line.trim()) continue;
    const m = recordRe.exec(line);
    if (m) records.push({ task: m[1]!.trim(), pid: Number(m[2]), cpu: Number(m[3]), time: Number(m[4]), event: m[5]!, details: m[6]! });
  }
  return { enabled, records, complete };
}

export function readTraceFile(path: string): TraceFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new UsageError(`no trace at ${path}`, "run the image with a trace first: tailor run -e '--trace=sched* /your/app'");
  }
  return parseTrace(text);
}

/** "2.5" / "2.5s" / "2500ms" / "1500us" → seconds. */
export function parseTraceTime(what: string, text: string): number {
  const m = /^(\d+(?:\.\d+)?)(s|ms|us)?$/.exec(text.trim());
  if (!m) throw new UsageError(`${what} ${text}: expected a time since boot like 2.5, 2.5s, 2500ms or 1500us`);
  const v = Number(m[1]);
  return m[2] === 'ms' ? v / 1e3 : m[2] === 'us' ? v / 1e6 : v;
}

export function window(records: readonly TraceRecord[], since?: number, until?: number): TraceRecord[] {
  return records.filter((r) => (since === undefined || r.time >= since) && (until === undefined || r.time <= until));
}

export interface EventCount {
  readonly event: string;
  readonly count: number;
  readonly first?: number;
  readonly last?: number;
}

/** Counts per event, largest first; with `enabled`, events that never fired are listed with 0. */
export function countEvents(records: readonly TraceRecord[], enabled: readonly string[] = []): EventCount[] {
  const by = new Map<string, { count: number; first: number; last: number }>();
  for (const r of records) {
    const e = by.get(r.event) ?? { count: 0, first: r.time, last: r.time };
    e.count++;
    e.last = r.time;
    by.set(r.event, e);
  }
  const out: EventCount[] = [...by.entries()].map(([event, v]) => ({ event, ...v }));
  for (const full of enabled) {
    const name = full.includes(':') ? full.slice(full.indexOf(':') + 1) : full;
    if (!by.has(name)) out.push({ event: name, count: 0 });
  }
  return out.sort((a, b) => b.count - a.count || a.event.localeCompare(b.event));
}

export interface PairStat {
  /** What was timed, e.g. "on-CPU (sched_switch)" or "irq_handler_entry→irq_handler_exit". */
  readonly pair: string;
  /** Task (comm) for on-CPU time, or the task that hit the pair. */
  readonly task: string;
  readonly count: number;
  readonly totalMs: number;
  readonly maxMs: number;
  readonly avgMs: number;
}

const field = (details: string, name: string) => new RegExp(`(?:^|\\s)${name}=(\\S+)`).exec(details)?.[1];

/** Time between event pairs: on-CPU slices per task from sched_switch, and entry/exit, start/end pairs per pid. */
export function profile(records: readonly TraceRecord[]): PairStat[] {
  const acc = new Map<string, { pair: string; task: string; n: number; total: number; max: number }>();
  const add = (pair: string, task: string, seconds: number) => {
    const key = `${pair}\0${task}`;
    const a = acc.get(key) ?? { pair, task, n: 0, total: 0, max: 0 };
    a.n++;
    a.total += seconds;
    a.max = Math.max(a.max, seconds);
    acc.set(key, a);
  };
  // On-CPU: from the switch that put a task on a CPU to the switch that took it off.
  const onCpu = new Map<number, { task: string; since: number }>();
  // Open entry/start events per (pid, base name).
  const open = new Map<string, number>();
  for (const r of records) {
    if (r.event === 'sched_switch') {
      const prev = field(r.details, 'prev_comm');
      const next = field(r.details, 'next_comm');
      const nextPid = field(r.details, 'next_pid');
      const cur = onCpu.get(r.cpu);
      if (cur && prev !== undefined) add('on-CPU (sched_switch)', cur.task, r.time - cur.since);
      if (next !== undefined) onCpu.set(r.cpu, { task: `${next}-${nextPid ?? '?'}`, since: r.time });
      continue;
    }
    const m = /^(.*)_(entry|start|exit|end)$/.exec(r.event);
    if (!m) continue;
    const key = `${r.pid}\0${m[1]}`;
    if (m[2] === 'entry' || m[2] === 'start') open.set(key, r.time);
    else {
      const t0 = open.get(key);
      if (t0 !== undefined) {
        open.delete(key);
        const startName = m[2] === 'exit' ? 'entry' : 'start';
        add(`${m[1]}_${startName}→${r.event}`, `${r.task}-${r.pid}`, r.time - t0);
      }
    }
  }
  return [...acc.values()]
    .map((a) => ({ pair: a.pair, task: a.task, count: a.n, totalMs: a.total * 1e3, maxMs: a.max * 1e3, avgMs: (a.total * 1e3) / a.n }))
    .sort((a, b) => b.totalMs - a.totalMs || a.task.localeCompare(b.task));
}
