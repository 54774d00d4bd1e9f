// tailor export raw|qcow2|vmdk|vhdx|gce|aws of a real build (Debian's stock kernel, which has the EFI stub;
// no compile): each file is what its consumer reads (qemu-img info, sgdisk, GNU tar), the ESP holds a UKI
// with the build's kernel, initrd and command line, a disk root becomes partition 2, same inputs give same bytes;
// kubevirt: both images read by skopeo, the VirtualMachine checked against KubeVirt's fields.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runTailor } from './analyze-helpers.ts';
import { exec, hasCommand } from '../../src/util/exec.ts';
import { fixtureUnavailable } from './run-fixture.ts';
import { parse } from 'yaml';
import { objectSchemaProblems } from '../../src/util/object-schema.ts';
import { kubevirtVirtualMachineSchema, type KubevirtVirtualMachine } from '../../src/export/kubevirt-schema.ts';

let work = '';
let unavailable: string | undefined;

const run = (args: string[]) => runTailor(args, work);

before(async () => {
  unavailable = await fixtureUnavailable();
  for (const tool of ['objcopy', 'mkfs.vfat', 'mcopy', 'sgdisk', 'qemu-img']) {
    if (!unavailable && !(await hasCommand(tool))) unavailable = `${tool} is not installed (run: node bin/tailor.js doctor --fix)`;
  }
  if (unavailable) return;
  work = mkdtempSync(join(tmpdir(), 'tailor-export-'));
  for (const args of [
    ['build', 'kernel=stock', 'image=native-example', 'name=hello'],
    ['build', 'kernel=stock', 'image=native-example', 'fs=rofs', 'name=hello-rofs'],
  ]) {
    const b = await run(args);
    assert.equal(b.code, 0, `tailor ${args.join(' ')} failed:\n${b.stderr}`);
  }
});
after(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

async function qemuImgFormat(file: string): Promise<{ format: string; virtualSize: number }> {
  const info = JSON.parse((await exec('qemu-img', ['info', '--output=json', file])).stdout) as { format: string; 'virtual-size': number };
  return { format: info.format, virtualSize: info['virtual-size'] };
}

test('raw, qcow2, vmdk, vhdx and aws: qemu-img reads each in its format; the raw GPT verifies', async (t) => {
  if (unavailable) return t.skip(unavailable);
  const want: [string, string, string][] = [['raw', 'hello.raw', 'raw'], ['qcow2', 'hello.qcow2', 'qcow2'], ['vmdk', 'hello.vmdk', 'vmdk'], ['vhdx', 'hello.vhdx', 'vhdx'], ['aws', 'hello.aws.raw', 'raw']];
  for (const [format, file, qemuFormat] of want) {
    const r = await run(['export', format, 'hello']);
    assert.equal(r.code, 0, r.stderr);
    const path = join(work, 'build', 'hello', file);
    assert.match(r.stdout, new RegExp(`^${path.replace(/[.]/g, '\\.')}  `));
    const info = await qemuImgFormat(path);
    assert.equal(info.format, qemuFormat, file);
    assert.equal(info.virtualSize, 66 << 20, `${file}: 1 MiB, a 64 MiB ESP, 1 MiB`);
  }
  const verify = await exec('sgdisk', ['--verify', join(work, 'build', 'hello', 'hello.raw')]);
  assert.match(verify.stdout, /No problems found/);
  const vmdk = await exec('qemu-img', ['info', join(work, 'build', 'hello', 'hello.vmdk')]);
  assert.match(vmdk.stdout, /create type: streamOptimized/);
});

test('the ESP holds \\EFI\\BOOT\\BOOTX64.EFI: the systemd stub with the build\'s kernel, initrd and command line', async (t) => {
  if (unavailable) return t.skip(unavailable);
  const disk = join(work, 'esp-check.raw');
  const r = await run(['export', 'raw', 'hello', '-o', disk]);
  assert.equal(r.code, 0, r.stderr);
  const uki = join(work, 'uki.efi');
  await exec('mcopy', ['-n', '-i', `${disk}@@1M`, '::/EFI/BOOT/BOOTX64.EFI', uki]);
  const sections = (await exec('objdump', ['-h', uki])).stdout;
  for (const s of ['.osrel', '.cmdline', '.linux', '.initrd', '.sdmagic']) assert.match(sections, new RegExp(`\\${s}\\s`), s);
  const section = async (name: string): Promise<Buffer> => {
    const out = join(work, `section${name}`);
    await exec('objcopy', ['-O', 'binary', `--only-section=${name}`, uki, out]);
    return readFileSync(out);
  };
  assert.equal((await section('.cmdline')).toString('utf8'), readFileSync(join(work, 'build', 'hello', 'cmdline'), 'utf8').trim());
  assert.ok((await section('.linux')).equals(readFileSync(join(work, 'build', 'hello', 'bzImage'))), 'the .linux section is the build\'s bzImage');
  assert.ok((await section('.initrd')).equals(readFileSync(join(work, 'build', 'hello', 'initrd.img'))), 'the .initrd section is the build\'s initrd');
});

test('gce: a tar.gz holding only disk.raw, a whole number of GiB', async (t) => {
  if (unavailable) return t.skip(unavailable);
  const r = await run(['export', 'gce', 'hello']);
  assert.equal(r.code, 0, r.stderr);
  const tgz = join(work, 'build', 'hello', 'hello.gce.tar.gz');
  const list = (await exec('tar', ['-tvzf', tgz])).stdout.trim().split('\n');
  assert.equal(list.length, 1);
  assert.match(list[0]!, / disk\.raw$/);
  const size = Number(list[0]!.split(/\s+/)[2]);
  assert.equal(size % (1 << 30), 0, `disk.raw is ${size} bytes`);
  assert.ok(statSync(tgz).size < 20 << 20, 'sparse and compressed: far below the 1 GiB disk');
});

test('a disk root becomes partition 2 (root type, PARTUUID on the command line); same inputs, same bytes', async (t) => {
  if (unavailable) return t.skip(unavailable);
  const a = join(work, 'a.raw');
  const b = join(work, 'b.raw');
  for (const out of [a, b]) {
    const r = await run(['export', 'raw', 'hello-rofs', '-o', out]);
    assert.equal(r.code, 0, r.stderr);
  }
  assert.ok(readFileSync(a).equals(readFileSync(b)), 'two exports are byte-identical');
  const info = (await exec('sgdisk', ['--info=2', a])).stdout;
  assert.match(info, /Partition GUID code: 4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709/);
  const first = Number(/First sector: (\d+)/.exec(info)![1]);
  const rootImage = readFileSync(join(work, 'build', 'hello-rofs', 'root.erofs'));
  assert.ok(readFileSync(a).subarray(first * 512, first * 512 + rootImage.length).equals(rootImage), 'partition 2 holds the build\'s root image');
});

test('bad input: an unknown format suggests the right one; a missing build is named', async (t) => {
  if (unavailable) return t.skip(unavailable);
  const r = await run(['export', 'qcow', 'hello']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /unknown export format "qcow" \(did you mean qcow2\?\)/);
  const missing = await run(['export', 'raw', 'no-such-build']);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /no build folder/);
});

