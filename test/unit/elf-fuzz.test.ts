// Malformed input never crashes or hangs the readers: thousands of mutated real files, only ElfError allowed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';
import { parseElf, readNotes, readSymbols, ElfError } from '../../src/elf/index.ts';
import { parseLdCache } from '../../src/elf/ld-so-cache.ts';

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
