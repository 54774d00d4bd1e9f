/**
 * A stand-in build folder for the runner's tests until `tailor build` and the
 * Tailor init are ready: Debian's stock kernel (the real kernel stage) and an
 * initramfs whose /init is a tiny static C program that speaks the console
 * protocol of docs/guest-protocol.md. Its "command line" (after ` -- `) is one of:
 * `exit N`, `sleep N` (then exit 0), `panic` (PID 1 returns: the kernel panics).
 */
import { mkdirSync, symlinkSync, writeFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { exec, hasCommand } from '../../src/util/exec.ts';
import type { BuildRecord } from '../../src/image/types.ts';
import { sha256FileSync } from '../../src/util/sha256.ts';

const initSource = String.raw`
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <time.h>
#include <unistd.h>
int main(void) {
  mount("devtmpfs", "/dev", "devtmpfs", 0, 0);
  int fd = open("/dev/console", O_RDWR);
  if (fd >= 0) { dup2(fd, 0); dup2(fd, 1); dup2(fd, 2); }
  mount("proc", "/proc", "proc", 0, 0);
  char buf[4096] = {0};
  int c = open("/proc/cmdline", O_RDONLY);
  if (c >= 0) { ssize_t n = read(c, buf, sizeof buf - 1); if (n > 0) buf[n] = 0; close(c); }
  char *app = strstr(buf, " -- ");
  app = app ? app + 4 : "exit 0";
  struct timespec ts; clock_gettime(CLOCK_BOOTTIME, &ts);
  printf("tailor:app-start boottime_ns=%lld cmd=fixture\n", (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
  int status = 0;
  if (!strncmp(app, "exit ", 5)) status = atoi(app + 5);
  else if (!strncmp(app, "sleep ", 6)) sleep(atoi(app + 6));
  else if (!strncmp(app, "panic", 5)) { fflush(stdout); return 0; }
  printf("hello from the fixture\ntailor:exit status=%d\n", status);
  fflush(stdout); sync();
  reboot(RB_AUTOBOOT);
  return 0;
}
`;

/** Why the fixture cannot be made here (missing host tool), or undefined. */
export async function fixtureUnavailable(): Promise<string | undefined> {
  for (const tool of ['musl-gcc', 'cpio', 'gzip', 'qemu-system-x86_64', 'apt-get']) {
    if (!(await hasCommand(tool))) return `${tool} is not installed (run: node bin/tailor.js doctor --fix)`;
  }
  return undefined;
}

/** Writes a build folder at `dir` and returns it. The stock kernel is downloaded once into the cache. */
export async function makeFixtureBuild(dir: string, name = 'run-fixture'): Promise<string> {
  const { prepareStockKernel } = await import('../../src/kernel/stock.ts');
  const kernel = await prepareStockKernel([], { mmio: true, pci: true });
  const work = join(dir, '.work');
  const root = join(work, 'root');
  mkdirSync(join(root, 'dev'), { recursive: true });
  mkdirSync(join(root, 'proc'), { recursive: true });
  writeFileSync(join(work, 'init.c'), initSource);
  await exec('musl-gcc', ['-static', '-Os', '-s', '-o', join(root, 'init'), join(work, 'init.c')]);
  await exec('sh', ['-c', 'cd "$1" && find . | LC_ALL=C sort | cpio -o -H newc --quiet | gzip -9n > "$2"', 'sh', root, join(dir, 'initrd.gz')]);
  symlinkSync(kernel.bzImage, join(dir, 'bzImage'));
  if (kernel.vmlinux) symlinkSync(kernel.vmlinux, join(dir, 'vmlinux'));
  const art = (file: string) => ({ file, bytes: statSync(join(dir, file)).size, sha256: sha256FileSync(join(dir, file)) });
  const record: BuildRecord = {
    formatVersion: 1,
    name,
    configHash: 'fixture',
    options: {},
    modules: [],
    kernel: {
      flavour: 'stock',
      release: kernel.release,
      packageVersion: kernel.packageVersion,
      bzImage: art('bzImage'),
      ...(kernel.vmlinux ? { vmlinux: art('vmlinux') } : {}),
      hasVirtioMmio: kernel.hasVirtioMmio,
      hasPci: kernel.hasPci,
      hasAcpi: kernel.hasAcpi,
    },
    initrd: { ...art('initrd.gz'), compression: 'gzip' },
    kernelCmdline:
      'console=ttyS0 quiet panic=-1 reboot=t 8250.nr_uarts=1 cryptomgr.notests i8042.noaux i8042.nokbd no_timer_check tsc=reliable rdinit=/init',
    appCmdline: 'exit 0',
    builtAt: '1970-01-01T00:00:00Z',
  };
  writeFileSync(join(dir, 'build.json'), `${JSON.stringify(record, null, 2)}\n`);
  return dir;
}
