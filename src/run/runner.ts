/**
 * Stage 6 (run): boot a build folder in QEMU, stream the guest console,
 * read the init's markers and time the boot.
 */
import { spawn } from 'node:child_process';
import { TailorError } from '../errors.ts';
import { hostRunsNatively } from '../config/arch.ts';
import { loadBuildFolder, type BuildFolder } from './build-folder.ts';
import { ConsoleScanner, type AppStartMarker } from './console-markers.ts';
import { saveTrace, traceConsoleFilter, wantsTrace } from './trace-capture.ts';
import { prepareFirecracker } from './firecracker-run.ts';
import { chooseAccel } from './kvm-probe.ts';
import { buildQemuCommand, recordArch, shellQuote, type QemuCommand } from './qemu.ts';
import type { Accel, RunOptions, RunResult } from './types.ts';
import type { StorageRequest } from './devices.ts';
import { findVirtiofsd, startVirtiofsd } from './virtiofsd.ts';
import { checkTapHost, type NetworkRequest } from './network.ts';

export interface BootOptions {
  /** Where the guest console goes; null = nowhere (still captured). */
  readonly console: NodeJS.WritableStream | null;
  readonly timeoutMs?: number;
  /** Stop QEMU as soon as the app-start marker is seen (the KVM probe). */
  readonly stopAtAppStart?: boolean;
  /** Aborting stops QEMU (Ctrl-C). */
  readonly signal?: AbortSignal;
  /** Give QEMU the terminal's input, so an interactive guest (the cli module's shell) can read it. */
  readonly interactive?: boolean;
  /** Stop QEMU when its stderr matches (KVM internal errors pause the VM instead of ending QEMU). */
  readonly stopOnStderr?: RegExp;
  /** Bytes for the guest console's input (e.g. a Ctrl-C that `tailor kernel learn` sends); not with `interactive`. */
  readonly input?: NodeJS.ReadableStream;
  /** How long the guest may take to end after the init's power-off marker (default powerOffGraceMs). */
  readonly powerOffGraceMs?: number;
}

export interface BootOutcome {
  readonly appStart?: AppStartMarker;
  /** From `tailor:exit status=N`. */
  readonly exitStatus?: number;
  readonly hostToAppMs?: number;
  readonly hostTotalMs: number;
  readonly timedOut: boolean;
  readonly interrupted: boolean;
  /** The init said `tailor:power-off` but the guest did not end within the grace period: we stopped QEMU. */
  readonly stuckAfterExit: boolean;
  /** The `Kernel panic - not syncing` line, when the kernel panicked. */
  readonly panic?: string;
  readonly initErrors: readonly string[];
  readonly qemuCode: number | null;
  readonly qemuSignal: NodeJS.Signals | null;
  readonly qemuStderr: string;
  readonly console: string;
  /** The last console lines; after a panic, the lines up to and including the panic line. */
  readonly lastLines: readonly string[];
}

/** Grace period between SIGTERM and SIGKILL when stopping QEMU. */
const killGraceMs = 2000;

/**
 * After the init's power-off marker the app's status is known and the disks
 * are unmounted and synced; the rest is the kernel's reboot, well under a
 * second. A kernel can hang there (virtio devices broken by
 * device_shutdown() while NAPI still polls: ksoftirqd soft lockups), and
 * waiting for --timeout would turn an app that exited 0 into a timeout.
 */
export const powerOffGraceMs = 20_000;

/**
 * Spawns QEMU and waits for it to exit. Host times are measured with a
 * monotonic clock from just before spawn: to the moment the app-start marker
 * line arrives on QEMU's stdout, and to QEMU's exit.
 */
