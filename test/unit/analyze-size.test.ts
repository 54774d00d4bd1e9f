/**
 * tailor size building blocks against real tools: a tiny "kernel" linked by
 * ld from gcc objects in a thin archive (as Kbuild does), a cpio written by
 * GNU cpio, the treemap layout, Makefile gates.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { analyzeKernelCache, analyzeKernelTree, parseNmSizes, subsystemOf, sumGroups, PADDING } from '../../src/analyze/kernel-size.ts';
import { parseCpioNewc, manifestModules } from '../../src/analyze/rootfs-size.ts';
import { gateInMakefile } from '../../src/analyze/subsystem-config.ts';
import { squarify } from '../../src/analyze/html.ts';
import { diffSizeReports, type SizeReport } from '../../src/analyze/size-report.ts';
import { targetArches } from '../../src/config/arch.ts';

const work = mkdtempSync(join(tmpdir(), 'analyze-size-'));
after(() => rmSync(work, { recursive: true, force: true }));
const run = (cmd: string, args: string[], cwd = work) => execFileSync(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });

/** Build a two-subsystem ELF like vmlinux: objects in a thin archive, linked whole (`cross`: an arm64 tree with its tools). */
function buildTinyKernel(cross = '', name = 'tree'): string {
  const dir = join(work, name);
  mkdirSync(join(dir, 'fs/ext4'), { recursive: true });
  mkdirSync(join(dir, 'drivers/xen'), { recursive: true });
  // Same-named statics in two files: the FILE symbols must tell them apart.
  writeFileSync(join(dir, 'fs/ext4/inode.c'), `
static int helper(int x) { return x * 3 + 1; }
int ext4_big[4096] = {1};
const char ext4_msg[2000] = "ext4";
int ext4_bss[1000];
int ext4_entry(int x) { return helper(x) + ext4_big[x] + ext4_msg[x] + ext4_bss[x]; }
`);
  writeFileSync(join(dir, 'drivers/xen/events.c'), `
static int helper(int x) { volatile int a[64]; for (int i = 0; i < 64; i++) a[i] = x + i; return a[x & 63]; }
int xen_table[100] = {2};
int xen_entry(int x) { return helper(x) + xen_table[x]; }
void _start(void) { xen_entry(1); }
`);
  for (const f of ['fs/ext4/inode', 'drivers/xen/events']) run(`${cross}gcc`, ['-O2', '-fno-pic', '-fno-asynchronous-unwind-tables', '-c', `${f}.c`, '-o', `${f}.o`], dir);
  run(`${cross}ar`, ['rcsT', 'vmlinux.a', 'fs/ext4/inode.o', 'drivers/xen/events.o'], dir);
  run(`${cross}ld`, ['-static', '-o', 'vmlinux', '--whole-archive', 'vmlinux.a'], dir);
  return dir;
}

