// The ELF reader against binutils' readelf on real binaries of this machine.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exec, hasCommand } from '../../src/util/exec.ts';
import { readElfFile, readSymbols, EM_X86_64, type ElfFile, type ElfSymbol } from '../../src/elf/index.ts';

async function readelf(args: string[], path: string): Promise<string> {
  return (await exec('readelf', [...args, path], { env: { ...process.env, LC_ALL: 'C' } })).stdout;
}

interface ReadelfFacts {
  interpreter?: string;
  needed: string[];
  soname?: string;
  runpath?: string;
  rpath?: string;
  pie: boolean;
  sectionCount: number;
  sectionNames: string[];
  symbolCounts: Record<string, number>;
  symtabLines: string[];
}

async function readelfFacts(path: string): Promise<ReadelfFacts> {
  const l = await readelf(['-lW'], path);
  const d = await readelf(['-dW'], path);
  const s = await readelf(['-SW'], path);
  const sym = await readelf(['-sW'], path);
  const one = (re: RegExp, text: string) => re.exec(text)?.[1];
  const sectionNames: string[] = [];
  for (const m of s.matchAll(/^\s*\[\s*(\d+)\] (\S+)\s/gm)) if (m[1] !== '0') sectionNames[Number(m[1])] = m[2]!;
  const symbolCounts: Record<string, number> = {};
  for (const m of sym.matchAll(/^Symbol table '([^']+)' contains (\d+) entries/gm)) symbolCounts[m[1]!] = Number(m[2]);
  const symtabPart = sym.split(/^Symbol table '\.symtab'.*\n.*\n/m)[1] ?? '';
  return {
    interpreter: one(/Requesting program interpreter: (.*)\]/, l),
    needed: [...d.matchAll(/\(NEEDED\)\s+Shared library: \[(.*)\]/g)].map((m) => m[1]!),
    soname: one(/\(SONAME\)\s+Library soname: \[(.*)\]/, d),
    runpath: one(/\(RUNPATH\)\s+Library runpath: \[(.*)\]/, d),
    rpath: one(/\(RPATH\)\s+Library rpath: \[(.*)\]/, d),
    pie: /\(FLAGS_1\)\s+Flags:.*\bPIE\b/.test(d),
    sectionCount: Number(one(/There are (\d+) section headers/, s) ?? 0),
    sectionNames: sectionNames.slice(1),
    symbolCounts,
    symtabLines: symtabPart.split('\n').filter((x) => /^\s*\d+:/.test(x)),
  };
}

/** Format one of our symbols the way `readelf -sW` prints a .symtab line (without the visibility column). */
function symLine(elf: ElfFile, i: number, s: ElfSymbol): string {
  // readelf shows a section symbol's section name in place of its (empty) name.
  const name = s.type === 'SECTION' && s.name === '' ? (elf.sections[s.sectionIndex]?.name ?? '') : s.name;
  const ndx = s.sectionIndex === 0 ? 'UND' : s.sectionIndex === 0xfff1 ? 'ABS' : s.sectionIndex === 0xfff2 ? 'COM' : String(s.sectionIndex);
  return `${i}: ${s.value.toString(16).padStart(16, "0")} ${s.size} ${s.type} ${s.bind} ${ndx} ${name}`.trimEnd();
}
function readelfSymLine(line: string): string {
  // "    12: 0000000000001139    22 FUNC    GLOBAL DEFAULT   14 main" → drop the visibility column.
  const f = line.trim().split(/\s+/);
  const size = f[2]!.startsWith('0x') ? String(parseInt(f[2]!, 16)) : f[2]!;
  return `${f[0]} ${f[1]} ${size} ${f[3]} ${f[4]} ${f[6]} ${f.slice(7).join(' ')}`.trimEnd();
}

async function compare(path: string, elf: ElfFile): Promise<void> {
  const r = await readelfFacts(path);
  assert.equal(elf.header.machine, EM_X86_64);
  assert.equal(elf.interpreter, r.interpreter, 'interpreter');
  assert.deepEqual(elf.dynamic?.needed ?? [], r.needed, 'NEEDED');
  assert.equal(elf.dynamic?.soname, r.soname, 'SONAME');
  assert.equal(elf.dynamic?.runpath, r.runpath, 'RUNPATH');
  assert.equal(elf.dynamic?.rpath, r.rpath, 'RPATH');
  assert.equal(elf.dynamic?.pie ?? false, r.pie, 'PIE flag');
  assert.equal(elf.sections.length, r.sectionCount, 'section count');
  assert.deepEqual(elf.sections.slice(1).map((s) => s.name), r.sectionNames, 'section names');
  const symtab = readSymbols(elf, 'symtab');
  const dynsym = readSymbols(elf, 'dynsym');
  assert.equal(symtab.length, r.symbolCounts['.symtab'] ?? 0, '.symtab count');
  assert.equal(dynsym.length, r.symbolCounts['.dynsym'] ?? 0, '.dynsym count');
  assert.deepEqual(
    symtab.map((s, i) => symLine(elf, i, s)),
    r.symtabLines.map(readelfSymLine),
    '.symtab entries',
  );
}

