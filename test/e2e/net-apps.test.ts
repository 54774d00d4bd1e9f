/**
 * Network applications end to end, the way a user runs them: `tailor build
 * image=redis|nginx|httpserver-*` and `tailor run --forward/--api` (the CLI,
 * Debian's kernel under QEMU, user-mode networking, the init configuring
 * eth0 itself), then real clients on the host: redis-cli, an HTTP GET, the
 * REST API. Every boot is stopped at the end and no QEMU may be left behind.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { hasCommand } from '../../src/util/exec.ts';
import { json, request } from '../unit/httpserver-http.ts';

const tailor = resolve(import.meta.dirname, '..', '..', 'bin', 'tailor.js');
const project = mkdtempSync(join(tmpdir(), 'tailor-net-apps-'));
after(() => rmSync(project, { recursive: true, force: true }));
/** Time for a stock-kernel boot under TCG on a loaded 2-core host, until the service answers. */
const readyDeadlineMs = 90_000;

async function missing(tools: string[], files: Record<string, string> = {}): Promise<string | undefined> {
  for (const tool of ['qemu-system-x86_64', 'musl-gcc', 'make', ...tools]) {
    if (!(await hasCommand(tool))) return `${tool} is not installed (run: node bin/tailor.js doctor --fix)`;
  }
  for (const [file, pkg] of Object.entries(files)) {
    if (spawnSync('test', ['-x', file]).status !== 0) return `${file} is missing (apt-get install -y ${pkg})`;
  }
  return undefined;
}

function build(args: string[]): void {
  const r = spawnSync(process.execPath, [tailor, 'build', 'kernel=stock', 'fs=ramfs', ...args], { cwd: project, encoding: 'utf8', timeout: 300_000 });
  assert.equal(r.status, 0, `tailor build ${args.join(' ')}:\n${r.stdout}\n${r.stderr}`);
}

async function portIsFree(port: number): Promise<boolean> {
  return new Promise((res) => {
    const s = createServer();
    s.once('error', () => res(false));
    s.listen(port, '127.0.0.1', () => s.close(() => res(true)));
  });
}

async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.on('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => res(p));
    });
  });
}

interface Vm {
  readonly child: ChildProcess;
  readonly output: () => string;
  readonly exited: Promise<number | null>;
  /** Stop tailor run (it stops QEMU) and wait for it. */
  readonly stop: () => Promise<number | null>;
}

