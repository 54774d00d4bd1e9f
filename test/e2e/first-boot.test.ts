/**
 * The first-boot path through the CLI a user types: the first failing
 * command's status reaches the host, and the initrd is reproducible. (The
 * hello boot, its timing line and unknown init options: run-real-build.test.ts.)
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';

const tailor = resolve(import.meta.dirname, '..', '..', 'bin', 'tailor.js');
const project = mkdtempSync(join(tmpdir(), 'tailor-first-boot-'));

function run(args: string[], timeoutMs = 240_000) {
  const r = spawnSync(process.execPath, [tailor, ...args], { cwd: project, encoding: 'utf8', timeout: timeoutMs });
  return { code: r.status, out: r.stdout, err: r.stderr, all: `${r.stdout}\n${r.stderr}` };
}

const sha256 = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');

describe('first boot: stock kernel, ramfs, native-example', () => {
  let firstInitrd = '';
  before(() => {
    const r = run(['build', 'image=native-example', 'fs=ramfs', 'kernel=stock']);
    assert.equal(r.code, 0, r.all);
    firstInitrd = sha256(join(project, 'build', 'native-example', 'initrd.img'));
  });
  after(() => rmSync(project, { recursive: true, force: true }));

  it('returns the first failing command status: /hello; false exits 1', () => {
    const r = run(['run', '--timeout', '120', '-e', '/hello; false']);
    assert.equal(r.code, 1, r.all);
    assert.match(r.out, /Hello from Tailor's native-example/);
  });

  it('builds the same initrd bytes twice', () => {
    const r = run(['build', 'image=native-example', 'fs=ramfs', 'kernel=stock']);
    assert.equal(r.code, 0, r.all);
    assert.equal(sha256(join(project, 'build', 'native-example', 'initrd.img')), firstInitrd);
  });
});
