// Firecracker: the configuration from a build record (checked against the API's schema), what is refused, and the boot plumbing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { firecrackerBootArgs, firecrackerConfig, firecrackerNotices, type FirecrackerPlan } from '../../src/run/firecracker.ts';
import { schemaProblems } from '../../src/run/firecracker-schema.ts';
import { prepareFirecracker, findFirecracker } from '../../src/run/firecracker-run.ts';
import { encodeAppCmdline, kernelWordCount } from '../../src/run/app-cmdline.ts';
import { bootQemu } from '../../src/run/runner.ts';
import { TailorError, UsageError } from '../../src/errors.ts';
import type { BuildRecord } from '../../src/image/types.ts';
import { repoRoot } from '../../src/util/paths.ts';

// Each fake file holds the one byte 'x' (fakeBuild below): `tailor run` checks size and sha256.
const art = (file: string) => ({ file, bytes: 1, sha256: createHash('sha256').update('x').digest('hex') });
const base: BuildRecord = {
  formatVersion: 1, name: 'hello', configHash: 'h', options: {}, modules: [],
  kernel: { flavour: 'custom', release: 'r', packageVersion: 'v', bzImage: art('bzImage'), vmlinux: art('vmlinux'), hasVirtioMmio: true, hasPci: false, hasAcpi: false },
  initrd: { ...art('initrd.img'), compression: 'gzip' },
  kernelCmdline: 'console=ttyS0 quiet reboot=t pci=off rdinit=/init',
  appCmdline: '/hello',
  builtAt: '1970-01-01T00:00:00Z',
};
const plan = (p: Partial<FirecrackerPlan> = {}): FirecrackerPlan => ({ memoryMiB: 128, cpus: 1, ...p });
const work = mkdtempSync(join(tmpdir(), 'tailor-fc-test-'));
const dataDisk = join(work, 'data.img');
writeFileSync(dataDisk, Buffer.alloc(4096));
const sixtyWords = Array.from({ length: 60 }, (_, i) => `--env=V${i}=${i}`).join(' ') + ' /hello';

test('boot args: keyboard-controller reboot, no pci=off of ours (Firecracker adds it), then the application', () => {
  const args = firecrackerBootArgs(base, plan());
  assert.equal(args, 'console=ttyS0 quiet rdinit=/init reboot=k -- /hello');
  assert.equal(args.split(' ').filter((w) => w === 'pci=off').length, 0);
  assert.equal(firecrackerBootArgs(base, plan({ execute: 'x; y' })), 'console=ttyS0 quiet rdinit=/init reboot=k -- x; y');
  assert.equal(firecrackerBootArgs(base, plan({ kernelWords: ['initcall_debug'] })), 'console=ttyS0 quiet rdinit=/init reboot=k initcall_debug -- /hello');
});

test('a 60-word -e goes after " -- " as one encoded word, as on QEMU', () => {
  assert.equal(kernelWordCount(sixtyWords), 61);
  const args = firecrackerBootArgs(base, plan({ execute: sixtyWords }));
  const app = args.slice(args.indexOf(' -- ') + 4);
  assert.equal(kernelWordCount(app), 1);
  assert.equal(app, encodeAppCmdline(sixtyWords));
});

test('config with a 60-word -e, -n tap0 and a second disk passes the schema of Firecracker\'s API', () => {
  const c = firecrackerConfig('/b', base, plan({
    cpus: 2, execute: `--ip=eth0,192.168.100.2/24 ${sixtyWords}`,
    network: { mode: 'tap', tapDevice: 'tap0', vhost: false, queues: 1 },
    storage: { extraDisks: [dataDisk] },
  }));
  assert.deepEqual(schemaProblems(c), []);
  assert.deepEqual(c['network-interfaces'], [{ iface_id: 'eth0', host_dev_name: 'tap0', guest_mac: '52:54:00:12:34:56' }]);
  assert.deepEqual(c.drives, [{ drive_id: 'disk1', path_on_host: dataDisk, is_root_device: false, is_read_only: false }]);
  assert.deepEqual(c['machine-config'], { vcpu_count: 2, mem_size_mib: 128, smt: false });
  assert.equal(c['boot-source'].initrd_path, '/b/initrd.img');
  assert.equal(kernelWordCount(c['boot-source'].boot_args!.split(' -- ')[1]!), 1);
  // the same as JSON, the way the file is written
  assert.deepEqual(schemaProblems(JSON.parse(JSON.stringify(c))), []);
});

