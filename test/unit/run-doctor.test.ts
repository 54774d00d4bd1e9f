// Host requirements and `tailor doctor`: the package names are checked against dpkg's own database.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exec, hasCommand } from '../../src/util/exec.ts';
import { repoRoot } from '../../src/util/paths.ts';
import { aptInstallLine, hostRequirements, requirementFor } from '../../src/host/requirements.ts';
import { checkRequirement, formatDoctorReport, type DoctorReport } from '../../src/host/doctor.ts';

/** The Debian package owning a path, trying the merged-/usr aliases dpkg may have recorded. */
async function owningPackage(path: string): Promise<string | undefined> {
  const candidates = new Set([path, realpathSync(path), path.replace(/^\/usr/, '')]);
  for (const p of candidates) {
    const r = await exec('dpkg', ['-S', p], { allowFailure: true });
    if (r.code === 0) return r.stdout.split(':')[0]!.trim();
  }
  return undefined;
}

test('every present requirement is provided by the apt package the list names (dpkg -S)', async (t) => {
  if (!(await hasCommand('dpkg'))) return t.skip('dpkg is not available on this host');
  let checked = 0;
  for (const r of hostRequirements) {
    if (!(await checkRequirement(r))) continue;
    const path =
      'command' in r.check
        ? (await exec('sh', ['-c', 'command -v "$1"', 'sh', r.check.command])).stdout.trim()
        : r.check.file;
    assert.equal(await owningPackage(path), r.aptPackage, `${r.name} (${path})`);
    checked++;
  }
  t.diagnostic(`${checked} of ${hostRequirements.length} requirements present and checked`);
  assert.ok(checked > 0);
});

test('names are unique; lookups by command; the install line is sorted and deduplicated', () => {
  const names = hostRequirements.map((r) => r.name);
  assert.equal(new Set(names).size, names.length);
  assert.equal(requirementFor('mkfs.erofs')?.aptPackage, 'erofs-utils');
  assert.equal(requirementFor('libelf-dev')?.aptPackage, 'libelf-dev');
  assert.equal(requirementFor('no-such-tool'), undefined);
  assert.equal(aptInstallLine(['zstd', 'cpio', 'zstd']), 'apt-get install -y cpio zstd');
});

test('the report prints MISSING rows and the exact apt-get line', () => {
  const report: DoctorReport = {
    requirements: hostRequirements.slice(0, 3).map((requirement, i) => ({ requirement, present: i !== 1 })),
    missingPackages: [hostRequirements[1]!.aptPackage],
    kvm: 'unusable: /dev/kvm does not exist; runs use TCG',
    cacheDir: '/c',
  };
  const text = formatDoctorReport(report);
  assert.match(text, new RegExp(`MISSING\\s+${hostRequirements[1]!.name}`));
  assert.match(text, new RegExp(`apt-get install -y ${hostRequirements[1]!.aptPackage}\\n`));
  assert.match(text, /kvm: unusable/);
  assert.match(text, /cache: \/c \(empty\)/);
});

test('tailor doctor: table, KVM line, cache line; exit 0 exactly when nothing is missing', async () => {
  const cache = mkdtempSync(join(tmpdir(), 'tailor-doctor-'));
  try {
    const r = spawnSync(process.execPath, [join(repoRoot, 'bin', 'tailor.js'), 'doctor'], {
      env: { ...process.env, TAILOR_CACHE: cache },
      encoding: 'utf8',
    });
    assert.match(r.stdout, /^host requirements:\n/);
    const missing = (r.stdout.match(/^ {2}MISSING/gm) ?? []).length;
    assert.equal(r.status, missing === 0 ? 0 : 1, r.stdout + r.stderr);
    if (missing > 0) assert.match(r.stdout, /apt-get install -y /);
    // A fresh cache holds no verdict: either /dev/kvm is unusable outright or it was not probed yet.
    assert.match(r.stdout, /^kvm: (unusable: \/dev\/kvm .*|\/dev\/kvm opens; not probed yet.*)$/m);
    assert.match(r.stdout, new RegExp(`^cache: ${cache} \\(`, 'm'));
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
});

test('doctor --fix refuses to install without root, printing the command to run', async (t) => {
  if (!(await hasCommand('setpriv'))) return t.skip('setpriv (util-linux) is not available');
  if (process.getuid?.() !== 0) return t.skip('needs root to switch to an unprivileged user');
  const script = `import('${join(repoRoot, 'src/host/doctor.ts')}').then((m) => m.fixHost(['cpio'], () => {})).then(() => process.exit(0), (e) => { console.error(e.message + ' | ' + e.hint); process.exit(3); })`;
  const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '--import', 'tsx', '-e', script], {
    cwd: repoRoot,
    encoding: 'utf8',
    env: { ...process.env, HOME: tmpdir() },
  });
  assert.equal(r.status, 3, r.stderr);
  assert.match(r.stderr, /needs root \| .*sudo apt-get install -y cpio/);
});