/** `tailor run BUILD ARGS...` in the background. */
function run(name: string, args: string[], t: { after: (fn: () => Promise<void> | void) => void }): Vm {
  const child = spawn(process.execPath, [tailor, 'run', name, '--timeout', '240', ...args], { cwd: project, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  child.stdout!.on('data', (b: Buffer) => (text += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (text += b.toString()));
  const exited = new Promise<number | null>((res) => child.on('close', (code) => res(code)));
  const stop = async (): Promise<number | null> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    return exited;
  };
  t.after(async () => {
    await stop();
  });
  return { child, output: () => text, exited, stop };
}

/** QEMU processes started for this test's project folder (none may outlive a test). */
function strayQemu(): string[] {
  const ps = spawnSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' }).stdout;
  return ps.split('\n').filter((l) => l.includes('qemu-system') && l.includes(project));
}

/** Poll `attempt` until it gives a value, the VM exits, or the deadline passes. */
async function until<T>(vm: Vm, what: string, attempt: () => Promise<T | undefined>): Promise<{ value: T; ms: number }> {
  const t0 = Date.now();
  let ended = false;
  void vm.exited.then(() => (ended = true));
  for (;;) {
    const value = await attempt().catch(() => undefined);
    if (value !== undefined) return { value, ms: Date.now() - t0 };
    if (ended) assert.fail(`the VM ended before ${what}:\n${vm.output().slice(-3000)}`);
    if (Date.now() - t0 > readyDeadlineMs) assert.fail(`no ${what} within ${readyDeadlineMs} ms:\n${vm.output().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

function redisCli(port: number, ...args: string[]): string | undefined {
  const r = spawnSync('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], { encoding: 'utf8', timeout: 10_000 });
  return r.status === 0 && !/Could not connect|Connection reset|error/i.test(r.stdout + r.stderr) ? r.stdout.trim() : undefined;
}

test('redis: tailor build image=redis; tailor run --forward PORT:6379; redis-cli PING answers PONG, SET/GET work', async (t) => {
  const skip = await missing(['redis-cli'], { '/usr/bin/redis-server': 'redis-server' });
  if (skip) return t.skip(skip);
  build(['image=redis', 'name=redis']);
  const port = (await portIsFree(6379)) ? 6379 : await freePort();
  const vm = run('redis', ['--forward', `${port}:6379`], t);
  const pong = await until(vm, 'PONG from redis-cli', async () => {
    const out = redisCli(port, 'PING');
    return out === 'PONG' ? out : undefined;
  });
  t.diagnostic(`PONG on 127.0.0.1:${port} ${pong.ms} ms after tailor run started`);
  assert.equal(redisCli(port, 'SET', 'tailor', 'unikernel-clothing'), 'OK');
  assert.equal(redisCli(port, 'GET', 'tailor'), 'unikernel-clothing');
  // the console trails the network a little (the serial port is slow under TCG)
  await until(vm, "redis's ready line on the console", async () => (/Ready to accept connections/.test(vm.output()) ? true : undefined));
  await vm.stop();
  assert.deepEqual(strayQemu(), []);
});

test('nginx: tailor build image=nginx; tailor run --forward PORT:80 serves the module page', async (t) => {
  const skip = await missing([], { '/usr/sbin/nginx': 'nginx-light' });
  if (skip) return t.skip(skip);
  build(['image=nginx', 'name=nginx']);
  const port = await freePort();
  const vm = run('nginx', ['--forward', `${port}:80`], t);
  const page = await until(vm, 'the page from nginx', async () => {
    const r = await request(port, 'GET', '/', {}, { timeoutMs: 10_000 });
    return r.status === 200 ? r : undefined;
  });
  t.diagnostic(`nginx answered 200 ${page.ms} ms after tailor run started`);
  assert.match(page.value.body, /Hello from nginx in a Tailor VM/);
  assert.match(page.value.headers.get('server') ?? '', /^nginx/);
  assert.equal((await request(port, 'GET', '/missing.html', {}, { timeoutMs: 10_000 })).status, 404);
  await vm.stop();
  assert.deepEqual(strayQemu(), []);
});

test('httpserver-monitoring-api through tailor run --api: GET /os/uptime is JSON', async (t) => {
  const skip = await missing([]);
  if (skip) return t.skip(skip);
  if (!(await portIsFree(8000))) return t.skip('host port 8000 is taken, and --api means 8000');
  build(['image=httpserver-monitoring-api', 'name=mon']);
  // the module starts the server in the background for an app after it; alone, it is the app
  const vm = run('mon', ['--api', '-e', '/httpserver --port 8000'], t);
  const up = await until(vm, '/os/uptime', async () => {
    const r = await request(8000, 'GET', '/os/uptime', {}, { timeoutMs: 10_000 });
    return r.status === 200 ? r : undefined;
  });
  assert.match(up.value.headers.get('content-type') ?? '', /application\/json/);
  const uptime = json(up.value) as number;
  assert.equal(typeof uptime, 'number');
  assert.ok(uptime > 0 && uptime < readyDeadlineMs / 1000 + 60, `uptime ${uptime}`);
  await vm.stop();
  assert.deepEqual(strayQemu(), []);
});

test('httpserver-api through tailor run --api: /os/shutdown refused without the token, powers off with it (tailor run exits 0)', async (t) => {
  const skip = await missing([]);
  if (skip) return t.skip(skip);
  if (!(await portIsFree(8000))) return t.skip('host port 8000 is taken, and --api means 8000');
  build(['image=httpserver-api', 'name=api']);
  const token = 'net-e2e-5b1f';
  const vm = run('api', ['--api', '-e', `--env=TAILOR_API_TOKEN=${token} /httpserver --port 8000 --allow-mutations`], t);
  await until(vm, '/os/version', async () => {
    const r = await request(8000, 'GET', '/os/version', {}, { timeoutMs: 10_000 });
    return r.status === 200 ? r : undefined;
  });
  assert.equal((await request(8000, 'POST', '/os/shutdown', {}, { timeoutMs: 10_000 })).status, 401);
  assert.equal((await request(8000, 'POST', '/os/shutdown', { Authorization: 'Bearer wrong' }, { timeoutMs: 10_000 })).status, 403);
  const ok = await request(8000, 'POST', '/os/shutdown', { Authorization: `Bearer ${token}` }, { timeoutMs: 10_000 });
  assert.equal(ok.status, 200, ok.body);
  const code = await Promise.race([vm.exited, new Promise<string>((r) => setTimeout(() => r('still running'), 60_000))]);
  assert.equal(code, 0, `tailor run after POST /os/shutdown: ${code}\n${vm.output().slice(-2000)}`);
  assert.match(vm.output(), /tailor:exit status=0/);
  assert.deepEqual(strayQemu(), []);
});