export function bootQemu(cmd: QemuCommand, opts: BootOptions): Promise<BootOutcome> {
  return new Promise((resolvePromise, reject) => {
    const t0 = performance.now();
    let appStart: AppStartMarker | undefined;
    let hostToAppMs: number | undefined;
    let exitStatus: number | undefined;
    let panic: string | undefined;
    let linesBeforePanic: string[] | undefined;
    const initErrors: string[] = [];
    let timedOut = false;
    let interrupted = false;
    let stuckAfterExit = false;
    let powerOffTimer: NodeJS.Timeout | undefined;
    const stderr: Buffer[] = [];

    const child = spawn(cmd.binary, cmd.args, { stdio: [opts.interactive ? 'inherit' : opts.input ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
    if (opts.input && child.stdin) {
      child.stdin.on('error', () => {}); // QEMU gone: the input has nowhere to go
      opts.input.pipe(child.stdin);
    }
    let killTimer: NodeJS.Timeout | undefined;
    let stoppedByUs = false;
    const stop = (): void => {
      stoppedByUs = true;
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      killTimer ??= setTimeout(() => child.kill('SIGKILL'), killGraceMs);
    };
    // Never leave QEMU behind when tailor itself goes away.
    const onProcessExit = (): void => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    };
    process.on('exit', onProcessExit);

    const scanner = new ConsoleScanner((e) => {
      switch (e.kind) {
        case 'app-start':
          if (appStart === undefined) {
            appStart = e.marker;
            hostToAppMs = performance.now() - t0;
            if (opts.stopAtAppStart) stop();
          }
          break;
        case 'exit':
          exitStatus ??= e.status;
          break;
        case 'power-off':
          powerOffTimer ??= setTimeout(() => {
            stuckAfterExit = true;
            stop();
          }, opts.powerOffGraceMs ?? powerOffGraceMs);
          break;
        case 'init-error':
          initErrors.push(e.message);
          break;
        case 'panic':
          if (panic === undefined) {
            panic = e.line;
            // The lines leading to the panic say why; the stack trace after it rarely does.
            linesBeforePanic = scanner.lastLines(8);
          }
          break;
      }
    });
    child.stdout!.on('data', (b: Buffer) => {
      const s = b.toString('utf8');
      opts.console?.write(s);
      scanner.push(s);
    });
    child.stderr!.on('data', (b: Buffer) => {
      stderr.push(b);
      if (opts.stopOnStderr?.test(Buffer.concat(stderr).toString('utf8'))) stop();
    });

    const timeout =
      opts.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            stop();
          }, opts.timeoutMs);
    const onAbort = (): void => {
      interrupted = true;
      stop();
    };
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    if (opts.signal?.aborted) onAbort();

    child.on('error', (e: NodeJS.ErrnoException) => {
      cleanup();
      reject(
        new TailorError(`cannot start ${cmd.binary}: ${e.code === 'ENOENT' ? 'not found on PATH' : e.message}`, {
          hint: 'install it with: apt-get install -y qemu-system-x86 (or run `tailor doctor --fix`)',
        }),
      );
    });
    const cleanup = (): void => {
      if (timeout) clearTimeout(timeout);
      if (killTimer) clearTimeout(killTimer);
      if (powerOffTimer) clearTimeout(powerOffTimer);
      opts.signal?.removeEventListener('abort', onAbort);
      process.off('exit', onProcessExit);
    };
    child.on('close', (code, signal) => {
      const hostTotalMs = performance.now() - t0;
      cleanup();
      scanner.end();
      const qemuStderr = Buffer.concat(stderr).toString('utf8');
      // A terminal's Ctrl-C reaches QEMU (same process group) too, possibly before our own handler runs.
      if (!stoppedByUs && (signal === 'SIGINT' || /terminating on signal 2\b/.test(qemuStderr))) interrupted = true;
      resolvePromise({
        appStart,
        exitStatus,
        hostToAppMs,
        hostTotalMs,
        timedOut,
        interrupted,
        stuckAfterExit,
        panic,
        initErrors,
        qemuCode: code,
        qemuSignal: signal,
        qemuStderr,
        console: scanner.text,
        lastLines: linesBeforePanic ?? scanner.lastLines(),
      });
    });
  });
}

/**
 * Shares go over virtiofs when the image can mount it and the host has a
 * virtiofsd, else over virtio-9p; an explicit choice is kept (and checked
 * against the image when the command is built).
 */