test('the schema check fails on what Firecracker would reject', () => {
  const bad = {
    'boot-source': { boot_args: 1 },
    drives: [{ drive_id: 'root', path_on_host: '/x' }],
    'machine-config': { vcpu_count: 33, mem_size_mib: 1.5 },
    'network-interfaces': [{ iface_id: 'eth0' }],
    network_interfaces: [],
  };
  const p = schemaProblems(bad);
  for (const want of [
    'boot-source.kernel_image_path: required field missing',
    'boot-source.boot_args: not a string',
    'drives[0].is_root_device: required field missing',
    'machine-config.vcpu_count: 33 is outside 1..32',
    'machine-config.mem_size_mib: not an integer',
    'network-interfaces[0].host_dev_name: required field missing',
    'network_interfaces: unknown field',
  ]) assert.ok(p.includes(want), `${want} in ${p.join('; ')}`);
});

test('a root disk is vda, --disk-image replaces it, extra disks follow', () => {
  const disk: BuildRecord = { ...base, initrd: undefined, rootDisk: { ...art('root.erofs'), fs: 'rofs', readOnly: true } };
  const c = firecrackerConfig('/b', disk, plan({ storage: { extraDisks: [dataDisk] } }));
  assert.deepEqual(c.drives.map((d) => [d.drive_id, d.path_on_host, d.is_read_only]), [['root', '/b/root.erofs', true], ['disk1', dataDisk, false]]);
  assert.equal('initrd_path' in c['boot-source'], false);
  const replaced = firecrackerConfig('/b', disk, plan({ storage: { diskImage: dataDisk } }));
  assert.deepEqual(replaced.drives, [{ drive_id: 'root', path_on_host: dataDisk, is_root_device: false, is_read_only: false }]);
  assert.throws(() => firecrackerConfig('/b', disk, plan({ storage: { extraDisks: [join(work, 'missing.img')] } })), (e: unknown) => e instanceof UsageError && /--second-disk-image: no file/.test(e.message));
});

test('what Firecracker cannot do is refused, naming the alternative', () => {
  const refused: [Partial<FirecrackerPlan>, RegExp, RegExp][] = [
    [{ storage: { shares: [{ hostDir: work, tag: 'w' }] } }, /--share: Firecracker has no shared folders/, /--second-disk-image|qemu_microvm/],
    [{ storage: { nvmeImage: dataDisk } }, /--nvme-image: Firecracker has no NVMe/, /--second-disk-image/],
    [{ network: { mode: 'user', forwards: [{ host: 8080, guest: 80 }] } }, /--forward\/--api: Firecracker has no user-mode network/, /-n TAP/],
    [{ network: { mode: 'tap', tapDevice: 'tap0', vhost: true } }, /-v: .*no vhost-net/, /drop -v/],
    [{ network: { mode: 'tap', tapDevice: 'tap0', queues: 2 } }, /--virtio-net-queues 2/, /drop/],
    [{ userData: '/u.yaml' }, /--user-data: Firecracker has no fw_cfg/, /qemu_microvm/],
    [{ cpus: 33 }, /-c 33: Firecracker runs 1\.\.32 vCPUs/, /-c 32 or fewer/],
  ];
  for (const [p, msg, hint] of refused) {
    assert.throws(() => firecrackerConfig('/b', base, plan(p)), (e: unknown) => e instanceof UsageError && msg.test(e.message) && hint.test(e.hint ?? ''), String(msg));
  }
  assert.equal(firecrackerConfig('/b', base, plan({ cpus: 32 }))['machine-config'].vcpu_count, 32);
});

