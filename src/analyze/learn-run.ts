/**
 * `tailor kernel learn`, the running half: boot a build on a kernel with
 * system call tracepoints, let the application start, run the workload from
 * the host against the forwarded ports, stop the application with a Ctrl-C
 * on the console (the init then sends the trace and powers off), and hand
 * the trace to the analysis (learn.ts).
 *
 * The kernel: a custom build's own kernel configuration plus the `tracing`
 * feature (so a call its features lack returns ENOSYS as it would in
 * production), or Debian's stock kernel as it is. The raw_syscalls
 * tracepoints (every system call's number, arguments and result) are part
 * of any kernel with event tracing on x86-64 (kernel/entry/common.c); the
 * per-call syscalls:* events (FTRACE_SYSCALLS) are not needed. Everything goes to <build>/learn/: the kernel and
 * root files (hard links), build.json, trace.out and learn.json.
 */
import { spawn } from 'node:child_process';
import { copyFile, link, mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import type { BuildConfig, OptionValue, ValueSource } from '../config/types.ts';
import { TailorError } from '../errors.ts';
import { sha256File } from '../image/index.ts';
import type { ArtifactRecord, BuildRecord } from '../image/types.ts';
import { prepareCustomKernel } from '../kernel/custom/index.ts';
import { loadBuildFolder, type BuildFolder } from '../run/build-folder.ts';
import { chooseAccel } from '../run/kvm-probe.ts';
import { networkRequest } from '../run/network.ts';
import { buildQemuCommand } from '../run/qemu.ts';
import { bootQemu, defaultHypervisor, type BootOutcome } from '../run/runner.ts';
import { extractTrace, formatTraceFile } from '../run/trace-capture.ts';
import type { Accel } from '../run/types.ts';
import { learnFromRecords, learnTracePatterns, type LearnReport } from './learn.ts';
import { parseTrace } from './trace.ts';

export interface LearnOptions {
  readonly buildDir: string;
  /** A host shell command run (and retried until it exits 0) once the application has started. */
  readonly workload?: string;
  /** `HOST:GUEST` TCP forwards, as `tailor run --forward`. */
  readonly forwards: readonly string[];
  readonly memoryMiB: number;
  /** Seconds to wait after the app started when there is no workload (and before the workload's first try). */
  readonly settleSeconds: number;
  /** Deadline for the whole boot, seconds. */
  readonly timeoutSeconds: number;
  /** The kernel's trace ring buffer, MiB (trace_buf_size=). */
  readonly bufferMiB: number;
  readonly accel?: Accel;
  /** Progress lines. */
  readonly log: (line: string) => void;
  /** Where the guest console goes (the trace block is kept off it). */
  readonly console?: NodeJS.WritableStream;
}

export interface LearnResult {
  readonly report: LearnReport;
  readonly build: BuildFolder;
  /** What the application ran on, e.g. "the custom kernel (image's configuration + tracing)". */
  readonly kernelLabel: string;
  readonly learnDir: string;
  /** The init sent the whole trace, and the ring buffer kept every event. */
  readonly traceComplete: boolean;
  readonly lostEvents: number;
  readonly workloadAttempts: number;
  /** Set when the application ended on its own (its exit status is in the console). */
  readonly stoppedEarly?: string;
  readonly exitStatus?: number;
}

/** The learning kernel's needs: the image's plus the tracepoints. */
export function learningNeeds(imageNeeds: readonly string[]): string[] {
  return [...new Set([...imageNeeds, 'tracing'])].sort();
}

/** A BuildConfig back from build.json (the options as resolved, with their sources). */
function configFromRecord(record: BuildRecord, cwd: string, overrides: Record<string, OptionValue> = {}): BuildConfig {
  const options: Record<string, OptionValue> = {};
  const sources: Record<string, ValueSource> = {};
  for (const [k, v] of Object.entries(record.options)) {
    const entry = v as { value: OptionValue; source?: ValueSource };
    options[k] = entry.value;
    if (entry.source) sources[k] = entry.source;
  }
  for (const [k, v] of Object.entries(overrides)) {
    options[k] = v;
    sources[k] = { kind: 'derived', reason: 'tailor kernel learn' };
  }
  return { options, sources, ...(record.profile ? { profileName: record.profile } : {}), hash: record.configHash, warnings: [], modulePaths: [], cwd };
}

async function place(source: string, dest: string): Promise<ArtifactRecord> {
  await rm(dest, { force: true });
  try {
    await link(source, dest);
  } catch {
    await copyFile(source, dest);
  }
  return { file: basename(dest), bytes: (await stat(dest)).size, sha256: await sha256File(dest) };
}

/** The learn folder: the build's root files and the learning kernel (a custom build's own configuration plus tracing). */
async function prepareLearnFolder(build: BuildFolder, log: (s: string) => void): Promise<{ dir: string; record: BuildRecord; kernelLabel: string }> {
  const dir = join(build.dir, 'learn');
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const r = build.record;
  for (const f of [r.initrd, r.rootDisk]) if (f) await place(join(build.dir, f.file), join(dir, f.file));
  if (r.kernel.flavour !== 'custom') {
    await place(join(build.dir, r.kernel.bzImage.file), join(dir, r.kernel.bzImage.file));
    if (r.kernel.vmlinux) await place(join(build.dir, r.kernel.vmlinux.file), join(dir, r.kernel.vmlinux.file));
    await writeFile(join(dir, 'build.json'), JSON.stringify(r, null, 2) + '\n');
    return { dir, record: r, kernelLabel: `Debian's stock kernel ${r.kernel.release}` };
  }
  const needs = learningNeeds(r.kernelNeeds ?? []);
  const config = configFromRecord(r, join(build.dir, '..', '..'));
  log(`preparing the learning kernel: the image's configuration with tracing (needs: ${needs.join(', ')})`);
  const kernel = await prepareCustomKernel(config, needs);
  const bzImage = await place(kernel.bzImage, join(dir, 'bzImage'));
  const vmlinux = kernel.vmlinux ? await place(kernel.vmlinux, join(dir, 'vmlinux')) : undefined;
  const record: BuildRecord = {
    ...r,
    kernel: {
      ...r.kernel,
      release: kernel.release,
      bzImage,
      ...(vmlinux ? { vmlinux } : {}),
      hasVirtioMmio: kernel.hasVirtioMmio,
      hasVirtioBlk: kernel.hasVirtioBlk,
      hasPci: kernel.hasPci,
      hasAcpi: kernel.hasAcpi,
    },
    kernelNeeds: needs,
  };
  if (!vmlinux) delete (record.kernel as { vmlinux?: ArtifactRecord }).vmlinux;
  await writeFile(join(dir, 'build.json'), JSON.stringify(record, null, 2) + '\n');
  return { dir, record, kernelLabel: "this image's custom kernel (its configuration plus tracing)" };
}

/** "# entries-in-buffer/entries-written: 548/560" → events the ring buffer dropped. */
export function lostEvents(traceLines: readonly string[]): number {
  for (const l of traceLines) {
    const m = /entries-in-buffer\/entries-written:\s*(\d+)\/(\d+)/.exec(l);
    if (m) return Number(m[2]) - Number(m[1]);
  }
  return 0;
}

/** Run `command` in a host shell; resolves with its exit code (null when it was killed at the deadline). */
function runWorkload(command: string, timeoutMs: number, log: (s: string) => void): Promise<number | null> {
  return new Promise((resolvePromise) => {
    const child = spawn('/bin/sh', ['-c', command], { stdio: ['ignore', 'pipe', 'pipe'] });
    let tail = '';
    const keep = (b: Buffer) => (tail = (tail + b.toString()).slice(-400));
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', () => resolvePromise(127));
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code !== 0) log(`workload exited ${code ?? 'at its deadline'}${tail.trim() ? `: ${tail.trim().split('\n').slice(-2).join(' | ')}` : ''}`);
      resolvePromise(code);
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Boot, load, stop with Ctrl-C, read the trace, analyse it. */
export async function learnImage(o: LearnOptions): Promise<LearnResult> {
  const build = loadBuildFolder(o.buildDir);
  const network = networkRequest(build.record, { forwards: o.forwards });
  if (o.workload && !network?.forwards?.length) {
    o.log('note: --workload without --forward: the workload cannot reach the guest through a port (fine if it does not need to)');
  }
  const { dir, record, kernelLabel } = await prepareLearnFolder(build, o.log);
  const { accel } = await chooseAccel(o.accel);
  const hypervisor = defaultHypervisor({ dir, record }, undefined, network);
  const cmd = buildQemuCommand(dir, record, {
    hypervisor,
    accel,
    memoryMiB: o.memoryMiB,
    cpus: 1,
    execute: `--trace=${learnTracePatterns} ${record.appCmdline}`,
    // A ring buffer that keeps the start (the calls that set the application up) when it fills.
    kernelWords: [`trace_buf_size=${o.bufferMiB}M`, 'trace_options=nooverwrite'],
    ...(network ? { network } : {}),
  });

  const input = new PassThrough();
  let started = false;
  let traceBegun = false;
  let pending = '';
  const watch = new Writable({
    write(chunk: Buffer | string, _e, cb) {
      const text = pending + chunk.toString();
      const lines = text.split('\n');
      pending = lines.pop()!;
      for (const l of lines) {
        if (l.includes('tailor:app-start')) started = true;
        if (l.startsWith('tailor:trace-begin')) traceBegun = true;
        if (!/^\r?tailor:trace(-event)? /.test(l)) o.console?.write(`${l}\n`);
      }
      cb();
    },
  });
  o.log(`booting ${dir} (${hypervisor}, ${accel}, -m ${o.memoryMiB}M) with --trace=${learnTracePatterns}`);
  const abort = new AbortController();
  let outcome: BootOutcome | undefined;
  const boot = bootQemu(cmd, { console: watch, input, timeoutMs: o.timeoutSeconds * 1000, signal: abort.signal }).then((x) => (outcome = x));
  const alive = () => outcome === undefined;
  let attempts = 0;
  let stoppedEarly: string | undefined;
  try {
    while (!started && alive()) await sleep(100);
    if (!started) throw bootFailure(await boot, 'the application never started');
    o.log(`the application started; ${o.workload ? 'running the workload' : `letting it run ${o.settleSeconds} s`}`);
    await sleep(o.settleSeconds * 1000);
    while (o.workload && alive()) {
      attempts++;
      const code = await runWorkload(o.workload, 120_000, o.log);
      if (code === 0) {
        o.log(`the workload succeeded (try ${attempts})`);
        break;
      }
      if (code === 127) throw new TailorError(`the workload's command was not found (exit 127): ${o.workload}`, { hint: 'install the client it runs, or give its full path' });
      if (attempts >= 30) throw new TailorError(`the workload did not succeed in ${attempts} tries: ${o.workload}`, { hint: 'check it against `tailor run --forward ...` by hand' });
      await sleep(2000);
    }
    if (alive()) {
      // Ctrl-C on the console: SIGINT to the application (its controlling terminal); the init then sends the trace.
      o.log('stopping the application with Ctrl-C on the console; the guest then sends the trace');
      for (let i = 0; i < 3 && alive() && !traceBegun; i++) {
        input.write('\x03');
        for (let t = 0; t < 200 && alive() && !traceBegun; t++) await sleep(100);
      }
      if (!traceBegun && alive()) throw new TailorError('the application did not stop on Ctrl-C (SIGINT) within 60 s, so the guest sent no trace', { hint: 'an application that ignores SIGINT cannot be learned this way yet' });
    } else {
      // The application ended by itself (maybe for want of a feature): its trace says why.
      stoppedEarly = `the application ended before ${o.workload ? 'the workload succeeded' : 'it was stopped'}`;
      o.log(`${stoppedEarly}; analysing its trace`);
    }
    await boot;
  } finally {
    input.end();
    if (alive()) abort.abort();
    await boot;
  }
  const result = outcome!;
  const captured = extractTrace(result.console);
  if (!captured) throw bootFailure(result, 'the guest sent no trace');
  await writeFile(join(dir, 'trace.out'), formatTraceFile(captured));
  const trace = parseTrace(formatTraceFile(captured));
  const report = learnFromRecords(trace.records);
  const lost = lostEvents(captured.lines);
  await writeFile(join(dir, 'learn.json'), JSON.stringify({ kernel: kernelLabel, workload: o.workload ?? null, lostEvents: lost, complete: captured.complete, ...report }, null, 2) + '\n');
  return {
    report, build, kernelLabel, learnDir: dir, traceComplete: captured.complete && lost === 0, lostEvents: lost, workloadAttempts: attempts,
    ...(stoppedEarly ? { stoppedEarly } : {}), ...(result.exitStatus !== undefined ? { exitStatus: result.exitStatus } : {}),
  };
}

function bootFailure(o: BootOutcome, what: string): TailorError {
  const why = o.panic ?? (o.initErrors.length ? `init: ${o.initErrors.join('; ')}` : o.timedOut ? 'timed out' : `QEMU exit ${o.qemuCode ?? o.qemuSignal}`);
  return new TailorError(`${what} (${why}); last console lines:\n  ${o.lastLines.slice(-10).join('\n  ')}`, {
    hint: 'try the image with `tailor run` first; give more memory with -m or more time with --timeout',
  });
}
