// The guest init in a real guest: Debian's stock kernel under QEMU (TCG is
// fine), an initramfs holding the init and a small test program, and the
// console markers of docs/guest-protocol.md checked line by line.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { access, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exec, hasCommand } from '../../src/util/exec.ts';
import { buildGuestInit, buildGuestTestProgram } from '../../src/image/guest-init.ts';
import { fetchStockKernel, prepareStockKernel, resolveStockPackage } from '../../src/kernel/stock.ts';
import { writeCpio } from '../../src/rootfs/cpio.ts';
import type { TreeEntry } from '../../src/rootfs/types.ts';

const BOOT_TIMEOUT_MS = 30_000;
// the bzImage goes through firmware and xz decompression: measured 12-20 s on a loaded 2-core host
const BZIMAGE_BOOT_TIMEOUT_MS = 45_000;
const TEST_MODULE = 'tcp_bic.ko'; // a Debian module with no dependencies
// With ACPI on microvm under a loaded TCG host, PIT calibration of the TSC fails and the
// boot stalls; a given TSC rate and no clocksource watchdog avoid that (rate only affects timing).
const ACPI_TIMER_WORDS = 'tsc_early_khz=2600000 tsc=reliable no_timer_check';

interface Boot {
  console: string;
  /** N of `tailor:exit status=N`, undefined when the marker never came. */
  exitStatus?: number;
  timedOut: boolean;
  wallMs: number;
}

let work = '';
let vmlinux = ''; // PVH entry: fastest under TCG, but microvm must run without ACPI
let bzImage = ''; // through qboot, with ACPI: how the stock kernel finds virtio-mmio devices
let init = '';
let tprog = '';
let moduleFile = '';
let skipReason = '';

before(async () => {
  for (const [tool, pkg] of [
    ['qemu-system-x86_64', 'qemu-system-x86'],
    ['musl-gcc', 'musl-tools'],
    ['apt-get', 'apt'],
  ] as const) {
    if (!(await hasCommand(tool))) {
      skipReason = `${tool} is not installed (apt-get install ${pkg})`;
      return;
    }
  }
  work = await mkdtemp(join(tmpdir(), 'tailor-init-e2e-'));
  init = await buildGuestInit();
  tprog = await buildGuestTestProgram();
  const { dir, files } = await fetchStockKernel(await resolveStockPackage());
  bzImage = join(dir, files.bzImage);
  vmlinux = files.vmlinux ? join(dir, files.vmlinux) : bzImage;
  const found = await exec('find', [join(dir, files.moduleDir), '-name', TEST_MODULE]);
  moduleFile = found.stdout.trim().split('\n')[0] ?? '';
  await access(moduleFile);
});

after(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

/** A gzip'd newc initramfs with /init, /bin/tprog, the test module and `files`, written by the rootfs stage's writer. */
async function makeInitrd(
  name: string,
  files: Record<string, string>,
  withConsole: boolean,
  extra: readonly TreeEntry[],
): Promise<string> {
  const entries: TreeEntry[] = [
    ...extra,
    { kind: 'file', path: '/init', mode: 0o755, source: init },
    { kind: 'file', path: '/bin/tprog', mode: 0o755, source: tprog },
    { kind: 'file', path: `/lib/modules/${TEST_MODULE}`, mode: 0o644, source: moduleFile },
    { kind: 'dir', path: '/dev', mode: 0o755 },
    { kind: 'dir', path: '/etc/tailor', mode: 0o755 },
  ];
  for (const [path, text] of Object.entries(files)) {
    entries.push({ kind: 'data', path: `/${path}`, mode: 0o644, data: Buffer.from(text) });
  }
  if (withConsole) entries.push({ kind: 'chardev', path: '/dev/console', mode: 0o600, major: 5, minor: 1 });
  const out = join(work, `${name}.cpio.gz`);
  await writeCpio({ entries }, out, 'gzip');
  return out;
}

function qemuOnce(initrd: string, append: string, qemuArgs: readonly string[], kernel: string, timeoutMs: number): Promise<Boot> {
  // PVH entry (vmlinux) needs acpi=off under TCG, else TSC calibration hangs; the bzImage goes through qboot
  const machine = kernel.endsWith('vmlinux')
    ? 'microvm,x-option-roms=off,isa-serial=on,acpi=off'
    : 'microvm,x-option-roms=off,isa-serial=on,rtc=on';
  const args = [
    '-M', machine, '-accel', 'tcg', '-m', '256',
    '-nodefaults', '-no-user-config', '-nographic', '-no-reboot', '-serial', 'stdio',
    '-kernel', kernel, '-initrd', initrd, '-append', append, ...qemuArgs,
  ];
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn('qemu-system-x86_64', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let console = '';
    let timedOut = false;
    child.stdout.on('data', (b: Buffer) => (console += b.toString('utf8')));
    child.stderr.on('data', (b: Buffer) => (console += b.toString('utf8')));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', () => {
      clearTimeout(timer);
      console = console.replace(/\r\n/g, '\n');
      const m = /^tailor:exit status=(\d+)$/m.exec(console);
      resolve({ console, exitStatus: m ? Number(m[1]) : undefined, timedOut, wallMs: Date.now() - started });
    });
  });
}

