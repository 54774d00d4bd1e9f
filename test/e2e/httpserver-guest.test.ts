/**
 * The httpserver modules in a real guest, through the commands a user types:
 * `tailor build image=httpserver-api` and `tailor run --forward PORT:8000`
 * (QEMU user-mode networking; the init gives eth0 10.0.2.15 by itself).
 * Requests go from the host to the guest over the forward; POST /os/shutdown
 * powers the VM off and `tailor run` exits with the guest's status.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadBuildFolder } from '../../src/run/build-folder.ts';
import { hasCommand } from '../../src/util/exec.ts';
import { freePort } from '../../src/util/free-port.ts';
import { exchange, json, request } from '../unit/httpserver-http.ts';

const tailor = resolve(import.meta.dirname, '..', '..', 'bin', 'tailor.js');
const project = mkdtempSync(join(tmpdir(), 'tailor-httpserver-e2e-'));
after(() => rmSync(project, { recursive: true, force: true }));

const bootTimeoutS = 120;
const token = 'e2e-7d41c0a9b3';

async function unavailable(): Promise<string | undefined> {
  for (const tool of ['qemu-system-x86_64', 'musl-gcc', 'make', 'cpio', 'gzip']) {
    if (!(await hasCommand(tool))) return `${tool} is not installed (run: node bin/tailor.js doctor --fix)`;
  }
  return undefined;
}

function tailorCli(args: string[]): { code: number | null; all: string } {
  const r = spawnSync(process.execPath, [tailor, ...args], { cwd: project, encoding: 'utf8', timeout: 300_000 });
  return { code: r.status, all: `${r.stdout}\n${r.stderr}` };
}

/** A test-only module with the host's static busybox (sh, wget): an HTTP client inside the guest. */
function busyboxModule(): string {
  const dir = join(project, 'busybox-client');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'module.yaml'), 'description: test-only, busybox as an in-guest HTTP client\n');
  writeFileSync(join(dir, 'usr.manifest'), '[manifest]\n/bin/busybox: /bin/busybox\n');
  return dir;
}

interface Guest {
  readonly port: number;
  /** Resolves when the console shows the server's listening line; rejects if `tailor run` ends first. */
  readonly listening: Promise<void>;
  /** `tailor run`'s exit code (the guest's status) and everything it printed. */
  readonly done: Promise<{ code: number | null; output: string }>;
  readonly output: () => string;
}

/** `tailor run NAME --forward PORT:8000 [-e execute]`, in the background; stopped when the test ends. */
async function boot(name: string, execute: string | undefined, t: { after: (fn: () => void) => void }): Promise<Guest> {
  const port = await freePort();
  const args = [tailor, 'run', name, '--forward', `${port}:8000`, '--timeout', String(bootTimeoutS)];
  if (execute !== undefined) args.push('-e', execute);
  const proc = spawn(process.execPath, args, { cwd: project, stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGINT'); // tailor stops QEMU on SIGINT
  });
  let text = '';
  let onText = (): void => undefined;
  const take = (b: Buffer): void => {
    text += b.toString();
    onText();
  };
  proc.stdout.on('data', take);
  proc.stderr.on('data', take);
  const done = new Promise<{ code: number | null; output: string }>((r) => proc.on('close', (code) => r({ code, output: text })));
  const listening = new Promise<void>((resolveListening, reject) => {
    onText = () => {
      // The whole line, up to its newline: the console can arrive in chunks that split it, and tests match its end.
      if (/^httpserver: listening on 0\.0\.0\.0:8000 [^\r\n]*\r?\n/m.test(text)) resolveListening();
    };
    void done.then((d) => reject(new Error(`tailor run ended (exit ${d.code}) before the server listened:\n${d.output.slice(-3000)}`)));
  });
  listening.catch(() => undefined); // a test that does not wait for it must not fail on it
  return { port, listening, done, output: () => text };
}

const skip = await unavailable();
let buildFailure: string | undefined;
if (!skip) {
  for (const args of [
    ['image=httpserver-api', 'name=hs-api'],
    ['image=httpserver-monitoring-api,native-example', 'name=hs-mon-app'],
  ]) {
    const r = tailorCli(['build', ...args, 'kernel=stock', 'fs=ramfs']);
    if (r.code !== 0) buildFailure ??= `tailor build ${args.join(' ')} failed:\n${r.all}`;
  }
}

