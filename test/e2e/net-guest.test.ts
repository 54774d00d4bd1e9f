/**
 * The init's network setup in a real guest (Debian's kernel, QEMU user-mode
 * networking through `tailor run`): the default plan on eth0, --ip (OSv and
 * CIDR forms) with --defaultgw and --nameserver, a guest-to-host connection
 * through the gateway, and --sysctl TCP settings read back from /proc/sys.
 * A test-only module packs the host's static busybox (ip, cat, wget) and
 * asks for `kernel: [net]`, so the image also shows that a net need loads
 * virtio_net on the stock kernel. The same path on the custom kernel (no
 * AF_UNIX, only TCP/IP and the NIC driver): net-apps-custom.test.ts.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { hasCommand } from '../../src/util/exec.ts';

const tailor = resolve(import.meta.dirname, '..', '..', 'bin', 'tailor.js');
const project = mkdtempSync(join(tmpdir(), 'tailor-net-guest-'));
after(() => rmSync(project, { recursive: true, force: true }));

async function unavailable(): Promise<string | undefined> {
  for (const tool of ['qemu-system-x86_64', 'musl-gcc', 'make']) {
    if (!(await hasCommand(tool))) return `${tool} is not installed (run: node bin/tailor.js doctor --fix)`;
  }
  if (!existsSync('/bin/busybox')) return '/bin/busybox is missing (apt-get install busybox-static)';
  return undefined;
}

function cli(args: string[], timeout = 240_000): { code: number | null; out: string } {
  const r = spawnSync(process.execPath, [tailor, ...args], { cwd: project, encoding: 'utf8', timeout });
  return { code: r.status, out: `${r.stdout}\n${r.stderr}` };
}

const skip = await unavailable();
before(() => {
  if (skip) return;
  const dir = join(project, 'nettools');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'module.yaml'), 'description: test-only, busybox with a network need\nkernel: [net]\n');
  writeFileSync(join(dir, 'usr.manifest'), '[manifest]\n/bin/busybox: /bin/busybox\n');
  const r = cli(['build', `image=${dir}`, 'name=nettools', 'kernel=stock', 'fs=ramfs']);
  assert.equal(r.code, 0, r.out);
});

/** Boot the busybox image with `line` as its command line; returns the console and tailor's exit code. */
function boot(line: string, extra: string[] = []): { code: number | null; out: string } {
  return cli(['run', 'nettools', '--timeout', '120', ...extra, '-e', line]);
}

test('the build loads virtio_net for the module\'s net need', (t) => {
  if (skip) return t.skip(skip);
  const manifest = spawnSync('cat', [join(project, 'build', 'nettools', 'usr.manifest')], { encoding: 'utf8' }).stdout;
  assert.match(manifest, /\/kernel\/drivers\/net\/virtio_net\.ko:/);
  // and tells the init that the image needs the network (a missing eth0 is then an error)
  const cmdline = spawnSync('cat', [join(project, 'build', 'nettools', 'cmdline')], { encoding: 'utf8' }).stdout;
  assert.match(cmdline, /(^| )tailor\.net=1( |$)/);
});

test('--no-network on an image that needs the network: a warning that there is no eth0, and the app still runs', (t) => {
  if (skip) return t.skip(skip);
  const r = boot('--verbose /bin/busybox echo ran-without-network', ['--no-network']);
  assert.equal(r.code, 0, r.out.slice(-3000));
  assert.match(r.out, /tailor: warning: the image needs the network \(tailor\.net=1\) but the VM has no network device: no eth0/);
  assert.match(r.out, /ran-without-network/);
});

