// tailor export's pieces: the GPT writer (checked by sgdisk), the PE header reader, the UKI section layout, the command line, the EFI refusal.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gptWrites, guidBytes, partitionTypes, seededGuid, usableRange } from '../../src/export/gpt.ts';
import { diskGuids, planDisk, writeDisk } from '../../src/export/disk.ts';
import { parsePe, machineX64 } from '../../src/export/pe.ts';
import { ukiSectionArgs } from '../../src/export/uki.ts';
import { exportCmdline } from '../../src/export/cmdline.ts';
import { checkEfiKernel, rebuildWithEfi } from '../../src/export/bootable.ts';
import { espBytesFor } from '../../src/export/esp.ts';
import { encodeAppCmdline } from '../../src/run/app-cmdline.ts';
import { UsageError } from '../../src/errors.ts';
import { exec, hasCommand } from '../../src/util/exec.ts';
import type { BuildRecord } from '../../src/image/types.ts';

const work = mkdtempSync(join(tmpdir(), 'tailor-export-unit-'));
const art = (file: string) => ({ file, bytes: 1, sha256: 'x' });
const record: BuildRecord = {
  formatVersion: 1, name: 'web', configHash: 'abcdef0123456789', profile: 'serverless',
  options: {
    image: { value: ['native-example'], source: { kind: 'command-line', arg: 'image=native-example' } },
    modules: { value: ['cli'], source: { kind: 'command-line', arg: 'modules=cli' } },
    fs: { value: 'rofs', source: { kind: 'profile', name: 'serverless' } },
  },
  modules: ['native-example', 'cli'],
  kernel: { flavour: 'custom', release: 'r', packageVersion: 'v', bzImage: art('bzImage'), hasVirtioMmio: true, hasPci: true, hasAcpi: true },
  rootDisk: { ...art('root.erofs'), fs: 'rofs', readOnly: true },
  kernelCmdline: 'console=ttyS0 quiet root=/dev/vda ro rootfstype=erofs init=/init',
  appCmdline: '/hello',
  builtAt: '1970-01-01T00:00:00Z',
};

test('GUIDs: seeded ones are stable version-4 GUIDs; on disk the first three fields are little-endian', () => {
  assert.equal(seededGuid('a'), seededGuid('a'));
  assert.notEqual(seededGuid('a'), seededGuid('b'));
  assert.match(seededGuid('a'), /^[0-9A-F]{8}-[0-9A-F]{4}-4[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}$/);
  assert.equal(guidBytes(partitionTypes.esp).toString('hex'), '28732ac11ff8d211ba4b00a0c93ec93b');
});

test('disk plan: ESP at 1 MiB, root after it, whole MiB (or GiB for GCE), room for the backup table', () => {
  const g = diskGuids('h');
  const p = planDisk(64 << 20, (10 << 20) + 5, g, 1 << 20);
  assert.deepEqual(p.partitions.map((x) => [x.name, x.firstLba, x.lastLba]), [['ESP', 2048, 2048 + 131072 - 1], ['root', 133120, 133120 + 11 * 2048 - 1]]);
  assert.ok(p.partitions[1]!.lastLba <= usableRange(p.totalSectors).last);
  assert.equal((p.totalSectors * 512) % (1 << 20), 0);
  const gce = planDisk(64 << 20, undefined, g, 1 << 30);
  assert.equal(gce.totalSectors * 512, 1 << 30);
  assert.throws(() => gptWrites({ diskGuid: g.disk, totalSectors: 100, partitions: p.partitions }), /outside the usable sectors/);
});

test('the GPT written by hand passes sgdisk --verify, with both partitions and their GUIDs', async (t) => {
  if (!(await hasCommand('sgdisk'))) return t.skip('sgdisk is not installed (apt-get install -y gdisk)');
  const esp = join(work, 'esp.img');
  const root = join(work, 'root.img');
  writeFileSync(esp, Buffer.alloc(3 << 20, 1));
  writeFileSync(root, Buffer.concat([Buffer.from('ROOT'), Buffer.alloc(1 << 20)]));
  const guids = diskGuids('seed');
  const out = join(work, 'disk.raw');
  const r = await writeDisk({ esp, root, guids, roundTo: 1 << 20, out });
  const verify = await exec('sgdisk', ['--verify', out], { allowFailure: true });
  assert.match(verify.stdout, /No problems found/, verify.stdout + verify.stderr);
  const info = await exec('sgdisk', ['--info=2', out]);
  assert.match(info.stdout, new RegExp(`Partition unique GUID: ${guids.root}`));
  assert.match(info.stdout, new RegExp(`Partition GUID code: ${partitionTypes.rootX64}`));
  const disk = readFileSync(out);
  assert.equal(disk.toString('latin1', r.partitions[1]!.firstLba * 512, r.partitions[1]!.firstLba * 512 + 4), 'ROOT');
  assert.equal(disk[r.partitions[0]!.firstLba * 512], 1);
});

