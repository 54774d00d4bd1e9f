// `tailor run` end to end on guest behaviours the real image cannot produce on demand (a guest that
// sleeps, a PID 1 that dies): Debian's stock kernel boots in QEMU under TCG with a tiny fixture init
// that speaks the console protocol. run-real-build.test.ts covers the real init and image stage.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../../src/util/paths.ts';
import { exec } from '../../src/util/exec.ts';
import { devKvmProblem } from '../../src/run/kvm-probe.ts';
import { fixtureUnavailable, makeFixtureBuild } from './run-fixture.ts';

const tailor = join(repoRoot, 'bin', 'tailor.js');
let work = '';
let build = '';
let unavailable: string | undefined;

before(async () => {
  unavailable = await fixtureUnavailable();
  if (unavailable) return;
  work = mkdtempSync(join(tmpdir(), 'tailor-run-e2e-'));
  build = await makeFixtureBuild(join(work, 'build'));
});
after(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs tailor; `onStdout` may act on the child while it runs (send it a signal). */
function runTailor(args: string[], opts: { env?: NodeJS.ProcessEnv; onStdout?: (all: string, pid: number) => void } = {}): Promise<Ran> {
  return new Promise((resolvePromise) => {
    const t0 = Date.now();
    const child = spawn(process.execPath, [tailor, ...args], { env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => {
      stdout += b.toString();
      opts.onStdout?.(stdout, child.pid!);
    });
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('close', (code) => resolvePromise({ code, stdout, stderr, ms: Date.now() - t0 }));
  });
}

async function qemuProcessesMatching(token: string): Promise<string> {
  const r = await exec('pgrep', ['-af', `qemu-system.*${token}`], { allowFailure: true });
  return r.stdout.trim();
}

test('-e replaces the command line and a non-zero status is the exit code; -m and -c reach QEMU', async (t) => {
  if (unavailable) return t.skip(unavailable);
  const r = await runTailor(['run', build, '--accel', 'tcg', '-e', 'exit 3', '-m', '256M', '-c', '2', '--timeout', '120']);
  assert.equal(r.code, 3, r.stderr);
  assert.match(r.stdout, /hello from the fixture/);
  assert.match(r.stderr, /tailor: app started after \d+ ms guest time .* accel=tcg; memory=256 MiB/);
});

test('--timeout stops QEMU, exits 124 and leaves no QEMU process behind', async (t) => {
  if (unavailable) return t.skip(unavailable);
  const token = `tmo${process.pid}x${Date.now()}`;
  const r = await runTailor(['run', build, '--accel', 'tcg', '-e', `sleep 600 ${token}`, '--timeout', '8']);
  assert.equal(r.code, 124, r.stderr);
  assert.match(r.stderr, /stopped QEMU after the 8 s timeout/);
  assert.ok(r.ms < 30_000, `took ${r.ms} ms`);
  assert.equal(await qemuProcessesMatching(token), '');
});

test('Ctrl-C (SIGINT to tailor) stops QEMU, exits 130, no stray QEMU', async (t) => {
  if (unavailable) return t.skip(unavailable);
  const token = `int${process.pid}x${Date.now()}`;
  let sent = false;
  let qemuWhileRunning = '';
  const r = await runTailor(['run', build, '--accel', 'tcg', '-e', `sleep 600 ${token}`, '--timeout', '120'], {
    onStdout: (all, pid) => {
      if (!sent && all.includes('tailor:app-start')) {
        sent = true;
        void qemuProcessesMatching(token).then((p) => {
          qemuWhileRunning = p;
          process.kill(pid, 'SIGINT');
        });
      }
    },
  });
  assert.ok(sent, `the guest never started: ${r.stderr}`);
  assert.notEqual(qemuWhileRunning, '', 'pgrep finds the QEMU process while it runs (so the check below can fail)');
  assert.equal(r.code, 130, r.stderr);
  assert.match(r.stderr, /interrupted; QEMU stopped/);
  assert.equal(await qemuProcessesMatching(token), '');
});

test('a guest kernel panic is an error with the console lines that led to it', async (t) => {
  if (unavailable) return t.skip(unavailable);
  const r = await runTailor(['run', build, '--accel', 'tcg', '-e', 'panic', '--timeout', '120']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /the guest kernel panicked: .*Kernel panic - not syncing: Attempted to kill init/);
  assert.match(r.stderr, /tailor:app-start/);
});

test('--dry-run prints the QEMU command (with -kernel) and boots nothing', async (t) => {
  if (unavailable) return t.skip(unavailable);
  const r = await runTailor(['run', build, '--accel', 'tcg', '--dry-run', '-e', '/hello; false']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^qemu-system-x86_64 -M microvm,\S+ .* -kernel \S+\/vmlinux -initrd \S+\/initrd\.gz .*-append '.* -- \/hello; false'\n$/);
  assert.ok(r.ms < 10_000);
});

test('a missing build folder names it and says to run tailor build', async () => {
  const r = await runTailor(['run', join(tmpdir(), 'no-such-build-folder'), '--accel', 'tcg']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /no build folder at .*no-such-build-folder/);
  assert.match(r.stderr, /tailor build/);
});

test('firecracker: says it is not installed (not in Debian) instead of faking it', async (t) => {
  if (unavailable) return t.skip(unavailable);
  if ((await exec('sh', ['-c', 'command -v firecracker'], { allowFailure: true })).code === 0) {
    return t.skip('a firecracker binary is installed here');
  }
  const r = await runTailor(['run', build, '-p', 'firecracker']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /firecracker is not installed, and Debian does not package it/);
});

// Three kinds of machine: no /dev/kvm (or one that does not open), one that opens but cannot boot Linux
// (nested software KVM), a working one. scripts/fake-kvm.sh runs this file with a faked device.
test('without --accel: no /dev/kvm means TCG with a notice and nothing cached; a device that opens is probed once and cached', async (t) => {
  if (unavailable) return t.skip(unavailable);
  const cache = join(work, 'cache');
  const file = join(cache, 'kvm-probe.json');
  const devProblem = devKvmProblem();
  const r = await runTailor(['run', build, '-e', 'exit 0', '--timeout', '120', '--verbose'], { env: { TAILOR_CACHE: cache } });
  assert.equal(r.code, 0, r.stderr);
  if (devProblem) {
    // Nothing to probe: the notice names the device, nothing is booted under KVM, nothing is cached.
    assert.match(r.stderr, /accel=tcg/);
    assert.ok(r.stderr.includes(`tailor: KVM unusable here (${devProblem}); using TCG (slower)`), r.stderr);
    assert.doesNotMatch(r.stderr, /probing KVM/);
    assert.equal(existsSync(file), false, 'no kvm-probe.json without a device to probe');
    return;
  }
  assert.match(r.stderr, /probing KVM/);
  assert.ok(existsSync(file), 'kvm-probe.json written');
  const v = JSON.parse(readFileSync(file, 'utf8')) as { usable: boolean; reason: string; key: string };
  assert.equal(typeof v.usable, 'boolean');
  assert.match(v.key, /QEMU emulator version/);
  const accel = v.usable ? 'kvm' : 'tcg';
  assert.match(r.stderr, new RegExp(`accel=${accel}`));
  if (!v.usable) assert.ok(r.stderr.includes(`tailor: KVM unusable here (${v.reason}); using TCG (slower)`), r.stderr);
  // The second run uses the cached verdict: same accelerator, and the file is not rewritten.
  const before = readFileSync(file, 'utf8');
  const r2 = await runTailor(['run', build, '-e', 'exit 0', '--timeout', '120', '--verbose'], { env: { TAILOR_CACHE: cache } });
  assert.equal(r2.code, 0, r2.stderr);
  assert.doesNotMatch(r2.stderr, /probing KVM/);
  assert.match(r2.stderr, new RegExp(`accel=${accel}`));
  assert.equal(readFileSync(file, 'utf8'), before);
});