/**
 * Linux hands each word after " -- " to init as an argument and panics ("Too
 * many boot init vars") on the 33rd (MAX_INIT_ARGS; measured: 32 words boot,
 * 33 panic). Words split at blanks outside double quotes, as the kernel's
 * next_arg does.
 */
const MAX_WORDS_AFTER_DASHDASH = 32;
function kernelWordCount(text: string): number {
  let words = 0;
  let inWord = false;
  let inQuote = false;
  for (const c of text) {
    if (/\s/.test(c) && !inQuote) {
      inWord = false;
      continue;
    }
    if (!inWord) words++;
    inWord = true;
    if (c === '"') inQuote = !inQuote;
  }
  return words;
}

/** Boot the guest; `appCmdline` goes after " -- " (omit it to use /etc/tailor/cmdline). */
async function boot(
  name: string,
  appCmdline: string | undefined,
  files: Record<string, string> = {},
  withConsole = true,
  extra: { entries?: readonly TreeEntry[]; qemuArgs?: readonly string[]; bzImage?: boolean } = {},
): Promise<Boot> {
  if (appCmdline !== undefined) {
    const words = kernelWordCount(appCmdline);
    assert.ok(words <= MAX_WORDS_AFTER_DASHDASH, `${name}: ${words} words after " -- " would panic the kernel`);
  }
  const initrd = await makeInitrd(name, files, withConsole, extra.entries ?? []);
  const append = `console=ttyS0 reboot=t panic=-1 quiet${extra.bzImage ? ` ${ACPI_TIMER_WORDS}` : ''}${appCmdline === undefined ? '' : ` -- ${appCmdline}`}`;
  const kernel = extra.bzImage ? bzImage : vmlinux;
  const timeoutMs = extra.bzImage ? BZIMAGE_BOOT_TIMEOUT_MS : BOOT_TIMEOUT_MS;
  let b = await qemuOnce(initrd, append, extra.qemuArgs ?? [], kernel, timeoutMs);
  if (b.timedOut && !b.console.trim()) {
    // a TCG guest on a loaded 2-core host very rarely stalls before printing anything: retry once
    process.stderr.write(`init-guest ${name}: no output within ${timeoutMs} ms, retrying once\n`);
    b = await qemuOnce(initrd, append, extra.qemuArgs ?? [], kernel, timeoutMs);
  }
  assert.ok(!b.timedOut, `${name}: QEMU did not power off within ${timeoutMs} ms:\n${b.console.slice(-3000)}`);
  return b;
}

/** Console lines, without kernel log lines. */
const lines = (b: Boot) => b.console.split('\n').filter((l) => !/^\[\s*\d+\.\d+\]/.test(l));

function indexOfLine(b: Boot, pattern: RegExp): number {
  return lines(b).findIndex((l) => pattern.test(l));
}

