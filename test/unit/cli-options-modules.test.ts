// `tailor options` and `tailor modules list|show|deps` end to end through bin/tailor.js.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { optionSchema } from '../../src/config/index.ts';

const bin = fileURLToPath(new URL('../../bin/tailor.js', import.meta.url));
const fixtures = fileURLToPath(new URL('../fixtures/', import.meta.url));
const emptyCwd = mkdtempSync(join(tmpdir(), 'tailor-cli-modules-'));
process.on('exit', () => rmSync(emptyCwd, { recursive: true, force: true }));

function tailor(args: string[], cwd = emptyCwd) {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('tailor options --json lists every schema option once, with type, default and help', () => {
  const r = tailor(['options', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const list = JSON.parse(r.stdout) as { name: string; type: string; default: unknown; help: string; aliases: string[] }[];
  assert.deepEqual(list.map((o) => o.name), optionSchema.map((s) => s.name));
  for (const o of list) assert.ok(o.type && o.help && o.default !== undefined, o.name);
  const fsc = list.find((o) => o.name === 'fs_compression')!;
  assert.deepEqual(fsc.aliases, ['zfs_compression']);
  // The options the issue names are all there.
  for (const name of ['image', 'modules', 'fs', 'fs_size_mb', 'mode', 'arch', 'kernel', 'conf_drivers_profile', 'conf_drivers_virtio_blk',
    'conf_hide_symbols', 'conf_lazy_stack', 'conf_preempt', 'conf_tracing', 'conf_mem_huge_page_size', 'lto', 'opt', 'march', 'mtune',
    'profile', 'fs_compression', 'export']) {
    assert.ok(list.some((o) => o.name === name), name);
  }
});

test('tailor options prints a table with a row per option', () => {
  const r = tailor(['options']);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trimEnd().split('\n');
  assert.match(lines[0]!, /^option\s+type\s+default\s+meaning$/);
  assert.equal(lines.length, optionSchema.length + 2);
  assert.ok(lines.some((l) => /^fs_compression \(zfs_compression\)\s/.test(l)));
});

test('tailor modules deps image=A on the A -> B -> C fixture prints C, B, A in that order', () => {
  const r = tailor(['modules', 'deps', 'image=A', `--module-path=${join(fixtures, 'modules-abc')}`]);
  assert.equal(r.code, 0, r.stderr);
  const order = r.stdout.split('resolution order (dependencies first):\n')[1]!.split('\n\n')[0]!;
  assert.deepEqual(order.split('\n').map((l) => l.trim()), ['1. C', '2. B', '3. A']);
  assert.match(r.stdout, /^dependency tree:\nA\n└── B\n    └── C\n/);
  assert.match(r.stdout, /^kernel needs: epoll, net, unix-sockets$/m);
  assert.match(r.stdout, /^ {2}\/etc\/a\.conf <- .*modules-abc\/A\/a\.conf {2}\[A\]$/m);
});

test('tailor modules deps finds ./modules in the working directory; --json gives the order', (t) => {
  const cwd = mkdtempSync(join(tmpdir(), 'tailor-cli-project-'));
  t.after(() => rmSync(cwd, { recursive: true, force: true }));
  symlinkSync(join(fixtures, 'modules-abc'), join(cwd, 'modules'));
  const r = tailor(['modules', 'deps', 'image=A', '--json'], cwd);
  assert.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout) as { order: string[]; kernelNeeds: string[]; command: string };
  assert.deepEqual(doc.order, ['C', 'B', 'A']);
  assert.deepEqual(doc.kernelNeeds, ['epoll', 'net', 'unix-sockets']);
  assert.equal(doc.command, '/c-init & /a.sh');
  // Elsewhere A is unknown.
  const elsewhere = tailor(['modules', 'deps', 'image=A']);
  assert.equal(elsewhere.code, 2);
  assert.match(elsewhere.stderr, /no module named A/);
});

test('tailor modules deps on a cycle exits 2 and prints the cycle, without a stack trace', () => {
  const r = tailor(['modules', 'deps', 'image=A', `--module-path=${join(fixtures, 'modules-cycle')}`]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /module dependency cycle: A -> B -> A/);
  assert.doesNotMatch(r.stderr, /^\s+at /m);
});

test('tailor modules list and show', () => {
  const list = tailor(['modules', 'list', `--module-path=${join(fixtures, 'modules-abc')}`]);
  assert.equal(list.code, 0, list.stderr);
  const names = list.stdout.trimEnd().split('\n').slice(2).map((l) => l.split(/\s+/)[0]);
  for (const n of ['A', 'B', 'C', 'empty', 'native-example']) assert.ok(names.includes(n), `${n} in ${names.join(',')}`);
  const show = tailor(['modules', 'show', 'B', `--module-path=${join(fixtures, 'modules-abc')}`]);
  assert.equal(show.code, 0, show.stderr);
  assert.match(show.stdout, /^requires\s+C$/m);
  assert.match(show.stdout, /^kernel needs\s+unix-sockets, epoll$/m);
  const missing = tailor(['modules', 'show', 'native-exampel']);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /no module named native-exampel/);
  assert.match(missing.stderr, /did you mean native-example/);
});
