/**
 * Network applications end to end, the way a user runs them: `tailor build
 * image=redis|nginx|httpserver-*` and `tailor run --forward/--api` (the CLI,
 * Debian's kernel under QEMU, user-mode networking, the init configuring
 * eth0 itself), then real clients on the host: redis-cli, an HTTP GET, the
 * REST API. Every boot is stopped at the end and no QEMU may be left behind.
 * The same servers on the default custom kernel: net-apps-custom.test.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { json, request } from '../unit/httpserver-http.ts';
import * as h from './net-apps-helpers.ts';
import { freePort, missing, portIsFree, redisCli } from './net-apps-helpers.ts';

const project = mkdtempSync(join(tmpdir(), 'tailor-net-apps-'));
after(() => rmSync(project, { recursive: true, force: true }));
/** Time for a stock-kernel boot under TCG on a loaded 2-core host, until the service answers. */
const readyDeadlineMs = 90_000;

const build = (args: string[]) => h.build(project, ['kernel=stock', 'fs=ramfs', ...args]);
const run = (name: string, args: string[], t: Parameters<typeof h.run>[3]) => h.run(project, name, args, t);
const strayQemu = () => h.strayQemu(project);
const until = <T>(vm: h.Vm, what: string, attempt: () => Promise<T | undefined>) => h.until(vm, what, readyDeadlineMs, attempt);

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