test('httpserver-api in a guest: monitoring paths over tailor run --forward, token rules, power-off by POST /os/shutdown', async (t) => {
  if (skip) return t.skip(skip);
  assert.equal(buildFailure, undefined);
  const g = await boot('hs-api', `--env=TAILOR_API_TOKEN=${token} /httpserver --port 8000 --allow-mutations`, t);
  await g.listening;
  t.diagnostic(`server listening in the guest, host port ${g.port}`);
  const get = async (path: string) => {
    const r = await request(g.port, 'GET', path, {}, { timeoutMs: 20_000 });
    assert.equal(r.status, 200, `${path}: ${r.statusLine} ${r.body}`);
    return json(r);
  };
  assert.match((await get('/os/version')) as string, /^Linux 6\.\d+\.\d+-\S+ \(Tailor\)$/);
  const uptime = (await get('/os/uptime')) as number;
  assert.ok(uptime > 0 && uptime < bootTimeoutS, `guest uptime ${uptime}`);
  const total = (await get('/os/memory/total')) as number;
  assert.ok(total > 48 * 2 ** 20 && total <= 128 * 2 ** 20, `guest memory total ${total} with tailor run's default 128 MiB`);
  const free = (await get('/os/memory/free')) as number;
  assert.ok(free > 0 && free < total);
  assert.equal(await get('/hardware/processor/count'), 1);
  assert.ok(Math.abs(Date.parse((await get('/os/date')) as string) - Date.now()) < 30_000, 'guest clock is far from the host clock');
  assert.equal(typeof (await get('/os/hostname')), 'string');
  assert.ok(((await get('/os/threads')) as number) >= 1);
  // the kernel command line carries the token in --env=; the unauthenticated path hides it
  const cmdline = (await get('/os/cmdline')) as string;
  assert.match(cmdline, / -- --env=TAILOR_API_TOKEN=<redacted> \/httpserver --port 8000 --allow-mutations$/);
  assert.ok(!cmdline.includes(token), cmdline);

  assert.equal((await request(g.port, 'GET', '/os/nothing', {}, { timeoutMs: 20_000 })).status, 404);
  assert.equal((await request(g.port, 'POST', '/os/shutdown', {}, { timeoutMs: 20_000 })).status, 401);
  assert.equal((await request(g.port, 'POST', '/os/shutdown', { Authorization: 'Bearer nope' }, { timeoutMs: 20_000 })).status, 403);
  // the refusals of the management API, in the guest: an oversized request line, traversal, malformed JSON
  const long = await exchange(g.port, `GET /${'x'.repeat(6000)} HTTP/1.1\r\nHost: x\r\n\r\n`, { waitClose: true, timeoutMs: 20_000 });
  assert.equal(long.responses[0]?.status, 414, long.raw.slice(0, 300));
  assert.equal((await request(g.port, 'GET', '/os/../../etc/passwd', {}, { timeoutMs: 20_000 })).status, 404);
  const badJson = await exchange(g.port, `POST /os/shutdown HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nContent-Length: 3\r\n\r\n{a}`, {
    waitClose: true,
    timeoutMs: 20_000,
  });
  assert.equal(badJson.responses[0]?.status, 400, badJson.raw);
  assert.equal(g.output().includes('tailor:exit'), false, 'refused requests must not stop the VM');
  assert.equal((await request(g.port, 'GET', '/os/hostname', {}, { timeoutMs: 20_000 })).status, 200, 'the server answers after the refusals');
  const ok = await request(g.port, 'POST', '/os/shutdown', { Authorization: `Bearer ${token}` }, { timeoutMs: 20_000 });
  assert.equal(ok.status, 200, ok.body);
  const started = Date.now();
  const d = await g.done;
  const poweroffMs = Date.now() - started;
  assert.equal(d.code, 0, d.output.slice(-2000));
  assert.match(d.output, /^tailor:exit status=0\r?$/m);
  assert.doesNotMatch(d.output, /stopped QEMU after the \d+ s timeout/);
  t.diagnostic(`tailor run exited ${poweroffMs} ms after the 200 to POST /os/shutdown`);
});