test('without --ip, eth0 gets its lease by DHCP from QEMU user-mode networking (10.0.2.15/24 via 10.0.2.2, DNS 10.0.2.3), lo is up, and the guest reaches a host server through the gateway', async (t) => {
  if (skip) return t.skip(skip);
  // a server on the host's loopback: user-mode networking maps 10.0.2.2 to it
  const server = createServer((_req, res) => res.end('from-the-host-8f2a\n'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  t.after(() => server.close());
  const port = (server.address() as { port: number }).port;
  const r = await new Promise<{ code: number | null; out: string }>((res) => {
    // spawnSync would block the server above: run tailor asynchronously
    const child = spawn(process.execPath, [tailor, 'run', 'nettools', '--timeout', '120', '-e',
      `--verbose /bin/busybox ip addr show; /bin/busybox ip route; /bin/busybox cat /etc/resolv.conf; /bin/busybox wget -qO- http://10.0.2.2:${port}/`], { cwd: project });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (out += b.toString()));
    child.on('close', (code: number | null) => res({ code, out }));
  });
  assert.equal(r.code, 0, r.out.slice(-3000));
  assert.match(r.out, /inet 127\.0\.0\.1\/8 scope host lo/);
  assert.match(r.out, /inet 10\.0\.2\.15\/24 .*eth0/);
  assert.match(r.out, /default via 10\.0\.2\.2 dev eth0/);
  assert.match(r.out, /network: DHCP lease on eth0: 10\.0\.2\.15\/255\.255\.255\.0 router 10\.0\.2\.2 dns 10\.0\.2\.3/);
  assert.match(r.out, /^nameserver 10\.0\.2\.3\r?$/m);
  assert.match(r.out, /from-the-host-8f2a/);
  // then the init says it reboots (the host's power-off deadline starts there) after taking eth0 down
  assert.match(r.out, /^tailor:exit status=0\r?\n(?:.*\n)*?tailor:power-off\r?$/m);
});

test('--ip (OSv form and CIDR), --defaultgw and --nameserver are applied; /etc/resolv.conf is rewritten', (t) => {
  if (skip) return t.skip(skip);
  const r = boot(
    '--ip=eth0,10.0.2.77,255.255.255.0 --defaultgw=10.0.2.2 --nameserver=10.0.2.3 --nameserver=192.0.2.53 ' +
      '/bin/busybox ip addr show eth0; /bin/busybox ip route; /bin/busybox cat /etc/resolv.conf',
  );
  assert.equal(r.code, 0, r.out.slice(-3000));
  assert.match(r.out, /inet 10\.0\.2\.77\/24 /);
  assert.doesNotMatch(r.out, /10\.0\.2\.15/);
  assert.match(r.out, /default via 10\.0\.2\.2 dev eth0/);
  assert.match(r.out, /^nameserver 10\.0\.2\.3\r?\nnameserver 192\.0\.2\.53\r?$/m);

  const cidr = boot('--ip=eth0,10.0.2.16/28 /bin/busybox ip addr show eth0; /bin/busybox ip route');
  assert.equal(cidr.code, 0, cidr.out.slice(-3000));
  assert.match(cidr.out, /inet 10\.0\.2\.16\/28 /);
  assert.doesNotMatch(cidr.out, /default via/, 'no --defaultgw with --ip: no default route');
});

test('bad network options stop the boot with status 2 or 1 and a message naming the input', (t) => {
  if (skip) return t.skip(skip);
  const bad = boot('--ip=eth0,10.0.2.300/24 /bin/busybox true');
  assert.equal(bad.code, 2, bad.out.slice(-2000));
  assert.match(bad.out, /tailor:error --ip=eth0,10\.0\.2\.300\/24: expected --ip=IF,ADDR,MASK/);
  const noIf = boot('--ip=eth9,10.0.2.16/24 /bin/busybox true');
  assert.equal(noIf.code, 1, noIf.out.slice(-2000));
  assert.match(noIf.out, /tailor:error --ip: no network interface eth9/);
});

test('--sysctl TCP settings (OSv/BSD names) take effect: read back from /proc/sys', (t) => {
  if (skip) return t.skip(skip);
  const r = boot(
    '--sysctl=net.inet.tcp.sendspace=262144 --sysctl=net.inet.tcp.recvspace=524288 --sysctl=kern.ipc.somaxconn=2048 ' +
      '/bin/busybox cat /proc/sys/net/ipv4/tcp_wmem /proc/sys/net/ipv4/tcp_rmem /proc/sys/net/core/somaxconn',
  );
  assert.equal(r.code, 0, r.out.slice(-3000));
  const wmem = /^(\d+)\s+262144\s+(\d+)\r?$/m.exec(r.out);
  assert.ok(wmem, `tcp_wmem default not 262144:\n${r.out.slice(-1500)}`);
  assert.ok(Number(wmem[2]) >= 262144, 'the max was raised to at least the default');
  assert.match(r.out, /^\d+\s+524288\s+\d+\r?$/m);
  assert.match(r.out, /^2048\r?$/m);
});

test('--bootchart shows the network phase', (t) => {
  if (skip) return t.skip(skip);
  const r = boot('--bootchart /bin/busybox true');
  assert.equal(r.code, 0, r.out.slice(-2000));
  assert.match(r.out, /tailor:phase name=network boottime_ns=\d+/);
});

test('--nameserver on a read-only root (fs=rofs): resolv.conf is covered by a bind mount from /tmp', (t) => {
  if (skip) return t.skip(skip);
  if (!existsSync('/usr/bin/redis-server')) return t.skip('redis-server is not installed (apt-get install -y redis-server): its module brings /etc/resolv.conf');
  const b = cli(['build', `image=redis,${join(project, 'nettools')}`, 'name=nettools-ro', 'kernel=stock', 'fs=rofs']);
  assert.equal(b.code, 0, b.out);
  const r = cli(['run', 'nettools-ro', '--timeout', '120', '-e', '--nameserver=192.0.2.9 /bin/busybox cat /etc/resolv.conf; /bin/busybox touch /etc/x']);
  assert.equal(r.code, 1, r.out.slice(-3000)); // touch fails: the root really is read-only
  assert.match(r.out, /Read-only file system/);
  assert.match(r.out, /^nameserver 192\.0\.2\.9\r?$/m);
});
