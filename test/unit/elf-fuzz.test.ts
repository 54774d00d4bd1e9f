// Malformed input never crashes or hangs the readers: thousands of mutated real files, only ElfError allowed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';
import { parseElf, readNotes, readSymbols, ElfError } from '../../src/elf/index.ts';
import { parseLdCache } from '../../src/elf/ld-so-cache.ts';
import fc from 'fast-check';
import { describe, expectNames, fuzz as fuzzSeeded } from './fuzz-support.ts';

/** xorshift32: a seeded generator so a failure can be replayed from the printed seed. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x100000000;
  };
}

type Mutator = (b: Buffer, r: () => number) => Buffer;
const int = (r: () => number, n: number) => Math.floor(r() * n);
const hot = (r: () => number, len: number) => (r() < 0.7 ? int(r, Math.min(len, 4096)) : int(r, len));
const HUGE = [0xffffffffffffffffn, 0x7fffffffffffffffn, 0xffffffffn, 0x80000000n, 0x10000000000n, 0n, 1n];

const mutators: Record<string, Mutator> = {
  flipBytes: (b, r) => {
    const n = 1 + int(r, 16);
    for (let i = 0; i < n; i++) b[hot(r, b.length)] = int(r, 256);
    return b;
  },
  flipBits: (b, r) => {
    const i = hot(r, b.length);
    b[i]! ^= 1 << int(r, 8);
    return b;
  },
  truncate: (b, r) => b.subarray(0, r() < 0.5 ? int(r, 4096) : int(r, b.length)),
  hugeField: (b, r) => {
    const at = hot(r, b.length - 8) & ~3;
    b.writeBigUInt64LE(HUGE[int(r, HUGE.length)]!, Math.max(0, at));
    return b;
  },
  hugeCounts: (b, r) => {
    // e_phnum, e_shnum, e_shstrndx, e_phentsize, e_shentsize and e_phoff/e_shoff
    const fields = [54, 56, 58, 60, 62];
    b.writeUInt16LE(r() < 0.5 ? 0xffff : int(r, 0x10000), fields[int(r, fields.length)]!);
    if (r() < 0.3) b.writeBigUInt64LE(HUGE[int(r, HUGE.length)]!, r() < 0.5 ? 32 : 40);
    return b;
  },
};

function fuzz(name: string, original: Buffer, iterations: number, budgetMs: number, seed: number, run: (b: Buffer) => void) {
  const r = rng(seed);
  const names = Object.keys(mutators);
  const started = Date.now();
  let done = 0;
  let rejected = 0;
  let slowest = 0;
  for (; done < iterations && Date.now() - started < budgetMs; done++) {
    const how = names[int(r, names.length)]!;
    const mutated = mutators[how]!(Buffer.from(original), r);
    const t0 = Date.now();
    try {
      run(mutated);
    } catch (err) {
      if (!(err instanceof ElfError)) {
        assert.fail(`${name} iteration ${done} (seed ${seed}, ${how}) threw ${(err as Error)?.constructor?.name}: ${(err as Error)?.stack}`);
      }
      assert.ok((err as ElfError).message.length > 0);
      rejected++;
    }
    slowest = Math.max(slowest, Date.now() - t0);
  }
  return { done, rejected, slowest };
}

const parseAll = (b: Buffer) => {
  const elf = parseElf(b, 'mutated');
  readNotes(elf);
  readSymbols(elf, 'symtab');
  readSymbols(elf, 'dynsym');
};

// Each iteration copies the file, so the 2 MB static busybox gets fewer rounds than the small ones.
for (const [path, rounds] of [['/bin/ls', 3000], ['/lib/x86_64-linux-gnu/libz.so.1', 3000], ['/bin/busybox', 1000]] as const) {
  test(`fuzzing ${path}: only ElfError, never a crash or hang`, { timeout: 60_000, skip: !existsSync(path) && `${path} absent` }, (t) => {
    const original = readFileSync(path);
    parseAll(original); // the unmutated file parses
    const seed = 0x5eed + path.length;
    const { done, rejected, slowest } = fuzz(path, original, rounds, 15_000, seed, parseAll);
    t.diagnostic(`${done} mutations, ${rejected} rejected with ElfError, slowest ${slowest} ms (seed ${seed})`);
    assert.ok(done >= 500, `only ${done} mutations ran inside the time budget`);
    assert.ok(rejected > done / 10, 'the mutations should make many files invalid');
    assert.ok(slowest < 2000, `one parse took ${slowest} ms`);
  });
}

test('fuzzing /etc/ld.so.cache: only ElfError', { timeout: 60_000, skip: !existsSync('/etc/ld.so.cache') && 'no /etc/ld.so.cache' }, (t) => {
  const original = readFileSync('/etc/ld.so.cache');
  parseLdCache(original);
  const { done, rejected } = fuzz('/etc/ld.so.cache', original, 3000, 10_000, 42, (b) => void parseLdCache(b));
  t.diagnostic(`${done} mutations, ${rejected} rejected`);
  assert.ok(done >= 500);
});

test('32-bit, big-endian and non-ELF input are rejected with a message saying what they are', () => {
  const base = readFileSync('/bin/ls');
  const c32 = Buffer.from(base);
  c32[4] = 1;
  assert.throws(() => parseElf(c32, 'x32'), (e: Error) => e instanceof ElfError && /32-bit/.test(e.message) && /x32/.test(e.message));
  const be = Buffer.from(base);
  be[5] = 2;
  assert.throws(() => parseElf(be, 'be'), (e: Error) => e instanceof ElfError && /big-endian/.test(e.message));
  assert.throws(() => parseElf(Buffer.from('#!/bin/sh\necho hi\n'), 'script.sh'), (e: Error) => e instanceof ElfError && /not an ELF file/.test(e.message));
  assert.throws(() => parseElf(base.subarray(0, 40), 'short'), (e: Error) => e instanceof ElfError && /outside the file/.test(e.message));
});

// ---- structured inputs (fast-check, fixed seeds): synthetic files whose every offset, size and count
// is drawn from values that sit at the edges (inside, at the end, one past it, 2^32, 2^63, 2^64-1) ----

const SIZE = 4096;
const edge = fc.oneof(
  { arbitrary: fc.integer({ min: 0, max: SIZE - 600 }).map(BigInt), weight: 20 },
  { arbitrary: fc.constantFrom(0n, 64n, BigInt(SIZE - 1), BigInt(SIZE), BigInt(SIZE + 1), 2n ** 32n - 1n, 2n ** 32n, 2n ** 53n, 2n ** 63n, 2n ** 64n - 1n), weight: 1 },
);
const count = fc.oneof({ arbitrary: fc.integer({ min: 0, max: 12 }), weight: 6 }, { arbitrary: fc.constantFrom(0xfff, 0xffff), weight: 1 });
/** A size that mostly fits the file. */
const small = fc.oneof({ arbitrary: fc.integer({ min: 0, max: 512 }).map(BigInt), weight: 4 }, { arbitrary: edge, weight: 1 });
const phdr = fc.record({ type: fc.constantFrom(0, 1, 2, 3, 4, 7, 0x6474e550, 0xffffffff), offset: edge, filesz: small, vaddr: edge });
const shdr = fc.record({
  name: fc.integer({ min: 0, max: 64 }),
  type: fc.constantFrom(0, 1, 2, 3, 4, 6, 7, 8, 11, 0x6ffffff6),
  addr: edge,
  offset: edge,
  size: small,
  link: fc.integer({ min: 0, max: 14 }),
  entsize: fc.constantFrom(0n, 1n, 16n, 24n, 0xffffffffn),
});
const syntheticElf = fc
  .record({
    type: fc.constantFrom(2, 3),
    phoff: fc.oneof({ arbitrary: fc.constant(64n), weight: 6 }, { arbitrary: edge, weight: 1 }),
    shoff: fc.oneof({ arbitrary: fc.constant(1024n), weight: 6 }, { arbitrary: edge, weight: 1 }),
    phentsize: fc.oneof({ arbitrary: fc.constant(56), weight: 8 }, { arbitrary: fc.constantFrom(0, 1, 0xffff), weight: 1 }),
    shentsize: fc.oneof({ arbitrary: fc.constant(64), weight: 8 }, { arbitrary: fc.constantFrom(0, 63, 0xffff), weight: 1 }),
    // null: as many as the tables below hold
    phnum: fc.option(count, { freq: 4 }),
    shnum: fc.option(count, { freq: 4 }),
    shstrndx: fc.oneof(fc.integer({ min: 0, max: 14 }), fc.constant(0xffff)),
    phdrs: fc.array(phdr, { maxLength: 6 }),
    shdrs: fc.array(shdr, { maxLength: 8 }),
    // the rest of the file: mostly NULs (strings end), some text and random bytes
    fill: fc.array(fc.oneof(fc.constant(0), fc.integer({ min: 0x20, max: 0x7e }), fc.integer({ min: 0, max: 255 })), { minLength: 64, maxLength: 256 }),
  })
  .map((e) => {
    const b = Buffer.alloc(SIZE);
    for (let i = 64; i < SIZE; i++) b[i] = e.fill[i % e.fill.length]!;
    b.write('\x7fELF', 0, 'latin1');
    b[4] = 2;
    b[5] = 1;
    b[6] = 1;
    b.writeUInt16LE(e.type, 16);
    b.writeUInt16LE(62, 18);
    b.writeUInt32LE(1, 20);
    b.writeBigUInt64LE(e.phoff, 32);
    b.writeBigUInt64LE(e.shoff, 40);
    b.writeUInt16LE(64, 52);
    b.writeUInt16LE(e.phentsize, 54);
    b.writeUInt16LE(e.phnum ?? e.phdrs.length, 56);
    b.writeUInt16LE(e.shentsize, 58);
    b.writeUInt16LE(e.shnum ?? e.shdrs.length, 60);
    b.writeUInt16LE(e.shstrndx, 62);
    e.phdrs.forEach((p, i) => {
      const at = Number(e.phoff) + i * 56;
      if (e.phoff > BigInt(SIZE) || at + 56 > SIZE) return;
      b.writeUInt32LE(p.type, at);
      b.writeBigUInt64LE(p.offset, at + 8);
      b.writeBigUInt64LE(p.vaddr, at + 16);
      b.writeBigUInt64LE(p.filesz, at + 32);
      b.writeBigUInt64LE(p.filesz, at + 40);
    });
    e.shdrs.forEach((s, i) => {
      const at = Number(e.shoff) + i * 64;
      if (e.shoff > BigInt(SIZE) || at + 64 > SIZE) return;
      b.writeUInt32LE(s.name, at);
      b.writeUInt32LE(s.type, at + 4);
      b.writeBigUInt64LE(s.addr, at + 16);
      b.writeBigUInt64LE(s.offset, at + 24);
      b.writeBigUInt64LE(s.size, at + 32);
      b.writeUInt32LE(s.link, at + 40);
      b.writeBigUInt64LE(s.entsize, at + 56);
    });
    return b;
  });