export function chooseShareTransport(build: BuildFolder, storage: StorageRequest | undefined): StorageRequest | undefined {
  if (!storage?.shares?.length || storage.shareTransport) return storage;
  const virtiofs = (build.record.hostShares ?? []).includes('virtiofs') && findVirtiofsd() !== undefined;
  return { ...storage, shareTransport: virtiofs ? 'virtiofs' : '9p' };
}

/** Default hypervisor: microvm (fastest) unless the image's root disk needs PCI because its kernel lacks virtio-mmio. */
export function defaultHypervisor(build: BuildFolder, storage?: StorageRequest, network?: NetworkRequest): 'qemu' | 'qemu_microvm' {
  const k = build.record.kernel;
  if (!recordArch(build.record).qemu.microvm) return 'qemu';
  // A network device: q35's virtio-net-pci is the path measured to work with every kernel (microvm needs ACPI for Debian's).
  if (network && network.mode !== 'none' && k.hasPci) return 'qemu';
  // NVMe exists only on PCI
  if (storage?.nvmeImage) return 'qemu';
  const devices = build.record.rootDisk || storage?.diskImage || storage?.extraDisks?.length || storage?.shares?.length;
  return devices && !k.hasVirtioMmio && k.hasPci ? 'qemu' : 'qemu_microvm';
}

function round(ms: number): number {
  return Math.round(ms);
}

/** The one summary line `tailor run` ends with; every figure says how it was measured. */
export function summaryLine(r: RunResult): string {
  const parts: string[] = [];
  if (r.guestToAppMs !== undefined && r.hostToAppMs !== undefined) {
    parts.push(
      `app started after ${round(r.guestToAppMs)} ms guest time (CLOCK_BOOTTIME in the init's marker), ` +
        `${round(r.hostToAppMs)} ms host wall from QEMU start`,
    );
  } else {
    parts.push('app-start marker not seen');
  }
  parts.push(`QEMU exited after ${round(r.hostTotalMs)} ms host wall${r.timedOut ? ' (stopped by --timeout)' : ''}`);
  parts.push(`accel=${r.accel}`);
  parts.push(`memory=${r.memoryMiB} MiB`);
  return `tailor: ${parts.join('; ')}`;
}

export interface RunImageExtras {
  /** Where notices and the summary go (default: process.stderr). */
  readonly log?: NodeJS.WritableStream;
  readonly signal?: AbortSignal;
}

/** Exit code for a run stopped by --timeout (as timeout(1)) and by Ctrl-C (128+SIGINT). */
export const timeoutExitCode = 124;
export const interruptExitCode = 130;

/**
 * Boots the build in opts.buildDir and returns the guest application's exit
 * status with the boot's timings. With dryRun, prints the QEMU command instead.
 */
