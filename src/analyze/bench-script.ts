/**
 * What every benchmark shares besides the measuring itself (measure.ts): the
 * measuring options (-n, -m, --accel, --timeout, --no-memory, --json),
 * declared once with their help and checked once, and the way a bench
 * script reports a failure. Used by `tailor bench` and every bench/ script.
 */
import type { Command } from 'commander';
import { pathToFileURL } from 'node:url';
import { TailorError } from '../errors.ts';
import { parseAccel, parseMemoryMiB, parsePositiveInt, parseTimeoutSeconds } from '../run/run-args.ts';
import type { Accel } from '../run/types.ts';

/** Which measuring options a bench takes, and their defaults. */
export interface MeasureOptionSpec {
  /** Boots per row (-n): its default and what a row is; leave out for a bench that boots once per row. */
  readonly boots?: { readonly default: number; readonly per: string };
  /** Seconds per boot (--timeout). */
  readonly timeout: number;
  /** What --timeout bounds, when not a whole boot. */
  readonly timeoutHelp?: string;
  /** Guest memory (-m, --memsize), e.g. '256'; leave out for a bench with a fixed memory size. */
  readonly memsize?: string;
  /** Offer --no-memory to skip the minimum-memory bisection. */
  readonly memoryBisection?: boolean;
}

export interface MeasureOptions {
  /** Boots per row (1 for a bench without -n). */
  readonly n: number;
  /** Forced accelerator; undefined = KVM where the probe says it works, else TCG. */
  readonly accel?: Accel;
  /** Seconds per boot. */
  readonly timeout: number;
  readonly json: boolean;
  /** Run the minimum-memory bisection. */
  readonly memory: boolean;
  /** -m in MiB, when the bench takes it. */
  readonly memoryMiB?: number;
}

/** Declares the measuring options on `cmd` (a commander program or subcommand). */
export function addMeasureOptions(cmd: Command, spec: MeasureOptionSpec): Command {
  if (spec.boots) cmd.option('-n <count>', `boots per ${spec.boots.per} (time median)`, String(spec.boots.default));
  if (spec.memsize !== undefined) cmd.option('-m, --memsize <size>', 'guest memory for the timed boots (and the top of the memory bisection)', spec.memsize);
  cmd.option('--accel <kvm|tcg>', 'force an accelerator (default: KVM where the probe says it works, else TCG)');
  cmd.option('--timeout <seconds>', spec.timeoutHelp ?? 'per boot', String(spec.timeout));
  if (spec.memoryBisection) cmd.option('--no-memory', 'skip the minimum-memory bisection');
  cmd.option('--json', 'machine-readable result on stdout');
  return cmd;
}

/** The measuring options given to `cmd`, checked (a bad value is a UsageError naming the option). */
export function measureOptions(cmd: Command, spec: MeasureOptionSpec): MeasureOptions {
  const f = cmd.opts<{ n?: string; memsize?: string; accel?: string; timeout: string; memory?: boolean; json?: boolean }>();
  return {
    n: spec.boots && f.n !== undefined ? parsePositiveInt('-n', f.n) : 1,
    ...(f.accel !== undefined ? { accel: parseAccel(f.accel) } : {}),
    timeout: parseTimeoutSeconds(f.timeout),
    json: f.json === true,
    memory: spec.memoryBisection === true && f.memory !== false,
    ...(spec.memsize !== undefined && f.memsize !== undefined ? { memoryMiB: parseMemoryMiB(f.memsize) } : {}),
  };
}

/**
 * Runs a bench script's `main` when the module is the script node was started
 * with (benches also export functions for tests and other benches). A
 * TailorError prints its message and hint, no stack, and sets its exit code.
 */
export async function runBenchScript(moduleUrl: string, main: () => Promise<void>): Promise<void> {
  if (process.argv[1] === undefined || moduleUrl !== pathToFileURL(process.argv[1]).href) return;
  try {
    await main();
  } catch (err) {
    if (!(err instanceof TailorError)) throw err;
    process.stderr.write(`tailor: ${err.message}\n${err.hint ? `  ${err.hint}\n` : ''}`);
    process.exitCode = err.exitCode;
  }
}
