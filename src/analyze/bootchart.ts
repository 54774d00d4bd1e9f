/**
 * `tailor bootchart`: one boot with the kernel's `initcall_debug` and the
 * init's `--bootchart` markers; the guest time to application start split
 * into consecutive phases (kernel setup, each init-call level, the rest of
 * the kernel, then the init's own phases), so the phases add up to it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { TailorError } from '../errors.ts';
import type { BuildFolder } from '../run/build-folder.ts';
import { defaultHypervisor, runImage } from '../run/runner.ts';
import type { Accel } from '../run/types.ts';
import { locateCustomKernel } from './kernel-locate.ts';
import {
  initcallLevelsFromVmlinux, labelInitcalls, parseInitcallLines, parseSystemMap, type InitcallLevel, type InitcallRun, type SymbolMap,
} from './initcalls.ts';

export interface Phase {
  readonly name: string;
  readonly kind: 'kernel' | 'init';
  readonly startMs: number;
  readonly endMs: number;
  readonly durationMs: number;
}

export interface Bootchart {
  readonly build: string;
  readonly accel: Accel;
  readonly memoryMiB: number;
  readonly phases: readonly Phase[];
  /** Guest CLOCK_BOOTTIME at the app-start marker, ms. */
  readonly guestToAppMs: number;
  readonly phaseSumMs: number;
  readonly hostToAppMs?: number;
  readonly initcalls: readonly InitcallRun[];
  /** How each figure was measured. */
  readonly method: string;
}

const phaseMarker = /^tailor:phase name=(\S+) boottime_ns=(\d+)/;

export function parsePhaseMarkers(consoleText: string): { name: string; ms: number }[] {
  const out: { name: string; ms: number }[] = [];
  for (const line of consoleText.split('\n')) {
    const m = phaseMarker.exec(line.replace(/\r$/, ''));
    // The init replays early phases once --bootchart is parsed: keep the first of each name.
    if (m && !out.some((p) => p.name === m[1])) out.push({ name: m[1]!, ms: Number(m[2]) / 1e6 });
  }
  return out;
}

/**
 * Consecutive phases from 0 to the app-start marker. Kernel part: setup up to
 * the first init call, one phase per run of same-level init calls, then the
 * rest up to the init's first marker (`kernel`); init part: one per marker.
 */
export function computePhases(markers: readonly { name: string; ms: number }[], initcalls: readonly InitcallRun[], appStartMs?: number): Phase[] {
  const initStart = markers.find((m) => m.name === 'kernel');
  if (!initStart) throw new TailorError('no `tailor:phase name=kernel` marker on the console', { hint: 'the image\'s init is too old for --bootchart: rebuild it' });
  const phases: Phase[] = [];
  let t = 0;
  const push = (name: string, kind: Phase['kind'], end: number) => {
    const e = Math.min(Math.max(end, t), kind === 'kernel' ? initStart.ms : Infinity);
    phases.push({ name, kind, startMs: t, endMs: e, durationMs: e - t });
    t = e;
  };
  if (initcalls.length) {
    push('setup (to the first init call)', 'kernel', initcalls[0]!.startMs);
    let i = 0;
    while (i < initcalls.length) {
      const level: InitcallLevel | undefined = initcalls[i]!.level;
      let j = i;
      while (j + 1 < initcalls.length && initcalls[j + 1]!.level === level) j++;
      // Work between levels (SMP bring-up before the pure level, ...) is its own phase, not the calls'.
      // (gaps under 1 ms are folded into the calls that follow, to keep the chart readable)
      if (initcalls[i]!.startMs > t + 1) push(`work before the ${level ?? 'other'} init calls`, 'kernel', initcalls[i]!.startMs);
      push(`${level ?? 'other'} init calls (${j - i + 1})`, 'kernel', initcalls[j]!.endMs);
      i = j + 1;
    }
    push('after init calls (free init memory, exec /init)', 'kernel', initStart.ms);
  } else push('boot (no initcall_debug lines)', 'kernel', initStart.ms);
  for (const m of markers) if (m.name !== 'kernel') push(m.name, 'init', m.ms);
  // From the init's last phase to the app-start marker (printed just before the program is exec'd).
  if (appStartMs !== undefined && appStartMs > t) push('app exec', 'init', appStartMs);
  return phases;
}

/** The kernel's symbol map and init-call levels for a build, when the files are there. */
async function kernelMaps(folder: BuildFolder): Promise<{ map?: SymbolMap; levels: Map<bigint, InitcallLevel> }> {
  const { dir, record } = folder;
  let systemMap: string | undefined;
  let config = '';
  // The initcall tables are read from a vmlinux: the build's, else (arm64 boots its Image) the kernel cache's stripped copy.
  let vmlinux = record.kernel.vmlinux ? join(dir, record.kernel.vmlinux.file) : undefined;
  if (record.kernel.flavour === 'custom') {
    const k = await locateCustomKernel(record).catch(() => undefined);
    if (k) {
      systemMap = join(k.cacheDir, 'System.map');
      config = readFileSync(join(k.cacheDir, 'config'), 'utf8');
      if (!vmlinux && existsSync(join(k.cacheDir, 'vmlinux'))) vmlinux = join(k.cacheDir, 'vmlinux');
    }
  } else {
    const p = `/boot/System.map-${record.kernel.release}`;
    if (existsSync(p)) systemMap = p;
    const c = `/boot/config-${record.kernel.release}`;
    if (existsSync(c)) config = readFileSync(c, 'utf8');
  }
  if (!systemMap || !existsSync(systemMap)) return { levels: new Map() };
  const map = parseSystemMap(readFileSync(systemMap, 'utf8'));
  const levels = vmlinux ? initcallLevelsFromVmlinux(readFileSync(vmlinux), map, /HAVE_ARCH_PREL32_RELOCATIONS=y/.test(config) || config === '') : new Map();
  return { map, levels };
}