export async function runImage(opts: RunOptions, extras: RunImageExtras = {}): Promise<RunResult> {
  const log = extras.log ?? process.stderr;
  const out = opts.console ?? process.stdout;
  const build = loadBuildFolder(opts.buildDir);
  const arch = recordArch(build.record);
  if (opts.hypervisor === 'firecracker') {
    const fc = await prepareFirecracker(build, opts);
    for (const n of fc.notices) log.write(`${n}\n`);
    if (!fc.command) {
      // What `firecracker --no-api --config-file vm.json` would be given.
      out.write(`${JSON.stringify(fc.config, null, 2)}\n`);
      return { exitCode: 0, accel: 'kvm', hostTotalMs: 0, memoryMiB: opts.memoryMiB, console: '', timedOut: false };
    }
    const boot = fc.config['boot-source'];
    const cmd = { ...fc.command, kernelFile: boot.kernel_image_path, kernelForm: arch.firecracker?.kernel === 'vmlinux' ? ('pvh-vmlinux' as const) : ('bzImage' as const), cmdline: boot.boot_args ?? '' };
    if (opts.verbose) log.write(`tailor: ${shellQuote([cmd.binary, ...cmd.args])}\n`);
    return bootAndReport(build, cmd, 'kvm', opts, extras, fc.cleanup);
  }
  const storage = chooseShareTransport(build, opts.storage);
  const plan = { hypervisor: opts.hypervisor, memoryMiB: opts.memoryMiB, cpus: opts.cpus, execute: opts.execute, storage, kernelWords: opts.kernelWords, network: opts.network, userData: opts.userData };

  let accel: Accel;
  if (opts.dryRun) {
    // A dry run boots nothing, so it does not probe: it uses a recorded verdict or TCG.
    const choice = hostRunsNatively(arch) ? await chooseAccel(opts.accel) : { accel: opts.accel ?? ('tcg' as const) };
    accel = choice.accel;
    const cmd = buildQemuCommand(build.dir, build.record, { ...plan, accel });
    out.write(`${shellQuote([cmd.binary, ...cmd.args])}\n`);
    return { exitCode: 0, accel, hostTotalMs: 0, memoryMiB: opts.memoryMiB, console: '', timedOut: false };
  }
  // Validate before probing so that a bad combination fails at once.
  buildQemuCommand(build.dir, build.record, { ...plan, accel: 'tcg' });
  if (opts.network) checkTapHost(opts.network);
  // A guest of another architecture runs under TCG only (validatePlan refuses --accel kvm for it): nothing to probe.
  const choice = !hostRunsNatively(arch) ? { accel: opts.accel ?? ('tcg' as const), notice: undefined } : await chooseAccel(opts.accel, async (deadlineMs) => {
    if (opts.verbose) log.write(`tailor: probing KVM: booting ${build.dir} under KVM (deadline ${deadlineMs / 1000} s)\n`);
    // no network device in the probe: its forwarded ports would collide with the real boot's
    // no shares either: a virtiofsd serves one VM, and the probe only needs the app to start
    const probeCmd = buildQemuCommand(build.dir, build.record, { ...plan, network: undefined, storage: storage && { ...storage, shares: [] }, accel: 'kvm' });
    const o = await bootQemu(probeCmd, { console: null, timeoutMs: deadlineMs, stopAtAppStart: true,
      signal: extras.signal,
      stopOnStderr: /KVM internal error|emulation failure/i,
    });
    // An interrupted probe says nothing about KVM: record no verdict.
    if (o.interrupted) throw new TailorError('interrupted while probing KVM; no verdict recorded', { exitCode: interruptExitCode });
    if (o.appStart) return undefined;
    if (o.timedOut) return `a Linux guest did not reach init within ${deadlineMs / 1000} s under KVM`;
    // QEMU's own words: a KVM error, else its last line ("failed to initialize kvm: ...").
    const why = (o.qemuStderr.match(/KVM internal error[^\n]*|emulation failure[^\n]*|[^\n]*error[^\n]*/i)?.[0] ?? o.qemuStderr.trim().split('\n').pop() ?? '').trim();
    return `a Linux guest failed under KVM${why ? `: ${why}` : ` (QEMU exit ${o.qemuCode ?? o.qemuSignal})`}`;
  });
  accel = choice.accel;
  if (choice.notice) log.write(`${choice.notice}\n`);
  const daemons =
    storage?.shareTransport === 'virtiofs' && storage.shares?.length ? await startVirtiofsd(findVirtiofsd()!, storage.shares) : undefined;
  const cmd = buildQemuCommand(build.dir, build.record, {
    ...plan,
    accel,
    ...(daemons ? { storage: { ...storage, shareSockets: daemons.sockets } } : {}),
  });
  if (opts.verbose) {
    log.write(`tailor: kernel ${cmd.kernelForm} ${cmd.kernelFile}\n`);
    log.write(`tailor: ${shellQuote([cmd.binary, ...cmd.args])}\n`);
  }
  return bootAndReport(build, cmd, accel, opts, extras, daemons?.stop);
}