test('runs ; commands, expands --env and $VAR, keeps quotes, reports the first failure', async (t) => {
  if (skipReason) return t.skip(skipReason);
  const b = await boot(
    'basic',
    `--env=GREETING=hello tprog print $GREETING world; tprog args "a b" 'c $GREETING' e\\;f \${GREETING}x "$NOPE" x\\ty "\\a\\v"'\\n'; ` +
      `tprog exit 3; tprog print after-fail; tprog env GREETING; tprog abort; tprog print after-abort; tprog exit 4`,
    {},
    false, // no /dev/console in the image: the init must open it itself
  );
  const l = lines(b);
  const start = indexOfLine(b, /^tailor:app-start boottime_ns=\d+ cmd=tprog$/);
  assert.ok(start >= 0, `no app-start marker:\n${b.console}`);
  const ns = Number(/boottime_ns=(\d+)/.exec(l[start]!)![1]);
  assert.ok(ns > 1e8 && ns < 60e9, `implausible boottime_ns ${ns}`);
  assert.ok(indexOfLine(b, /^hello world$/) > start, 'the first program ran after the app-start marker');
  // OSv's control-character escapes, unquoted and in double quotes; single quotes keep them literal
  assert.ok(l.includes('args: [a b] [c $GREETING] [e;f] [hellox] [] [x\\x09y] [\\x07\\x0b\\n]'), b.console);
  assert.ok(l.includes('after-fail'), 'a failing command does not stop the ones after ;');
  assert.ok(l.includes('GREETING=hello'), '--env reaches the program environment');
  assert.ok(l.includes('after-abort'), 'without --power-off-on-abort a crash does not stop the line');
  assert.equal(b.exitStatus, 3, `the first failing command decides the status:\n${b.console}`);
  assert.ok(indexOfLine(b, /^tailor:exit status=3$/) > indexOfLine(b, /^GREETING=hello$/));
  t.diagnostic(`boot to app-start ${(ns / 1e6).toFixed(0)} ms guest time, QEMU wall ${b.wallMs} ms`);
});

test('& runs in the background and is joined; --redirect (> and >>) and --cwd apply per command; orphans are reaped; runscript; true/false', async (t) => {
  if (skipReason) return t.skip(skipReason);
  const b = await boot(
    'background',
    'tprog sleep 2500 late & tprog print early; --redirect=/tmp/out tprog print into-file; ' +
      '--redirect=>>/tmp/out tprog print appended; --cwd=/tmp tprog cat out; --cwd=/etc tprog pwd; ' +
      'true; runscript /etc/more.script; tprog tty; false',
    // the kernel allows only 32 words after " -- " (MAX_INIT_ARGS): longer lines go in a script
    // lines of only blanks and ';' (as in OSv's sample runscripts) are ignored
    { 'etc/more.script': 'tprog orphan; tprog sleep 1000 orphan-gone; tprog zombies\n ; ;\n\t\n--env=FROM=script tprog print from-$FROM\n;\n' },
  );
  const l = lines(b);
  const early = l.indexOf('early');
  const late = l.indexOf('late');
  assert.ok(early >= 0 && late > early, `& must not block the next command:\n${b.console}`);
  assert.ok(late < indexOfLine(b, /^tailor:exit/), 'a & command is waited for before power-off');
  // the redirected output reaches the console only through the cat of the file
  const cat = l.indexOf('into-file');
  assert.ok(cat >= 0 && l[cat + 1] === 'appended', `file contents wrong:\n${b.console}`);
  assert.equal(l.filter((x) => x === 'into-file').length, 1, 'redirected output leaked to the console');
  assert.ok(l.includes('pwd=/etc'), b.console);
  assert.ok(l.some((x) => /^orphan=\d+$/.test(x)), b.console);
  assert.ok(l.includes('zombies=0'), `PID 1 must reap orphans:\n${b.console}`);
  assert.ok(l.includes('from-script'), `runscript did not run:\n${b.console}`);
  assert.ok(l.includes('tty=ok'), `a waited-for command has the console as controlling terminal:\n${b.console}`);
  // true and false are built in when the image has no such programs: only false fails
  assert.equal(indexOfLine(b, /^tailor:error/), -1, b.console);
  assert.equal(b.exitStatus, 1);
});

