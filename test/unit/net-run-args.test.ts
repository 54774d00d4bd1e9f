/**
 * The run stage's network device: --forward parsing, which flags combine,
 * the QEMU arguments per machine type, and the tap host checks against a
 * fake /sys + /dev tree (the real host has no tap device to spare).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { UsageError } from '../../src/errors.ts';
import type { BuildRecord } from '../../src/image/types.ts';
import { checkTapHost, imageNeedsNetwork, networkArgs, networkRequest, parseForward } from '../../src/run/network.ts';
import { stockNetNeeds } from '../../src/kernel/index.ts';

function record(kernelNeeds?: string[]): BuildRecord {
  return { kernelNeeds } as unknown as BuildRecord;
}

test('--forward: HOST:GUEST, a single port for both, tcp: prefix; bad ports are named', () => {
  assert.deepEqual(parseForward('8080:80'), { host: 8080, guest: 80 });
  assert.deepEqual(parseForward('6379'), { host: 6379, guest: 6379 });
  assert.deepEqual(parseForward('tcp:2222:22'), { host: 2222, guest: 22 });
  assert.throws(() => parseForward('0:80'), /host port "0" is not 1\.\.65535/);
  assert.throws(() => parseForward('80:70000'), /guest port "70000"/);
  assert.throws(() => parseForward('a:b'), UsageError);
  assert.throws(() => parseForward('1:2:3'), /is not HOST:GUEST/);
});

test('an image that needs net gets user-mode networking by default; one that does not gets no device', () => {
  assert.equal(imageNeedsNetwork(record(['net', 'epoll'])), true);
  assert.equal(imageNeedsNetwork(record(['virtio-net'])), true);
  assert.equal(imageNeedsNetwork(record(['epoll'])), false);
  assert.equal(imageNeedsNetwork(record(undefined)), false, 'a build.json from before kernelNeeds was recorded');
  assert.deepEqual(networkRequest(record(['net']), {}), { mode: 'user', forwards: [] });
  assert.equal(networkRequest(record([]), {}), undefined);
  // asking for a forward gives a device even to an image that did not declare net
  assert.deepEqual(networkRequest(record([]), { forwards: ['8080:80'] }), { mode: 'user', forwards: [{ host: 8080, guest: 80 }] });
  assert.deepEqual(networkRequest(record(['net']), { api: true, forwards: ['6379'] }), {
    mode: 'user',
    forwards: [{ host: 6379, guest: 6379 }, { host: 8000, guest: 8000 }],
  });
  assert.deepEqual(networkRequest(record(['net']), { none: true }), { mode: 'none' });
});

test('impossible combinations are refused with the fix', () => {
  assert.throws(() => networkRequest(record(['net']), { vhost: true }), /-v \(vhost\) needs tap networking/);
  assert.throws(() => networkRequest(record(['net']), { queues: 4 }), /--virtio-net-queues 4 needs tap networking/);
  assert.throws(() => networkRequest(record(['net']), { tap: true, forwards: ['80'] }), /user-mode networking only/);
  assert.throws(() => networkRequest(record(['net']), { forwards: ['8000'], api: true }), /host port 8000 is forwarded twice/);
  assert.throws(() => networkRequest(record(['net']), { none: true, api: true }), /--no-network contradicts/);
  assert.deepEqual(networkRequest(record(['net']), { tap: 'tap7', vhost: true, queues: 2 }), {
    mode: 'tap',
    tapDevice: 'tap7',
    vhost: true,
    queues: 2,
  });
});

test('QEMU arguments: forwards bound to 127.0.0.1, the virtio-net model of each machine, tap with vhost and multiqueue', () => {
  assert.deepEqual(networkArgs('pci', { mode: 'user', forwards: [{ host: 16379, guest: 6379 }, { host: 8000, guest: 8000 }] }), [
    '-netdev',
    'user,id=n0,hostfwd=tcp:127.0.0.1:16379-:6379,hostfwd=tcp:127.0.0.1:8000-:8000',
    '-device',
    'virtio-net-pci,netdev=n0,mac=52:54:00:12:34:56,romfile=',
  ]);
  assert.deepEqual(networkArgs('mmio', { mode: 'user', forwards: [] }), [
    '-netdev',
    'user,id=n0',
    '-device',
    'virtio-net-device,netdev=n0,mac=52:54:00:12:34:56',
  ]);
  assert.deepEqual(networkArgs('pci', { mode: 'tap', tapDevice: 'tap1', vhost: true, queues: 4 }), [
    '-netdev',
    'tap,id=n0,ifname=tap1,script=no,downscript=no,vhost=on,queues=4',
    '-device',
    'virtio-net-pci,netdev=n0,mac=52:54:00:12:34:56,romfile=,mq=on,vectors=10',
  ]);
  assert.deepEqual(networkArgs('pci', { mode: 'none' }), []);
});

const root = mkdtempSync(join(tmpdir(), 'tailor-net-sys-'));
after(() => rmSync(root, { recursive: true, force: true }));

function fakeHost(name: string, opts: { tun?: boolean; tap?: { flags: string; owner: string }; vhost?: boolean }): string {
  const dir = join(root, name);
  mkdirSync(join(dir, 'dev', 'net'), { recursive: true });
  if (opts.tun) writeFileSync(join(dir, 'dev', 'net', 'tun'), '');
  if (opts.vhost) writeFileSync(join(dir, 'dev', 'vhost-net'), '');
  if (opts.tap) {
    const t = join(dir, 'sys', 'class', 'net', 'tap0');
    mkdirSync(t, { recursive: true });
    writeFileSync(join(t, 'tun_flags'), `${opts.tap.flags}\n`);
    writeFileSync(join(t, 'owner'), `${opts.tap.owner}\n`);
  }
  return dir;
}

/** The message and the hint together: the fix is in the hint. */
function throwsSaying(fn: () => void, re: RegExp): void {
  assert.throws(fn, (e: Error & { hint?: string }) => {
    assert.match(`${e.message} | ${e.hint ?? ''}`, re);
    return true;
  });
}

