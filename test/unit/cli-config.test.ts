// `tailor config` end to end: the real CLI (bin/tailor.js) in a subprocess, as a user runs it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { optionSchema } from '../../src/config/index.ts';

const bin = fileURLToPath(new URL('../../bin/tailor.js', import.meta.url));
const emptyCwd = mkdtempSync(join(tmpdir(), 'tailor-cli-config-'));
process.on('exit', () => rmSync(emptyCwd, { recursive: true, force: true }));

function tailor(args: string[], cwd = emptyCwd) {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The table row of one option: [name, value, source]. */
function row(stdout: string, name: string): [string, string, string] {
  const line = stdout.split('\n').find((l) => l.startsWith(`${name} `));
  assert.ok(line, `a row for ${name} in:\n${stdout}`);
  const m = /^(\S+)\s+(\S+)\s+(.*)$/.exec(line)!;
  return [m[1]!, m[2]!, m[3]!];
}

const stackLine = /^\s+at /m;

test('tailor config --profile=minimal image=native-example fs=rofs conf_hide_symbols=1: every value with its source', () => {
  const r = tailor(['config', '--profile=minimal', 'image=native-example', 'fs=rofs', 'conf_hide_symbols=1']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^configuration profile \(--profile=NAME\): minimal$/m);
  assert.match(r.stdout, /^profile-guided optimisation \(build option profile=\): none$/m);
  assert.match(r.stdout, /^hash: [0-9a-f]{64}$/m);
  assert.deepEqual(row(r.stdout, 'image'), ['image', 'native-example', 'command line (image=native-example)']);
  assert.deepEqual(row(r.stdout, 'fs'), ['fs', 'rofs', 'command line (fs=rofs)']);
  assert.deepEqual(row(r.stdout, 'conf_hide_symbols'), ['conf_hide_symbols', '1', 'command line (conf_hide_symbols=1)']);
  assert.match(row(r.stdout, 'kernel')[2], /^built-in profile minimal \(conf\/profiles\/minimal\.mk:\d+\)$/);
  assert.deepEqual(row(r.stdout, 'lto'), ['lto', '0', 'default']);
  assert.deepEqual(row(r.stdout, 'conf_drivers_mmio'), ['conf_drivers_mmio', '1', 'conf_drivers_profile=microvm']);
  // One row per schema option, each with a source.
  for (const spec of optionSchema) assert.ok(row(r.stdout, spec.name)[2].length > 0);
});

test('tailor config ... --json is valid JSON with a value and a source for every option', () => {
  const r = tailor(['config', '--profile=minimal', 'image=native-example', 'fs=rofs', 'conf_hide_symbols=1', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout) as {
    hash: string;
    configurationProfile: string | null;
    options: Record<string, { value: unknown; source: { kind: string }; from: string }>;
    warnings: string[];
  };
  assert.match(doc.hash, /^[0-9a-f]{64}$/);
  assert.equal(doc.configurationProfile, 'minimal');
  assert.deepEqual(Object.keys(doc.options).sort(), optionSchema.map((s) => s.name).sort());
  for (const [name, o] of Object.entries(doc.options)) {
    assert.ok(o.source && typeof o.source.kind === 'string', `${name} has a source`);
    assert.ok(o.from.length > 0, `${name} has a readable source`);
  }
  assert.deepEqual(doc.options.fs, { value: 'rofs', source: { kind: 'command-line', arg: 'fs=rofs' }, from: 'command line (fs=rofs)' });
  assert.deepEqual(doc.options.image!.value, ['native-example']);
  assert.equal(doc.options.conf_hide_symbols!.value, true);
  assert.equal(doc.options.kernel!.source.kind, 'profile');
  // The same build arguments give the same hash in both outputs.
  const text = tailor(['config', 'image=native-example', '--profile=minimal', 'conf_hide_symbols=1', 'fs=rofs']);
  assert.match(text.stdout, new RegExp(`^hash: ${doc.hash}$`, 'm'));
});

test('tailor config conf_hide_symbol=1: exit 2, names conf_hide_symbols, no stack trace unless --verbose', () => {
  const r = tailor(['config', 'conf_hide_symbol=1']);
  assert.equal(r.code, 2);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /^tailor: .*unknown option conf_hide_symbol\b/);
  assert.match(r.stderr, /did you mean conf_hide_symbols\?/);
  assert.doesNotMatch(r.stderr, stackLine);
  const v = tailor(['--verbose', 'config', 'conf_hide_symbol=1']);
  assert.equal(v.code, 2);
  assert.match(v.stderr, /did you mean conf_hide_symbols\?/);
  assert.match(v.stderr, stackLine);
});

test('tailor config: bad values exit 2 with the allowed values; warnings go to stderr and keep exit 0', () => {
  const zfs = tailor(['config', 'fs=zfs']);
  assert.equal(zfs.code, 2);
  assert.match(zfs.stderr, /fs=zfs/);
  assert.match(zfs.stderr, /fs=btrfs/);
  assert.doesNotMatch(zfs.stderr, stackLine);
  const mode = tailor(['config', 'mode=fast']);
  assert.equal(mode.code, 2);
  assert.match(mode.stderr, /one of release, debug/);
  const warn = tailor(['config', 'fs=ext4', 'fs_compression=lz4', '--json']);
  assert.equal(warn.code, 0, warn.stderr);
  assert.match(warn.stderr, /^tailor: warning: fs_compression=lz4 has no effect/m);
  assert.equal(JSON.parse(warn.stdout).warnings.length, 1);
});

test('tailor config reads ./tailor.yaml and ./conf/profiles from the working directory', (t) => {
  const cwd = mkdtempSync(join(tmpdir(), 'tailor-cli-project-'));
  t.after(() => rmSync(cwd, { recursive: true, force: true }));
  mkdirSync(join(cwd, 'conf', 'profiles'), { recursive: true });
  writeFileSync(join(cwd, 'conf', 'profiles', 'mine.mk'), 'fs = ext4\nfs_size_mb = 64M\n');
  writeFileSync(join(cwd, 'tailor.yaml'), 'extends: mine\nmode: debug\n');
  const r = tailor(['config', 'lto=1'], cwd);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^configuration profile \(--profile=NAME\): mine$/m);
  assert.deepEqual(row(r.stdout, 'fs'), ['fs', 'ext4', `project profile mine (${join(cwd, 'conf/profiles/mine.mk')}:1)`]);
  assert.deepEqual(row(r.stdout, 'fs_size_mb'), ['fs_size_mb', '64', `project profile mine (${join(cwd, 'conf/profiles/mine.mk')}:2)`]);
  assert.deepEqual(row(r.stdout, 'mode'), ['mode', 'debug', `project file ${join(cwd, 'tailor.yaml')}`]);
  assert.deepEqual(row(r.stdout, 'lto'), ['lto', '1', 'command line (lto=1)']);
});

test('tailor config: -O3, -march=, -mtune= and --profile NAME pass through the CLI parser in order', () => {
  const r = tailor(['config', '-Os', '-march=x86-64-v3', '--profile', 'minimal', '-mtune=znver3', 'opt=-O2', '-O3', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout) as { configurationProfile: string; options: Record<string, { value: unknown; from: string }> };
  assert.equal(doc.configurationProfile, 'minimal');
  assert.deepEqual(doc.options.opt, { value: '-O3', source: { kind: 'command-line', arg: '-O3' }, from: 'command line (-O3)' });
  assert.equal(doc.options.march!.value, 'x86-64-v3');
  assert.equal(doc.options.mtune!.value, 'znver3');
  const bad = tailor(['config', '--frobnicate']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /unknown build flag --frobnicate/);
});
