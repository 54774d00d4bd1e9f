/**
 * The cloud-init module: `tailor run --user-data FILE` hands a #cloud-config
 * document to /cloud-init (guest/cloud-init/) through QEMU fw_cfg, on Debian's
 * stock kernel in QEMU (TCG here). The parser's corner cases run first on a
 * host build of the same C file (it takes the user data as a file argument).
 *
 * The boots use -e '/cloud-init ; ...': the image's own command line ends in
 * the cli module's interactive /bin/sh, which would wait for console input.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { hasCommand } from '../../src/util/exec.ts';

const repo = resolve(import.meta.dirname, '..', '..');
const tailor = join(repo, 'bin', 'tailor.js');
const project = mkdtempSync(join(tmpdir(), 'tailor-cloud-init-'));
after(() => rmSync(project, { recursive: true, force: true }));

function tailorCmd(args: string[], timeoutMs = 120_000) {
  const t0 = Date.now();
  const r = spawnSync(process.execPath, [tailor, ...args], { cwd: project, encoding: 'utf8', timeout: timeoutMs });
  process.stderr.write(`# tailor ${args.join(' ')}: exit ${r.status}, ${Date.now() - t0} ms\n`);
  return { code: r.status, out: r.stdout, err: r.stderr, all: `${r.stdout}\n${r.stderr}` };
}

function userData(name: string, text: string): string {
  const file = join(project, name);
  writeFileSync(file, text);
  return file;
}

describe('cloud-init parser (host build of guest/cloud-init)', async () => {
  const skip = (await hasCommand('gcc')) && (await hasCommand('make')) ? undefined : 'gcc/make are not installed';
  const out = join(project, 'host');
  const bin = join(out, 'cloud-init-host');
  const run = (file: string) => spawnSync(bin, [file], { encoding: 'utf8', timeout: 20_000 });

  it('builds with -Wall -Wextra -Werror', { skip }, () => {
    const r = spawnSync('make', ['-s', '-C', join(repo, 'guest', 'cloud-init'), `O=${out}`, 'host'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
  });

  it('write_files: block scalars keep inner indentation and # text, quoted scalars unescape, permissions apply; env reaches runcmd', { skip }, () => {
    const dir = join(project, 'files');
    const file = userData(
      'ud-files.yaml',
      [
        '#cloud-config',
        '# a comment',
        'write_files:',
        `  - path: ${dir}/a/conf.txt`,
        "    permissions: '0640'",
        '    content: |',
        '      first',
        '        indented # kept',
        '',
        '      last',
        `  - path: ${dir}/b.txt`,
        '    content: "x\\ty"',
        `- path: ${dir}/c.txt`,
        '  content: |-',
        '    no final newline',
        'env:',
        '  GREETING: hi there',
        'runcmd:',
        `  - echo "[$GREETING]" > ${dir}/env.txt`,
        "  - 'exit 3'",
        `  - touch ${dir}/after-failure`,
        '',
      ].join('\n'),
    );
    const r = run(file);
    assert.equal(r.status, 3, `first failing command's status\n${r.stdout}${r.stderr}`);
    assert.equal(readFileSync(join(dir, 'a', 'conf.txt'), 'utf8'), 'first\n  indented # kept\n\nlast\n');
    assert.equal(statSync(join(dir, 'a', 'conf.txt')).mode & 0o7777, 0o640);
    assert.equal(readFileSync(join(dir, 'b.txt'), 'utf8'), 'x\ty');
    assert.equal(readFileSync(join(dir, 'c.txt'), 'utf8'), 'no final newline');
    assert.equal(readFileSync(join(dir, 'env.txt'), 'utf8'), '[hi there]\n');
    assert.ok(existsSync(join(dir, 'after-failure')), 'commands after a failing one still run');
    assert.match(r.stdout, /^cloud-init: runcmd 2 exited with status 3$/m);
  });

  it('bad documents: the error names the key or the problem, status 2, nothing applied', { skip }, () => {
    const marker = join(project, 'must-not-exist');
    const cases: [string, RegExp][] = [
      ['#cloud-config\npackages:\n  - vim\n', /line 2: unsupported key 'packages'/],
      [`#cloud-config\nwrite_files:\n  - path: ${marker}\n    owner: root\n`, /line 4: write_files: unsupported key 'owner'/],
      [`#cloud-config\nwrite_files:\n  - path: ${marker}\n    content: >\n      x\n`, /only the block styles \| and \|- are supported/],
      ['#cloud-config\nwrite_files:\n  - path: relative.txt\n', /path 'relative.txt' must be absolute/],
      ["#cloud-config\nwrite_files:\n  - path: /tmp/x\n    permissions: '0999'\n", /permissions '0999' is not an octal mode/],
      ['#cloud-config\nruncmd:\n  - [ls, -l]\n', /list-form commands are not supported/],
      ['#!/bin/sh\necho hi\n', /does not start with #cloud-config/],
      [`#cloud-config\nruncmd:\n  - touch ${marker}\nbootcmd:\n  - x\n`, /line 4: unsupported key 'bootcmd'/],
    ];
    for (const [i, [text, error]] of cases.entries()) {
      const r = run(userData(`ud-bad-${i}.yaml`, text));
      assert.equal(r.status, 2, `case ${i}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, /^tailor:error cloud-init: /m, `case ${i}`);
      assert.match(r.stderr, error, `case ${i}`);
      assert.ok(!existsSync(marker), `case ${i}: nothing is applied from a bad document`);
    }
  });
});

describe('cloud-init module boots on the stock kernel (ramfs, TCG)', async () => {
  let skip: string | undefined;
  for (const tool of ['qemu-system-x86_64', 'musl-gcc', 'gcc']) {
    if (!skip && !(await hasCommand(tool))) skip = `${tool} is not installed (run: node bin/tailor.js doctor --fix)`;
  }
  if (!skip && !existsSync('/bin/busybox')) skip = 'busybox-static is not installed (apt-get install -y busybox-static)';
  const good = userData(
    'user-data.yaml',
    [
      '#cloud-config',
      'hostname: tailored-vm',
      'write_files:',
      '  - path: /tmp/hello.txt',
      "    permissions: '0644'",
      '    content: |',
      '      hello from user data',
      'runcmd:',
      '  - cat /tmp/hello.txt; hostname',
      '',
    ].join('\n'),
  );

  it('builds image=cloud-init,cli; --user-data becomes -fw_cfg; --user-data of a missing file is a usage error', { skip }, () => {
    const b = tailorCmd(['build', 'kernel=stock', 'fs=ramfs', 'image=cloud-init,cli']);
    assert.equal(b.code, 0, b.all);
    assert.match(b.all, /command \/cloud-init ; \/bin\/sh/);
    const dry = tailorCmd(['run', '--dry-run', '--user-data', good]);
    assert.equal(dry.code, 0, dry.all);
    assert.match(dry.out, new RegExp(`-fw_cfg name=opt/tailor/user-data,file=${good.replace(/[.]/g, '\\.')}( |$)`));
    const missing = tailorCmd(['run', '--dry-run', '--user-data', join(project, 'nope.yaml')]);
    assert.equal(missing.code, 2, missing.all);
    assert.match(missing.err, /--user-data .*nope\.yaml: no such file/);
  });

  it('hostname, write_files and runcmd take effect; the app after /cloud-init sees the file', { skip }, () => {
    const r = tailorCmd(['run', '--timeout', '60', '--user-data', good, '-e', '/cloud-init ; /bin/cat /tmp/hello.txt'], 90_000);
    assert.equal(r.code, 0, r.all);
    assert.match(r.out, /^cloud-init: user data: \d+ bytes from fw_cfg /m);
    assert.match(r.out, /^cloud-init: hostname tailored-vm\r?$/m);
    assert.match(r.out, /^tailored-vm\r?$/m, 'runcmd `hostname` prints the new name');
    assert.equal(r.out.match(/^hello from user data\r?$/gm)?.length, 2, `runcmd cat and the app after it both print the file\n${r.out}`);
    assert.match(r.out, /^tailor:exit status=0\r?$/m);
  });

  it('an unknown key: the error names it and the run exits non-zero; no user data: a note and status 0', { skip }, () => {
    const bad = userData('bad.yaml', '#cloud-config\nhostname: x\nusers:\n  - name: bob\n');
    const r = tailorCmd(['run', '--timeout', '60', '--user-data', bad, '-e', '/cloud-init'], 90_000);
    assert.equal(r.code, 2, r.all);
    assert.match(r.out, /^tailor:error cloud-init: line 3: unsupported key 'users'/m);
    assert.doesNotMatch(r.out, /^cloud-init: hostname/m, 'a bad document changes nothing');
    const none = tailorCmd(['run', '--timeout', '60', '-e', '/cloud-init'], 90_000);
    assert.equal(none.code, 0, none.all);
    assert.match(none.out, /^cloud-init: no user data \(give it with: tailor run --user-data FILE\); nothing to do\r?$/m);
  });
});
