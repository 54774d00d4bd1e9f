/**
 * The catalog's servers on the kernel a user gets by default (`kernel=custom`,
 * built for the image's needs), as the README runs them: `tailor build
 * image=redis && tailor run --forward 6379:6379`, redis-cli PING and SET/GET
 * from the host; nginx answering an HTTP GET; both on `--profile=minimal`
 * (microvm, no PCI), where the net need brings virtio-net back.
 *
 * The redis kernel has exactly what the module asks for (TCP/IP and the
 * drivers profile's virtio-net; no AF_UNIX, no AF_PACKET), so its boots also
 * test the init's network path without CONFIG_UNIX (issue 10: musl's
 * if_nametoindex() needed AF_UNIX and eth0 was never found).
 *
 * Kernels this file builds (through the normal build path, cached):
 * default + redis's needs, default + nginx's needs, and the suite's shared
 * minimal kernel (shared-kernel.ts: the union of redis's, nginx's and
 * java-jlink's needs with the disk roots'), which the redis+nginx image and
 * java-jlink boot; and the minimal hello kernel that most suites build anyway.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from '../unit/httpserver-http.ts';
import * as h from './net-apps-helpers.ts';
import { freePort, missing, redisCli, tailor } from './net-apps-helpers.ts';
import { sharedKernelArgs, writeSharedKernelModule } from './shared-kernel.ts';

const project = mkdtempSync(join(tmpdir(), 'tailor-net-custom-'));
writeSharedKernelModule(project);
after(() => rmSync(project, { recursive: true, force: true }));
/** A custom kernel boots in a few seconds of guest time; TCG on a loaded 2-core host stretches that a lot. */
const readyDeadlineMs = 90_000;
/** A cold custom-kernel build on a busy 2-core host (it is cached afterwards). */
const buildTimeoutMs = 3 * 3600_000;

const build = (args: string[]) => h.build(project, args, buildTimeoutMs);
const run = (name: string, args: string[], t: Parameters<typeof h.run>[3]) => h.run(project, name, args, t);
const until = <T>(vm: h.Vm, what: string, attempt: () => Promise<T | undefined>) => h.until(vm, what, readyDeadlineMs, attempt);

/** The final .config of the custom kernel these build arguments give (a cache hit after the build). */
function kernelConfig(args: string[]): Map<string, string> {
  const r = spawnSync(process.execPath, [tailor, 'kernel', 'build', '--json', ...args], { cwd: project, encoding: 'utf8', timeout: buildTimeoutMs });
  assert.equal(r.status, 0, r.stderr);
  const dir = (JSON.parse(r.stdout) as { dir: string; cached: boolean }).dir;
  const config = new Map<string, string>();
  for (const line of readFileSync(join(dir, 'config'), 'utf8').split('\n')) {
    const m = /^CONFIG_(\w+)=(.*)$/.exec(line);
    if (m) config.set(m[1]!, m[2]!);
  }
  return config;
}

const record = (name: string) => JSON.parse(readFileSync(join(project, 'build', name, 'build.json'), 'utf8')) as { kernelCmdline: string; appCmdline: string; kernel: { flavour: string } };

async function pong(vm: h.Vm, port: number): Promise<number> {
  const r = await until(vm, 'PONG from redis-cli', async () => (redisCli(port, 'PING') === 'PONG' ? true : undefined));
  return r.ms;
}

async function page(vm: h.Vm, port: number) {
  return until(vm, 'the page from nginx', async () => {
    const r = await request(port, 'GET', '/', {}, { timeoutMs: 10_000 });
    return r.status === 200 ? r : undefined;
  });
}

test('redis on the default custom kernel, as the README runs it: PING, SET/GET through tailor run --forward', async (t) => {
  const skip = await missing(['redis-cli'], { '/usr/bin/redis-server': 'redis-server' });
  if (skip) return t.skip(skip);
  build(['image=redis', 'name=redis']);
  assert.equal(record('redis').kernel.flavour, 'custom');
  assert.match(record('redis').kernelCmdline, /(^| )tailor\.net=1( |$)/);
  const config = kernelConfig(['image=redis']);
  assert.equal(config.get('INET'), 'y');
  assert.equal(config.get('VIRTIO_NET'), 'y');
  // exactly what redis asks for: the init must not depend on AF_UNIX or AF_PACKET
  assert.equal(config.get('UNIX'), undefined, 'redis does not ask for unix-sockets');
  assert.equal(config.get('PACKET'), undefined);

  const port = await freePort();
  const vm = run('redis', ['--forward', `${port}:6379`], t);
  t.diagnostic(`PONG on 127.0.0.1:${port} ${await pong(vm, port)} ms after tailor run started`);
  assert.equal(redisCli(port, 'SET', 'tailor', 'custom-kernel'), 'OK');
  assert.equal(redisCli(port, 'GET', 'tailor'), 'custom-kernel');
  await vm.stop();
  assert.deepEqual(h.strayQemu(project), []);
});

