/**
 * The module catalog on real images: tailor build + tailor run through the CLI,
 * Debian's stock kernel in QEMU (TCG here), host programs packaged with their
 * library closures. Each boot is timed and printed (JVM and Node under TCG are slow);
 * the big images use an lz4 initramfs (gzip: ~3x the build time, ~2x the time to the app).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { hasCommand } from '../../src/util/exec.ts';

const repo = resolve(import.meta.dirname, '..', '..');
const tailor = join(repo, 'bin', 'tailor.js');
const project = mkdtempSync(join(tmpdir(), 'tailor-catalog-'));

function tailorCmd(args: string[], timeoutMs = 240_000) {
  const t0 = Date.now();
  const r = spawnSync(process.execPath, [tailor, ...args], { cwd: project, encoding: 'utf8', timeout: timeoutMs });
  const ms = Date.now() - t0;
  process.stderr.write(`# tailor ${args.join(' ')}: exit ${r.status}, ${ms} ms\n`);
  return { code: r.status, out: r.stdout, err: r.stderr, all: `${r.stdout}\n${r.stderr}`, ms };
}

/** Why these tests cannot run here, or undefined. */
async function unavailable(): Promise<string | undefined> {
  for (const tool of ['qemu-system-x86_64', 'musl-gcc', 'gcc']) {
    if (!(await hasCommand(tool))) return `${tool} is not installed (run: node bin/tailor.js doctor --fix)`;
  }
  return undefined;
}

