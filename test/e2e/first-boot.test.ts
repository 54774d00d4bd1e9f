/**
 * The first-boot path end to end, through the CLI a user types: a real
 * Debian kernel boots in a real QEMU, runs native-example from an initramfs,
 * and the exit status and timing come back.
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

  it('boots and runs the hello program, exit 0, with a timing line', () => {
    const r = run(['run', '--timeout', '120']);
    assert.equal(r.code, 0, r.all);
    assert.match(r.out, /Hello from Tailor's native-example/);
    assert.match(r.all, /app started after \d+(\.\d+)? ms guest time/);
  });

  it('returns the first failing command status: /hello; false exits 1', () => {
    const r = run(['run', '--timeout', '120', '-e', '/hello; false']);
    assert.equal(r.code, 1, r.all);
    assert.match(r.out, /Hello from Tailor's native-example/);
  });

  it('rejects an unknown init option, naming it', () => {
    const r = run(['run', '--timeout', '120', '-e', '--nosuchopt /hello']);
    assert.notEqual(r.code, 0, r.all);
    assert.match(r.all, /--nosuchopt/);
    assert.doesNotMatch(r.out, /Hello from Tailor/);
  });

  it('builds the same initrd bytes twice', () => {
    const r = run(['build', 'image=native-example', 'fs=ramfs', 'kernel=stock']);
    assert.equal(r.code, 0, r.all);
    assert.equal(sha256(join(project, 'build', 'native-example', 'initrd.img')), firstInitrd);
  });
});
