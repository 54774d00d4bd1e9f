/**
 * Reliability benchmark (issue 11): interrupted builds leave nothing trusted
 * and no litter, and the minimal image boots N times without a failure.
 *
 *   npm run bench:reliability -- [--kills 30] [--boots 100] [--seed 1] [--phases modules,rootfs,kernel,modules,rootfs] [--json]
 *
 * Kills: `tailor build --profile=minimal image=native-example` (kernel=custom) in a scratch folder,
 * SIGKILLed at seeded random moments inside one phase: the module builds, the kernel build, the
 * root-fs write. The moment is uniform over that phase's duration in a clean build measured first
 * (the baseline). Kills alternate between the tailor process alone (its make, gcc or mkfs children
 * run on, orphaned) and its whole process group. After each kill: every build/* /build.json must
 * match its files (a folder that does not is a trusted half-written build), the next build must
 * succeed at once, and afterwards build/ and build/.modules/ must hold no temporaries.
 *
 * The kernel phase needs a make to kill, and the shared kernel cache must not lose its kernels. So
 * its builds run in a private mount namespace (unshare -m; root) where the kernel cache's
 * kernels/ folder is an empty scratch folder and the minimal kernel's build tree is a scratch
 * copy mounted at its own path (same paths: make and ccache find everything up to date). Each
 * kernel trial empties the scratch kernels/, so the build configures, walks the tree with make
 * and assembles the kernel into the cache: the steps a killed build must never leave half done.
 * Outside the namespace nothing changes.
 *
 * Boots: the finished minimal image, N boots through the same QEMU command, failures counted
 * (must be 0), guest time to app (CLOCK_BOOTTIME in the init's marker) p50/p99, host wall.
 */
import { Command } from 'commander';
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addMeasureOptions, measureOptions, runBenchScript, type MeasureOptionSpec } from '../src/analyze/bench-script.ts';
import { bootCommand, bootSeries, percentile, summarize } from '../src/analyze/measure.ts';
import { TailorError, UsageError } from '../src/errors.ts';
import type { BuildRecord } from '../src/image/types.ts';
import { tempOwner } from '../src/image/stale-temps.ts';
import { buildTreeDir, listKernels } from '../src/kernel/custom/cache.ts';
import { fileProblems, listedFiles, loadBuildFolder } from '../src/run/build-folder.ts';
import { chooseAccel } from '../src/run/kvm-probe.ts';
import { buildQemuCommand } from '../src/run/qemu.ts';
import { parsePositiveInt } from '../src/run/run-args.ts';
import { defaultHypervisor } from '../src/run/runner.ts';
import { processAlive } from '../src/util/process-alive.ts';
import { cacheDir, repoRoot } from '../src/util/paths.ts';
import { sha256FileSync } from '../src/util/sha256.ts';

const tailor = join(repoRoot, 'bin', 'tailor.js');
let imageArgs = ['--profile=minimal', 'image=native-example', 'name=reliability'];

type Phase = 'modules' | 'kernel' | 'rootfs';
const phases: Record<Phase, { start: RegExp; end: RegExp }> = {
  modules: { start: /^tailor: resolving modules/, end: /^tailor: preparing the /m },
  kernel: { start: /^kernel: building /, end: /^tailor: building the guest init/ },
  rootfs: { start: /^tailor: writing the \S+ root filesystem/, end: /^tailor: moving the build into place/ },
};

/** Seeded PRNG (mulberry32): the same seed, the same kill moments. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface BuildRun {
  /** Also its process group id: builds run as group leaders. */
  readonly pid: number;
  readonly code: number | null;
  readonly ms: number;
  /** Milliseconds from spawn at which each phase started and ended (absent: not reached). */
  readonly marks: Partial<Record<`${Phase}:${'start' | 'end'}`, number>>;
  readonly killedAtMs?: number;
  /** The last progress line tailor had printed when the kill was sent (output arrives late under load). */
  readonly lastLineAtKill?: string;
  readonly output: string;
}

type KillMode = 'process' | 'group';

/** Bind mounts [scratch, over] for a build run in a private mount namespace. */
type Mounts = readonly (readonly [string, string])[];

