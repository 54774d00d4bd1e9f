// A catalog module whose Debian package is missing fails the build with the apt command.
// The package's files are hidden for real, in a private mount namespace (root and unshare needed),
// so the host itself is untouched.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const tailor = resolve(import.meta.dirname, '..', '..', 'bin', 'tailor.js');
let project: string;
before(() => {
  project = mkdtempSync(join(tmpdir(), 'tailor-packages-'));
});
after(() => rmSync(project, { recursive: true, force: true }));

/** Why a private mount namespace cannot be made here, or undefined. */
function namespaceUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root to hide files in a private mount namespace';
  const r = spawnSync('unshare', ['-m', '--propagation', 'private', 'true']);
  return r.status === 0 ? undefined : `unshare -m does not work here (${r.stderr?.toString().trim() || r.error?.message})`;
}

/** Run `tailor build image=NAME` with `hide` (a shell mount command) done first, in a private mount namespace. */
function buildWithHidden(image: string, hide: string) {
  const script = `${hide} && exec "$0" "$1" build image=${image} name=pkg-${image} kernel=stock`;
  const r = spawnSync('unshare', ['-m', '--propagation', 'private', 'sh', '-c', script, process.execPath, tailor], {
    cwd: project,
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: r.status, all: `${r.stdout}\n${r.stderr}` };
}

const cases = [
  { module: 'cli', needs: '/bin/busybox', pkg: 'busybox-static', hide: (p: string) => `mount --bind /dev/null ${p}` },
  { module: 'ca-certificates', needs: '/etc/ssl/certs/ca-certificates.crt', pkg: 'ca-certificates', hide: (p: string) => `mount --bind /dev/null ${p}` },
  { module: 'openjdk', needs: '/usr/lib/jvm', pkg: 'openjdk-17-jre-headless', hide: (p: string) => `mount -t tmpfs none ${p}` },
];

for (const c of cases) {
  test(`${c.module}: without ${c.pkg} the build fails saying apt-get install -y ${c.pkg}`, (t) => {
    const why = namespaceUnavailable();
    if (why) return t.skip(why);
    if (!existsSync(c.needs)) return t.skip(`${c.needs} is not on this host, so there is nothing to hide`);
    const r = buildWithHidden(c.module, c.hide(realpathSync(c.needs)));
    assert.notEqual(r.code, 0, r.all);
    assert.match(r.all, new RegExp(`module ${c.module}: `));
    assert.match(r.all, new RegExp(`install it with: apt-get install -y ${c.pkg.replace(/[.+]/g, '\\$&')}`));
    assert.ok(!existsSync(join(project, 'build', `pkg-${c.module}`)), 'no build folder left behind');
  });
}

test('with the packages present, the same modules build (the guards pass)', (t) => {
  if (!existsSync('/bin/busybox')) return t.skip('busybox-static is not installed');
  const r = spawnSync(process.execPath, [tailor, 'build', 'image=cli,ca-certificates', 'name=pkg-present', 'kernel=stock'], { cwd: project, encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.ok(existsSync(join(project, 'build', 'pkg-present', 'initrd.img')));
});