test('PE header: a PE32+ x86-64 image is recognised, anything else is not', () => {
  const pe = Buffer.alloc(512);
  pe.write('MZ', 0, 'latin1');
  pe.writeUInt32LE(0x80, 0x3c);
  pe.write('PE\0\0', 0x80, 'latin1');
  pe.writeUInt16LE(machineX64, 0x84);
  pe.writeUInt16LE(0x20b, 0x98);
  pe.writeBigUInt64LE(0x10000n, 0x98 + 24);
  pe.writeUInt32LE(0x1000, 0x98 + 32);
  pe.writeUInt32LE(0x19300, 0x98 + 56);
  assert.deepEqual(parsePe(pe), { machine: machineX64, imageBase: 0x10000n, sectionAlignment: 0x1000, sizeOfImage: 0x19300 });
  assert.equal(parsePe(Buffer.from('\xea\x05\x00\xc0\x07', 'latin1')), undefined);
  const noPe = Buffer.from(pe);
  noPe.write('XX', 0x80, 'latin1');
  assert.equal(parsePe(noPe), undefined);
});

test('UKI sections go after the stub image, page aligned, in order', () => {
  const args = ukiSectionArgs(0x19300n, [
    { name: '.osrel', file: 'o', bytes: 50 },
    { name: '.cmdline', file: 'c', bytes: 5000 },
    { name: '.linux', file: 'k', bytes: 0x7d77c0 },
    { name: '.initrd', file: 'i', bytes: 10 },
  ]);
  const vmas = args.filter((_, i) => args[i - 1] === '--change-section-vma');
  assert.deepEqual(vmas, ['.osrel=0x1a000', '.cmdline=0x1b000', '.linux=0x1d000', '.initrd=0x7f5000']);
});

test('the exported command line finds the root by PARTUUID and sends a long application line as one word', () => {
  assert.equal(exportCmdline(record, 'AB-CD'), 'console=ttyS0 quiet root=PARTUUID=ab-cd ro rootfstype=erofs init=/init -- /hello');
  const stub = { ...record, kernelCmdline: 'console=ttyS0 rdinit=/init tailor.root=/dev/vda tailor.rootfstype=erofs ro' };
  assert.match(exportCmdline(stub, 'x'), /tailor\.root=\/dev\/vda2 /);
  const long = Array.from({ length: 40 }, (_, i) => `--env=A${i}=1`).join(' ') + ' /hello';
  assert.equal(exportCmdline(record, 'x', long).split(' -- ')[1], encodeAppCmdline(long));
});

test('ESP size: at least 64 MiB (FAT32), room for two UKIs, whole MiB', () => {
  assert.equal(espBytesFor(3 << 20), 64 << 20);
  assert.equal(espBytesFor(40 << 20), 84 << 20);
});

test('a kernel without the EFI stub is refused with the exact rebuild command', async () => {
  const dir = mkdtempSync(join(work, 'b-'));
  writeFileSync(join(dir, 'bzImage'), Buffer.from('\xea\x05\x00\xc0\x07 not a PE file', 'latin1'));
  assert.equal(rebuildWithEfi(record), 'tailor build --profile=serverless image=native-example modules=cli,efi');
  await assert.rejects(checkEfiKernel({ dir, record }), (e: unknown) =>
    e instanceof UsageError && /its kernel has no EFI stub/.test(e.message) && (e.hint ?? '').endsWith('tailor build --profile=serverless image=native-example modules=cli,efi'));
});

test('an arm64 build: every disk format and kubevirt are refused naming the architecture and how to boot it instead', async () => {
  const { exportBuild } = await import('../../src/export/export.ts');
  const dir = mkdtempSync(join(work, 'arm-'));
  const arm = { ...record, arch: 'aarch64' as const, kernel: { ...record.kernel, bzImage: art('Image') } };
  for (const format of ['raw', 'qcow2', 'kubevirt']) {
    await assert.rejects(exportBuild({ dir, record: arm }, { format }), (e: unknown) =>
      e instanceof UsageError && /is for arm64 \(aarch64\): tailor export writes x86-64 UEFI disks only/.test(e.message) && /tailor run/.test(e.hint ?? ''), format);
  }
});