export interface BootchartOptions {
  readonly memoryMiB: number;
  readonly accel?: Accel;
  readonly timeoutSeconds: number;
  /** Application command line (default: the image's). */
  readonly execute?: string;
  readonly console?: NodeJS.WritableStream;
}

export async function runBootchart(folder: BuildFolder, opts: BootchartOptions): Promise<Bootchart> {
  const app = opts.execute ?? folder.record.appCmdline;
  const r = await runImage(
    {
      buildDir: folder.dir, memoryMiB: opts.memoryMiB, cpus: 1, hypervisor: defaultHypervisor(folder), accel: opts.accel,
      execute: `--bootchart ${app}`, timeoutSeconds: opts.timeoutSeconds, dryRun: false, verbose: false,
      kernelWords: ['initcall_debug', 'printk.time=1', 'ignore_loglevel'],
      console: opts.console ?? new Writable({ write: (_c, _e, cb) => cb() }),
    },
    { log: new Writable({ write: (_c, _e, cb) => cb() }) },
  );
  if (r.guestToAppMs === undefined) throw new TailorError(`the guest never reached the app-start marker (exit ${r.exitCode}${r.timedOut ? ', timed out' : ''})`, { hint: 'check `tailor run` on this build first' });
  const { map, levels } = await kernelMaps(folder);
  const initcalls = labelInitcalls(parseInitcallLines(r.console), map, levels);
  const phases = computePhases(parsePhaseMarkers(r.console), initcalls, r.guestToAppMs);
  return {
    build: folder.record.name,
    accel: r.accel,
    memoryMiB: opts.memoryMiB,
    phases,
    guestToAppMs: r.guestToAppMs,
    phaseSumMs: phases.reduce((n, p) => n + p.durationMs, 0),
    ...(r.hostToAppMs !== undefined ? { hostToAppMs: r.hostToAppMs } : {}),
    initcalls,
    method:
      'one boot; kernel phases from printk time stamps of initcall_debug lines (levels from the kernel\'s initcall tables), ' +
      'init phases and app start from the init\'s CLOCK_BOOTTIME markers; initcall_debug printing itself adds console time',
  };
}

const f2 = (n: number) => n.toFixed(2);

/** OSv-style terminal form plus the slowest init calls. */
export function formatBootchart(b: Bootchart, top = 10): string {
  const lines = [`tailor bootchart: ${b.build} (${b.accel.toUpperCase()}, ${b.memoryMiB} MiB; ms since the kernel started)`];
  for (const p of b.phases) lines.push(`\t${p.kind === 'kernel' ? 'kernel: ' : ''}${p.name}: ${f2(p.endMs)}ms, (+${f2(p.durationMs)}ms)`);
  const diff = b.guestToAppMs ? (100 * Math.abs(b.phaseSumMs - b.guestToAppMs)) / b.guestToAppMs : 0;
  lines.push(`sum of phases ${f2(b.phaseSumMs)} ms; guest time to app start ${f2(b.guestToAppMs)} ms (app-start marker), difference ${diff.toFixed(1)}%${b.hostToAppMs !== undefined ? `; host wall to app start ${f2(b.hostToAppMs)} ms` : ''}`);
  const slow = [...b.initcalls].sort((x, y) => y.durationMs - x.durationMs).slice(0, top).filter((c) => c.durationMs > 0);
  if (slow.length) {
    lines.push(`slowest init calls (kernel's own "after N usecs"; ${b.initcalls.length} calls, ${f2(b.initcalls.reduce((n, c) => n + c.durationMs, 0))} ms in all):`);
    for (const c of slow) lines.push(`\t${c.fn} [${c.level ?? '?'}]: ${f2(c.durationMs)}ms`);
  }
  // A guest that fell back to the jiffies clocksource (TSC calibration failed under a loaded TCG host) ticks in 10 ms steps.
  const ends = b.phases.map((p) => p.endMs).filter((t) => t > 0);
  if (ends.length > 3 && ends.every((t) => Math.abs(t / 10 - Math.round(t / 10)) < 1e-6)) {
    lines.push('note: every time is a multiple of 10 ms: the guest clock ran on jiffies (no TSC clocksource), so short phases read as 0 or 10 ms');
  }
  lines.push(`(${b.method})`);
  return lines.join('\n') + '\n';
}
