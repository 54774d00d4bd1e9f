/**
 * Written data survives (issue 11 item 6): a file written and fsync'ed on an
 * ext4 data disk is intact after QEMU is killed with SIGKILL right after the
 * guest reports the fsync, and the next boot mounts the disk clean (the
 * guest kernel replays the journal). Two boots of a real `tailor build` on
 * the custom kernel: `--profile=minimal` with fs=ext4 on the suite's shared
 * kernel (shared-kernel.ts: the custom disk-root tests of
 * filesystems-boot.test.ts boot it too), busybox for sh, sync and dd.
 *
 * The runner gives QEMU `-drive ...,format=raw` with no cache= (QEMU's
 * default, cache=writeback): the guest's fsync ends in a virtio-blk flush,
 * which QEMU turns into fdatasync on the host file. A SIGKILL of QEMU loses
 * nothing the guest's fsync returned for either way (QEMU keeps no write
 * buffer of its own; the host page cache outlives it); the flush is what
 * makes the data survive a host crash too, and cache=unsafe would drop it.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hasCommand } from '../../src/util/exec.ts';
import { sourceTarball } from '../../src/kernel/custom/source.ts';
import { runTailor, tailor, type Ran } from './analyze-helpers.ts';
import { sharedKernelArgs, writeSharedKernelModule } from './shared-kernel.ts';

const BUILD = [...sharedKernelArgs('native-example', 'cli'), 'fs=ext4', 'name=datakill'];
const BOOT_TIMEOUT_S = '180';
let work = '';
let unavailable: string | undefined;

/** PIDs of the direct children of `pid` (from /proc/N/stat). */
function childPids(pid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // the field after the parenthesised command is the state, then the parent PID
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(name));
    } catch {
      // the process went away meanwhile
    }
  }
  return out;
}

/**
 * `tailor ARGS`; when `killOn` matches the console, QEMU (tailor's child)
 * gets SIGKILL at once, as a crash of the VM would do. Gives QEMU's argv.
 */
