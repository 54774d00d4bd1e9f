/**
 * `tailor kernel learn [build] [--workload CMD] [--forward H:G]`: the kernel
 * features an application really uses, learned from a syscall trace of it
 * running (src/analyze/learn-run.ts, learn.ts), printed as the `kernel:`
 * line for its module.yaml with the calls that justify each feature.
 */
import type { Command } from 'commander';

interface LearnFlags {
  workload?: string;
  forward: string[];
  memsize: string;
  settle: string;
  timeout: string;
  buffer: string;
  accel?: string;
  json?: boolean;
  verbose?: boolean;
}

const collect = (v: string, all: string[]) => [...all, v];

export function registerLearn(kernel: Command): void {
  kernel
    .command('learn')
    .description("boot the image with system call tracing, run it (and a workload), and print the kernel: line its calls justify")
    .argument('[build]', 'build folder or name under build/ (default: build/last)')
    .option('--workload <cmd>', 'host shell command run against the guest once the app started (retried until it exits 0), e.g. "redis-benchmark -p 6379 -n 2000 -q"')
    .option('--forward <host:guest>', 'forward TCP port HOST on 127.0.0.1 to GUEST in the VM, as tailor run; repeatable', collect, [])
    .option('-m, --memsize <size>', 'guest memory: MiB, or 512M / 1G (the trace buffer comes out of it)', '512')
    .option('--settle <seconds>', 'time the app gets after it started, before the workload (or before it is stopped)', '5')
    .option('--timeout <seconds>', 'deadline for the whole boot', '900')
    .option('--buffer <MiB>', "the kernel's trace ring buffer (trace_buf_size); when it fills, later calls are dropped", '32')
    .option('--accel <kvm|tcg>', 'force an accelerator')
    .option('--json', 'print the report as JSON')
    .option('-v, --verbose', 'copy the guest console to stderr')
    .action(async (buildArg: string | undefined, flags: LearnFlags) => {
      const { resolveBuildDir } = await import('../../run/build-folder.ts');
      const { parseMemoryMiB, parseAccel, parsePositiveInt, parseTimeoutSeconds } = await import('../../run/run-args.ts');
      const { UsageError } = await import('../../errors.ts');
      const { learnImage } = await import('../../analyze/learn-run.ts');
      const { formatLearnReport, compareWithDeclared } = await import('../../analyze/learn.ts');
      const settle = Number(flags.settle);
      if (!Number.isFinite(settle) || settle < 0) throw new UsageError(`--settle "${flags.settle}" is not a number of seconds`, 'e.g. --settle 5');
      const log = (s: string) => process.stderr.write(`tailor learn: ${s}\n`);
      const r = await learnImage({
        buildDir: resolveBuildDir(buildArg),
        ...(flags.workload !== undefined ? { workload: flags.workload } : {}),
        forwards: flags.forward,
        memoryMiB: parseMemoryMiB(flags.memsize),
        settleSeconds: settle,
        timeoutSeconds: parseTimeoutSeconds(flags.timeout),
        bufferMiB: parsePositiveInt('--buffer', flags.buffer),
        ...(flags.accel ? { accel: parseAccel(flags.accel) } : {}),
        log,
        ...(flags.verbose ? { console: process.stderr } : {}),
      });
      if (!r.traceComplete) {
        log(`warning: the trace is incomplete${r.lostEvents ? ` (${r.lostEvents} events did not fit the ${flags.buffer} MiB buffer)` : ''}; learn again with a larger --buffer or a shorter --workload`);
      }
      if (r.stoppedEarly) log(`warning: ${r.stoppedEarly} (exit status ${r.exitStatus ?? 'unknown'}); see the console with -v`);
      log(`trace and report saved in ${r.learnDir} (trace.out, learn.json)`);
      const declared = r.build.record.kernelNeeds ?? [];
      if (flags.json) {
        process.stdout.write(JSON.stringify({ kernel: r.kernelLabel, complete: r.traceComplete, lostEvents: r.lostEvents, ...r.report, ...compareWithDeclared(r.report, declared) }, null, 2) + '\n');
        return;
      }
      process.stdout.write(formatLearnReport(r.report, { declared, kernelLabel: r.kernelLabel }));
    });
}
