/**
 * `tailor kernel learn` end to end, as a user runs it: `tailor build`, then
 * learn with a workload from the host through the forwarded port (real QEMU,
 * the init's raw_syscalls trace, Ctrl-C on the console to stop the server).
 * postgres on Debian's kernel (every feature there: the kernel: line is the
 * whole need), and redis on a tailored kernel: the suite's shared minimal
 * kernel (shared-kernel.ts) plus tracing, where the calls of features redis
 * does not declare fail with ENOSYS and the report names each feature.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { hasCommand } from '../../src/util/exec.ts';
import { freePort } from '../../src/util/free-port.ts';
import { sharedKernelArgs, writeSharedKernelModule } from './shared-kernel.ts';

const tailor = resolve(import.meta.dirname, '..', '..', 'bin', 'tailor.js');
const project = mkdtempSync(join(tmpdir(), 'tailor-learn-'));
after(() => rmSync(project, { recursive: true, force: true }));

async function missing(tools: string[], files: Record<string, string>): Promise<string | undefined> {
  for (const tool of ['qemu-system-x86_64', 'musl-gcc', ...tools]) if (!(await hasCommand(tool))) return `${tool} is not installed (run: node bin/tailor.js doctor --fix)`;
  for (const [file, pkg] of Object.entries(files)) if (!existsSync(file)) return `${file} is missing (apt-get install -y ${pkg})`;
  return undefined;
}

function tailorCli(args: string[], timeoutMs: number): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(process.execPath, [tailor, ...args], { cwd: project, encoding: 'utf8', timeout: timeoutMs });
}

test('learn on postgres (stock kernel, psql and pgbench from the host) prints its kernel: line', { timeout: 1_500_000 }, async (t) => {
  const why = await missing(['psql', 'pgbench'], { '/usr/lib/postgresql/15/bin/postgres': 'postgresql-15' });
  if (why) return t.skip(why);
  const b = tailorCli(['build', 'image=postgres', 'kernel=stock', 'name=pg'], 600_000);
  assert.equal(b.status, 0, b.stderr);
  const port = await freePort();
  const pg = `-h 127.0.0.1 -p ${port} -U postgres`;
  const r = tailorCli(['kernel', 'learn', 'pg', '--forward', `${port}:5432`, '--workload', `psql ${pg} -Atc 'SELECT 1' | grep -qx 1 && pgbench ${pg} -i -s 1 -q postgres`], 900_000);
  assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
  const line = /^kernel: \[(.*)\]$/m.exec(r.stdout);
  assert.ok(line, r.stdout);
  const features = line[1]!.split(', ');
  for (const f of ['net', 'unix-sockets', 'sysvipc', 'multiuser', 'epoll']) assert.ok(features.includes(f), `${f} missing from ${line[0]}`);
  assert.match(r.stdout, /^ {2}sysvipc +.*shmget/m);
  assert.match(r.stdout, /^ {2}unix-sockets +socket\(AF_UNIX\)/m);
  assert.doesNotMatch(r.stdout, /returned ENOSYS/, "Debian's kernel has every system call");
  const saved = JSON.parse(readFileSync(join(project, 'build', 'pg', 'learn', 'learn.json'), 'utf8')) as { features: { feature: string }[]; tasks: string[] };
  assert.deepEqual(saved.features.map((f) => f.feature), features);
  assert.deepEqual(saved.tasks, ['postgres']);
});

test('learn on redis on its tailored kernel (the shared minimal kernel plus tracing): the kernel: line, and the ENOSYS report names the missing features', { timeout: 1_800_000 }, async (t) => {
  const why = await missing(['redis-cli'], { '/usr/bin/redis-server': 'redis-server' });
  if (why) return t.skip(why);
  writeSharedKernelModule(project);
  const b = tailorCli(['build', ...sharedKernelArgs('redis'), 'name=redis-learn'], 1_200_000);
  assert.equal(b.status, 0, b.stderr);
  const port = await freePort();
  const r = tailorCli(['kernel', 'learn', 'redis-learn', '--forward', `${port}:6379`, '--workload', `redis-cli -p ${port} PING | grep -qx PONG && redis-cli -p ${port} SET k v && redis-cli -p ${port} GET k`], 1_500_000);
  assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
  const line = /^kernel: \[(.*)\]$/m.exec(r.stdout);
  assert.ok(line, r.stdout);
  const features = line[1]!.split(', ');
  for (const f of ['net', 'epoll']) assert.ok(features.includes(f), `${f} missing from ${line[0]}`);
  // glibc registers a restartable sequence per thread; the minimal kernel has no RSEQ, and redis does not ask for it
  assert.match(r.stdout, /^calls that failed because .* lacks a feature:$/m);
  assert.match(r.stdout, /^ {2}rseq ×\d+ returned ENOSYS → feature rseq \(CONFIG_RSEQ\)$/m);
  assert.match(r.stdout, /^used but not among the image's kernel needs: .*\brseq\b/m);
});
