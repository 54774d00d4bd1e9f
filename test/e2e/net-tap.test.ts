/**
 * Tap networking through `tailor run -n`: the test (as root) makes a
 * multi_queue tap device with a host address, boots a busybox image with
 * `--ip` on the guest command line and `--virtio-net-queues 2`, and the
 * guest pings the host over it; the guest sees two queue pairs. Also the
 * errors a user meets: no such tap device, vhost without /dev/vhost-net.
 * Skipped with the reason when the host cannot make tap devices.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { hasCommand } from '../../src/util/exec.ts';

const tailor = resolve(import.meta.dirname, '..', '..', 'bin', 'tailor.js');
const project = mkdtempSync(join(tmpdir(), 'tailor-net-tap-'));
const tap = `tlrtap${process.pid % 10000}`;
after(() => {
  spawnSync('ip', ['link', 'del', tap]);
  rmSync(project, { recursive: true, force: true });
});

function cli(args: string[]): { code: number | null; out: string } {
  const r = spawnSync(process.execPath, [tailor, ...args], { cwd: project, encoding: 'utf8', timeout: 240_000 });
  return { code: r.status, out: `${r.stdout}\n${r.stderr}` };
}

async function setup(): Promise<string | undefined> {
  for (const tool of ['qemu-system-x86_64', 'musl-gcc', 'make', 'ip']) {
    if (!(await hasCommand(tool))) return `${tool} is not installed`;
  }
  if (!existsSync('/bin/busybox')) return '/bin/busybox is missing (apt-get install busybox-static)';
  if (process.getuid?.() !== 0) return 'not root: cannot create a tap device';
  for (const args of [
    ['tuntap', 'add', 'dev', tap, 'mode', 'tap', 'multi_queue'],
    ['addr', 'add', '192.168.233.1/24', 'dev', tap],
    ['link', 'set', tap, 'up'],
  ]) {
    const r = spawnSync('ip', args, { encoding: 'utf8' });
    if (r.status !== 0) return `this host cannot make a tap device (ip ${args.join(' ')}: ${r.stderr.trim()})`;
  }
  const dir = join(project, 'nettools');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'module.yaml'), 'description: test-only, busybox with a network need\nkernel: [net]\n');
  writeFileSync(join(dir, 'usr.manifest'), '[manifest]\n/bin/busybox: /bin/busybox\n');
  const b = cli(['build', `image=${dir}`, 'name=nettools', 'kernel=stock', 'fs=ramfs']);
  assert.equal(b.code, 0, b.out);
  return undefined;
}

const skip = await setup();

test('tailor run -n TAP --virtio-net-queues 2: the guest (--ip) pings the host over the tap and has two queue pairs', (t) => {
  if (skip) return t.skip(skip);
  const r = cli([
    'run', 'nettools', '--timeout', '150', '-c', '2', '-n', tap, '--virtio-net-queues', '2', '-e',
    '--ip=eth0,192.168.233.2/24 /bin/busybox ls -1 /sys/class/net/eth0/queues; /bin/busybox ping -c 2 -W 10 192.168.233.1',
  ]);
  assert.equal(r.code, 0, r.out.slice(-3000));
  assert.match(r.out, /^rx-0\r?\nrx-1\r?\ntx-0\r?\ntx-1\r?$/m);
  assert.match(r.out, /2 packets transmitted, 2 packets received/);
});

test('tap errors name the fix: a missing tap device, vhost without /dev/vhost-net, queues on user-mode networking', (t) => {
  if (skip) return t.skip(skip);
  const none = cli(['run', 'nettools', '-n', 'nosuchtap9', '-e', '/bin/busybox true']);
  assert.equal(none.code, 2, none.out);
  assert.match(none.out, /no tap device nosuchtap9 on this host/);
  assert.match(none.out, /ip tuntap add dev nosuchtap9 mode tap/);
  const single = cli(['run', 'nettools', '--virtio-net-queues', '2', '-e', '/bin/busybox true']);
  assert.equal(single.code, 2, single.out);
  assert.match(single.out, /needs tap networking/);
  if (!existsSync('/dev/vhost-net')) {
    const v = cli(['run', 'nettools', '-n', tap, '-v', '--virtio-net-queues', '2', '-e', '/bin/busybox true']);
    assert.equal(v.code, 2, v.out);
    assert.match(v.out, /\/dev\/vhost-net is missing.*\n.*modprobe vhost_net/);
  } else {
    t.diagnostic('this host has /dev/vhost-net: the missing-vhost error is not exercised');
  }
});

test('no --ip on a tap without a DHCP server: the init gives up after 1.5 s and falls back to the user-mode plan', (t) => {
  if (skip) return t.skip(skip);
  // the tap is multi_queue (for the test above), so QEMU must open it with several queues
  const r = cli(['run', 'nettools', '--timeout', '150', '-n', tap, '--virtio-net-queues', '2', '-e', '--verbose /bin/busybox ip addr show eth0']);
  assert.equal(r.code, 0, r.out.slice(-3000));
  assert.match(r.out, /no DHCP answer on eth0; using QEMU user-mode addresses/);
  assert.match(r.out, /inet 10\.0\.2\.15\/24 /);
});
