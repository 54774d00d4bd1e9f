/**
 * Boot benchmark: N boots of one build, min/median/max of the guest time to
 * application start (CLOCK_BOOTTIME in the init's marker) and of the host wall
 * time from QEMU spawn to that marker and to QEMU's exit.
 *
 *   npm run bench:boot -- [build] [-n 10] [--json] [-p qemu|qemu_microvm] [-m 128M] [--accel tcg] [--kernel-form bzImage]
 */
import { Command } from 'commander';
import { pathToFileURL } from 'node:url';
import { TailorError } from '../src/errors.ts';
import { loadBuildFolder, resolveBuildDir } from '../src/run/build-folder.ts';
import { chooseAccel } from '../src/run/kvm-probe.ts';
import { buildQemuCommand } from '../src/run/qemu.ts';
import { parseAccel, parseHypervisor, parseMemoryMiB, parsePositiveInt } from '../src/run/run-args.ts';
import { bootQemu, defaultHypervisor } from '../src/run/runner.ts';

export interface Stats {
  readonly min: number;
  readonly median: number;
  readonly max: number;
}

export function stats(values: readonly number[]): Stats {
  if (values.length === 0) throw new Error('no values');
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  const median = s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  return { min: s[0]!, median, max: s[s.length - 1]! };
}

interface Flags {
  n: string;
  json?: boolean;
  hypervisor?: string;
  memsize: string;
  accel?: string;
  execute?: string;
  kernelForm?: string;
  timeout: string;
}

async function main(): Promise<void> {
  const program = new Command('bench:boot')
    .argument('[build]', 'build folder or name (default: build/last)')
    .option('-n <count>', 'number of boots', '10')
    .option('--json', 'machine-readable result on stdout')
    .option('-p, --hypervisor <name>', 'qemu | qemu_microvm')
    .option('-m, --memsize <size>', 'guest memory', '128')
    .option('--accel <kvm|tcg>', 'force an accelerator')
    .option('-e, --execute <cmdline>', "replace the image's command line")
    .option('--kernel-form <form>', 'pvh-vmlinux (default when present) or bzImage')
    .option('--timeout <seconds>', 'per boot', '120')
    .parse();
  const flags = program.opts<Flags>();
  const n = parsePositiveInt('-n', flags.n);
  const build = loadBuildFolder(resolveBuildDir(program.args[0]));
  const hypervisor = flags.hypervisor === undefined ? defaultHypervisor(build) : parseHypervisor(flags.hypervisor);
  if (hypervisor === 'firecracker') throw new TailorError('the boot bench runs QEMU only', { hint: 'use -p qemu or -p qemu_microvm' });
  if (flags.kernelForm !== undefined && flags.kernelForm !== 'bzImage' && flags.kernelForm !== 'pvh-vmlinux') {
    throw new TailorError(`--kernel-form "${flags.kernelForm}" is not pvh-vmlinux or bzImage`);
  }
  const memoryMiB = parseMemoryMiB(flags.memsize);
  const choice = await chooseAccel(flags.accel === undefined ? undefined : parseAccel(flags.accel));
  if (choice.notice) process.stderr.write(`${choice.notice}\n`);
  const cmd = buildQemuCommand(build.dir, build.record, {
    hypervisor,
    accel: choice.accel,
    memoryMiB,
    cpus: 1,
    execute: flags.execute,
    kernelForm: flags.kernelForm as 'bzImage' | 'pvh-vmlinux' | undefined,
  });

  const guest: number[] = [];
  const hostToApp: number[] = [];
  const hostTotal: number[] = [];
  for (let i = 1; i <= n; i++) {
    const o = await bootQemu(cmd, { console: null, timeoutMs: Number(flags.timeout) * 1000 });
    if (!o.appStart || o.hostToAppMs === undefined || o.exitStatus === undefined) {
      throw new TailorError(
        `boot ${i}/${n} did not ${o.appStart ? 'reach the exit marker' : 'reach the app-start marker'}` +
          `${o.timedOut ? ` within ${flags.timeout} s` : ''}; last console lines:\n  ${o.lastLines.join('\n  ')}`,
      );
    }
    guest.push(o.appStart.boottimeNs / 1e6);
    hostToApp.push(o.hostToAppMs);
    hostTotal.push(o.hostTotalMs);
    process.stderr.write(
      `boot ${i}/${n}: guest ${guest.at(-1)!.toFixed(0)} ms, host to app ${o.hostToAppMs.toFixed(0)} ms, host to exit ${o.hostTotalMs.toFixed(0)} ms\n`,
    );
  }
  const result = {
    build: build.dir,
    name: build.record.name,
    boots: n,
    accel: choice.accel,
    hypervisor,
    kernelForm: cmd.kernelForm,
    memoryMiB,
    guestToAppMs: stats(guest),
    hostToAppMs: stats(hostToApp),
    hostToExitMs: stats(hostTotal),
    measuredAs: {
      guestToAppMs: "guest CLOCK_BOOTTIME printed by the init's tailor:app-start marker",
      hostToAppMs: 'host monotonic clock, QEMU spawn to the marker line arriving on its stdout',
      hostToExitMs: 'host monotonic clock, QEMU spawn to QEMU exit',
    },
  };
  if (flags.json) {
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return;
  }
  const row = (label: string, s: Stats): string =>
    `${label.padEnd(26)} ${s.min.toFixed(0).padStart(7)} ${s.median.toFixed(0).padStart(7)} ${s.max.toFixed(0).padStart(7)}`;
  process.stdout.write(
    [
      `${result.name}: ${n} boots, ${hypervisor}, ${cmd.kernelForm}, accel=${choice.accel}, ${memoryMiB} MiB`,
      `${'ms'.padEnd(26)} ${'min'.padStart(7)} ${'median'.padStart(7)} ${'max'.padStart(7)}`,
      row('guest time to app start', result.guestToAppMs),
      row('host wall to app start', result.hostToAppMs),
      row('host wall to QEMU exit', result.hostToExitMs),
      '',
    ].join('\n'),
  );
}

// Run only as a script (tests import stats() from here).
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  try {
    await main();
  } catch (err) {
    process.stderr.write(`tailor: ${err instanceof Error ? err.message : String(err)}\n`);
    if (err instanceof TailorError && err.hint) process.stderr.write(`  ${err.hint}\n`);
    process.exitCode = err instanceof TailorError ? err.exitCode : 70;
  }
}
