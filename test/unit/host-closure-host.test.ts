// hostClosure on real host programs, checked against the real dynamic loader (ldd).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, normalize } from 'node:path';
import { exec } from '../../src/util/exec.ts';
import { TailorError, UsageError } from '../../src/errors.ts';
import { hostClosure, type HostFile } from '../../src/modules/host-closure.ts';
import { readElfFile, readSymbols } from '../../src/elf/index.ts';

let cache: string;
const savedCache = process.env.TAILOR_CACHE;
before(() => {
  cache = mkdtempSync(join(tmpdir(), 'tailor-cache-'));
  process.env.TAILOR_CACHE = cache; // generated /etc files go here, not into the user's cache
});
after(() => {
  if (savedCache === undefined) delete process.env.TAILOR_CACHE;
  else process.env.TAILOR_CACHE = savedCache;
  rmSync(cache, { recursive: true, force: true });
});

const byGuest = (files: HostFile[], p: string) => files.find((f) => f.guestPath === p);
const libNames = (files: HostFile[]) => files.filter((f) => /\.so(\.|$)/.test(f.guestPath)).map((f) => basename(f.guestPath));

/** The libraries the real loader maps for `bin`: `ldd` lines "name => /path (addr)" and the interpreter line. */
async function lddPaths(bin: string): Promise<string[]> {
  // Run on the real path: a normal exec computes the executable's $ORIGIN from it, ldd from the path it is given.
  const out = (await exec('ldd', [realpathSync(bin)], { env: { ...process.env, LC_ALL: 'C' } })).stdout;
  const paths: string[] = [];
  for (const line of out.split('\n')) {
    const m = /=>\s+(\/\S+)\s+\(/.exec(line) ?? /^\s+(\/\S+)\s+\(/.exec(line);
    if (m) paths.push(normalize(m[1]!));
  }
  return paths.sort();
}

test('/bin/ls: interpreter, libc, libselinux, libpcre2-8 and the /etc files; every copy source is a real file', async () => {
  const { files } = await hostClosure(['/bin/ls']);
  const names = libNames(files);
  for (const lib of ['ld-linux-x86-64.so.2', 'libc.so.6', 'libselinux.so.1', 'libpcre2-8.so.0']) assert.ok(names.includes(lib), `${lib} in ${names}`);
  const interp = byGuest(files, '/lib64/ld-linux-x86-64.so.2');
  assert.ok(interp, 'the interpreter sits at its PT_INTERP path');
  for (const etc of ['/etc/passwd', '/etc/group', '/etc/nsswitch.conf', '/etc/resolv.conf', '/etc/hosts']) assert.ok(byGuest(files, etc), etc);
  assert.match(readFileSync(byGuest(files, '/etc/nsswitch.conf')!.hostPath, 'utf8'), /^hosts:\s+files dns$/m);
  assert.equal(byGuest(files, '/etc/ssl/certs/ca-certificates.crt'), undefined, 'ls has no TLS library');
  for (const f of files) {
    if (f.linkTarget) continue;
    assert.ok(lstatSync(f.hostPath).isFile(), `${f.hostPath} (for ${f.guestPath}) is a regular file, not a symlink`);
  }
  const guests = files.map((f) => f.guestPath);
  assert.deepEqual(guests, [...guests].sort(), 'sorted by guest path');
  assert.equal(new Set(guests).size, guests.length, 'one entry per guest path');
  // Same input, same output (reproducible images).
  assert.deepEqual((await hostClosure(['/bin/ls'])).files, files);
});

for (const bin of ['/bin/ls', '/usr/bin/curl', '/usr/bin/java', '/usr/bin/node', '/usr/bin/redis-server', '/usr/sbin/nginx']) {
  test(`library closure of ${bin} equals what the real loader maps (ldd)`, { skip: !existsSync(bin) && `${bin} not installed` }, async () => {
    const { files } = await hostClosure([bin]);
    const elf = await readElfFile(bin);
    const ours = files
      .filter((f) => !f.linkTarget && /\.so(\.|$)/.test(basename(f.guestPath)) && f.guestPath !== elf.interpreter)
      .map((f) => f.guestPath);
    const ldd = (await lddPaths(bin)).filter((p) => p !== elf.interpreter);
    assert.deepEqual(ours.sort(), ldd);
  });
}

test('a program with libssl/libcrypto/libgnutls gets the CA bundle', { skip: !existsSync('/usr/bin/curl') && 'curl not installed' }, async () => {
  const { files } = await hostClosure(['/usr/bin/curl']);
  const ca = byGuest(files, '/etc/ssl/certs/ca-certificates.crt');
  assert.ok(ca, 'CA bundle present');
  assert.ok(lstatSync(ca.hostPath).isFile());
});

test('glibc >= 2.34 has nss_files/nss_dns built in: no libnss_* stubs are shipped (and libc really exports them)', async () => {
  const { files } = await hostClosure(['/bin/ls']);
  const libc = byGuest(files, '/lib/x86_64-linux-gnu/libc.so.6') ?? files.find((f) => basename(f.guestPath) === 'libc.so.6');
  assert.ok(libc);
  const syms = readSymbols(await readElfFile(libc.hostPath), 'dynsym');
  assert.ok(syms.some((s) => s.name === '_nss_files_getpwnam_r' && s.sectionIndex !== 0), 'this libc exports the files NSS module');
  assert.ok(syms.some((s) => s.name === '_nss_dns_gethostbyname4_r' && s.sectionIndex !== 0), 'this libc exports the dns NSS module');
  assert.ok(!libNames(files).some((n) => n.startsWith('libnss_')), 'no NSS stub libraries');
});

test('a binary reached through a symlink lives at its real path with a symlink at the given one', { skip: !existsSync('/usr/bin/java') && 'java not installed' }, async () => {
  const { files } = await hostClosure(['/usr/bin/java']);
  const link = byGuest(files, '/usr/bin/java');
  assert.ok(link?.linkTarget, 'symlink entry');
  assert.ok(byGuest(files, link.linkTarget), 'real file entry');
  assert.ok(libNames(files).includes('libjli.so'), 'libjli.so found through the binary\'s $ORIGIN/../lib');
});

test('extra_libs: sonames and absolute paths are added with their own closure', async () => {
  const { files } = await hostClosure(['/bin/ls'], { extraLibs: ['libz.so.1', '/lib/x86_64-linux-gnu/libcrypt.so.1'] });
  const z = files.find((f) => basename(f.guestPath) === 'libz.so.1');
  assert.ok(z);
  assert.match(z.reason, /extra_libs/);
  assert.ok(byGuest(files, '/lib/x86_64-linux-gnu/libcrypt.so.1'));
  await assert.rejects(hostClosure(['/bin/ls'], { extraLibs: ['libdoesnotexist.so.9'] }), (e: Error) =>
    e instanceof TailorError && /libdoesnotexist\.so\.9/.test(e.message) && /extra_libs=/.test((e as TailorError).hint ?? ''));
});

test('bad binaries: relative path, missing file, script', async () => {
  await assert.rejects(hostClosure(['ls']), UsageError);
  await assert.rejects(hostClosure(['/usr/bin/no-such-program-xyz']), (e: Error) => e instanceof TailorError && /no-such-program-xyz/.test(e.message));
  const sh = (await exec('sh', ['-c', 'command -v ldd'])).stdout.trim(); // ldd is a shell script on Debian
  await assert.rejects(hostClosure([sh]), (e: Error) => e instanceof UsageError && /is a script/.test(e.message));
});

test('a program with OpenSSL linked in statically (node) also gets the CA bundle; ls does not', { skip: !existsSync('/usr/bin/node') && '/usr/bin/node absent' }, async (t) => {
  const elf = await readElfFile('/usr/bin/node');
  if (!readSymbols(elf, 'dynsym').some((s) => s.name === 'SSL_CTX_new' && s.sectionIndex !== 0)) return t.skip('this node links OpenSSL dynamically');
  const { files } = await hostClosure(['/usr/bin/node']);
  assert.ok(!libNames(files).some((n) => /^lib(ssl|crypto)/.test(n)), 'no TLS shared library involved');
  assert.match(byGuest(files, '/etc/ssl/certs/ca-certificates.crt')?.reason ?? '', /TLS linked in/);
  assert.equal(byGuest((await hostClosure(['/bin/ls'])).files, '/etc/ssl/certs/ca-certificates.crt'), undefined);
});

test('a static binary brings only itself and the /etc files', { skip: !existsSync('/bin/busybox') && 'busybox not installed' }, async (t) => {
  const elf = await readElfFile('/bin/busybox');
  if (elf.interpreter || elf.dynamic) return t.skip('/bin/busybox is not the static build');
  const { files } = await hostClosure(['/bin/busybox']);
  assert.deepEqual(
    files.filter((f) => !f.guestPath.startsWith('/etc/')).map((f) => f.guestPath).sort(),
    [...new Set(['/bin/busybox', realpathSync('/bin/busybox')])].sort(),
  );
  assert.equal(libNames(files).length, 0);
});
