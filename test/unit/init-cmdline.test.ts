// The guest init: its command-line parser as a host unit test (the same C
// source the guest runs), a warning-free static musl build, and the cached
// build used by the image stage.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, symlink, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exec, hasCommand } from '../../src/util/exec.ts';
import { MissingToolError } from '../../src/errors.ts';
import { buildGuestInit, guestInitSourceDir } from '../../src/image/guest-init.ts';

/** Program header types and section types of a 64-bit little-endian ELF file. */
function elfFacts(bytes: Buffer): { phTypes: number[]; shTypes: number[] } {
  assert.equal(bytes.subarray(0, 4).toString('latin1'), '\x7fELF', 'not an ELF file');
  assert.equal(bytes[4], 2, 'not a 64-bit ELF');
  const phoff = Number(bytes.readBigUInt64LE(0x20));
  const shoff = Number(bytes.readBigUInt64LE(0x28));
  const phentsize = bytes.readUInt16LE(0x36);
  const phnum = bytes.readUInt16LE(0x38);
  const shentsize = bytes.readUInt16LE(0x3a);
  const shnum = bytes.readUInt16LE(0x3c);
  const phTypes = Array.from({ length: phnum }, (_, i) => bytes.readUInt32LE(phoff + i * phentsize));
  const shTypes = Array.from({ length: shnum }, (_, i) => bytes.readUInt32LE(shoff + i * shentsize + 4));
  return { phTypes, shTypes };
}

test('init command-line parser passes its host test table (ASan/UBSan when available)', async (t) => {
  if (!(await hasCommand('gcc')) || !(await hasCommand('make'))) return t.skip('gcc or make is not installed');
  const out = await mkdtemp(join(tmpdir(), 'tailor-init-test-'));
  try {
    const r = await exec('make', ['-C', guestInitSourceDir, `O=${out}`, 'test'], { allowFailure: true });
    const text = r.stdout + r.stderr;
    assert.equal(r.code, 0, `make test failed:\n${text.slice(-4000)}`);
    const m = /cmdline-test: (\d+) passed, (\d+) failed \((\d+) table cases\)/.exec(text);
    assert.ok(m, `no summary line in:\n${text.slice(-2000)}`);
    assert.equal(Number(m[2]), 0);
    assert.ok(Number(m[3]) >= 100, `only ${m[3]} table cases`);
  } finally {
    await rm(out, { recursive: true, force: true });
  }
});

test('guest init builds static, stripped and warning-free with musl-gcc -Wall -Wextra -Werror', async (t) => {
  if (!(await hasCommand('musl-gcc'))) return t.skip('musl-gcc is not installed (apt-get install musl-tools)');
  const out = await mkdtemp(join(tmpdir(), 'tailor-init-build-'));
  try {
    // the real compile line must carry the warning flags that make warnings fatal
    const dry = await exec('make', ['-n', '-C', guestInitSourceDir, `O=${out}`, 'init']);
    const compile = dry.stdout.split('\n').find((l) => l.startsWith('musl-gcc'));
    assert.ok(compile, `no musl-gcc line in make -n output:\n${dry.stdout}`);
    for (const flag of ['-static', '-Wall', '-Wextra', '-Werror', '-Os', '-s']) {
      assert.ok(compile.split(/\s+/).includes(flag), `compile line lacks ${flag}: ${compile}`);
    }
    await exec('make', ['-C', guestInitSourceDir, `O=${out}`, 'init']);
    const bytes = await readFile(join(out, 'init'));
    const { phTypes, shTypes } = elfFacts(bytes);
    assert.ok(!phTypes.includes(3), 'init has a PT_INTERP: it is not static');
    assert.ok(!phTypes.includes(2), 'init has a PT_DYNAMIC: it is not fully static');
    assert.ok(!shTypes.includes(2), 'init has a symbol table: it is not stripped');
    assert.ok(bytes.length < 150_000, `init is ${bytes.length} bytes; expected tens of KB`);
  } finally {
    await rm(out, { recursive: true, force: true });
  }
});

test('buildGuestInit caches by source hash and builds the same bytes twice', async (t) => {
  if (!(await hasCommand('musl-gcc'))) return t.skip('musl-gcc is not installed (apt-get install musl-tools)');
  const saved = process.env.TAILOR_CACHE;
  const cache1 = await mkdtemp(join(tmpdir(), 'tailor-cache-a-'));
  const cache2 = await mkdtemp(join(tmpdir(), 'tailor-cache-b-'));
  try {
    process.env.TAILOR_CACHE = cache1;
    const first = await buildGuestInit();
    assert.ok(first.startsWith(join(cache1, 'init')), first);
    assert.equal(await buildGuestInit(), first, 'a second call must reuse the cached init');
    process.env.TAILOR_CACHE = cache2;
    const second = await buildGuestInit();
    assert.notEqual(second, first);
    assert.deepEqual(await readFile(second), await readFile(first), 'two builds of the same sources differ');
  } finally {
    if (saved === undefined) delete process.env.TAILOR_CACHE;
    else process.env.TAILOR_CACHE = saved;
    await rm(cache1, { recursive: true, force: true });
    await rm(cache2, { recursive: true, force: true });
  }
});

test('buildGuestInit names musl-tools when musl-gcc is missing', async () => {
  const saved = { path: process.env.PATH, cache: process.env.TAILOR_CACHE };
  const dir = await mkdtemp(join(tmpdir(), 'tailor-nomusl-'));
  try {
    // a PATH with a shell and nothing else: musl-gcc cannot be found
    await mkdir(join(dir, 'bin'));
    await symlink('/bin/sh', join(dir, 'bin', 'sh'));
    process.env.PATH = join(dir, 'bin');
    process.env.TAILOR_CACHE = join(dir, 'cache');
    await assert.rejects(buildGuestInit(), (err: unknown) => {
      assert.ok(err instanceof MissingToolError, String(err));
      assert.match(err.message, /musl-gcc/);
      assert.match(err.hint ?? '', /apt-get install -y musl-tools/);
      return true;
    });
  } finally {
    process.env.PATH = saved.path;
    if (saved.cache === undefined) delete process.env.TAILOR_CACHE;
    else process.env.TAILOR_CACHE = saved.cache;
    await rm(dir, { recursive: true, force: true });
  }
});