test('/etc/tailor/cmdline, modules, --sysctl with a BSD name, --bootchart, &! and !', async (t) => {
  if (skipReason) return t.skip(skipReason);
  const b = await boot('image-cmdline', undefined, {
    'etc/tailor/cmdline':
      '--bootchart --sysctl=net.inet.tcp.sendspace=262144 --sysctl net.core.somaxconn=777 tprog cat /proc/modules; ' +
      'tprog cat /proc/sys/net/ipv4/tcp_wmem; tprog cat /proc/sys/net/core/somaxconn; ' +
      'tprog sleep 30000 nowait &! tprog sleep 30000 bg & tprog print main ! tprog print not-run\n',
    // listed twice: loading an already loaded module is fine
    'etc/tailor/modules': `# test modules\n/lib/modules/${TEST_MODULE}\n/lib/modules/${TEST_MODULE}\n`,
  });
  const l = lines(b);
  assert.ok(l.some((x) => x.startsWith('tcp_bic ')), `module not loaded:\n${b.console}`);
  assert.ok(l.some((x) => /^\d+\s+262144\s+\d+$/.test(x)), `tcp_wmem default not set:\n${b.console}`);
  assert.ok(l.includes('777'), 'somaxconn not set');
  for (const phase of ['kernel', 'base-mounts', 'modules', 'cmdline', 'filesystems', 'sysctl', 'app-start']) {
    assert.ok(indexOfLine(b, new RegExp(`^tailor:phase name=${phase} boottime_ns=\\d+$`)) >= 0, `no phase ${phase}`);
  }
  assert.ok(indexOfLine(b, /^\tmodules: \d+\.\d\dms, \(\+\d+\.\d\dms\)$/) >= 0, `no bootchart table:\n${b.console}`);
  assert.ok(l.includes('main'));
  for (const absent of ['not-run', 'nowait', 'bg']) assert.ok(!l.includes(absent), `${absent} should not appear`);
  assert.equal(b.exitStatus, 0, b.console);
  assert.ok(b.wallMs < 30_000, `! must stop the 30 s sleepers (took ${b.wallMs} ms)`);
});

test('the last lines an app writes before it exits reach the host: the exit hangs nothing up and power-off waits for the UART', async (t) => {
  if (skipReason) return t.skip(skipReason);
  // 3000 lines (~60 KB) leave the UART's buffer full when the last command exits: a command that
  // was its own session leader with the console as its terminal made the kernel hang the console
  // up at its exit and drop what the UART had not sent yet (seen: 2989 of 3000 lines arrived)
  const b = await boot('output-tail', 'tprog tty; tprog lines 3000');
  const l = lines(b).map((x) => x.replace(/\r$/, ''));
  const got = l.filter((x) => /^line \d+ of 3000$/.test(x));
  assert.equal(got.length, 3000, `${got.length} of 3000 lines arrived; the last: ${got.at(-1)}`);
  assert.ok(l.indexOf('tty=ok') >= 0 && l.indexOf('tty=ok') < l.indexOf('line 1 of 3000'), '/dev/tty opens for a foreground command');
  assert.equal(l.indexOf('line 3000 of 3000') + 1, l.indexOf('tailor:exit status=0'), 'the exit marker follows the last line');
  assert.equal(b.exitStatus, 0);
});

test('an unknown option is an error on the console and exit status 2; nothing runs', async (t) => {
  if (skipReason) return t.skip(skipReason);
  // a \n escape in the option's name stays inside the one error line (written as \x0a)
  const b = await boot('unknown-option', '--nosuch\\nopt tprog print should-not-run');
  assert.ok(indexOfLine(b, /^tailor:error unknown option --nosuch\\x0aopt$/) >= 0, b.console);
  assert.equal(b.exitStatus, 2);
  assert.equal(indexOfLine(b, /^tailor:app-start/), -1);
  assert.ok(!lines(b).includes('should-not-run'));
});

test('a missing program is 127; --power-off-on-abort stops at a crash', async (t) => {
  if (skipReason) return t.skip(skipReason);
  const b = await boot(
    'abort',
    '--power-off-on-abort --redirect=/tmp/log /nonexistent; --redirect=/dev/console tprog print two; tprog abort; ' +
      '--redirect=/dev/console tprog print never',
  );
  // the error reaches the console even though the command's output is redirected
  assert.ok(indexOfLine(b, /^tailor:error cannot run \/nonexistent: No such file or directory$/) >= 0, b.console);
  const l = lines(b);
  assert.ok(l.includes('two'));
  assert.ok(!l.includes('never'), 'commands after an abort must not run with --power-off-on-abort');
  assert.equal(b.exitStatus, 127);
});

