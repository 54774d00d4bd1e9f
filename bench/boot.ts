/**
 * Boot benchmark: N boots of one build, min/median/p99/max of the guest time
 * to application start (CLOCK_BOOTTIME in the init's marker) and of the host
 * wall time from QEMU spawn to that marker and to QEMU's exit.
 *
 *   npm run bench:boot -- [build] [-n 10] [--json] [-p qemu|qemu_microvm] [-m 128M] [--accel tcg] [--kernel-form bzImage]
 */
import { Command } from 'commander';
import { TailorError } from '../src/errors.ts';
import { addMeasureOptions, measureOptions, runBenchScript, type MeasureOptionSpec } from '../src/analyze/bench-script.ts';
import { bootCommand, bootSeries, summarize, type TimeStats } from '../src/analyze/measure.ts';
import { loadBuildFolder, resolveBuildDir } from '../src/run/build-folder.ts';
import { chooseAccel } from '../src/run/kvm-probe.ts';
import { buildQemuCommand } from '../src/run/qemu.ts';
import { parseHypervisor } from '../src/run/run-args.ts';
import { defaultHypervisor } from '../src/run/runner.ts';

const spec: MeasureOptionSpec = { boots: { default: 10, per: 'run' }, timeout: 120, memsize: '128' };

async function main(): Promise<void> {
  const program = addMeasureOptions(
    new Command('bench:boot')
      .argument('[build]', 'build folder or name (default: build/last)')
      .option('-p, --hypervisor <name>', 'qemu | qemu_microvm')
      .option('-e, --execute <cmdline>', "replace the image's command line")
      .option('--kernel-form <form>', 'pvh-vmlinux (default when present) or bzImage'),
    spec,
  ).parse();
  const m = measureOptions(program, spec);
  const flags = program.opts<{ hypervisor?: string; execute?: string; kernelForm?: string }>();
  const build = loadBuildFolder(resolveBuildDir(program.args[0]));
  const hypervisor = flags.hypervisor === undefined ? defaultHypervisor(build) : parseHypervisor(flags.hypervisor);
  if (hypervisor === 'firecracker') throw new TailorError('the boot bench runs QEMU only', { hint: 'use -p qemu or -p qemu_microvm' });
  if (flags.kernelForm !== undefined && flags.kernelForm !== 'bzImage' && flags.kernelForm !== 'pvh-vmlinux') {
    throw new TailorError(`--kernel-form "${flags.kernelForm}" is not pvh-vmlinux or bzImage`);
  }
  const memoryMiB = m.memoryMiB!;
  const choice = await chooseAccel(m.accel);
  if (choice.notice) process.stderr.write(`${choice.notice}\n`);
  const cmd = buildQemuCommand(build.dir, build.record, {
    hypervisor,
    accel: choice.accel,
    memoryMiB,
    cpus: 1,
    execute: flags.execute,
    kernelForm: flags.kernelForm as 'bzImage' | 'pvh-vmlinux' | undefined,
  });

  const log = (s: string) => process.stderr.write(`${s}\n`);
  const { samples } = await bootSeries(m.n, bootCommand(cmd, choice.accel, hypervisor, m.timeout), { log });
  const s = summarize(samples);
  const result = {
    build: build.dir,
    name: build.record.name,
    boots: m.n,
    accel: choice.accel,
    hypervisor,
    kernelForm: cmd.kernelForm,
    memoryMiB,
    guestToAppMs: s.guestToAppMs,
    hostToAppMs: s.hostToAppMs,
    hostToExitMs: s.hostTotalMs,
    measuredAs: {
      guestToAppMs: "guest CLOCK_BOOTTIME printed by the init's tailor:app-start marker",
      hostToAppMs: 'host monotonic clock, QEMU spawn to the marker line arriving on its stdout',
      hostToExitMs: 'host monotonic clock, QEMU spawn to QEMU exit',
    },
  };
  if (m.json) {
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return;
  }
  const row = (label: string, t: TimeStats | undefined): string =>
    `${label.padEnd(26)} ${[t?.min, t?.median, t?.p99, t?.max].map((v) => (v === undefined ? '-' : v.toFixed(0)).padStart(7)).join(' ')}`;
  process.stdout.write(
    [
      `${result.name}: ${m.n} boots, ${hypervisor}, ${cmd.kernelForm}, accel=${choice.accel}, ${memoryMiB} MiB`,
      `${'ms'.padEnd(26)} ${['min', 'median', 'p99', 'max'].map((h) => h.padStart(7)).join(' ')}`,
      row('guest time to app start', result.guestToAppMs),
      row('host wall to app start', result.hostToAppMs),
      row('host wall to QEMU exit', result.hostToExitMs),
      '',
    ].join('\n'),
  );
}

await runBenchScript(import.meta.url, main);