test('synthetic ELF files with edge-value offsets, sizes and counts: only an ElfError naming the file', (t) => {
  const name = 'synthetic.elf';
  const o = fuzzSeeded({
    seed: 0xe1f,
    numRuns: 4000,
    budgetMs: 15_000,
    slowMs: 500,
    input: syntheticElf,
    parse: (b) => {
      const elf = parseElf(b, name);
      readNotes(elf);
      readSymbols(elf, 'symtab');
      readSymbols(elf, 'dynsym');
    },
    rejection: (err) => {
      assert.ok(err instanceof ElfError, `${err.name}: ${err.message}`);
      expectNames(err, name);
    },
  });
  t.diagnostic(describe('ELF (synthetic headers)', o));
  assert.ok(o.inputs >= 300 && o.accepted > 0 && o.rejected > 0);
});

const cacheEntry = fc.record({ flags: fc.constantFrom(0x303, 0x803, 3, 0, -1), key: edge, value: edge, hwcap: fc.constantFrom(0n, 1n << 62n, (1n << 62n) | 1n, (1n << 62n) | 0xffffffffn, 2n ** 64n - 1n) });
const syntheticLdCache = fc
  .record({
    old: fc.boolean(),
    oldCount: fc.oneof(fc.integer({ min: 0, max: 4 }), fc.constant(0xffffffff)),
    nlibs: count,
    endian: fc.constantFrom(0, 1, 2, 3),
    entries: fc.array(cacheEntry, { maxLength: 10 }),
    ext: fc.option(fc.record({ count: count, sections: fc.array(fc.record({ tag: fc.constantFrom(0, 1, 2), offset: edge, size: edge }), { maxLength: 4 }) })),
    extOffset: edge,
    strings: fc.array(fc.constantFrom('libc.so.6\0', '/lib/x86_64-linux-gnu/libc.so.6\0', 'x86-64-v3\0', 'unterminated', '\0'), { maxLength: 12 }),
  })
  .map((c) => {
    const b = Buffer.alloc(SIZE);
    let base = 0;
    if (c.old) {
      b.write('ld.so-1.7.0', 0, 'latin1');
      b.writeUInt32LE(c.oldCount, 12);
      base = c.oldCount <= 4 ? 16 + c.oldCount * 12 : 16;
      base += (8 - (base % 8)) % 8;
    }
    b.write('glibc-ld.so.cache1.1', base, 'latin1');
    b.writeUInt32LE(c.nlibs, base + 20);
    b[base + 28] = c.endian;
    const ext = Number(c.extOffset % BigInt(SIZE));
    b.writeUInt32LE(c.ext ? ext : 0, base + 32);
    c.entries.forEach((e, i) => {
      const at = base + 48 + i * 24;
      if (at + 24 > SIZE) return;
      b.writeInt32LE(e.flags, at);
      b.writeUInt32LE(Number(e.key & 0xffffffffn), at + 4);
      b.writeUInt32LE(Number(e.value & 0xffffffffn), at + 8);
      b.writeBigUInt64LE(e.hwcap, at + 16);
    });
    let s = base + 48 + c.entries.length * 24;
    for (const str of c.strings) s += b.write(str, Math.min(s, SIZE - 1), 'latin1');
    if (c.ext && base + ext + 8 <= SIZE) {
      b.writeUInt32LE(0xeaa42174, base + ext);
      b.writeUInt32LE(c.ext.count, base + ext + 4);
      c.ext.sections.forEach((sec, i) => {
        const at = base + ext + 8 + i * 16;
        if (at + 16 > SIZE) return;
        b.writeUInt32LE(sec.tag, at);
        b.writeUInt32LE(Number(sec.offset & 0xffffffffn), at + 8);
        b.writeUInt32LE(Number(sec.size & 0xffffffffn), at + 12);
      });
    }
    return b;
  });

test('synthetic ld.so.cache files (old and new format, extensions, hwcaps): only an ElfError naming the file', (t) => {
  const name = 'synthetic-ld.so.cache';
  const o = fuzzSeeded({
    seed: 0x1dc,
    numRuns: 4000,
    budgetMs: 15_000,
    slowMs: 500,
    input: syntheticLdCache,
    parse: (b) => void parseLdCache(b, name),
    rejection: (err) => {
      assert.ok(err instanceof ElfError, `${err.name}: ${err.message}`);
      expectNames(err, name);
    },
  });
  t.diagnostic(describe('ld.so.cache (synthetic)', o));
  assert.ok(o.inputs >= 300 && o.accepted > 0 && o.rejected > 0);
});