test('an image with nothing to run still marks app-start and powers off with status 0', async (t) => {
  if (skipReason) return t.skip(skipReason);
  // no " -- " and no /etc/tailor/cmdline: what image=empty boots
  const b = await boot('empty', undefined);
  assert.ok(indexOfLine(b, /^tailor:app-start boottime_ns=\d+ cmd=$/) >= 0, b.console);
  assert.equal(b.exitStatus, 0);
  assert.equal(indexOfLine(b, /^tailor:error/), -1, b.console);
});

test('--mount-fs with OSv names (rofs on /dev/vblk0, ext4 on /dev/vblk1) and --tmpfs, on real virtio disks', async (t) => {
  if (skipReason) return t.skip(skipReason);
  for (const tool of ['mkfs.erofs', 'mke2fs']) {
    if (!(await hasCommand(tool))) return t.skip(`${tool} is not installed (apt-get install erofs-utils e2fsprogs)`);
  }
  // Debian builds virtio-mmio, virtio_blk, erofs and ext4 as modules: the kernel stage gives them in load order
  const k = await prepareStockKernel(['virtio-blk', 'erofs', 'ext4'], { mmio: true, pci: false });
  const src = join(work, 'erofs-src');
  await mkdir(src, { recursive: true });
  await writeFile(join(src, 'hello.txt'), 'from-erofs\n');
  const ro = join(work, 'ro.img');
  const rw = join(work, 'rw.img');
  await exec('mkfs.erofs', ['--quiet', ro, src]);
  await exec('mke2fs', ['-t', 'ext4', '-q', '-F', rw, '8M']);
  const b = await boot(
    'mount-fs',
    '--mount-fs=rofs,/dev/vblk0,/ro --mount-fs=ext4,/dev/vblk1,/data --tmpfs=/scratch,8m ' +
      'tprog cat /ro/hello.txt; --redirect=/data/f tprog print persisted; tprog cat /data/f; tprog cat /proc/mounts',
    { 'etc/tailor/modules': k.modules.map((m) => m.guestPath).join('\n') + '\n' },
    true,
    {
      entries: k.modules.map((m) => ({ kind: 'file' as const, path: m.guestPath, mode: 0o644, source: m.source })),
      // Debian's kernel lacks VIRTIO_MMIO_CMDLINE_DEVICES: it finds virtio-mmio devices through ACPI only
      bzImage: true,
      qemuArgs: [
        '-drive', `id=d0,file=${ro},format=raw,if=none,readonly=on`, '-device', 'virtio-blk-device,drive=d0',
        '-drive', `id=d1,file=${rw},format=raw,if=none`, '-device', 'virtio-blk-device,drive=d1',
      ],
    },
  );
  const l = lines(b);
  assert.ok(l.includes('from-erofs'), b.console);
  assert.ok(l.includes('persisted'), b.console);
  assert.ok(l.some((x) => /^\/dev\/vda \/ro erofs ro[ ,]/.test(x)), `no erofs mount:\n${b.console}`);
  assert.ok(l.some((x) => /^\/dev\/vdb \/data ext4 rw[ ,]/.test(x)), 'no ext4 mount');
  assert.ok(l.some((x) => /^tmpfs \/scratch tmpfs rw.*size=8192k/.test(x)), 'no sized tmpfs');
  assert.ok(l.some((x) => /^tmpfs \/tmp tmpfs rw/.test(x)), 'no /tmp tmpfs');
  assert.equal(b.exitStatus, 0, b.console);
  // the init unmounts before power-off: the ext4 disk holds the file and needs no journal recovery
  const header = await exec('dumpe2fs', ['-h', rw], { allowFailure: true });
  assert.match(header.stdout, /^Filesystem features:/m, header.stderr);
  assert.doesNotMatch(header.stdout, /needs_recovery/, 'ext4 was not unmounted cleanly');
  const file = await exec('debugfs', ['-R', 'cat /f', rw]);
  assert.equal(file.stdout, 'persisted\n');
});