test('tap host checks: missing /dev/net/tun, missing tap device, no multi_queue, no vhost-net; each names the command', () => {
  const tap = { mode: 'tap' as const, tapDevice: 'tap0', vhost: false, queues: 1 };
  throwsSaying(() => checkTapHost(tap, fakeHost('no-tun', {})), /modprobe tun/);
  assert.throws(() => checkTapHost(tap, fakeHost('no-tap', { tun: true })), (e: Error & { hint?: string }) => {
    assert.match(e.message, /no tap device tap0 on this host \(Tailor does not create host interfaces\)/);
    assert.match(String(e.hint), /ip tuntap add dev tap0 mode tap user/);
    return true;
  });
  const uid = process.getuid?.() ?? 0;
  const single = fakeHost('single', { tun: true, tap: { flags: '0x1002', owner: String(uid) } });
  assert.doesNotThrow(() => checkTapHost(tap, single));
  throwsSaying(() => checkTapHost({ ...tap, queues: 4 }, single), /created without multi_queue.*multi_queue user/);
  const multi = fakeHost('multi', { tun: true, tap: { flags: '0x1102', owner: String(uid) } });
  assert.doesNotThrow(() => checkTapHost({ ...tap, queues: 4 }, multi));
  throwsSaying(() => checkTapHost(tap, multi), /created with multi_queue.*--virtio-net-queues 2/);
  throwsSaying(() => checkTapHost({ ...tap, vhost: true, queues: 2 }, multi), /vhost-net is missing.*modprobe vhost_net/);
  assert.doesNotThrow(() => checkTapHost({ ...tap, vhost: true }, fakeHost('vhost', { tun: true, vhost: true, tap: { flags: '0x1002', owner: String(uid) } })));
});

test('stock kernel: a net need brings the virtio_net driver (TCP/IP is built in, the NIC driver is a module)', () => {
  assert.deepEqual(stockNetNeeds(['net', 'epoll']), ['virtio-net']);
  assert.deepEqual(stockNetNeeds(['net', 'virtio-net']), []);
  assert.deepEqual(stockNetNeeds(['epoll']), []);
});
