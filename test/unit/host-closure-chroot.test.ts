// The closure is complete: programs run in a chroot that holds nothing but hostClosure's files.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { exec } from '../../src/util/exec.ts';
import { hostClosure, type HostFile } from '../../src/modules/host-closure.ts';

let work = '';
const savedCache = process.env.TAILOR_CACHE;
const isRoot = process.getuid?.() === 0;
const CHROOT = ['/usr/sbin/chroot', '/sbin/chroot'].find((p) => existsSync(p)) ?? 'chroot';

before(() => {
  work = mkdtempSync(join(tmpdir(), 'tailor-chroot-'));
  process.env.TAILOR_CACHE = join(work, 'cache');
});
after(() => {
  if (savedCache === undefined) delete process.env.TAILOR_CACHE;
  else process.env.TAILOR_CACHE = savedCache;
  rmSync(work, { recursive: true, force: true });
});

/** Lay the files out under `root` the way an image would hold them. */
function materialize(root: string, files: readonly HostFile[]): void {
  for (const f of files) {
    const dest = join(root, f.guestPath);
    mkdirSync(dirname(dest), { recursive: true });
    if (f.linkTarget) symlinkSync(f.linkTarget, dest);
    else copyFileSync(f.hostPath, dest);
  }
}

async function inChroot(name: string, binaries: string[], argv: string[]) {
  const root = join(work, name);
  materialize(root, (await hostClosure(binaries)).files);
  return exec(CHROOT, [root, ...argv], { allowFailure: true, env: { PATH: '/usr/bin:/bin', LC_ALL: 'C' } });
}

test('ls runs in a chroot holding only its closure', { skip: !isRoot && 'chroot needs root' }, async () => {
  const r = await inChroot('ls', ['/bin/ls'], ['/bin/ls', '-a', '/etc']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.stdout.split('\n').filter(Boolean), ['.', '..', 'group', 'hosts', 'nsswitch.conf', 'passwd', 'resolv.conf']);
});

test('glibc name lookups work from the generated /etc files with no libnss_* in the image', { skip: !isRoot && 'chroot needs root' }, async (t) => {
  const getent = '/usr/bin/getent';
  if (!existsSync(getent)) return t.skip('getent not installed');
  const r1 = await inChroot('getent', [getent, '/usr/bin/id'], [getent, 'passwd', 'root']);
  assert.equal(r1.code, 0, r1.stderr);
  assert.match(r1.stdout, /^root:x:0:0:/);
  const r2 = await exec(CHROOT, [join(work, 'getent'), getent, 'hosts', 'localhost'], { allowFailure: true });
  assert.equal(r2.code, 0, r2.stderr);
  assert.match(r2.stdout, /localhost/);
  const r3 = await exec(CHROOT, [join(work, 'getent'), '/usr/bin/id', '-un'], { allowFailure: true });
  assert.equal(r3.stdout.trim(), 'root');
});

test('curl (TLS libraries, 30+ shared objects) starts in its closure', { skip: (!isRoot && 'chroot needs root') || (!existsSync('/usr/bin/curl') && 'curl not installed') }, async () => {
  const r = await inChroot('curl', ['/usr/bin/curl'], ['/usr/bin/curl', '--version']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^curl \d/);
  assert.ok(existsSync(join(work, 'curl/etc/ssl/certs/ca-certificates.crt')));
});