test('the same kernel, the command of issue 10: --verbose --ip=eth0,... finds eth0 and says what the network phase did', async (t) => {
  const skip = await missing(['redis-cli'], { '/usr/bin/redis-server': 'redis-server' });
  if (skip) return t.skip(skip);
  build(['image=redis', 'name=redis']); // a cache hit after the test above
  const port = await freePort();
  const line = `--verbose --ip=eth0,10.0.2.15,255.255.255.0 --defaultgw=10.0.2.2 ${record('redis').appCmdline}`;
  const vm = run('redis', ['--forward', `${port}:6379`, '-e', line], t);
  await pong(vm, port);
  await until(vm, 'the network lines on the console', async () => (/network: default route via 10\.0\.2\.2/.test(vm.output()) ? true : undefined));
  assert.match(vm.output(), /tailor: network: eth0 10\.0\.2\.15 netmask 255\.255\.255\.0/);
  assert.doesNotMatch(vm.output(), /no network interface eth0/);
  await vm.stop();

  // without --ip: eth0 from the drivers profile's virtio-net, DHCP from QEMU
  const dhcp = run('redis', ['--forward', `${port}:6379`, '-e', `--verbose ${record('redis').appCmdline}`], t);
  await pong(dhcp, port);
  await until(dhcp, 'the DHCP line on the console', async () => (/network: DHCP lease on eth0: 10\.0\.2\.15/.test(dhcp.output()) ? true : undefined));
  assert.match(dhcp.output(), /network: eth0 \(driver virtio_net\) after \d+ ms/);
  await dhcp.stop();
  assert.deepEqual(h.strayQemu(project), []);
});

test('nginx on the default custom kernel: an HTTP GET from the host; no AIO or socketpair complaints at start', async (t) => {
  const skip = await missing([], { '/usr/sbin/nginx': 'nginx' });
  if (skip) return t.skip(skip);
  build(['image=nginx', 'name=nginx']);
  const config = kernelConfig(['image=nginx']);
  assert.equal(config.get('UNIX'), 'y', 'nginx asks for unix-sockets (socketpair)');
  assert.equal(config.get('VIRTIO_NET'), 'y');
  const port = await freePort();
  const vm = run('nginx', ['--forward', `${port}:80`], t);
  const got = await page(vm, port);
  t.diagnostic(`nginx answered 200 ${got.ms} ms after tailor run started`);
  assert.match(got.value.body, /Hello from nginx in a Tailor VM/);
  assert.match(got.value.headers.get('server') ?? '', /^nginx/);
  assert.equal((await request(port, 'GET', '/missing.html', {}, { timeoutMs: 10_000 })).status, 404);
  assert.doesNotMatch(vm.output(), /io_setup\(\) failed|socketpair\(\) failed|\[alert\]|\[emerg\]/);
  await vm.stop();
  assert.deepEqual(h.strayQemu(project), []);
});

test('java-jlink on a custom kernel (the suite\'s shared minimal one): a jlink runtime of only the modules jdeps finds answers HTTP GETs', async (t) => {
  const skip = await missing([], { '/usr/lib/jvm/java-17-openjdk-amd64/bin/jlink': 'openjdk-17-jdk-headless' });
  if (skip) return t.skip(skip);
  // the shared kernel, not a default-profile one of its own: one cold-CI kernel build fewer
  build([...sharedKernelArgs('java-jlink'), 'name=java']);
  // JDK 17's NIO makes a socketpair(AF_UNIX) when a socket is first written (FileDispatcherImpl.init): without it the first reply fails
  assert.equal(kernelConfig(sharedKernelArgs('java-jlink')).get('UNIX'), 'y', 'java-jlink asks for unix-sockets');
  assert.match(spawnSync(process.execPath, [tailor, 'kernel', 'config', 'image=java-jlink'], { cwd: project, encoding: 'utf8' }).stdout, /^CONFIG_UNIX=y .*needed by module java-jlink/m);
  // the runtime holds what jdeps printed for the jar, nothing else
  const runtime = join(project, 'build', '.modules', 'java-jlink', 'runtime');
  const jdeps = spawnSync('/usr/lib/jvm/java-17-openjdk-amd64/bin/jdeps', ['--print-module-deps', '--ignore-missing-deps', join(project, 'build', '.modules', 'java-jlink', 'app.jar')], { encoding: 'utf8' });
  assert.equal(jdeps.stdout.trim(), 'java.base,jdk.httpserver');
  assert.match(readFileSync(join(runtime, 'release'), 'utf8'), /^MODULES="java\.base jdk\.httpserver"$/m);
  const port = await freePort();
  const vm = run('java', ['-m', '512M', '--forward', `${port}:8080`], t);
  const got = await h.until(vm, 'the reply of the Java server', 3 * readyDeadlineMs, async () => {
    const r = await request(port, 'GET', '/', {}, { timeoutMs: 10_000 });
    return r.status === 200 ? r : undefined;
  });
  t.diagnostic(`java answered 200 ${got.ms} ms after tailor run started`);
  assert.equal(got.value.body, 'hello from java\n');
  for (let i = 0; i < 3; i++) assert.equal((await request(port, 'GET', '/', {}, { timeoutMs: 10_000 })).body, 'hello from java\n');
  assert.doesNotMatch(vm.output(), /Exception|Error/);
  await vm.stop();
  assert.deepEqual(h.strayQemu(project), []);
});