describe('kernel size by section and subsystem', () => {
  test('subsystems add up exactly to the section totals, and each object gets at least its own symbols', async () => {
    const dir = buildTinyKernel();
    const k = await analyzeKernelTree(dir, targetArches.x64);
    assert.equal(sumGroups(k.groupTotals), k.total);
    const bySub = k.subsystems.reduce((n, s) => n + s.total, 0);
    assert.equal(bySub, k.total, 'every allocated byte is attributed');
    const ext4 = k.subsystems.find((s) => s.subsystem === 'fs/ext4');
    const xen = k.subsystems.find((s) => s.subsystem === 'drivers/xen');
    assert.ok(ext4 && xen, `subsystems: ${k.subsystems.map((s) => s.subsystem).join(', ')}`);
    assert.ok(ext4.bytes.data >= 4096 * 4, `ext4 data ${ext4.bytes.data}`);
    assert.ok(ext4.bytes.rodata >= 2000, `ext4 rodata ${ext4.bytes.rodata}`);
    assert.ok(ext4.bytes.bss >= 4000, `ext4 bss ${ext4.bytes.bss}`);
    assert.ok(xen.bytes.data >= 400 && xen.bytes.data < 4096 * 4, `xen data ${xen.bytes.data}`);
    assert.ok(xen.bytes.text > ext4.bytes.text, 'the static helper with the loop lands in drivers/xen, not fs/ext4');
  });

  test('an arm64 tree: its archives (arch/arm64/lib/lib.a too) are read with the cross nm, and the same subsystems come out', async (t) => {
    const cross = targetArches.aarch64.kernel.crossCompile;
    if (spawnSync('sh', ['-c', `command -v ${cross}gcc`]).status !== 0) return t.skip(`${cross}gcc is not installed (tailor doctor --fix installs it)`);
    const dir = buildTinyKernel(cross, 'tree-arm64');
    // arm64's own library archive (arch/arm64/lib/lib.a: memcpy and friends in a real tree), linked in too.
    mkdirSync(join(dir, 'arch/arm64/lib'), { recursive: true });
    writeFileSync(join(dir, 'arch/arm64/lib/copy.c'), 'int arm64_copy_table[2048] = {3};\nint arm64_copy(int x) { return arm64_copy_table[x]; }\n');
    run(`${cross}gcc`, ['-O2', '-fno-pic', '-c', 'arch/arm64/lib/copy.c', '-o', 'arch/arm64/lib/copy.o'], dir);
    run(`${cross}ar`, ['rcsT', 'arch/arm64/lib/lib.a', 'arch/arm64/lib/copy.o'], dir);
    run(`${cross}ld`, ['-static', '-o', 'vmlinux', '--whole-archive', 'vmlinux.a', 'arch/arm64/lib/lib.a'], dir);
    const k = await analyzeKernelTree(dir, targetArches.aarch64);
    assert.equal(k.subsystems.reduce((n, s) => n + s.total, 0), k.total);
    const lib = k.subsystems.find((s) => s.subsystem === 'arch/arm64/lib');
    assert.ok(lib && lib.bytes.data >= 2048 * 4, `arm64's lib.a is attributed: ${k.subsystems.map((s) => s.subsystem).join(', ')}`);
    const ext4 = k.subsystems.find((s) => s.subsystem === 'fs/ext4');
    assert.ok(ext4 && ext4.bytes.data >= 4096 * 4, `subsystems: ${k.subsystems.map((s) => s.subsystem).join(', ')}`);
    assert.ok(k.subsystems.some((s) => s.subsystem === 'drivers/xen'));
  });

  test('from the kernel cache alone (symbols.txt + objects.txt, stripped vmlinux): the same sections and subsystems', async () => {
    const dir = join(work, 'tree');
    const cache = join(work, 'cache');
    mkdirSync(cache, { recursive: true });
    run('strip', ['--strip-all', '-o', join(cache, 'vmlinux'), join(dir, 'vmlinux')]);
    writeFileSync(join(cache, 'symbols.txt'), run('nm', ['--size-sort', '-S', '--radix=d', join(dir, 'vmlinux')]));
    writeFileSync(join(cache, 'objects.txt'), run('nm', ['-A', '--defined-only', 'vmlinux.a'], dir));
    const full = await analyzeKernelTree(dir, targetArches.x64);
    const fromCache = (await analyzeKernelCache(cache))!;
    assert.equal(fromCache.total, full.total);
    assert.deepEqual(fromCache.groupTotals, full.groupTotals);
    assert.equal(fromCache.subsystems.reduce((n, s) => n + s.total, 0), full.total);
    for (const sub of ['fs/ext4', 'drivers/xen']) assert.ok(fromCache.subsystems.some((s) => s.subsystem === sub), sub);
  });

  test('nm --radix=d addresses above 2^63 print negative; they are read back as unsigned', () => {
    const [s] = parseNmSizes('-000002136636416 0000000000000024 T start_kernel\n');
    assert.equal(s!.value, (1n << 64n) - 2136636416n);
    assert.equal(s!.size, 24);
  });

  test('subsystem names are source directories', () => {
    assert.equal(subsystemOf('fs/ext4/inode.o'), 'fs/ext4');
    assert.equal(subsystemOf('drivers/xen/events/events_base.o'), 'drivers/xen');
    assert.equal(subsystemOf('arch/x86/kernel/apic/io_apic.o'), 'arch/x86/kernel');
    assert.equal(subsystemOf('kernel/fork.o'), 'kernel');
    assert.equal(subsystemOf(PADDING), PADDING);
  });

  test('Makefile gates: obj-$(CONFIG_X) with continuation lines, obj-y', () => {
    const mk = 'obj-y += base/ tty/\nobj-$(CONFIG_XEN)\t\t+= xen/\nobj-$(CONFIG_EXT4_FS) += ext4.o\next4-y := a.o \\\n  b.o\nobj-$(CONFIG_VIRTIO) += virtio.o \\\n\tvirtio_ring.o\n';
    assert.equal(gateInMakefile(mk, 'xen/'), 'XEN');
    assert.equal(gateInMakefile(mk, 'tty/'), 'y');
    assert.equal(gateInMakefile(mk, 'virtio_ring.o'), 'VIRTIO');
    assert.equal(gateInMakefile(mk, 'nvme/'), undefined);
  });
});