const haveReadelf = await hasCommand('readelf');

test('dynamic PIE /bin/ls matches readelf', { skip: !haveReadelf && 'readelf (binutils) not installed' }, async () => {
  const elf = await readElfFile('/bin/ls');
  await compare('/bin/ls', elf);
  assert.equal(elf.interpreter, '/lib64/ld-linux-x86-64.so.2');
  assert.ok(elf.dynamic?.needed.includes('libc.so.6'));
});

test('big unstripped /usr/bin/node matches readelf (all .symtab entries field by field)', {
  skip: (!haveReadelf && 'readelf (binutils) not installed') || (!existsSync('/usr/bin/node') && '/usr/bin/node absent'),
}, async () => {
  const elf = await readElfFile('/usr/bin/node');
  await compare('/usr/bin/node', elf);
  assert.ok(readSymbols(elf, 'symtab').length > 10000);
});

test('shared library libc.so.6 matches readelf and has its SONAME', { skip: !haveReadelf && 'readelf (binutils) not installed' }, async () => {
  const path = '/lib/x86_64-linux-gnu/libc.so.6';
  const elf = await readElfFile(path);
  await compare(path, elf);
  assert.equal(elf.dynamic?.soname, 'libc.so.6');
  assert.equal(elf.dynamic?.pie, false);
});

test('static busybox matches readelf: no interpreter, no dynamic section', {
  skip: (!haveReadelf && 'readelf (binutils) not installed') || (!existsSync('/bin/busybox') && 'busybox-static not installed'),
}, async (t) => {
  const r = await exec('file', ['-L', '/bin/busybox'], { allowFailure: true });
  if (!/statically linked/.test(r.stdout)) return t.skip('/bin/busybox is not the static build (busybox-static)');
  const elf = await readElfFile('/bin/busybox');
  await compare('/bin/busybox', elf);
  assert.equal(elf.interpreter, undefined);
  assert.equal(elf.dynamic, undefined);
});

test('gcc-built binaries with RUNPATH, RPATH and an unstripped static musl binary match readelf', {
  skip: (!haveReadelf && 'readelf (binutils) not installed'),
}, async (t) => {
  if (!(await hasCommand('gcc'))) return t.skip('gcc not installed');
  const dir = mkdtempSync(join(tmpdir(), 'tailor-elf-'));
  try {
    writeFileSync(join(dir, 'a.c'), 'int lib_value(void) { return 7; }\n');
    writeFileSync(join(dir, 'm.c'), 'int lib_value(void);\nint main(void) { return lib_value() == 7 ? 0 : 1; }\n');
    await exec('gcc', ['-shared', '-fPIC', '-Wl,-soname,libtailora.so.1', '-o', join(dir, 'libtailora.so.1'), join(dir, 'a.c')]);
    const cases: [string, string[], Partial<ReadelfFacts>][] = [
      ['runpath', ['-Wl,--enable-new-dtags', "-Wl,-rpath,$ORIGIN/lib:/opt/x"], { runpath: '$ORIGIN/lib:/opt/x' }],
      ['rpath', ['-Wl,--disable-new-dtags', '-Wl,-rpath,/opt/y'], { rpath: '/opt/y' }],
    ];
    for (const [name, flags, want] of cases) {
      const out = join(dir, name);
      await exec('gcc', ['-o', out, join(dir, 'm.c'), ...flags, `-L${dir}`, '-l:libtailora.so.1']);
      const elf = await readElfFile(out);
      await compare(out, elf);
      assert.equal(elf.dynamic?.runpath, want.runpath);
      assert.equal(elf.dynamic?.rpath, want.rpath);
      assert.deepEqual(elf.dynamic?.needed.slice(0, 1), ['libtailora.so.1']);
      assert.ok(readSymbols(elf, 'symtab').some((s) => s.name === 'main' && s.type === 'FUNC' && s.bind === 'GLOBAL'));
    }
    if (await hasCommand('musl-gcc')) {
      const out = join(dir, 'static-musl');
      await exec('musl-gcc', ['-static', '-O2', '-o', out, join(dir, 'm.c'), join(dir, 'a.c')]);
      const elf = await readElfFile(out);
      await compare(out, elf);
      assert.equal(elf.interpreter, undefined);
    } else t.diagnostic('musl-gcc not installed: static musl case not run');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
