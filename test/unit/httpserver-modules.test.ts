// The httpserver modules through the real pipeline code: module.yaml read by
// the modules stage, built by the image stage's module builder (musl-gcc,
// static), planned into the image's files and command line; the built guest
// binary is then run on the host with its module's own run-line arguments.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveConfig } from '../../src/config/index.ts';
import { planModules, selectModules } from '../../src/modules/index.ts';
import { runModuleBuilds } from '../../src/image/module-build.ts';
import { validateKernelNeeds } from '../../src/kernel/features.ts';
import { repoRoot } from '../../src/util/paths.ts';
import { exec, hasCommand } from '../../src/util/exec.ts';
import { json, request } from './httpserver-http.ts';

const sourceDir = join(repoRoot, 'guest', 'httpserver');

/** Program header and section types of a 64-bit little-endian ELF file. */
function elfFacts(bytes: Buffer): { phTypes: number[]; shTypes: number[] } {
  assert.equal(bytes.subarray(0, 4).toString('latin1'), '\x7fELF', 'not an ELF file');
  const phoff = Number(bytes.readBigUInt64LE(0x20));
  const shoff = Number(bytes.readBigUInt64LE(0x28));
  const phentsize = bytes.readUInt16LE(0x36);
  const phnum = bytes.readUInt16LE(0x38);
  const shentsize = bytes.readUInt16LE(0x3a);
  const shnum = bytes.readUInt16LE(0x3c);
  return {
    phTypes: Array.from({ length: phnum }, (_, i) => bytes.readUInt32LE(phoff + i * phentsize)),
    shTypes: Array.from({ length: shnum }, (_, i) => bytes.readUInt32LE(shoff + i * shentsize + 4)),
  };
}

async function assertStaticStripped(file: string): Promise<void> {
  const { phTypes, shTypes } = elfFacts(await readFile(file));
  assert.ok(!phTypes.includes(3), `${file} has a PT_INTERP: not static`);
  assert.ok(!phTypes.includes(2), `${file} has a PT_DYNAMIC: not fully static`);
  assert.ok(!shTypes.includes(2), `${file} has a symbol table: not stripped`);
}

test('httpserver builds static, stripped and warning-free with musl-gcc -Wall -Wextra -Werror', async (t) => {
  if (!(await hasCommand('musl-gcc')) || !(await hasCommand('make'))) return t.skip('musl-gcc or make is not installed (apt-get install musl-tools make)');
  const out = await mkdtemp(join(tmpdir(), 'tailor-httpserver-musl-'));
  t.after(() => rm(out, { recursive: true, force: true }));
  const dry = await exec('make', ['-n', '-C', sourceDir, `O=${out}`, 'httpserver']);
  const compile = dry.stdout.split('\n').find((l) => l.startsWith('musl-gcc'));
  assert.ok(compile, `no musl-gcc line in:\n${dry.stdout}`);
  for (const flag of ['-static', '-Wall', '-Wextra', '-Werror', '-s']) assert.ok(compile.split(/\s+/).includes(flag), `compile line lacks ${flag}: ${compile}`);
  const r = await exec('make', ['-C', sourceDir, `O=${out}`, 'httpserver']);
  assert.doesNotMatch(r.stderr, /warning/i, r.stderr);
  await assertStaticStripped(join(out, 'httpserver'));
  const size = (await stat(join(out, 'httpserver'))).size;
  assert.ok(size < 200_000, `httpserver is ${size} bytes; expected a small static binary`);
});

for (const [name, runLine, mutations] of [
  ['httpserver-monitoring-api', '/httpserver --port 8000 &!', false],
  ['httpserver-api', '/httpserver --port 8000 --allow-mutations &!', true],
] as const) {
  test(`module ${name}: planned, built by the image stage, and its run line starts the intended server`, async (t) => {
    if (!(await hasCommand('musl-gcc')) || !(await hasCommand('make'))) return t.skip('musl-gcc or make is not installed (apt-get install musl-tools make)');
    const cwd = await mkdtemp(join(tmpdir(), 'tailor-httpserver-module-'));
    t.after(() => rm(cwd, { recursive: true, force: true }));
    const config = resolveConfig([`image=${name}`], { cwd });
    const selection = selectModules(config);
    assert.deepEqual(selection.order.map((m) => m.name), [name]);
    const buildRoot = join(cwd, 'modules-build');
    await runModuleBuilds(selection.order, config, buildRoot);
    const plan = planModules(selection, buildRoot);

    // alone in the image, the server is the application: its run line without the trailing &! (foreground)
    assert.equal(plan.command, runLine.replace(/ &!$/, ''));
    assert.equal(selection.order[0]!.run, runLine);
    assert.deepEqual(validateKernelNeeds(plan.kernelNeeds, name), ['net']); // the NIC driver comes with net (src/kernel/custom/device-drivers.ts)
    assert.equal(plan.manifest.length, 1);
    const entry = plan.manifest[0]!;
    assert.equal(entry.guestPath, '/httpserver');
    assert.equal(entry.source.kind, 'file');
    const binary = (entry.source as { path: string }).path;
    await assertStaticStripped(binary);

    // with an application after it, the server stays in the background and the app runs in the foreground
    const withApp = planModules(selectModules(resolveConfig([`image=${name},native-example`], { cwd })), buildRoot, { requireFiles: false });
    assert.equal(withApp.command, `${runLine} /hello`);

    // the run line's own arguments, with a free loopback port instead of 8000
    const args = runLine.replace(/\s*&!$/, '').split(/\s+/).slice(1);
    const port = args.indexOf('--port');
    assert.ok(port >= 0, runLine);
    args[port + 1] = '0';
    const { TAILOR_API_TOKEN: _drop, ...env } = process.env;
    const proc = spawn(binary, [...args, '--bind', '127.0.0.1', '--test-no-poweroff', '--api-token-file', '/dev/null'], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    t.after(() => {
      if (proc.exitCode === null) proc.kill('SIGKILL');
    });
    const listening = await new Promise<string>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`no listening line within 5 s: ${out}`)), 5000);
      proc.stdout.on('data', (b: Buffer) => {
        out += b.toString();
        if (out.includes('\n')) {
          clearTimeout(timer);
          resolve(out);
        }
      });
    });
    const m = /^httpserver: listening on 127\.0\.0\.1:(\d+) \((.*)\)$/m.exec(listening);
    assert.ok(m, listening);
    assert.equal(m[2], mutations ? 'mutations on, but no API token: refused' : 'read-only');
    const p = Number(m[1]);
    assert.match(json(await request(p, 'GET', '/os/version')) as string, /^Linux .* \(Tailor\)$/);
    const shutdown = await request(p, 'POST', '/os/shutdown', { Authorization: 'Bearer x' });
    assert.equal(shutdown.status, 403);
    assert.match((json(shutdown) as { message: string }).message, mutations ? /no API token is configured/ : /httpserver-api/);
  });
}