function runAndKillQemu(args: string[], killOn: RegExp): Promise<Ran & { qemuArgv?: string[] }> {
  return new Promise((resolvePromise) => {
    const child = spawn(process.execPath, [tailor, ...args], { cwd: work, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let qemuArgv: string[] | undefined;
    child.stdout.on('data', (b: Buffer) => {
      stdout += b.toString();
      if (qemuArgv || !killOn.test(stdout)) return;
      const qemu = childPids(child.pid!).find((p) => readFileSync(`/proc/${p}/comm`, 'utf8').startsWith('qemu'));
      assert.ok(qemu, 'no QEMU process under tailor run');
      qemuArgv = readFileSync(`/proc/${qemu}/cmdline`, 'utf8').split('\0').filter(Boolean);
      process.kill(qemu, 'SIGKILL');
    });
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('close', (code) => resolvePromise({ code, stdout: stdout.replace(/\r\n/g, '\n'), stderr, qemuArgv }));
  });
}

async function run(args: string[]): Promise<Ran> {
  const r = await runTailor(args, work);
  return { ...r, stdout: r.stdout.replace(/\r\n/g, '\n') };
}

function sh(cmd: string, args: string[]): { code: number | null; out: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

/** The ext4 features of the image (dumpe2fs -h). */
function ext4Features(disk: string): string[] {
  const r = sh('dumpe2fs', ['-h', disk]);
  assert.equal(r.code, 0, r.out);
  return /^Filesystem features:\s+(.*)$/m.exec(r.out)?.[1]?.split(/\s+/) ?? [];
}

before(async () => {
  if (!existsSync(sourceTarball)) unavailable = `${sourceTarball} not installed (apt-get install linux-source-6.1)`;
  for (const [tool, pkg] of [
    ['qemu-system-x86_64', 'qemu-system-x86'],
    ['mke2fs', 'e2fsprogs'],
    ['busybox', 'busybox-static'],
    ['musl-gcc', 'musl-tools'],
  ] as const) {
    if (!unavailable && !(await hasCommand(tool))) unavailable = `${tool} is not installed (apt-get install ${pkg})`;
  }
  if (unavailable) return;
  work = mkdtempSync(join(tmpdir(), 'tailor-datakill-'));
  writeSharedKernelModule(work);
  // the custom kernel is built through the normal path when the cache does not have it yet
  const b = await run(['build', ...BUILD]);
  assert.equal(b.code, 0, `tailor build ${BUILD.join(' ')} failed:\n${b.stderr}`);
});
after(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

test('a file fsynced on an ext4 data disk survives SIGKILL of QEMU; the next boot replays the journal and the disk is clean', { timeout: 1_800_000 }, async (t) => {
  if (unavailable) return t.skip(unavailable);
  const record = JSON.parse(readFileSync(join(work, 'build', 'datakill', 'build.json'), 'utf8'));
  assert.equal(record.kernel.flavour, 'custom');
  assert.equal(record.initrd, undefined, 'ext4 is built into the custom kernel: no stub initramfs');
  const disk = join(work, 'data.img');
  const c = await run(['disk', 'create', '--fs', 'ext4', '--size', '64M', disk]);
  assert.equal(c.code, 0, c.stderr);

  // 40 000 numbered lines (~230 KB, many blocks) and a token of this run at the end
  const token = `tok-${process.pid}-${Date.now()}`;
  const expected = `${Array.from({ length: 40000 }, (_, i) => String(i + 1)).join('\n')}\n${token}\n`;
  const write =
    `--mount-fs=ext4,/dev/vblk1,/data /bin/sh -c "seq 1 40000 > /data/f && echo ${token} >> /data/f && sync /data/f && ` +
    `echo fsync-done-$((6*7)) && sleep 600"`;
  const w = await runAndKillQemu(['run', 'datakill', '--accel', 'tcg', '--timeout', BOOT_TIMEOUT_S, '--second-disk-image', disk, '-e', write], /^fsync-done-42\r?$/m);
  assert.ok(w.qemuArgv, `the guest never reported the fsync:\n${w.stdout}\n${w.stderr}`);
  assert.doesNotMatch(w.stdout, /^tailor:exit/m, 'the guest powered off by itself: the kill came too late to test anything');
  // the drive the data went through: QEMU's default cache mode (writeback: a guest flush is an fdatasync)
  const drive = w.qemuArgv.find((a) => a.includes(`file=${disk}`));
  assert.ok(drive, `no -drive for ${disk} in ${w.qemuArgv.join(' ')}`);
  assert.doesNotMatch(drive, /cache=(unsafe|none|directsync)|cache\.no-flush=on/, drive);
  t.diagnostic(`data drive: -drive ${drive} (no cache=: QEMU's default writeback)`);

  // killed while mounted: the journal is still marked for recovery
  assert.ok(ext4Features(disk).includes('needs_recovery'), 'the disk was unmounted cleanly: QEMU was not killed in time');
  const stale = sh('debugfs', ['-R', 'stat /f', disk]);
  const staleSize = /Size: (\d+)/.exec(stale.out)?.[1];
  t.diagnostic(`before the replay, debugfs (which does not replay the journal) sees ${staleSize ? `/f with ${staleSize} bytes` : 'no /f'}`);

  // second boot: the kernel replays the journal on mount; the file is read in the guest
  const r = await run([
    'run', 'datakill', '--accel', 'tcg', '--timeout', BOOT_TIMEOUT_S, '--second-disk-image', disk, '-e',
    '--mount-fs=ext4,/dev/vblk1,/data /bin/sh -c "wc -c /data/f; tail -n 1 /data/f"',
  ]);
  assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, new RegExp(`^\\s*${expected.length} /data/f$`, 'm'), r.stdout);
  assert.match(r.stdout, new RegExp(`^${token}$`, 'm'));

  // the init unmounted it at power-off: no recovery pending, e2fsck finds nothing, the bytes are all there
  assert.ok(!ext4Features(disk).includes('needs_recovery'), 'the journal was not replayed');
  const fsck = sh('e2fsck', ['-fn', disk]);
  assert.equal(fsck.code, 0, `e2fsck -fn after the second boot:\n${fsck.out}`);
  const dumped = spawnSync('debugfs', ['-R', 'cat /f', disk], { encoding: 'utf8', maxBuffer: 1 << 24 });
  assert.equal(dumped.stdout, expected, 'the file content differs from what the guest wrote');
});