test('notices: no user-mode network on Firecracker; a tap without --ip waits for DHCP', () => {
  assert.match(firecrackerNotices(base, plan({ network: { mode: 'user', forwards: [] } })).join('\n'), /no user-mode network: the VM gets no network device/);
  assert.match(firecrackerNotices(base, plan({ network: { mode: 'tap', tapDevice: 'tap0' } })).join('\n'), /-n tap0: the command line has no --ip=eth0/);
  assert.deepEqual(firecrackerNotices(base, plan({ network: { mode: 'tap', tapDevice: 'tap0' }, execute: '--ip=eth0,10.0.0.2/24 /hello' })), []);
});

test('no vmlinux, or a disk without virtio-mmio, is refused with the fix', () => {
  const noVmlinux = { ...base, kernel: { ...base.kernel, vmlinux: undefined } };
  assert.throws(() => firecrackerConfig('/b', noVmlinux, plan()), (e: unknown) => e instanceof TailorError && /vmlinux/.test(e.message));
  const noMmio: BuildRecord = { ...base, initrd: undefined, rootDisk: { ...art('r'), fs: 'ext4', readOnly: false }, kernel: { ...base.kernel, hasVirtioMmio: false } };
  assert.throws(() => firecrackerConfig('/b', noMmio, plan()), UsageError);
});

/** A build folder with the files build.json names (their bytes do not matter to the configuration). */
function fakeBuild(): string {
  const dir = mkdtempSync(join(work, 'build-'));
  for (const f of ['bzImage', 'vmlinux', 'initrd.img']) writeFileSync(join(dir, f), 'x');
  writeFileSync(join(dir, 'build.json'), JSON.stringify(base));
  return dir;
}

test('tailor run -p firecracker --dry-run prints a config that passes the schema; --share is refused with exit 2', () => {
  const dir = fakeBuild();
  const cli = (args: string[]) => spawnSync(process.execPath, [join(repoRoot, 'bin/tailor.js'), 'run', dir, '-p', 'firecracker', ...args], { encoding: 'utf8' });
  const r = cli(['--dry-run', '-c', '2', '-e', sixtyWords, '-n', 'tap0', '--second-disk-image', dataDisk]);
  assert.equal(r.status, 0, r.stderr);
  const c = JSON.parse(r.stdout) as Record<string, unknown>;
  assert.deepEqual(schemaProblems(c), []);
  assert.match(r.stderr, /no --ip=eth0/);
  const shared = cli(['--dry-run', '--share', `${work}:w`]);
  assert.equal(shared.status, 2);
  assert.match(shared.stderr, /--share: Firecracker has no shared folders/);
  const fwd = cli(['--dry-run', '--forward', '8080:80']);
  assert.equal(fwd.status, 2);
  assert.match(fwd.stderr, /no user-mode network/);
});

test('without --dry-run: a missing binary says where to get it; no KVM is named; a firecracker binary gets --no-api --config-file', async () => {
  const dir = fakeBuild();
  const build = { dir, record: base };
  const opts = { ...plan(), dryRun: false };
  await assert.rejects(findFirecracker(join(work, 'nope')), (e: unknown) => e instanceof UsageError && /--firecracker-bin/.test(e.message));
  // A stand-in binary: checks its arguments and the config file, then speaks the init's console protocol.
  const fake = join(work, 'firecracker');
  writeFileSync(fake, [
    '#!/bin/sh',
    '[ "$1" = --no-api ] && [ "$2" = --config-file ] || { echo "bad args: $*" >&2; exit 9; }',
    'grep -q \'"vcpu_count": 1\' "$3" || exit 8',
    'echo "tailor:app-start boottime_ns=5000000 cmd=/hello"',
    'echo "tailor:exit status=3"',
  ].join('\n'));
  chmodSync(fake, 0o755);
  await assert.rejects(prepareFirecracker(build, { ...opts, firecrackerBin: fake }, () => '/dev/kvm does not exist'),
    (e: unknown) => e instanceof TailorError && /Firecracker needs KVM, and \/dev\/kvm does not exist/.test(e.message) && /qemu_microvm/.test(e.hint ?? ''));
  const launch = await prepareFirecracker(build, { ...opts, firecrackerBin: fake }, () => undefined);
  assert.ok(launch.command);
  const configFile = launch.command.args[2]!;
  assert.deepEqual(schemaProblems(JSON.parse(readFileSync(configFile, 'utf8'))), []);
  const o = await bootQemu({ ...launch.command, kernelFile: '', kernelForm: 'pvh-vmlinux', cmdline: '' }, { console: null, timeoutMs: 10_000 });
  await launch.cleanup();
  assert.equal(o.qemuCode, 0, o.qemuStderr);
  assert.equal(o.exitStatus, 3);
  assert.equal(o.appStart?.boottimeNs, 5_000_000);
  assert.equal(existsSync(configFile), false, 'the temporary config is removed');
});