test('httpserver-api with its token from /etc/httpserver/token, put in the image by a module of the user', async (t) => {
  if (skip) return t.skip(skip);
  const dir = join(project, 'api-token');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'module.yaml'), 'description: test-only, the API token file\n');
  writeFileSync(join(dir, 'token'), 'from-image-file-51c2\n');
  writeFileSync(join(dir, 'usr.manifest'), '[manifest]\n/etc/httpserver/token: ${MODULE_DIR}/token\n');
  const r = tailorCli(['build', 'image=httpserver-api', `modules=${dir}`, 'name=hs-api-file', 'kernel=stock', 'fs=ramfs']);
  assert.equal(r.code, 0, r.all);
  const g = await boot('hs-api-file', '/httpserver --port 8000 --allow-mutations', t);
  await g.listening;
  assert.match(g.output(), /listening on 0\.0\.0\.0:8000 \(mutations on, API token set\)/);
  assert.equal((await request(g.port, 'POST', '/os/shutdown', { Authorization: `Bearer ${token}` }, { timeoutMs: 20_000 })).status, 403);
  const ok = await request(g.port, 'POST', '/os/shutdown', { Authorization: 'Bearer from-image-file-51c2' }, { timeoutMs: 20_000 });
  assert.equal(ok.status, 200, ok.body);
  const d = await g.done;
  assert.equal(d.code, 0, d.output.slice(-2000));
});

test('httpserver-monitoring-api with an application after it: server in the background, app in the foreground, VM exits 0', async (t) => {
  if (skip) return t.skip(skip);
  assert.equal(buildFailure, undefined);
  assert.equal(loadBuildFolder(join(project, 'build', 'hs-mon-app')).record.appCmdline, '/httpserver --port 8000 &! /hello');
  const g = await boot('hs-mon-app', undefined, t);
  const d = await g.done;
  assert.equal(d.code, 0, d.output.slice(-2000));
  assert.match(d.output, /tailor:app-start boottime_ns=\d+ cmd=\/httpserver/);
  assert.match(d.output, /Hello from Tailor's native-example/);
});

test('a foreground app uses the background monitoring server over loopback, then the VM exits with the app', async (t) => {
  if (skip) return t.skip(skip);
  if (!existsSync('/bin/busybox')) return t.skip('/bin/busybox is missing (apt-get install busybox-static): it is the in-guest client');
  const r = tailorCli(['build', 'image=httpserver-monitoring-api', `modules=${busyboxModule()}`, 'name=hs-mon-client', 'kernel=stock', 'fs=ramfs']);
  assert.equal(r.code, 0, r.all);
  const app =
    "/bin/busybox sh -c 'for i in 1 2 3 4 5;do /bin/busybox wget -qO- 127.0.0.1:8000/hardware/processor/count&&exit;" +
    "/bin/busybox sleep 1;done;exit 1'";
  const g = await boot('hs-mon-client', `/httpserver --port 8000 &! ${app}`, t);
  const d = await g.done;
  assert.equal(d.code, 0, d.output.slice(-2000));
  assert.match(d.output, /^httpserver: listening on 0\.0\.0\.0:8000 \(read-only\)/m);
  assert.match(d.output, /^1\r?$/m, 'the app did not print the guest CPU count it got from the server');
});

test('httpserver-monitoring-api alone keeps the VM up and answers (the server is the application)', async (t) => {
  if (skip) return t.skip(skip);
  const r = tailorCli(['build', 'image=httpserver-monitoring-api', 'name=hs-mon', 'kernel=stock', 'fs=ramfs']);
  assert.equal(r.code, 0, r.all);
  const command = loadBuildFolder(join(project, 'build', 'hs-mon')).record.appCmdline;
  assert.doesNotMatch(command, /&!?\s*$/, 'the last module must run in the foreground');
  const g = await boot('hs-mon', undefined, t);
  await g.listening;
  const up = await request(g.port, 'GET', '/os/uptime', {}, { timeoutMs: 20_000 });
  assert.equal(up.status, 200);
  assert.equal(typeof json(up), 'number');
  const refused = await request(g.port, 'POST', '/os/shutdown', { Authorization: `Bearer ${token}` }, { timeoutMs: 20_000 });
  assert.equal(refused.status, 403);
  assert.equal(g.output().includes('tailor:exit'), false, 'the VM stopped while the server was its application');
});