/** Boots `cmd` (QEMU, or Firecracker with the same console), then turns the outcome into the run's result; `stopAfter` cleans up. */
async function bootAndReport(
  build: BuildFolder,
  cmd: QemuCommand,
  accel: Accel,
  opts: RunOptions,
  extras: RunImageExtras,
  stopAfter?: () => unknown,
): Promise<RunResult> {
  const log = extras.log ?? process.stderr;
  const out = opts.console ?? process.stdout;
  // --trace: the trace block goes to build/<name>/trace.out, not the terminal.
  const tracing = wantsTrace(opts.execute ?? build.record.appCmdline);
  const o = await bootQemu(cmd, {
    console: tracing ? traceConsoleFilter(out) : out,
    timeoutMs: opts.timeoutSeconds === undefined ? undefined : opts.timeoutSeconds * 1000,
    signal: extras.signal,
    interactive: opts.interactive,
  }).finally(() => stopAfter?.());
  if (tracing) {
    const saved = await saveTrace(build.dir, o.console);
    log.write(saved ? `tailor: trace saved to ${saved.path} (${saved.lines} lines${saved.complete ? '' : ', incomplete'}); see \`tailor trace summary\`\n` : 'tailor: --trace given but the guest sent no trace\n');
  }
  const result: RunResult = {
    exitCode: 0,
    accel,
    guestToAppMs: o.appStart ? o.appStart.boottimeNs / 1e6 : undefined,
    hostToAppMs: o.hostToAppMs,
    hostTotalMs: o.hostTotalMs,
    memoryMiB: opts.memoryMiB,
    console: o.console,
    timedOut: o.timedOut,
  };

  if (o.panic && o.exitStatus === undefined) {
    throw new TailorError(`the guest kernel panicked: ${o.panic}\nconsole up to the panic:\n  ${o.lastLines.join('\n  ')}`, {
      hint:
        o.appStart === undefined
          ? 'it died before the init started: too little memory (-m), or a missing driver/root filesystem in the kernel'
          : 'the init (PID 1) died; see the console above',
    });
  }
  if (o.timedOut) {
    log.write(`tailor: stopped QEMU after the ${opts.timeoutSeconds} s timeout (--timeout)\n`);
    if (o.appStart === undefined) {
      log.write(
        o.console.trim() === ''
          ? `tailor: the guest printed nothing before the timeout; too little memory is a common cause (-m ${opts.memoryMiB}; Debian's stock kernel needs about 81 MiB)\n`
          : `tailor: the application never started; last console lines:\n  ${o.lastLines.slice(-10).join('\n  ')}\n`,
      );
    }
    return { ...result, exitCode: timeoutExitCode };
  }
  if (o.interrupted) {
    log.write('tailor: interrupted; QEMU stopped\n');
    return { ...result, exitCode: interruptExitCode };
  }
  if (o.exitStatus === undefined) {
    const stderrTail = o.qemuStderr.trim().split('\n').slice(-5).join('\n  ');
    if (o.appStart === undefined && o.qemuCode !== 0 && stderrTail) {
      throw new TailorError(`QEMU failed (exit ${o.qemuCode ?? o.qemuSignal}):\n  ${stderrTail}`, {
        hint: `run with --verbose to see the QEMU command`,
      });
    }
    const silentReset =
      o.appStart === undefined && o.console.trim() === ''
        ? `tailor: the guest reset before printing anything; too little memory is the usual cause (-m ${opts.memoryMiB}; Debian's stock kernel needs about 81 MiB)\n`
        : '';
    log.write(
      `tailor: QEMU exited without the init's exit marker (tailor:exit status=N); reporting status 1\n` +
        silentReset +
        (o.lastLines.length ? `tailor: last console lines:\n  ${o.lastLines.slice(-10).join('\n  ')}\n` : '') +
        (stderrTail ? `tailor: QEMU said:\n  ${stderrTail}\n` : ''),
    );
    return { ...result, exitCode: 1 };
  }
  if (o.stuckAfterExit) {
    log.write(
      `tailor: warning: the guest kernel did not power off within ${(powerOffGraceMs / 1000).toFixed(0)} s of the init's reboot (the app had exited with status ${o.exitStatus}); QEMU stopped. ` +
        `Last console lines:\n  ${o.lastLines.slice(-5).join('\n  ')}\n`,
    );
  }
  // Repeat the init's own errors where the user looks last (the console may have scrolled past them).
  for (const e of o.initErrors) log.write(`tailor: guest init error: ${e}\n`);
  return { ...result, exitCode: o.exitStatus };
}