describe('root filesystem by file', () => {
  test('newc parser reads what GNU cpio wrote: regular files and their sizes only', () => {
    const root = join(work, 'cpio-root');
    mkdirSync(join(root, 'usr/bin'), { recursive: true });
    writeFileSync(join(root, 'init'), Buffer.alloc(1234, 1));
    writeFileSync(join(root, 'usr/bin/app'), Buffer.alloc(77, 2));
    writeFileSync(join(root, 'empty'), '');
    const cpio = execFileSync('sh', ['-c', 'find . | LC_ALL=C sort | cpio -o -H newc --quiet'], { cwd: root });
    const files = parseCpioNewc(cpio).sort((a, b) => a.path.localeCompare(b.path));
    assert.deepEqual(files, [{ path: '/empty', bytes: 0 }, { path: '/init', bytes: 1234 }, { path: '/usr/bin/app', bytes: 77 }]);
  });

  test('usr.manifest comments name the module of each path', () => {
    const m = manifestModules('# header\n/hello: /x/y  # native-example\n/init: /a  # tailor\n/dev: (dir)  # tailor\n');
    assert.equal(m.get('/hello'), 'native-example');
    assert.equal(m.get('/init'), 'tailor');
  });
});

describe('treemap layout', () => {
  test('cells fill the box, areas proportional to the values, no overlap', () => {
    const values = [500, 250, 120, 80, 30, 15, 5];
    const box = { x: 0, y: 0, w: 800, h: 400 };
    const rects = squarify(values, box);
    const total = values.reduce((a, b) => a + b, 0);
    rects.forEach((r, i) => {
      assert.ok(Math.abs((r.w * r.h) / (800 * 400) - values[i]! / total) < 1e-6);
      assert.ok(r.x >= -1e-6 && r.y >= -1e-6 && r.x + r.w <= 800 + 1e-6 && r.y + r.h <= 400 + 1e-6);
    });
    for (let i = 0; i < rects.length; i++)
      for (let j = i + 1; j < rects.length; j++) {
        const a = rects[i]!, b = rects[j]!;
        const ox = Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x);
        const oy = Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y);
        assert.ok(ox <= 1e-6 || oy <= 1e-6, `cells ${i} and ${j} overlap`);
      }
  });
});

describe('size diff', () => {
  test('growth is listed by subsystem, largest change first; unchanged rows are left out', () => {
    const g = (text: number) => ({ text, rodata: 0, data: 0, bss: 0, init: 0 });
    const rep = (name: string, subs: Record<string, number>): SizeReport => ({
      build: name, kernelFlavour: 'custom', kernelRelease: 'x', onDisk: { bzImage: 1, rootfs: 1 },
      kernel: { sections: [], groupTotals: g(Object.values(subs).reduce((a, b) => a + b, 0)), total: 0, method: '', origins: {},
        objects: Object.entries(subs).map(([s, n]) => ({ object: `${s}/a.o`, subsystem: s, bytes: g(n), total: n })),
        subsystems: Object.entries(subs).map(([s, n]) => ({ object: s, subsystem: s, bytes: g(n), total: n })) },
      rootfs: { onDisk: 1, format: 'x', files: [], modules: [] },
    });
    const d = diffSizeReports(rep('a', { kernel: 100, mm: 50 }), rep('b', { kernel: 100, mm: 40, 'drivers/xen': 900 }));
    assert.deepEqual(d.subsystems.map((r) => [r.name, r.delta]), [['drivers/xen', 900], ['mm', -10]]);
  });
});