test('--profile=minimal (microvm, no PCI): the net need brings virtio-net back; redis and nginx in one VM answer', async (t) => {
  const skip = await missing(['redis-cli'], { '/usr/bin/redis-server': 'redis-server', '/usr/sbin/nginx': 'nginx' });
  if (skip) return t.skip(skip);
  // one image with both servers and one boot for the two, on the suite's shared minimal kernel
  // (shared-kernel.ts: their needs plus the disk roots', so the disk tests' images share it)
  build([...sharedKernelArgs('redis', 'nginx'), 'name=servers-min']);
  const config = kernelConfig(sharedKernelArgs('redis', 'nginx'));
  assert.equal(config.get('VIRTIO_NET'), 'y');
  assert.equal(config.get('VIRTIO_MMIO'), 'y');
  assert.equal(config.get('PCI'), undefined);
  const fragment = spawnSync(process.execPath, [tailor, 'kernel', 'config', '--profile=minimal', 'image=redis'], { cwd: project, encoding: 'utf8' }).stdout;
  assert.match(fragment, /^CONFIG_VIRTIO_NET=y +# kernel feature net \(needed by module redis\): virtio-net, the network driver of conf_drivers_profile=microvm/m);

  const redisPort = await freePort();
  const httpPort = await freePort();
  const nginx = '/usr/sbin/nginx -e stderr -c /etc/nginx-tailor/nginx.conf';
  const redis = record('servers-min').appCmdline.split(';').map((c) => c.trim()).find((c) => c.startsWith('/usr/bin/redis-server'));
  assert.ok(redis, record('servers-min').appCmdline);
  const vm = run('servers-min', ['--forward', `${redisPort}:6379`, '--forward', `${httpPort}:80`, '-e', `${nginx} &! ${redis}`], t);
  await pong(vm, redisPort);
  assert.equal(redisCli(redisPort, 'SET', 'k', 'minimal'), 'OK');
  assert.equal(redisCli(redisPort, 'GET', 'k'), 'minimal');
  assert.match((await page(vm, httpPort)).value.body, /Hello from nginx in a Tailor VM/);
  await vm.stop();
  assert.deepEqual(h.strayQemu(project), []);
});

test('an image that needs the network on a kernel without IPv4 stops at boot, naming tailor.net=1 and CONFIG_INET', async (t) => {
  const skip = await missing([]);
  if (skip) return t.skip(skip);
  // the minimal hello kernel (no net need: no INET), given the boot word an image with a net need gets, and a NIC
  build(['--profile=minimal', 'image=native-example', 'name=hello-min']);
  const { loadBuildFolder, runImage } = await import('../../src/run/index.ts');
  const dir = join(project, 'build', 'hello-min');
  assert.doesNotMatch(loadBuildFolder(dir).record.kernelCmdline, /tailor\.net/);
  const sink = new Writable({ write: (_chunk, _enc, done) => done() });
  const result = await runImage(
    {
      buildDir: dir, memoryMiB: 128, cpus: 1, hypervisor: 'qemu_microvm', dryRun: false, verbose: false, timeoutSeconds: 240,
      kernelWords: ['tailor.net=1'], network: { mode: 'user', forwards: [] }, console: sink,
    },
    { log: sink },
  );
  const out = result.console;
  assert.equal(result.exitCode, 1, out.slice(-2000));
  assert.match(out, /tailor:error the image needs the network \(tailor\.net=1\) but this kernel has no IPv4 networking \(CONFIG_INET\)/);
});