describe('catalog modules boot on the stock kernel (ramfs)', async () => {
  const skip = await unavailable();
  before(() => mkdirSync(join(project, 'apps'), { recursive: true }));
  after(() => rmSync(project, { recursive: true, force: true }));

  it('cli: busybox sh runs a command line; /bin is a real directory', { skip }, (t) => {
    if (!existsSync('/bin/busybox')) return t.skip('busybox-static is not installed (apt-get install -y busybox-static)');
    const b = tailorCmd(['build', 'kernel=stock', 'image=cli']);
    assert.equal(b.code, 0, b.all);
    const r = tailorCmd(['run', '--timeout', '60', '-e', `/bin/sh -c "echo hi from sh; ls /; ls -ld /bin /lib; ps | wc -l"`], 90_000);
    assert.equal(r.code, 0, r.all);
    assert.match(r.out, /^hi from sh\r?$/m);
    assert.match(r.out, /^bin\s+dev\s+etc/m, 'ls / lists the root');
    assert.match(r.out, /^d[rwx-]{9} .* \/bin\r?$/m, '/bin is a directory, not a link to usr/bin');
    assert.match(r.out, /^d[rwx-]{9} .* \/lib\r?$/m);
    const failing = tailorCmd(['run', '--timeout', '60', '-e', '/bin/sh -c "exit 3"'], 90_000);
    assert.equal(failing.code, 3, failing.all);
  });

  it('app=/usr/bin/ls: a host program with its closure, as the image command', { skip }, () => {
    const b = tailorCmd(['build', 'kernel=stock', 'app=/usr/bin/ls -l /usr/bin/ls /lib/x86_64-linux-gnu']);
    assert.equal(b.code, 0, b.all);
    assert.match(b.all, /build\/ls/);
    const r = tailorCmd(['run', '--timeout', '60'], 90_000);
    assert.equal(r.code, 0, r.all);
    assert.match(r.out, /-rwxr-xr-x .* \/usr\/bin\/ls/);
    assert.match(r.out, /libselinux\.so\.1/);
  });

  it('node: a Node.js script runs and exits 0', { skip }, (t) => {
    if (!existsSync('/usr/bin/node')) return t.skip('nodejs is not installed (apt-get install -y nodejs)');
    const fixture = join(repo, 'test', 'fixtures', 'catalog-apps', 'node-hello');
    const b = tailorCmd(['build', 'kernel=stock', 'image=empty', `modules=${fixture}`, 'name=node-hello', 'fs_compression=lz4']);
    assert.equal(b.code, 0, b.all);
    const r = tailorCmd(['run', '-m', '384M', '--timeout', '120', 'node-hello'], 150_000);
    assert.equal(r.code, 0, r.all);
    assert.match(r.out, /hello from node v\d+\.\d+\.\d+ on linux, sha256\(tailor\)=758cb95fdc40/);
  });

  it('openjdk: java -jar /app/hello.jar (compiled here with javac, packed with jar) runs and exits 0', { skip }, (t) => {
    if (!existsSync('/usr/lib/jvm/java-17-openjdk-amd64/bin/java')) return t.skip('OpenJDK 17 is not installed (apt-get install -y openjdk-17-jre-headless)');
    if (!existsSync('/usr/bin/javac') || !existsSync('/usr/bin/jar')) return t.skip('javac/jar are not installed (apt-get install -y openjdk-17-jdk-headless)');
    const app = join(project, 'apps', 'java-hello');
    mkdirSync(join(app, 'src'), { recursive: true });
    writeFileSync(
      join(app, 'src', 'Hello.java'),
      'public class Hello {\n  public static void main(String[] args) {\n' +
        '    System.out.println("hello from java " + System.getProperty("java.version") + ", 6*7=" + (6 * 7) + ", args=" + args.length);\n  }\n}\n',
    );
    const javac = spawnSync('javac', ['-d', join(app, 'classes'), join(app, 'src', 'Hello.java')], { encoding: 'utf8' });
    assert.equal(javac.status, 0, javac.stderr);
    const jar = spawnSync('jar', ['--create', '--file', join(app, 'hello.jar'), '--main-class', 'Hello', '-C', join(app, 'classes'), '.'], { encoding: 'utf8' });
    assert.equal(jar.status, 0, jar.stderr);
    writeFileSync(join(app, 'module.yaml'), 'description: Java hello (test)\nrequires: [openjdk]\nrun: java -jar /app/hello.jar one two\n');
    writeFileSync(join(app, 'usr.manifest'), '[manifest]\n/app/hello.jar: ${MODULE_DIR}/hello.jar\n');

    const b = tailorCmd(['build', 'kernel=stock', 'image=empty', `modules=${app}`, 'name=java-hello', 'fs_compression=lz4']);
    assert.equal(b.code, 0, b.all);
    const r = tailorCmd(['run', '-m', '512M', '--timeout', '150', 'java-hello'], 180_000);
    assert.equal(r.code, 0, r.all);
    assert.match(r.out, /hello from java 17\.\d+\.\d+, 6\*7=42, args=2/);
  });

  it('a binary whose library is gone fails the build, naming the library and the binary', { skip }, () => {
    const d = join(project, 'apps', 'gone');
    mkdirSync(d, { recursive: true });
    writeFileSync(join(d, 'gone.c'), 'int gone(void) { return 7; }\n');
    writeFileSync(join(d, 'main.c'), 'int gone(void);\nint main(void) { return gone(); }\n');
    const cc = (args: string[]) => assert.equal(spawnSync('gcc', args, { encoding: 'utf8' }).status, 0, `gcc ${args.join(' ')}`);
    cc(['-shared', '-fPIC', '-o', join(d, 'libgone.so'), join(d, 'gone.c')]);
    cc(['-o', join(d, 'prog'), join(d, 'main.c'), `-L${d}`, '-lgone', `-Wl,-rpath,${d}`]);
    rmSync(join(d, 'libgone.so'));
    const b = tailorCmd(['build', 'kernel=stock', `app=${d}/prog`]);
    assert.notEqual(b.code, 0, b.all);
    assert.match(b.err, new RegExp(`libgone\\.so \\(needed by ${d}/prog\\) not found`));
    assert.ok(!existsSync(join(project, 'build', 'prog')), 'no build folder left behind');
  });
});
