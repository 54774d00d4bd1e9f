// tailor export kubevirt's pieces: the VirtualMachine checked against KubeVirt's documented fields, image names, the ustar writer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { imageNames, kubeName, virtualMachine } from '../../src/export/kubevirt.ts';
import { kubevirtVirtualMachineSchema } from '../../src/export/kubevirt-schema.ts';
import { objectSchemaProblems } from '../../src/util/object-schema.ts';
import { tarArchive } from '../../src/export/tar.ts';
import { diskGuids } from '../../src/export/disk.ts';
import { encodeAppCmdline } from '../../src/run/app-cmdline.ts';
import { UsageError } from '../../src/errors.ts';
import { exec } from '../../src/util/exec.ts';
import type { BuildRecord } from '../../src/image/types.ts';

const art = (file: string) => ({ file, bytes: 1, sha256: 'x' });
const record: BuildRecord = {
  formatVersion: 1, name: 'redis+efi', configHash: '0123456789abcdef', options: {}, modules: ['redis', 'efi'],
  kernel: { flavour: 'custom', release: 'r', packageVersion: 'v', bzImage: art('bzImage'), hasVirtioMmio: true, hasPci: true, hasAcpi: true },
  rootDisk: { ...art('root.erofs'), fs: 'rofs', readOnly: true },
  kernelNeeds: ['net', 'erofs'],
  kernelCmdline: 'console=ttyS0 root=/dev/vda ro rootfstype=erofs init=/init',
  appCmdline: '/redis-server --port 6379',
  builtAt: '1970-01-01T00:00:00Z',
};
const check = (v: unknown) => objectSchemaProblems(v, kubevirtVirtualMachineSchema);

test('the VirtualMachine uses KubeVirt\'s documented fields: kernelBoot from the kernel image, the containerDisk as virtio disk0, pod network', () => {
  const images = imageNames(record, 'registry.example.com/team');
  assert.deepEqual(images, {
    containerDisk: 'registry.example.com/team/redis-efi-containerdisk:0123456789ab',
    kernelBoot: 'registry.example.com/team/redis-efi-kernelboot:0123456789ab',
    tag: '0123456789ab',
  });
  const vm = virtualMachine(record, images, { memoryMiB: 256, cpus: 2 });
  assert.deepEqual(check(JSON.parse(JSON.stringify(vm))), []);
  const spec = vm.spec.template.spec;
  assert.equal(vm.metadata.name, 'redis-efi');
  assert.deepEqual(spec.domain.cpu, { cores: 2 });
  assert.deepEqual(spec.domain.memory, { guest: '256Mi' });
  assert.deepEqual(spec.domain.resources, { requests: { memory: '256Mi' } });
  const kb = spec.domain.firmware!.kernelBoot!;
  assert.equal(kb.container!.image, images.kernelBoot);
  assert.equal(kb.container!.kernelPath, '/boot/vmlinuz');
  assert.equal('initrdPath' in kb.container!, false, 'no initrd in this build');
  assert.equal(kb.kernelArgs, `console=ttyS0 root=PARTUUID=${diskGuids(record.configHash).root.toLowerCase()} ro rootfstype=erofs init=/init -- /redis-server --port 6379`);
  assert.deepEqual(spec.volumes, [{ name: 'disk0', containerDisk: { image: images.containerDisk, imagePullPolicy: 'IfNotPresent' } }]);
  assert.deepEqual(spec.domain.devices.disks, [{ name: 'disk0', disk: { bus: 'virtio' } }]);
  assert.deepEqual(spec.domain.devices.interfaces, [{ name: 'default', masquerade: {} }]);
  assert.deepEqual(spec.networks, [{ name: 'default', pod: {} }]);
});

test('no network need: no pod interface; a long -e goes as one encoded word', () => {
  const quiet = { ...record, kernelNeeds: ['erofs'] };
  const long = Array.from({ length: 40 }, (_, i) => `--env=A${i}=1`).join(' ') + ' /hello';
  const vm = virtualMachine(quiet, imageNames(quiet, 'localhost:5000'), { memoryMiB: 128, cpus: 1, execute: long });
  assert.deepEqual(check(vm), []);
  assert.equal(vm.spec.template.spec.domain.devices.autoattachPodInterface, false);
  assert.equal('networks' in vm.spec.template.spec, false);
  assert.equal(vm.spec.template.spec.domain.firmware!.kernelBoot!.kernelArgs!.split(' -- ')[1], encodeAppCmdline(long));
});

test('the schema check fails on what KubeVirt would reject', () => {
  const vm = JSON.parse(JSON.stringify(virtualMachine(record, imageNames(record, 'r.io'), { memoryMiB: 128, cpus: 1 })));
  vm.spec.running = true;
  delete vm.spec.template.spec.domain.devices;
  vm.spec.template.spec.volumes[0].containerDisk = { imagePullPolicy: 'Sometimes' };
  vm.spec.template.spec.domain.cpu.cores = 0;
  vm.spec.runStrategy = 'Forever';
  const p = check(vm);
  for (const want of [
    'spec.running: unknown field',
    'spec.runStrategy: "Forever" is not one of Always, Halted, Manual, RerunOnFailure, Once',
    'spec.template.spec.domain.devices: required field missing',
    'spec.template.spec.volumes[0].containerDisk.image: required field missing',
    'spec.template.spec.volumes[0].containerDisk.imagePullPolicy: "Sometimes" is not one of Always, Never, IfNotPresent',
    'spec.template.spec.domain.cpu.cores: 0 is outside 1..inf',
  ]) assert.ok(p.includes(want), `${want} in ${p.join('; ')}`);
});

test('names: DNS-1123 for Kubernetes; a registry that is not one is refused', () => {
  assert.equal(kubeName('Native_Example+efi'), 'native-example-efi');
  assert.equal(kubeName('+++'), 'tailor');
  assert.throws(() => imageNames(record, 'https://registry.example.com'), (e: unknown) => e instanceof UsageError && /--registry/.test(e.message));
});

test('ustar writer: GNU tar lists the entries with their owners, modes and contents', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tailor-tar-'));
  const archive = join(dir, 'a.tar');
  const long = `${'d'.repeat(60)}/${'f'.repeat(60)}`;
  writeFileSync(archive, tarArchive([
    { path: 'disk', type: 'dir', mode: 0o555, uid: 107, gid: 107 },
    { path: 'disk/disk.qcow2', type: 'file', data: Buffer.from('QFI!'), mode: 0o440, uid: 107, gid: 107 },
    { path: long, type: 'file', data: Buffer.alloc(1000, 7), mode: 0o644, uid: 0, gid: 0 },
  ]));
  const list = (await exec('tar', ['-tvf', archive, '--numeric-owner'])).stdout.trim().split('\n');
  assert.match(list[0]!, /^dr-xr-xr-x 107\/107 +0 1970-01-01 00:00 disk\/$/);
  assert.match(list[1]!, /^-r--r----- 107\/107 +4 1970-01-01 00:00 disk\/disk\.qcow2$/);
  assert.match(list[2]!, new RegExp(` 1000 1970-01-01 00:00 ${long}$`));
  const content = await exec('tar', ['-xOf', archive, 'disk/disk.qcow2']);
  assert.equal(content.stdout, 'QFI!');
});