/** node tailor build ..., inside `unshare -m` with `mounts` when given: exec all the way, so the pid is tailor's. */
function buildCommand(mounts: Mounts | undefined): [string, string[]] {
  const tailorArgs = [tailor, 'build', ...imageArgs];
  if (!mounts) return [process.execPath, tailorArgs];
  const script = `${mounts.map((_, i) => `mount --bind "$${2 * i + 1}" "$${2 * i + 2}"`).join('; ')}; shift ${2 * mounts.length}; exec "$@"`;
  return ['unshare', ['-m', '--propagation', 'private', 'bash', '-euc', script, 'bench', ...mounts.flat(), process.execPath, ...tailorArgs]];
}

/**
 * One `tailor build`. With `kill`, SIGKILL `delayMs` after the phase starts: the tailor
 * process alone, or its process group (the build runs as a group leader). `deadlineMs` bounds it.
 */
function build(cwd: string, env: NodeJS.ProcessEnv, deadlineMs: number, kill?: { phase: Phase; delayMs: number; mode: KillMode }, mounts?: Mounts): Promise<BuildRun> {
  return new Promise((resolvePromise) => {
    const t0 = performance.now();
    const [command, args] = buildCommand(mounts);
    const child = spawn(command, args, { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const marks: BuildRun['marks'] = {};
    let output = '';
    let pending = '';
    let killedAtMs: number | undefined;
    let lastLine = '';
    let lastLineAtKill: string | undefined;
    let killTimer: NodeJS.Timeout | undefined;
    const sigkill = (target: number) => {
      try {
        process.kill(target, 'SIGKILL');
      } catch {
        /* already gone */
      }
    };
    const onText = (b: Buffer) => {
      const s = b.toString();
      output += s;
      pending += s;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        const at = performance.now() - t0;
        if (/^(tailor|kernel):/.test(line)) lastLine = line;
        for (const [p, re] of Object.entries(phases) as [Phase, (typeof phases)[Phase]][]) {
          if (re.start.test(line) && marks[`${p}:start`] === undefined) {
            marks[`${p}:start`] = at;
            if (kill?.phase === p) {
              killTimer = setTimeout(() => {
                killedAtMs = performance.now() - t0;
                lastLineAtKill = lastLine;
                sigkill(kill.mode === 'group' ? -child.pid! : child.pid!);
              }, kill.delayMs);
            }
          }
          if (re.end.test(line) && marks[`${p}:start`] !== undefined && marks[`${p}:end`] === undefined) marks[`${p}:end`] = at;
        }
      }
    };
    child.stdout.on('data', onText);
    child.stderr.on('data', onText);
    const deadline = setTimeout(() => sigkill(-child.pid!), deadlineMs);
    child.on('close', (code) => {
      clearTimeout(deadline);
      if (killTimer) clearTimeout(killTimer);
      resolvePromise({ pid: child.pid!, code, ms: performance.now() - t0, marks, ...(killedAtMs !== undefined && code === null ? { killedAtMs, lastLineAtKill } : {}), output });
    });
  });
}

/** Build folders whose build.json does not match their files: each one a half-written build that would be trusted. */
function untrustworthy(buildRoot: string): string[] {
  const bad: string[] = [];
  if (!existsSync(buildRoot)) return bad;
  for (const name of readdirSync(buildRoot)) {
    const dir = join(buildRoot, name);
    if (name === 'last' || name.startsWith('.') || tempOwner(name) !== undefined || !statSync(dir).isDirectory()) continue;
    const json = join(dir, 'build.json');
    if (!existsSync(json)) continue; // not a build folder (nothing would trust it)
    let record: BuildRecord;
    try {
      record = JSON.parse(readFileSync(json, 'utf8')) as BuildRecord;
    } catch {
      bad.push(`${name}: build.json does not parse`);
      continue;
    }
    for (const p of fileProblems(dir, listedFiles(record))) bad.push(`${name}: ${p.path} ${p.what}`);
  }
  return bad;
}

/** Temporaries in build/ and build/.modules/ (none should survive the next build), and in the kernel cache. */
function litter(buildRoot: string, kernels: string): string[] {
  const out: string[] = [];
  for (const dir of [buildRoot, join(buildRoot, '.modules')]) {
    if (!existsSync(dir)) continue;
    for (const name of readdirSync(dir)) if (tempOwner(name) !== undefined) out.push(join(dir, name));
  }
  if (existsSync(kernels)) {
    for (const name of readdirSync(kernels)) {
      const m = /^\.tmp-[0-9a-f]+-(\d+)$/.exec(name);
      if (m && !processAlive(Number(m[1]))) out.push(join(kernels, name));
    }
  }
  return out;
}

/** Processes a killed build left running (its process group), so a report can say what the next build ran beside. */
function groupAlive(pgid: number): boolean {
  return spawnSync('pgrep', ['-g', String(pgid)]).status === 0;
}

/** The finished minimal kernel in the shared cache whose bzImage is the one in `buildDir`: its build tree. */
function sharedTreeOf(buildDir: string, record: BuildRecord): Promise<string> {
  return listKernels().then((metas) => {
    const meta = metas.find((m) => existsSync(join(cacheDir('kernels', m.key), 'bzImage')) && sha256FileSync(join(cacheDir('kernels', m.key), 'bzImage')) === record.kernel.bzImage.sha256);
    if (!meta) throw new TailorError(`no cached kernel in ${cacheDir('kernels')} has the bzImage of ${buildDir}`);
    const tree = buildTreeDir(meta.fragmentHash);
    if (!existsSync(join(tree, 'vmlinux'))) throw new TailorError(`the build tree ${tree} of kernel ${meta.key} is not complete`, { hint: 'build the minimal kernel once: tailor kernel build --profile=minimal' });
    if (existsSync(cacheDir('kernels', `.lock-${meta.fragmentHash}`))) throw new TailorError(`a build is running in ${tree}; try again when it is done`);
    return tree;
  });
}

interface Trial {
  readonly trial: number;
  readonly phase: Phase;
  readonly mode: KillMode;
  readonly delayMs: number;
  readonly attempts: number;
  readonly killed: boolean;
  readonly lastLineAtKill?: string;
  readonly orphansRunning: boolean;
  readonly untrustedAfterKill: readonly string[];
  /** Temporaries the kill left (the next build must remove them). */
  readonly litterAfterKill: number;
  readonly nextBuildOk: boolean;
  readonly nextBuildMs: number;
  readonly nextBuildError?: string;
  readonly untrustedAfterNext: readonly string[];
  readonly litterAfterNext: readonly string[];
}

const spec: MeasureOptionSpec = { timeout: 60 };

async function main(): Promise<void> {
  const program = addMeasureOptions(
    new Command('bench:reliability')
      .option('--kills <n>', 'builds to SIGKILL', '30')
      .option('--boots <n>', 'boots of the minimal image', '100')
      .option('--seed <n>', 'seed of the kill moments', '1')
      .option('--phases <list>', 'phases to kill in, round robin (a kernel trial walks the kernel tree with make: minutes)', 'modules,rootfs,kernel,modules,rootfs')
      .option('--build-timeout <seconds>', 'bound on each build', '3600')
      .option('--kernel <custom|stock>', "the image's kernel; stock: a quick run without the kernel phase", 'custom')
      .option('--keep', 'keep the scratch folder'),
    spec,
  ).parse();
  const m = measureOptions(program, spec);
  const f = program.opts<{ kills: string; boots: string; seed: string; phases: string; buildTimeout: string; kernel: string; keep?: boolean }>();
  const kills = Number(f.kills) === 0 ? 0 : parsePositiveInt('--kills', f.kills);
  const boots = Number(f.boots) === 0 ? 0 : parsePositiveInt('--boots', f.boots);
  const seed = parsePositiveInt('--seed', f.seed);
  const buildDeadline = parsePositiveInt('--build-timeout', f.buildTimeout) * 1000;
  const wanted = f.phases.split(',').filter(Boolean);
  for (const p of wanted) if (!(p in phases)) throw new UsageError(`--phases: unknown phase "${p}"`, `choose from: ${Object.keys(phases).join(', ')}`);
  const order = wanted as Phase[];
  if (f.kernel !== 'custom' && f.kernel !== 'stock') throw new UsageError(`--kernel "${f.kernel}" is not custom or stock`);
  if (f.kernel === 'stock') {
    if (order.includes('kernel')) throw new UsageError('--kernel stock builds no kernel, so there is no kernel phase to kill in', 'add --phases modules,rootfs');
    imageArgs = ['image=native-example', 'kernel=stock', 'name=reliability'];
  }
  const log = (s: string) => process.stderr.write(`bench:reliability: ${s}\n`);
  const random = rng(seed);

  const work = mkdtempSync(join(tmpdir(), 'tailor-reliability-'));
  const buildRoot = join(work, 'build');
  const env = { ...process.env };
  const scratchKernels = join(work, 'kernels');
  let kernelMounts: Mounts | undefined;
  const started = performance.now();
  try {
    // The baseline: a clean build (shared cache: builds the minimal kernel only if nobody has yet).
    log(`clean build in ${work}: tailor build ${imageArgs.join(' ')}`);
    const clean = await build(work, env, buildDeadline);
    if (clean.code !== 0) throw new TailorError(`the clean build failed:\n${clean.output.slice(-3000)}`);
    const durations: Partial<Record<Phase, number>> = {};
    for (const p of order) if (p !== 'kernel') durations[p] = (clean.marks[`${p}:end`] ?? 0) - (clean.marks[`${p}:start`] ?? 0);

    if (kills > 0 && order.includes('kernel')) {
      if (process.getuid?.() !== 0) throw new UsageError('the kernel phase runs its builds in a mount namespace, which needs root', 'run as root, or leave it out: --phases modules,rootfs');
      const folder = loadBuildFolder(join(buildRoot, 'reliability'));
      const tree = await sharedTreeOf(folder.dir, folder.record);
      const scratchTree = join(work, 'kbuild-copy');
      log(`copying the minimal kernel's build tree ${tree} to ${scratchTree}`);
      cpSync(tree, scratchTree, { recursive: true, preserveTimestamps: true, verbatimSymlinks: true });
      mkdirSync(scratchKernels);
      kernelMounts = [[scratchKernels, cacheDir('kernels')], [scratchTree, tree]];
      const first = await build(work, env, buildDeadline, undefined, kernelMounts);
      if (first.code !== 0) throw new TailorError(`the first kernel build in the namespace failed:\n${first.output.slice(-3000)}`);
      durations.kernel = (first.marks['kernel:end'] ?? 0) - (first.marks['kernel:start'] ?? 0);
    }
    log(`phase durations in a clean build (ms): ${JSON.stringify(Object.fromEntries(Object.entries(durations).map(([k, v]) => [k, Math.round(v)])))}`);

    const trials: Trial[] = [];
    for (let i = 0; i < kills; i++) {
      const phase = order[i % order.length]!;
      const mode: KillMode = i % 2 === 0 ? 'process' : 'group';
      const mounts = phase === 'kernel' ? kernelMounts : undefined;
      let run: BuildRun | undefined;
      let delayMs = 0;
      let attempts = 0;
      // A kill that lands after the build finished is no kill: draw again (bounded).
      while (attempts < 5) {
        attempts++;
        if (phase === 'kernel') for (const k of readdirSync(scratchKernels)) rmSync(join(scratchKernels, k), { recursive: true, force: true });
        delayMs = Math.round(random() * (durations[phase] ?? 0) / attempts);
        run = await build(work, env, buildDeadline, { phase, delayMs, mode }, mounts);
        if (run.killedAtMs !== undefined) break;
      }
      const killed = run?.killedAtMs !== undefined;
      // After a kill of tailor alone, its children (make, gcc, mkfs) may still run while the next build starts.
      const orphansRunning = killed && mode === 'process' && groupAlive(run!.pid);
      const untrustedAfterKill = untrustworthy(buildRoot);
      const litterAfterKill = litter(buildRoot, scratchKernels).length;
      const next = await build(work, env, buildDeadline, undefined, mounts);
      const t: Trial = {
        trial: i + 1,
        phase,
        mode,
        delayMs,
        attempts,
        killed,
        ...(run?.lastLineAtKill ? { lastLineAtKill: run.lastLineAtKill } : {}),
        orphansRunning,
        untrustedAfterKill,
        litterAfterKill,
        nextBuildOk: next.code === 0,
        nextBuildMs: Math.round(next.ms),
        ...(next.code === 0 ? {} : { nextBuildError: next.output.trim().split('\n').slice(-5).join(' | ') }),
        untrustedAfterNext: untrustworthy(buildRoot),
        litterAfterNext: litter(buildRoot, scratchKernels),
      };
      trials.push(t);
      log(
        `kill ${i + 1}/${kills}: ${phase}, ${mode}, ${killed ? `at +${delayMs} ms in the phase` : `missed after ${attempts} tries`}; ` +
          `untrusted ${t.untrustedAfterKill.length}, temporaries left ${t.litterAfterKill}${t.orphansRunning ? ', children still running' : ''}, next build ${t.nextBuildOk ? `ok in ${(t.nextBuildMs / 1000).toFixed(1)} s` : `FAILED: ${t.nextBuildError}`}, litter ${t.litterAfterNext.length}`,
      );
    }

    // tailor run refuses a folder that does not match: a copy of the finished build with one byte of its initramfs changed.
    const refusal = refusalCheck(buildRoot);
    log(`tailor run on a folder with one changed byte: ${refusal.ok ? 'refused' : 'NOT refused'}: ${refusal.message}`);

    // Boots.
    const bootReport = boots > 0 ? await bootMany(join(buildRoot, 'reliability'), boots, m, log) : undefined;

    const killedTrials = trials.filter((t) => t.killed);
    const result = {
      seed,
      work: f.keep ? work : undefined,
      kills: killedTrials.length,
      missed: trials.length - killedTrials.length,
      byPhase: Object.fromEntries(order.map((p) => [p, killedTrials.filter((t) => t.phase === p).length])),
      byMode: { process: killedTrials.filter((t) => t.mode === 'process').length, group: killedTrials.filter((t) => t.mode === 'group').length },
      trustedHalfWritten: trials.reduce((n, t) => n + t.untrustedAfterKill.length + t.untrustedAfterNext.length, 0),
      nextBuildFailures: trials.filter((t) => !t.nextBuildOk).length,
      litter: trials.reduce((n, t) => n + t.litterAfterNext.length, 0),
      leftByKills: trials.reduce((n, t) => n + t.litterAfterKill, 0),
      orphansAtNextBuild: trials.filter((t) => t.orphansRunning).length,
      cleanBuildMs: Math.round(clean.ms),
      nextBuildMsMedian: trials.length ? percentile(trials.map((t) => t.nextBuildMs), 50) : undefined,
      runRefusesDamagedFolder: refusal.ok,
      boots: bootReport,
      hostWallSeconds: Math.round((performance.now() - started) / 1000),
      trials,
    };
    if (m.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    else process.stdout.write(formatReport(result));
    const bad = result.trustedHalfWritten || result.nextBuildFailures || result.litter || !refusal.ok || (bootReport && bootReport.failures.length) || result.missed;
    if (bad) process.exitCode = 1;
  } finally {
    if (!f.keep) rmSync(work, { recursive: true, force: true });
  }
}

function refusalCheck(buildRoot: string): { ok: boolean; message: string } {
  const copy = join(buildRoot, 'reliability-damaged');
  rmSync(copy, { recursive: true, force: true });
  cpSync(join(buildRoot, 'reliability'), copy, { recursive: true }); // real copies: the kernel files are hard links into the cache
  const record = JSON.parse(readFileSync(join(copy, 'build.json'), 'utf8')) as BuildRecord;
  const initrd = join(copy, record.initrd!.file);
  const bytes = readFileSync(initrd);
  bytes[bytes.length >> 1] ^= 0x01;
  writeFileSync(`${initrd}.new`, bytes);
  renameSync(`${initrd}.new`, initrd);
  const r = spawnSync(process.execPath, [tailor, 'run', copy, '--accel', 'tcg', '--timeout', '60'], { encoding: 'utf8' });
  rmSync(copy, { recursive: true, force: true });
  const message = r.stderr.trim().split('\n').slice(0, 2).join(' ');
  return { ok: r.status === 1 && /does not have the sha256 build\.json lists/.test(r.stderr) && /tailor build/.test(r.stderr) && !/tailor:app-start/.test(r.stdout), message };
}

async function bootMany(dir: string, n: number, m: { accel?: 'kvm' | 'tcg'; timeout: number }, log: (s: string) => void) {
  const folder = loadBuildFolder(dir);
  const hypervisor = defaultHypervisor(folder);
  const choice = await chooseAccel(m.accel);
  if (choice.notice) log(choice.notice);
  const cmd = buildQemuCommand(folder.dir, folder.record, { hypervisor, accel: choice.accel, memoryMiB: 128, cpus: 1 });
  log(`${n} boots of ${dir} (${hypervisor}, accel=${choice.accel})`);
  const t0 = performance.now();
  const series = await bootSeries(n, bootCommand(cmd, choice.accel, hypervisor, m.timeout), { log, keepGoing: true });
  const wallMs = performance.now() - t0;
  const s = series.samples.length ? summarize(series.samples) : undefined;
  return {
    boots: n,
    failures: series.failures,
    accel: choice.accel,
    hypervisor,
    guestToAppMs: s?.guestToAppMs && { p50: s.guestToAppMs.median, p99: s.guestToAppMs.p99, min: s.guestToAppMs.min, max: s.guestToAppMs.max },
    hostToAppMs: s?.hostToAppMs && { p50: s.hostToAppMs.median, p99: s.hostToAppMs.p99 },
    hostToExitMs: s && { p50: s.hostTotalMs.median, p99: s.hostTotalMs.p99 },
    wallSeconds: Math.round(wallMs / 1000),
  };
}

function formatReport(r: {
  seed: number; kills: number; missed: number; byPhase: Record<string, number>; byMode: Record<string, number>; trustedHalfWritten: number;
  nextBuildFailures: number; litter: number; leftByKills: number; orphansAtNextBuild: number; cleanBuildMs: number; nextBuildMsMedian?: number; runRefusesDamagedFolder: boolean;
  boots?: Awaited<ReturnType<typeof bootMany>>; hostWallSeconds: number;
}): string {
  const b = r.boots;
  const lines = [
    `kills                        ${r.kills} (${Object.entries(r.byPhase).map(([p, n]) => `${p} ${n}`).join(', ')}; tailor alone ${r.byMode.process}, process group ${r.byMode.group}; seed ${r.seed}${r.missed ? `; ${r.missed} MISSED` : ''})`,
    `trusted half-written builds  ${r.trustedHalfWritten}`,
    `next build failed            ${r.nextBuildFailures}`,
    `litter after the next build  ${r.litter} (the kills left ${r.leftByKills} temporaries; ${r.orphansAtNextBuild} next builds started beside the killed build's children)`,
    `next build time (median)     ${r.nextBuildMsMedian === undefined ? '-' : `${(r.nextBuildMsMedian / 1000).toFixed(1)} s = ${(r.nextBuildMsMedian / r.cleanBuildMs).toFixed(2)}x the clean build (${(r.cleanBuildMs / 1000).toFixed(1)} s)`}`,
    `tailor run, changed byte     ${r.runRefusesDamagedFolder ? 'refused' : 'NOT REFUSED'}`,
    ...(b
      ? [
          `boots                        ${b.boots}, failures ${b.failures.length} (${b.hypervisor}, accel=${b.accel}, ${b.wallSeconds} s host wall)`,
          `guest time to app            p50 ${b.guestToAppMs?.p50 ?? '-'} ms, p99 ${b.guestToAppMs?.p99 ?? '-'} ms (p99/p50 ${b.guestToAppMs ? (b.guestToAppMs.p99 / b.guestToAppMs.p50).toFixed(2) : '-'})`,
          `host wall to app / to exit   p50 ${b.hostToAppMs?.p50 ?? '-'} / ${b.hostToExitMs?.p50 ?? '-'} ms, p99 ${b.hostToAppMs?.p99 ?? '-'} / ${b.hostToExitMs?.p99 ?? '-'} ms`,
        ]
      : []),
    `bench host wall              ${r.hostWallSeconds} s`,
    '',
  ];
  return lines.join('\n');
}

await runBenchScript(import.meta.url, main);
