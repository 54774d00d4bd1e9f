/**
 * An OSv application brought over (issue 15), through the CLI on real boots:
 * an osv-apps-like folder (module.py with a requirement met through provides,
 * two run configurations, run_on_init, a Makefile that writes usr.manifest
 * with a /** tree at the guest root) is imported, then
 * `tailor build --profile=minimal image=hello-osv.shout` builds it on the
 * first try (custom minimal kernel, ramfs) and `tailor run` shows that
 * configuration ran, after its init step, with the provider's files.
 * The Java run form boots with the openjdk module on Debian's stock kernel
 * (as the catalog test does: the JVM needs more kernel than minimal).
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { hasCommand } from '../../src/util/exec.ts';
import { repoRoot } from '../../src/util/paths.ts';

const tailor = join(repoRoot, 'bin', 'tailor.js');
const project = mkdtempSync(join(tmpdir(), 'tailor-osv-import-'));

function tailorCmd(args: string[], timeoutMs: number) {
  const t0 = Date.now();
  const r = spawnSync(process.execPath, [tailor, ...args], { cwd: project, encoding: 'utf8', timeout: timeoutMs });
  process.stderr.write(`# tailor ${args.join(' ')}: exit ${r.status}, ${Date.now() - t0} ms\n`);
  return { code: r.status, out: r.stdout, err: r.stderr, all: `${r.stdout}\n${r.stderr}` };
}

async function unavailable(): Promise<string | undefined> {
  for (const tool of ['qemu-system-x86_64', 'musl-gcc', 'make']) {
    if (!(await hasCommand(tool))) return `${tool} is not installed (run: node bin/tailor.js doctor --fix)`;
  }
  return undefined;
}

describe('an OSv application brought over with tailor modules import', async () => {
  const skip = await unavailable();
  before(() => {
    mkdirSync(join(project, 'modules'), { recursive: true });
    cpSync(join(repoRoot, 'test', 'fixtures', 'osv-apps'), join(project, 'modules'), { recursive: true });
  });
  after(() => rmSync(project, { recursive: true, force: true }));

  it('import, then build image=hello-osv.shout on the first try (minimal kernel, ramfs) and boot that configuration', { skip }, () => {
    // Before the import: the folder is not skipped silently, the error names the command.
    const before = tailorCmd(['build', '--profile=minimal', 'fs=ramfs', 'image=hello-osv.shout'], 60_000);
    assert.equal(before.code, 2, before.all);
    assert.match(before.err, /hello-osv has an OSv module\.py but no module\.yaml/);
    assert.match(before.err, /tailor modules import modules\/hello-osv/);
    assert.ok(!existsSync(join(project, 'build', 'hello-osv.shout')), 'no build folder');

    for (const m of ['greeter', 'hello-osv']) {
      const imp = tailorCmd(['modules', 'import', `modules/${m}`], 60_000);
      assert.equal(imp.code, 0, imp.all);
    }
    assert.match(readFileSync(join(project, 'modules', 'hello-osv', 'module.yaml'), 'utf8'), /configs:\n {2}shout: --env=HELLO_MODE=shout \/hello shout/);
    const show = tailorCmd(['modules', 'show', 'hello-osv'], 60_000);
    assert.match(show.out, /^ {2}default +\/hello$/m);
    assert.match(show.out, /^ {2}shout +--env=HELLO_MODE=shout \/hello shout$/m);
    const deps = tailorCmd(['modules', 'deps', 'image=hello-osv.shout'], 60_000);
    assert.equal(deps.code, 0, deps.all);
    assert.match(deps.out, /└── greeter \(provides greeting\)/);
    assert.match(deps.out, /after build .*\n {2}\S+hello-osv\/usr\.manifest: read after the build/);
    assert.ok(!existsSync(join(project, 'modules', 'hello-osv', 'usr.manifest')), 'the manifest does not exist before the first build');

    const b = tailorCmd(['build', '--profile=minimal', 'fs=ramfs', 'image=hello-osv.shout'], 3_600_000);
    assert.equal(b.code, 0, b.all);
    assert.match(b.out, /built build\/hello-osv\.shout .*\n.*kernel {2}custom/);
    assert.match(b.out, /command \/hello init ; --env=HELLO_MODE=shout \/hello shout/);
    const manifest = readFileSync(join(project, 'build', 'hello-osv.shout', 'usr.manifest'), 'utf8');
    // (the minimal profile strips binaries, so the source is a stripped copy of ROOTFS/hello)
    assert.match(manifest, /^\/hello: \S+ {2}# hello-osv$/m, '/** at the guest root gives /hello');
    assert.match(manifest, /^\/etc\/greeting\/hello\.txt: .* {2}# greeter$/m);
    assert.doesNotMatch(manifest, /draft-hello|notes\.md/);

    const r = tailorCmd(['run', '--timeout', '240', 'hello-osv.shout'], 300_000);
    assert.equal(r.code, 0, r.all);
    const lines = r.out.split(/\r?\n/).filter((l) => l.startsWith('hello-osv:'));
    assert.deepEqual(lines, [
      'hello-osv: init step ran',
      'hello-osv: configuration shout (HELLO_MODE=shout)',
      'hello-osv: greeting "hi from the greeter module"; draft excluded: yes; notes.md left out: yes',
      'hello-osv: init before the app: yes',
    ]);
  });

  it('the Java run form (api.run_java) boots with the openjdk module, met through provides: [java]', { skip }, (t) => {
    if (!existsSync('/usr/lib/jvm/java-17-openjdk-amd64/bin/java')) return t.skip('OpenJDK 17 is not installed (apt-get install -y openjdk-17-jre-headless)');
    if (!existsSync('/usr/bin/javac')) return t.skip('javac is not installed (apt-get install -y openjdk-17-jdk-headless)');
    cpSync(join(repoRoot, 'test', 'fixtures', 'osv-java', 'hello-java'), join(project, 'modules', 'hello-java'), { recursive: true });
    const imp = tailorCmd(['modules', 'import', 'modules/hello-java'], 60_000);
    assert.equal(imp.code, 0, imp.all);
    const b = tailorCmd(['build', 'kernel=stock', 'image=hello-java', 'fs_compression=lz4'], 900_000);
    assert.equal(b.code, 0, b.all);
    assert.match(b.out, /command java -Xss1m '-Dgreeting=hello from run_java' -cp \/app\/classes Hello one two/);
    const r = tailorCmd(['run', '-m', '512M', '--timeout', '400', 'hello-java'], 450_000);
    assert.equal(r.code, 0, r.all);
    assert.match(r.out, /java 17\.\d+\.\d+: hello from run_java, args=one,two/);
  });
});