test('kubevirt: skopeo reads both images (OCI layout and docker-archive); the disk is /disk/disk.qcow2 owned by 107:107; vm.yaml passes the schema and names them', async (t) => {
  if (unavailable) return t.skip(unavailable);
  if (!(await hasCommand('skopeo'))) return t.skip('skopeo is not installed (apt-get install -y skopeo)');
  const r = await run(['export', 'kubevirt', 'hello', '--registry', 'registry.example.com/team', '-m', '256M', '-c', '2']);
  assert.equal(r.code, 0, r.stderr);
  const out = join(work, 'build', 'hello', 'hello.kubevirt');
  const vm = parse(readFileSync(join(out, 'vm.yaml'), 'utf8')) as KubevirtVirtualMachine;
  assert.deepEqual(objectSchemaProblems(vm, kubevirtVirtualMachineSchema), []);
  const spec = vm.spec.template.spec;
  const diskImage = spec.volumes![0]!.containerDisk!.image;
  const kernelImage = spec.domain.firmware!.kernelBoot!.container!.image;
  assert.match(diskImage, /^registry\.example\.com\/team\/hello-containerdisk:[0-9a-f]{12}$/);
  assert.equal(spec.domain.memory!.guest, '256Mi');
  assert.equal(spec.domain.cpu!.cores, 2);
  assert.match(spec.domain.firmware!.kernelBoot!.kernelArgs!, / -- \/hello$/);
  for (const [name, ref] of [['containerdisk', diskImage], ['kernelboot', kernelImage]] as const) {
    const tag = ref.split(':').pop()!;
    const oci = JSON.parse((await exec('skopeo', ['inspect', `oci:${join(out, name)}:${tag}`])).stdout) as { Architecture: string; Os: string; Layers: string[] };
    assert.equal(oci.Architecture, 'amd64');
    assert.equal(oci.Os, 'linux');
    assert.equal(oci.Layers.length, 1);
    const archive = JSON.parse((await exec('skopeo', ['inspect', `docker-archive:${join(out, `${name}.tar`)}`])).stdout) as { Digest: string; Layers: string[] };
    assert.equal(archive.Layers.length, 1);
    const saved = JSON.parse((await exec('tar', ['-xOf', join(out, `${name}.tar`), 'manifest.json'])).stdout) as { RepoTags: string[] }[];
    assert.deepEqual(saved[0]!.RepoTags, [ref], 'docker load tags it as the manifest names it');
    // the layer, as a registry would serve it
    const copy = join(work, `${name}.dir`);
    await exec('skopeo', ['copy', `oci:${join(out, name)}:${tag}`, `dir:${copy}`]);
    const layer = join(copy, oci.Layers[0]!.replace('sha256:', ''));
    const list = (await exec('tar', ['-tvzf', layer, '--numeric-owner'])).stdout;
    if (name === 'containerdisk') {
      assert.match(list, /^-r--r----- 107\/107 .* disk\/disk\.qcow2$/m);
      await exec('tar', ['-xzf', layer, '-C', work, 'disk/disk.qcow2']);
      const info = JSON.parse((await exec('qemu-img', ['info', '--output=json', join(work, 'disk', 'disk.qcow2')])).stdout) as { format: string };
      assert.equal(info.format, 'qcow2');
    } else {
      assert.match(list, / boot\/vmlinuz$/m);
      assert.match(list, / boot\/initrd\.img$/m);
    }
  }
});