// arm64: Firecracker loads the boot Image (PE), its console is a device-tree 16550 (ttyS0), and PSCI ends the VM.
const arm64: BuildRecord = {
  ...base, name: 'hello-arm64', arch: 'aarch64',
  kernel: { flavour: 'custom', release: 'r', packageVersion: 'v', bzImage: art('Image'), hasVirtioMmio: true, hasPci: false, hasAcpi: false, firecrackerConsole: true },
  kernelCmdline: 'console=ttyAMA0 quiet rdinit=/init',
};

test('arm64: the config boots the Image with console=ttyS0 and no reboot= word, and passes the schema', () => {
  const c = firecrackerConfig('/b', arm64, plan({ network: { mode: 'tap', tapDevice: 'tap0', vhost: false, queues: 1 } }));
  assert.deepEqual(schemaProblems(c), []);
  assert.equal(c['boot-source'].kernel_image_path, '/b/Image');
  assert.equal(c['boot-source'].boot_args, 'console=ttyS0 quiet rdinit=/init -- /hello');
  assert.equal(c['boot-source'].initrd_path, '/b/initrd.img');
  assert.equal(c['network-interfaces']?.[0]?.host_dev_name, 'tap0');
});

test('arm64: a kernel without the 16550 console is refused naming its symbols; x86-64 still needs the vmlinux', () => {
  const noConsole = { ...arm64, kernel: { ...arm64.kernel, firecrackerConsole: false } };
  assert.throws(() => firecrackerConfig('/b', noConsole, plan()), (e: unknown) => e instanceof TailorError && /SERIAL_OF_PLATFORM/.test(e.message) && /-p qemu/.test(e.hint ?? ''));
  const { vmlinux: _, ...noVmlinux } = base.kernel;
  assert.throws(() => firecrackerConfig('/b', { ...base, kernel: noVmlinux }, plan()), (e: unknown) => e instanceof TailorError && /no uncompressed vmlinux/.test(e.message));
});

test('arm64 on an x86-64 host: --dry-run prints the config, a real run is refused naming the host and --dry-run', async (t) => {
  if (process.arch !== 'x64') return t.skip(`the host is ${process.arch}, not x86-64: an arm64 build runs natively here`);
  const dir = mkdtempSync(join(work, 'build-arm64-'));
  for (const f of ['Image', 'initrd.img']) writeFileSync(join(dir, f), 'x');
  writeFileSync(join(dir, 'build.json'), JSON.stringify(arm64));
  const r = spawnSync(process.execPath, [join(repoRoot, 'bin/tailor.js'), 'run', dir, '-p', 'firecracker', '--dry-run'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const c = JSON.parse(r.stdout) as { 'boot-source': { kernel_image_path: string; boot_args: string } };
  assert.equal(c['boot-source'].kernel_image_path, join(dir, 'Image'));
  assert.match(c['boot-source'].boot_args, /^console=ttyS0 /);
  await assert.rejects(prepareFirecracker({ dir, record: arm64 }, { ...plan(), dryRun: false }, () => undefined),
    (e: unknown) => e instanceof UsageError && /arm64 \(aarch64\): Firecracker runs guests of its own host's architecture/.test(e.message) && /--dry-run/.test(e.hint ?? ''));
});
